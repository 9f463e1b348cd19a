"""Invariants of the thresholding family that theory promises.

* NIHT (and IHT with step 1/||A||^2) never increases f(x) = ½||Ax − y||².
* HTP stops by itself when the support repeats (x then repeats exactly).
* Subspace Pursuit never increases the residual (it keeps the old iterate).
* Multi-RHS block solves equal per-column solves.

Instances span the (delta, rho) plane at n=200, including rho well above the
phase transition where the solvers fail to recover: the invariants must hold
there too.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from sparserec import Problem, solvers

from conftest import gaussian_problem

N = 200
#: (m, k, seed) over delta = m/n in {0.2, 0.4, 0.6, 0.8} and rho = k/m in
#: {0.1, 0.3, 0.5, 0.7}, two seeds each, truncated to 30 instances. rho >= 0.5
#: is beyond the recovery region of every method here (hard instances).
INSTANCES = [(int(d * N), max(1, int(r * int(d * N))), s)
             for d in (0.2, 0.4, 0.6, 0.8) for r in (0.1, 0.3, 0.5, 0.7) for s in (0, 1)][:30]


def instance(m, k, s, **kw):
    return gaussian_problem(m, N, k, seed=1000 + m + s, **kw)


@lru_cache(maxsize=None)
def niht_run(m, k, s):
    """NIHT on one instance (cached: two tests read the same runs)."""
    p = instance(m, k, s)
    return p, solvers.get("iht", step="normalized", max_iter=300).solve(p)


def _ids(cases):
    return [f"m{m}-k{k}-s{s}" for m, k, s in cases]


def f0(problem):
    return 0.5 * float(np.sum(problem.Y ** 2))


def assert_nonincreasing(obj, start, slack=1e-12):
    """``obj`` (with ``start`` prepended) never increases by more than ``slack`` relative.

    Slack 1e-12: NIHT/IHT update the residual recursively (r⁺ = r − A d), so
    the recorded objective carries accumulated roundoff of order 1e-16 relative
    per iteration (measured: at most 7e-16); a genuine increase from a wrong
    step is many orders larger.
    """
    o = np.concatenate([[start], np.asarray(obj, dtype=float)])
    worst = np.max(np.diff(o) / o[:-1]) if o.size > 1 else -np.inf
    assert worst <= slack, worst


def test_instances_include_hard_ones():
    # Guard that the list really contains failures (otherwise "monotone on hard
    # instances" would be vacuous): NIHT misses at least a quarter of them.
    fails = 0
    for m, k, s in INSTANCES:
        fails += niht_run(m, k, s)[1].rel_error > 1e-3
    assert fails >= len(INSTANCES) // 4


@pytest.mark.parametrize("m,k,s", INSTANCES, ids=_ids(INSTANCES))
def test_niht_objective_nonincreasing(m, k, s):
    p, res = niht_run(m, k, s)
    assert_nonincreasing(res.history["objective"], f0(p))


@pytest.mark.parametrize("m,k,s", INSTANCES[::3], ids=_ids(INSTANCES[::3]))
def test_iht_safe_step_objective_nonincreasing(m, k, s):
    # With mu <= 1/||A||^2, f(x) + (1/2mu)||z − x||² − ½||A(z − x)||² majorises
    # f, and T_k minimises the majoriser: f(x⁺) <= f(x) (Blumensath & Davies 2009).
    p = instance(m, k, s)
    res = solvers.get("iht", max_iter=300).solve(p)
    assert_nonincreasing(res.history["objective"], f0(p))


def test_niht_monotone_multi_rhs():
    p = gaussian_problem(80, N, 30, seed=3, n_signals=4)  # rho = 0.375: hard
    res = solvers.get("iht", step="normalized", max_iter=200).solve(p)
    for t in range(4):
        assert_nonincreasing(res.history["objective"][:, t], 0.5 * float(p.Y[:, t] @ p.Y[:, t]))


# ---------------------------------------------------------------- HTP
@pytest.mark.parametrize("m,k,s", INSTANCES[::2], ids=_ids(INSTANCES[::2]))
def test_htp_stops_when_support_repeats(m, k, s):
    p = instance(m, k, s)
    # tol=0 disables the generic stopping tests: only HTP's own rule can stop it.
    res = solvers.get("htp", tol=0, max_iter=200).solve(p)
    assert res.status == "converged" and res.reason == "solver"
    assert res.n_iter < 200
    assert res.history["support_changes"][-1] == 0
    # Restarting at the returned x reproduces it in one iteration: the same
    # support gives the same least-squares refit (up to the matvec roundoff in
    # the restart residual, ~1e-15 relative; no support change is possible at
    # that level unless a tie is exact).
    again = solvers.get("htp", tol=0, max_iter=200).solve(p, x0=res.x)
    assert again.n_iter == 1 and again.reason == "solver"
    np.testing.assert_allclose(again.x, res.x, rtol=0, atol=1e-10 * np.linalg.norm(res.x))


# ---------------------------------------------------------------- Subspace Pursuit
@pytest.mark.parametrize("m,k,s", INSTANCES, ids=_ids(INSTANCES))
def test_sp_residual_never_increases(m, k, s):
    p = instance(m, k, s, noise_std=0.01)
    res = solvers.get("subspace_pursuit", tol=0).solve(p)
    r = res.history["residual_norm"]
    # Exact, no slack: SP keeps the previous iterate (and its stored residual)
    # whenever the new residual is not smaller, so the sequence is monotone
    # bit for bit.
    assert np.all(np.diff(r) <= 0)
    # The start is a least-squares fit on a support: never worse than x = 0.
    assert r[0] <= np.linalg.norm(p.y) * (1 + 1e-14)  # LS projection, up to roundoff


# ---------------------------------------------------------------- multi-RHS
@pytest.mark.parametrize("name,params", [("cosamp", {}), ("subspace_pursuit", {}), ("htp", {}),
                                         ("htp", {"step": None}), ("iht", {"step": "normalized"})])
def test_multi_rhs_matches_single(name, params):
    # Six signals of mixed difficulty (easy, hard, noisy) share A, so columns
    # stop at different iterations.
    rng = np.random.default_rng(42)
    m, k = 60, 12
    base = gaussian_problem(m, N, k, seed=42, n_signals=6)
    Y = base.Y + rng.standard_normal(base.Y.shape) * np.array([0, 0, 1e-3, 1e-2, 0.1, 1.0])
    p = Problem(base.A, Y, k)
    block = solvers.get(name, **params).solve(p)
    assert len(set(np.asarray(block.n_iter).tolist())) > 1  # columns stopped at different times
    for t in range(6):
        single = solvers.get(name, **params).solve(Problem(base.A, Y[:, t], k))
        # Same arithmetic per column; block vs vector BLAS only reorder sums
        # (~1e-15 relative), far from flipping a top-k choice.
        np.testing.assert_allclose(block.x[:, t], single.x, rtol=0,
                                   atol=1e-10 * max(1.0, np.linalg.norm(single.x)))
        assert block.n_iter[t] == single.n_iter
        assert block.status[t] == single.status
