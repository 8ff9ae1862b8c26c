"""A robot on the ROS 2 graph as a chunk-level env, so closed-loop control runs through the one episode loop
(``rollout.run_episode``) with any ``Policy``, exactly as in ``SimChunkEnv`` and ``CosmosWorldEnv``.

``step(chunk)`` publishes the chunk (to start now) and returns the first synchronised observation that depicts a
time after its last point: the robot keeps its own clock, so the steps that pass while the policy computes are
real (the arm holds its last target meanwhile) and are counted in ``executed_steps``. Success and the step count
come from the emulator's status topic; a robot without one reports no success and ends episodes after
``episode_length`` steps by time. After an emergency stop the episode is truncated and nothing is sent.
"""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym
import numpy as np

from cosmos_robotics.envs.chunks import StepTiming
from cosmos_robotics.errors import RosBridgeError
from cosmos_robotics.policies.base import ActionChunk
from cosmos_robotics.ros2.bridge import Bridge, SyncedObservation

RESET_ATTEMPTS = 5
RESET_ACK_S = 2.0


class RosChunkEnv(gym.Env):
    """Chunks out through ``bridge``, synchronised observations back; ``reset(seed)`` resets an emulator."""

    metadata = {"render_modes": []}

    def __init__(self, bridge: Bridge):
        self.bridge = bridge
        self.episode_length = bridge.config.episode_length
        self.fps = bridge.config.fps
        self._last: SyncedObservation | None = None
        self._steps = 0
        self.latencies_s: list[float] = []  # observation complete -> command sent, policy time included

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        bridge = self.bridge
        since = 0
        if bridge.config.topics.reset and seed is not None:
            since = self._reset_robot(seed)
        self._last = bridge.wait_observation(newer_than_ns=since)
        self._steps = 0
        return self._last.observation, {"task": bridge.task, "executed_steps": 0, "stamp_ns": self._last.stamp_ns}

    def _reset_robot(self, seed: int) -> int:
        """Reset the emulator and return the time its new episode starts. The request is repeated until
        acknowledged: a message sent before the emulator's subscription is matched is lost (volatile QoS)."""
        bridge = self.bridge
        bridge.wait_status(lambda s: True, bridge.config.startup_timeout_s)  # the robot is up
        for _ in range(RESET_ATTEMPTS):
            sent = bridge.request_reset(seed)
            try:
                return bridge.wait_status(lambda s, t=sent: s.seed == seed and s.step == 0 and s.stamp_ns >= t,
                                          RESET_ACK_S).stamp_ns - 1
            except RosBridgeError:
                continue
        raise RosBridgeError(f"the robot did not acknowledge a reset to seed {seed} in {RESET_ATTEMPTS} attempts")

    def step(self, action: ActionChunk):
        start = time.perf_counter()
        bridge, previous = self.bridge, self._last
        sent = bridge.send_chunk(action, previous.observation)
        if sent is None:  # emergency stop: nothing was sent, the episode ends here
            return previous.observation, 0.0, False, True, self._info(previous, previous, action, 0, start)
        self.latencies_s.append((sent - previous.received_ns) / 1e9)
        ends = sent + round(len(action) * 1e9 / self.fps)
        self._last = bridge.wait_observation(newer_than_ns=ends - 1_000_000, accept=self._chunk_done)
        steps = self._executed(previous, self._last)
        self._steps += steps
        info = self._info(previous, self._last, action, steps, start)
        truncated = steps == 0 or self._steps >= self.episode_length or bridge.stopped.is_set()
        return self._last.observation, float(info["success"][-1]) if steps else 0.0, False, truncated, info

    def _chunk_done(self, stamp_ns: int) -> bool:
        """With a status topic: the robot reports no point left (a lagging robot may still be executing)."""
        if not self.bridge.config.topics.episode:
            return True
        status = self.bridge.status_at(stamp_ns)
        return status is not None and (status.pending == 0 or status.step >= self.episode_length)

    def _executed(self, before: SyncedObservation, after: SyncedObservation) -> int:
        first, last = self.bridge.status_at(before.stamp_ns), self.bridge.status_at(after.stamp_ns)
        if first is not None and last is not None:
            return last.step - first.step
        return round((after.stamp_ns - before.stamp_ns) * self.fps / 1e9)

    def _info(self, before, after, chunk: ActionChunk, steps: int, start: float) -> dict[str, Any]:
        statuses = [s for s in self.bridge.statuses if before.stamp_ns < s.stamp_ns <= after.stamp_ns]
        success = np.array([s.success for s in statuses][-steps:] if steps else [], bool)
        if len(success) < steps:  # no status topic: success unknown, reported as False
            success = np.concatenate([np.zeros(steps - len(success), bool), success])
        rows = np.concatenate([chunk.targets.reshape(len(chunk), -1), chunk.gripper[:, None]], axis=1)
        actions = rows[np.minimum(np.arange(steps), len(rows) - 1)].astype(np.float32)  # hold repeats the last row
        seconds = time.perf_counter() - start
        return {"task": self.bridge.task, "observations": [after.observation], "actions": actions, "success": success,
                "executed_steps": steps, "model_actions": None, "stamp_ns": after.stamp_ns,
                "timing": StepTiming.of(max(steps, 1), self.fps, seconds)}
