"""Problem construction: bad input fails with a sentence; operators match dense matrices."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from sparserec import Problem, solvers
from sparserec.ensembles import gaussian, partial_dct

from conftest import gaussian_problem


def data(m=6, n=10, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, n)), rng.standard_normal(m)


# ---------------------------------------------------------------- bad input, one case each
def test_shape_mismatch():
    A, _ = data()
    with pytest.raises(ValueError, match=r"The 'y' argument of Problem must have 6 rows to "
                                         r"match 'A' of shape \(6, 10\); got shape \(5,\)\."):
        Problem(A, np.ones(5), 2)


def test_k_zero():
    A, y = data()
    with pytest.raises(ValueError, match=r"The 'k' parameter of Problem must be an int in "
                                         r"\[1, n_features=10\].*; got 0\."):
        Problem(A, y, 0)


def test_k_negative():
    A, y = data()
    with pytest.raises(ValueError, match=r"The 'k' parameter of Problem must be an int in "
                                         r"\[1, n_features=10\].*; got -3\."):
        Problem(A, y, -3)


def test_k_too_large():
    A, y = data()
    with pytest.raises(ValueError, match=r"must be an int in \[1, n_features=10\].*; got 11\."):
        Problem(A, y, 11)


def test_k_not_int():
    A, y = data()
    with pytest.raises(TypeError, match=r"The 'k' parameter of Problem must be an int in "
                                        r"\[1, n_features=10\].*; got 2\.5\."):
        Problem(A, y, 2.5)


def test_k_bool_refused():
    A, y = data()
    with pytest.raises(TypeError, match=r"The 'k' parameter of Problem .*; got True\."):
        Problem(A, y, True)


def test_k_numpy_int_accepted():
    A, y = data()
    assert Problem(A, y, np.int32(3)).k == 3


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_A(bad):
    A, y = data()
    A[2, 3] = bad
    with pytest.raises(ValueError, match="The 'A' argument of Problem contains NaN or Inf"):
        Problem(A, y, 2)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nonfinite_y(bad):
    A, y = data()
    y[1] = bad
    with pytest.raises(ValueError, match="The 'y' argument of Problem contains NaN or Inf"):
        Problem(A, y, 2)


def test_nonfinite_sparse_A():
    A, y = data()
    A[0, 0] = np.nan
    with pytest.raises(ValueError, match="The 'A' argument of Problem contains NaN or Inf"):
        Problem(sp.csr_matrix(A), y, 2)


@pytest.mark.parametrize("name", ["iht", "htp", "cosamp", "subspace_pursuit"])
def test_nonfinite_x0(name):
    A, y = data()
    x0 = np.zeros(10)
    x0[4] = np.nan
    cls = solvers.solver_class(name).__name__
    with pytest.raises(ValueError, match=rf"The 'x0' argument of {cls}\.solve contains NaN or Inf"):
        solvers.get(name).solve(Problem(A, y, 2), x0=x0)


def test_x0_wrong_shape():
    A, y = data()
    with pytest.raises(ValueError, match=r"The 'x0' argument of IHT\.solve must have shape \(10,\); "
                                         r"got \(9,\)\."):
        solvers.get("iht").solve(Problem(A, y, 2), x0=np.zeros(9))


def test_complex_A():
    A, y = data()
    with pytest.raises(TypeError, match="The 'A' argument of Problem must be real; got complex"):
        Problem(A + 1j, y, 2)


def test_complex_y():
    A, y = data()
    with pytest.raises(TypeError, match="The 'y' argument of Problem must be real; got complex"):
        Problem(A, y.astype(complex), 2)


def test_complex_sparse_A():
    A, y = data()
    with pytest.raises(TypeError, match="The 'A' argument of Problem must be real"):
        Problem(sp.csr_matrix(A.astype(complex)), y, 2)


def test_non_numeric_A():
    with pytest.raises(TypeError, match="The 'A' argument of Problem must be a real numeric array"):
        Problem(np.array([["a", "b"], ["c", "d"]]), np.ones(2), 1)


def test_empty_A():
    with pytest.raises(ValueError, match=r"The 'A' argument of Problem must be non-empty; got shape \(0, 5\)"):
        Problem(np.empty((0, 5)), np.empty(0), 1)


def test_empty_A_columns():
    with pytest.raises(ValueError, match=r"The 'A' argument of Problem must be non-empty; got shape \(3, 0\)"):
        Problem(np.empty((3, 0)), np.ones(3), 1)


def test_empty_sparse_A():
    with pytest.raises(ValueError, match=r"The 'A' argument of Problem must be non-empty"):
        Problem(sp.csr_matrix((0, 4)), np.empty(0), 1)


def test_empty_y_block():
    A, _ = data()
    with pytest.raises(ValueError, match=r"The 'y' argument of Problem must be non-empty; got shape \(6, 0\)"):
        Problem(A, np.empty((6, 0)), 1)


def test_A_wrong_ndim():
    with pytest.raises(ValueError, match=r"The 'A' argument of Problem must be 2-D; got shape \(4,\)"):
        Problem(np.ones(4), np.ones(4), 1)


def test_all_zero_dense_A():
    with pytest.raises(ValueError, match="The 'A' argument of Problem is all zeros"):
        Problem(np.zeros((4, 6)), np.ones(4), 1)


def test_all_zero_sparse_A():
    with pytest.raises(ValueError, match="The 'A' argument of Problem is all zeros"):
        Problem(sp.csr_matrix((4, 6)), np.ones(4), 1)


def test_explicit_zeros_sparse_A():
    # Stored entries that are all 0.0 still make a zero matrix.
    A = sp.csr_matrix((np.zeros(3), ([0, 1, 2], [0, 1, 2])), shape=(4, 6))
    assert A.nnz == 3
    with pytest.raises(ValueError, match="The 'A' argument of Problem is all zeros"):
        Problem(A, np.ones(4), 1)


def test_x_true_wrong_shape():
    A, y = data()
    with pytest.raises(ValueError, match=r"The 'x_true' argument of Problem must have shape \(10,\)"):
        Problem(A, y, 2, x_true=np.zeros(7))


@pytest.mark.parametrize("step", [-1.0, 0, 0.0])
def test_nonpositive_step(step):
    A, y = data()
    with pytest.raises(ValueError, match=r"The 'step' parameter of IHT must be None, a positive "
                                         rf"real number or 'normalized'; got {step!r}\."):
        solvers.get("iht", step=step).solve(Problem(A, y, 2))


def test_nonfinite_step():
    A, y = data()
    with pytest.raises(ValueError, match=r"The 'step' parameter of HTP must be .*; got inf\."):
        solvers.get("htp", step=np.inf).solve(Problem(A, y, 2))


def test_unknown_solver_name():
    with pytest.raises(ValueError, match=r"Unknown solver 'lasso'; available solvers are: .*iht"):
        solvers.get("lasso")


def test_wrong_problem_type():
    with pytest.raises(TypeError, match=r"IHT\.solve expects a Problem; got ndarray\."):
        solvers.get("iht").solve(np.eye(3))


def test_callback_not_callable():
    A, y = data()
    with pytest.raises(TypeError, match=r"The 'callback' argument of IHT\.solve must be callable"):
        solvers.get("iht").solve(Problem(A, y, 2), callback=3)


# ---------------------------------------------------------------- accepted input
def test_inputs_are_views_not_copies():
    A, y = data()
    p = Problem(A, y, 2)
    assert np.shares_memory(p.A, A) and np.shares_memory(p.Y, y)


def test_dtype_rules():
    A, y = data()
    assert Problem(A.astype(np.float32), y.astype(np.float32), 2).dtype == np.float32
    assert Problem(A.astype(np.float32), y, 2).dtype == np.float64
    assert Problem(A.astype(np.int64), y, 2).A.dtype == np.float64
    assert Problem(A.astype(np.float16), y, 2).A.dtype == np.float64


def test_sparse_A_matches_dense():
    p = gaussian_problem(40, 80, 4, seed=3)
    A = p.A.copy()
    A[np.abs(A) < 0.1] = 0.0
    y = A @ p.x_true
    dense = solvers.get("htp").solve(Problem(A, y, 4))
    sparse = solvers.get("htp").solve(Problem(sp.csr_matrix(A), y, 4))
    # Same arithmetic up to summation order in the products (~1e-15).
    np.testing.assert_allclose(sparse.x, dense.x, rtol=0, atol=1e-10)


@pytest.fixture(scope="module")
def dct_pair():
    rng = np.random.default_rng(21)
    op = partial_dct(64, 128, rng=rng)
    D = op.todense()
    x = np.zeros(128)
    x[rng.choice(128, 6, replace=False)] = rng.standard_normal(6)
    return op, D, D @ x, x


@pytest.mark.parametrize("name,params", [("iht", {}), ("iht", {"step": "normalized"}),
                                         ("htp", {}), ("cosamp", {}), ("subspace_pursuit", {})])
def test_linear_operator_matches_dense(name, params, dct_pair):
    op, D, y, x = dct_pair
    r_op = solvers.get(name, **params).solve(Problem(op, y, 6))
    r_dense = solvers.get(name, **params).solve(Problem(D, y, 6))
    # Same iteration on both: the FFT-based and the dense products differ by
    # ~1e-15 per product; supports coincide, so iterates differ at roundoff.
    np.testing.assert_allclose(r_op.x, r_dense.x, rtol=0, atol=1e-8)
    assert r_op.n_iter == r_dense.n_iter


def test_linear_operator_multi_rhs(dct_pair):
    op, D, y, x = dct_pair
    Y = np.column_stack([y, 2 * y])
    r_op = solvers.get("htp").solve(Problem(op, Y, 6))
    r_dense = solvers.get("htp").solve(Problem(D, Y, 6))
    np.testing.assert_allclose(r_op.x, r_dense.x, rtol=0, atol=1e-8)  # roundoff only, as above


def test_operator_columns_match_dense(dct_pair):
    op, D, _, _ = dct_pair
    S = np.array([0, 5, 77, 127])
    # A DCT column computed by a transform vs the same entries of todense():
    # both are O(n log n eps) accurate.
    np.testing.assert_allclose(Problem(op, np.ones(64), 1).columns(S), D[:, S], atol=1e-12)


@pytest.mark.parametrize("m,n", [(20, 50), (50, 20), (33, 33)])
def test_norm2_dense(m, n):
    A = gaussian(m, n, rng=np.random.default_rng(m * n))
    # LAPACK eigenvalues of the Gram matrix vs SVD: both backward stable, so
    # they agree to ~1e-15 relative; 1e-10 is safe.
    assert Problem(A, np.ones(m), 1).norm2() == pytest.approx(np.linalg.norm(A, 2), rel=1e-10)


def test_norm2_clustered_spectrum(dct_pair):
    # A partial DCT has A Aᵀ = (n/m) I: every singular value equal, which made
    # the default LAPACK driver (syevr) fail; the exact value is sqrt(n/m).
    _, D, y, _ = dct_pair
    assert Problem(D, y, 1).norm2() == pytest.approx(np.sqrt(2.0), rel=1e-12)


def test_norm2_operator(dct_pair):
    op, D, y, _ = dct_pair
    # Lanczos (tol 1e-8) times the 1 + 1e-6 safety factor: within 2e-6 above.
    val = Problem(op, y, 1).norm2()
    ref = np.linalg.norm(D, 2)
    assert ref <= val <= ref * (1 + 2e-6)


def test_norm2_sparse():
    A = sp.random(30, 60, density=0.2, random_state=np.random.default_rng(4), format="csr")
    ref = np.linalg.norm(A.toarray(), 2)
    val = Problem(A, np.ones(30), 1).norm2()
    assert ref <= val * (1 + 1e-12) and val <= ref * (1 + 2e-6)  # Lanczos, as above
