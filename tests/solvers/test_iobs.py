"""Topk-I-OBS, I-OBS, the one-shot OBS pruners, and the logistic objective."""
import numpy as np
import pytest
from scipy.optimize import check_grad

from sparserec import Problem, solvers
from sparserec.curvature import ExactGram, Identity, WoodFisher, make_curvature
from sparserec.ensembles import conditioned, make_problem
from sparserec.problems import (GramProblem, LayerProblem, LogisticRegression, ObjectiveProblem,
                                Sparsity)
from sparserec.projection import Projection, obs_correction
from sparserec.solvers._newton import selection_scale


def woodfisher_prune(w, F, k, update):
    """WoodFisher's projection of one dense vector (the solver's selection and correction)."""
    proj = Projection("saliency", "sum" if update == "sum" else "obs")
    return proj(w[:, None], Sparsity.per_column(k, w.size, 1), F)[0][:, 0]


def _ls_on(A, y, S):
    u = np.linalg.lstsq(A[:, S], y, rcond=None)[0]
    x = np.zeros(A.shape[1])
    x[S] = u
    return x


# --------------------------------------------------------------- correction
def test_obs_correction_is_ls_refit_for_any_set():
    rng = np.random.default_rng(0)
    m, n, k = 50, 20, 6
    A = rng.standard_normal((m, n))
    y = rng.standard_normal(m)
    p = Problem(A, y, k)
    C = make_curvature("exact", p)
    H = A.T @ A
    for _ in range(5):
        S = np.sort(rng.choice(n, k, replace=False))
        x = rng.standard_normal(n) * (rng.random(n) < 0.5)
        g = A.T @ (A @ x - y)
        u = obs_correction(C, S, (H @ x - g)[S])  # b = Ĥx − ηg with η = 1
        # cond(A_SᵀA_S) ~ 5: LS solutions agree to ~1e-14; 1e-10 as specified
        np.testing.assert_allclose(u, _ls_on(A, y, S)[S], atol=1e-10)
        # the OBS group formula from the Newton target z = x − Ĥ⁻¹g gives the same point
        z = x - np.linalg.solve(H, g)
        Q = np.setdiff1d(np.arange(n), S)
        Hi = np.linalg.inv(H)
        v = z - Hi[:, Q] @ np.linalg.solve(Hi[np.ix_(Q, Q)], z[Q])
        np.testing.assert_allclose(v[Q], 0, atol=1e-10)
        np.testing.assert_allclose(v[S], u, atol=1e-10)


def test_one_iobs_step_returns_ls_on_true_support():
    rng = np.random.default_rng(1)
    m, n, k = 80, 40, 5
    A = rng.standard_normal((m, n))
    x_true = np.zeros(n)
    S = np.sort(rng.choice(n, k, replace=False))
    x_true[S] = 3.0 + rng.random(k)
    y = A @ x_true + 0.05 * rng.standard_normal(m)
    p = Problem(A, y, k)
    for sel in ("saliency", "greedy", "topk"):
        x0 = rng.standard_normal(n) * 5
        res = solvers.get("iobs", selection=sel, max_iter=1).solve(p, x0=x0)
        assert np.array_equal(np.flatnonzero(res.x), S)
        # Newton target = global LS (from any start); refit on S: ~1e-14, 1e-10 asked
        np.testing.assert_allclose(res.x, _ls_on(A, y, S), atol=1e-10)


def test_exact_selection_solves_best_subset():
    rng = np.random.default_rng(2)
    m, n, k = 30, 10, 3
    A = rng.standard_normal((m, n))
    A[:, 1] = A[:, 0] + 0.2 * A[:, 1]
    y = rng.standard_normal(m)
    p = Problem(A, y, k)
    res = solvers.get("iobs", selection="exact", max_iter=1).solve(p)
    import itertools
    best = min(np.sum((A @ _ls_on(A, y, list(S)) - y) ** 2)
               for S in itertools.combinations(range(n), k))
    # one exact I-OBS step with exact curvature = best-subset selection (DESIGN.md)
    assert np.sum((A @ res.x - y) ** 2) <= best * (1 + 1e-10)


def test_identity_curvature_is_iht():
    p = make_problem(60, 120, 5, seed=3)
    mu = 1.0 / p.norm2() ** 2
    a = solvers.get("iobs", curvature=Identity(), step=mu, max_iter=30, tol=0).solve(p)
    b = solvers.get("iht", step=mu, max_iter=30, tol=0).solve(p)
    np.testing.assert_allclose(a.x, b.x, atol=1e-12)  # identical arithmetic up to ordering


# --------------------------------------------------------- convergence speed
def _iterations_to(solver, p, target=1e-6):
    hit = {}

    def cb(info):
        if np.linalg.norm(info["x"] - p.x_true) <= target * np.linalg.norm(p.x_true):
            hit.setdefault("it", info["iteration"])
            return True
    solver.solve(p, callback=cb)
    return hit.get("it", np.inf)


def test_newton_methods_need_a_tenth_of_iht_iterations_when_ill_conditioned():
    rng = np.random.default_rng(4)
    m, n, k = 200, 100, 5
    A = conditioned(m, n, kappa=100.0, rng=rng)
    x = np.zeros(n)
    x[rng.choice(n, k, replace=False)] = rng.choice([-1.0, 1.0], k) * (1 + rng.random(k))
    p = Problem(A, A @ x, k, x_true=x)
    # plain IHT (step 1/‖A‖²) contracts at ~1 − 1/κ_S² per step: it does not reach
    # 1e-6 within 2000 iterations, so its count is taken as > 2000 (a lower bound);
    # NIHT reaches it and gives a finite baseline.
    n_iht = _iterations_to(solvers.get("iht", max_iter=2000, tol=0), p)
    n_iht = min(n_iht, 2001)
    n_niht = _iterations_to(solvers.get("iht", step="normalized", max_iter=5000, tol=0), p)
    assert np.isfinite(n_niht)
    for name in ("topk_iobs", "iobs"):
        n_new = _iterations_to(solvers.get(name, max_iter=100, tol=0), p)
        assert n_new <= n_iht / 10 and n_new <= n_niht / 10, (name, n_new, n_iht, n_niht)


def test_damped_underdetermined_recovers():
    p = make_problem(64, 128, 5, seed=5)
    for name in ("topk_iobs", "iobs"):
        res = solvers.get(name, damping=0.01).solve(p)
        assert res.rel_error < 1e-8  # noiseless, k << m: exact recovery up to rounding


def test_multi_signal_and_float32():
    p = make_problem(64, 128, 4, seed=6, n_signals=3)
    res = solvers.get("iobs", damping=0.01).solve(p)
    assert res.x.shape == (128, 3) and np.all(res.rel_error < 1e-8)
    p32 = Problem(p.A.astype(np.float32), p.y.astype(np.float32), 4, x_true=p.x_true)
    r32 = solvers.get("iobs", damping=0.01).solve(p32)
    assert r32.x.dtype == np.float32
    np.testing.assert_allclose(r32.x, res.x, atol=1e-4)  # float32 data: ~1e-6 relative


# ------------------------------------------------------- the default for m < n
def test_default_iobs_recovers_an_underdetermined_problem():
    p = make_problem(100, 400, 10, seed=12, signal="rademacher")
    solver = solvers.get("iobs")
    res = solver.solve(p)
    assert res.params["step"] == "auto" and res.params["damping"] == "auto"
    # noiseless, ρ = 0.1 at δ = 0.25 (far below every transition): exact up to rounding
    assert res.rel_error < 1e-8 and res.status == "converged"
    # the unit Newton step of the paper (step=1) stalls on this instance at its first support
    stuck = solvers.get("iobs", step=1.0).solve(p)
    assert stuck.rel_error > 1e-2


def test_selection_scale_is_n_over_the_degrees_of_freedom():
    rng = np.random.default_rng(13)
    m, n = 30, 90
    A = rng.standard_normal((m, n)) * rng.uniform(0.5, 2.0, n)
    p = Problem(A, rng.standard_normal(m), 5)
    curv = make_curvature("exact", p, 0.01)
    # df = tr((AᵀA + λI)⁻¹AᵀA) two ways: n − λ·tr(Ĥ⁻¹) (Woodbury), Σ σ²/(σ² + λ) (SVD)
    sv = np.linalg.svd(A, compute_uv=False)
    df = np.sum(sv ** 2 / (sv ** 2 + curv.lam))
    assert selection_scale(curv) == pytest.approx(n / df, rel=1e-10)  # two exact formulas
    assert df == pytest.approx(m, rel=0.05)      # λ is 1 % of mean(diag): df just below m
    assert selection_scale(make_curvature("exact", make_problem(60, 30, 3, seed=0))) == 1.0


def test_auto_step_is_the_unit_newton_step_for_positive_definite_curvature():
    p = make_problem(80, 40, 5, seed=14)
    a = solvers.get("iobs").solve(p)
    b = solvers.get("iobs", step=1.0).solve(p)
    np.testing.assert_array_equal(a.x, b.x)      # the same arithmetic: η = 1, no scaling
    assert a.rel_error < 1e-8


@pytest.mark.parametrize("relax", [1.5, 4.0])
def test_relaxed_selection_step_decreases_the_residual_or_reaches_one(relax):
    """Rule of step="auto" for m < n: a step whose support changes either lowers the
    residual or was taken with relax = 1; relax never grows and stays in [1, relax]."""
    p = make_problem(60, 200, 12, seed=15, n_signals=4)
    solver = solvers.get("iobs", relax=relax)
    solver._validate_params(p)
    state = p.init_state(np.zeros((p.n, p.n_signals)))
    state["j"] = np.arange(p.n_signals)
    state = solver._setup(p, state)
    assert np.all(state["relax"] == relax)
    for _ in range(25):
        X, res, before = state["X"].copy(), np.linalg.norm(state["R"], axis=0), \
            state["relax"].copy()
        state["done"] = np.zeros(p.n_signals, dtype=bool)   # as the base loop does
        state = solver._step(p, state)
        after = state["relax"]
        np.testing.assert_allclose(state["R"], p.Y - p.A @ state["X"], atol=1e-10)
        assert np.all(after <= before) and np.all(after >= 1.0)
        changed = np.any((state["X"] != 0) != (X != 0), axis=0)
        lowered = np.linalg.norm(state["R"], axis=0) < res
        assert np.all(~changed | lowered | (after == 1.0))
        assert np.all(np.count_nonzero(state["X"], axis=0) <= 12)


def test_relax_one_is_the_unrelaxed_rule():
    # relax = 1 never shrinks: it is the plain n/df selection step
    p = make_problem(60, 200, 8, seed=16)
    res = solvers.get("iobs", relax=1.0).solve(p)
    assert res.rel_error < 1e-8


# ----------------------------------------------------------------- errors
def test_errors_match_text():
    p = make_problem(20, 40, 3, seed=7)
    for name in ("topk_iobs", "iobs"):
        with pytest.raises(ValueError, match=r"needs Ĥ⁻¹ .*singular.*Pass 'damping'"):
            solvers.get(name, damping=None).solve(p)
    with pytest.raises(ValueError, match="The 'selection' parameter of IOBS must be one of"):
        solvers.get("iobs", selection="best", damping=0.01).solve(p)
    with pytest.raises(ValueError, match=r"n <= 20 only; got n=40"):
        solvers.get("iobs", selection="exact", damping=0.01).solve(p)
    with pytest.raises(ValueError, match=r"The 'relax' parameter of IOBS must be .*\[1.0, inf\]"):
        solvers.get("iobs", relax=0.5).solve(p)
    with pytest.raises(TypeError, match="The 'relax' parameter of IOBS must be"):
        solvers.get("iobs", relax="big").solve(p)
    with pytest.raises(ValueError, match="The 'step' parameter of IOBS must be 'auto', None"):
        solvers.get("iobs", step="fast").solve(p)
    with pytest.raises(ValueError, match="The 'step' parameter of TopkIOBS must be"):
        solvers.get("topk_iobs", step="auto", damping=0.01).solve(p)
    with pytest.raises(ValueError, match="The 'curvature' parameter of IOBS must be"):
        solvers.get("iobs", curvature="hessian").solve(p)
    with pytest.raises(ValueError, match="The 'damping' parameter of TopkIOBS must be"):
        solvers.get("topk_iobs", damping=0.0).solve(p)
    with pytest.raises(ValueError, match="least-squares solution .* Pass 'damping'"):
        solvers.get("obs", damping=None).solve(p)
    with pytest.raises(ValueError, match="WoodFisher needs damping"):
        solvers.get("woodfisher", damping=None).solve(p, x0=np.ones(40))


# ---------------------------------------------------------------- pruners
def test_one_shot_pruners():
    rng = np.random.default_rng(8)
    m, n = 60, 12
    A = rng.standard_normal((m, n))
    y = rng.standard_normal(m)
    p = Problem(A, y, n - 1)
    H = A.T @ A
    w = np.linalg.solve(H, A.T @ y)
    # OBS with k = n − 1: removes argmin w_q²/[H⁻¹]_qq and lands on the LS refit
    q = int(np.argmin(w ** 2 / np.diag(np.linalg.inv(H))))
    S = np.delete(np.arange(n), q)
    np.testing.assert_allclose(solvers.get("obs", damping=None).solve(p).x, _ls_on(A, y, S),
                               atol=1e-10)
    # OBD keeps the top of h_qq w_q² and does not correct
    r = solvers.get("obd", damping=None).solve(p.with_k(4))
    keep = np.sort(np.argsort(-np.diag(H) * w ** 2, kind="stable")[:4])
    np.testing.assert_allclose(r.x[keep], w[keep], rtol=1e-10)
    assert np.count_nonzero(r.x) == 4
    # WoodFisher "group" update = exact refit on S in the Fisher metric; "sum" differs
    F = WoodFisher(A, lam=1e-3)
    g = woodfisher_prune(w, F, 5, update="group")
    S = np.flatnonzero(g)
    Fd = F.dense()
    expect = np.linalg.solve(Fd[np.ix_(S, S)], (Fd @ w)[S])
    np.testing.assert_allclose(g[S], expect, rtol=1e-8)  # cond(F) ~ 10: Woodbury ~1e-13
    s = woodfisher_prune(w, F, 5, update="sum")
    assert np.array_equal(np.flatnonzero(s), S)
    res = solvers.get("woodfisher", update="group").solve(p.with_k(5))
    assert np.count_nonzero(res.x) == 5


# -------------------------------------------------------- smooth objectives
def _logistic(seed=9, N=200, n=30, k=5, labels01=True):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, n))
    theta = np.zeros(n)
    theta[rng.choice(n, k, replace=False)] = 2.0 * rng.choice([-1, 1], k)
    lab = (rng.random(N) < 1 / (1 + np.exp(-X @ theta))).astype(float)
    if not labels01:
        lab = 2 * lab - 1
    return LogisticRegression(X, lab, l2=1e-3), theta


@pytest.mark.parametrize("labels01", [True, False])
def test_logistic_gradient_and_hessian(labels01):
    f, _ = _logistic(labels01=labels01)
    rng = np.random.default_rng(10)
    for _ in range(3):
        x = rng.standard_normal(f.n)
        # check_grad uses forward differences with h ~ 1.5e-8: error ~ h·‖∇²f‖ ~ 1e-7
        assert check_grad(f.value, f.gradient, x) < 1e-5
        err = check_grad(lambda z: f.gradient(z)[0], lambda z: f.hessian(z)[0], x)
        assert err < 1e-5
        v = rng.standard_normal(f.n)
        np.testing.assert_allclose(f.hvp(x, v), f.hessian(x) @ v, rtol=1e-10)


def test_iobs_on_logistic_is_monotone():
    f, theta = _logistic()
    prob = ObjectiveProblem(f, 5, x_true=theta)
    for sel in ("saliency", "greedy"):
        res = solvers.get("iobs", damping=0.01, selection=sel, max_iter=30).solve(prob)
        obj = np.concatenate([[f.value(np.zeros(f.n))], res.history["objective"]])
        assert np.all(np.diff(obj) <= 1e-12)  # non-increasing by the safeguard
        assert obj[-1] < 0.8 * obj[0]
        assert np.count_nonzero(res.x) <= 5
    res = solvers.get("topk_iobs", damping=0.01, max_iter=30).solve(prob)
    assert np.all(np.diff(res.history["objective"]) <= 1e-12)


def test_gram_problem_matches_least_squares():
    p = make_problem(80, 40, 4, seed=11)
    g = GramProblem(p.A.T @ p.A, p.A.T @ p.y, 4, c=0.5 * p.y @ p.y)
    a = solvers.get("iobs", max_iter=20).solve(g)
    b = solvers.get("iobs", max_iter=20).solve(p)
    np.testing.assert_allclose(a.x, b.x, atol=1e-9)  # same iteration, different float paths
    assert isinstance(make_curvature("exact", g), ExactGram)


# ------------------------------------------------ one vocabulary, every problem type
def _three_problems():
    """The same kind of pruning task as least squares, a layer and an objective."""
    rng = np.random.default_rng(30)
    A = rng.standard_normal((60, 16)) * rng.uniform(0.3, 3.0, 16)
    A[:, 1] += A[:, 0]
    x0 = rng.standard_normal(16)
    ls = Problem(A, A @ x0 + 0.1 * rng.standard_normal(60), 6)
    layer = LayerProblem(A, rng.standard_normal((16, 5)), 0.5)
    lab = (A @ x0 + rng.standard_normal(60) > 0).astype(float)
    obj = ObjectiveProblem(LogisticRegression(A, lab, l2=1e-2), 6)
    return [(ls, x0), (layer, None), (obj, x0)]


@pytest.mark.parametrize("name,alt_curvature", [("obd", "identity"), ("obs", "diagonal"),
                                                ("woodfisher", "diagonal")])
@pytest.mark.parametrize("which", [0, 1, 2], ids=["least_squares", "layer", "objective"])
def test_pruners_honour_curvature_and_damping(name, alt_curvature, which):
    """Changing a pruner's curvature or damping changes its result on every problem type."""
    problem, x0 = _three_problems()[which]
    base = solvers.get(name).solve(problem, x0=x0).x
    heavy = solvers.get(name, damping=3.0).solve(problem, x0=x0).x
    other = solvers.get(name, curvature=alt_curvature).solve(problem, x0=x0).x
    assert not np.allclose(base, heavy), "damping ignored"
    assert not np.allclose(base, other), "curvature ignored"


def test_iobs_with_nm_on_a_layer_is_obs_then_iterates():
    """``iobs`` with "2:4" on a LayerProblem: step 1 from W is OBS's 2:4 pruning."""
    _, (layer, _), _ = _three_problems()
    p = layer.with_sparsity("2:4")
    obs = solvers.get("obs").solve(p).x
    one = solvers.get("iobs", selection="greedy", damping=0.01, correction="damped",
                      max_iter=1).solve(p).x
    np.testing.assert_array_equal(one != 0, obs != 0)
    # greedy's sequential updates vs one restricted solve per output: cond(Ĥ) ~ 1e3
    np.testing.assert_allclose(one, obs, atol=1e-9 * np.abs(p.W).max())
    more = solvers.get("iobs", selection="greedy", damping=0.01, correction="damped", step=0.5,
                       max_iter=5, tol=0).solve(p)
    assert np.all(more.n_iter == 5)
    from sparserec.projection import check_nm_mask
    assert check_nm_mask(more.x == 0, 2, 4)
    assert p.relative_error(more.x) <= p.relative_error(obs) * (1 + 1e-9)
