"""Turn the episode records under an evaluation directory into ``report.json`` (schema: ``report.schema.json``),
``report.html`` and ``scatter.png``.

World-model success per episode is the detector's verdict on the imagined episode's last observations; the
simulator's is its ground truth. Only seeds finished for every policy in both envs are used (a partial run is
reported as such: ``seeds_used`` vs ``seeds_planned``). ``outcomes`` and ``summary`` depend only on the protocol
(identical reruns give identical numbers); ``cost`` holds the measured seconds, which never repeat exactly.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from cosmos_robotics.errors import CosmosRoboticsError
from cosmos_robotics.evaluation import statistics as st
from cosmos_robotics.evaluation.episodes import ENVS, load_observations, load_record, video_path
from cosmos_robotics.evaluation.protocol import Protocol

SCHEMA = Path(__file__).parent / "report.schema.json"
BOOTSTRAP_SAMPLES = 2000


class ReportSchemaError(CosmosRoboticsError, ValueError):
    """A report that does not match ``report.schema.json`` (a bug: the report is never written then)."""


def _clean(value):
    """NaN -> None (JSON has no NaN), numpy scalars -> Python, floats rounded for stable text."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(value) else round(float(value), 6)
    return value


def validate(report: dict) -> None:
    import jsonschema

    try:
        jsonschema.validate(report, json.loads(SCHEMA.read_text()))
    except jsonschema.ValidationError as exc:
        raise ReportSchemaError(f"report does not match {SCHEMA.name}: {exc.message} at "
                                f"{'/'.join(map(str, exc.absolute_path))}") from None


def _rate(outcomes: np.ndarray) -> dict:
    low, high = st.wilson(int(outcomes.sum()), len(outcomes))
    return {"rate": float(outcomes.mean()) if len(outcomes) else None, "successes": int(outcomes.sum()),
            "episodes": len(outcomes), "wilson95": [low, high]}


def _cost(records: list[dict]) -> dict:
    from cosmos_robotics.embodiments import get_adapter

    fps = get_adapter("droid").preset.fps  # both envs step the DROID contract's control rate
    wall = np.array([r["seconds"]["wall_s"] for r in records])
    steps = np.array([r["steps"] for r in records])
    return {"seconds_per_episode": float(wall.mean()), "episodes_per_minute": float(60 / wall.mean()),
            "real_time_factor": float(steps.sum() / fps / wall.sum()),
            "policy_seconds_per_episode": float(np.mean([r["seconds"]["policy_s"] for r in records])),
            "env_seconds_per_episode": float(np.mean([r["seconds"]["env_s"] for r in records]))}


def build_report(out: Path, protocol: Protocol, detector, progress: bool = True) -> dict:
    """The report dict (not yet written); see the module docstring for what it holds."""
    from tqdm import tqdm

    out = Path(out)
    names = protocol.policies
    records = {(env, p, s): load_record(out, env, p, s) for env in ENVS for p in names for s in protocol.seeds}
    seeds = [s for s in protocol.seeds if all(records[(env, p, s)] for env in ENVS for p in names)]
    if not seeds:
        raise CosmosRoboticsError(f"no seed under {out} has finished episodes for every policy in both envs yet")
    task = records[("simulator", names[0], seeds[0])]["task"]
    world, sim, verdicts, detector_on_sim = {}, {}, {}, {}
    for p in tqdm(names, desc="success detector", disable=not progress, leave=False):
        imagined = [load_observations(out, "world_model", p, s) for s in seeds]
        verdicts[p] = detector.judge(imagined, task)
        world[p] = np.array([v.success for v in verdicts[p]])
        sim[p] = np.array([records[("simulator", p, s)]["success"] for s in seeds])
        rendered = [load_observations(out, "simulator", p, s) for s in seeds]
        detector_on_sim[p] = np.array([v.success for v in detector.judge(rendered, task)])
    w_rates = np.array([world[p].mean() for p in names])
    s_rates = np.array([sim[p].mean() for p in names])
    w_rank, s_rank = st.standing(w_rates), st.standing(s_rates)
    policies = []
    for i, p in enumerate(names):
        backend = np.array([records[("world_model", p, s)]["success"] for s in seeds])
        policies.append({
            "policy": p, "world_model": _rate(world[p]), "simulator": _rate(sim[p]),
            "world_model_backend_signal": _rate(backend),
            "rank": {"world_model": w_rank[i], "simulator": s_rank[i]},
            "bias": float(w_rates[i] - s_rates[i]),
            "agreement": st.confusion(world[p], sim[p]),
            "detector_on_simulator": st.confusion(detector_on_sim[p], sim[p]),
        })
    all_world = np.stack([world[p] for p in names]).astype(float)
    all_sim = np.stack([sim[p] for p in names]).astype(float)
    intervals = st.bootstrap(all_world, all_sim, BOOTSTRAP_SAMPLES)
    summary = {
        "pearson_r": {"value": st.pearson(w_rates, s_rates), **intervals["pearson_r"]},
        "spearman_rho": {"value": st.spearman(w_rates, s_rates), **intervals["spearman_rho"]},
        "mmrv": {"value": st.mmrv(w_rates, s_rates), **intervals["mmrv"]},
        "simulator_success_span": float(s_rates.max() - s_rates.min()),
        "agreement": st.confusion(all_world.ravel().astype(bool), all_sim.ravel().astype(bool)),
        "detector_on_simulator": st.confusion(np.concatenate([detector_on_sim[p] for p in names]),
                                              all_sim.ravel().astype(bool)),
    }
    episodes = [{"policy": p, "seed": s, "world_model": bool(world[p][j]), "simulator": bool(sim[p][j]),
                 "confidence": verdicts[p][j].confidence,
                 "success_probability": records[("world_model", p, s)]["success_probability"]}
                for p in names for j, s in enumerate(seeds)]
    videos = [{"policy": p, "seed": s, "world_model": str(video_path(out, "world_model", p, s).relative_to(out)),
               "simulator": str(video_path(out, "simulator", p, s).relative_to(out)),
               "verdict_world_model": bool(world[p][seeds.index(s)]), "verdict_simulator": bool(sim[p][seeds.index(s)])}
              for p in names for s in protocol.seeds[:protocol.videos]
              if s in seeds and video_path(out, "world_model", p, s).is_file()
              and video_path(out, "simulator", p, s).is_file()]
    cost = {env: _cost([records[(env, p, s)] for p in names for s in seeds]) for env in ENVS}
    cost["world_model_speedup"] = cost["world_model"]["episodes_per_minute"] / cost["simulator"]["episodes_per_minute"]
    cost["per_policy"] = {p: {env: _cost([records[(env, p, s)] for s in seeds]) for env in ENVS} for p in names}
    report = {"schema_version": 1, "task": task, "protocol": {**protocol.to_dict(), "seeds_planned": len(protocol.seeds),
                                                               "seeds_used": seeds},
              "outcomes": {"policies": policies, "episodes": episodes}, "summary": summary, "videos": videos,
              "cost": cost}
    return _clean(report)


def write_report(out: Path, protocol: Protocol, detector, world_model=None, progress: bool = True) -> dict:
    """Build, validate, then write ``report.json``, ``scatter.png`` and ``report.html`` under ``out``."""
    from cosmos_robotics.evaluation.html import write_html, write_scatter_png

    out = Path(out)
    report = build_report(out, protocol, detector, progress)
    validate(report)
    tmp = out / ".report.json.partial"
    tmp.write_text(json.dumps(report, indent=1) + "\n")
    tmp.replace(out / "report.json")
    write_scatter_png(report, out / "scatter.png")
    write_html(report, out, out / "report.html")
    return report
