r"""Selection rules: which entries of a target block ``Z`` (n, T) to keep.

A rule is a function ``rule(Z, sparsity, curvature, **options) -> Selection``
registered by name in :data:`SELECTIONS`. It obeys any
:class:`~sparserec.problems.Sparsity` (a k per column, a layer-global or
uniform fraction, N:M), through :func:`~.masks.keep_mask` or, for the
greedy rules, through per-column removal counts.

``"topk"``
    The largest ``|z|`` (the Euclidean projection; curvature-free).
``"saliency"``
    The largest OBS saliency :math:`z_i^2/[\hat H^{-1}]_{ii}` (with a
    :class:`~sparserec.curvature.Diagonal` curvature this is OBD's
    :math:`h_{ii} z_i^2`).
``"greedy"``
    Greedy sequential OBS (OBC's inner loop): remove the cheapest coordinate,
    apply the OBS update and downdate :math:`\hat H^{-1}`, repeat. A
    layer-global fraction is split by OBC's rule: one pass records every
    column's loss increments, the smallest of them over the block are pruned.
    The rule also returns the corrected values (the sequential OBS updates
    with exact downdates equal the OBS correction on the kept set).
``"exact"``
    Best support in the :math:`\hat H`-norm by enumeration (``n <= 20``).
``"sparsegpt"``
    SparseGPT's blocked left-to-right sweep with one Cholesky factor of
    :math:`\hat H^{-1}` (masks chosen per block from the updated weights);
    returns its own sequentially corrected values.

A :class:`Selection` holds the kept ``mask`` and, when the rule computed
them, corrected ``values`` and the ``scores`` it ranked by.
"""
from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np
import scipy.linalg as sla

from ..kernels.obs import greedy_obs
from ..problems.sparsity import n_pruned
from .masks import keep_mask, prune_smallest

__all__ = ["Selection", "SELECTIONS", "register_selection", "EXACT_MAX_N", "select_topk",
           "select_saliency", "select_greedy", "select_exact", "select_sparsegpt",
           "sparsegpt_sweep"]

#: Largest ``n`` for which the ``"exact"`` selection (enumeration) is allowed.
EXACT_MAX_N = 20

SELECTIONS = {}


class Selection(NamedTuple):
    """What a selection rule returns.

    Parameters
    ----------
    mask : ndarray of bool, shape (n, T)
        Kept entries.
    values : ndarray of shape (n, T), optional
        Corrected values (zero off the mask) when the rule computed them as a
        by-product (``"greedy"``, ``"sparsegpt"``); None otherwise.
    scores : ndarray of shape (n, T), optional
        The scores the rule ranked by (largest kept), when it has them.
    """

    mask: np.ndarray
    values: np.ndarray = None
    scores: np.ndarray = None


def register_selection(name, *, needs_curvature=False, fused=False):
    """Register a selection rule under ``name`` (decorator factory).

    Parameters
    ----------
    name : str
        Key of the rule in :data:`SELECTIONS`.
    needs_curvature : bool, default=False
        Whether the rule uses the ``curvature`` argument.
    fused : bool, default=False
        Whether the rule returns its own corrected values (then it fixes the
        correction; see :class:`~sparserec.projection.Projection`).

    Returns
    -------
    callable
        A decorator that registers ``rule(Z, sparsity, curvature, **options)``
        and returns it unchanged.
    """
    def deco(fn):
        fn.needs_curvature = needs_curvature
        fn.fused = fused
        SELECTIONS[name] = fn
        return fn
    return deco


def _require(curvature, rule):
    if curvature is None:
        raise ValueError(f"The {rule!r} selection needs a curvature (an OBS saliency uses "
                         "diag(Ĥ⁻¹)); pass one, e.g. Projection(...)(Z, sparsity, curvature).")


@register_selection("topk")
def select_topk(Z, sparsity, curvature=None, **options):
    """Keep the largest ``|z|`` (lower index wins ties).

    Parameters
    ----------
    Z : ndarray of shape (n, T)
        Targets.
    sparsity : Sparsity
        The budget.
    curvature : Curvature, optional
        Not used.
    **options
        Options of other rules (ignored).

    Returns
    -------
    Selection
        The mask and the scores ``|Z|``.
    """
    scores = np.abs(Z)
    return Selection(keep_mask(scores, sparsity), None, scores)


@register_selection("saliency", needs_curvature=True)
def select_saliency(Z, sparsity, curvature, **options):
    r"""Keep the largest OBS saliency :math:`z_i^2/[\hat H^{-1}]_{ii}` (ranked as its square root).

    Parameters
    ----------
    Z : ndarray of shape (n, T)
        Targets.
    sparsity : Sparsity
        The budget.
    curvature : Curvature
        Gives the saliency weights :math:`1/[\hat H^{-1}]_{ii}`.
    **options
        Options of other rules (ignored).

    Returns
    -------
    Selection
        The mask and the scores :math:`|z_i|/\sqrt{[\hat H^{-1}]_{ii}}`.
    """
    _require(curvature, "saliency")
    w = np.sqrt(curvature.saliency_weights())
    scores = np.abs(np.asarray(Z, dtype=np.float64)) * w[:, None]
    return Selection(keep_mask(scores, sparsity), None, scores)


def _greedy_kept(n, order, T):
    keep = np.ones((T, n), dtype=bool)
    rows, steps = np.nonzero(order >= 0)
    keep[rows, order[rows, steps]] = False
    return keep.T


@register_selection("greedy", needs_curvature=True, fused=True)
def select_greedy(Z, sparsity, curvature, *, engine="numba", trace_cache=None, **options):
    r"""Greedy sequential OBS on each column (OBC), with its corrected values.

    Parameters
    ----------
    Z : ndarray of shape (n, T)
        Targets.
    sparsity : Sparsity
        Budget. Per-column counts are used directly (N:M through the
        kernel's group constraint); a layer-global fraction follows OBC's
        ``prune_blocked``: the smallest ``P`` of all columns' loss increments.
    curvature : Curvature
        Needs the dense ``Ĥ⁻¹``.
    engine : {"numba", "numpy"}, default="numba"
        Engine of :func:`~sparserec.kernels.greedy_obs`.
    trace_cache : callable or None
        ``trace_cache(compute)`` returns a memoised ``compute()`` (the full
        traces of a layer are reused across sparsities); None computes them.
    **options
        Ignored (options of other rules).

    Returns
    -------
    Selection
        Mask, corrected values and no scores.
    """
    _require(curvature, "greedy")
    Zt = np.ascontiguousarray(np.asarray(Z, dtype=np.float64).T)
    T, n = Zt.shape
    Hinv = curvature.inverse()
    if sparsity.kind == "nm":
        W, _, order = greedy_obs(Zt, Hinv, nm=tuple(sparsity.nm), return_trace=True,
                                 engine=engine)
        return Selection(_greedy_kept(n, order, T), W.T.copy())
    k = sparsity.keep_per_column()
    if k is None:  # layer-global fraction: OBC's allocation from the full traces
        def compute():
            return greedy_obs(Zt, Hinv, 0, return_trace=True, engine=engine)[1]
        trace = compute() if trace_cache is None else trace_cache(compute)
        pruned = prune_smallest(np.nan_to_num(trace, nan=np.inf), sparsity.n_prune_total())
        k = (n - pruned.sum(axis=1)).astype(np.int64)
    W, _, order = greedy_obs(Zt, Hinv, np.asarray(k, dtype=np.int64), return_trace=True,
                             engine=engine)
    return Selection(_greedy_kept(n, order, T), W.T.copy())


@register_selection("exact", needs_curvature=True)
def select_exact(Z, sparsity, curvature, **options):
    r"""Best support in the :math:`\hat H`-norm by enumeration (``n <= 20``, a k per column).

    Minimises :math:`\min_{\mathrm{supp}\,u \subseteq S} (u - z)^\top \hat H (u - z)`
    over all :math:`\binom nk` sets ``S``, i.e. maximises
    :math:`c_S^\top \hat H_{SS}^{-1} c_S` with :math:`c = \hat H z`. Only
    :math:`\hat H_{SS}` must be invertible. Lower lexicographic ``S`` wins ties.
    An N:M budget enumerates only the valid masks.

    Parameters
    ----------
    Z : ndarray of shape (n, T)
        Targets.
    sparsity : Sparsity
        The budget.
    curvature : Curvature
        Gives the dense :math:`\hat H`.
    **options
        Options of other rules (ignored).

    Returns
    -------
    Selection
        The mask.

    Raises
    ------
    ValueError
        For ``n > 20`` or a layer-global fraction.
    """
    _require(curvature, "exact")
    n, T = Z.shape
    if n > EXACT_MAX_N:
        raise ValueError(f"The 'exact' selection enumerates all C(n, k) supports and is "
                         f"allowed for n <= {EXACT_MAX_N} only; got n={n}. Use "
                         "selection='greedy' or 'saliency'.")
    k = sparsity.keep_per_column()
    if k is None:
        raise ValueError("The 'exact' selection needs a kept count per column (a k, a uniform "
                         f"fraction or N:M); got {sparsity.describe()}.")
    H = np.asarray(curvature.dense(), dtype=np.float64)
    C = H @ np.asarray(Z, dtype=np.float64)
    mask = np.zeros((n, T), dtype=bool)
    for kk in np.unique(k):
        cols = np.flatnonzero(k == kk)
        subsets = np.array(list(itertools.combinations(range(n), int(kk))), dtype=np.intp)
        if sparsity.kind == "nm":
            N, M = sparsity.nm
            counts = np.stack([np.bincount(s // M, minlength=n // M) for s in subsets])
            subsets = subsets[np.all(counts == M - N, axis=1)]
        best = np.full(cols.size, -np.inf)
        pick = np.zeros(cols.size, dtype=np.intp)
        for lo in range(0, len(subsets), 4096):
            sub = subsets[lo:lo + 4096]
            HS = H[sub[:, :, None], sub[:, None, :]]
            CS = C[sub][:, :, cols]                   # (b, k, t)
            try:
                U = np.linalg.solve(HS, CS)
            except np.linalg.LinAlgError:
                U = np.stack([np.linalg.lstsq(h, c, rcond=None)[0] for h, c in zip(HS, CS)])
            gain = np.einsum("bkt,bkt->bt", CS, U)
            j = np.argmax(gain, axis=0)
            g = gain[j, np.arange(cols.size)]
            better = g > best
            best = np.where(better, g, best)
            pick = np.where(better, lo + j, pick)
        for c, s in zip(cols, pick):
            mask[subsets[s], c] = True
    return Selection(mask)


# --------------------------------------------------------------------- SparseGPT
def _block_counts(sparsity, T, n, i1, i2):
    """Entries pruned in columns ``[i1, i2)`` of the (T × n) sweep: a total or per row."""
    if sparsity.coupled:
        s = sparsity.fraction
        return n_pruned(T * i2, s) - n_pruned(T * i1, s)
    p = n - sparsity.keep_per_column()          # pruned per row (output / signal)
    return (np.floor(p * i2 / n + 0.5) - np.floor(p * i1 / n + 0.5)).astype(np.int64)


def sparsegpt_sweep(Wt, U, sparsity, blocksize):
    """Run SparseGPT's column sweep on ``Wt`` (T × n, PyTorch layout), in place.

    Parameters
    ----------
    Wt : ndarray of shape (T, n)
        Weights, one row per output (modified in place).
    U : ndarray of shape (n, n)
        Upper Cholesky factor of ``Ĥ⁻¹`` (``Ĥ⁻¹ = UᵀU``).
    sparsity : Sparsity
        Budget (per-row counts are spread over the blocks in proportion).
    blocksize : int
        Columns per block.

    Returns
    -------
    Wt : ndarray of shape (T, n)
        The pruned weights.
    mask : ndarray of bool of shape (T, n)
        Pruned entries.
    losses : ndarray of shape (T,)
        ``Σ (w − q)²/(2U_jj²)`` per row.
    """
    r, c = Wt.shape
    losses = np.zeros(r)
    pruned = np.zeros((r, c), dtype=bool)
    dU = np.diag(U)
    nm = sparsity.nm if sparsity.kind == "nm" else None
    for i1 in range(0, c, blocksize):
        i2 = min(i1 + blocksize, c)
        W1 = Wt[:, i1:i2].copy()
        Q1 = np.zeros_like(W1)
        Err1 = np.zeros_like(W1)
        U1 = U[i1:i2, i1:i2]
        d1 = dU[i1:i2]
        if nm is None:
            score = W1 * W1 / (d1 * d1)[None, :]
            cnt = _block_counts(sparsity, r, c, i1, i2)
            if np.ndim(cnt) == 0:
                mask1 = prune_smallest(score, int(cnt))
            else:
                order = np.argsort(-score, axis=1, kind="stable")
                rank = np.empty_like(order)
                np.put_along_axis(rank, order, np.arange(i2 - i1)[None, :], axis=1)
                mask1 = rank >= (i2 - i1) - cnt[:, None]
        else:
            mask1 = np.zeros_like(W1, dtype=bool)
        for i in range(i2 - i1):
            if nm is not None and i % nm[1] == 0:
                N, M = nm
                score = W1[:, i:i + M] ** 2 / (d1[i:i + M] ** 2)[None, :]
                mask1[:, i:i + M] = prune_smallest(score, N, axis=1)
            w = W1[:, i]
            d = U1[i, i]
            q = np.where(mask1[:, i], 0.0, w)
            Q1[:, i] = q
            losses += (w - q) ** 2 / d ** 2 / 2
            err = (w - q) / d
            W1[:, i:] -= np.outer(err, U1[i, i:])
            Err1[:, i] = err
        Wt[:, i1:i2] = Q1
        pruned[:, i1:i2] = mask1
        Wt[:, i2:] -= Err1 @ U[i1:i2, i2:]
    return Wt, pruned, losses


@register_selection("sparsegpt", needs_curvature=True, fused=True)
def select_sparsegpt(Z, sparsity, curvature, *, blocksize=128, **options):
    r"""SparseGPT: blocked left-to-right OBS with one Cholesky factor of :math:`\hat H^{-1}`.

    Let :math:`\hat H^{-1} = U^\top U` (``U`` upper triangular). Row ``j`` of
    ``U`` is row ``j`` of :math:`(\hat H_{F_j})^{-1}`, ``F_j = {j, …, n−1}``,
    divided by :math:`\sqrt{[(\hat H_{F_j})^{-1}]_{jj}}`, so one factorisation
    gives every OBS downdate of the left-to-right order. The mask of each
    block of ``blocksize`` rows is chosen from the already-updated values.
    Counts are exact per block (the reference prunes one more plus ties).

    Parameters
    ----------
    Z : ndarray of shape (n, T)
        Targets (one column per output).
    sparsity : Sparsity
        The budget (a fraction, N:M, or a k per column).
    curvature : Curvature
        Gives the dense :math:`\hat H^{-1}`.
    blocksize : int, default=128
        Rows of ``Z`` per block.
    **options
        Options of other rules (ignored).

    Returns
    -------
    Selection
        The mask and SparseGPT's own corrected values.
    """
    _require(curvature, "sparsegpt")
    if sparsity.kind is None:
        raise ValueError("The 'sparsegpt' selection needs a sparsity target; got none.")
    U = sla.cholesky(curvature.inverse(), lower=False, check_finite=False)
    Wt = np.array(np.asarray(Z, dtype=np.float64).T, order="C")
    Wt, pruned, _ = sparsegpt_sweep(Wt, U, sparsity, int(blocksize))
    return Selection(~pruned.T, Wt.T.copy())
