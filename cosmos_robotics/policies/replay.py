"""Replay policies: chunks that were chosen elsewhere, executed again (a recorded dataset episode, or the chunks
of an episode run in another env -- the demo replays imagined chunks in the simulator)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cosmos_robotics.errors import DatasetFormatError
from cosmos_robotics.policies.base import ActionChunk


class ChunkReplay:
    """The given chunks, in order, one per call; the episode must not ask for more."""

    needs_privileged_state = False

    def __init__(self, chunks: list[ActionChunk], name: str = "chunk-replay"):
        if not chunks:
            raise DatasetFormatError("expected at least one chunk to replay, got none")
        self.chunks, self.name = list(chunks), name
        self._next = 0

    def reset(self, seed: int | None = None) -> None:
        self._next = 0

    def select_action_chunk(self, observation: dict[str, Any]) -> ActionChunk:
        if self._next >= len(self.chunks):
            raise DatasetFormatError(f"{self.name}: asked for chunk {self._next + 1}, only {len(self.chunks)} recorded")
        self._next += 1
        return self.chunks[self._next - 1]


def dataset_chunks(root: str | Path, episode: int, chunk_size: int = 16) -> list[ActionChunk]:
    """Episode ``episode`` of a ``sim record`` dataset as the chunks that reproduce it: each recorded delta action
    becomes the absolute flange target it commanded from the recorded state (``action.cosmos3`` rows ride along)."""
    from cosmos_robotics.data.lerobot_reader import read_episode_columns
    from cosmos_robotics.export import MODEL_ACTION_KEY
    from cosmos_robotics.sim.env import EE_POSE, FPS
    from cosmos_robotics.sim.pose_control import target_from_action

    columns = read_episode_columns(root, ["observation.state", "action", MODEL_ACTION_KEY], episode)
    states, actions, model = columns["observation.state"], columns["action"], columns[MODEL_ACTION_KEY]
    if actions.ndim != 2 or actions.shape[1] != 7:
        raise DatasetFormatError(f"{root}: expected SimDroid delta actions [T, 7], got {list(actions.shape)}")
    targets = np.stack([target_from_action(s[EE_POSE], a) for s, a in zip(states, actions, strict=True)])
    return [ActionChunk("droid", FPS, actions[t:t + chunk_size, 6], poses=targets[t:t + chunk_size],
                        model_actions=model[t:t + chunk_size], metadata={"source": f"{root}#{episode}", "row": t})
            for t in range(0, len(actions), chunk_size)]


def dataset_replay(dataset: str, episode: float = 0) -> ChunkReplay:
    """``make_policy("replay:dataset=DIR,episode=3")``: replay one recorded episode (from its own seed it is
    reproduced exactly; from another start it is open loop)."""
    return ChunkReplay(dataset_chunks(dataset, int(episode)), name=f"replay:dataset={dataset},episode={int(episode)}")
