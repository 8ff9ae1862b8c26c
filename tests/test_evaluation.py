import numpy as np

from cosmos_robotics.evaluation import psnr


def test_psnr_matches_the_definition_and_reduces_per_item():
    a = np.zeros((2, 4, 4, 3), dtype=np.uint8)
    b = a.copy()
    b[0] = 10  # mse 100 -> 10 log10(255^2 / 100) = 28.13 dB
    per_item = psnr(a, b, axes=(1, 2, 3))
    np.testing.assert_allclose(per_item[0], 10 * np.log10(255**2 / 100))
    assert per_item[1] == np.inf
    assert psnr(a, b) == np.float64(10 * np.log10(255**2 / 50))
