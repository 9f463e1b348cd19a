"""numba OBS kernels against their NumPy twins and against the textbook recursion."""
import os
import subprocess
import sys

import numpy as np
import pytest

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


def _greedy_reference(W, Hinv, k):
    """Textbook OBC: a full downdated copy of Hinv per row."""
    out, traces = [], []
    for w in np.atleast_2d(W):
        w = w.copy()
        Hi = Hinv.copy()
        active = np.ones(w.size, dtype=bool)
        tr = []
        for _ in range(w.size - k):
            score = np.where(active, w * w / np.where(active, np.diag(Hi), 1.0), np.inf)
            q = int(np.argmin(score))
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


def test_kernels_without_jit():
    code = ("import numpy as np\n"
            "from sparserec.kernels import obs as K\n"
            "rng = np.random.default_rng(0)\n"
            "A = rng.standard_normal((30, 12)); Hinv = np.linalg.inv(A.T @ A)\n"
            "W = rng.standard_normal((3, 12))\n"
            "a = K.greedy_obs(W, Hinv, 5, return_trace=True)\n"
            "b = K.greedy_obs(W, Hinv, 5, return_trace=True, engine='numpy')\n"
            "assert np.allclose(a[0], b[0], atol=1e-11) and (a[2] == b[2]).all()\n"
            "assert np.allclose(K.obs_downdate(Hinv, 3), K.obs_downdate(Hinv, 3, engine='numpy'))\n"
            "L = np.linalg.cholesky(A.T @ A)\n"
            "assert np.allclose(K.chol_update(L, W[0]), K.chol_update(L, W[0], engine='numpy'))\n")
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
