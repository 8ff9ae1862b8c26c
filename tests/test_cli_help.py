"""Help a person can read: every command has a description, an example, help on every option, no developer
markup; and the CLI speaks the API's vocabulary (option names = keyword names)."""

from __future__ import annotations

import argparse
import dataclasses
import inspect

import pytest

from cosmos_robotics.cli import build_parser

MARKUP = ("``", ":class:", ":meth:", "register(", "sub-command lives", "(see world_models")


def leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield " ".join(path), parser
    for action in subs:
        for name, sub in action.choices.items():
            yield from leaves(sub, (*path, name))


COMMANDS = dict(leaves(build_parser()))


def test_top_level_help_is_for_users():
    text = build_parser().format_help()
    assert "demo" in text and not any(m in text for m in MARKUP)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_a_description_an_example_and_option_help(command):
    parser = COMMANDS[command]
    text = parser.format_help()
    assert parser.description, f"{command}: no description"
    assert parser.epilog and f"cosmos-robotics {command.split()[0]}" in parser.epilog, f"{command}: no example"
    undocumented = [a.dest for a in parser._actions if a.help is None]
    assert not undocumented, f"{command}: options without help: {undocumented}"
    assert not [m for m in MARKUP if m in text], f"{command}: developer markup in the help"


def option_names(command: str) -> set[str]:
    """What a user types, as a Python name: ``--max-attempts`` -> ``max_attempts``; positionals by their dest."""
    names = set()
    for action in COMMANDS[command]._actions:
        if action.dest != "help":
            long = [o for o in action.option_strings if o.startswith("--")]
            names.add(long[0][2:].replace("-", "_") if long else action.dest)
    return names


def repeatable(command: str) -> set[str]:
    """Options given once per value (``--image a --image b``): named in the singular of the API's plural."""
    return {a.option_strings[-1][2:].replace("-", "_") for a in COMMANDS[command]._actions
            if isinstance(a, argparse._AppendAction)}


def keywords(*apis) -> set[str]:
    """The keyword names of functions, methods and dataclasses (their fields)."""
    names = set()
    for api in apis:
        if dataclasses.is_dataclass(api):
            names |= {f.name for f in dataclasses.fields(api)}
        else:
            names |= set(inspect.signature(api).parameters) - {"self"}
    return names


def vocabulary() -> dict[str, tuple[tuple, dict[str, str]]]:
    """Per command: the API its options map onto, and the few options that exist on the command line only, each
    with the reason (files the command reads or writes, units, switches). Everything else must be a keyword."""
    import uvicorn

    from cosmos_robotics.augmentation import AugmentConfig, FilterConfig, augment
    from cosmos_robotics.augmentation.ray_runner import RayRunner
    from cosmos_robotics.cli.serve import check_host
    from cosmos_robotics.data.lerobot_frames import read_observation
    from cosmos_robotics.data.lerobot_reader import read_episode_columns
    from cosmos_robotics.embodiments import PoseAdapter, get_adapter
    from cosmos_robotics.evaluation import evaluate
    from cosmos_robotics.evaluation.imagination import compare_imagination, write_comparison
    from cosmos_robotics.reasoning import ReasonerClient, ReasonerSuccessJudge
    from cosmos_robotics.ros2.config import BridgeConfig
    from cosmos_robotics.ros2.nodes import run_bridge, run_emulator
    from cosmos_robotics.serving import ServerConfig
    from cosmos_robotics.serving.openpi_server import PolicyServerConfig
    from cosmos_robotics.training.data import generate_episodes, load_recorded_episodes
    from cosmos_robotics.training.embedded import train
    from cosmos_robotics.world_models.base import WorldModel, WorldModelRequest
    from cosmos_robotics.world_models.cosmos3.tiny_checkpoint import write_tiny_checkpoint
    from cosmos_robotics.world_models.embedded.backend import EmbeddedWorldModel
    from cosmos_robotics.world_models.embedded.config import TrainConfig
    from cosmos_robotics.world_models.factory import make_world_model

    model_call = (make_world_model, WorldModelRequest, WorldModel.rollout)
    media = "an input file read into the request's frames"
    output = "the directory or file the command writes"
    return {
        "fd": (model_call + (read_observation,), {
            "device": "a backend option: make_world_model(backend, checkpoint, device=...)",
            "image": media, "video": media, "fixture": "the bundled cookbook inputs", "out": output}),
        "id": (model_call, {"device": "a backend option: make_world_model(backend, checkpoint, device=...)",
                            "video": media, "fixture": "the bundled cookbook inputs", "out": output}),
        "actions encode": ((get_adapter, read_episode_columns, PoseAdapter.encode_lerobot_window,
                            PoseAdapter.encode_poses), {
            "lerobot": "the dataset directory (read_episode_columns' root), named for its format beside --poses",
            "out": output}),
        "actions decode": ((get_adapter, PoseAdapter.decode_rollout), {
            "file": "the file holding the actions", "out": output, "plot": "a picture of the decoded poses"}),
        "train": ((TrainConfig, generate_episodes, load_recorded_episodes, train), {
            "data": "the datasets load_recorded_episodes reads (its roots)", "out": output}),
        "evaluate": ((evaluate,), {}),
        "augment": ((AugmentConfig, FilterConfig, augment, RayRunner), {
            "keep_failures": "FilterConfig(require_success=False), as a switch",
            "ray": "runs on Ray: RayRunner(config, address=...)"}),
        "serve": ((make_world_model, ServerConfig, check_host, uvicorn.run), {
            "opt": "make_world_model's **options as KEY=VALUE", "max_body_mb": "ServerConfig.max_body_bytes in MB"}),
        "serve-policy": ((PolicyServerConfig, check_host), {
            "policy": "a make_policy spec; PolicyServer takes the factory",
            "max_message_mb": "PolicyServerConfig.max_message_bytes in MB"}),
        "reason": ((ReasonerClient, ReasonerClient.ask, ReasonerSuccessJudge), {
            "judge": "asks ReasonerSuccessJudge instead: its value is the task",
            "show_thinking": "prints the <think> block to stderr"}),
        "demo": ((compare_imagination, write_comparison, EmbeddedWorldModel), {
            "replan": "ExecuteK's k, named as in the policy spec embedded:replan=k"}),
        "dev tiny-checkpoint": ((write_tiny_checkpoint,), {}),
        "ros run": ((BridgeConfig, run_bridge), {"out": output}),
        "ros emulate": ((run_emulator,), {}),
    }


# Commands that only show things (no API call whose keywords their options could follow).
DISPLAY_ONLY = {"embodiments", "checkpoints", "dataset inspect"}


def test_sim_record_and_rollout_options_are_exactly_the_api_keywords():
    from cosmos_robotics.rollout.record import record_dataset
    from cosmos_robotics.rollout.session import run_rollouts

    assert option_names("sim record") == set(inspect.signature(record_dataset).parameters)
    assert option_names("rollout") == set(inspect.signature(run_rollouts).parameters)


@pytest.mark.parametrize("command", sorted(set(COMMANDS) - DISPLAY_ONLY - {"sim record", "rollout", "ros bag-to-lerobot"}))
def test_option_names_are_the_api_keywords(command):
    """Every option is a keyword of the API the command calls, except the commented command-line-only ones."""
    table = vocabulary()
    assert command in table, f"{command}: say which API its options follow (or add it to DISPLAY_ONLY)"
    apis, cli_only = table[command]
    api = keywords(*apis)
    names = option_names(command)
    plural = {n for n in repeatable(command) if n not in api and f"{n}s" in api}
    assert names - plural - api == set(cli_only), f"{command}: options that are not API keywords"
    assert not set(cli_only) & api, f"{command}: listed as command-line only but an API keyword"


def test_ros_bag_to_lerobot_options_are_the_api_keywords():
    pytest.importorskip("rosbags", reason="the ros2 extra")
    from cosmos_robotics.ros2.recording import bag_to_lerobot

    assert option_names("ros bag-to-lerobot") == set(inspect.signature(bag_to_lerobot).parameters) - {"task"}
