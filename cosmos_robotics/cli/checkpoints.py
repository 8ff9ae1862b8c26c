"""``cosmos-robotics checkpoints``: every Cosmos 3 checkpoint, its backends and memory; ``--check`` against GPUs."""

from __future__ import annotations

import argparse
import json

from cosmos_robotics.world_models.cosmos3.catalog import CHECKPOINTS, check_checkpoint, get_checkpoint


def _positive(kind):
    def parse(text: str):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
        return value

    return parse


def register(sub) -> None:
    from cosmos_robotics.cli import add_command

    parser = add_command(
        sub, "checkpoints", "Cosmos 3 checkpoints: backends, serve commands, GPU memory; --check: does it fit?",
        "Every Cosmos 3 checkpoint with its towers, surfaces, modes, embodiments, the backends that run it (with\n"
        "the exact serve command or from_pretrained call) and its peak GPU memory per precision, computed from the\n"
        "architecture's layer counts and widths plus the activations of its typical call. --check compares with\n"
        "this machine's GPUs (or --gpu-memory) before anything is downloaded and says what to do otherwise.",
        "cosmos-robotics checkpoints --check --gpu-memory 24")
    parser.add_argument("--model", default=None, help="one checkpoint (hub id or name) instead of all")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--check", action="store_true", help="say whether each checkpoint fits this machine's GPUs")
    parser.add_argument("--gpu-memory", type=_positive(float), default=None, metavar="GIB",
                        help="with --check: plan for GPUs of this size (GiB, as nvidia-smi reports) instead")
    parser.add_argument("--gpus", type=_positive(int), default=1, help="with --gpu-memory: how many such GPUs")
    parser.set_defaults(func=run)


def _table(checkpoints) -> list[str]:
    header = ("checkpoint", "status", "params B (R/G/VAE)", "surfaces", "generator GiB bf16/fp8/nvfp4",
              "reasoner GiB bf16/fp8/nvfp4", "planned call")
    rows = []
    for c in checkpoints:
        mem, t = c.memory_gib(), c.towers
        rows.append((c.hf_id, c.status, f"{t['reasoner']:.1f}/{t['generator']:.1f}/{t['vae']:.1f}",
                     "+".join(c.surfaces), "/".join(f"{v:.1f}" for v in mem.get("generator", {}).values()) or "-",
                     "/".join(f"{v:.1f}" for v in mem.get("reasoner", {}).values()) or "-",
                     c.to_json()["planned_call"] if "generator" in c.surfaces else "32k-token context"))  # fmt: skip
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in (header, tuple("-" * w for w in widths), *rows)]  # fmt: skip


def _details(c) -> list[str]:
    out = [f"{c.hf_id} ({c.architecture.backbone} towers): modes {', '.join(c.modes)}"]
    if c.embodiments:
        out.append(f"  embodiments: {', '.join(c.embodiments)}")
    out += [f"  {b.name}: {b.command}" + (f"  # {b.note}" if b.note else "") for b in c.backends]
    out += [f"  parallel: {p}" for p in c.parallel]
    return out + ([f"  note: {c.notes}"] if c.notes else [])


def run(args) -> int:
    checkpoints = [get_checkpoint(args.model)] if args.model else list(CHECKPOINTS)
    if not args.check:
        if args.json:
            print(json.dumps([c.to_json() for c in checkpoints], indent=2))
            return 0
        print("\n".join(_table(checkpoints)))
        print("\nMemory: peak per GPU from the architecture config plus the planned call's activations "
              "(generator: diffusers, 1 GPU; Reasoner: vLLM); --check compares it with GPUs.\n")
        for c in checkpoints:
            print("\n".join(_details(c)))
        return 0
    if args.gpu_memory is not None:
        where, size, count = f"{args.gpus} x {args.gpu_memory:g} GiB (given)", args.gpu_memory, args.gpus
    else:
        from cosmos_robotics.world_models.cosmos3.memory import local_gpus

        gpus = local_gpus()
        if not gpus:
            print("no CUDA GPU on this machine (torch sees none), so nothing can be checked here; "
                  "plan for one with --check --gpu-memory GIB [--gpus N]")
            return 1
        for g in gpus:
            print(f"GPU {g.index}: {g.name}, {g.total_gib:.1f} GiB ({g.free_gib:.1f} GiB free)")
        where, size, count = "this machine", min(g.total_gib for g in gpus), len(gpus)
    checks = [check_checkpoint(c, size, count) for c in checkpoints]
    if args.json:
        print(json.dumps({"gpus": where, "checks": [c.to_json() for c in checks]}, indent=2))
    else:
        print(f"checked against {where}; nothing is downloaded")
        for check in checks:
            print("\n".join(check.lines()))
    return 0
