"""The TensorRT-LLM ``POST /v1/videos/sync`` form (``trtllm-serve``): what :class:`TrtLlmWorldModel` sends."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from cosmos_robotics.embodiments import ActionMode
from cosmos_robotics.world_models.remote.request import RemoteRequest


def trtllm_form(request: RemoteRequest) -> dict[str, str]:
    adapter = request.adapter
    extra: dict[str, Any] = {
        "action_mode": request.mode.value, "domain_name": adapter.domain_name, "raw_action_dim": adapter.action_dim,
        "action_chunk_size": request.chunk_size, "action_resolution": adapter.preset.resolution_tier,
        "view_point": adapter.preset.view_point, "action_fps": request.fps, "flow_shift": request.flow_shift,
        "use_guardrails": False,
    }
    if request.actions is not None:
        extra["action"] = request.actions.tolist()
    if request.state is not None:  # Policy-DROID on TRT-LLM: the 8-value state row travels as "action"
        request.observation()  # validates the state
        extra["action"] = np.asarray(request.state, dtype=np.float64).tolist()
    return {
        "prompt": request.prompt, "negative_prompt": "", "seed": str(request.seed),
        "num_inference_steps": str(request.num_inference_steps), "guidance_scale": str(request.guidance_scale),
        "format": "safetensors", "response_format": "file", "extra_params": json.dumps(extra),
    }


def trtllm_file_field(request: RemoteRequest) -> str:
    return "image_reference" if request.mode is ActionMode.POLICY else "input_reference"
