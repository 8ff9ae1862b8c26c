"""ament_python package: `colcon build` installs the two node executables, the launch file and the parameters.

The nodes import the cosmos_robotics package, which is installed separately (pip install 'cosmos-robotics[ros2]'
or an editable install of the repository) into the Python that runs ROS 2.
"""

from glob import glob

from setuptools import setup

PACKAGE = "cosmos_robotics_ros"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=[PACKAGE],
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.xml")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="cosmos-robotics maintainers",
    maintainer_email="maintainers@cosmos-robotics.invalid",
    description="cosmos-robotics ROS 2 bridge and robot emulator nodes",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            f"bridge = {PACKAGE}.bridge:main",
            f"emulator = {PACKAGE}.emulator:main",
        ],
    },
)
