"""The Donoho–Tanner curve: published values, an independent formula, invariants."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from scipy.stats import norm

from sparserec.theory import donoho_tanner, donoho_tanner_tau

# ALGORITHMS.md §2.3 table, 4 decimals; tolerance 1e-4 = half a unit of the last
# printed digit plus rounding.
TABLE = [  # delta, signed, nonneg
    (0.001, 0.0734, 0.0812), (0.01, 0.1069, 0.1234), (0.05, 0.1544, 0.1889),
    (0.10, 0.1894, 0.2410), (0.25, 0.2674, 0.3651), (0.50, 0.3857, 0.5582),
    (0.70, 0.4988, 0.7225), (0.90, 0.6782, 0.9027), (0.99, 0.8837, 0.9900),
]


@pytest.mark.parametrize("delta, expected", [(0.1, 0.1894), (0.5, 0.3857), (0.9, 0.6782)])
def test_signed_values(delta, expected):
    assert abs(donoho_tanner(delta) - expected) < 1e-4


def test_nonnegative_value():
    assert abs(donoho_tanner(0.5, signed=False) - 0.5582) < 1e-4


@pytest.mark.parametrize("delta, signed, nonneg", TABLE)
def test_table(delta, signed, nonneg):
    assert abs(donoho_tanner(delta) - signed) < 1e-4
    assert abs(donoho_tanner(delta, signed=False) - nonneg) < 1e-4


def _state_evolution(delta, kappa):
    """ρ(δ) = max_z [1 − (κ/δ)M(z)] / [1 + z² − κM(z)], M(z) = (1+z²)Φ(−z) − zφ(z)."""
    def neg(z):
        M = (1 + z * z) * norm.cdf(-z) - z * norm.pdf(z)
        return -(1 - kappa / delta * M) / (1 + z * z - kappa * M)
    res = minimize_scalar(neg, bounds=(0.0, 10.0), method="bounded",
                          options={"xatol": 1e-12})
    return -res.fun


@pytest.mark.parametrize("delta", [0.03, 0.2, 0.45, 0.77, 0.95])
@pytest.mark.parametrize("signed", [True, False])
def test_agrees_with_state_evolution_form(delta, signed):
    # Independent formula (ALGORITHMS.md §2.3); the bounded scalar search is
    # accurate to ~1e-9 in ρ at its optimum, so 1e-7 is a safe agreement bound.
    assert abs(donoho_tanner(delta, signed=signed)
               - _state_evolution(delta, 2.0 if signed else 1.0)) < 1e-7


@pytest.mark.parametrize("signed", [True, False])
def test_monotone_and_bounded(signed):
    d = np.linspace(1e-4, 1.0, 400)
    rho = donoho_tanner(d, signed=signed)
    assert rho.shape == d.shape
    assert np.all(np.diff(rho) > 0)
    assert np.all((rho > 0) & (rho <= 1))


def test_nonnegative_above_signed():
    d = np.linspace(0.01, 0.99, 50)
    assert np.all(donoho_tanner(d, signed=False) > donoho_tanner(d))


def test_delta_one_and_vectorised_shapes():
    assert donoho_tanner(1.0) == 1.0
    assert donoho_tanner(1.0, signed=False) == 1.0
    assert donoho_tanner_tau(1.0) == 0.0
    out = donoho_tanner(np.array([[0.1, 0.5], [0.9, 1.0]]))
    assert out.shape == (2, 2)
    assert out[1, 1] == 1.0
    assert isinstance(donoho_tanner(0.5), float)
    assert donoho_tanner([]).shape == (0,)


def test_asymptotics_small_delta():
    # ρ ~ 1/(2 ln(1/δ)) as δ → 0: the ratio tends to 1 slowly (log corrections),
    # so only check it is within 35% at δ = 1e-8.
    d = 1e-8
    assert abs(donoho_tanner(d) * 2 * np.log(1 / d) - 1) < 0.35


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5, np.nan, np.inf])
def test_invalid_delta(bad):
    with pytest.raises(ValueError, match=r"'delta' argument of donoho_tanner must be in \(0, 1\]"):
        donoho_tanner(bad)
    with pytest.raises(ValueError):
        donoho_tanner([0.5, bad])
