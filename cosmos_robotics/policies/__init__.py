"""Policies behind one chunk-level protocol (``policies.base``), built from spec strings such as
``expert:noise=0.02,slip=0.3`` or ``embedded:replan=8``; a policy's ``name`` is its canonical spec.

* ``expert`` -- the scripted SimDroid expert (needs privileged simulator state: simulator only; flaws ``noise``,
  ``slip``, ``miss``);
  ``contract=1`` limits it to the Cosmos 3 DROID contract's speed.
* ``embedded`` -- the shipped embedded model's policy head (cameras + state only); ``replan=k`` executes k of its
  16 rows, ``ensemble=m`` re-plans every step with ACT temporal ensembling instead; ``noise=sigma`` adds a
  per-chunk model-space translation bias (``ActionNoise``: graded, observation-only policies for evaluation).
* ``planner`` -- CEM over the embedded world model around the embedded policy's chunk (``samples``,
  ``iterations``, ``elites``, ``noise``, ``replan``).
* ``random`` -- uniform random model-space chunks (the floor of the evaluation ladder).
* ``replay:dataset=DIR,episode=i`` -- the commands of a recorded ``sim record`` episode, chunk by chunk.
* ``openpi:url=ws://HOST:PORT`` -- a Cosmos3-Nano-Policy-DROID server over the OpenPI websocket protocol
  (32 absolute joint targets; ``replan=k`` executes k of them, ``timeout`` in seconds, ``composed=1`` sends the
  540x640 concat view).
* ``lerobot:path=DIR`` -- a LeRobot ``PreTrainedPolicy`` saved in ``DIR`` with its processors (``layout=poses|joints``
  when the folder does not say which actions it gives).
"""

from __future__ import annotations

from cosmos_robotics.errors import UnknownPolicyError
from cosmos_robotics.policies.base import ActionChunk, Policy
from cosmos_robotics.policies.wrappers import ActionNoise, ExecuteK, StepPolicy, TemporalEnsemble


def _expert(contract: float = 0.0, seed: int | None = None, **kwargs) -> Policy:
    """``contract=1``: the expert limited to the DROID contract's per-frame range (the embedded model's data)."""
    from cosmos_robotics.policies.contract_speed import ContractSpeedPolicy
    from cosmos_robotics.policies.scripted_expert import ScriptedExpert

    if contract not in (0.0, 1.0):
        raise ValueError(f"contract must be 0 or 1, got {contract:g}")
    expert = ScriptedExpert(**kwargs, seed=seed)
    return StepPolicy(ContractSpeedPolicy(expert) if contract else expert, needs_privileged_state=True)


def _embedded(replan: float = 16, ensemble: float | None = None, noise: float = 0.0,
              seed: int | None = None) -> Policy:
    """Imported on use: the embedded model needs torch, the scripted experts do not."""
    from cosmos_robotics.policies.embedded import EmbeddedPolicy
    from cosmos_robotics.world_models.embedded.config import CHUNK

    if not noise >= 0:
        raise ValueError(f"noise must be >= 0, got {noise:g}")
    policy = ActionNoise(EmbeddedPolicy(), noise) if noise else EmbeddedPolicy()
    if ensemble is not None:
        return TemporalEnsemble(policy, ensemble)
    if not 1 <= replan <= CHUNK:
        raise ValueError(f"replan must be in [1, {CHUNK}], got {replan:g}")
    return ExecuteK(policy, int(replan))


def _planner(samples: float = 8, iterations: float = 2, elites: float = 2, noise: float = 0.3, replan: float = 16,
             seed: int | None = None) -> Policy:
    """CEM over the embedded world model, around the embedded policy's chunk."""
    from cosmos_robotics.policies.embedded import EmbeddedPolicy
    from cosmos_robotics.policies.planner import WorldModelPlanner
    from cosmos_robotics.world_models.embedded.backend import EmbeddedWorldModel

    world_model = EmbeddedWorldModel()
    planner = WorldModelPlanner(world_model, EmbeddedPolicy(world_model.model), samples=int(samples),
                                iterations=int(iterations), elites=int(elites), noise=noise, seed=seed or 0)
    return ExecuteK(planner, int(replan))


def _random(seed: int | None = None) -> Policy:
    from cosmos_robotics.policies.random_policy import RandomPolicy

    return RandomPolicy(seed)


def _replay(dataset: str, episode: float = 0, seed: int | None = None) -> Policy:
    from cosmos_robotics.policies.replay import dataset_replay

    return dataset_replay(dataset, episode)


def _openpi(url: str, replan: float = 32, timeout: float = 60.0, composed: float = 0.0,
            seed: int | None = None) -> Policy:
    """``composed=1`` sends the 540x640 concat view instead of the three RoboArena views."""
    from cosmos_robotics.policies.openpi import PolicyDroidClient

    if not 1 <= replan <= 32 or composed not in (0.0, 1.0):
        raise ValueError(f"replan must be in [1, 32] and composed 0 or 1, got {replan:g} and {composed:g}")
    return ExecuteK(PolicyDroidClient(url, timeout_s=timeout, composed=bool(composed)), int(replan))


def _lerobot(path: str, layout: str | None = None, seed: int | None = None) -> Policy:
    from cosmos_robotics.policies.lerobot import LeRobotPolicy

    return LeRobotPolicy(path, layout)


POLICIES = {"expert": _expert, "embedded": _embedded, "planner": _planner, "random": _random, "replay": _replay,
            "openpi": _openpi, "lerobot": _lerobot}
PARAMETERS = {"expert": ("noise", "slip", "miss", "contract"), "embedded": ("replan", "ensemble", "noise"), "random": (),
              "planner": ("samples", "iterations", "elites", "noise", "replan"), "replay": ("dataset", "episode"),
              "openpi": ("url", "replan", "timeout", "composed"), "lerobot": ("path", "layout")}
TEXT_PARAMETERS = ("dataset", "url", "path", "layout")  # every other value is a number


def make_policy(spec: str, seed: int | None = None) -> Policy:
    """Build a policy from ``name`` or ``name:key=value,key=value`` (numbers, except ``TEXT_PARAMETERS``)."""
    name, _, params = spec.strip().partition(":")
    if name not in POLICIES:
        raise UnknownPolicyError(spec, f"a policy name in: {', '.join(sorted(POLICIES))}")
    kwargs = {}
    for item in filter(None, (p.strip() for p in params.split(","))):
        key, sep, value = item.partition("=")
        if not sep or key.strip() not in PARAMETERS[name]:
            raise UnknownPolicyError(spec, f"parameters key=value with key in: {', '.join(PARAMETERS[name])}")
        if key.strip() in TEXT_PARAMETERS:
            kwargs[key.strip()] = value.strip()
            continue
        try:
            kwargs[key.strip()] = float(value)
        except ValueError:
            raise UnknownPolicyError(spec, f"a number for {key.strip()!r}") from None
    try:
        return POLICIES[name](**kwargs, seed=seed)
    except ValueError as exc:
        raise UnknownPolicyError(spec, str(exc)) from None


__all__ = ["POLICIES", "ActionChunk", "ActionNoise", "ExecuteK", "Policy", "StepPolicy", "TemporalEnsemble", "make_policy"]
