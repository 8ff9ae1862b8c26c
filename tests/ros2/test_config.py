"""The parameter file, the ament package's declarations and the CLI agree with each other."""

from __future__ import annotations

import ast
import xml.etree.ElementTree as ET

import pytest

from cosmos_robotics.cli import main
from cosmos_robotics.errors import RosBridgeError
from cosmos_robotics.ros2.config import BridgeConfig, config_from_dict, load_config, save_config


def test_shipped_parameters_are_the_defaults_and_roundtrip(repo_root, tmp_path):
    package = repo_root / "ros2_ws" / "src" / "cosmos_robotics_ros"
    assert load_config(package / "config" / "bridge.yaml") == BridgeConfig()
    changed = config_from_dict({"policy": "embedded:replan=8", "joint_names": [f"fr3_joint{i}" for i in range(1, 8)],
                                "sensor_qos": {"reliability": "reliable", "depth": 2}})
    assert load_config(save_config(changed, tmp_path / "p.yaml")) == changed


def test_bad_parameters_are_named():
    with pytest.raises(RosBridgeError, match=r"unknown keys \['polcy'\]"):
        config_from_dict({"polcy": "embedded"})
    with pytest.raises(RosBridgeError, match="reliability"):
        config_from_dict({"command_qos": {"reliability": "sometimes"}})
    with pytest.raises(RosBridgeError, match="image_transport"):
        config_from_dict({"image_transport": "theora"})


def test_cli_reports_a_missing_config_without_traceback(tmp_path, capsys):
    assert main(["ros", "run", "--config", str(tmp_path / "nope.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_ament_package_declares_its_nodes_launch_and_parameters(repo_root):
    package = repo_root / "ros2_ws" / "src" / "cosmos_robotics_ros"
    manifest = ET.parse(package / "package.xml").getroot()
    assert manifest.get("format") == "3" and manifest.findtext("name") == "cosmos_robotics_ros"
    assert manifest.find("export/build_type").text == "ament_python"
    assert (package / "resource" / "cosmos_robotics_ros").is_file()
    setup = ast.unparse(ast.parse((package / "setup.py").read_text()))
    launch = ET.parse(package / "launch" / "bridge.launch.xml").getroot()
    for node in launch.iter("node"):
        assert node.get("pkg") == "cosmos_robotics_ros" and f"{node.get('exec')} = " in setup
        assert node.find("param").get("from") == "$(var params)"
    assert launch.find("arg[@name='params']").get("default").endswith("/config/bridge.yaml")
