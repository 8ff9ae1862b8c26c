"""Rendering without a usable OpenGL platform fails with a message that says what to set."""

import subprocess
import sys


def test_glfw_without_display_names_the_fix():
    code = (
        "import os; os.environ['MUJOCO_GL'] = 'glfw'; os.environ.pop('DISPLAY', None)\n"
        "import mujoco, gymnasium as gym, cosmos_robotics.sim\n"
        "from cosmos_robotics.errors import SimulatorError\n"
        "env = gym.make('cosmos_robotics/SimDroid-v0')\n"
        "try:\n    env.reset(seed=0)\nexcept SimulatorError as exc:\n    print('SimulatorError:', exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout
    assert "SimulatorError:" in out and "MUJOCO_GL=egl" in out
