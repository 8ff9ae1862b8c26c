"""The embedded default world model: small, CPU-sized, trained on SimDroid-v0, shipped with the package."""


def __getattr__(name: str):
    # Lazy: ``embedded.config`` (read by the CLI at start-up) must not pull in torch.
    if name == "EmbeddedWorldModel":
        from cosmos_robotics.world_models.embedded.backend import EmbeddedWorldModel

        return EmbeddedWorldModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["EmbeddedWorldModel"]
