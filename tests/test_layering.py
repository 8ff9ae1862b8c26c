"""The import graph keeps data flowing one way, and exactly one episode loop exists.

Every import counts, module-level or inside a function (a lazy import hides a cycle; it does not remove it).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "cosmos_robotics"
FORBIDDEN = {
    "world_models": ("sim", "policies", "export", "training", "cli", "envs", "rollout", "evaluation", "serving"),
    "embodiments": ("world_models", "sim", "policies", "export", "training", "cli", "envs", "rollout"),
    "sim": ("world_models", "policies", "export", "training", "cli", "envs", "rollout"),
    "export": ("sim", "policies", "training", "cli", "envs", "rollout", "world_models"),
    "policies": ("envs", "rollout", "training", "cli", "evaluation"),
    "envs": ("rollout", "training", "cli", "evaluation"),
    "rollout": ("training", "cli", "evaluation"),
    # the actor pool is generic: it knows what to run only from the factory it is given
    "distributed": ("world_models", "embodiments", "sim", "policies", "export", "training", "cli", "envs", "rollout",
                    "evaluation", "augmentation", "serving", "ros2", "data", "reasoning"),
}


def imported_packages(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {n.split(".")[1] for n in names if n.startswith("cosmos_robotics.") and n.count(".") >= 1}


def test_lower_layers_never_import_upper_ones():
    offences = []
    for layer, forbidden in FORBIDDEN.items():
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            bad = imported_packages(path) & set(forbidden)
            if bad:
                offences.append(f"{path.relative_to(PACKAGE)} imports {', '.join(sorted(bad))}")
    assert not offences, "\n".join(offences)


def test_exactly_one_episode_loop():
    """Only the rollout runner steps an env in a loop (the chunk env steps its simulator once per row). A loop
    over several envs stepping each once (``for env in envs: env.step(...)``) is not an episode loop."""
    allowed = {PACKAGE / "rollout" / "runner.py", PACKAGE / "envs" / "sim_chunk.py"}
    roots = [PACKAGE, PACKAGE.parent / "benchmarks"]
    loops = []
    for path in sorted(p for root in roots for p in root.rglob("*.py")):
        if path in allowed:
            continue
        tree = ast.parse(path.read_text())
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for call in ast.walk(tree):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "step"
                    and "env" in ast.unparse(call.func.value).lower()):
                continue
            receiver, node, in_loop, per_env = ast.unparse(call.func.value), call, False, False
            while node in parents:
                node = parents[node]
                if isinstance(node, ast.For | ast.While):
                    in_loop = True
                    targets = ast.walk(node.target) if isinstance(node, ast.For) else ()
                    per_env |= any(isinstance(n, ast.Name) and n.id == receiver for n in targets)
            if in_loop and not per_env:
                loops.append(f"{path.relative_to(PACKAGE.parent)}:{call.lineno}")
    assert not loops, f"episode loops outside rollout/runner.py: {loops}"
