"""Top-k kernel: numba vs its NumPy twin (the oracle), and hard thresholding.

This file must also pass with ``NUMBA_DISABLE_JIT=1`` (the kernels then run
as plain Python), so sizes stay small except where marked. The OBS kernels
have their own test file.

Selection is exact (no floating-point arithmetic, only comparisons), so every
comparison here is exact equality: no tolerance is needed.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sparserec.kernels import hard_threshold, topk, topk_numba, topk_numpy

DTYPES = [np.float32, np.float64]


def check_twin(z, k):
    got = topk_numba(z, k)
    want = topk_numpy(z, k)
    assert got.dtype == np.int64 and want.dtype == np.int64
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    return got


def argpartition_oracle(z, k):
    """Independent oracle for distinct magnitudes: np.argpartition."""
    n = z.shape[0]
    if k == 0:
        return np.zeros((0,) + z.shape[1:], dtype=np.int64)
    idx = np.argpartition(np.abs(z), n - k, axis=0)[n - k:]
    return np.sort(idx, axis=0)


# ---------------------------------------------------------------- 1-D
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(5))
def test_random_1d(dtype, seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    z = rng.standard_normal(n).astype(dtype)
    for k in sorted({0, 1, n // 3, n // 2, n - 1, n} - {-1}):
        got = check_twin(z, k)
        # Continuous draws have distinct magnitudes (a tie has probability ~0
        # and would show up as a mismatch with the twin above anyway).
        if np.unique(np.abs(z)).size == n:
            np.testing.assert_array_equal(got, argpartition_oracle(z, k))


@pytest.mark.parametrize("dtype", DTYPES)
def test_ties_lower_index_wins(dtype):
    z = np.array([1.0, -1.0, 1.0, 0.5, -1.0], dtype=dtype)
    assert topk_numba(z, 1).tolist() == [0]
    assert topk_numba(z, 2).tolist() == [0, 1]
    assert topk_numba(z, 3).tolist() == [0, 1, 2]
    assert topk_numba(z, 4).tolist() == [0, 1, 2, 4]
    assert topk_numba(z, 5).tolist() == [0, 1, 2, 3, 4]
    for k in range(6):
        check_twin(z, k)


@pytest.mark.parametrize("dtype", DTYPES)
def test_ties_random(dtype):
    rng = np.random.default_rng(1)
    for _ in range(20):
        n = int(rng.integers(1, 200))
        # Few distinct magnitudes, both signs: heavy ties everywhere.
        z = (rng.integers(-3, 4, size=n)).astype(dtype)
        for k in (0, 1, n // 2, n):
            check_twin(z, k)


@pytest.mark.parametrize("dtype", DTYPES)
def test_negative(dtype):
    z = np.array([-5.0, 1.0, -0.5, 4.0, -4.5], dtype=dtype)
    assert topk_numba(z, 2).tolist() == [0, 4]  # magnitude, not signed value
    assert topk_numba(z, 3).tolist() == [0, 3, 4]
    rng = np.random.default_rng(2)
    z = -np.abs(rng.standard_normal(101)).astype(dtype)
    for k in (1, 10, 50, 101):
        check_twin(z, k)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("value", [0.0, 2.5, -1.0])
def test_all_equal(dtype, value):
    z = np.full(37, value, dtype=dtype)
    for k in (0, 1, 10, 36, 37):
        assert topk_numba(z, k).tolist() == list(range(k))
        check_twin(z, k)


def test_signed_zero_ties():
    z = np.array([0.0, -0.0, 0.0, 1.0])
    assert topk_numba(z, 2).tolist() == [0, 3]
    check_twin(z, 3)


@pytest.mark.parametrize("dtype", DTYPES)
def test_k_edges(dtype):
    z = np.array([3.0, -1.0, 2.0], dtype=dtype)
    assert topk_numba(z, 0).shape == (0,)
    assert topk_numba(z, 1).tolist() == [0]
    assert topk_numba(z, 3).tolist() == [0, 1, 2]
    assert topk(np.array([7.0]), 1).tolist() == [0]


def test_input_not_modified():
    rng = np.random.default_rng(3)
    z = rng.standard_normal(50)
    before = z.copy()
    z.flags.writeable = False  # read-only input is accepted
    topk_numba(z, 10)
    np.testing.assert_array_equal(z, before)


def test_strided_input():
    rng = np.random.default_rng(4)
    base = rng.standard_normal((60, 3))
    col = base[:, 1]  # non-contiguous view
    np.testing.assert_array_equal(topk_numba(col, 7), topk_numpy(np.ascontiguousarray(col), 7))
    np.testing.assert_array_equal(topk_numba(base[::2, 0], 5), topk_numpy(base[::2, 0], 5))


def test_larger_random():
    # Exercises the selection's partition loop on many pivots; sized so that
    # NUMBA_DISABLE_JIT=1 still runs it in well under a second.
    rng = np.random.default_rng(5)
    z = rng.standard_normal(20_000)
    z[::7] = z[0]  # plant ties at the top of the range too
    for k in (1, 100, 2_500, 10_000, 19_999):  # sampled path for k <= n/8
        check_twin(z, k)


# The kernel takes a sampled-threshold path for n >= 16384 and k <= n/8, with a
# fall-back to the full selection when the sample misjudges. Both branches,
# and the fall-back triggers, are checked against the twin.
def _sampled_module():
    import sys
    return sys.modules["sparserec.kernels.topk"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_sampled_path_taken_and_exact(dtype):
    mod = _sampled_module()
    rng = np.random.default_rng(12)
    z = rng.standard_normal(50_000).astype(dtype)
    out = np.empty(500, dtype=np.int64)
    assert mod._topk_sampled(z, 500, out)  # typical input: no fall-back
    np.testing.assert_array_equal(out, topk_numpy(z, 500))
    check_twin(z, 500)


def test_sampled_fallback_too_many_candidates():
    # Nonzeros only off the sample's stride grid: the sampled bound is 0, so
    # every entry is a candidate and the kernel must fall back.
    mod = _sampled_module()
    n, k = 40_000, 50
    step = mod._sample_step(n)
    rng = np.random.default_rng(13)
    z = np.zeros(n)
    off = np.flatnonzero(np.arange(n) % step != 0)
    z[off] = rng.standard_normal(off.size)
    assert not mod._topk_sampled(z, k, np.empty(k, dtype=np.int64))
    check_twin(z, k)


def test_sampled_fallback_too_few_candidates():
    # Large values only on the stride grid: the bound is too high, fewer than
    # k entries pass it, and the kernel must fall back.
    mod = _sampled_module()
    n, k = 40_000, 2_000
    step = mod._sample_step(n)
    rng = np.random.default_rng(14)
    z = 1e-3 * rng.standard_normal(n)
    z[::step] = 10 + rng.standard_normal(z[::step].size)
    assert not mod._topk_sampled(z, k, np.empty(k, dtype=np.int64))
    check_twin(z, k)


@settings(max_examples=40)  # each example is a 16k-30k array
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(16_000, 30_000),
       k_frac=st.floats(0.0, 0.2), n_levels=st.sampled_from([0, 2, 50]))
def test_property_twin_large(seed, n, k_frac, n_levels):
    # Large n reaches the sampled path; n_levels > 0 draws magnitudes from a
    # few levels, so the threshold is heavily tied.
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(n) if n_levels == 0 else \
        rng.integers(-n_levels, n_levels + 1, size=n).astype(float)
    check_twin(z, int(k_frac * n))


# ---------------------------------------------------------------- 2-D blocks
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order", ["C", "F"])
def test_block(dtype, order):
    rng = np.random.default_rng(6)
    Z = np.asarray(rng.standard_normal((90, 5)), dtype=dtype, order=order)
    Z[:, 2] = 1.0          # all-equal column
    Z[::3, 3] = -Z[0, 3]   # tied column
    for k in (0, 1, 30, 89, 90):
        got = check_twin(Z, k)
        assert got.shape == (k, 5)
        for t in range(Z.shape[1]):
            np.testing.assert_array_equal(got[:, t], topk_numba(Z[:, t].copy(), k))


def test_block_single_column():
    rng = np.random.default_rng(7)
    Z = rng.standard_normal((40, 1))
    np.testing.assert_array_equal(topk(Z, 4)[:, 0], topk(Z[:, 0], 4))


@pytest.mark.parametrize("dtype", DTYPES)
def test_engines_agree(dtype):
    rng = np.random.default_rng(8)
    Z = rng.integers(-2, 3, size=(50, 4)).astype(dtype)
    np.testing.assert_array_equal(topk(Z, 9, engine="numba"), topk(Z, 9, engine="numpy"))


def test_topk_errors():
    z = np.ones(4)
    with pytest.raises(ValueError, match=r"The 'k' parameter of topk must be an int in \[0, 4\]; got 5\."):
        topk(z, 5)
    with pytest.raises(ValueError, match=r"The 'k' parameter of topk must be an int in \[0, 4\]; got -1\."):
        topk(z, -1)
    with pytest.raises(ValueError, match="The 'engine' parameter of topk must be one of"):
        topk(z, 1, engine="torch")


# ---------------------------------------------------------------- property test
finite = dict(allow_nan=False, allow_infinity=False)


@st.composite
def arrays_and_k(draw):
    dtype = draw(st.sampled_from(DTYPES))
    ndim = draw(st.sampled_from([1, 2]))
    n = draw(st.integers(1, 40))
    shape = (n,) if ndim == 1 else (n, draw(st.integers(1, 4)))
    # Values from a small pool half the time, so ties are common.
    elements = st.one_of(
        st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.0, -2.0]),
        st.floats(-1e6, 1e6, width=32 if dtype == np.float32 else 64, **finite))
    z = draw(hnp.arrays(dtype, shape, elements=elements))
    k = draw(st.integers(0, n))
    return z, k


@given(arrays_and_k())
def test_property_twin(case):
    z, k = case
    idx = check_twin(z, k)
    # Invariants of the rule, checked directly: sorted, distinct, and every
    # kept magnitude >= every dropped one, with ties resolved by index.
    cols = idx if idx.ndim == 2 else idx[:, None]
    Z = z.reshape(z.shape[0], -1)
    for t in range(Z.shape[1]):
        kept = cols[:, t]
        assert np.all(np.diff(kept) > 0)
        dropped = np.setdiff1d(np.arange(Z.shape[0]), kept)
        if kept.size and dropped.size:
            a_kept, a_drop = np.abs(Z[kept, t]), np.abs(Z[dropped, t])
            assert a_kept.min() >= a_drop.max()
            thr = a_kept.min()
            # a dropped entry tied with the threshold must come after every kept tie
            tied_drop = dropped[a_drop == thr]
            tied_kept = kept[a_kept == thr]
            if tied_drop.size:
                assert tied_kept.max() < tied_drop.min()


# ---------------------------------------------------------------- hard_threshold
@pytest.mark.parametrize("dtype", DTYPES)
def test_hard_threshold_1d(dtype):
    z = np.array([0.5, -3.0, 1.0, 3.0, -0.1], dtype=dtype)
    x, idx = hard_threshold(z, 2)
    assert x.dtype == dtype
    assert idx.tolist() == [1, 3]
    np.testing.assert_array_equal(x, np.array([0.0, -3.0, 0.0, 3.0, 0.0], dtype=dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_hard_threshold_2d(dtype):
    rng = np.random.default_rng(9)
    Z = rng.standard_normal((30, 4)).astype(dtype)
    X, idx = hard_threshold(Z, 6)
    assert X.shape == Z.shape and X.dtype == dtype
    for t in range(4):
        keep = np.zeros(30, dtype=bool)
        keep[topk_numpy(Z[:, t], 6)] = True
        np.testing.assert_array_equal(X[:, t], np.where(keep, Z[:, t], 0))
        np.testing.assert_array_equal(idx[:, t], np.flatnonzero(keep))
    assert np.all(np.count_nonzero(X, axis=0) == 6)


def test_hard_threshold_edges():
    z = np.array([1.0, -2.0, 3.0])
    x0, idx0 = hard_threshold(z, 0)
    np.testing.assert_array_equal(x0, np.zeros(3))
    assert idx0.shape == (0,)
    xn, _ = hard_threshold(z, 3)
    np.testing.assert_array_equal(xn, z)
    xe, _ = hard_threshold(z, 2, engine="numpy")
    np.testing.assert_array_equal(xe, [0.0, -2.0, 3.0])


def test_hard_threshold_is_projection():
    # T_k(z) is a Euclidean projection onto k-sparse vectors: idempotent, and
    # no other support of the same size is closer (checked on n=8 by brute force).
    from itertools import combinations
    rng = np.random.default_rng(10)
    z = rng.standard_normal(8)
    x, _ = hard_threshold(z, 3)
    np.testing.assert_array_equal(hard_threshold(x, 3)[0], x)
    best = min(np.sum(np.delete(z, list(S)) ** 2) for S in combinations(range(8), 3))
    # Both sides are sums of the same squared entries: equal up to summation order.
    assert np.sum((z - x) ** 2) == pytest.approx(best, rel=1e-14)
