"""Our own HTTP server for any world model, speaking the vLLM-Omni ``/v1/videos`` API."""

from cosmos_robotics.serving.app import ServerConfig, create_app

__all__ = ["ServerConfig", "create_app"]
