"""numba OBS kernels against their NumPy twins and against the textbook recursion."""
import itertools
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.linalg as sla

from sparserec.kernels import obs as K

# Kernels and twins do the same float64 operations in a different order:
# agreement to ~1e3 ulps of the data scale.
RTOL = 1e-10


def _spd(rng, n, m=None):
    A = rng.standard_normal((m or 2 * n, n))
    return A.T @ A / A.shape[0] + 0.05 * np.eye(n)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_elementary_kernels_match_twins(seed):
    rng = np.random.default_rng(seed)
    n = 17
    Hinv = np.linalg.inv(_spd(rng, n))
    W = rng.standard_normal((4, n))
    q = int(rng.integers(n))
    np.testing.assert_allclose(K.obs_saliency(W, np.diag(Hinv)),
                               K.obs_saliency(W, np.diag(Hinv), engine="numpy"), rtol=RTOL)
    np.testing.assert_allclose(K.obs_update(W[0], Hinv, q),
                               K.obs_update(W[0], Hinv, q, engine="numpy"), rtol=RTOL, atol=1e-14)
    np.testing.assert_allclose(K.obs_downdate(Hinv, q),
                               K.obs_downdate(Hinv, q, engine="numpy"), rtol=RTOL, atol=1e-14)
    L = np.linalg.cholesky(_spd(rng, n))
    x = rng.standard_normal(n)
    np.testing.assert_allclose(K.chol_update(L, x), K.chol_update(L, x, engine="numpy"),
                               rtol=1e-10, atol=1e-12)


def test_downdate_is_inverse_of_submatrix():
    rng = np.random.default_rng(3)
    n, q = 9, 4
    H = _spd(rng, n)
    D = K.obs_downdate(np.linalg.inv(H), q)
    keep = np.delete(np.arange(n), q)
    # cond(H) ~ 10: inverse accurate to ~1e-14; 1e-10 leaves ample margin
    np.testing.assert_allclose(D[np.ix_(keep, keep)], np.linalg.inv(H[np.ix_(keep, keep)]),
                               atol=1e-10)
    assert np.all(D[q] == 0) or np.allclose(D[q], 0, atol=1e-12)


def test_single_update_zeroes_weight_and_is_optimal():
    rng = np.random.default_rng(4)
    n, q = 8, 2
    H = _spd(rng, n)
    w = rng.standard_normal(n)
    v = w + K.obs_update(w, np.linalg.inv(H), q)
    assert abs(v[q]) < 1e-12  # exact in exact arithmetic; rounding only
    keep = np.delete(np.arange(n), q)
    # minimiser of (v - w)ᵀH(v - w) with v_q = 0: v_keep = w_keep + H_kk⁻¹ H_kq w_q
    expect = w[keep] + np.linalg.solve(H[np.ix_(keep, keep)], H[keep, q] * w[q])
    np.testing.assert_allclose(v[keep], expect, rtol=1e-10)
    loss = 0.5 * (v - w) @ H @ (v - w)
    np.testing.assert_allclose(loss, K.obs_saliency(w, np.diag(np.linalg.inv(H)))[q], rtol=1e-10)


def _greedy_reference(W, Hinv, k, nm=None):
    """Textbook OBC: a full downdated copy of Hinv per row (``nm``: OBC's ``nmprune``)."""
    out, traces = [], []
    for w in np.atleast_2d(W):
        w = w.copy()
        Hi = Hinv.copy()
        active = np.ones(w.size, dtype=bool)
        full = np.zeros(w.size, dtype=np.int64)  # removals so far in each coordinate's group
        tr = []
        for _ in range(w.size - k):
            ok = active if nm is None else active & (full < nm[0])
            score = np.where(ok, w * w / np.where(ok, np.diag(Hi), 1.0), np.inf)
            q = int(np.argmin(score))
            if nm is not None:
                full[q // nm[1] * nm[1]:(q // nm[1] + 1) * nm[1]] += 1
            tr.append(0.5 * w[q] ** 2 / Hi[q, q])
            w = w + K.obs_update_numpy(w, Hi, q)
            active[q] = False
            w[~active] = 0.0
            Hi = K.obs_downdate_numpy(Hi, q)
        out.append(w)
        traces.append(tr)
    return np.array(out), np.array(traces)


@pytest.mark.parametrize("engine", ["numba", "numpy"])
@pytest.mark.parametrize("k", [0, 5, 15, 24])
def test_greedy_matches_full_downdate_reference(engine, k):
    rng = np.random.default_rng(k)
    n = 24
    H = _spd(rng, n)
    W = rng.standard_normal((6, n))
    Wp, trace, order = K.greedy_obs(W, np.linalg.inv(H), k, return_trace=True, engine=engine)
    ref, rtrace = _greedy_reference(W, np.linalg.inv(H), k)
    # the low-rank and full downdates round differently; cond(H) small -> 1e-10
    np.testing.assert_allclose(Wp, ref, atol=1e-10)
    np.testing.assert_allclose(trace, rtrace.reshape(trace.shape), atol=1e-10)
    assert np.all(np.count_nonzero(Wp, axis=1) <= k)
    # pruned entries are exactly zero; the trace sums to the total model loss
    for i in range(W.shape[0]):
        assert np.all(Wp[i, order[i]] == 0.0)
        d = Wp[i] - W[i]
        np.testing.assert_allclose(0.5 * d @ H @ d, trace[i].sum(), rtol=1e-9, atol=1e-12)


def test_greedy_numba_equals_numpy_with_per_row_k():
    rng = np.random.default_rng(7)
    n, r = 40, 9
    Hinv = np.linalg.inv(_spd(rng, n))
    W = rng.standard_normal((r, n))
    k = rng.integers(0, n + 1, size=r)
    a = K.greedy_obs(W, Hinv, k, return_trace=True)
    b = K.greedy_obs(W, Hinv, k, return_trace=True, engine="numpy")
    np.testing.assert_allclose(a[0], b[0], atol=1e-11)  # same formula, different summation order
    np.testing.assert_allclose(a[1], b[1], atol=1e-11, equal_nan=True)
    np.testing.assert_array_equal(a[2], b[2])
    # serial and parallel numba paths agree bit for bit (same per-row code)
    c = K.greedy_obs_numba(W, Hinv, k, return_trace=True, parallel=False)
    np.testing.assert_array_equal(a[0], c[0])


def test_greedy_accepts_readonly_and_rejects_bad_shapes():
    rng = np.random.default_rng(8)
    W = rng.standard_normal((3, 5))
    W.setflags(write=False)
    Hinv = np.eye(5)
    Hinv.setflags(write=False)
    K.greedy_obs(W, Hinv, 2)
    with pytest.raises(ValueError, match="'Hinv' argument of greedy_obs must have shape"):
        K.greedy_obs(W, np.eye(4), 2)
    with pytest.raises(ValueError, match="'k' parameter of greedy_obs"):
        K.greedy_obs(W, Hinv, 6)
    with pytest.raises(ValueError, match="'engine' parameter"):
        K.greedy_obs(W, Hinv, 2, engine="torch")


# ------------------------------------------------------------------------ N:M
def _nm_counts(Wp, M):
    """Zeros per group of M consecutive coordinates, shape (r, n/M)."""
    Wp = np.atleast_2d(Wp)
    return (Wp == 0).reshape(Wp.shape[0], -1, M).sum(axis=2)


def _removal_loss(Hinv, w, Q):
    """OBS-corrected loss of removing the set Q: ½ w_Qᵀ ([Ĥ⁻¹]_QQ)⁻¹ w_Q.

    This is min ½(v − w)ᵀĤ(v − w) over v with v_Q = 0 (the restricted
    least squares the sequential OBS updates reach).
    """
    Q = np.asarray(Q)
    return 0.5 * w[Q] @ np.linalg.solve(Hinv[np.ix_(Q, Q)], w[Q])


def _nm_masks(n, N, M):
    """Every removal set with exactly N coordinates in each group of M."""
    per_group = [[tuple(g * M + c for c in comb) for comb in itertools.combinations(range(M), N)]
                 for g in range(n // M)]
    for choice in itertools.product(*per_group):
        yield np.array(sorted(itertools.chain.from_iterable(choice)), dtype=np.int64)


@pytest.mark.parametrize("nm", [(2, 4), (1, 4), (3, 8), (1, 2), (4, 4)])
@pytest.mark.parametrize("seed", [0, 1])
def test_greedy_nm_numba_equals_numpy_and_reference(nm, seed):
    rng = np.random.default_rng(100 + seed)
    N, M = nm
    n, r = 32, 11
    H = _spd(rng, n)
    Hinv = np.linalg.inv(H)
    W = rng.standard_normal((r, n))
    a = K.greedy_obs(W, Hinv, nm=nm, return_trace=True)
    b = K.greedy_obs(W, Hinv, nm=nm, return_trace=True, engine="numpy")
    # same formula, different summation order: ~1e3 ulps
    np.testing.assert_allclose(a[0], b[0], atol=RTOL)
    np.testing.assert_allclose(a[1], b[1], atol=RTOL)
    np.testing.assert_array_equal(a[2], b[2])
    c = K.greedy_obs_numba(W, Hinv, nm=nm, return_trace=True, parallel=False)
    np.testing.assert_array_equal(a[0], c[0])  # same per-row code, bit for bit
    # the textbook loop (full downdated inverse per row, blocked full groups)
    ref, rtrace = _greedy_reference(W, Hinv, n - (n // M) * N, nm=nm)
    np.testing.assert_allclose(a[0], ref, atol=1e-10)  # cond(H) small; see the test above
    np.testing.assert_allclose(a[1], rtrace.reshape(a[1].shape), atol=1e-10)
    # valid masks: exactly N zeros in every group of M (random rows: no accidental zeros)
    assert np.all(_nm_counts(a[0], M) == N) and np.all(_nm_counts(b[0], M) == N)
    assert a[1].shape == (r, (n // M) * N) and not np.isnan(a[1]).any()
    # explicit k equal to the N:M count is the same call
    np.testing.assert_array_equal(K.greedy_obs(W, Hinv, n - (n // M) * N, nm=nm), a[0])
    for i in range(r):
        d = a[0][i] - W[i]
        np.testing.assert_allclose(0.5 * d @ H @ d, a[1][i].sum(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_greedy_nm_partial_and_per_row_k(engine):
    """k above the N:M count: the same loop stopped early, at most N per group."""
    rng = np.random.default_rng(5)
    n, r, N, M = 24, 7, 2, 4
    Hinv = np.linalg.inv(_spd(rng, n))
    W = rng.standard_normal((r, n))
    k = rng.integers(n - (n // M) * N, n + 1, size=r)
    Wp, trace, order = K.greedy_obs(W, Hinv, k, nm=(N, M), return_trace=True, engine=engine)
    full = K.greedy_obs(W, Hinv, nm=(N, M), return_trace=True, engine=engine)
    assert np.all(_nm_counts(Wp, M) <= N)
    np.testing.assert_array_equal(np.count_nonzero(Wp, axis=1), k)
    for i in range(r):  # a prefix of the full N:M run
        m = n - k[i]
        np.testing.assert_array_equal(order[i, :m], full[2][i, :m])
        assert np.all(order[i, m:] == -1) and np.all(np.isnan(trace[i, m:]))
    # the N:M constraint only ever removes choices: with nothing blocked yet
    # (first step) it agrees with the unconstrained kernel
    free = K.greedy_obs(W, Hinv, n - 1, return_trace=True, engine=engine)
    np.testing.assert_array_equal(full[2][:, 0], free[2][:, 0])


@pytest.mark.parametrize("seed", range(6))
def test_greedy_nm_never_below_brute_force(seed):
    """n = 8, 2:4 (36 valid masks): greedy loss >= the best N:M mask's loss."""
    rng = np.random.default_rng(200 + seed)
    n, N, M = 8, 2, 4
    H = _spd(rng, n, m=12)
    Hinv = np.linalg.inv(H)
    W = rng.standard_normal((5, n))
    masks = list(_nm_masks(n, N, M))
    assert len(masks) == 36
    for engine in ("numba", "numpy"):
        Wp, trace, _ = K.greedy_obs(W, Hinv, nm=(N, M), return_trace=True, engine=engine)
        for i in range(W.shape[0]):
            Q = np.flatnonzero(Wp[i] == 0)
            assert np.all(_nm_counts(Wp[i], M) == N)
            greedy = trace[i].sum()
            # the trace is the OBS-corrected loss of its own mask (exact sequential updates)
            np.testing.assert_allclose(greedy, _removal_loss(Hinv, W[i], Q), rtol=1e-9)
            best = min(_removal_loss(Hinv, W[i], S) for S in masks)
            # greedy cannot beat enumeration; 1e-12 relative absorbs rounding of equal losses
            assert greedy >= best * (1 - 1e-12)


@pytest.mark.parametrize("engine", ["numba", "numpy"])
@pytest.mark.parametrize("nm", [(2, 4), (1, 4), (3, 4)])
def test_greedy_nm_optimal_when_separable(engine, nm):
    """Two cases where greedy N:M provably finds the best mask.

    * Diagonal Ĥ⁻¹: the loss is a sum of per-coordinate saliencies and never
      changes as others are removed, so greedy prunes the N smallest of each
      group (and so does :func:`sparserec.projection.nm_mask` on w²/[Ĥ⁻¹]_qq).
    * Ĥ⁻¹ block-diagonal by group and N = 1: groups are decoupled and the
      first removal in a group is the exact best single removal (OBS).
    """
    from sparserec.projection import nm_mask

    N, M = nm
    rng = np.random.default_rng(9)
    n = 8
    W = rng.standard_normal((6, n))
    masks = list(_nm_masks(n, N, M))
    dinv = rng.uniform(0.2, 3.0, n)
    cases = [np.diag(dinv)]
    if N == 1:
        cases.append(sla.block_diag(*[np.linalg.inv(_spd(rng, M)) for _ in range(n // M)]))
    for Hinv in cases:
        Wp, trace, _ = K.greedy_obs(W, Hinv, nm=nm, return_trace=True, engine=engine)
        for i in range(W.shape[0]):
            best = min(_removal_loss(Hinv, W[i], S) for S in masks)
            np.testing.assert_allclose(trace[i].sum(), best, rtol=1e-10)
    Wp = K.greedy_obs(W, np.diag(dinv), nm=nm, engine=engine)
    expect = nm_mask((W * W / dinv).T, N, M).T
    np.testing.assert_array_equal(Wp == 0, expect)
    np.testing.assert_array_equal(Wp[~expect], W[~expect])  # diagonal: no correction


def test_greedy_nm_ties_take_lowest_index():
    w = np.array([1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0])
    for engine in ("numba", "numpy"):
        Wp, _, order = K.greedy_obs(w, np.eye(8), nm=(2, 4), return_trace=True, engine=engine)
        np.testing.assert_array_equal(order, [0, 1, 4, 5])
        np.testing.assert_array_equal(Wp, [0, 0, 1, 1, 0, 0, 2, 2])


def test_greedy_nm_rejects_bad_arguments():
    W = np.ones((2, 6))
    Hinv = np.eye(6)
    with pytest.raises(ValueError, match="divisible by M=4"):
        K.greedy_obs(W, Hinv, nm=(2, 4))
    with pytest.raises(ValueError, match="divisible by M=4"):
        K.greedy_obs(W, Hinv, nm=(2, 4), engine="numpy")
    for bad in [(2,), (3, 2), (-1, 3), (1.0, 3), "2:4", (1, 0), (True, 3)]:
        with pytest.raises(ValueError, match="'nm' parameter of greedy_obs"):
            K.greedy_obs(W, Hinv, nm=bad)
    with pytest.raises(ValueError, match=r"'k' parameter of greedy_obs must be in \[3, n=6\]"):
        K.greedy_obs(W, Hinv, 2, nm=(1, 2))
    with pytest.raises(ValueError, match="'k' parameter of greedy_obs"):
        K.greedy_obs(W, Hinv)  # k=None needs nm


def test_kernels_without_jit():
    code = ("import numpy as np\n"
            "from sparserec.kernels import obs as K\n"
            "rng = np.random.default_rng(0)\n"
            "A = rng.standard_normal((30, 12)); Hinv = np.linalg.inv(A.T @ A)\n"
            "W = rng.standard_normal((3, 12))\n"
            "a = K.greedy_obs(W, Hinv, 5, return_trace=True)\n"
            "b = K.greedy_obs(W, Hinv, 5, return_trace=True, engine='numpy')\n"
            "assert np.allclose(a[0], b[0], atol=1e-11) and (a[2] == b[2]).all()\n"
            "for nm in [(2, 4), (1, 3), (3, 6)]:\n"
            "    a = K.greedy_obs(W, Hinv, nm=nm, return_trace=True)\n"
            "    b = K.greedy_obs(W, Hinv, nm=nm, return_trace=True, engine='numpy')\n"
            "    c = K.greedy_obs_numba(W, Hinv, nm=nm, parallel=False)\n"
            "    assert np.allclose(a[0], b[0], rtol=0, atol=1e-10) and (a[2] == b[2]).all()\n"
            "    assert (a[0] == c).all()\n"
            "    z = (a[0] == 0).reshape(3, -1, nm[1]).sum(axis=2)\n"
            "    assert (z == nm[0]).all(), z\n"
            "assert np.allclose(K.obs_downdate(Hinv, 3), K.obs_downdate(Hinv, 3, engine='numpy'))\n"
            "L = np.linalg.cholesky(A.T @ A)\n"
            "assert np.allclose(K.chol_update(L, W[0]), K.chol_update(L, W[0], engine='numpy'))\n")
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    # check the switch really applied: the kernel is the plain Python function
    probe = ("from sparserec.kernels import obs as K\n"
             "import types; assert isinstance(K._greedy_row, types.FunctionType)\n")
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
