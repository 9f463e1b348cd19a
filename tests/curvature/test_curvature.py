"""Curvature models, the restricted Cholesky cache, and the OBS selection rules."""
import numpy as np
import pytest

from sparserec import Problem
from sparserec.curvature import (Damped, Diagonal, ExactGram, Identity, WoodFisher,
                                 make_curvature, woodbury_inverse)


def _problem(m, n, seed=0, k=3):
    rng = np.random.default_rng(seed)
    return Problem(rng.standard_normal((m, n)), rng.standard_normal(m), k)


# ---------------------------------------------------------------- Woodbury
@pytest.mark.parametrize("block_size", [None, 7, 30])
def test_woodbury_inverse_matches_inv(block_size):
    rng = np.random.default_rng(1)
    N, d, lam = 50, 30, 0.1
    G = rng.standard_normal((N, d))
    F = lam * np.eye(d) + G.T @ G / N
    if block_size is not None:  # block-diagonal approximation of F
        ids = np.arange(d) // block_size
        F = np.where(ids[:, None] == ids[None, :], F, 0.0)
    C = WoodFisher(G, lam=lam, block_size=block_size)
    ref = np.linalg.inv(F)
    # N rank-one updates of a matrix with cond ~ 30: errors ~1e-13 relative; 1e-8 asked
    assert np.linalg.norm(C.inverse() - ref) <= 1e-8 * np.linalg.norm(ref)
    np.testing.assert_allclose(C.dense(), F, atol=1e-12)
    np.testing.assert_allclose(C.inv_diag(), np.diag(ref), rtol=1e-8)
    V = rng.standard_normal((d, 2))
    np.testing.assert_allclose(C.solve(V), ref @ V, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(C.matvec(V), F @ V, rtol=1e-12, atol=1e-12)
    if block_size is None:
        np.testing.assert_allclose(woodbury_inverse(G, lam), ref, rtol=1e-8, atol=1e-12)


def test_woodfisher_from_problem_is_scaled_damped_gram():
    p = _problem(40, 10)
    C = WoodFisher(percdamp=0.01).fit(p)
    H = p.A.T @ p.A / p.m
    lam = 0.01 * np.mean(np.diag(H))
    np.testing.assert_allclose(C.inverse(), np.linalg.inv(H + lam * np.eye(10)), rtol=1e-8)


# --------------------------------------------------------------- ExactGram
@pytest.mark.parametrize("dense", [True, False])
def test_exact_gram_products_and_inverse(dense):
    p = _problem(40, 12)
    H = p.A.T @ p.A
    C = ExactGram(p, dense=dense)
    V = np.random.default_rng(2).standard_normal((12, 3))
    np.testing.assert_allclose(C.matvec(V), H @ V, rtol=1e-12)  # same product, reordered
    np.testing.assert_allclose(C.diag(), np.diag(H), rtol=1e-12)
    np.testing.assert_allclose(C.block([1, 4], [0, 4, 7]), H[np.ix_([1, 4], [0, 4, 7])],
                               rtol=1e-12)
    # cond(AᵀA) ~ 10 for a 40 × 12 Gaussian: 1e-10 is ~1e5 ulps
    np.testing.assert_allclose(C.solve(V), np.linalg.solve(H, V), rtol=1e-10)
    np.testing.assert_allclose(C.inv_diag(), np.diag(np.linalg.inv(H)), rtol=1e-10)


@pytest.mark.parametrize("dense", [True, False])
def test_damped_underdetermined_uses_damping(dense):
    p = _problem(20, 50)
    H = p.A.T @ p.A
    lam = 0.01 * np.mean(np.diag(H))
    ref = np.linalg.inv(H + lam * np.eye(50))
    C = make_curvature(ExactGram(dense=dense), p, 0.01)
    assert isinstance(C, Damped) and np.isclose(C.lam, lam)
    # cond(H + λI) ~ 1e3 (λ = 1% of the mean diagonal): 1e-9 relative is safe
    np.testing.assert_allclose(C.inv_diag(), np.diag(ref), rtol=1e-9)
    v = np.arange(50.0)
    np.testing.assert_allclose(C.solve(v), ref @ v, rtol=1e-9, atol=1e-9 * np.abs(ref @ v).max())
    np.testing.assert_allclose(C.inverse(), ref, atol=1e-9 * np.abs(ref).max())


def test_singular_gram_without_damping_raises():
    p = _problem(20, 50)
    C = ExactGram(p)
    for call in (C.inv_diag, C.inverse, lambda: C.solve(np.ones(50))):
        with pytest.raises(ValueError, match=r"singular.*m=20 < n=50.*Pass 'damping'"):
            call()
    # a singular Gram matrix given in Gram form: detected by its Cholesky factorisation
    G = ExactGram.from_gram(p.A.T @ p.A)
    with pytest.raises(ValueError, match="Pass 'damping'"):
        G.inv_diag()
    with pytest.raises(ValueError, match="Pass 'damping'"):
        Diagonal(np.array([1.0, 0.0])).solve(np.ones(2))


def test_restricted_solve_never_needs_full_inverse_and_updates_incrementally():
    p = _problem(60, 200, seed=3)          # AᵀA singular, A_S full rank for |S| <= 60
    H = p.A.T @ p.A
    C = ExactGram(p)
    rng = np.random.default_rng(4)
    S = np.sort(rng.choice(200, 30, replace=False))
    for step in range(6):
        b = rng.standard_normal((30, 2))
        u = C.solve_restricted(S, b, key="sig")
        # cond(A_SᵀA_S) ~ 30: 1e-9 covers accumulated up/down-date rounding
        np.testing.assert_allclose(u, np.linalg.solve(H[np.ix_(S, S)], b), rtol=1e-9, atol=1e-12)
        # swap two indices out for two new ones
        out = rng.choice(S, 2, replace=False)
        new = rng.choice(np.setdiff1d(np.arange(200), S), 2, replace=False)
        S = np.sort(np.concatenate([np.setdiff1d(S, out), new]))
    C.solve_restricted(S, np.ones(30), key="sig")
    C.solve_restricted(S, np.ones(30), key="sig")
    stats = C._restricted.stats
    assert stats["full"] == 1 and stats["update"] == 6 and stats["reuse"] == 1


def test_identity_and_diagonal():
    p = _problem(30, 8)
    I = make_curvature("identity", p)
    v = np.arange(8.0)
    assert np.array_equal(I.solve(v), v) and np.array_equal(I.inv_diag(), np.ones(8))
    D = make_curvature("diagonal", p)
    np.testing.assert_allclose(D.diag(), np.sum(p.A ** 2, axis=0), rtol=1e-12)
    np.testing.assert_allclose(D.solve(v), v / D.diag(), rtol=1e-14)


def test_make_curvature_errors():
    p = _problem(30, 8)
    with pytest.raises(ValueError, match="The 'curvature' parameter of make_curvature must be"):
        make_curvature("hessian", p)
    with pytest.raises(ValueError, match="The 'damping' parameter of make_curvature must be"):
        make_curvature("exact", p, damping=-1.0)
    with pytest.raises(ValueError, match="has dimension 5, but the problem has n=8"):
        make_curvature(Identity(5), p)


def test_newton_ls_data_space_form():
    p = _problem(20, 50)
    C = make_curvature(ExactGram(dense=False), p, 0.01)
    R = np.random.default_rng(6).standard_normal((20, 2))
    # −Aᵀ(AAᵀ+λI)⁻¹R vs (AᵀA+λI)⁻¹(−AᵀR): algebraically equal, cond ~1e3
    np.testing.assert_allclose(C.newton_ls(p, R), C.solve(-p.A.T @ R), rtol=1e-9, atol=1e-12)
