"""AMP: state evolution, the ℓ1 phase transition, basis pursuit, Lasso fixed points, divergence."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse.linalg import aslinearoperator

from sparserec import Problem, solvers
from sparserec.ensembles import gaussian, make_problem, sparse_signal
from sparserec.harness.fitting import fit_logistic
from sparserec.solvers.amp import AMP
from sparserec.theory import (amp_state_evolution, donoho_tanner, donoho_tanner_tau,
                              minimax_threshold)


def _block(m, n, ks, seed):
    """One Gaussian matrix and one signal per entry of ``ks`` (a k per column)."""
    rng = np.random.default_rng(seed)
    A = gaussian(m, n, rng)
    X = np.column_stack([sparse_signal(n, int(k), rng) for k in ks])
    return Problem(A, A @ X, np.asarray(ks), x_true=X)


# ---------------------------------------------------------------- class contract
def test_declares_its_capabilities():
    assert AMP.name == "amp" and solvers.solver_class("amp") is AMP
    assert AMP.enforces_k is False  # k sets the threshold only
    assert AMP.monotone is False


def test_default_threshold_is_minimax_at_each_columns_epsilon():
    p = _block(100, 400, [5, 20, 35], seed=0)
    res = solvers.get("amp").solve(p)
    assert np.allclose(res.history["tau"], minimax_threshold(np.array([5, 20, 35]) / 400),
                       rtol=0, atol=1e-15)  # the same function, so to roundoff
    res = solvers.get("amp", tau="maximin").solve(p)
    assert np.all(res.history["tau"] == donoho_tanner_tau(0.25))
    res = solvers.get("amp", tau=1.5).solve(p)
    assert np.all(res.history["tau"] == 1.5)


@pytest.mark.parametrize("params, err, match", [
    ({"tau": "auto"}, ValueError, r"The 'tau' parameter of AMP must be one of 'minimax', "
                                  r"'maximin'; got 'auto'\."),
    ({"tau": -1.0}, ValueError, r"The 'tau' parameter of AMP must be 'minimax', 'maximin' or a "
                                r"real number >= 0; got -1\.0\."),
    ({"tau": None}, TypeError, r"The 'tau' parameter of AMP must be .*; got None\."),
    ({"tau": np.inf}, ValueError, r"The 'tau' parameter of AMP must be .*; got inf\."),
    ({"sigma": "mad"}, ValueError, r"The 'sigma' parameter of AMP must be one of 'norm', "
                                   r"'median'; got 'mad'\."),
    ({"stall": 0}, ValueError, r"The 'stall' parameter of AMP must be None or an int >= 1; "
                               r"got 0\."),
])
def test_parameter_errors(params, err, match):
    with pytest.raises(err, match=match):
        solvers.get("amp", **params).solve(make_problem(20, 40, 2, seed=0))


# ---------------------------------------------------------------- recovery
@pytest.mark.parametrize("sigma", ["norm", "median"])
@pytest.mark.parametrize("tau", ["minimax", "maximin"])
def test_noiseless_recovery(sigma, tau):
    # δ = 0.5, ρ = 0.08, far below the curve (0.386): the threshold τσ_t → 0 with the
    # residual and x^t → x₀ linearly; the tol = 1e-10 stop leaves ~1e-10 relative error.
    res = solvers.get("amp", sigma=sigma, tau=tau).solve(make_problem(128, 256, 10, seed=3))
    assert res.status == "converged"
    assert res.rel_error < 1e-8


@pytest.mark.parametrize("seed", range(3))
def test_agrees_with_basis_pursuit_on_easy_instances(seed):
    # Noiseless and below the curve, AMP's fixed point is the ℓ1 minimiser (its Lasso
    # λ = θ(1 − ‖x‖₀/m) tends to 0). cvxpy's conic solve is accurate to ~1e-8
    # relative (Clarabel's 1e-8 tolerances), AMP to ~1e-10: 1e-6 covers both.
    p = make_problem(100, 300, 12, seed=10 + seed)
    amp = solvers.get("amp").solve(p)
    bp = solvers.get("basis_pursuit", method="cvxpy").solve(p)
    assert np.linalg.norm(amp.x - bp.x) <= 1e-6 * np.linalg.norm(bp.x)
    # the same support (entries below 1e-6 of the largest are roundoff in either)
    big = lambda x: np.abs(x) > 1e-6 * np.abs(x).max()  # noqa: E731
    assert np.array_equal(big(amp.x), big(bp.x))


def test_fixed_point_is_a_lasso_minimiser():
    # With noise the threshold settles at θ* = τσ* > 0 and the fixed point solves the
    # Lasso with λ = θ*(1 − ‖x̃‖₀/m) = τ‖r‖/√m on Ã = A D⁻¹ (DMM 2009). Check its KKT
    # conditions on x̃ = Dx, from the returned x alone.
    rng = np.random.default_rng(4)
    m, n, k = 150, 300, 15
    A = gaussian(m, n, rng) * rng.uniform(0.5, 2.0, n)  # columns of uneven norms
    x0 = sparse_signal(n, k, rng)
    y = A @ x0 + 0.05 * rng.standard_normal(m)
    res = solvers.get("amp", tol=1e-13, max_iter=5000).solve(Problem(A, y, k))
    assert res.status == "converged"
    d = np.linalg.norm(A, axis=0)
    xt = d * res.x
    r = y - A @ res.x
    lam = float(res.history["tau"][0]) * np.linalg.norm(r) / np.sqrt(m)
    g = (A.T @ r) / d                     # Ãᵀ(y − Ãx̃)
    S = xt != 0
    assert 0 < S.sum() < m
    # stationarity on the support and the dual bound off it; the fixed point is
    # reached to the 1e-13 relative change, so 1e-8·λ is a generous slack
    assert np.allclose(g[S], lam * np.sign(xt[S]), rtol=0, atol=1e-8 * lam)
    assert np.max(np.abs(g[~S])) <= lam * (1 + 1e-8)


def test_general_matrix_column_scaling_is_undone():
    # AMP runs on A D⁻¹: rescaling the columns of A by s rescales the solution by 1/s.
    p = make_problem(128, 256, 12, seed=6)
    s = np.random.default_rng(1).uniform(0.1, 10.0, p.n)
    scaled = Problem(p.A * s, p.y, p.k, x_true=p.x_true / s)
    a = solvers.get("amp").solve(p)
    b = solvers.get("amp").solve(scaled)
    assert b.status == "converged" and b.rel_error < 1e-8
    # both converge to x₀ to the tol = 1e-10 stop; 1e-8 is roundoff plus that stop
    assert np.linalg.norm(b.x * s - a.x) <= 1e-8 * np.linalg.norm(a.x)


def test_linear_operator_matches_dense():
    # n = 600 > 256: the column norms of an operator are computed in several chunks.
    p = make_problem(300, 600, 30, seed=8)
    dense = solvers.get("amp").solve(p)
    op = solvers.get("amp").solve(Problem(aslinearoperator(p.A), p.y, p.k, x_true=p.x_true))
    assert op.status == dense.status == "converged"
    assert np.linalg.norm(op.x - dense.x) <= 1e-10 * np.linalg.norm(dense.x)  # summation order


def test_float32_stays_float32():
    p = make_problem(128, 256, 10, seed=2)
    p32 = Problem(p.A.astype(np.float32), p.y.astype(np.float32), p.k, x_true=p.x_true)
    res = solvers.get("amp").solve(p32)
    assert res.x.dtype == np.float32
    assert res.rel_error < 1e-4  # float32 roundoff (~1e-7) amplified by cond(A_S), and the
    # loop's tol floored at 10·eps32 ≈ 1e-6


# ---------------------------------------------------------------- blocks of columns
def test_block_columns_equal_single_solves():
    """A block with a k per column: each column's result is its own solve's.

    Columns below the transition contract to x₀, so block BLAS and vector BLAS
    (summation orders differing at ~1e-16) agree to 1e-10 with the same
    iteration count. Above it the AMP map does not contract and amplifies such
    differences (see the next test), so there only the outcome is compared.
    """
    ks = [2, 5, 8, 12, 16, 20, 25, 30]  # m = 60, n = 120: the curve is at k ≈ 23
    block = _block(60, 120, ks, seed=2026)
    res = solvers.get("amp").solve(block)
    recovered = 0
    for t, k in enumerate(ks):
        one = solvers.get("amp").solve(Problem(block.A, block.Y[:, t], k,
                                               x_true=block.X_true[:, t]))
        assert (res.rel_error[t] <= 1e-3) == (one.rel_error <= 1e-3), t
        assert res.status[t] == one.status and res.n_iter[t] == one.n_iter, t
        if one.rel_error <= 1e-3:
            recovered += 1
            assert np.linalg.norm(res.x[:, t] - one.x) <= 1e-10 * np.linalg.norm(one.x), t
    assert 0 < recovered < len(ks)  # both regimes are exercised
    assert len(set(np.asarray(res.n_iter).tolist())) > 1  # columns retire at different times


def test_above_the_transition_roundoff_is_amplified():
    # Why failing columns are not compared to 1e-10: a perturbation of y at the
    # roundoff level changes a failing column's final iterate by far more than 1e-10,
    # while a recovered column does not move.
    block = _block(60, 120, [8, 30], seed=2026)
    y, k = block.Y, block.sparsity.k
    dy = 1e-15 * np.random.default_rng(0).standard_normal(y.shape[0])
    for t, expect_stable in [(0, True), (1, False)]:
        a = solvers.get("amp").solve(Problem(block.A, y[:, t], int(k[t])))
        b = solvers.get("amp").solve(Problem(block.A, y[:, t] + dy, int(k[t])))
        rel = np.linalg.norm(a.x - b.x) / np.linalg.norm(a.x)
        assert (rel <= 1e-10) == expect_stable, (t, rel)


# ---------------------------------------------------------------- divergence
@pytest.mark.parametrize("case", ["no_threshold", "ill_conditioned"])
def test_divergence_is_reported_never_nan(case):
    if case == "no_threshold":
        # τ = 0: every entry passes, the Onsager term is (n/m)·z = 4z, so z grows geometrically
        p, solver = make_problem(64, 256, 5, seed=0), solvers.get("amp", tau=0.0)
    else:
        # κ(A) = 1e4: far from the i.i.d. matrices AMP's Onsager correction is built for
        p = make_problem(128, 256, 10, matrix="conditioned", kappa=1e4, seed=0)
        solver = solvers.get("amp")
    res = solver.solve(p)
    assert res.status == "diverged" and res.reason == "diverged"
    assert np.all(np.isfinite(res.x))
    for key in ("objective", "residual_norm"):
        assert np.all(np.isfinite(res.history[key])), key


def test_divergence_in_one_column_leaves_the_others():
    p = make_problem(64, 256, 5, seed=0, n_signals=3)
    res = solvers.get("amp", tau=0.0).solve(p)
    assert set(res.status) == {"diverged"}
    ok = solvers.get("amp").solve(p)
    assert set(ok.status) == {"converged"} and np.all(ok.rel_error < 1e-8)


# ---------------------------------------------------------------- state evolution
def test_state_evolution_predicts_the_empirical_mse():
    """Per-iteration MSE ‖x^t − x₀‖²/n of AMP vs its state evolution (DMM 2009).

    δ = 0.5, ρ = 0.25, n = 2000, 48 signals (3 matrices × 16). The mean over
    signals has a relative standard error of 1.3–2.8 % over iterations 1–6
    (measured), plus an O(1/√n) finite-size bias of ~1–2 %; 10 % is about three
    standard errors. Dropping the Onsager term makes the ratio 3 at t = 2 and
    300 at t = 6.
    """
    n, delta, rho, T = 2000, 0.5, 0.25, 6
    m, k = int(delta * n), int(rho * delta * n)
    se, sigma2 = amp_state_evolution(delta, k / m, n_iter=T)
    rng = np.random.default_rng(1)
    errs = []
    for _ in range(3):
        A = gaussian(m, n, rng)
        X = sparse_signal(n, k, rng, n_signals=16)
        hist = []
        solvers.get("amp", max_iter=T, tol=0).solve(
            Problem(A, A @ X, k), callback=lambda info: hist.append(
                np.sum((info["x"] - X) ** 2, axis=0) / n))
        errs.append(np.array(hist))
    ratio = np.concatenate(errs, axis=1).mean(axis=1) / se
    assert np.all(np.abs(ratio - 1) < 0.10), ratio
    assert se[-1] < 0.15 * se[0]  # the prediction itself falls (below the curve)


# ---------------------------------------------------------------- phase transition
def test_transition_brackets_the_curve_small():
    # n = 200, δ = 0.5 (curve at ρ = 0.386): 0.1 below it every signal is recovered,
    # 0.1 above it none is (the finite-n transition is ~0.05 wide here).
    n, m = 200, 100
    dt = donoho_tanner(m / n)
    ks = [int(round((dt - 0.1) * m)), int(round((dt + 0.1) * m))]
    for seed in range(4):
        res = solvers.get("amp").solve(_block(m, n, ks, seed=seed))
        assert res.rel_error[0] <= 1e-3 < res.rel_error[1], seed


@pytest.mark.slow
@pytest.mark.parametrize("delta", [0.25, 0.5])
def test_empirical_transition_near_donoho_tanner(delta):
    """AMP's 50 % point at n = 500 lies within 0.02 of the ℓ1 curve.

    11 ρ values from curve − 0.12 to curve + 0.08, 20 trials (a k per column,
    one matrix per trial), success = relative error ≤ 1e-3, logistic fit.
    Measured with max_iter = 1000: ρ₅₀ − ρ_DT = +0.002 (δ = 0.25) and −0.012
    (δ = 0.5; 3000 iterations: −0.006, slow convergence near the curve); the
    binomial error of ρ₅₀ is ~0.005. About 20 s per δ.
    """
    n = 500
    m = int(round(delta * n))
    dt = donoho_tanner(delta)
    ks = np.maximum(1, np.round(np.linspace(dt - 0.12, dt + 0.08, 11) * m)).astype(int)
    rho, ok = [], []
    for seed in range(20):
        res = solvers.get("amp", max_iter=1000).solve(_block(m, n, ks, seed=100 + seed))
        rho += list(ks / m)
        ok += list(res.rel_error <= 1e-3)
    fit = fit_logistic(rho, ok)
    assert fit["status"] == "ok"
    assert abs(fit["rho50"] - dt) < 0.02, fit
