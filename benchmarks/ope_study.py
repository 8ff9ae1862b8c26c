"""The headline offline policy evaluation: graded observation-only policies x seeds, embedded world model vs
SimDroid-v0, judged by each success detector (episodes are run once; detectors judge the stored records).

Writes ``benchmarks/results/ope_study.json`` (per detector: r, rho, MMRV with intervals, per-policy rates, bias,
agreement, false-success rate; the shuffle check; cost; the machine) and copies ``report.json`` and
``scatter.png`` of the default detector to ``benchmarks/results/ope_study/``. Resumable (``--out`` keeps the
episodes).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/ope_study.py --episodes 50 --workers 2 --out outputs/ope_study
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import torch

from benchmarks.machine import cpu_report, idleness
from cosmos_robotics.evaluation import evaluate, make_detector, statistics
from cosmos_robotics.evaluation.report import _clean, build_report
from cosmos_robotics.world_models.embedded.backend import EmbeddedWorldModel

RESULTS = Path(__file__).parent / "results"
POLICIES = ("embedded", "embedded:noise=0.025", "embedded:noise=0.05", "embedded:noise=0.075",
            "embedded:noise=0.1", "random")


def digest(report: dict) -> dict:
    s = report["summary"]
    return {
        "seeds_used": len(report["protocol"]["seeds_used"]),
        "pearson_r": s["pearson_r"], "spearman_rho": s["spearman_rho"], "mmrv": s["mmrv"],
        "simulator_success_span": s["simulator_success_span"], "agreement": s["agreement"],
        "detector_on_simulator_episodes": s["detector_on_simulator"],
        "per_policy": [{"policy": p["policy"], "simulator": p["simulator"]["rate"],
                        "world_model": p["world_model"]["rate"], "bias": p["bias"],
                        "world_model_head_at_0.5_in_env": p["world_model_backend_signal"]["rate"],
                        "rank_simulator": p["rank"]["simulator"], "rank_world_model": p["rank"]["world_model"],
                        "agreement": p["agreement"]["agreement"], "kappa": p["agreement"]["kappa"],
                        "false_success_rate": p["agreement"]["false_success_rate"],
                        "false_failure_rate": p["agreement"]["false_failure_rate"]}
                       for p in report["outcomes"]["policies"]]}


def shuffle_check(report: dict, seed: int = 0) -> list[dict]:
    """Per policy: world-model verdicts permuted across seeds keep the rate but lose per-episode agreement."""
    rng = np.random.default_rng(seed)
    out = []
    for p in report["protocol"]["policies"]:
        rows = [e for e in report["outcomes"]["episodes"] if e["policy"] == p]
        world, sim = np.array([e["world_model"] for e in rows]), np.array([e["simulator"] for e in rows])
        shuffled = rng.permutation(world)
        faithful, moved = statistics.confusion(world, sim), statistics.confusion(shuffled, sim)
        out.append({"policy": p, "rate": float(world.mean()), "kappa": faithful["kappa"],
                    "kappa_shuffled": moved["kappa"], "agreement": faithful["agreement"],
                    "agreement_shuffled": moved["agreement"]})
    return _clean(out)


def flange_gap(out: Path, report: dict) -> dict:
    """Per policy: mean distance (mm) between the imagined and the simulated final flange position, same seed.
    Large gaps with agreeing verdicts mean the world model and the simulator took different paths."""
    from cosmos_robotics.evaluation.episodes import load_record

    gaps = {}
    for p in report["protocol"]["policies"]:
        d = [np.linalg.norm(np.subtract(load_record(out, "world_model", p, s)["final_state"][:3],
                                        load_record(out, "simulator", p, s)["final_state"][:3]))
             for s in report["protocol"]["seeds_used"]]
        gaps[p] = round(1000 * float(np.mean(d)), 1)
    return gaps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--steps", type=int, default=130)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("outputs/ope_study"))
    parser.add_argument("--policies", nargs="+", default=list(POLICIES))
    parser.add_argument("--videos", type=int, default=2, help="seeds per policy with side-by-side videos (0: no "
                                                               "PyAV needed, e.g. on a GPU machine without it)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    before = {**cpu_report(), **idleness()}
    world_model = EmbeddedWorldModel()
    report = evaluate(args.policies, args.out, world_model=world_model, episodes=args.episodes,
                      steps=args.steps, workers=args.workers, videos=args.videos)
    from cosmos_robotics.evaluation.evaluate import load_protocol

    by_detector = {"head": digest(report)}
    for name in ("frame",):
        by_detector[name] = digest(build_report(args.out, load_protocol(args.out), make_detector(name, world_model)))
    result = {"command": f"benchmarks/ope_study.py --episodes {args.episodes} --steps {args.steps} "
                         f"--workers {args.workers} --videos {args.videos}",
              "policies": args.policies, "detectors": by_detector, "shuffle_check_head": shuffle_check(report),
              "final_flange_gap_mm": flange_gap(args.out, report),
              "cost": {k: report["cost"][k] for k in ("world_model", "simulator", "world_model_speedup")},
              "world_model": report["protocol"]["world_model"], "excluded_seeds": report["protocol"]["excluded_seeds"],
              "machine_before": before, "idle_after": idleness()}
    (RESULTS / "ope_study").mkdir(parents=True, exist_ok=True)
    for name in ("report.json", "scatter.png"):
        shutil.copy(args.out / name, RESULTS / "ope_study" / name)
    (RESULTS / "ope_study.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: by_detector[k]["pearson_r"]["value"] for k in by_detector}), report["cost"]["world_model_speedup"])


if __name__ == "__main__":
    main()
