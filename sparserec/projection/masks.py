"""Masks: from scores to a kept set, under any :class:`~sparserec.problems.Sparsity`.

One rule everywhere: the **largest** scores are kept, and among equal scores
the **lower index** is kept (the rule of :func:`sparserec.kernels.topk`).
:func:`keep_mask` is the single place where a score block becomes a mask for
every kind of budget: a k per column, a fraction spread over the block
(layer-global) or per column (uniform), or an N:M pattern.
"""
from __future__ import annotations

import numpy as np

from ..kernels.topk import topk_mask
from ..problems.sparsity import n_pruned

__all__ = ["keep_mask", "keep_counts", "prune_smallest", "nm_mask", "check_nm_mask",
           "mask_values", "merged_supports"]


def prune_smallest(scores, n_prune, axis=None):
    """Boolean mask of the ``n_prune`` smallest scores (True = pruned).

    Ties are broken by keeping the lower index (a stable descending sort,
    the :func:`sparserec.kernels.topk` rule). ``axis=None`` ranks the
    flattened array (C order); an int ranks each slice along that axis, with
    ``n_prune`` entries pruned per slice.

    Parameters
    ----------
    scores : array_like
        Importance of each entry (lowest pruned first).
    n_prune : int
        Entries pruned (in total, or per slice when ``axis`` is an int).
    axis : int or None, default=None
        Rank the flattened array (None) or each slice along ``axis``.

    Returns
    -------
    mask : ndarray of bool, same shape as ``scores``
        True where the entry is pruned.

    Examples
    --------
    >>> prune_smallest([3.0, 1.0, 1.0, 2.0], 2).tolist()
    [False, True, True, False]
    """
    scores = np.asarray(scores)
    if axis is None:
        flat = scores.ravel()
        order = np.argsort(-flat, kind="stable")
        mask = np.zeros(flat.size, dtype=bool)
        if n_prune > 0:
            mask[order[flat.size - n_prune:]] = True
        return mask.reshape(scores.shape)
    moved = np.moveaxis(scores, axis, -1)
    order = np.argsort(-moved, axis=-1, kind="stable")
    mask = np.zeros(moved.shape, dtype=bool)
    if n_prune > 0:
        np.put_along_axis(mask, order[..., moved.shape[-1] - n_prune:], True, axis=-1)
    return np.moveaxis(mask, -1, axis)


def nm_mask(scores, N, M):
    """N:M mask along axis 0: in every group of M consecutive rows, prune the N smallest.

    Parameters
    ----------
    scores : ndarray of shape (n, T), n divisible by M
        Importance of each entry (lowest pruned first; ties keep the lower index).
    N, M : int
        N entries pruned in every group of M consecutive rows.

    Returns
    -------
    mask : ndarray of bool, shape (n, T)
        True = pruned.
    """
    n, T = scores.shape
    grouped = scores.reshape(n // M, M, T)
    return prune_smallest(grouped, N, axis=1).reshape(n, T)


def check_nm_mask(mask, N, M):
    """True when every group of M consecutive rows of ``mask`` (n, T) has exactly N True.

    Parameters
    ----------
    mask : ndarray of bool, shape (n, T)
        Pruned mask (True = pruned).
    N, M : int
        The pattern: N pruned in every group of M consecutive rows.

    Returns
    -------
    bool
        Whether the mask obeys the pattern (False when ``n`` is not divisible by M).
    """
    n, T = mask.shape
    if n % M:
        return False
    return bool(np.all(mask.reshape(n // M, M, T).sum(axis=1) == N))


def keep_mask(scores, sparsity):
    """Kept mask of a score block under a sparsity constraint.

    Parameters
    ----------
    scores : ndarray of shape (n, T)
        Nonnegative importance of each entry (largest kept).
    sparsity : Sparsity
        ``"k"``: the ``k[t]`` largest of column ``t``; ``"fraction"``: the
        ``⌊s·n·T + ½⌋`` smallest of the block pruned (global) or ``⌊s·n + ½⌋``
        of each column (uniform); ``"nm"``: N pruned per group of M rows.

    Returns
    -------
    ndarray of bool, shape (n, T)
        True on kept entries.

    Raises
    ------
    ValueError
        For a constraint without a target (``kind=None``).
    """
    kind = sparsity.kind
    if kind == "k":
        return topk_mask(scores, sparsity.k)
    if kind == "nm":
        return ~nm_mask(scores, *sparsity.nm)
    if kind == "fraction":
        n, T = scores.shape
        if sparsity.allocation == "uniform":
            return ~prune_smallest(scores, n_pruned(n, sparsity.fraction), axis=0)
        return ~prune_smallest(scores, n_pruned(n * T, sparsity.fraction))
    raise ValueError("a selection needs a sparsity target; this problem has none "
                     "(sparsity=None)")


def keep_counts(scores, sparsity):
    """Kept entries per column under ``sparsity`` (scores decide a layer-global split).

    Parameters
    ----------
    scores : ndarray of shape (n, T)
        Importance of each entry (used only by a layer-global fraction).
    sparsity : Sparsity
        The constraint.

    Returns
    -------
    ndarray of int64 of shape (T,)
        Kept entries per column.
    """
    k = sparsity.keep_per_column()
    if k is not None:
        return k
    return keep_mask(scores, sparsity).sum(axis=0).astype(np.int64)


def mask_values(Z, mask):
    """``Z`` with the entries off ``mask`` set to zero (plain hard thresholding).

    Parameters
    ----------
    Z : ndarray of shape (n, T)
        Values.
    mask : ndarray of bool, shape (n, T)
        Kept entries.

    Returns
    -------
    ndarray of shape (n, T)
        A new array, ``Z`` on the mask and 0 elsewhere.
    """
    return np.where(mask, Z, np.zeros((), dtype=Z.dtype))


def merged_supports(P, X, size):
    """Per column: ``supp(x) ∪ supp T_size(p)``, with ``p`` zeroed on ``supp(x)`` (sorted).

    The support merge of CoSaMP (``size = 2k``) and Subspace Pursuit (``size = k``).

    Parameters
    ----------
    P : ndarray of shape (n, T)
        Proxies ``Aᵀ(y − Ax)``.
    X : ndarray of shape (n, T)
        Current iterates.
    size : int or ndarray of int of shape (T,)
        Entries of the proxy added per column.

    Returns
    -------
    list of ndarray of int
        One sorted index array per column.
    """
    mask = X != 0
    n, T = P.shape
    size = np.minimum(np.broadcast_to(np.asarray(size, dtype=np.int64), (T,)), n)
    new = topk_mask(np.where(mask, 0, P), size)
    return [np.flatnonzero(mask[:, t] | new[:, t]) for t in range(T)]
