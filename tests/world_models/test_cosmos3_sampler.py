"""Our denoising loop (batches, CUDA-graph bookkeeping, FP8, Policy-DROID) against the real diffusers pipeline on
the tiny checkpoints, on the CPU.

The reference is always diffusers itself: ``Cosmos3OmniPipeline.__call__`` for forward / inverse dynamics and
``Cosmos3OmniTransformer.forward`` for one Policy-DROID step (a layout the pipeline cannot build). The tiny action
head is the exact denoiser of a point mass, so actions must come back as the known targets.
"""

from dataclasses import replace

import numpy as np
import pytest
import torch
from diffusers import Cosmos3OmniPipeline, CosmosActionCondition

from cosmos_robotics.embodiments import ActionMode, get_adapter
from cosmos_robotics.errors import ActionContractError, UnsupportedModeError
from cosmos_robotics.world_models.base import WorldModelRequest
from cosmos_robotics.world_models.cosmos3.acceleration import AccelerationConfig, accelerated
from cosmos_robotics.world_models.cosmos3.diffusers_backend import Cosmos3DiffusersBackend
from cosmos_robotics.world_models.cosmos3.fp8 import E4M3_MAX, fp8_linear, quantize_rows, quantize_weight
from cosmos_robotics.world_models.cosmos3.policy_droid import PolicyDroidSpec, prepare_policy_droid
from cosmos_robotics.world_models.cosmos3.sampler import ActionSampler, prepare_action_call
from cosmos_robotics.world_models.cosmos3.tiny_checkpoint import (
    TINY_ACTION_TARGETS,
    TINY_POLICY_DROID_TARGET,
    write_tiny_checkpoint,
)

CPU_LEVERS = AccelerationConfig(attention_backend="default", compile_blocks=False)
PROMPT = "Put the marker in the cup."
STATE = get_adapter("droid_joint").encode_state([0.1, -0.5, 0.0, -2.0, 0.0, 1.5, 0.7], 0.2)


@pytest.fixture(scope="module")
def pipe(tiny_checkpoint_dir):
    pipe = Cosmos3OmniPipeline.from_pretrained(tiny_checkpoint_dir, enable_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="module")
def policy_dir(tmp_path_factory):
    """Written by ``cosmos-robotics dev tiny-checkpoint DIR --variant policy_droid``."""
    from cosmos_robotics.cli import main

    directory = tmp_path_factory.mktemp("policy") / "Cosmos3-Tiny-Policy-DROID"
    assert main(["dev", "tiny-checkpoint", str(directory), "--variant", "policy_droid"]) == 0
    return directory


@pytest.fixture(scope="module")
def policy_pipe(policy_dir):
    pipe = Cosmos3OmniPipeline.from_pretrained(policy_dir, enable_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _image(seed: int = 0, hw=(64, 96)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(*hw, 3), dtype=np.uint8)


def _fd_condition(seed: int = 1) -> CosmosActionCondition:
    actions = torch.from_numpy(np.random.default_rng(seed).uniform(-1, 1, size=(4, 10)).astype(np.float32))
    return CosmosActionCondition(mode="forward_dynamics", chunk_size=4, domain_name="droid_lerobot",
                                 resolution_tier=256, raw_actions=actions, image=_image(), view_point="concat_view")  # fmt: skip


def _pipeline(pipe, condition, guidance: float, seed: int = 0, steps: int = 3):
    return pipe(prompt=PROMPT, action=condition, fps=15.0, num_inference_steps=steps, guidance_scale=guidance,
                use_system_prompt=False, generator=torch.Generator().manual_seed(seed), output_type="latent")  # fmt: skip


@pytest.mark.parametrize("guidance", [1.0, 3.0])
@pytest.mark.parametrize("levers", [None, CPU_LEVERS, AccelerationConfig(attention_backend="default",
                                                                         compile_blocks=False, cuda_graphs=True)])
def test_sampler_reproduces_the_pipeline_forward_dynamics(pipe, guidance, levers):
    reference = _pipeline(pipe, _fd_condition(), guidance).video
    with accelerated(pipe, levers or AccelerationConfig.none()) as handle:
        sampler = ActionSampler(pipe, handle if levers else None, cuda_graphs=bool(levers and levers.cuda_graphs))
        layout, sample = prepare_action_call(pipe, _fd_condition(), prompt=PROMPT, fps=15.0, seed=0,
                                             guided=guidance != 1.0)  # fmt: skip
        out = sampler.denoise(layout, [sample], 3, guidance)
        again = sampler.denoise(layout, [sample], 3, guidance)  # second call: reuses the graph entry's buffers
    torch.testing.assert_close(out.latents, reference, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(again.latents, out.latents, rtol=0, atol=0)
    if levers and levers.cuda_graphs:
        assert len(sampler.graphs.entries) == 1  # one whole-loop entry (cond and uncond inside it)
        assert out.step_times_s == []  # a replayed loop has no host-side step marks
    else:
        assert len(out.step_times_s) == 3
    if levers:  # the second call found every layer's text K/V of every role in the cache
        roles, layers = (2 if guidance != 1.0 else 1), len(pipe.transformer.layers)
        assert (handle.text_cache.misses, handle.text_cache.hits) == (roles * layers, roles * layers)
    other = _pipeline(pipe, _fd_condition(seed=2), guidance).video
    assert (other - reference).abs().max() > 1e-2  # the comparison above can tell action chunks apart


def test_a_scheduler_that_is_not_linear_is_stepped_by_diffusers(pipe):
    from diffusers import UniPCMultistepScheduler

    shipped = pipe.scheduler
    pipe.scheduler = UniPCMultistepScheduler.from_config(shipped.config, thresholding=True, sample_max_value=0.05)
    try:
        reference = _pipeline(pipe, _fd_condition(), 1.0).video
        sampler = ActionSampler(pipe)
        layout, sample = prepare_action_call(pipe, _fd_condition(), prompt=PROMPT, fps=15.0, seed=0, guided=False)
        out = sampler.denoise(layout, [sample], 3, 1.0)
    finally:
        pipe.scheduler = shipped
    assert list(sampler._schedules.values()) == [None]  # refused: the loop stepped diffusers' scheduler
    torch.testing.assert_close(out.latents, reference, rtol=1e-4, atol=1e-4)
    assert (out.latents - _pipeline(pipe, _fd_condition(), 1.0).video).abs().max() > 1e-3  # thresholding mattered


def test_sampler_text_cache_keeps_prompts_apart(pipe):
    def call(sampler, prompt):
        layout, sample = prepare_action_call(pipe, _fd_condition(), prompt=prompt, fps=15.0, seed=0, guided=False)
        return sampler.denoise(layout, [sample], 2, 1.0).latents

    with accelerated(pipe, CPU_LEVERS) as handle:
        sampler = ActionSampler(pipe, handle)
        first, drawer, again = (call(sampler, p) for p in (PROMPT, "Open the drawer.", PROMPT))
        layers = len(pipe.transformer.layers)
        assert (handle.text_cache.misses, handle.text_cache.hits) == (2 * layers, layers)
    torch.testing.assert_close(again, first, rtol=0, atol=0)
    torch.testing.assert_close(drawer, call(ActionSampler(pipe), "Open the drawer."), rtol=1e-4, atol=1e-4)
    assert (drawer - first).abs().max() > 1e-3  # the prompts really lead to different videos


def test_sampler_inverse_dynamics_returns_the_pipeline_actions(pipe):
    video = [_image(seed) for seed in range(9)]
    condition = CosmosActionCondition(mode="inverse_dynamics", chunk_size=8, domain_name="av", resolution_tier=256,
                                      video=video, view_point="ego_view")  # fmt: skip
    reference = _pipeline(pipe, condition, 1.0).action[0]
    layout, sample = prepare_action_call(pipe, condition, prompt=PROMPT, fps=15.0, seed=0, guided=False)
    out = ActionSampler(pipe).denoise(layout, [sample], 3, 1.0)
    assert out.action_latents.shape == (1, 8, 9)
    torch.testing.assert_close(out.action_latents[0], reference, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(out.action_latents[0].numpy(), np.tile(TINY_ACTION_TARGETS["av"], (8, 1)), atol=3e-3)


def test_guidance_interval_skips_the_unconditional_pass_outside_it(pipe):
    layout, sample = prepare_action_call(pipe, _fd_condition(), prompt=PROMPT, fps=15.0, seed=0, guided=True)
    sampler = ActionSampler(pipe)
    calls = []
    plain_velocity = sampler.velocity
    sampler.velocity = lambda lay, statics, *a: calls.append(statics) or plain_velocity(lay, statics, *a)
    unguided = sampler.denoise(layout, [sample], 3, 1.0).latents
    calls.clear()
    outside = sampler.denoise(layout, [sample], 3, 3.0, guidance_interval=(2000.0, 3000.0)).latents
    assert len(calls) == 3  # the conditional forward only
    torch.testing.assert_close(outside, unguided, rtol=0, atol=0)
    calls.clear()
    everywhere = sampler.denoise(layout, [sample], 3, 3.0, guidance_interval=(0.0, 1000.0)).latents
    assert len(calls) == 6
    torch.testing.assert_close(everywhere, _pipeline(pipe, _fd_condition(), 3.0).video, rtol=1e-4, atol=1e-4)


@pytest.fixture(scope="module")
def backend(tiny_checkpoint_dir):
    return Cosmos3DiffusersBackend.from_pretrained(tiny_checkpoint_dir, device="cpu", progress=False,
                                                   acceleration=CPU_LEVERS)


def _fd_request(seed: int, prompt: str = PROMPT) -> WorldModelRequest:
    frame = _image(7, (90, 160))[None]
    actions = np.random.default_rng(seed).uniform(-0.5, 0.5, size=(4, 10)).astype(np.float32)
    actions[:, 3], actions[:, 7] = 1.0, 1.0  # near-identity rot6d columns (normalized space)
    return WorldModelRequest(ActionMode.FORWARD_DYNAMICS, "droid", frame, actions=actions, prompt=prompt, seed=seed,
                             num_inference_steps=2)  # fmt: skip


def test_generate_batch_equals_one_by_one(backend):
    requests = [_fd_request(0), _fd_request(1), _fd_request(2, prompt="Open the drawer."), _fd_request(3)]
    batched = backend.generate_batch(requests)
    one_by_one = [backend.generate(r) for r in requests]
    assert [r.extras["batch_size"] for r in batched] == [3, 3, 1, 3]  # same prompt -> one batch, in input order
    for b, s, r in zip(batched, one_by_one, requests, strict=True):
        assert b.request.seed == r.seed and b.frames.shape == s.frames.shape
        assert np.abs(b.frames.astype(int) - s.frames.astype(int)).max() <= 1
    assert np.abs(batched[0].frames.astype(int) - batched[1].frames.astype(int)).mean() > 1.0  # seeds differ
    with pytest.raises(UnsupportedModeError, match="decode_video=False"):
        backend.generate_batch([replace(requests[0], decode_video=False)])


def test_fp8_quantization_bounds_and_matmul():
    torch.manual_seed(0)
    x, w = torch.randn(37, 64) * 3, torch.randn(48, 64)
    values, scale = quantize_rows(x)
    assert values.dtype == torch.float8_e4m3fn and scale.shape == (37, 1)
    assert values.float().abs().amax(dim=-1).sub(E4M3_MAX).abs().max() == 0  # each row's amax maps to 448
    assert ((values.float() * scale - x).abs() <= x.abs() * 2**-4 + 1e-6).all()  # e4m3: 3 mantissa bits
    out = fp8_linear(x, quantize_weight(w))
    exact = x @ w.t()
    rel = (out - exact).norm() / exact.norm()
    assert 1e-4 < rel < 5e-2  # rounded, but close
    with pytest.raises(ValueError, match="divisible by 16"):
        quantize_weight(torch.randn(40, 20))


def test_fp8_keeps_the_action_head_exact_and_video_close(tiny_checkpoint_dir, backend):
    fp8 = Cosmos3DiffusersBackend.from_pretrained(tiny_checkpoint_dir, device="cpu", progress=False,
                                                  acceleration=AccelerationConfig(attention_backend="default",
                                                                                  compile_blocks=False, fp8=True))  # fmt: skip
    assert all(layer is not None for layer in fp8.acceleration.fp8)
    request = _fd_request(0)
    video, reference = fp8.generate(request).frames, backend.generate(request).frames
    diff = np.abs(video.astype(int) - reference.astype(int))
    assert 0 < diff.max() and diff.mean() < 2.0  # FP8 rounding shows, but stays small
    frames = np.stack([_image(s, (90, 160)) for s in range(5)])
    ids = fp8.inverse_dynamics(frames, embodiment="droid", chunk_size=4, num_inference_steps=2)
    np.testing.assert_allclose(ids.actions, np.tile(TINY_ACTION_TARGETS["droid_lerobot"], (4, 1)), atol=3e-3)


# -- Policy-DROID -----------------------------------------------------------------------------------------------


def test_policy_droid_layout_state_row_and_positions(policy_pipe):
    spec = PolicyDroidSpec()
    layout, sample = prepare_policy_droid(policy_pipe, _image(0, (540, 640)), STATE, instruction="pick up the cup",
                                          chunk=32, seed=0, guided=True)  # fmt: skip
    assert layout.grid == (9, 17, 20) and layout.latent_hw == (33, 40) and layout.domain_id == 8
    assert layout.action_noisy.tolist() == [0.0] + [1.0] * 32 and layout.vision_noisy.tolist() == [0.0] + [1.0] * 8
    np.testing.assert_array_equal(sample.action_latents[0, :8].numpy(), STATE.astype(np.float32))
    assert not sample.action_latents[:, 8:].any()
    # Row k of the actions sits on video frame k: rows 0, 4, 8 .. share the temporal position of latent frames 0, 1, 2.
    positions = layout.cond.positions[0]
    und, vision_tokens = layout.cond.und_len, 9 * 17 * 20
    frame_t = positions[und : und + vision_tokens : 17 * 20]
    action_t = positions[und + vision_tokens :]
    torch.testing.assert_close(action_t[::4], frame_t, rtol=0, atol=1e-4)
    assert spec.action_offset == 0
    prompt = policy_pipe.text_tokenizer.decode(layout.cond.input_ids.tolist())
    assert "The top row is from the wrist-mounted camera." in prompt and '"H": 544, "W": 736' in prompt


def test_policy_droid_step_matches_the_diffusers_transformer(policy_pipe):
    """One step of our loop against ``Cosmos3OmniTransformer.forward`` fed the same Policy-DROID packing."""
    layout, sample = prepare_policy_droid(policy_pipe, _image(1, (540, 640)), STATE, instruction="pick up the cup",
                                          chunk=32, seed=3, guided=False)  # fmt: skip
    tr, sampler = policy_pipe.transformer, ActionSampler(policy_pipe)
    statics = sampler._statics(layout, layout.cond)
    timestep = torch.tensor([700.0])
    ours_v, ours_a = sampler.velocity(layout, statics, sample.latents[None], sample.action_latents[None], timestep)
    und, vision_tokens, rows = layout.cond.und_len, 9 * 17 * 20, 33
    noisy_vision = torch.arange(1, 9)
    noisy_rows = torch.arange(1, rows)
    preds_v, _, preds_a = tr(
        input_ids=layout.cond.input_ids, text_indexes=torch.arange(und), position_ids=layout.cond.positions,
        und_len=und, sequence_length=und + vision_tokens + rows, vision_tokens=[sample.latents[None]],
        vision_token_shapes=[layout.grid], vision_sequence_indexes=torch.arange(und, und + vision_tokens),
        vision_mse_loss_indexes=torch.arange(und + 17 * 20, und + vision_tokens),
        vision_timesteps=torch.full((8 * 17 * 20,), 700.0), vision_noisy_frame_indexes=[noisy_vision],
        action_tokens=[sample.action_latents], action_token_shapes=[(rows, 1, 1)],
        action_sequence_indexes=torch.arange(und + vision_tokens, und + vision_tokens + rows),
        action_mse_loss_indexes=und + vision_tokens + noisy_rows, action_timesteps=torch.full((rows - 1,), 700.0),
        action_noisy_frame_indexes=[noisy_rows], action_domain_ids=[torch.tensor([8])], return_dict=False,
    )  # fmt: skip
    torch.testing.assert_close(ours_v[0], preds_v[0][0], rtol=1e-4, atol=1e-4)
    expected_a = preds_a[0].clone()
    expected_a[:, 8:] = 0
    torch.testing.assert_close(ours_a[0], expected_a, rtol=1e-4, atol=1e-4)
    assert ours_a[0, 0].abs().max() == 0  # the state row is conditioning: no velocity


@pytest.fixture(scope="module")
def policy_backend(policy_dir):
    return Cosmos3DiffusersBackend.from_pretrained(policy_dir, device="cpu", progress=False,
                                                   acceleration=AccelerationConfig(attention_backend="default",
                                                                                   compile_blocks=False,
                                                                                   cuda_graphs=True))  # fmt: skip


def test_policy_droid_through_the_backend_returns_the_joint_chunk(policy_backend):
    result = policy_backend.policy(_image(2, (540, 640)), embodiment="droid_joint", instruction="pick up the cup",
                                   state=STATE, decode_video=False)  # fmt: skip
    assert result.settings["num_inference_steps"] == 4 and result.settings["guidance_scale"] == 3.0
    assert result.settings["flow_shift"] == 5.0 and result.frames is None
    assert result.actions.shape == (32, 8)
    np.testing.assert_allclose(result.actions, np.tile(TINY_POLICY_DROID_TARGET, (32, 1)), atol=5e-3)
    np.testing.assert_allclose(result.command.joint_positions, np.tile(TINY_POLICY_DROID_TARGET[:7], (32, 1)), atol=5e-3)
    np.testing.assert_allclose(result.command.gripper, 1.0 - TINY_POLICY_DROID_TARGET[7], atol=5e-3)  # DROID: 0 = open
    assert result.extras["step_times_s"] == []  # cuda_graphs: the loop is one replay, no per-step marks


def test_policy_droid_decode_and_errors(policy_backend):
    result = policy_backend.policy(_image(2, (270, 320)), embodiment="droid_joint", instruction="pick up the cup",
                                   state=STATE, num_inference_steps=1, guidance_scale=1.0)  # fmt: skip
    assert result.frames.shape == (33, 528, 640, 3) and result.frames.dtype == np.uint8  # resized to 540x640
    with pytest.raises(ActionContractError, match="state"):
        policy_backend.policy(_image(2, (540, 640)), embodiment="droid_joint", instruction="x")
    with pytest.raises(ActionContractError, match="state"):
        policy_backend.policy(_image(2, (540, 640)), embodiment="droid_joint", instruction="x", state=STATE[:7])
    with pytest.raises(ValueError, match="variant"):
        write_tiny_checkpoint("/nonexistent", variant="policy")


def test_loop_graphs_refresh_per_call_tensors_and_keep_few_shapes():
    from cosmos_robotics.world_models.cosmos3.graphs import LoopGraphs

    graphs = LoopGraphs(enabled=True, max_entries=2)

    def fn(tensors, vision, action):
        return vision * tensors["gain"] + 2.0, None

    x = torch.ones(3)
    first = graphs.runner("a", fn, {"gain": torch.tensor(2.0)})
    assert first(x, None)[0].tolist() == [4.0, 4.0, 4.0]
    again = graphs.runner("a", fn, {"gain": torch.tensor(5.0)})  # same shape, next call: owned buffers refreshed
    assert again(x * 2, None)[0].tolist() == [12.0, 12.0, 12.0]
    graphs.runner("b", fn, {"gain": torch.tensor(1.0)})
    graphs.runner("c", fn, {"gain": torch.tensor(1.0)})
    assert list(graphs.entries) == ["b", "c"]  # least recently used "a" dropped
