"""The numbers an offline policy evaluation reports, on plain arrays so tests can check them by hand.

* ``wilson``: the Wilson score interval of a success rate (good at 0/n and n/n, unlike the normal interval).
* ``newcombe``: the interval of a difference of two success rates built from their Wilson intervals (Newcombe
  1998, method 10), e.g. the uplift of one training arm over another.
* ``pearson`` / ``spearman``: correlation of per-policy success rates (Spearman: Pearson of average ranks).
* ``mmrv``: mean maximum rank violation (SIMPLER, Li et al. 2024): for each policy, the largest simulator
  margin ``|real_i - real_j|`` over the policies ``j`` the world model orders differently (strict comparisons, so
  a tie on one side and an order on the other counts); 0 is a perfect ranking.
* ``bootstrap``: percentile intervals of r, rho and MMRV, resampling *seeds* (one draw of seeds applies to every
  policy and both envs: they share start states).
* ``confusion``: per-episode agreement of the world model's verdict with the simulator's.
"""

from __future__ import annotations

import numpy as np

Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(successes_1: int, n_1: int, successes_2: int, n_2: int, z: float = Z95) -> tuple[float, float]:
    """Interval of ``p1 - p2`` for independent samples; conservative for two policies run on the same seeds."""
    if n_1 == 0 or n_2 == 0:
        return -1.0, 1.0
    p1, p2 = successes_1 / n_1, successes_2 / n_2
    (l1, u1), (l2, u2) = wilson(successes_1, n_1, z), wilson(successes_2, n_2, z)
    d = p1 - p2
    return d - float(np.hypot(p1 - l1, u2 - p2)), d + float(np.hypot(u1 - p1, p2 - l2))


def pearson(x, y) -> float:
    """NaN when either side is constant (no correlation is defined)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    dx, dy = x - x.mean(), y - y.mean()
    denominator = np.sqrt((dx * dx).sum() * (dy * dy).sum())
    return float((dx * dy).sum() / denominator) if denominator > 0 else float("nan")


def average_ranks(values) -> np.ndarray:
    """Ranks 1..n of ascending values, ties sharing their average rank."""
    values = np.asarray(values, np.float64)
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    for v in np.unique(values):
        tied = values == v
        ranks[tied] = ranks[tied].mean()
    return ranks


def spearman(x, y) -> float:
    return pearson(average_ranks(x), average_ranks(y))


def mmrv(predicted, real) -> float:
    """SIMPLER's MMRV of ``predicted`` (world model) success rates against ``real`` (simulator) ones."""
    p, r = np.asarray(predicted, np.float64), np.asarray(real, np.float64)
    violated = (p[:, None] > p[None, :]) != (r[:, None] > r[None, :])
    margins = np.abs(r[:, None] - r[None, :]) * violated
    return float(margins.max(axis=1).mean())


def standing(rates) -> list[int]:
    """Rank 1 = highest success; ties share the better rank (1, 2, 2, 4)."""
    rates = np.asarray(rates, np.float64)
    return [int(1 + (rates > v).sum()) for v in rates]


def bootstrap(world: np.ndarray, sim: np.ndarray, samples: int = 2000, seed: int = 0) -> dict:
    """95 % percentile intervals of r, rho, MMRV; ``world`` / ``sim`` are ``[policies, seeds]`` 0/1 outcomes."""
    rng = np.random.default_rng(seed)
    n = world.shape[1]
    stats = {"pearson_r": [], "spearman_rho": [], "mmrv": []}
    for _ in range(samples):
        pick = rng.integers(0, n, n)
        w, s = world[:, pick].mean(axis=1), sim[:, pick].mean(axis=1)
        stats["pearson_r"].append(pearson(w, s))
        stats["spearman_rho"].append(spearman(w, s))
        stats["mmrv"].append(mmrv(w, s))
    out = {}
    for name, values in stats.items():
        values = np.asarray(values)
        finite = values[np.isfinite(values)]
        out[name] = {"low": float(np.percentile(finite, 2.5)) if len(finite) else None,
                     "high": float(np.percentile(finite, 97.5)) if len(finite) else None,
                     "undefined_resamples": int(len(values) - len(finite)), "resamples": samples}
    return out


def confusion(world, sim) -> dict:
    """Per-episode agreement; ``false_success_rate`` = world says success where the simulator failed, over those
    failures; ``kappa``: Cohen's kappa (agreement beyond what the two success rates give by chance)."""
    w, s = np.asarray(world, bool), np.asarray(sim, bool)
    n = len(w)
    tp, fp = int((w & s).sum()), int((w & ~s).sum())
    fn, tn = int((~w & s).sum()), int((~w & ~s).sum())
    agreement = (tp + tn) / n if n else float("nan")
    chance = (w.mean() * s.mean() + (1 - w.mean()) * (1 - s.mean())) if n else float("nan")
    kappa = (agreement - chance) / (1 - chance) if n and chance < 1 else float("nan")  # undefined: one class
    return {"true_success": tp, "false_success": fp, "false_failure": fn, "true_failure": tn,
            "agreement": agreement, "kappa": float(kappa),
            "false_success_rate": fp / (fp + tn) if fp + tn else None,
            "false_failure_rate": fn / (fn + tp) if fn + tp else None}
