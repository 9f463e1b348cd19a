"""CGIHT and the local-swap search: their defining properties, checked independently."""
import numpy as np
import pytest

from sparserec import Problem, solvers
from sparserec.ensembles import gaussian, make_problem, sparse_signal

from conftest import gaussian_problem


# ------------------------------------------------------------------------- CGIHT
def test_cgiht_without_thresholding_is_conjugate_gradients():
    # k = n: T_k is the identity and the support never changes, so CGIHT is CG on
    # AᵀAx = Aᵀy from 0, whose l-th iterate minimises ‖Ax − y‖ over the Krylov space
    # K_l(AᵀA, Aᵀy). Checked against a least-squares solve on an orthonormal Krylov basis.
    rng = np.random.default_rng(0)
    m, n = 40, 12
    A = rng.standard_normal((m, n)) * np.linspace(0.3, 2.0, n)  # cond(A) ~ 10
    y = rng.standard_normal(m)
    iterates = []
    solvers.get("cgiht", max_iter=6, tol=0).solve(
        Problem(A, y, n), callback=lambda info: iterates.append(info["x"]))
    H, b = A.T @ A, A.T @ y
    for l, x in enumerate(iterates, start=1):
        K = np.column_stack([np.linalg.matrix_power(H, i) @ b for i in range(l)])
        Q = np.linalg.qr(K)[0]
        best = Q @ np.linalg.lstsq(A @ Q, y, rcond=None)[0]
        # CG in floating point vs an orthonormalised Krylov basis, l <= 6, cond(H) ~ 1e2:
        # both accurate to ~1e-12 relative
        assert np.linalg.norm(x - best) <= 1e-9 * np.linalg.norm(best), l


def test_cgiht_first_step_is_the_niht_step():
    p = gaussian_problem(60, 120, 5, seed=3)
    x1 = []
    solvers.get("cgiht", max_iter=1, tol=0).solve(p, callback=lambda i: x1.append(i["x"]))
    x2 = []
    solvers.get("iht", step="normalized", max_iter=1, tol=0).solve(
        p, callback=lambda i: x2.append(i["x"]))
    np.testing.assert_allclose(x1[0], x2[0], rtol=1e-12)  # same formula, same arithmetic


def test_cgiht_recovers_where_niht_is_slow():
    # δ = 0.5, ρ ≈ 0.3 with Gaussian signals: CGIHT recovers every instance and needs
    # fewer iterations than NIHT (measured medians: 40 and 130 here)
    its = {"cgiht": [], "iht": []}
    for seed in range(5):
        p = make_problem(128, 256, 38, seed=seed)
        r = solvers.get("cgiht").solve(p)
        assert r.rel_error < 1e-6, seed
        its["cgiht"].append(r.n_iter)
        its["iht"].append(solvers.get("iht", step="normalized").solve(p).n_iter)
    assert np.median(its["cgiht"]) < np.median(its["iht"])


# ------------------------------------------------------------------------ swaps
def _rss(A, y, S):
    coef = np.linalg.lstsq(A[:, S], y, rcond=None)[0]
    r = y - A[:, S] @ coef
    return float(r @ r)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("init", [None, "htp", "omp"])
def test_swap_ends_swap_inescapable_and_least_squares_optimal(seed, init):
    # noisy, k below the truth: the search must stop at a support where no single
    # exchange lowers the residual (checked by refitting every exchange)
    p = gaussian_problem(20, 30, 4, seed=seed, noise_std=0.05, k_true=7)
    res = solvers.get("swap", init=init).solve(p)
    S = np.flatnonzero(res.x)
    assert S.size == 4
    r = p.y - p.A @ res.x
    # least squares on S: A_Sᵀr = 0 to roundoff (‖A‖ ~ 1, ‖y‖ ~ 1)
    assert np.max(np.abs(p.A[:, S].T @ r)) < 1e-12
    base = float(r @ r)
    for i in range(S.size):
        for j in np.setdiff1d(np.arange(p.n), S):
            T = S.copy()
            T[i] = j
            # a lower residual would be a missed exchange; swap_tol=1e-9 lets 1e-9·base through
            assert _rss(p.A, p.y, T) >= base * (1 - 1e-8)


def test_swap_never_worse_than_its_start():
    for seed in range(6):
        p = make_problem(64, 128, 24, seed=seed, noise_std=0.01)
        for init in ("htp", "subspace_pursuit", "omp"):
            start = solvers.get(init).solve(p)
            res = solvers.get("swap", init=init).solve(p)
            f0 = 0.5 * np.linalg.norm(p.y - p.A @ start.x) ** 2
            assert res.history["objective"][-1] <= f0 * (1 + 1e-12)  # roundoff of the refit


def test_swap_beats_htp_near_the_transition():
    # δ = 0.5, ρ ≈ 0.42, Gaussian signals (n = 256): measured 19/20 for swap and 10/20
    # for HTP on these seeds (at ρ ≈ 0.48: 14/20 and 0/20)
    wins = {"swap": 0, "htp": 0}
    for seed in range(20):
        p = make_problem(128, 256, 54, seed=100 + seed)
        for name in wins:
            wins[name] += solvers.get(name).solve(p).rel_error < 1e-3
    assert wins["swap"] >= wins["htp"] + 5


def test_swap_is_scale_free():
    p = make_problem(64, 128, 20, seed=4, noise_std=0.02)
    big = Problem(p.A, 1e8 * p.y, p.k)
    a = solvers.get("swap").solve(p)
    b = solvers.get("swap").solve(big)
    np.testing.assert_array_equal(a.support, b.support)
    assert a.n_iter == b.n_iter
    np.testing.assert_allclose(b.x, 1e8 * a.x, rtol=1e-9)  # refit of the same support


def test_swap_refresh_does_not_change_the_path():
    # rebuilding after every move (no rank-one drift at all) takes the same moves
    p = make_problem(96, 192, 30, seed=8, noise_std=0.01)
    a = solvers.get("swap", refresh=1).solve(p)
    b = solvers.get("swap", refresh=1000).solve(p)
    np.testing.assert_array_equal(a.support, b.support)
    assert a.n_iter == b.n_iter
    np.testing.assert_allclose(a.history["objective"], b.history["objective"], rtol=1e-9)


def test_swap_warm_start_keeps_the_given_support_when_it_is_optimal():
    rng = np.random.default_rng(5)
    A = gaussian(50, 100, rng)
    x = sparse_signal(100, 8, rng)
    p = Problem(A, A @ x, 8, x_true=x)
    res = solvers.get("swap").solve(p, x0=x)  # the truth: residual already 0
    assert res.n_iter == 1 and res.rel_error < 1e-12
    # from the k - 1 largest entries it adds the missing one
    x0 = x.copy()
    x0[np.flatnonzero(x)[np.argmin(np.abs(x[x != 0]))]] = 0
    res = solvers.get("swap").solve(p, x0=x0)
    assert res.rel_error < 1e-12


def test_swap_operator_problem_matches_dense():
    from scipy.sparse.linalg import aslinearoperator
    p = make_problem(40, 80, 6, seed=2, noise_std=0.01)
    a = solvers.get("swap").solve(p)
    b = solvers.get("swap").solve(Problem(aslinearoperator(p.A), p.y, p.k))
    np.testing.assert_array_equal(a.support, b.support)
    np.testing.assert_allclose(a.x, b.x, rtol=1e-10, atol=1e-14)  # same refit, roundoff


@pytest.mark.parametrize("bad, err, msg", [
    ("bogus", ValueError, r"The 'init' parameter of LocalSwap must be one of .*; got 'bogus'\."),
    (-1.0, ValueError, None),
])
def test_swap_param_errors(bad, err, msg):
    p = gaussian_problem(20, 40, 3, seed=0)
    if msg is not None:
        with pytest.raises(err, match=msg):
            solvers.get("swap", init=bad).solve(p)
    else:
        with pytest.raises(err, match=r"The 'swap_tol' parameter of LocalSwap must be .*"):
            solvers.get("swap", swap_tol=bad).solve(p)
    with pytest.raises(ValueError, match=r"The 'refresh' parameter of LocalSwap must be None "
                                         r"or an int >= 1; got 0\."):
        solvers.get("swap", refresh=0).solve(p)


def test_swap_without_the_gram_matrix_matches(monkeypatch):
    # n above gram_max_n: rows Aᵀa_j are computed per move instead of read from AᵀA
    from sparserec.solvers.swap import LocalSwap
    p = make_problem(48, 96, 12, seed=6, noise_std=0.01)
    a = solvers.get("swap").solve(p)
    monkeypatch.setattr(LocalSwap, "gram_max_n", 10)
    b = solvers.get("swap").solve(p)
    np.testing.assert_array_equal(a.support, b.support)
    assert a.n_iter == b.n_iter
    np.testing.assert_allclose(a.x, b.x, rtol=1e-10, atol=1e-14)  # same refit, roundoff


def test_swap_with_several_starts_keeps_the_best_fit():
    for seed in range(4):
        p = make_problem(64, 128, 22, seed=seed, signal="rademacher", noise_std=0.01)
        fits = {}
        for init in (None, "subspace_pursuit", "htp"):
            res = solvers.get("swap", init=init).solve(p)
            fits[init] = np.linalg.norm(p.y - p.A @ res.x)
        both = solvers.get("swap", init=(None, "subspace_pursuit", "htp")).solve(p)
        # the same searches, keeping the lowest residual: equal to the best one (roundoff)
        assert np.linalg.norm(p.y - p.A @ both.x) <= min(fits.values()) * (1 + 1e-12), seed
    one = solvers.get("swap", init=("htp",)).solve(p)
    np.testing.assert_array_equal(one.x, solvers.get("swap", init="htp").solve(p).x)
    with pytest.raises(ValueError, match=r"The 'init' parameter of LocalSwap must be one of "
                                         r".* or a non-empty tuple of them; got \(\)\."):
        solvers.get("swap", init=()).solve(p)


def test_several_starts_succeed_wherever_one_start_does():
    # δ = 0.5, ρ ≈ 0.45, Gaussian nonzeros: the stepwise start recovers instances that
    # the SP start misses. The pair must keep running until every start has stopped
    # (a start that is not the best yet may still reach the exact fit).
    for seed in range(8):
        p = make_problem(128, 256, 58, seed=100 + seed)
        single = {init: solvers.get("swap", init=init).solve(p).rel_error < 1e-6
                  for init in (None, "subspace_pursuit")}
        pair = solvers.get("swap", init=(None, "subspace_pursuit")).solve(p)
        assert (pair.rel_error < 1e-6) == any(single.values()), (seed, single)
