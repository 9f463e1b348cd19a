"""Exchange kernels: numba against the NumPy twins, and both against least-squares refits."""
import numpy as np
import pytest

from sparserec.kernels import swap as K


def _instance(seed, m=14, n=24):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    y = rng.standard_normal(m)
    return A, y


def _state_from_scratch(A, y, S, k):
    """The exchange state of the module docstring, computed directly (no updates)."""
    n = A.shape[1]
    slots = np.full(k, -1, dtype=np.int64)
    slots[:len(S)] = S
    Ginv = np.zeros((k, k))
    B = np.zeros((k, n))
    x = np.zeros(k)
    s = len(S)
    AS = A[:, S]
    H = np.linalg.inv(AS.T @ AS)
    Ginv[:s, :s] = H
    B[:s] = H @ AS.T @ A
    x[:s] = H @ AS.T @ y
    P = AS @ H @ AS.T
    C = A - P @ A
    c = np.einsum("ij,ij->j", C, C)
    c[S] = 0.0
    g = A.T @ (y - AS @ x[:s])
    inS = np.zeros(n, dtype=bool)
    inS[S] = True
    return [slots, Ginv, B, c, g, x, inS]


def _rss(A, y, S):
    coef = np.linalg.lstsq(A[:, S], y, rcond=None)[0]
    r = y - A[:, S] @ coef
    return float(r @ r)


@pytest.mark.parametrize("seed", range(4))
def test_best_swap_is_the_brute_force_best_exchange(seed):
    A, y = _instance(seed)
    n = A.shape[1]
    S = np.sort(np.random.default_rng(seed).choice(n, 5, replace=False))
    state = _state_from_scratch(A, y, S, 5)
    floor = 1e-10 * np.einsum("ij,ij->j", A, A)
    base = _rss(A, y, S)
    table = {}
    for p in range(S.size):
        for j in np.setdiff1d(np.arange(n), S):
            T = S.copy()
            T[p] = j
            table[(p, int(j))] = _rss(A, y, T) - base
    p_bf, j_bf = min(table, key=table.get)
    for fn in (K.best_swap, K.best_swap_numpy):
        p, j, delta = fn(*state[:6], state[6], floor)
        assert (p, j) == (p_bf, j_bf)
        # the closed form vs an lstsq refit: both accurate to ~1e-14 at cond ~ 10
        assert abs(delta - table[(p, j)]) <= 1e-10 * base


@pytest.mark.parametrize("seed", range(3))
def test_best_add_is_the_brute_force_best_addition(seed):
    A, y = _instance(seed)
    n = A.shape[1]
    S = np.array([1, 4, 9])
    state = _state_from_scratch(A, y, S, 4)
    floor = 1e-10 * np.einsum("ij,ij->j", A, A)
    base = _rss(A, y, S)
    gains = {int(j): base - _rss(A, y, np.append(S, j)) for j in np.setdiff1d(np.arange(n), S)}
    j_bf = max(gains, key=gains.get)
    for fn in (K.best_add, K.best_add_numpy):
        j, gain = fn(state[3], state[4], state[6], floor)
        assert j == j_bf
        assert abs(gain - gains[j]) <= 1e-10 * base  # closed form vs refit, roundoff only


@pytest.mark.parametrize("seed", range(4))
def test_remove_then_add_equals_the_state_from_scratch(seed):
    A, y = _instance(seed)
    n = A.shape[1]
    rng = np.random.default_rng(10 + seed)
    S = np.sort(rng.choice(n, 6, replace=False))
    p = int(rng.integers(6))
    j = int(rng.choice(np.setdiff1d(np.arange(n), S)))
    T = S.copy()
    T[p] = j
    want = _state_from_scratch(A, y, T, 6)
    G = A.T @ A
    for remove, add in ((K.remove_slot, K.add_slot), (K.remove_slot_numpy, K.add_slot_numpy)):
        state = _state_from_scratch(A, y, S, 6)
        remove(p, *state)
        assert state[0][p] == -1 and not state[6][S[p]]
        # after the removal: the state of S without slot p (row/column p zero)
        mid = _state_from_scratch(A, y, np.delete(S, p), 5)
        keep = np.delete(np.arange(6), p)
        np.testing.assert_allclose(state[1][np.ix_(keep, keep)], mid[1][:5, :5], atol=1e-10)
        np.testing.assert_allclose(state[4], mid[4], atol=1e-10)
        add(p, j, G[j], *state)
        # rank-one updates vs direct inverses at cond(A_S) ~ 5: ~1e-14, 1e-10 is slack
        for got, ref, name in zip(state, want, ("S", "Ginv", "B", "c", "g", "x", "inS")):
            if got.dtype == bool or got.dtype.kind == "i":
                np.testing.assert_array_equal(got, ref, err_msg=name)
            else:
                np.testing.assert_allclose(got, ref, atol=1e-10, err_msg=name)


def test_kernels_match_twins_over_a_sequence_of_moves():
    A, y = _instance(7, m=30, n=60)
    G = A.T @ A
    floor = 1e-10 * np.diag(G)
    jit = _state_from_scratch(A, y, np.array([0, 1]), 8)
    ref = [a.copy() for a in jit]
    for _ in range(12):  # additions while slots are vacant, then exchanges
        vac = np.flatnonzero(jit[0] < 0)
        if vac.size:
            j1, g1 = K.best_add(jit[3], jit[4], jit[6], floor)
            j2, g2 = K.best_add_numpy(ref[3], ref[4], ref[6], floor)
            assert j1 == j2
            K.add_slot(int(vac[0]), j1, G[j1], *jit)
            K.add_slot_numpy(int(vac[0]), j2, G[j2], *ref)
        else:
            p1, j1, _ = K.best_swap(*jit, floor)
            p2, j2, _ = K.best_swap_numpy(*ref, floor)
            assert (p1, j1) == (p2, j2)
            if p1 < 0:
                break
            K.remove_slot(p1, *jit)
            K.add_slot(p1, j1, G[j1], *jit)
            K.remove_slot_numpy(p2, *ref)
            K.add_slot_numpy(p2, j2, G[j2], *ref)
        for a, b in zip(jit, ref):
            # same float64 operations in another order: agreement to ~1e3 ulps
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_no_improving_exchange_returns_minus_one():
    # y in the span of the support: the residual is 0 and nothing can lower it
    A, _ = _instance(3)
    S = np.array([2, 5, 11])
    y = A[:, S] @ np.array([1.0, -2.0, 0.5])
    state = _state_from_scratch(A, y, S, 3)
    floor = 1e-10 * np.einsum("ij,ij->j", A, A)
    for fn in (K.best_swap, K.best_swap_numpy):
        p, j, delta = fn(*state, floor)
        assert (p, j, delta) == (-1, -1, 0.0)
