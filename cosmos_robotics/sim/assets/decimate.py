"""Rebuild the mesh folder of the SimDroid scene from the MuJoCo Menagerie files that ``gym-hil`` ships.

Why: the Menagerie Panda + Robotiq 2F-85 visual meshes have ~130k triangles and take ~35 MB; rendered on a CPU
(Mesa llvmpipe) at 128x128 that detail is invisible but triples render time. This script

* decimates every *visual* mesh to ``KEEP`` (20 %) of its faces (fast-simplification, quadric error) and writes it
  as binary STL (small, no material files needed: colours come from the MJCF materials);
* copies the Panda collision meshes verbatim (physics untouched);
* stores each 2F-85 collision mesh as its convex hull, which is exactly the shape MuJoCo collides with
  (MuJoCo always uses the convex hull of a mesh geom), so contacts do not change either.

Run it from the repository root whenever gym-hil's assets change:

    .venv/bin/python cosmos_robotics/sim/assets/decimate.py

Licences: Panda meshes Apache-2.0 (franka_emika_panda/LICENSE), 2F-85 meshes BSD-2-Clause
(robotiq_2f85/LICENSE); both files sit beside the meshes they cover.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import fast_simplification
import gym_hil
import numpy as np
import trimesh

KEEP = 0.2
SOURCE = Path(gym_hil.__file__).parent / "assets"
TARGET = Path(__file__).parent
PANDA_COLLISION = ("link0.stl", "link1.stl", "link2.stl", "link3.stl", "link4.stl", "link6.stl", "link7.stl",
                   "link5_collision_0.obj", "link5_collision_1.obj", "link5_collision_2.obj")
GRIPPER_COLLISION = ("base_mount", "base", "driver", "coupler", "follower", "spring_link")  # pads collide as boxes


def decimated(path: Path) -> trimesh.Trimesh:
    """Merge duplicated vertices (the OBJ files repeat them per face), then keep ``KEEP`` of the faces."""
    mesh = trimesh.load(path, force="mesh", process=True)
    mesh.merge_vertices(merge_tex=True, merge_norm=True)
    if len(mesh.faces) < 200:  # tiny parts: nothing to gain, and decimation would tear them
        return mesh
    points, faces = fast_simplification.simplify(
        np.asarray(mesh.vertices, np.float32), np.asarray(mesh.faces), target_reduction=1.0 - KEEP
    )
    return trimesh.Trimesh(points, faces, process=True)


def main() -> None:
    panda_src, panda_dst = SOURCE / "franka_emika_panda" / "meshes", TARGET / "franka_emika_panda"
    grip_src, grip_dst = SOURCE / "robotiq_2f85" / "meshes", TARGET / "robotiq_2f85"
    before = after = 0
    for name in PANDA_COLLISION:
        shutil.copyfile(panda_src / name, panda_dst / name)
    for src in sorted(panda_src.glob("link*.obj")):
        if "collision" in src.name:
            continue
        mesh = decimated(src)
        before += len(trimesh.load(src, force="mesh").faces)
        after += len(mesh.faces)
        mesh.export(panda_dst / f"{src.stem}_visual.stl")
    for src in sorted(grip_src.glob("*.stl")):
        full = trimesh.load(src, force="mesh")
        mesh = decimated(src)
        before += len(full.faces)
        after += len(mesh.faces)
        mesh.export(grip_dst / f"{src.stem}_visual.stl")
        if src.stem in GRIPPER_COLLISION:
            full.convex_hull.export(grip_dst / f"{src.stem}_collision.stl")
    print(f"visual triangles: {before} -> {after} ({after / before:.0%})")


if __name__ == "__main__":
    main()
