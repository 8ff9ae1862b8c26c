"""Every Cosmos 3 action domain the model knows: id, width, layout, sampling preset and released stats file.

Widths and ids follow diffusers 0.42.1 / cosmos-framework (``domain_utils``); presets (chunk, tier, fps) follow the
cookbook and TensorRT-LLM's domain presets. Domains with an adapter take their preset from it (one home); the
adapters read their stats file from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from cosmos_robotics.errors import UnknownEmbodimentError


@dataclass(frozen=True)
class Domain:
    name: str
    domain_id: int
    raw_action_dim: int | None  # None: no actions, or the width depends on the dataset
    layout: str
    in_diffusers: bool  # accepted by diffusers 0.42.1's Cosmos3OmniPipeline
    sampling: tuple[int, int, float] | None = None  # (chunk, tier, fps) of domains without an adapter
    stats_file: str | None = None
    adapters: tuple[str, ...] = ()

    @property
    def preset(self) -> tuple[int, int, float] | None:
        """(chunk, resolution tier, fps): the default adapter's :class:`Preset` where one exists (its one home)."""
        if not self.adapters:
            return self.sampling
        from cosmos_robotics.embodiments.registry import get_adapter

        preset = get_adapter(self.adapters[0]).preset
        return preset.chunk_size, preset.resolution_tier, preset.fps


DOMAINS: tuple[Domain, ...] = (
    Domain("no_action", 0, None, "-", False),
    Domain("av", 1, 9, "ego camera [dt*1.35, rot6d]", True, adapters=("av",)),
    Domain("camera_pose", 2, 9, "camera [dt, rot6d] (translation scale unpublished)", True, (60, 480, 30)),
    Domain("hand_pose", 3, 57, "[camera 9, R wrist 9, R tips 15, L wrist 9, L tips 15]", True, (16, 480, 15),
           "human_hand_pose_lerobot_stats.json"),
    Domain("pusht", 4, 2, "planar [x, y]", True, (16, 256, 10)),
    Domain("libero", 5, None, "per dataset (7/10/13)", False, (16, 256, 10), "libero_native_frame_wise_relative_rot6d.json"),
    Domain("umi", 6, 10, "[dt, rot6d, width m]", True, None, "umi_lerobot_stats.json", ("umi",)),
    Domain("bridge_orig_lerobot", 7, 10, "[dt, rot6d, gripper]", True, (16, 480, 5), "bridge_orig_lerobot_stats.json"),
    Domain("droid_lerobot", 8, 10, "[dt, rot6d, gripper] (ee) / [q1..q7, gripper] (Policy-DROID, 8D)", True,
           None, "droid_lerobot_stats.json", ("droid", "droid_joint")),
    Domain("robomind-franka", 8, 10, "[dt, rot6d, gripper]", True, (16, 480, 15), "robomind_franka_stats.json"),
    Domain("galbot", 9, 30, "-", True),
    Domain("robomind-franka-dual", 12, 20, "2 x [dt, rot6d, gripper]", True, None, "robomind_franka_dual_stats.json"),
    Domain("robomind-ur", 13, 10, "[dt, rot6d, gripper]", True, None, "robomind_ur_stats.json"),
    Domain("agibotworld", 15, 29, "ego 9 + 2 x [dt, rot6d, gripper]", True, (16, 480, 10),
           "agibotworld_beta_lerobot_stats.json"),
    Domain("agibot_gear_gripper", 15, 29, "ego 9 + 2 x [dt, rot6d, gripper]", True),
    Domain("agibot_gear_gripper_ext", 15, 29, "ego 9 + 2 x [dt, rot6d, gripper]", True),
    Domain("xdof_yam", 16, 20, "framework only", False),
    Domain("robotwin", 17, 14, "framework only", False),
    Domain("fractal", 20, 10, "[dt, rot6d, gripper]", True, (16, 480, 5), "fractal_lerobot_stats.json"),
    Domain("behavior1k_lerobot", 22, 23, "framework only", False),
    Domain("maniparena", 23, 20, "framework only", False),
)

def get_domain(name: str) -> Domain:
    for domain in DOMAINS:
        if domain.name == name:
            return domain
    raise UnknownEmbodimentError(name, [d.name for d in DOMAINS])


def domain_stats_file(name: str) -> str:
    """The released normalization stats file of a domain (one home for the file name)."""
    stats = get_domain(name).stats_file
    if stats is None:
        raise UnknownEmbodimentError(name, [d.name for d in DOMAINS if d.stats_file])
    return stats
