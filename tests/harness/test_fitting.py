"""The ρ₅₀ fit and its profile-likelihood interval: agreement, coverage, degenerate cells."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize_scalar
from scipy.special import expit
from scipy.stats import chi2
from sklearn.linear_model import LogisticRegression

from sparserec.harness import Sweep, fit_logistic, fit_transitions, run_sweep
from sparserec.harness.plotting import CI_LABEL, phase_figures, transition_plot

GRID = np.repeat(np.linspace(0.1, 0.5, 17), 10)  # 17 ρ values × 10 trials
#: An adaptive-like design: three probes of 3 trials far from the band, 10 trials in it.
SPARSE = np.concatenate([np.repeat([0.1, 0.2, 0.45], 3),
                         np.repeat([0.25, 0.275, 0.3, 0.325, 0.35], 10)])


def _draw(rho, rng, rho50=0.3, slope=-40.0):
    """Outcomes of a logistic transition (10–90 % width 2 ln 9/40 ≈ 0.11)."""
    return rng.random(rho.size) < expit(slope * (rho - rho50))


# ---------------------------------------------------------------- agreement
@pytest.mark.parametrize("seed", range(5))
def test_point_estimate_matches_scikit_learn(seed):
    # The same penalised likelihood (C = 1e3 on the standardised slope, intercept free)
    # maximised by scikit-learn's lbfgs at tol=1e-12: the maximisers agree to ~1e-9.
    y = _draw(GRID, np.random.default_rng(seed))
    fit = fit_logistic(GRID, y)
    mu, sd = GRID.mean(), GRID.std()
    model = LogisticRegression(C=1e3, tol=1e-12, max_iter=10_000).fit(
        ((GRID - mu) / sd)[:, None], y)
    a, b = model.intercept_[0], model.coef_[0, 0]
    assert fit["rho50"] == pytest.approx(mu - sd * a / b, abs=1e-7)
    assert fit["width"] == pytest.approx(2 * np.log(9) / abs(b / sd), rel=1e-6)


def _brute_profile_interval(rho, y, rho50, level=0.95):
    """Independent route: the profile log-likelihood on a fine grid of r, the slope
    maximised by a bounded Brent search for each r, and the grid points inside the cut."""
    mu, sd = rho.mean(), rho.std()
    z = (rho - mu) / sd

    def prof(r):
        u = z - (r - mu) / sd
        nll = lambda b: (np.logaddexp(0, b * u).sum() - y @ (b * u) + b * b / 2e3)  # noqa: E731
        return -minimize_scalar(nll, bounds=(-500, 500), method="bounded",
                                options={"xatol": 1e-10}).fun

    grid = np.arange(rho50 - 0.08, rho50 + 0.08, 2e-4)
    ll = np.array([prof(r) for r in grid])
    inside = grid[ll >= prof(rho50) - chi2.ppf(level, 1) / 2]
    return inside.min(), inside.max()


@pytest.mark.parametrize("design, seed", [("grid", 0), ("sparse", 1)])
def test_interval_matches_a_brute_force_profile(design, seed):
    rho = GRID if design == "grid" else SPARSE
    y = _draw(rho, np.random.default_rng(seed)).astype(float)
    fit = fit_logistic(rho, y)
    lo, hi = _brute_profile_interval(rho, y, fit["rho50"])
    # the grid step is 2e-4, so the grid's extreme points lie within one step of the roots
    assert fit["rho50_lo"] == pytest.approx(lo, abs=2.5e-4)
    assert fit["rho50_hi"] == pytest.approx(hi, abs=2.5e-4)


# ---------------------------------------------------------------- coverage
@pytest.mark.parametrize("design", ["grid", "sparse"])
def test_coverage_on_simulated_logistic_data(design):
    """≥ 90 % of 200 simulated fits cover the true ρ₅₀ = 0.3 (nominal 95 %).

    With 200 fits the binomial standard error of the coverage is 1.5 %, so 90 %
    is more than three standard errors below nominal (measured: 95.0 % on both
    designs).
    """
    rho = GRID if design == "grid" else SPARSE
    rng = np.random.default_rng(12)
    covered = 0
    for _ in range(200):
        fit = fit_logistic(rho, _draw(rho, rng))
        assert fit["ci_status"] == "ok"
        covered += fit["rho50_lo"] <= 0.3 <= fit["rho50_hi"]
    assert covered >= 180, covered


def test_interval_ordering_and_scaling():
    rng = np.random.default_rng(3)
    widths = {}
    for trials in (10, 40):
        rho = np.repeat(np.linspace(0.1, 0.5, 17), trials)
        w = []
        for _ in range(20):
            fit = fit_logistic(rho, _draw(rho, rng))
            assert fit["rho50_lo"] < fit["rho50"] < fit["rho50_hi"]
            w.append(fit["rho50_hi"] - fit["rho50_lo"])
        widths[trials] = np.median(w)
    # four times the trials: the width shrinks like 1/√N, i.e. by ~2 (20 fits: ±20 %)
    assert 1.6 < widths[10] / widths[40] < 2.5, widths


def test_level_nests_the_intervals():
    y = _draw(GRID, np.random.default_rng(4))
    wide, narrow = fit_logistic(GRID, y, level=0.99), fit_logistic(GRID, y, level=0.5)
    assert wide["rho50_lo"] < narrow["rho50_lo"] < narrow["rho50"] < narrow["rho50_hi"] \
        < wide["rho50_hi"]
    assert wide["rho50"] == narrow["rho50"]
    for bad in (0, 1, 1.5, "0.95"):
        with pytest.raises(ValueError, match="'level' argument of fit_logistic"):
            fit_logistic(GRID, y, level=bad)
    with pytest.raises(ValueError, match="same length; got 170 and 3"):
        fit_logistic(GRID, [True, False, True])


# ---------------------------------------------------------------- degenerate cells
@pytest.mark.parametrize("rho, ok, status, ci_status", [
    ([], [], "empty", "empty"),
    ([0.1, 0.2, 0.3], [1, 1, 1], "no_failures", "no_failures"),
    ([0.1, 0.2, 0.3], [0, 0, 0], "no_successes", "no_successes"),
    ([0.2, 0.2, 0.2, 0.2], [1, 0, 1, 0], "single_rho", "single_rho"),
    ([0.1, 0.1, 0.3, 0.3], [0, 0, 1, 1], "increasing", "increasing"),
    ([0.1, 0.2, 0.3, 0.4], [1, 0, 1, 0], "ok", "no_trend"),  # slope not significant
])
def test_degenerate_cells_give_nan_with_a_reason(rho, ok, status, ci_status):
    fit = fit_logistic(rho, ok)
    assert fit["status"] == status and fit["ci_status"] == ci_status
    assert np.isnan(fit["rho50_lo"]) and np.isnan(fit["rho50_hi"])
    assert np.isnan(fit["rho50"]) == (status != "ok")


def test_separated_outcomes_give_a_finite_interval():
    # All successes up to 0.2, all failures from 0.3. With 10 trials per ρ, a 50 % point
    # at 0.2 or 0.3 would make 10 observed outcomes coin flips (log-likelihood drop
    # 10 ln 2 = 6.9 > 1.92): the interval lies inside the gap. With one trial per ρ
    # (drop ln 2 = 0.69) the likelihood cannot exclude the neighbouring cells.
    rho = np.repeat([0.1, 0.2, 0.3, 0.4], 10)
    fit = fit_logistic(rho, rho < 0.25)
    assert fit["status"] == "ok" and fit["ci_status"] == "ok"
    assert 0.2 < fit["rho50_lo"] < fit["rho50"] < fit["rho50_hi"] < 0.3
    one = fit_logistic(rho[::10], rho[::10] < 0.25)
    assert one["ci_status"] == "ok"
    assert one["rho50_lo"] < 0.2 and one["rho50_hi"] > 0.3


# ---------------------------------------------------------------- tables and plots
def test_fit_transitions_on_a_sparse_grid():
    # Rows exist for some ρ only, with different trial counts (as an adaptive sweep
    # writes them); one solver × δ has a single computed ρ.
    rng = np.random.default_rng(5)
    frames = []
    for delta, rho in [(0.3, SPARSE), (0.5, SPARSE + 0.05), (0.7, np.full(5, 0.4))]:
        ok = _draw(rho, rng, rho50=0.3 + (delta - 0.3) / 4)
        frames.append(pd.DataFrame({"solver": "s", "delta": delta, "rho": rho, "success": ok,
                                    "status": np.where(ok, "converged", "max_iter")}))
    df = pd.concat(frames + [pd.DataFrame({"solver": ["s"], "delta": [0.3], "rho": [0.3],
                                           "success": [False], "status": ["error"]})])
    fits = fit_transitions(df)
    assert {"rho50", "rho50_lo", "rho50_hi", "rho10", "rho90", "width", "dt_rho", "status",
            "ci_status"} <= set(fits.columns)
    good = fits[fits["delta"] < 0.6]
    assert (good["ci_status"] == "ok").all()
    assert (good["rho50_lo"] < good["rho50"]).all() and (good["rho50"] < good["rho50_hi"]).all()
    assert fits.loc[fits["delta"] == 0.3, "n_errors"].item() == 1
    last = fits[fits["delta"] == 0.7].iloc[0]
    assert last["ci_status"] in {"single_rho", "no_failures", "no_successes"}
    assert np.isnan(last["rho50_lo"])
    fig = transition_plot(fits)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert CI_LABEL in labels and "95 % CI" in CI_LABEL
    assert CI_LABEL in fig.axes[0].get_title()


def test_adaptive_sweep_fits_and_plots(tmp_path):
    # A real adaptive sweep computes only some cells; fit50 and the figures work on it.
    sweep = Sweep(["htp"], {"matrix": ["gaussian"], "signal": ["rademacher"], "n": [60],
                            "delta": [0.5], "rho": list(np.round(np.linspace(0.05, 0.75, 15), 3))},
                  trials=8, seed=3, adaptive=True, probe_trials=3)
    df = run_sweep(sweep, tmp_path, backend="serial", quiet=True)
    assert df["rho"].nunique() < 15  # sparse: not every ρ was computed
    fits = fit_transitions(df)
    row = fits.iloc[0]
    assert row["status"] == "ok" and row["ci_status"] == "ok"
    assert row["rho50_lo"] < row["rho50"] < row["rho50_hi"]
    paths = phase_figures(df, fits, tmp_path / "fig")
    assert all(p.exists() for p in paths)
