"""Orthogonal Matching Pursuit: agreement with scikit-learn and OMP's own invariants."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.sparse.linalg import aslinearoperator
from sklearn.linear_model import orthogonal_mp, orthogonal_mp_gram

from sparserec import Problem, solvers
from sparserec.ensembles import make_problem
from sparserec.solvers.omp import _screening

# Agreement with scikit-learn: both run the same greedy selections and the same
# Cholesky least-squares solves; on these well-conditioned supports
# (cond(A_S) ~ 3) the coefficients differ only by roundoff ~1e-15, so 1e-10
# is loose and still catches any different atom or wrong refit.
AGREE = 1e-10


def sklearn_omp(A, Y, k):
    with warnings.catch_warnings():  # sklearn warns on its (shared) early stops
        warnings.simplefilter("ignore", RuntimeWarning)
        return orthogonal_mp(A, Y, n_nonzero_coefs=k)


@pytest.mark.parametrize("seed", range(5))
def test_matches_sklearn_single(seed):
    p = make_problem(64, 128, 8, seed=seed, noise_std=0.02)
    res = solvers.get("omp").solve(p)
    ref = sklearn_omp(p.A, p.y, p.k)
    assert np.array_equal(res.x != 0, ref != 0)
    assert np.max(np.abs(res.x - ref)) <= AGREE  # see AGREE
    assert res.n_iter == p.k and res.status == "converged" and res.reason == "solver"


@pytest.mark.parametrize("precompute", [False, True, "auto"])
@pytest.mark.parametrize("seed", range(3))
def test_matches_sklearn_multi(seed, precompute):
    p = make_problem(60, 100, 6, seed=seed, noise_std=0.02, n_signals=5)
    res = solvers.get("omp", precompute=precompute).solve(p)
    ref = sklearn_omp(p.A, p.Y, p.k)
    assert np.array_equal(res.x != 0, ref != 0)
    assert np.max(np.abs(res.x - ref)) <= AGREE  # see AGREE


@pytest.mark.parametrize("seed", range(3))
def test_gram_path_matches_orthogonal_mp_gram(seed):
    p = make_problem(60, 100, 7, seed=seed, noise_std=0.02, n_signals=4)
    res = solvers.get("omp", precompute=True).solve(p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = orthogonal_mp_gram(p.A.T @ p.A, p.A.T @ p.Y, n_nonzero_coefs=p.k)
    assert np.array_equal(res.x != 0, ref != 0)
    assert np.max(np.abs(res.x - ref)) <= AGREE  # see AGREE


def test_matches_sklearn_at_benchmark_size():
    # The benchmark instance (m=512, n=1024, k=50), where float32 screening runs.
    p = make_problem(512, 1024, 50, seed=0, noise_std=0.01)
    res = solvers.get("omp").solve(p)
    ref = sklearn_omp(p.A, p.y, p.k)
    assert np.array_equal(res.x != 0, ref != 0)
    assert np.max(np.abs(res.x - ref)) <= AGREE  # see AGREE


def test_near_tie_resolved_in_float64():
    # Columns 3 and 7 have correlations with y that differ by 5e-13 relative,
    # far below float32 resolution: in float32 they tie and the first maximum
    # (column 3) would win. The screening must hand the decision to float64,
    # which picks column 7 (the larger correlation), as scikit-learn does.
    rng = np.random.default_rng(2)
    m, n = 40, 20
    A = rng.standard_normal((m, n))
    A /= np.linalg.norm(A, axis=0)
    u = rng.standard_normal(m)
    u -= (u @ A[:, 7]) * A[:, 7]
    u /= np.linalg.norm(u)
    A[:, 3] = A[:, 7] + 1e-6 * u
    A[:, 3] /= np.linalg.norm(A[:, 3])  # a3ᵀa7 = 1/sqrt(1 + 1e-12)
    Q, _ = np.linalg.qr(np.column_stack([A[:, 7], u]))
    w = rng.standard_normal(m)
    w -= Q @ (Q.T @ w)
    y = A[:, 7] + 0.01 * w  # w ⟂ a7, u, so a3ᵀy = a7ᵀy / sqrt(1 + 1e-12)
    assert (A.T @ y)[7] > (A.T @ y)[3]
    A32, _ = _screening(A, 4)
    c32 = np.abs(A32.T @ (y / np.linalg.norm(y)).astype(np.float32))
    assert np.argmax(c32) == 3  # float32 alone would choose wrongly
    res = solvers.get("omp").solve(Problem(A, y, 4))
    ref = sklearn_omp(A, y, 4)
    assert res.x[7] != 0 and res.x[3] == 0
    assert np.array_equal(res.x != 0, ref != 0)
    assert np.max(np.abs(res.x - ref)) <= AGREE  # see AGREE


def test_screening_bound_is_rigorous():
    # |float32 correlation - float64 correlation| <= slack / 2 for r of unit norm,
    # including badly scaled residuals (the bound is on r / ||r||).
    rng = np.random.default_rng(1)
    A = rng.standard_normal((300, 500)) * rng.uniform(0.1, 3.0, size=500)
    A32, slack = _screening(A, 10)
    assert A32 is not None
    for scale in (1e-30, 1.0, 1e20):
        for _ in range(20):
            r = scale * rng.standard_normal(300) * rng.uniform(0, 1, size=300)
            rn = r / np.linalg.norm(r)
            c32 = (A32.T @ rn.astype(np.float32)).astype(np.float64)
            assert np.max(np.abs(c32 - A.T @ rn)) <= slack / 2


@pytest.mark.parametrize("seed", range(4))
def test_noiseless_exact_recovery(seed):
    # m = 128 >= 2k ln n = 111 (Tropp & Gilbert 2007): OMP recovers the support,
    # after which x is the least-squares solution, exact up to roundoff
    # (1e-12 relative leaves a factor ~1e3 over cond(A_S) * eps).
    p = make_problem(128, 256, 10, seed=seed)
    res = solvers.get("omp").solve(p)
    assert np.array_equal(res.support, p.x_true != 0)
    assert res.rel_error < 1e-12


def test_residual_orthogonal_to_selected_atoms():
    # The least-squares optimality condition: A_Γᵀ r = 0 (roundoff ~1e-15 * ||y||).
    p = make_problem(80, 160, 12, seed=3, noise_std=0.05)
    res = solvers.get("omp").solve(p)
    r = p.y - p.A @ res.x
    assert np.max(np.abs(p.A[:, res.support].T @ r)) <= 1e-12 * np.linalg.norm(p.y)


def test_tol_is_squared_residual_like_sklearn():
    p = make_problem(64, 128, 6, seed=4, noise_std=0.05).with_k(40)
    tol = 2.0 * 64 * 0.05 ** 2  # twice E||noise||²: reached before 40 atoms
    res = solvers.get("omp", tol=tol).solve(p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = orthogonal_mp(p.A, p.y, tol=tol)
    assert np.array_equal(res.x != 0, ref != 0)
    assert np.max(np.abs(res.x - ref)) <= AGREE  # see AGREE
    rn2 = res.history["residual_norm"] ** 2
    assert rn2[-1] <= tol < rn2[-2]  # stopped at the first iterate below tol
    assert res.n_iter < 40 and res.status == "converged"


def test_tol_does_not_lift_the_k_cap():
    p = make_problem(64, 128, 6, seed=4, noise_std=0.05)
    res = solvers.get("omp", tol=1e-30).solve(p)
    assert np.count_nonzero(res.x) == p.k


def test_max_iter_selects_that_many_atoms_and_paths_are_nested():
    p = make_problem(64, 128, 8, seed=5, noise_std=0.02)
    full = solvers.get("omp").solve(p)
    part = solvers.get("omp", max_iter=3).solve(p)
    assert part.n_iter == 3 and np.count_nonzero(part.x) == 3
    assert np.all(full.x[part.support] != 0)  # greedy: the first 3 atoms are kept
    # Residual norms of the first 3 iterations coincide (same computations).
    assert np.allclose(full.history["residual_norm"][:3], part.history["residual_norm"],
                       rtol=1e-12, atol=0)


def test_zero_signal_stops_at_once():
    p = make_problem(30, 60, 3, seed=0)
    res = solvers.get("omp").solve(Problem(p.A, np.zeros(30), 3))
    assert np.all(res.x == 0) and res.n_iter == 1 and res.status == "converged"


def test_dependent_atom_stops_like_sklearn():
    # m = 2: after two atoms the residual is 0 (roundoff), and any third atom is
    # either active or linearly dependent; both stop early with two atoms.
    A = np.array([[1.0, 0.0, np.sqrt(0.5)], [0.0, 1.0, np.sqrt(0.5)]])
    y = np.array([2.0, -0.5])
    res = solvers.get("omp").solve(Problem(A, y, 3))
    ref = sklearn_omp(A, y, 3)
    assert np.count_nonzero(res.x) == 2 and res.status == "converged"
    assert np.max(np.abs(res.x - ref)) <= 1e-14  # x = y on e1, e2, exactly representable


def test_warm_start_continues_the_greedy_path():
    # Starting from the first 3 atoms of a cold run reproduces the cold run:
    # the residual after a least-squares fit depends on the set, not the order.
    p = make_problem(64, 128, 8, seed=6, noise_std=0.02)
    cold = solvers.get("omp").solve(p)
    first3 = np.flatnonzero(solvers.get("omp", max_iter=3).solve(p).x)
    x0 = np.zeros(p.n)
    x0[first3] = 1.0  # values are ignored, only the support is used
    warm = solvers.get("omp").solve(p, x0=x0)
    assert warm.n_iter == p.k - 3
    assert np.max(np.abs(warm.x - cold.x)) <= AGREE  # same solves, other order


def test_warm_start_too_large_raises():
    p = make_problem(30, 60, 3, seed=0)
    x0 = np.zeros(60)
    x0[:4] = 1.0
    with pytest.raises(ValueError, match="The 'x0' argument of OMP.solve has 4 nonzeros"):
        solvers.get("omp").solve(p, x0=x0)


def test_linear_operator_matches_dense():
    p = make_problem(50, 100, 6, seed=7, noise_std=0.02)
    dense = solvers.get("omp").solve(p)
    op = solvers.get("omp").solve(Problem(aslinearoperator(p.A), p.y, p.k))
    assert np.array_equal(dense.support, op.support)
    assert np.max(np.abs(dense.x - op.x)) <= AGREE  # same selections, roundoff only


def test_float32_stays_float32_and_agrees():
    p = make_problem(64, 128, 5, seed=8)
    p32 = Problem(p.A.astype(np.float32), p.y.astype(np.float32), p.k)
    r64 = solvers.get("omp").solve(p)
    r32 = solvers.get("omp").solve(p32)
    assert r32.x.dtype == np.float32
    assert np.array_equal(r32.support, r64.support)
    # float32 roundoff (6e-8) times cond(A_S) (~3) and a few operations.
    assert np.linalg.norm(r32.x - r64.x) <= 1e-5 * np.linalg.norm(r64.x)


def test_objective_history_non_increasing():
    p = make_problem(64, 128, 12, seed=9, noise_std=0.1)
    obj = solvers.get("omp").solve(p).history["objective"]
    # Nested least-squares fits: f never increases (slack for roundoff only).
    assert np.all(np.diff(obj) <= 1e-12 * obj[:-1])


# ------------------------------------------------------------------ bad input
@pytest.fixture(scope="module")
def small():
    return make_problem(30, 60, 3, seed=0)


@pytest.mark.parametrize("value, exc, got", [
    (0, ValueError, "0"), (4, ValueError, "4"), (2.5, TypeError, "2.5"),
    (True, TypeError, "True"), ("3", TypeError, "'3'"),
])
def test_bad_max_iter(small, value, exc, got):
    msg = rf"^The 'max_iter' parameter of OMP must be None or an int in \[1, k=3\]; got {got}\.$"
    with pytest.raises(exc, match=msg):
        solvers.get("omp", max_iter=value).solve(small)


@pytest.mark.parametrize("value, exc, got", [
    (-1, ValueError, r"-1\.0"), (float("nan"), ValueError, "nan"), ("x", TypeError, "'x'"),
])
def test_bad_tol(small, value, exc, got):
    msg = rf"^The 'tol' parameter of OMP must be None or a finite real number >= 0; got {got}\.$"
    with pytest.raises(exc, match=msg):
        solvers.get("omp", tol=value).solve(small)


@pytest.mark.parametrize("value, exc, got", [
    ("yes", ValueError, "'yes'"), (1, TypeError, "1"), (None, TypeError, "None"),
])
def test_bad_precompute(small, value, exc, got):
    msg = rf"^The 'precompute' parameter of OMP must be True, False or 'auto'; got {got}\.$"
    with pytest.raises(exc, match=msg):
        solvers.get("omp", precompute=value).solve(small)


def test_precompute_needs_explicit_matrix(small):
    p = Problem(aslinearoperator(small.A), small.y, small.k)
    with pytest.raises(TypeError, match="OMP with precompute=True needs an explicit matrix A"):
        solvers.get("omp", precompute=True).solve(p)


def test_constructor_only_stores():
    solver = solvers.get("omp", max_iter=-1, tol="bad", precompute=42)
    assert solver.get_params() == {"max_iter": -1, "tol": "bad", "precompute": 42}


def test_operator_path_matches_dense():
    # An operator's columns are fetched into a cache as they are selected; the
    # arithmetic is the dense path's up to the summation order of the products.
    from scipy.sparse.linalg import aslinearoperator
    p = make_problem(50, 90, 5, seed=14, noise_std=0.02, n_signals=4)
    ref = solvers.get("omp").solve(p)
    res = solvers.get("omp").solve(Problem(aslinearoperator(p.A), p.y, p.sparsity.k))
    assert np.array_equal(res.support, ref.support)
    assert np.max(np.abs(res.x - ref.x)) <= AGREE  # see AGREE


@pytest.mark.parametrize("precompute", [False, True])
def test_atom_orthogonal_to_y_but_not_to_the_residual(precompute):
    # a_2 ⟂ y, yet after the first atom the residual correlates with it: OMP must go on
    # and fit y exactly with two atoms (scikit-learn's dense path stops here, testing aᵀy).
    A = np.array([[1, 0, 0, .2], [1, 1, 0, .3], [0, 0, 1, .9]], float)
    A /= np.linalg.norm(A, axis=0)
    res = solvers.get("omp", precompute=precompute).solve(Problem(A, np.array([1.0, 0, 0]), 2))
    np.testing.assert_allclose(A @ res.x, [1.0, 0, 0], atol=1e-12)  # exact fit, roundoff only


@pytest.mark.parametrize("precompute", [False, True])
@pytest.mark.parametrize("scale", [1e-9, 1e9])
def test_scale_invariant(precompute, scale):
    # OMP's selections depend only on directions: scaling y scales x (to roundoff).
    p = make_problem(40, 80, 5, seed=0)
    ref = solvers.get("omp", precompute=precompute).solve(p).x
    got = solvers.get("omp", precompute=precompute).solve(Problem(p.A, scale * p.y, 5)).x
    np.testing.assert_allclose(got / scale, ref, rtol=1e-9, atol=1e-12)
