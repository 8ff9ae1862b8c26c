"""``WorldModelVectorEnv``: N world-model envs stepped through one ``generate_batch`` call.

Gymnasium's ``SyncVectorEnv`` would call the world model N times; batching the N forward-dynamics requests is
what makes imagination cheap per episode on a GPU (and on a CPU as far as the backend's batching pays: see
``benchmarks/vector_env.py``). Autoreset follows gymnasium's default (``NEXT_STEP``): the step after an episode
ends resets that sub-env and ignores its action.
"""

from __future__ import annotations

import time

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space, concatenate, create_empty_array

from cosmos_robotics.envs.world_model import CosmosWorldEnv
from cosmos_robotics.world_models.base import WorldModel


class WorldModelVectorEnv(VectorEnv):
    """``num_envs`` copies of ``CosmosWorldEnv`` over one shared world model."""

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int, world_model: WorldModel | str = "embedded", **env_kwargs):
        first = CosmosWorldEnv(world_model, **env_kwargs)
        self.envs = [first] + [CosmosWorldEnv(first.world_model, **env_kwargs) for _ in range(num_envs - 1)]
        self.world_model = first.world_model
        self.num_envs = num_envs
        self.single_observation_space = first.observation_space
        self.single_action_space = first.action_space
        self.observation_space = batch_space(first.observation_space, num_envs)
        self.action_space = batch_space(first.action_space, num_envs)
        self._needs_reset = np.zeros(num_envs, bool)
        self._seeds: list[int | None] = [None] * num_envs

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None):
        seeds = seed if isinstance(seed, list) else [None if seed is None else seed + i for i in range(self.num_envs)]
        self._seeds = list(seeds)
        observations, infos = [], {}
        for i, (env, s) in enumerate(zip(self.envs, seeds, strict=True)):
            obs, info = env.reset(seed=s, options=options)
            observations.append(obs)
            infos = self._add_info(infos, info, i)
        self._needs_reset[:] = False
        return self._stack(observations), infos

    def step(self, actions):
        start = time.perf_counter()
        rows = list(actions) if not isinstance(actions, np.ndarray) else [actions[i] for i in range(self.num_envs)]
        pending = [(i, *self.envs[i].request(rows[i])) for i in range(self.num_envs) if not self._needs_reset[i]]
        results = self.world_model.generate_batch([request for _, request, _ in pending])
        seconds = time.perf_counter() - start
        observations: list = [None] * self.num_envs
        rewards = np.zeros(self.num_envs)
        terminations, truncations = np.zeros(self.num_envs, bool), np.zeros(self.num_envs, bool)
        infos: dict = {}
        for i in np.flatnonzero(self._needs_reset):
            self._seeds[i] = None if self._seeds[i] is None else self._seeds[i] + self.num_envs
            observations[i], info = self.envs[i].reset(seed=self._seeds[i])
            infos = self._add_info(infos, info, i)
        for (i, _, chunk), result in zip(pending, results, strict=True):
            observations[i], rewards[i], terminations[i], truncations[i], info = self.envs[i].advance(
                chunk, result, seconds)
            infos = self._add_info(infos, {k: v for k, v in info.items() if k != "observations"}, i)
        self._needs_reset = terminations | truncations
        return self._stack(observations), rewards, terminations, truncations, infos

    def close_extras(self, **kwargs):
        for env in self.envs:
            env.close()

    def _stack(self, observations: list[dict]):
        return concatenate(self.single_observation_space, observations,
                           create_empty_array(self.single_observation_space, self.num_envs))
