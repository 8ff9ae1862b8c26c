"""The shipped embedded world model through the WorldModel interface, against the real SimDroid-v0 simulator."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cosmos_robotics.embodiments import get_adapter
from cosmos_robotics.embodiments.droid import compose_concat_view
from cosmos_robotics.envs import SimChunkEnv
from cosmos_robotics.errors import ActionContractError, CosmosRoboticsError
from cosmos_robotics.evaluation import psnr
from cosmos_robotics.policies import make_policy
from cosmos_robotics.rollout import run_episode
from cosmos_robotics.sim import SimDroidEnv
from cosmos_robotics.world_models import WorldModelRequest
from cosmos_robotics.world_models.embedded.backend import EmbeddedWorldModel, split_views, stack_views
from cosmos_robotics.world_models.embedded.checkpoint import (
    DEFAULT_WEIGHTS,
    WEIGHTS_FILE,
    load_checkpoint,
    save_checkpoint,
)
from cosmos_robotics.world_models.embedded.config import ModelConfig
from cosmos_robotics.world_models.embedded.model import EmbeddedNet

VIEWS = ("wrist", "exterior_1", "exterior_2")


@pytest.fixture(scope="module")
def wm() -> EmbeddedWorldModel:
    return EmbeddedWorldModel()  # the shipped weights, loaded by default


@pytest.fixture(scope="module")
def start():
    env = SimDroidEnv()
    obs, _ = env.reset(seed=123)
    yield env, obs
    env.close()


def stacked(obs: dict) -> np.ndarray:
    return stack_views(*(obs[f"observation.images.{v}"] for v in VIEWS))


def move_chunk(dx: float) -> np.ndarray:
    """A 16-step chunk moving the flange ``dx`` m per step along x with the gripper open."""
    droid = get_adapter("droid")
    cartesian = np.zeros((17, 6))
    cartesian[:, 0] = dx * np.arange(17)
    cartesian[:, 3] = np.pi
    return droid.encode_window(cartesian, np.zeros(16))


def test_shipped_weights_are_small_and_load_by_default(wm):
    size = (DEFAULT_WEIGHTS / WEIGHTS_FILE).stat().st_size
    assert size <= 25 * 2**20
    assert wm.supports("droid", "forward_dynamics") and not wm.supports("av", "forward_dynamics")


def test_forward_dynamics_shapes_state_and_action_sensitivity(wm, start):
    _, obs = start
    frame, state = stacked(obs), obs["observation.state"]
    still = wm.forward_dynamics(frame, move_chunk(0.0), embodiment="droid", state=state)
    moving = wm.forward_dynamics(frame, move_chunk(0.012), embodiment="droid", state=state)
    assert still.frames.shape == (17, 384, 128, 3) and still.frames.dtype == np.uint8
    np.testing.assert_array_equal(still.frames[0], frame)
    assert still.extras["state"].shape == (16, 14)
    assert still.extras["success_probability"].shape == (17,)
    assert np.all((still.extras["success_probability"] >= 0) & (still.extras["success_probability"] <= 1))
    # Different actions -> different futures: the flange prediction follows the commanded +x motion.
    advance = moving.extras["cartesian"][-1, 0] - still.extras["cartesian"][-1, 0]
    assert advance > 0.08, advance
    diff = np.abs(moving.frames[-1].astype(int) - still.frames[-1].astype(int)).mean()
    assert diff > 2.0, diff


def test_rollout_conditions_each_chunk_on_the_predicted_state(wm, start):
    """A two-chunk rollout = chunk 2 from chunk 1's last frame *and* its last predicted state (not the start's)."""
    _, obs = start
    frame, state = stacked(obs), obs["observation.state"]
    actions = np.concatenate([move_chunk(0.01), move_chunk(0.01)])
    rolled = wm.rollout(frame, actions, embodiment="droid", state=state)
    first = wm.forward_dynamics(frame, actions[:16], embodiment="droid", state=state)
    second = wm.forward_dynamics(first.frames[-1], actions[16:], embodiment="droid", state=first.extras["state"][-1])
    stale = wm.forward_dynamics(first.frames[-1], actions[16:], embodiment="droid", state=state)
    assert rolled.frames.shape == (33, 384, 128, 3)
    np.testing.assert_array_equal(rolled.frames[17:], second.frames[1:])
    assert np.abs(second.frames[1:].astype(int) - stale.frames[1:].astype(int)).mean() > 0.5  # the state matters


def test_batch_equals_single_and_is_deterministic(start):
    _, obs = start
    wm = EmbeddedWorldModel(precision="float32")  # bfloat16 kernels round differently per batch size (<= 4 levels)
    frame, state = stacked(obs)[None], obs["observation.state"]
    requests = [WorldModelRequest("forward_dynamics", "droid", frame, actions=move_chunk(dx), state=state)
                for dx in (0.0, 0.01)]
    batch = wm.generate_batch(requests)
    assert batch[0].timings["batch_size"] == 2
    for request, result in zip(requests, batch, strict=True):
        single = wm.generate(request)
        assert np.abs(single.frames.astype(int) - result.frames.astype(int)).max() <= 1
        np.testing.assert_allclose(single.extras["state"], result.extras["state"], atol=1e-4)
    again = wm.generate_batch(requests)
    np.testing.assert_array_equal(again[1].frames, batch[1].frames)


def test_results_do_not_depend_on_the_frames_memory_layout(wm, start):
    """Frames decoded from a dataset arrive channel-planar; the same pixels must give the same prediction (the
    bfloat16 kernels picked from a strided input once rounded up to 9 levels apart)."""
    _, obs = start
    frame, state = stacked(obs)[None], obs["observation.state"]
    planar = np.ascontiguousarray(frame.transpose(0, 3, 1, 2)).transpose(0, 2, 3, 1)
    assert not planar.flags["C_CONTIGUOUS"] and np.array_equal(planar, frame)
    results = [wm.generate(WorldModelRequest("forward_dynamics", "droid", f, actions=move_chunk(0.01), state=state))
               for f in (frame, planar)]
    np.testing.assert_array_equal(results[0].frames, results[1].frames)
    np.testing.assert_array_equal(results[0].extras["state"], results[1].extras["state"])


def test_inverse_dynamics_and_policy_on_concat_view(wm, start):
    env = SimChunkEnv(episode_length=16)
    episode = run_episode(env, make_policy("expert"), seed=123)
    env.close()
    frames = [compose_concat_view(*(o[f"observation.images.{v}"] for v in VIEWS)) for o in episode.observations]
    obs = episode.observations[0]
    result = wm.inverse_dynamics(np.stack(frames), embodiment="droid", decode_actions=True)
    assert result.actions.shape == (16, 10) and np.abs(result.actions).max() <= 1.0
    assert result.command.poses.shape == (17, 4, 4)
    plan = wm.policy(frames[0], embodiment="droid", instruction=episode.task, state=obs["observation.state"])
    assert plan.actions.shape == (16, 10)
    assert plan.frames.shape == (17, 192, 128, 3)
    assert split_views(plan.frames).shape == (17, 3, 128, 128, 3)


def test_bad_requests_raise_typed_errors(wm, start):
    _, obs = start
    with pytest.raises(ActionContractError, match="state"):
        wm.forward_dynamics(stacked(obs), move_chunk(0.0), embodiment="droid")
    with pytest.raises(ActionContractError, match="frames"):
        wm.forward_dynamics(np.zeros((100, 128, 3), np.uint8), move_chunk(0.0), embodiment="droid",
                            state=obs["observation.state"])


def test_embedded_policy_drives_the_simulator():
    env = SimChunkEnv(episode_length=12)
    episode = run_episode(env, make_policy("embedded:replan=8"), seed=7)  # invalid actions would raise
    env.close()
    assert episode.steps == 12 and [len(c) for c in episode.chunks] == [8, 4]
    assert episode.chunks[0].model_actions.shape == (8, 10) and episode.chunks[0].poses.shape == (8, 4, 4)
    states = episode.states()
    assert np.linalg.norm(states[-1, :3] - states[0, :3]) > 0.02


@pytest.mark.parametrize("style", ["conv", "separable"])
def test_frames_per_step_match_the_full_chunk_and_survive_a_checkpoint(style, tmp_path):
    """Per-view work is broadcast over the steps: any subset of steps must give the same frames as all 16."""
    torch.manual_seed(0)
    model = EmbeddedNet(ModelConfig(enc_channels=(8, 16, 16), hidden=32, head_channels=16, head_hidden=32,
                                    style=style, dec_channels=(16, 8))).eval()
    for block in model.blocks:  # FiLM starts at zero; make the actions matter
        torch.nn.init.normal_(block.film.weight, std=0.3)
    images = torch.rand(2, 3, 3, 128, 128) * 2 - 1
    state, actions = torch.randn(2, 14), torch.rand(2, 16, 10) * 2 - 1
    steps = torch.tensor([[3, 16], [1, 7]])
    with torch.inference_mode():
        full = model.forward_dynamics(images, state, actions)["frames"]
        part = model.forward_dynamics(images, state, actions, steps)["frames"]
    assert full.shape == (2, 16, 3, 3, 128, 128)
    torch.testing.assert_close(part, torch.stack([full[i, steps[i] - 1] for i in range(2)]))
    assert (full[:, 0] - full[:, -1]).abs().mean() > 1e-3  # the chunk changes the frames
    save_checkpoint(model, tmp_path, {})
    loaded = load_checkpoint(tmp_path)
    assert loaded.config == model.config
    with torch.inference_mode():
        again = loaded.forward_dynamics(images, state, actions)["frames"]
    torch.testing.assert_close(again, full, atol=0.02, rtol=0)  # float16 weights on disk


def test_config_files_without_style_load_as_v1_and_bad_styles_are_rejected():
    v1 = '{"enc_channels": [24, 48, 96], "hidden": 256, "res_blocks": 2, "head_channels": 64, "head_hidden": 512}'
    assert ModelConfig.from_json(v1) == ModelConfig(style="conv", dec_channels=(48, 32))
    with pytest.raises(ValueError, match="style"):
        ModelConfig(style="depthwise")


def test_bfloat16_inference_stays_close_to_float32(start):
    _, obs = start
    frame, state = stacked(obs), obs["observation.state"]
    f32, b16 = (EmbeddedWorldModel(precision=p).forward_dynamics(frame, move_chunk(0.01), embodiment="droid",
                                                                 state=state) for p in ("float32", "bfloat16"))
    assert psnr(f32.frames, b16.frames) > 40  # far above the 28 dB the model reaches against truth
    np.testing.assert_allclose(b16.extras["cartesian"][:, :3], f32.extras["cartesian"][:, :3], atol=2e-3)
    with pytest.raises(CosmosRoboticsError, match="precision"):
        EmbeddedWorldModel(precision="fp8")
