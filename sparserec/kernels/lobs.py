"""L-OBS sequential pruning kernel (numba) and its NumPy twin.

L-OBS ranks every weight once by ``w²/[Ψ⁻¹]_ii`` and then, in that order,
applies the single-weight OBS update to the weight's output column with the
*fixed* ``Ψ⁻¹`` (no downdate, no re-ranking), using the weight's current
value. Every update reads only the weight being pruned, never one pruned
earlier, so the pruned weights are zeroed once, at the end (the reference
script's intermediate masking at its checkpoints changes nothing).

Layout here: ``W`` is (n, T), column ``j`` is output ``j``; ``Hinv`` is
(n, n).
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["lobs_sequential", "lobs_sequential_numba", "lobs_sequential_numpy"]


@njit(cache=True)
def _lobs_kernel(W, Hinv, rows, cols):
    n = W.shape[0]
    for t in range(rows.size):
        i = rows[t]
        j = cols[t]
        f = W[i, j] / Hinv[i, i]
        for r in range(n):
            W[r, j] -= f * Hinv[r, i]
    for t in range(rows.size):
        W[rows[t], cols[t]] = 0.0


def _args(W, Hinv, rows, cols):
    W = np.array(W, dtype=np.float64, copy=True, order="C")
    Hinv = np.ascontiguousarray(Hinv, dtype=np.float64)
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    cols = np.ascontiguousarray(cols, dtype=np.int64)
    return W, Hinv, rows, cols


def lobs_sequential_numba(W, Hinv, rows, cols):
    """Numba kernel of :func:`lobs_sequential`.

    Parameters
    ----------
    W, Hinv, rows, cols : ndarray
        As in :func:`lobs_sequential`.

    Returns
    -------
    W_pruned : ndarray of shape (n, T)
        Every pruned entry exactly 0.
    """
    W, Hinv, rows, cols = _args(W, Hinv, rows, cols)
    _lobs_kernel(W, Hinv, rows, cols)
    return W


def lobs_sequential_numpy(W, Hinv, rows, cols):
    """NumPy twin of :func:`lobs_sequential_numba` (one vector update per weight).

    Parameters
    ----------
    W, Hinv, rows, cols : ndarray
        As in :func:`lobs_sequential`.

    Returns
    -------
    W_pruned : ndarray of shape (n, T)
        Every pruned entry exactly 0.
    """
    W, Hinv, rows, cols = _args(W, Hinv, rows, cols)
    for i, j in zip(rows, cols):
        W[:, j] -= (W[i, j] / Hinv[i, i]) * Hinv[:, i]
    W[rows, cols] = 0.0
    return W


def lobs_sequential(W, Hinv, rows, cols, *, engine="numba"):
    r"""Apply L-OBS's sequential single-weight updates with a fixed inverse.

    Parameters
    ----------
    W : ndarray of shape (n, T)
        Dense weights (not modified).
    Hinv : ndarray of shape (n, n)
        The fixed ``Ψ⁻¹`` (damped).
    rows, cols : ndarray of int of shape (P,)
        Pruned weights in processing order (ascending fixed saliency).
    engine : {"numba", "numpy"}, default="numba"
        The numba kernel or its NumPy twin.

    Returns
    -------
    W_pruned : ndarray of shape (n, T)
        Every pruned entry exactly 0.

    Notes
    -----
    For each pruned ``(i, j)`` in order:
    :math:`w_{:,j} \leftarrow w_{:,j} - (w_{ij}/[\Psi^{-1}]_{ii})\,\Psi^{-1}_{:,i}`,
    then all pruned entries are set to 0.
    """
    if engine == "numba":
        return lobs_sequential_numba(W, Hinv, rows, cols)
    if engine == "numpy":
        return lobs_sequential_numpy(W, Hinv, rows, cols)
    raise ValueError(f"The 'engine' parameter of lobs_sequential must be one of 'numba', "
                     f"'numpy'; got {engine!r}.")
