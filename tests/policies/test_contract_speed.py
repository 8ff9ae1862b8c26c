"""``expert:...,contract=1`` moves within the Cosmos 3 DROID contract: its recorded motion encodes (unclamped)
inside [-1, 1], with limits taken from the shipped stats in the model frame, and it still does the task."""

from __future__ import annotations

import numpy as np
import pytest

from cosmos_robotics.embodiments.droid import make_droid_adapter
from cosmos_robotics.envs import SimChunkEnv
from cosmos_robotics.policies import make_policy
from cosmos_robotics.rollout import run_episode

pytest.importorskip("cosmos_robotics.sim", reason="needs the SimDroid-v0 simulator")

# The wrapper moves right up to the contract's bound, so encoded components land on +-1 within float rounding
# (1 + 3e-13 measured on one CPU, 1 - 2e-11 on another): only what lies beyond that leaves the contract.
BOUND = 1.0 + 1e-9


def beyond_contract(model: np.ndarray) -> float:
    """Share of the encoded position / rotation components outside [-1, 1] (beyond rounding)."""
    return float(np.mean(np.abs(model[:, :9]) > BOUND))


def test_contract_expert_encodes_inside_the_normalization_and_succeeds():
    env = SimChunkEnv(cameras=(), episode_length=130)
    unclamped = make_droid_adapter(clamp=False)
    for seed in (0, 4):
        episode = run_episode(env, make_policy("expert:contract=1"), seed, keep_observations=True)
        model = unclamped.encode_window(episode.states()[:, :6].astype(np.float64), episode.actions[:, 6])
        assert beyond_contract(model) < 0.005, f"seed {seed}: motion leaves the DROID contract"
        assert episode.is_success, f"seed {seed}: the contract-speed expert should still place the cube"
        raw = run_episode(env, make_policy("expert"), seed)  # the unlimited expert does leave it
        fast = unclamped.encode_window(raw.states()[:, :6].astype(np.float64), raw.actions[:, 6])
        assert beyond_contract(fast) > beyond_contract(model), f"seed {seed}: the unlimited expert stays inside"
    env.close()
