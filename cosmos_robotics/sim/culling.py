"""Exact view-frustum culling of mesh geoms for MuJoCo's renderer.

Why: on a CPU (Mesa llvmpipe) a 128 px view costs ~70 ns per robot triangle whether or not the triangle lands in
the image, and MuJoCo hands every visible geom to OpenGL. A mesh whose bounding sphere lies wholly outside a
camera's view frustum cannot colour a pixel (the scene renders without shadows and reflections), so leaving it out
of that camera's scene changes no pixel. The wrist camera sees about half of the robot's triangles; the exterior
cameras see nearly all of them.

Culled geoms are moved to a hidden geom group only for the duration of ``mjv_updateScene`` and put back right
after, so the model is unchanged between renders.
"""

from __future__ import annotations

import mujoco
import numpy as np

HIDDEN_GROUP = 5  # hidden by MuJoCo's default ``MjvOption.geomgroup`` (groups 0-2 shown)


class FrustumCuller:
    """Per camera, the mesh geoms (of the shown groups 0-2) whose bounding sphere can reach the image."""

    def __init__(self, model: mujoco.MjModel, aspect: float):
        self.model = model
        shown = model.geom_group <= 2
        self.meshes = np.flatnonzero(shown & (model.geom_type == mujoco.mjtGeom.mjGEOM_MESH))
        self.groups = model.geom_group[self.meshes].copy()
        self.rbound = model.geom_rbound[self.meshes]
        self.aspect = float(aspect)

    def inside(self, data: mujoco.MjData, camera: int) -> np.ndarray:
        """Mask over ``self.meshes``: True where the bounding sphere meets the camera's frustum (conservative)."""
        m = self.model
        tan_y = np.tan(np.deg2rad(m.cam_fovy[camera]) / 2)
        tan_x = tan_y * self.aspect
        rel = (data.geom_xpos[self.meshes] - data.cam_xpos[camera]) @ data.cam_xmat[camera].reshape(3, 3)
        forward = -rel[:, 2]  # MuJoCo cameras look along their -z axis (x right, y up)
        keep = forward + self.rbound > 0
        for axis, tan in ((0, tan_x), (1, tan_y)):
            norm = np.sqrt(1.0 + tan * tan)
            keep &= (rel[:, axis] - tan * forward) / norm <= self.rbound
            keep &= (-rel[:, axis] - tan * forward) / norm <= self.rbound
        return keep

    def cullable(self, camera: int) -> bool:
        """Only perspective cameras defined by ``fovy`` (no sensor intrinsics) get culled."""
        m = self.model
        return m.cam_projection[camera] == mujoco.mjtProjection.mjPROJ_PERSPECTIVE and not m.cam_sensorsize[camera].any()

    def update_scene(self, renderer: mujoco.Renderer, data: mujoco.MjData, camera: str) -> None:
        """``renderer.update_scene(data, camera)`` without the meshes this camera cannot see."""
        cam = self.model.camera(camera).id
        if not self.cullable(cam):
            renderer.update_scene(data, camera=camera)
            return
        groups = self.model.geom_group
        groups[self.meshes] = np.where(self.inside(data, cam), self.groups, HIDDEN_GROUP)
        try:
            renderer.update_scene(data, camera=camera)
        finally:
            groups[self.meshes] = self.groups
