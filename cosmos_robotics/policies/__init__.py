"""Policies that drive ``SimDroid-v0``, built from short spec strings such as ``expert:noise=0.02,slip=0.3``.

A policy has a ``name`` (its canonical spec), ``reset(seed)`` and ``act(observation, info) -> action``.
"""

from __future__ import annotations

from cosmos_robotics.errors import UnknownPolicyError
from cosmos_robotics.policies.contract_speed import ContractSpeedPolicy
from cosmos_robotics.policies.scripted_expert import ScriptedExpert


def _expert(contract: float = 0.0, **kwargs):
    """``contract=1``: the expert limited to the DROID contract's per-frame range (the embedded model's data)."""
    if contract not in (0.0, 1.0):
        raise ValueError(f"contract must be 0 or 1, got {contract:g}")
    expert = ScriptedExpert(**kwargs)
    if not contract:
        return expert
    return ContractSpeedPolicy(expert)


def _embedded_policy(**kwargs):
    """Imported on use: the embedded model needs torch, the scripted experts do not."""
    from cosmos_robotics.world_models.embedded.policy import EmbeddedPolicy

    return EmbeddedPolicy(**kwargs)


POLICIES = {"expert": _expert, "embedded": _embedded_policy}
PARAMETERS = {"expert": ("noise", "slip", "contract"), "embedded": ("replan",)}


def make_policy(spec: str, seed: int | None = None):
    """Build a policy from ``name`` or ``name:key=value,key=value`` (values are floats)."""
    name, _, params = spec.strip().partition(":")
    if name not in POLICIES:
        raise UnknownPolicyError(spec, f"a policy name in: {', '.join(sorted(POLICIES))}")
    kwargs = {}
    for item in filter(None, (p.strip() for p in params.split(","))):
        key, sep, value = item.partition("=")
        if not sep or key.strip() not in PARAMETERS[name]:
            raise UnknownPolicyError(spec, f"parameters key=value with key in: {', '.join(PARAMETERS[name])}")
        try:
            kwargs[key.strip()] = float(value)
        except ValueError:
            raise UnknownPolicyError(spec, f"a number for {key.strip()!r}") from None
    try:
        return POLICIES[name](**kwargs, seed=seed)
    except ValueError as exc:
        raise UnknownPolicyError(spec, str(exc)) from None


__all__ = ["POLICIES", "ScriptedExpert", "make_policy"]
