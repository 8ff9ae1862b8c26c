"""A distilled student as one small file: its per-frame tensors (``PER_FRAME``, ~0.5 MB in float16 for a 1-block
student), its config and training log, and the sha256 of the teacher's weights. Everything else in a student is
its teacher's, bit for bit, so a checkpoint directory (~13 MB) would mostly repeat the teacher; the file is what a
time-limited GPU machine hands back and the next run continues from (``unpack_student`` -> ``train --init``)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from cosmos_robotics.errors import CosmosRoboticsError
from cosmos_robotics.training.embedded import (
    check_student,
    checkpoint_dir,
    checkpoint_of,
    per_frame,
    student_of,
)
from cosmos_robotics.world_models.embedded.checkpoint import WEIGHTS_FILE, save_checkpoint
from cosmos_robotics.world_models.embedded.config import ModelConfig


def _weights_sha256(teacher: str | Path) -> str:
    return hashlib.sha256((checkpoint_dir(teacher) / WEIGHTS_FILE).read_bytes()).hexdigest()


def pack_student(checkpoint: str | Path, teacher: str | Path, out: Path) -> Path:
    """The student checkpoint directory ``checkpoint`` of ``teacher`` (a directory or ``bundled``) as one file."""
    student, log = checkpoint_of(checkpoint)
    taught, _ = checkpoint_of(teacher)
    check_student(taught, student)
    tensors = {k: v.detach().to(torch.float16).contiguous() for k, v in student.state_dict().items() if per_frame(k)}
    meta = {"model_config": student.config.to_json(), "training": json.dumps(log),
            "teacher_sha256": _weights_sha256(teacher)}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    tmp.replace(out)
    return out


def unpack_student(file: str | Path, teacher: str | Path, out: Path) -> Path:
    """The checkpoint directory of the student in ``file``, rebuilt on ``teacher``: the one it was distilled from."""
    with safe_open(str(file), framework="pt") as handle:
        meta = handle.metadata() or {}
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
    if not {"model_config", "training", "teacher_sha256"} <= meta.keys():
        raise CosmosRoboticsError(f"expected a student file written by pack_student, got {file} with metadata "
                                  f"{sorted(meta)}")
    digest = _weights_sha256(teacher)
    if digest != meta["teacher_sha256"]:
        raise CosmosRoboticsError(f"{file} is a student of the teacher with weights sha256 {meta['teacher_sha256']}, "
                                  f"got teacher {teacher} with {digest}")
    taught, _ = checkpoint_of(teacher)
    student = student_of(taught, ModelConfig.from_json(meta["model_config"]))
    own = student.state_dict()
    expected = {k for k in own if per_frame(k)}
    if tensors.keys() != expected or any(v.shape != own[k].shape for k, v in tensors.items()):
        raise CosmosRoboticsError(f"{file}: expected the {len(expected)} per-frame tensors of its config, got "
                                  f"{len(tensors)} (missing {sorted(expected - tensors.keys())[:3]}, extra "
                                  f"{sorted(tensors.keys() - expected)[:3]})")
    student.load_state_dict({**own, **{k: v.float() for k, v in tensors.items()}})
    save_checkpoint(student, out, json.loads(meta["training"]))
    return out
