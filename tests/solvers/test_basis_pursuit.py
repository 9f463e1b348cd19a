"""Basis pursuit through cvxpy: the three forms, their optimality, and an exact LP oracle."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog
from scipy.sparse.linalg import LinearOperator, aslinearoperator

from sparserec import Problem, solvers
from sparserec.ensembles import make_problem
from sparserec.solvers import basis_pursuit as bp


def lp_l1(A, y, nonnegative=False):
    """Exact oracle: min ||x||_1 s.t. Ax = y as an LP (HiGHS), x = u - v."""
    m, n = A.shape
    if nonnegative:
        out = linprog(np.ones(n), A_eq=A, b_eq=y, bounds=(0, None), method="highs")
        return out.x
    out = linprog(np.ones(2 * n), A_eq=np.hstack([A, -A]), b_eq=y, bounds=(0, None),
                  method="highs")
    return out.x[:n] - out.x[n:]


# ------------------------------------------------------------------ DPP and caching
@pytest.mark.parametrize("form", bp.FORMS)
def test_programs_are_dpp(form):
    prog = bp.build_program(form, 6, 9)
    assert prog.problem.is_dcp(dpp=True)
    assert (prog.epsilon is not None) == (form == "noise")


def test_program_built_once_per_shape_and_reused():
    p1 = make_problem(20, 41, 3, seed=0)
    p2 = make_problem(20, 41, 3, seed=1)
    solvers.get("basis_pursuit").solve(p1)
    prog = bp._program("equality", 20, 41)
    solvers.get("basis_pursuit").solve(p2)
    assert bp._program("equality", 20, 41) is prog  # same cvxpy problem re-solved


def test_first_solve_is_bitwise_reproducible():
    # A fresh shape: the first solve builds and primes the program; the second
    # re-solves it. Both must take the same path (see BasisPursuit Notes).
    p = make_problem(21, 43, 3, seed=2)
    a = solvers.get("basis_pursuit").solve(p)
    b = solvers.get("basis_pursuit").solve(p)
    assert a.x.tobytes() == b.x.tobytes()


# ------------------------------------------------------------------ equality form
@pytest.mark.parametrize("seed", range(3))
def test_noiseless_recovery(seed):
    # delta = 0.5, rho = k/m = 0.078 is far below the Donoho-Tanner curve
    # (rho(0.5) = 0.386), so x_true is the unique l1 minimiser; Clarabel's 1e-8
    # gap/feasibility tolerances give ~1e-8 relative error, below the 1e-5 target.
    p = make_problem(128, 256, 10, seed=seed)
    res = solvers.get("basis_pursuit").solve(p)
    assert res.rel_error < 1e-5
    assert res.status == "converged" and res.n_iter == 1 and res.reason == "solver"
    check_support(res.x, p.x_true)


def check_support(x, x_true):
    """The support holds the true one; spurious entries are solver roundoff.

    Off-support entries of an interior-point solution sit at ~1e-10..1e-9 of
    max|x|, so the 1e-9 zero threshold removes most but not all of them; none
    exceeds 1e-7 (a margin of ~100 over the 1e-8 solver tolerances).
    """
    true = x_true != 0
    assert np.all(x[true] != 0)
    assert np.all(np.abs(x[~true]) <= 1e-7 * np.abs(x).max())


def test_matches_exact_lp_beyond_the_phase_transition():
    # rho = 0.6 > rho(0.5): BP no longer recovers x_true, but the l1 minimiser
    # is still unique (generic A), so the conic solve must match the simplex
    # vertex. Interior-point accuracy ~1e-8 relative, amplified by the
    # conditioning of the optimal basis: 1e-6 relative is a safe bound.
    p = make_problem(40, 80, 24, seed=3)
    res = solvers.get("basis_pursuit").solve(p)
    ref = lp_l1(p.A, p.y)
    assert res.rel_error > 1e-2  # truly beyond recovery
    assert np.linalg.norm(res.x - ref) <= 1e-6 * np.linalg.norm(ref)
    # Optimal values: |obj - obj*| <= 1e-7 relative (duality gap tolerance 1e-8 + roundoff).
    assert abs(np.abs(res.x).sum() - np.abs(ref).sum()) <= 1e-7 * np.abs(ref).sum()


def test_equality_constraint_holds():
    p = make_problem(50, 120, 8, seed=4)
    res = solvers.get("basis_pursuit").solve(p)
    # Feasibility tolerance 1e-8 (relative to the data scale ~||y||).
    assert np.linalg.norm(p.A @ res.x - p.y) <= 1e-7 * np.linalg.norm(p.y)


def test_small_entries_are_exact_zeros():
    p = make_problem(40, 80, 24, seed=5)  # dense-ish solution with small entries
    x = solvers.get("basis_pursuit").solve(p).x
    nz = x[x != 0]
    assert np.all(np.abs(nz) > bp.ZERO_THRESHOLD * np.abs(x).max())


def test_multi_rhs_equals_single_solves():
    p = make_problem(40, 80, 4, seed=6, n_signals=3)
    res = solvers.get("basis_pursuit").solve(p)
    for t in range(3):
        single = solvers.get("basis_pursuit").solve(Problem(p.A, p.Y[:, t], p.k))
        # Same program, same parameter values: identical data reach the solver.
        assert np.array_equal(res.x[:, t], single.x)
    assert list(res.status) == ["converged"] * 3


def test_linear_operator_is_densified():
    p = make_problem(40, 80, 4, seed=7)
    dense = solvers.get("basis_pursuit").solve(p)
    op = solvers.get("basis_pursuit").solve(Problem(aslinearoperator(p.A), p.y, p.k))
    # columns(range(n)) = A @ I reproduces A exactly, so the same program is solved.
    assert np.max(np.abs(op.x - dense.x)) <= 1e-12


def test_huge_linear_operator_is_refused():
    n = bp.MAX_DENSIFY + 1
    op = LinearOperator((10, n), matvec=lambda v: np.zeros(10), rmatvec=lambda v: np.zeros(n),
                        dtype=np.float64)
    with pytest.raises(TypeError, match="BasisPursuit needs an explicit matrix A"):
        solvers.get("basis_pursuit").solve(Problem(op, np.ones(10), 1))


# ------------------------------------------------------------------ nonnegative form
def nonnegative_problem(m, n, k, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    x = np.zeros(n)
    x[rng.choice(n, size=k, replace=False)] = rng.uniform(0.5, 1.5, size=k)
    return Problem(A, A @ x, k, x_true=x)


def test_nonnegative_recovers_and_is_nonnegative():
    # delta = 0.5, rho = 0.25 < rho_+(0.5) = 0.558 (Donoho-Tanner, nonnegative):
    # x_true is the unique nonnegative l1 minimiser; 1e-5 as in the signed case.
    p = nonnegative_problem(64, 128, 16, seed=8)
    res = solvers.get("basis_pursuit", form="nonnegative").solve(p)
    assert np.all(res.x >= 0)
    assert res.rel_error < 1e-5
    check_support(res.x, p.x_true)


def test_nonnegative_matches_exact_lp():
    p = nonnegative_problem(30, 80, 20, seed=9)  # rho = 0.67: beyond recovery
    res = solvers.get("basis_pursuit", form="nonnegative").solve(p)
    ref = lp_l1(p.A, p.y, nonnegative=True)
    # Same optimum value (gap tolerance 1e-8 relative, plus roundoff).
    assert abs(res.x.sum() - ref.sum()) <= 1e-7 * ref.sum()
    assert np.all(res.x >= 0)


def test_nonnegative_infeasible_raises():
    # A > 0 entrywise and y < 0: no x >= 0 has Ax = y.
    rng = np.random.default_rng(10)
    A = np.abs(rng.standard_normal((10, 20)))
    with pytest.raises(RuntimeError, match=r"status 'infeasible'.*not in the cone"):
        solvers.get("basis_pursuit", form="nonnegative").solve(Problem(A, -np.ones(10), 2))


# ------------------------------------------------------------------ noise form
def test_noise_form_feasible_and_below_truth():
    sigma = 0.01
    p = make_problem(80, 160, 6, seed=11, noise_std=sigma)
    eps = sigma * np.sqrt(80 + 2 * np.sqrt(160))
    res = solvers.get("basis_pursuit", form="noise").solve(p)
    # Constraint satisfied up to the solver's feasibility tolerance (1e-8 relative).
    assert np.linalg.norm(p.A @ res.x - p.y) <= eps * (1 + 1e-6)
    # x_true is feasible here, so the minimiser's l1 norm is no larger (gap 1e-8).
    assert np.linalg.norm(p.A @ p.x_true - p.y) <= eps
    assert np.abs(res.x).sum() <= np.abs(p.x_true).sum() * (1 + 1e-7)
    # Stable recovery: error of the order of the noise (Candès-Romberg-Tao).
    assert np.linalg.norm(res.x - p.x_true) <= 10 * eps


def test_noise_default_epsilon_formula():
    sigma = 0.02
    p = make_problem(60, 120, 5, seed=12, noise_std=sigma)
    eps = sigma * np.sqrt(60 + 2 * np.sqrt(2 * 60))
    auto = solvers.get("basis_pursuit", form="noise").solve(p)
    explicit = solvers.get("basis_pursuit", form="noise", epsilon=eps).solve(p)
    assert np.array_equal(auto.x, explicit.x)  # same radius, same program


def test_noise_form_active_constraint():
    # y is not sparse-representable exactly, so the ball constraint is active:
    # ||Ax - y|| = epsilon up to the feasibility tolerance.
    p = make_problem(50, 100, 5, seed=13, noise_std=0.05)
    res = solvers.get("basis_pursuit", form="noise", epsilon=0.1).solve(p)
    assert abs(np.linalg.norm(p.A @ res.x - p.y) - 0.1) <= 1e-6


# ------------------------------------------------------------------ bad input
@pytest.fixture(scope="module")
def small():
    return make_problem(20, 40, 3, seed=0)


def test_bad_form(small):
    msg = (r"^The 'form' parameter of BasisPursuit must be one of 'equality', 'noise', "
           r"'nonnegative'; got 'lasso'\.$")
    with pytest.raises(ValueError, match=msg):
        solvers.get("basis_pursuit", form="lasso").solve(small)


def test_noise_form_needs_epsilon_when_noiseless(small):
    with pytest.raises(ValueError, match=r"^The 'epsilon' parameter of BasisPursuit must be a "
                       r"positive real number when form='noise' and the problem has "
                       r"noise_std=0 .*; got None\.$"):
        solvers.get("basis_pursuit", form="noise").solve(small)


@pytest.mark.parametrize("value, exc, got", [
    (0.0, ValueError, r"0\.0"), (-1.0, ValueError, r"-1\.0"), ("a", TypeError, "'a'"),
    (float("inf"), ValueError, "inf"),
])
def test_bad_epsilon(small, value, exc, got):
    msg = (r"^The 'epsilon' parameter of BasisPursuit must be None or a positive real "
           rf"number; got {got}\.$")
    with pytest.raises(exc, match=msg):
        solvers.get("basis_pursuit", form="noise", epsilon=value).solve(small)


def test_epsilon_only_for_noise_form(small):
    with pytest.raises(ValueError, match=r"^The 'epsilon' parameter of BasisPursuit must be None "
                       r"when form='equality' \(only form='noise' uses it\); got 0\.1\.$"):
        solvers.get("basis_pursuit", epsilon=0.1).solve(small)


def test_bad_cvxpy_solver(small):
    with pytest.raises(ValueError, match=r"^The 'cvxpy_solver' parameter of BasisPursuit must be "
                       r"the name of an installed cvxpy solver \(.*CLARABEL.*\); got 'NOPE'\.$"):
        solvers.get("basis_pursuit", cvxpy_solver="NOPE").solve(small)


def test_bad_solver_options(small):
    with pytest.raises(TypeError, match=r"^The 'solver_options' parameter of BasisPursuit must "
                       r"be None or a dict; got \[1\]\.$"):
        solvers.get("basis_pursuit", solver_options=[1]).solve(small)


def test_class_attributes():
    cls = solvers.solver_class("basis_pursuit")
    assert cls.enforces_k is False  # BP has no k
    assert "max_iter" not in cls._param_names()


# ------------------------------------------------------------------ homotopy fast path
def test_homotopy_and_cvxpy_agree_across_the_transition():
    # delta = 0.5 at n = 80: k from 4 to 24 crosses the l1 curve (rho_DT(0.5) = 0.386,
    # k = 15). The certificate proves that x is the unique l1 minimiser (whether or
    # not it is x_true): with generic Gaussian data every column is certified. The
    # exact LP (HiGHS, a vertex, 1e-7 feasibility) must give the same x, and cvxpy
    # too, to its interior-point accuracy (Clarabel's 1e-8 gap becomes ~1e-6 in x on
    # the ill-conditioned supports beyond the curve: 1e-5), so the success decisions
    # are the same.
    ks = np.arange(4, 25, 2)
    rng = np.random.default_rng(3)
    A = rng.standard_normal((40, 80)) / np.sqrt(40)
    X = np.zeros((80, ks.size))
    for t, k in enumerate(ks):
        X[rng.choice(80, k, replace=False), t] = rng.standard_normal(k)
    p = Problem(A, A @ X, ks, x_true=X)
    fast = solvers.get("basis_pursuit").solve(p)
    ref = solvers.get("basis_pursuit", method="cvxpy").solve(p)
    cert = fast.history["certified"]
    assert cert.all() and int(fast.history["fallback"][0]) == 0
    for t in range(ks.size):
        np.testing.assert_allclose(fast.x[:, t], lp_l1(A, p.y[:, t]), atol=1e-7)
    np.testing.assert_allclose(fast.x, ref.x, atol=1e-5)
    ok_fast = np.linalg.norm(fast.x - p.x_true, axis=0) <= 1e-4 * np.linalg.norm(p.x_true, axis=0)
    ok_ref = np.linalg.norm(ref.x - p.x_true, axis=0) <= 1e-4 * np.linalg.norm(p.x_true, axis=0)
    np.testing.assert_array_equal(ok_fast, ok_ref)
    assert ok_fast[:3].all() and not ok_fast[-3:].any()  # both sides of the transition


def test_uncertified_columns_fall_back_to_cvxpy(monkeypatch):
    # Columns the homotopy cannot certify are re-solved by cvxpy, and counted.
    p = make_problem(30, 60, 4, seed=6, n_signals=3)
    real = bp.l1_homotopy

    def half_certified(A, Y, **kw):
        X, cert, steps = real(A, Y, **kw)
        return np.zeros_like(X), np.array([True, False, False]) & cert, steps

    monkeypatch.setattr(bp, "l1_homotopy", half_certified)
    res = solvers.get("basis_pursuit").solve(p)
    assert res.history["certified"].tolist() == [True, False, False]
    assert int(res.history["fallback"][0]) == 2
    assert not np.any(res.x[:, 0])  # the (doctored) certified column kept the fast path
    np.testing.assert_allclose(res.x[:, 1:], p.x_true[:, 1:], atol=1e-6)  # cvxpy: 1e-8 gaps


def test_homotopy_nonnegative_matches_lp():
    p = nonnegative_problem(30, 60, 8, seed=4)
    res = solvers.get("basis_pursuit", form="nonnegative").solve(p)
    assert res.history["certified"].all()
    np.testing.assert_allclose(res.x, lp_l1(p.A, p.y, nonnegative=True), atol=1e-7)  # HiGHS 1e-7


def test_noise_form_always_uses_cvxpy():
    p = make_problem(30, 60, 3, seed=5, noise_std=0.01)
    res = solvers.get("basis_pursuit", form="noise").solve(p)
    assert not res.history["certified"].any()


def test_bad_method(small):
    with pytest.raises(ValueError, match="'method' parameter of BasisPursuit"):
        solvers.get("basis_pursuit", method="lars").solve(small)
