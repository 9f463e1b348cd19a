"""The Donoho–Tanner curve, the minimax threshold and AMP's state evolution."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import minimize_scalar
from scipy.stats import norm

from sparserec.theory import (amp_state_evolution, donoho_tanner, donoho_tanner_tau,
                              minimax_mse, minimax_threshold)

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


# ---------------------------------------------------------------- minimax threshold
def _minimax_risk(eps, tau, kappa):
    """M(ε, τ) = ε(1 + τ²) + (1 − ε)κ[(1 + τ²)Φ(−τ) − τφ(τ)] (worst case: nonzeros at ∞)."""
    return eps * (1 + tau * tau) + (1 - eps) * kappa * (
        (1 + tau * tau) * norm.cdf(-tau) - tau * norm.pdf(tau))


@pytest.mark.parametrize("eps", [1e-3, 0.01, 0.05, 0.2, 0.5, 0.9])
@pytest.mark.parametrize("signed", [True, False])
def test_minimax_threshold_minimises_the_worst_case_risk(eps, signed):
    # Independent route: a bounded scalar search on M(ε, ·). At a minimum M is flat,
    # so the search locates τ only to ~1e-7 (measured 3e-8) but M to ~1e-15.
    kappa = 2.0 if signed else 1.0
    res = minimize_scalar(lambda t: _minimax_risk(eps, t, kappa), bounds=(0.0, 10.0),
                          method="bounded", options={"xatol": 1e-12})
    assert abs(minimax_threshold(eps, signed=signed) - res.x) < 1e-6
    assert abs(minimax_mse(eps, signed=signed) - res.fun) < 1e-12


@pytest.mark.parametrize("delta", [0.05, 0.1, 0.25, 0.5, 0.8, 0.95])
@pytest.mark.parametrize("signed", [True, False])
def test_minimax_mse_traces_the_donoho_tanner_curve(delta, signed):
    # δ = M(ε), ρ = ε/δ (DMM 2009): at ε = ρ_DT(δ)·δ the minimax risk is δ and the
    # minimax threshold is the curve's own τ(δ); both are root searches to ~1e-14.
    eps = donoho_tanner(delta, signed=signed) * delta
    assert abs(minimax_mse(eps, signed=signed) - delta) < 1e-10
    assert abs(minimax_threshold(eps, signed=signed) - donoho_tanner_tau(delta, signed=signed)) \
        < 1e-8


@pytest.mark.parametrize("delta, signed, tau", [
    (0.1, True, 1.736), (0.2, True, 1.408), (0.5, True, 0.877), (0.8, True, 0.481),
    (0.1, False, 1.420), (0.5, False, 0.506)])
def test_maximin_tuning_published_values(delta, signed, tau):
    # DMM's maximin threshold τ(δ), ALGORITHMS.md §2.3 table (3 decimals, which agree
    # with the Magni toolbox's theta_mm table): half a unit of the last digit.
    assert abs(donoho_tanner_tau(delta, signed=signed) - tau) <= 5e-4
    eps = donoho_tanner(delta, signed=signed) * delta
    assert abs(minimax_threshold(eps, signed=signed) - tau) <= 5e-4


def test_minimax_threshold_edges_and_shapes():
    assert minimax_threshold(1.0) == 0.0 and minimax_mse(1.0) == 1.0
    eps = np.array([[0.01, 0.1], [0.5, 1.0]])
    tau = minimax_threshold(eps)
    assert tau.shape == (2, 2) and np.all(np.diff(tau.ravel()) < 0)  # decreasing in ε
    assert isinstance(minimax_threshold(0.1), float)
    assert np.all(minimax_mse(eps) <= 1.0)  # thresholding never does worse than τ = 0


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5, np.nan])
def test_minimax_threshold_invalid_epsilon(bad):
    with pytest.raises(ValueError, match=r"'epsilon' argument of minimax_threshold must be in "
                                         r"\(0, 1\]"):
        minimax_threshold(bad)
    with pytest.raises(TypeError, match="'signed' argument of minimax_mse must be a bool"):
        minimax_mse(0.1, signed="yes")


# ---------------------------------------------------------------- AMP state evolution
def _soft_risk(mu, lam):
    """E(η(μ + Z; λ) − μ)², Z ~ N(0, 1): Donoho & Johnstone's closed form (1994)."""
    return (1 + lam * lam + (mu * mu - lam * lam - 1) * (norm.cdf(lam - mu) - norm.cdf(-lam - mu))
            - (lam - mu) * norm.pdf(lam + mu) - (lam + mu) * norm.pdf(lam - mu))


@pytest.mark.parametrize("delta, rho, t", [(0.4, 0.3, 0), (0.5, 0.25, 5), (0.2, 0.5, 3)])
def test_state_evolution_step_by_quadrature(delta, rho, t):
    # Independent route to mse_{t+1} = Ψ(σ_t²): average σ²·r(x/σ, τ) of the per-signal
    # risk r of soft thresholding over x ~ N(0, 1) by adaptive quadrature (~1e-12),
    # against the closed form derived from Stein's identity.
    eps = rho * delta
    tau = minimax_threshold(eps)
    mse, sigma2 = amp_state_evolution(delta, rho, n_iter=t + 2)
    s = np.sqrt(sigma2[t])
    nz = quad(lambda x: s * s * _soft_risk(x / s, tau) * norm.pdf(x), -12, 12,
              epsabs=1e-14, epsrel=1e-12, points=[-tau * s, 0.0, tau * s], limit=200)[0]
    assert mse[t] == pytest.approx(eps * nz + (1 - eps) * s * s * _soft_risk(0.0, tau),
                                   rel=1e-9)
    assert sigma2[0] == pytest.approx(eps / delta, rel=1e-15)  # x⁰ = 0
    assert sigma2[t + 1] == pytest.approx(mse[t] / delta, rel=1e-15)


def test_state_evolution_is_stable_at_tiny_sigma():
    # Near σ = 0 the risk of a Gaussian nonzero is σ²(1 + τ²) (it sits far outside
    # the threshold); the closed form must not cancel to 0 or below.
    mse, sigma2 = amp_state_evolution(0.5, 0.2, n_iter=400)
    assert np.all(mse > 0) and np.all(sigma2 > 0)
    assert mse[-1] < 1e-30 * mse[0]


@pytest.mark.parametrize("delta", [0.25, 0.5, 0.75])
def test_state_evolution_transition_is_the_donoho_tanner_curve(delta):
    # The slope of the map σ² ↦ Ψ(σ²)/δ at 0 is M(ε, τ)/δ for any prior without
    # mass at 0, so with the minimax τ the MSE goes to 0 just below the curve and
    # not just above it. ±0.02 in ρ keeps the rate M/δ ≤ ~0.97: 3000 steps suffice.
    rho = donoho_tanner(delta)
    below, _ = amp_state_evolution(delta, rho - 0.02, n_iter=3000)
    above, _ = amp_state_evolution(delta, rho + 0.02, n_iter=3000)
    assert below[-1] < 1e-12 * below[0]
    # above: a nonzero fixed point (measured 0.3–1.8 % of the first MSE), reached
    assert above[-1] > 1e-3 * above[0]
    assert abs(above[-1] - above[-500]) <= 1e-6 * above[-1]


def test_state_evolution_with_noise_has_a_positive_fixed_point():
    mse, sigma2 = amp_state_evolution(0.5, 0.2, n_iter=500, noise_var=1e-4)
    assert np.all(sigma2 >= 1e-4)
    # at the fixed point σ*² = σ_w² + mse*/δ (exact recursion, converged to roundoff)
    assert sigma2[-1] == pytest.approx(1e-4 + mse[-2] / 0.5, rel=1e-12)
    assert mse[-1] > 0


@pytest.mark.parametrize("kwargs, err, match", [
    ({"delta": 0.0, "rho": 0.1}, ValueError, r"'delta' argument of amp_state_evolution must be "
                                             r"in \(0, 1\]"),
    ({"delta": [0.5], "rho": 0.1}, TypeError, "'delta' argument of amp_state_evolution must be "
                                              "a real number"),
    ({"delta": 0.5, "rho": 2.5}, ValueError, r"The 'rho' parameter of amp_state_evolution must "
                                             r"be a real number in \(0, 1/delta = 2\]; got 2\.5"),
    ({"delta": 0.5, "rho": 0.1, "tau": -1.0}, ValueError, "'tau' parameter"),
    ({"delta": 0.5, "rho": 0.1, "n_iter": 0}, ValueError, "'n_iter' parameter"),
    ({"delta": 0.5, "rho": 0.1, "noise_var": -1.0}, ValueError, "'noise_var' parameter"),
])
def test_state_evolution_invalid_input(kwargs, err, match):
    with pytest.raises(err, match=match):
        amp_state_evolution(**kwargs)
