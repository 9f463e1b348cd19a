"""Top-k selection: the support of the k entries of largest magnitude.

The rule, used everywhere in sparserec: keep the k entries of largest
``|z_i|``; among equal magnitudes the lower index wins. The result is the
kept index set sorted ascending. The numba kernel finds the k-th largest
magnitude by Hoare selection (expected O(n), no full sort) and then scans
once in index order, which is what makes the tie rule exact. For large n and
k ≤ n/8 it first bounds the threshold from a strided sample, so that one pass
over z leaves O(k) candidates and the selection runs on those only (with a
fall-back to the full selection when the sample misjudges).
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["topk", "topk_numba", "topk_numpy", "hard_threshold", "topk_mask",
           "topk_mask_numba", "topk_mask_numpy"]


@njit(cache=True)
def _select_inplace(a, kth):
    """Rearrange ``a`` so that ``a[kth]`` holds its ascending-order value; return it."""
    lo = 0
    hi = a.size - 1
    while hi > lo:
        mid = (lo + hi) >> 1
        if a[mid] < a[lo]:
            a[mid], a[lo] = a[lo], a[mid]
        if a[hi] < a[lo]:
            a[hi], a[lo] = a[lo], a[hi]
        if a[hi] < a[mid]:
            a[hi], a[mid] = a[mid], a[hi]
        pivot = a[mid]
        i = lo
        j = hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if kth <= j:
            hi = j
        elif kth >= i:
            lo = i
        else:
            return pivot
    return a[kth]


_SAMPLED_MIN_N = 16384  # below this, plain selection on all magnitudes
_SAMPLE_SIZE = 8192     # about this many magnitudes are sampled (every step-th)


@njit(cache=True)
def _sample_step(n):
    """Stride of the threshold sample (at least 4: the sample stays a fraction of z)."""
    return max(4, n // _SAMPLE_SIZE)


@njit(cache=True)
def _topk_sampled(z, k, out):
    """Top-k through a sampled threshold; returns False (nothing written) if it cannot.

    A strided sample of the magnitudes gives a lower bound ``lo`` that, with
    high probability, leaves between k and ``cap`` entries at or above it. One
    pass collects those candidates (in index order); the exact k-th largest
    magnitude is then selected among them only, and the tie rule is applied
    by scanning them in index order. All entries >= the true threshold are
    candidates whenever at least k are, so the result is exact; when the
    sample misjudges (fewer than k or more than ``cap`` candidates, e.g. on
    adversarial patterns) the caller falls back to the full selection.
    """
    n = z.size
    step = _sample_step(n)
    s = n // step
    sample = np.empty(s, dtype=z.dtype)
    for j in range(s):
        sample[j] = abs(z[j * step])
    q = k * s / n                      # expected rank of the threshold in the sample
    r = int(q + 4.0 * np.sqrt(q) + 8)  # a few standard deviations lower, to be safe
    if r >= s:
        return False
    lo = _select_inplace(sample, s - 1 - r)
    cap = 2 * k + 4096
    cand = np.empty(cap, dtype=np.int64)
    c = 0
    for i in range(n):
        if abs(z[i]) >= lo:
            if c == cap:
                return False
            cand[c] = i
            c += 1
    if c < k:
        return False
    mag = np.empty(c, dtype=z.dtype)
    for j in range(c):
        mag[j] = abs(z[cand[j]])
    thr = _select_inplace(mag, c - k)
    n_gt = 0
    for j in range(c):
        if abs(z[cand[j]]) > thr:
            n_gt += 1
    n_eq = k - n_gt
    p = 0
    for j in range(c):
        i = cand[j]
        a = abs(z[i])
        if a > thr:
            out[p] = i
            p += 1
        elif a == thr and n_eq > 0:
            out[p] = i
            p += 1
            n_eq -= 1
    return True


@njit(cache=True)
def _topk_1d(z, k, out):
    n = z.size
    if k <= 0:
        return
    if k >= n:
        for i in range(n):
            out[i] = i
        return
    if n >= _SAMPLED_MIN_N and 8 * k <= n and _topk_sampled(z, k, out):
        return
    mag = np.empty(n, dtype=z.dtype)
    for i in range(n):
        mag[i] = abs(z[i])
    thr = _select_inplace(mag, n - k)
    n_gt = 0
    for i in range(n):
        if abs(z[i]) > thr:
            n_gt += 1
    n_eq = k - n_gt
    p = 0
    for i in range(n):
        a = abs(z[i])
        if a > thr:
            out[p] = i
            p += 1
        elif a == thr and n_eq > 0:
            out[p] = i
            p += 1
            n_eq -= 1


@njit(cache=True)
def _topk_block(Z, k):
    n, T = Z.shape
    out = np.empty((k, T), dtype=np.int64)
    col = np.empty(n, dtype=Z.dtype)
    buf = np.empty(k, dtype=np.int64)
    for t in range(T):
        for i in range(n):
            col[i] = Z[i, t]
        _topk_1d(col, k, buf)
        for i in range(k):
            out[i, t] = buf[i]
    return out


@njit(cache=True)
def _topk_mask_block(Z, k, mask):
    n, T = Z.shape
    col = np.empty(n, dtype=Z.dtype)
    buf = np.empty(n, dtype=np.int64)
    for t in range(T):
        for i in range(n):
            col[i] = Z[i, t]
        kt = k[t]
        _topk_1d(col, kt, buf)
        for i in range(min(kt, n)):
            mask[buf[i], t] = True


def topk_numba(z, k):
    """Numba kernel: indices (ascending) of the k largest ``|z|``, per column.

    Parameters
    ----------
    z : ndarray of shape (n,) or (n, T)
        Values; one selection per column for 2-D input. Must be finite.
    k : int
        Number of entries to keep, ``0 <= k <= n`` (not checked here).

    Returns
    -------
    idx : ndarray of int64, shape (k,) or (k, T)
        Kept indices, sorted ascending within each column.
    """
    z = np.asarray(z)
    if z.ndim == 1:
        out = np.empty(k, dtype=np.int64)
        _topk_1d(z, int(k), out)
        return out
    return _topk_block(z, int(k))


def topk_numpy(z, k):
    """NumPy twin of :func:`topk_numba` (a stable full sort; the test oracle).

    Parameters
    ----------
    z : ndarray of shape (n,) or (n, T)
        Values; one selection per column for 2-D input.
    k : int
        Number of entries to keep, ``0 <= k <= n``.

    Returns
    -------
    idx : ndarray of int64, shape (k,) or (k, T)
        Kept indices, sorted ascending within each column.
    """
    z = np.asarray(z)
    if z.ndim == 1:
        order = np.argsort(-np.abs(z), kind="stable")
        return np.sort(order[:k]).astype(np.int64)
    order = np.argsort(-np.abs(z), axis=0, kind="stable")
    return np.sort(order[:k], axis=0).astype(np.int64)


def _check_scores(Z, name, owner):
    """Refuse NaN scores: no order exists, and the numba selection assumes one."""
    if np.isnan(Z).any():
        raise ValueError(f"The {name!r} argument of {owner} contains NaN; a selection needs "
                         "comparable scores (a step or curvature produced NaN upstream).")


def topk(z, k, *, engine="numba"):
    """Return the indices of the k entries of largest magnitude (lower index wins ties).

    Parameters
    ----------
    z : ndarray of shape (n,) or (n, T)
        Values; one selection per column for 2-D input. Must be finite.
    k : int
        Number of entries to keep, ``0 <= k <= n``.
    engine : {"numba", "numpy"}, default="numba"
        ``"numba"`` is an O(n) expected-time selection; ``"numpy"`` is the
        stable-sort twin used as the test oracle.

    Returns
    -------
    idx : ndarray of int64, shape (k,) or (k, T)
        Kept indices, sorted ascending within each column.

    Examples
    --------
    >>> import numpy as np
    >>> topk(np.array([0.5, -3.0, 1.0, 3.0]), 2).tolist()
    [1, 3]
    """
    z = np.asarray(z)
    n = z.shape[0]
    if not 0 <= k <= n:
        raise ValueError(f"The 'k' parameter of topk must be an int in [0, {n}]; got {k!r}.")
    _check_scores(z, "z", "topk")
    if engine == "numba":
        return topk_numba(z, k)
    if engine == "numpy":
        return topk_numpy(z, k)
    raise ValueError(f"The 'engine' parameter of topk must be one of 'numba', 'numpy'; got {engine!r}.")


def hard_threshold(z, k, *, engine="numba"):
    """Keep the k largest-magnitude entries of each column, zero the rest: ``T_k(z)``.

    Parameters
    ----------
    z : ndarray of shape (n,) or (n, T)
        Values; one selection per column for 2-D input. Must be finite.
    k : int
        Number of entries to keep, ``0 <= k <= n``.
    engine : {"numba", "numpy"}, default="numba"
        Selection engine, as in :func:`topk`.

    Returns
    -------
    x : ndarray, same shape as ``z``
        ``z`` with all but the kept entries set to zero.
    idx : ndarray of int64, shape (k,) or (k, T)
        The kept indices (see :func:`topk`).

    Examples
    --------
    >>> import numpy as np
    >>> x, idx = hard_threshold(np.array([0.5, -3.0, 1.0]), 2)
    >>> x.tolist(), idx.tolist()
    ([0.0, -3.0, 1.0], [1, 2])
    """
    z = np.asarray(z)
    idx = topk(z, k, engine=engine)
    x = np.zeros_like(z)
    if z.ndim == 1:
        x[idx] = z[idx]
    else:
        cols = np.arange(z.shape[1])[None, :]
        x[idx, cols] = z[idx, cols]
    return x, idx


def topk_mask_numba(Z, k):
    """Numba kernel of :func:`topk_mask`.

    Parameters
    ----------
    Z : ndarray of shape (n, T)
        Values (finite).
    k : ndarray of int64 of shape (T,)
        Entries kept in each column, ``0 <= k[t] <= n`` (not checked here).

    Returns
    -------
    mask : ndarray of bool, shape (n, T)
        True on the kept entries.
    """
    Z = np.asarray(Z)
    mask = np.zeros(Z.shape, dtype=np.bool_)
    _topk_mask_block(Z, np.ascontiguousarray(k, dtype=np.int64), mask)
    return mask


def topk_mask_numpy(Z, k):
    """NumPy twin of :func:`topk_mask_numba` (a stable sort per column; the test oracle).

    Parameters
    ----------
    Z : ndarray of shape (n, T)
        Values.
    k : ndarray of int of shape (T,)
        Entries kept in each column.

    Returns
    -------
    mask : ndarray of bool, shape (n, T)
        True on the kept entries.
    """
    Z = np.asarray(Z)
    n, T = Z.shape
    order = np.argsort(-np.abs(Z), axis=0, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(n)[:, None], axis=0)
    return rank < np.asarray(k)[None, :]


def topk_mask(Z, k, *, engine="numba"):
    """Boolean mask of the ``k[t]`` largest magnitudes of every column ``t``.

    The same rule as :func:`topk` (lower index wins ties), with a k per
    column, so that signals of different sparsities share one block.

    Parameters
    ----------
    Z : ndarray of shape (n, T)
        Values (finite).
    k : int or array_like of int of shape (T,)
        Entries kept per column, each in ``[0, n]``.
    engine : {"numba", "numpy"}, default="numba"
        The numba kernel or its NumPy twin.

    Returns
    -------
    mask : ndarray of bool, shape (n, T)
        True on the kept entries (exactly ``k[t]`` in column ``t``).

    Examples
    --------
    >>> import numpy as np
    >>> topk_mask(np.array([[3.0, 1.0], [-1.0, 2.0], [2.0, 0.5]]), [2, 1]).tolist()
    [[True, False], [False, True], [True, False]]
    """
    Z = np.asarray(Z)
    if Z.ndim != 2:
        raise ValueError(f"The 'Z' argument of topk_mask must be 2-D; got shape {Z.shape}.")
    n, T = Z.shape
    _check_scores(Z, "Z", "topk_mask")
    k = np.asarray(k, dtype=np.int64)
    if k.shape != (T,):  # a scalar k (np.full is cheaper than broadcast_to in the loop)
        k = np.full(T, k, dtype=np.int64) if k.ndim == 0 else np.broadcast_to(k, (T,))
    lo, hi = (int(k[0]), int(k[0])) if T == 1 else (k.min(), k.max()) if T else (0, 0)
    if lo < 0 or hi > n:
        raise ValueError(f"The 'k' parameter of topk_mask must be ints in [0, {n}]; got "
                         f"values in [{lo}, {hi}].")
    if engine == "numba":
        return topk_mask_numba(Z, k)
    if engine == "numpy":
        return topk_mask_numpy(Z, k)
    raise ValueError(f"The 'engine' parameter of topk_mask must be one of 'numba', 'numpy'; "
                     f"got {engine!r}.")
