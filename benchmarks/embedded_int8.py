"""int8 convolutions and linears for the embedded forward dynamics on a CPU (issue 14): quality and speed.

The lever: PyTorch 2 export quantization (torchao's ``X86InductorQuantizer``: uint8 activations per tensor, int8
weights per channel, static scales from calibration windows), then ``torch.compile`` (inductor, frozen weights),
which lowers the quantized convolutions to oneDNN. Measured side by side in one process:

* quality: FD PSNR against the simulator on held-out windows (seeds 1,000,000+, every 8th window start, the
  windows of ``embedded_eval.py``) for the float32 path and the quantized model, compiled (the oneDNN int8 kernels
  that would ship) and eager (torchao's quantize / dequantize emulation), and the PSNR of the compiled int8 frames
  against the float32 ones; calibration uses training seeds;
* speed at batch 1: the float32 channels-last path (what ``auto`` runs on such a CPU), inductor float32 and
  inductor int8, interleaved rounds (medians), with compile times.

torchao is not a dependency of the project (nothing ships this path); install it beside the venv to measure:

    .venv/bin/pip install --no-deps --target /tmp/torchao torchao==0.18.0
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 PYTHONPATH=/tmp/torchao \\
        .venv/bin/python benchmarks/embedded_int8.py --threads 2
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from embedded_eval import HELD_OUT_SEED, psnr  # benchmarks/embedded_eval.py
from embedded_speed import interleaved  # benchmarks/embedded_speed.py
from machine import cpu_report, idleness  # benchmarks/machine.py

from cosmos_robotics.training.data import generate_episodes
from cosmos_robotics.world_models.embedded.checkpoint import load_checkpoint
from cosmos_robotics.world_models.embedded.model import to_model_images
from cosmos_robotics.world_models.embedded.runtime import PATHS, prepare

RESULT = Path(__file__).parent / "results" / "embedded_int8.json"
CHUNK = 16


class ForwardDynamics(torch.nn.Module):
    """``forward_dynamics`` as a module with tensor outputs (what ``torch.export`` takes)."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, images, state, actions):
        out = self.model.forward_dynamics(images, state, actions)
        return out["frames"], out["state"], out["success"]


def windows(episodes, stride: int):
    """(images, state, chunk, target frames) at batch 1 for every ``stride``-th window start."""
    for e in range(episodes.images.shape[0]):
        for t in range(0, episodes.chunks.shape[1], stride):
            video = to_model_images(torch.from_numpy(episodes.images[e, t:t + CHUNK + 1][None]))
            state = torch.from_numpy(episodes.states[e, t][None])
            yield video[:, 0], state, torch.from_numpy(episodes.chunks[e, t][None]), video[:, 1:]


def quantized(model: torch.nn.Module, example: tuple, calibration) -> torch.nn.Module:
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    from torchao.quantization.pt2e.quantizer import x86_inductor_quantizer as x86

    # Strict export records ``source_fn_stack``, which the quantizer's pattern matching needs (non-strict: nothing
    # gets annotated and the "quantized" model is the float one).
    exported = torch.export.export(ForwardDynamics(model).eval(), example, strict=True).module()
    quantizer = x86.X86InductorQuantizer().set_global(x86.get_default_x86_inductor_quantization_config())
    observed = prepare_pt2e(exported, quantizer)
    with torch.no_grad():
        for images, state, chunk, _ in calibration:
            observed(images, state, chunk)
    return convert_pt2e(observed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--episodes", type=int, default=6, help="held-out episodes (90 windows at 6)")
    parser.add_argument("--calibration-windows", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started, idle_start = time.perf_counter(), idleness()
    held_out = generate_episodes(args.episodes, HELD_OUT_SEED, 130)
    calibration = generate_episodes(4, 0, 130)
    reference = prepare(load_checkpoint().eval(), PATHS["float32_channels_last"])
    example = next(windows(held_out, 8))[:3]
    calib = [w for _, w in zip(range(args.calibration_windows), windows(calibration, 4), strict=False)]
    int8 = quantized(load_checkpoint().eval(), example, calib)

    torch._inductor.config.freezing = True
    compile_s, compiled = {}, {}
    for name, module in (("inductor_float32", ForwardDynamics(reference)), ("inductor_int8", int8)):
        start = time.perf_counter()
        compiled[name] = torch.compile(module)
        with torch.inference_mode():
            compiled[name](*example)
        compile_s[name] = round(time.perf_counter() - start, 1)

    scores: dict[str, list[torch.Tensor]] = {"float32": [], "int8_compiled": [], "int8_eager": [],
                                             "int8_compiled_vs_float32": []}
    with torch.inference_mode():
        for images, state, chunk, target in windows(held_out, 8):
            ref = reference.forward_dynamics(images, state, chunk)["frames"]
            got = compiled["inductor_int8"](images, state, chunk)[0]
            scores["float32"].append(psnr(ref, target))
            scores["int8_compiled"].append(psnr(got, target))
            scores["int8_eager"].append(psnr(int8(images, state, chunk)[0], target))
            scores["int8_compiled_vs_float32"].append(psnr(got, ref))
    quality = {k: round(float(torch.cat(v).mean()), 4) for k, v in scores.items()}
    quality["windows"] = len(scores["float32"])
    quality["psnr_drop_db"] = round(quality["float32"] - quality["int8_compiled"], 4)

    def call(fn):
        def run():
            with torch.inference_mode():
                fn(*example)
        return run

    speed = interleaved({"float32_channels_last": call(lambda *a: reference.forward_dynamics(*a)),
                         **{name: call(fn) for name, fn in compiled.items()}}, args.rounds)  # fmt: skip
    base = speed["float32_channels_last"]["median_ms"]
    for row in speed.values():
        row["speedup_vs_float32_channels_last"] = round(base / row["median_ms"], 3)
    report = {
        "command": "benchmarks/embedded_int8.py " + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()
                                                             if k != "out"),
        "quantization": "torchao X86InductorQuantizer default config (uint8 per-tensor activations, int8 per-channel "
                        "weights, HistogramObserver), static, strict torch.export",
        "torchao": __import__("torchao").__version__, "torch": torch.__version__,
        "held_out_seeds": [HELD_OUT_SEED, HELD_OUT_SEED + args.episodes - 1], "calibration_seeds": [0, 3],
        "quality_fd_psnr_db": quality, "fd_batch1": speed, "compile_s": compile_s,
        "idle_start": idle_start, "idle_end": idleness(), "cpu": cpu_report(),
        "benchmark_s": round(time.perf_counter() - started, 1),
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: report[k] for k in ("quality_fd_psnr_db", "fd_batch1", "compile_s")}, indent=2))


if __name__ == "__main__":
    main()
