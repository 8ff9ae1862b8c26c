"""``cosmos-robotics checkpoints``: the table, --json, and --check with and without a GPU."""

import json

import pytest
import torch

from cosmos_robotics.cli import main


def test_table_lists_every_checkpoint_with_commands(capsys):
    assert main(["checkpoints"]) == 0
    out = capsys.readouterr().out
    for hf_id in ("nvidia/Cosmos3-Nano", "nvidia/Cosmos3-Super", "nvidia/Cosmos3-Super-Text2Image",
                  "nvidia/Cosmos3-Super-Image2Video", "nvidia/Cosmos3-Nano-Policy-DROID", "nvidia/Cosmos3-Edge"):
        assert hf_id in out
    assert "Cosmos3ReasonerForConditionalGeneration" in out and "--tensor-parallel-size 4" in out


def test_json_has_memory_per_precision(capsys):
    assert main(["checkpoints", "--json", "--model", "Cosmos3-Nano"]) == 0
    [nano] = json.loads(capsys.readouterr().out)
    assert nano["memory_gib"]["generator"]["bf16"] == pytest.approx(33.2, abs=0.05)
    assert set(nano["memory_gib"]["reasoner"]) == {"bf16", "fp8", "nvfp4"}
    assert {b["name"] for b in nano["backends"]} >= {"diffusers", "vllm-omni", "vllm-reasoner", "tensorrt-llm"}


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_check_says_when_there_is_no_gpu(capsys):
    assert main(["checkpoints", "--check"]) == 1
    assert "no CUDA GPU on this machine" in capsys.readouterr().out


def test_check_against_given_gpus(capsys):
    assert main(["checkpoints", "--check", "--gpu-memory", "24", "--model", "nvidia/Cosmos3-Nano"]) == 0
    out = capsys.readouterr().out
    assert "does NOT fit" in out and "fits: fp8, 1 GPU" in out and "with 2 such GPUs" in out
    assert main(["checkpoints", "--check", "--gpu-memory", "141", "--json", "--model", "Cosmos3-Super"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert all(a["fits"] for a in report["checks"][0]["advice"])
    assert main(["checkpoints", "--model", "nvidia/Cosmos4-Giga"]) == 2
    assert "unknown Cosmos 3 checkpoint 'nvidia/Cosmos4-Giga'; known: nvidia/Cosmos3-Nano" in capsys.readouterr().err
