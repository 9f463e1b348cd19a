"""The OMP step and the ℓ1 homotopy kernels against their NumPy twins and oracles.

This file also passes with ``NUMBA_DISABLE_JIT=1`` (the kernels then run as
plain Python), so the sizes stay small.

Tolerances. The kernels and their twins perform the same operations except
for the summation order of dot products, so iterates agree to a few ulps
relative to the data (``1e-10``, far above 1e3·ε and far below any decision
margin of these well-conditioned random instances); decisions (selected
atoms, supports, certificates) must agree exactly.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from sparserec.kernels.homotopy import (CERT_MARGIN, certify, l1_homotopy, l1_homotopy_numba,
                                        l1_homotopy_numpy)
from sparserec.kernels.omp import omp_step_numba, omp_step_numpy

AGREE = 1e-10  # see the module docstring


def _instance(m, n, ks, seed, nonneg=False):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    X = np.zeros((n, len(ks)))
    for t, k in enumerate(ks):
        vals = rng.standard_normal(k)
        X[rng.choice(n, k, replace=False), t] = np.abs(vals) if nonneg else vals
    return A, X, A @ X


def _omp_run(step, gram, A, Y, caps, tol=-1.0):
    """Run OMP to completion with one kernel; returns X and the per-step selections."""
    m, n = A.shape
    T = Y.shape[1]
    caps = np.asarray(caps, dtype=np.int64)
    ok = np.concatenate(([0], np.cumsum(caps)[:-1])).astype(np.int64)
    oL = np.concatenate(([0], np.cumsum(caps * caps)[:-1])).astype(np.int64)
    L, z = np.zeros(int(np.sum(caps * caps))), np.zeros(int(caps.sum()))
    x, idx = np.zeros(int(caps.sum())), np.full(int(caps.sum()), -1, dtype=np.int64)
    s, flag = np.zeros(T, dtype=np.int64), np.zeros(T, dtype=np.int64)
    AF, slot = np.asfortranarray(A), np.arange(n, dtype=np.int64)
    G = A.T @ A if gram else np.empty((0, 0))
    B = np.ascontiguousarray(A.T @ Y)
    yy = np.einsum("ij,ij->j", Y, Y)
    X, R = np.zeros((n, T)), Y.copy()
    done = np.zeros(T, dtype=bool)
    for _ in range(int(caps.max())):
        lams = np.argmax(np.abs(A.T @ R), axis=0).astype(np.int64)
        step_done = np.zeros(T, dtype=bool)
        step(gram, G, AF, slot, B, Y, yy, lams, L, z, x, idx, s, caps, ok, oL, X, R,
             step_done, flag, float(np.finfo(float).eps), tol)
        done |= step_done
    return X, idx, s


@pytest.mark.parametrize("gram", [False, True])
def test_omp_step_twin(gram):
    A, _, Y = _instance(30, 60, [1, 4, 7, 2], seed=3)
    caps = [1, 4, 7, 5]
    Xn, idx_n, s_n = _omp_run(omp_step_numba, gram, A, Y, caps)
    Xp, idx_p, s_p = _omp_run(omp_step_numpy, gram, A, Y, caps)
    np.testing.assert_array_equal(idx_n, idx_p)
    np.testing.assert_array_equal(s_n, s_p)
    np.testing.assert_allclose(Xn, Xp, rtol=0, atol=AGREE)  # see AGREE


@pytest.mark.parametrize("gram", [False, True])
def test_omp_step_matches_least_squares_oracle(gram):
    # At every stop, x is the least-squares fit on the selected atoms and the
    # selected atoms are those of a plain OMP written from the definition.
    A, X0, Y = _instance(25, 50, [3, 5], seed=8)
    X, idx, s = _omp_run(omp_step_numba, gram, A, Y, [3, 5])
    for t, (k, off) in enumerate([(3, 0), (5, 3)]):
        r, S = Y[:, t].copy(), []
        for _ in range(k):
            S.append(int(np.argmax(np.abs(A.T @ r))))
            coef = np.linalg.lstsq(A[:, S], Y[:, t], rcond=None)[0]
            r = Y[:, t] - A[:, S] @ coef
        assert list(idx[off:off + k]) == S
        np.testing.assert_allclose(X[S, t], coef, atol=AGREE)  # see AGREE


def test_omp_step_residual_tol_and_dependent_atom():
    # tol stops a signal once ‖r‖² <= tol; a duplicated column is refused (flag 2).
    A, _, Y = _instance(20, 30, [2], seed=1)
    _, _, s = _omp_run(omp_step_numba, True, A, Y, [6], tol=1e-20)
    assert s[0] == 2  # exact 2-sparse fit reached: stops on the residual test
    A2 = np.hstack([A[:, :1], A[:, :1], A[:, 1:]])
    y = A2[:, :1] * 2.0 + 1e-3 * A2[:, 5:6]
    for step in (omp_step_numba, omp_step_numpy):
        _, _, s = _omp_run(step, True, A2, y, [3])
        assert s[0] <= 2  # the duplicate of an active atom is never appended


# --------------------------------------------------------------- homotopy
@pytest.mark.parametrize("nonneg", [False, True])
def test_homotopy_twin(nonneg):
    A, _, Y = _instance(20, 40, [2, 5, 9], seed=5, nonneg=nonneg)
    Xn, cn, sn = l1_homotopy_numba(A, Y, nonneg=nonneg)
    Xp, cp, sp = l1_homotopy_numpy(A, Y, nonneg=nonneg)
    np.testing.assert_array_equal(cn, cp)
    np.testing.assert_array_equal(Xn != 0, Xp != 0)
    np.testing.assert_allclose(Xn, Xp, atol=1e-9)  # path events compound roundoff: 1e-9


@pytest.mark.parametrize("nonneg", [False, True])
def test_homotopy_matches_linear_program(nonneg):
    # Basis pursuit as an LP (x = u − v, u, v ≥ 0; or x ≥ 0), solved by HiGHS: an
    # independent oracle. Certified columns must agree with it to the LP's accuracy.
    A, _, Y = _instance(30, 60, [3, 6, 10, 14], seed=11, nonneg=nonneg)
    X, certified, _ = l1_homotopy(A, Y, nonneg=nonneg)
    n = A.shape[1]
    for t in range(Y.shape[1]):
        if nonneg:
            lp = linprog(np.ones(n), A_eq=A, b_eq=Y[:, t], bounds=(0, None), method="highs")
            x_lp = lp.x
        else:
            lp = linprog(np.ones(2 * n), A_eq=np.hstack([A, -A]), b_eq=Y[:, t],
                         bounds=(0, None), method="highs")
            x_lp = lp.x[:n] - lp.x[n:]
        assert lp.status == 0
        if certified[t]:
            # HiGHS' primal feasibility tolerance is 1e-7; the certified minimiser is unique
            np.testing.assert_allclose(X[:, t], x_lp, atol=1e-6)
        else:  # an uncertified column must at least not beat the LP optimum
            assert np.sum(np.abs(X[:, t])) >= np.sum(np.abs(x_lp)) - 1e-6


def test_certificate_checks_the_dual_vector():
    # certify returns True exactly when A_Sᵀw = s has a solution with ‖A_Sᶜᵀw‖∞ < 1.
    A, X0, Y = _instance(30, 60, [3], seed=2)
    y = Y[:, 0]
    S = np.flatnonzero(X0[:, 0])
    signs = np.zeros(60)
    signs[S] = np.sign(X0[S, 0])
    x, ok = certify(A, y, signs)
    AS = A[:, S]
    w = AS @ np.linalg.solve(AS.T @ AS, signs[S])  # minimum-norm dual vector
    off = np.delete(np.arange(60), S)
    assert ok == (np.max(np.abs(A[:, off].T @ w)) < 1 - CERT_MARGIN)
    assert ok  # 3-sparse in 30 measurements: far inside the ℓ1 region
    np.testing.assert_allclose(x, X0[:, 0], atol=1e-12)  # refit on S: roundoff only
    wrong = signs.copy()
    wrong[S[0]] *= -1  # a wrong sign pattern can never be certified for this y
    assert not certify(A, y, wrong)[1]


def test_homotopy_zero_and_orthogonal_signals():
    A, _, _ = _instance(10, 20, [1], seed=0)
    X, certified, steps = l1_homotopy(A, np.zeros((10, 2)))
    assert not np.any(X) and steps.tolist() == [0, 0]
