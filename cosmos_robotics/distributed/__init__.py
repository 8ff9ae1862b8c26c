"""Work spread over a Ray cluster: a pool of actors, each holding one heavy object (a world-model backend on its
GPU or GPUs), fed in order with bounded in-flight batches (``ActorPool``). Ray is an optional dependency
(``pip install 'cosmos-robotics[ray]'``); nothing here imports it until a pool is made."""

from cosmos_robotics.distributed.pool import ActorPool, connect, ray_module, replica_gpus

__all__ = ["ActorPool", "connect", "ray_module", "replica_gpus"]
