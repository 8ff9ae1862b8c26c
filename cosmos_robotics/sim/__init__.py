"""Ground-truth MuJoCo simulator of a DROID-like pick-and-place task (``cosmos_robotics/SimDroid-v0``).

Importing this module registers the env, so ``gymnasium.make("cosmos_robotics/SimDroid-v0")`` works afterwards;
without a prior import, ``gymnasium.make("cosmos_robotics.sim:cosmos_robotics/SimDroid-v0")`` imports it first.
Keyword arguments of ``make`` go to ``SimDroidEnv`` (``cameras=()`` for state-only rollouts, ``image_size=(h, w)``,
``episode_length``, ``terminate_on_success``, ``control_mode="pose"|"joint"``).
"""

import gymnasium as gym

from cosmos_robotics.sim.env import ACTION_NAMES, CAMERAS, JOINT_ACTION_NAMES, STATE_NAMES, TASK, SimDroidEnv

ENV_ID = "cosmos_robotics/SimDroid-v0"

if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point="cosmos_robotics.sim.env:SimDroidEnv")

__all__ = ["ACTION_NAMES", "CAMERAS", "ENV_ID", "JOINT_ACTION_NAMES", "STATE_NAMES", "TASK", "SimDroidEnv"]
