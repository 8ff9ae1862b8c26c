"""The evaluation's statistics on inputs small enough to compute by hand."""

import numpy as np
import pytest

from cosmos_robotics.evaluation import statistics as st


def test_wilson_matches_hand_computed_bounds():
    # 0/10: centre = half-width = (z^2/20) / (1 + z^2/10) = 0.13876 -> [0, 0.27753]
    assert st.wilson(0, 10) == pytest.approx((0.0, 0.277533), abs=1e-6)
    assert st.wilson(5, 10) == pytest.approx((0.236593, 0.763407), abs=1e-6)
    assert st.wilson(10, 10) == pytest.approx((0.722467, 1.0), abs=1e-6)
    assert st.wilson(0, 0) == (0.0, 1.0)


def test_newcombe_reproduces_the_published_examples():
    # Newcombe (1998), Stat. Med. 17:873, Table II, method 10 (score interval from the two Wilson intervals)
    assert st.newcombe(56, 70, 48, 80) == pytest.approx((0.0524, 0.3339), abs=1e-4)
    assert st.newcombe(9, 10, 3, 10) == pytest.approx((0.1705, 0.8090), abs=1e-4)
    assert st.newcombe(6, 7, 2, 7) == pytest.approx((0.0582, 0.8062), abs=1e-4)
    assert st.newcombe(5, 56, 0, 29) == pytest.approx((-0.0381, 0.1926), abs=1e-4)
    assert st.newcombe(0, 100, 0, 100) == pytest.approx((-0.0370, 0.0370), abs=1e-4)  # symmetric at 0 vs 0
    assert st.newcombe(3, 10, 0, 0) == (-1.0, 1.0)


def test_pearson_and_spearman_by_hand():
    # dx = [-1, 0, 1], dy = [-4/3, -1/3, 5/3]: r = 3 / sqrt(2 * 42/9) = 9 / sqrt(84)
    assert st.pearson([0, 1, 2], [0, 1, 3]) == pytest.approx(9 / np.sqrt(84))
    # ranks [1, 2.5, 2.5, 4] vs [1, 3, 2, 4]: rho = 4.5 / sqrt(4.5 * 5) = sqrt(0.9)
    assert st.spearman([0.1, 0.2, 0.2, 0.9], [0.0, 0.5, 0.3, 1.0]) == pytest.approx(np.sqrt(0.9))
    assert np.isnan(st.pearson([0.5, 0.5, 0.5], [0.1, 0.2, 0.3]))
    assert st.average_ranks([3, 1, 3, 2]).tolist() == [3.5, 1.0, 3.5, 2.0]


def test_mmrv_as_in_simpler():
    real, predicted = [0.9, 0.5, 0.1], [0.8, 0.9, 0.0]
    # policies 0 and 1 are swapped (margin |0.9 - 0.5| = 0.4 for both), policy 2 is ordered right
    assert st.mmrv(predicted, real) == pytest.approx(0.8 / 3)
    assert st.mmrv(real, real) == 0.0
    # a world-model tie against a real order is a violation for the better policy only (strict comparisons)
    assert st.mmrv([0.5, 0.5], [0.6, 0.2]) == pytest.approx(0.2)
    assert st.standing([0.2, 0.9, 0.2, 0.5]) == [3, 1, 3, 2]


def test_shuffled_world_model_successes_are_caught_by_per_episode_agreement():
    sim = np.array([1] * 10 + [0] * 10, bool)
    faithful = st.confusion(sim, sim)
    shuffled = st.confusion(np.roll(sim, 5), sim)  # the same success rate, on the wrong seeds
    assert np.roll(sim, 5).mean() == sim.mean()
    assert faithful["agreement"] == 1.0 and faithful["kappa"] == 1.0
    assert shuffled["agreement"] == 0.5 and shuffled["kappa"] == pytest.approx(0.0)
    assert shuffled["false_success"] == 5 and shuffled["false_success_rate"] == 0.5


def test_bootstrap_intervals_contain_the_estimate_and_are_reproducible():
    rng = np.random.default_rng(1)
    p = np.array([0.9, 0.6, 0.3, 0.05])
    sim = rng.random((4, 50)) < p[:, None]
    world = sim.copy()
    world[:, :5] = ~world[:, :5]  # 10 % per-episode disagreement
    a, b = st.bootstrap(world.astype(float), sim.astype(float), 300), st.bootstrap(world.astype(float),
                                                                                    sim.astype(float), 300)
    assert a == b
    r = st.pearson(world.mean(1), sim.mean(1))
    assert a["pearson_r"]["low"] <= r <= a["pearson_r"]["high"]
    assert 0 <= a["mmrv"]["low"] <= a["mmrv"]["high"]
