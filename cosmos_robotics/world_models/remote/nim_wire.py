"""The NVIDIA NIM ``POST /v1/infer`` JSON payload (data-URL media): what :class:`NimWorldModel` sends."""

from __future__ import annotations

from typing import Any

from cosmos_robotics.world_models.remote.request import RemoteRequest


def nim_payload(request: RemoteRequest) -> dict[str, Any]:
    adapter = request.adapter
    params: dict[str, Any] = {"domain_name": adapter.domain_name, "action_chunk_size": request.chunk_size}
    payload: dict[str, Any] = {
        "model_mode": request.mode.value, "prompt": request.prompt, "input_reference": request.media().data_url(),
        "action_params": params, "num_inference_steps": request.num_inference_steps,
        "guidance_scale": request.guidance_scale, "flow_shift": request.flow_shift, "seed": request.seed,
    }
    if request.joint_space:  # nano-droid: the server owns dims, tier, fps; sending them is an error
        if (observation := request.observation()) is not None:
            params["observation"] = observation
        return payload
    params.update(raw_action_dim=adapter.action_dim, image_size=str(adapter.preset.resolution_tier),
                  action_fps=request.fps)
    if request.actions is not None:
        params["action"] = request.actions.tolist()
    payload["fps"] = request.fps
    return payload
