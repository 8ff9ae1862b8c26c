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


class UnknownBackendError(CosmosRoboticsError, ValueError):
    """A world-model backend name that is not registered; the message lists the registered ones."""

    def __init__(self, name: str, available: list[str]):
        self.name, self.available = name, available
        super().__init__(f"unknown world-model backend {name!r}; available: {', '.join(available)}")


class UnknownBackendOptionError(CosmosRoboticsError, ValueError):
    """An option the backend does not take (e.g. ``--device`` for a remote server)."""

    def __init__(self, backend: str, unknown: list[str], valid: list[str]):
        super().__init__(f"backend {backend!r} takes no option {', '.join(unknown)}; its options: "
                         f"{', '.join(valid) or 'none'}")


class UnsupportedModeError(CosmosRoboticsError, ValueError):
    """A mode (forward_dynamics / inverse_dynamics / policy) an embodiment or backend does not offer."""


class SimulatorError(CosmosRoboticsError, RuntimeError):
    """The simulator cannot run here (e.g. no OpenGL context for rendering); the message says what to set."""


class DatasetFormatError(CosmosRoboticsError, ValueError):
    """A dataset directory or file that lacks what the caller asked for."""


class ClampWarning(UserWarning):
    """Values were clamped; the message (and ``count`` / ``dims``) says how many and in which dims."""

    def __init__(self, message: str, count: int = 0, dims: tuple[int, ...] = ()):
        super().__init__(message)
        self.count, self.dims = count, dims


class EpisodeRecordError(CosmosRoboticsError, ValueError):
    """An episode handed to the dataset writer that does not match the dataset's features (shape, dtype, length)."""

    def __init__(self, what: str, expected: str, got: str):
        self.what, self.expected, self.got = what, expected, got
        super().__init__(f"episode {what}: expected {expected}, got {got}")


class UnknownPolicyError(CosmosRoboticsError, ValueError):
    """A policy spec (``name:key=value,...``) that names no registered policy or a bad parameter."""

    def __init__(self, spec: str, expected: str):
        self.spec, self.expected = spec, expected
        super().__init__(f"bad policy spec {spec!r}: expected {expected}")


class RemoteBackendError(CosmosRoboticsError, RuntimeError):
    """A remote world-model server call that failed; ``url`` and ``status`` say where and how."""

    def __init__(self, message: str, url: str = "", status: int | None = None):
        self.url, self.status = url, status
        where = f" [{url}" + (f" -> HTTP {status}]" if status is not None else "]") if url else ""
        super().__init__(f"{message}{where}")


class ServerBusyError(RemoteBackendError):
    """The server kept answering 429 (queue full) after every retry."""


class ServerUnreachableError(RemoteBackendError):
    """Connection refused (raised at once: nothing listens there), or reset / 5xx after every retry."""


class RemoteTimeoutError(RemoteBackendError):
    """A read timed out or a job did not finish before the client's deadline."""


class RequestRejectedError(RemoteBackendError, ValueError):
    """The server refused the request as invalid (4xx other than 404/429); the message carries its reason."""


class JobFailedError(RemoteBackendError):
    """The server accepted the job but reports it failed (or cancelled by someone else)."""


class JobLostError(RemoteBackendError):
    """The server no longer knows the job (e.g. it restarted) and no resubmission is left."""


class JobCancelledError(RemoteBackendError):
    """The caller cancelled the call; the server job was asked to stop."""


class MalformedResponseError(RemoteBackendError):
    """A 2xx answer that does not follow the documented format (missing field, bad shape, undecodable media)."""


class ServeConfigError(CosmosRoboticsError, ValueError):
    """``cosmos-robotics serve`` options that are unsafe or inconsistent (e.g. a public host without --allow-remote)."""


class InputError(CosmosRoboticsError, ValueError):
    """A file or payload the input layer (``cosmos_robotics.inputs``) refused: too big, too deep, undecodable,
    wrong shape or dtype, not finite. ``what`` names the file or field."""

    def __init__(self, what: str, expected: str, got: str):
        self.what, self.expected, self.got = what, expected, got
        super().__init__(f"{what}: expected {expected}, got {got}")


class PayloadError(InputError):
    """A wire payload field (HTTP form / JSON) that is missing or malformed; servers answer it with a 4xx."""

    def __init__(self, field: str, expected: str, got: str):
        self.field = field
        super().__init__(f"field {field!r}", expected, got)


class ModelNotAvailableError(CosmosRoboticsError, RuntimeError):
    """Model weights that cannot be loaded (missing, gated, offline); the message says what to set."""

    def __init__(self, model: str, reason: str):
        self.model, self.reason = model, reason
        super().__init__(
            f"model {model!r} is not available: {reason}. Gated Hugging Face weights need the licence accepted on "
            "the model page and a token (HF_TOKEN or `hf auth login`); HF_HOME selects the cache that holds "
            "downloaded weights; or pass a local diffusers directory. HF_HUB_OFFLINE=1 prevents downloads "
            f"(currently {'set' if _hub_offline() else 'not set'})."
        )


def _hub_offline() -> bool:
    import os

    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


class InsufficientGpuMemoryError(CosmosRoboticsError, RuntimeError):
    """A checkpoint that cannot fit the GPU; raised before any download, the message lists what would fit."""


class UnknownCheckpointError(CosmosRoboticsError, ValueError):
    """A checkpoint name that is not in the Cosmos 3 catalog; the message lists the known ones."""

    def __init__(self, name: str, available: list[str]):
        self.name, self.available = name, available
        super().__init__(f"unknown Cosmos 3 checkpoint {name!r}; known: {', '.join(available)}")


class PrivilegedStateError(CosmosRoboticsError, ValueError):
    """A policy that reads simulator ground truth was run where none exists (a world model, a robot)."""

    def __init__(self, policy: str, env: str):
        super().__init__(f"policy {policy!r} needs privileged simulator state (cube and plate poses), which {env} "
                         "does not have; run it in the simulator, or use a policy that sees cameras and state only "
                         "(e.g. embedded)")


class RosMessageError(CosmosRoboticsError, ValueError):
    """A ROS 2 message (received, or about to be sent) that breaks the bridge's conventions."""

    def __init__(self, msgtype: str, expected: str, got: str):
        self.msgtype, self.expected, self.got = msgtype, expected, got
        super().__init__(f"{msgtype}: expected {expected}, got {got}")


class RosBridgeError(CosmosRoboticsError, RuntimeError):
    """The ROS 2 graph did not deliver what the bridge waits for (rclpy missing, no observation, bad config)."""


class ClusterResourcesError(CosmosRoboticsError, RuntimeError):
    """A Ray cluster that cannot host the actors asked for (too few GPUs / CPUs, or held by other work)."""
