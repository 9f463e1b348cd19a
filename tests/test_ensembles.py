"""Seeded generators: determinism, scaling laws, exact structure.

Statistical checks use a fixed seed, so they are deterministic; each
tolerance is a stated number of standard deviations of the quantity checked,
chosen so that a correct generator would fail for fewer than ~1e-6 of seeds.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.linalg import toeplitz
from scipy.sparse.linalg import LinearOperator

from sparserec import Problem
from sparserec.ensembles import (MATRICES, as_generator, conditioned, correlated, gaussian,
                                 make_problem, partial_dct, rademacher, sparse_signal)


def dense(A):
    return A.todense() if isinstance(A, LinearOperator) else A


# ---------------------------------------------------------------- determinism
@pytest.mark.parametrize("kind", sorted(MATRICES))
def test_seeded_determinism(kind):
    a = dense(MATRICES[kind](20, 40, rng=123))
    b = dense(MATRICES[kind](20, 40, rng=np.random.default_rng(123)))
    c = dense(MATRICES[kind](20, 40, rng=np.random.SeedSequence(123)))
    assert a.tobytes() == b.tobytes() == c.tobytes()
    d = dense(MATRICES[kind](20, 40, rng=124))
    assert not np.array_equal(a, d)


def test_make_problem_determinism():
    p = make_problem(30, 60, 5, seed=9, n_signals=2, noise_std=0.1)
    q = make_problem(30, 60, 5, seed=9, n_signals=2, noise_std=0.1)
    assert p.A.tobytes() == q.A.tobytes()
    assert p.y.tobytes() == q.y.tobytes()
    assert p.x_true.tobytes() == q.x_true.tobytes()


def test_no_global_rng_touched():
    state = np.random.get_state()[1].copy()
    gaussian(5, 5, rng=None)
    sparse_signal(10, 3, None)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_as_generator_rejects_bad_rng():
    with pytest.raises(TypeError, match="The 'rng' argument must be a numpy.random.Generator"):
        as_generator("seed")


# ---------------------------------------------------------------- Gaussian / Rademacher
def test_gaussian_scaling():
    m, n = 256, 512
    A = gaussian(m, n, rng=0)
    sq = np.sum(A ** 2, axis=0)  # each ~ chi2_m / m: mean 1, std sqrt(2/m)
    # Mean over n independent columns: std sqrt(2/(m n)); allow 6 sigma.
    assert abs(sq.mean() - 1) <= 6 * np.sqrt(2 / (m * n))
    # Every column: |sq - 1| <= 6 sigma, even for the worst of n=512 columns
    # (P(|Z| > 6) * 512 ~ 1e-6).
    assert np.max(np.abs(sq - 1)) <= 6 * np.sqrt(2 / m)
    # Entry law N(0, 1/m): KS test on sqrt(m) A (seeded; p > 1e-6 for a correct law).
    assert stats.kstest(np.sqrt(m) * A.ravel(), "norm").pvalue > 1e-6


def test_rademacher_exact():
    A = rademacher(16, 40, rng=1)
    m = 16
    # Entries are exactly ±1/sqrt(m), so column norms are 1 to roundoff (~1e-16).
    np.testing.assert_allclose(np.abs(A), 1 / np.sqrt(m), rtol=1e-15)
    np.testing.assert_allclose(np.linalg.norm(A, axis=0), 1.0, rtol=1e-12)
    frac = np.mean(A > 0)  # Bernoulli(1/2) over 640 entries: std 0.02
    assert abs(frac - 0.5) <= 6 * 0.5 / np.sqrt(A.size)


# ---------------------------------------------------------------- conditioned
@pytest.mark.parametrize("m,n", [(30, 60), (60, 30), (40, 40)])
@pytest.mark.parametrize("kappa", [1.0, 10.0, 1e3])
def test_conditioned_exact(m, n, kappa):
    A = conditioned(m, n, kappa=kappa, rng=5)
    # Built from exact orthonormal factors: singular values carry only
    # ~1e-15 roundoff, so cond is kappa to ~kappa*1e-15 relative.
    assert np.linalg.cond(A) == pytest.approx(kappa, rel=1e-8)
    assert np.linalg.norm(A, 2) == pytest.approx(1.0, rel=1e-12)


def test_conditioned_bad_kappa():
    with pytest.raises(ValueError, match=r"The 'kappa' parameter of conditioned must be a finite "
                                         r"real number in \[1\.0, inf\]; got 0\.5\."):
        conditioned(4, 4, kappa=0.5)


# ---------------------------------------------------------------- correlated
@pytest.mark.parametrize("r", [0.5, -0.7, 0.9])
def test_correlated_covariance(r):
    m, n = 20_000, 6
    A = correlated(m, n, r=r, rng=7)
    Sigma = toeplitz(r ** np.arange(n))
    G = A.T @ A  # rows ~ N(0, Sigma/m), so E[AᵀA] = Sigma
    # Each entry is a mean of m products g_i g_j / m with Var(g_i g_j) =
    # S_ii S_jj + S_ij^2 <= 2: std <= sqrt(2/m) = 0.01; allow 6 sigma.
    np.testing.assert_allclose(G, Sigma, rtol=0, atol=6 * np.sqrt(2 / m))


def test_correlated_bad_r():
    with pytest.raises(ValueError, match=r"The 'r' parameter of correlated must be a finite real "
                                         r"number in \(-1\.0, 1\.0\); got 1\.0\."):
        correlated(4, 4, r=1.0)


# ---------------------------------------------------------------- partial DCT
@pytest.fixture(scope="module")
def dct():
    return partial_dct(64, 256, rng=3)


def test_partial_dct_dot_test(dct):
    rng = np.random.default_rng(8)
    for _ in range(3):
        x = rng.standard_normal(256)
        y = rng.standard_normal(64)
        lhs, rhs = np.dot(dct.matvec(x), y), np.dot(x, dct.rmatvec(y))
        # Adjoint pair of orthonormal transforms: both sides are the same
        # bilinear form up to O(log n * eps) roundoff relative to |x||y|.
        assert abs(lhs - rhs) <= 1e-12 * np.linalg.norm(x) * np.linalg.norm(y)
    X, Y = rng.standard_normal((256, 3)), rng.standard_normal((64, 3))
    assert abs(np.sum(dct.matmat(X) * Y) - np.sum(X * dct.rmatmat(Y))) <= \
        1e-12 * np.linalg.norm(X) * np.linalg.norm(Y)  # same reason
    # The transposed operator is the adjoint too (real operator).
    np.testing.assert_allclose(dct.T.matvec(y), dct.rmatvec(y), rtol=0, atol=1e-13)


def test_partial_dct_matches_dense(dct):
    D = dct.todense()
    x = np.random.default_rng(9).standard_normal(256)
    np.testing.assert_allclose(dct.matvec(x), D @ x, atol=1e-12)  # FFT vs matmul roundoff


def test_partial_dct_rows_orthogonal(dct):
    D = dct.todense()
    # Distinct rows of an orthonormal matrix, scaled by sqrt(n/m): D Dᵀ = (n/m) I
    # to transform roundoff.
    np.testing.assert_allclose(D @ D.T, 4.0 * np.eye(64), atol=1e-12)


def test_partial_dct_column_norms(dct):
    m = 64
    sq = np.sum(dct.todense() ** 2, axis=0)
    # Exact: mean squared column norm = ||D||_F^2 / n = (n/m) * m / n = 1 (roundoff only).
    assert sq.mean() == pytest.approx(1.0, rel=1e-12)
    # Each column: a sum of m sampled cos^2 terms; std of sq is <= 1/sqrt(2m)
    # (smaller when sampling without replacement). Allow 6 sigma.
    assert np.max(np.abs(sq - 1)) <= 6 / np.sqrt(2 * m)


def test_partial_dct_rows_distinct_sorted(dct):
    assert np.all(np.diff(dct.rows) > 0)
    assert dct.shape == (64, 256)


def test_partial_dct_too_many_rows():
    with pytest.raises(ValueError, match=r"The 'm' parameter of partial_dct must be an int in \[1, n=8\]; got 9\."):
        partial_dct(9, 8)


def test_make_problem_consistency():
    for matrix in sorted(MATRICES):
        p = make_problem(32, 64, 4, matrix=matrix, seed=1)
        assert isinstance(p, Problem)
        # y = A x exactly in the noiseless case, up to product roundoff.
        np.testing.assert_allclose(p.matvec(p.X_true)[:, 0], p.y, atol=1e-12)
        assert np.count_nonzero(p.x_true) == 4


# ---------------------------------------------------------------- sparse signals
@pytest.mark.parametrize("dist", ["gaussian", "rademacher", "uniform"])
def test_sparse_signal_exact_sparsity(dist):
    X = sparse_signal(100, 7, 0, distribution=dist, n_signals=30)
    assert X.shape == (100, 30)
    # Nonzeros from continuous laws are nonzero with probability 1; ±1 always.
    assert np.all(np.count_nonzero(X, axis=0) == 7)
    supports = {tuple(np.flatnonzero(X[:, t])) for t in range(30)}
    assert len(supports) > 1  # independent supports per column
    x = sparse_signal(100, 7, 0, distribution=dist)
    assert x.shape == (100,) and np.count_nonzero(x) == 7


def test_sparse_signal_k_zero():
    assert not np.any(sparse_signal(10, 0, 1))


def test_sparse_signal_rademacher_values():
    X = sparse_signal(50, 20, 2, distribution="rademacher", n_signals=100)
    vals = X[X != 0]
    assert set(np.unique(vals)) == {-1.0, 1.0}
    # Bernoulli(1/2) over 2000 signs: std of the fraction 0.011; allow 6 sigma.
    assert abs(np.mean(vals > 0) - 0.5) <= 6 * 0.5 / np.sqrt(vals.size)


@pytest.mark.parametrize("dist,law", [("gaussian", stats.norm), ("uniform", stats.uniform(-1, 2))])
def test_sparse_signal_value_law(dist, law):
    X = sparse_signal(200, 100, 3, distribution=dist, n_signals=100)
    vals = X[X != 0]
    assert vals.size == 10_000
    if dist == "uniform":
        assert vals.min() >= -1 and vals.max() <= 1
    # KS test on 10^4 draws; seeded, so deterministic. A correct law gives a
    # uniform p-value: a threshold of 1e-6 fails for one seed in a million.
    assert stats.kstest(vals, law.cdf).pvalue > 1e-6


def test_sparse_signal_support_uniform():
    X = sparse_signal(20, 5, 4, n_signals=4000)
    freq = np.count_nonzero(X, axis=1) / 4000  # each index kept w.p. k/n = 0.25
    # Binomial(4000, 0.25) fraction: std sqrt(0.25*0.75/4000) ~ 0.0068; allow 6 sigma.
    np.testing.assert_allclose(freq, 0.25, atol=6 * np.sqrt(0.25 * 0.75 / 4000))


def test_sparse_signal_errors():
    with pytest.raises(ValueError, match=r"The 'k' parameter of sparse_signal must be an int in \[0, n=5\]; got 6\."):
        sparse_signal(5, 6)
    with pytest.raises(ValueError, match=r"The 'distribution' parameter of sparse_signal must be one of"):
        sparse_signal(5, 2, distribution="cauchy")
