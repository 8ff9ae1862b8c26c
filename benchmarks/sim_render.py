"""SimDroid-v0 render cost per 128 px view with and without frustum culling (``sim/culling.py``), side by side.

The scripted expert runs ``--episodes`` episodes; at every step each camera is rendered both ways, interleaved, so
both see the same state and the same machine load. Reported per camera: median CPU ms per view (this process:
llvmpipe renders in the calling thread with ``LP_NUM_THREADS=1``), the ratio, the mesh triangles handed to OpenGL,
and how many frames differ by any pixel (culling is meant to be exact: expected 0).

    LP_NATIVE_VECTOR_WIDTH=256 .venv/bin/python benchmarks/sim_render.py --episodes 3
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("LP_NUM_THREADS", "1")

import mujoco  # noqa: E402
import numpy as np  # noqa: E402
from machine import cpu_report, idleness  # noqa: E402  (benchmarks/machine.py)

from cosmos_robotics.envs import SimChunkEnv  # noqa: E402
from cosmos_robotics.policies import make_policy  # noqa: E402
from cosmos_robotics.rollout.runner import run_episode  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "sim_render.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--resolution", type=int, default=128)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    env = SimChunkEnv(image_size=(args.resolution, args.resolution), episode_length=100)
    sim = env.sim
    faces = np.array([sim.model.mesh_facenum[sim.model.geom_dataid[g]] for g in range(sim.model.ngeom)])
    cpu = {cam: {"plain": [], "culled": []} for cam in sim.cameras}
    triangles = {cam: {"plain": [], "culled": []} for cam in sim.cameras}
    differing = {cam: 0 for cam in sim.cameras}
    frames = 0
    plain_render = sim._render_camera

    def both_ways(camera: str) -> np.ndarray:
        nonlocal frames
        if sim._renderer is None:
            plain_render(camera)  # creates the renderer and the culler
        renderer = sim._renderer
        start = time.process_time()
        culled = plain_render(camera)
        cpu[camera]["culled"].append(time.process_time() - start)
        triangles[camera]["culled"].append(_scene_triangles(renderer.scene, faces))
        start = time.process_time()
        renderer.update_scene(sim.data, camera=camera)
        renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = 0
        renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = 0
        plain = renderer.render().copy()
        cpu[camera]["plain"].append(time.process_time() - start)
        triangles[camera]["plain"].append(_scene_triangles(renderer.scene, faces))
        differing[camera] += int(not np.array_equal(plain, culled))
        frames += 1
        return culled

    idle_before = idleness()
    sim._render_camera = both_ways
    for seed in range(args.episodes):
        run_episode(env, make_policy("expert", seed=seed), seed)
    env.close()
    per_camera = {}
    for cam in cpu:
        plain_ms, culled_ms = (1e3 * float(np.median(cpu[cam][k])) for k in ("plain", "culled"))
        per_camera[cam] = {
            "plain_cpu_ms": round(plain_ms, 3), "culled_cpu_ms": round(culled_ms, 3),
            "speedup": round(plain_ms / culled_ms, 3),
            "triangles_plain": int(np.mean(triangles[cam]["plain"])),
            "triangles_culled": int(np.mean(triangles[cam]["culled"])),
            "frames_differing": differing[cam], "frames": len(cpu[cam]["plain"]),
        }  # fmt: skip
    plain_total = sum(v["plain_cpu_ms"] for v in per_camera.values())
    culled_total = sum(v["culled_cpu_ms"] for v in per_camera.values())
    report = {
        "command": f"benchmarks/sim_render.py --episodes {args.episodes} --resolution {args.resolution}",
        "episodes": args.episodes, "resolution": args.resolution, "per_camera": per_camera,
        "three_views_plain_cpu_ms": round(plain_total, 3), "three_views_culled_cpu_ms": round(culled_total, 3),
        "three_views_speedup": round(plain_total / culled_total, 3),
        "idle": {"before": idle_before, "after": idleness()}, "cpu": cpu_report(),
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: report[k] for k in ("per_camera", "three_views_speedup")}, indent=2))


def _scene_triangles(scene: mujoco.MjvScene, faces: np.ndarray) -> int:
    return int(sum(faces[scene.geoms[i].objid] for i in range(scene.ngeom)
                   if scene.geoms[i].type == mujoco.mjtGeom.mjGEOM_MESH))


if __name__ == "__main__":
    main()
