"""L-OBS sequential pruning kernel (numba) and its NumPy twin.

L-OBS ranks every weight once by ``w²/[Ψ⁻¹]_ii`` and then, in that order,
applies the single-weight OBS update to the weight's output column with the
*fixed* ``Ψ⁻¹`` (no downdate, no re-ranking), using the weight's current
value. Pruned weights are re-zeroed at checkpoints (the reference applies
the mask every 5 % of the pruned count) and at the end.

Layout here: ``W`` is (n, T), column ``j`` is output ``j``; ``Hinv`` is
(n, n).
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["lobs_sequential", "lobs_sequential_numba", "lobs_sequential_numpy"]


@njit(cache=True)
def _lobs_kernel(W, Hinv, rows, cols, checkpoints):
    n, T = W.shape
    P = rows.size
    pruned = np.zeros((n, T), dtype=np.bool_)
    c = 0
    for t in range(P):
        i = rows[t]
        j = cols[t]
        f = W[i, j] / Hinv[i, i]
        for r in range(n):
            W[r, j] -= f * Hinv[r, i]
        W[i, j] = 0.0
        pruned[i, j] = True
        if c < checkpoints.size and t + 1 == checkpoints[c]:
            for a in range(n):
                for b in range(T):
                    if pruned[a, b]:
                        W[a, b] = 0.0
            c += 1
    for a in range(n):
        for b in range(T):
            if pruned[a, b]:
                W[a, b] = 0.0


def _args(W, Hinv, rows, cols, checkpoints):
    W = np.array(W, dtype=np.float64, copy=True, order="C")
    Hinv = np.ascontiguousarray(Hinv, dtype=np.float64)
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    cols = np.ascontiguousarray(cols, dtype=np.int64)
    checkpoints = np.ascontiguousarray(checkpoints, dtype=np.int64)
    return W, Hinv, rows, cols, checkpoints


def lobs_sequential_numba(W, Hinv, rows, cols, checkpoints):
    """Numba kernel of :func:`lobs_sequential`.

    Parameters
    ----------
    W, Hinv, rows, cols, checkpoints : ndarray
        As in :func:`lobs_sequential`.

    Returns
    -------
    W_pruned : ndarray of shape (n, T)
        Every pruned entry exactly 0.
    """
    W, Hinv, rows, cols, checkpoints = _args(W, Hinv, rows, cols, checkpoints)
    _lobs_kernel(W, Hinv, rows, cols, checkpoints)
    return W


def lobs_sequential_numpy(W, Hinv, rows, cols, checkpoints):
    """NumPy twin of :func:`lobs_sequential_numba` (one vector update per weight).

    Parameters
    ----------
    W, Hinv, rows, cols, checkpoints : ndarray
        As in :func:`lobs_sequential`.

    Returns
    -------
    W_pruned : ndarray of shape (n, T)
        Every pruned entry exactly 0.
    """
    W, Hinv, rows, cols, checkpoints = _args(W, Hinv, rows, cols, checkpoints)
    pruned = np.zeros(W.shape, dtype=bool)
    cps = set(int(c) for c in checkpoints)
    for t, (i, j) in enumerate(zip(rows, cols)):
        W[:, j] -= (W[i, j] / Hinv[i, i]) * Hinv[:, i]
        W[i, j] = 0.0
        pruned[i, j] = True
        if t + 1 in cps:
            W[pruned] = 0.0
    W[pruned] = 0.0
    return W


def lobs_sequential(W, Hinv, rows, cols, checkpoints=(), *, engine="numba"):
    r"""Apply L-OBS's sequential single-weight updates with a fixed inverse.

    Parameters
    ----------
    W : ndarray of shape (n, T)
        Dense weights (not modified).
    Hinv : ndarray of shape (n, n)
        The fixed ``Ψ⁻¹`` (damped).
    rows, cols : ndarray of int of shape (P,)
        Pruned weights in processing order (ascending fixed saliency).
    checkpoints : sequence of int
        Step counts (ascending) after which all weights pruned so far are
        re-zeroed.
    engine : {"numba", "numpy"}, default="numba"
        The numba kernel or its NumPy twin.

    Returns
    -------
    W_pruned : ndarray of shape (n, T)
        Every pruned entry exactly 0.

    Notes
    -----
    For each pruned ``(i, j)`` in order:
    :math:`w_{:,j} \leftarrow w_{:,j} - (w_{ij}/[\Psi^{-1}]_{ii})\,\Psi^{-1}_{:,i}`.
    """
    if engine == "numba":
        return lobs_sequential_numba(W, Hinv, rows, cols, checkpoints)
    if engine == "numpy":
        return lobs_sequential_numpy(W, Hinv, rows, cols, checkpoints)
    raise ValueError(f"The 'engine' parameter of lobs_sequential must be one of 'numba', "
                     f"'numpy'; got {engine!r}.")
