"""Help a person can read: every command has a description, an example, help on every option, no developer
markup; and the CLI speaks the API's vocabulary (option names = keyword names)."""

from __future__ import annotations

import argparse
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


def dests(command: str) -> set[str]:
    return {a.dest for a in COMMANDS[command]._actions if a.dest != "help"}


def test_option_names_are_the_api_keywords():
    from cosmos_robotics.rollout.record import record_dataset
    from cosmos_robotics.rollout.session import run_rollouts
    from cosmos_robotics.world_models.base import WorldModelRequest

    assert dests("sim record") == set(inspect.signature(record_dataset).parameters)
    assert dests("rollout") == set(inspect.signature(run_rollouts).parameters)
    request_fields = set(WorldModelRequest.__dataclass_fields__)
    for command in ("fd", "id"):  # what the command puts into the request keeps the request's names
        assert {"num_inference_steps", "seed", "prompt"} <= dests(command) & request_fields
