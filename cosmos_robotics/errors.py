"""Typed errors. Every message names what was expected and what came, so the user knows what to fix."""


class CosmosRoboticsError(Exception):
    """Base class of every error this toolkit raises on purpose."""


class ActionContractError(CosmosRoboticsError, ValueError):
    """Actions or poses that break an embodiment's action contract (shape, dtype, finiteness, range)."""

    def __init__(self, embodiment: str, what: str, expected: str, got: str):
        self.embodiment, self.what, self.expected, self.got = embodiment, what, expected, got
        super().__init__(f"[{embodiment}] {what}: expected {expected}, got {got}")


class UnknownEmbodimentError(CosmosRoboticsError, ValueError):
    """A name that is not in the registry; the message lists the names that would work."""

    def __init__(self, name: str, available: list[str]):
        self.name, self.available = name, available
        super().__init__(f"unknown embodiment or domain {name!r}; available: {', '.join(available)}")


class UnsupportedModeError(CosmosRoboticsError, ValueError):
    """A mode (forward_dynamics / inverse_dynamics / policy) an embodiment or backend does not offer."""


class DatasetFormatError(CosmosRoboticsError, ValueError):
    """A dataset directory or file that lacks what the caller asked for."""


class ClampWarning(UserWarning):
    """Normalization clamped values to [-1, 1]; the message says how many and in which dims."""
