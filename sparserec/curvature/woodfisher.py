r"""WoodFisher: the empirical Fisher ``λI + (1/N)Σ g gᵀ`` with its Woodbury inverse."""
from __future__ import annotations


import numpy as np
import scipy.linalg as sla

from .._validation import as_real_array, check_int, check_real
from ..problems import LayerProblem, ObjectiveProblem, Problem
from .base import Curvature, _as_block, relative_damping

__all__ = ["WoodFisher", "woodbury_inverse", "sample_gradients"]


def sample_gradients(problem, x=None):
    """Per-sample gradients (rows) that define a problem's empirical Fisher.

    Parameters
    ----------
    problem : Problem, LayerProblem, ObjectiveProblem or ndarray of shape (N, n)
        See :meth:`WoodFisher.fit`.
    x : ndarray of shape (n,), optional
        Point of an objective problem's gradients (default: zeros).

    Returns
    -------
    ndarray of shape (N, n)
        One gradient per row.

    Raises
    ------
    ValueError
        For a Gram-form layer (no inputs) or an objective without
        ``sample_gradients``.
    """
    if isinstance(problem, Problem):
        return problem.columns(np.arange(problem.n)) if problem.is_operator else problem.A
    if isinstance(problem, LayerProblem):
        if problem.X is None:
            raise ValueError(f"WoodFisher needs per-sample gradients, i.e. the layer inputs X; "
                             f"{problem!r} was built from a Gram matrix.")
        return problem.Xb
    if isinstance(problem, ObjectiveProblem):
        fn = getattr(problem.objective, "sample_gradients", None)
        if fn is None:
            raise ValueError(f"WoodFisher needs per-sample gradients; the objective "
                             f"{type(problem.objective).__name__} of {problem!r} has no "
                             "sample_gradients(x) method.")
        return fn(np.zeros(problem.n) if x is None else np.asarray(x, dtype=np.float64))
    return problem

# =============================================================== WoodFisher
def woodbury_inverse(G, lam, *, block_size=None):
    r"""Inverse of :math:`\lambda I + \frac1N \sum_n g_n g_n^\top` by the Woodbury recursion.

    Parameters
    ----------
    G : ndarray of shape (N, d)
        Per-sample gradients (rows).
    lam : float
        Absolute damping ``λ > 0``.
    block_size : int or None
        None: one dense ``d × d`` inverse. Otherwise the block-diagonal
        approximation over consecutive chunks of ``block_size`` coordinates
        (the last chunk may be shorter): returns the list of block inverses.

    Returns
    -------
    ndarray of shape (d, d) or list of ndarray
        The inverse, or the list of block inverses when ``block_size`` is set.

    Notes
    -----
    .. math::  F_0^{-1} = \lambda^{-1} I,\quad v = F_{n-1}^{-1} g_n,\quad
               F_n^{-1} = F_{n-1}^{-1} - \frac{v v^\top}{N + g_n^\top v},

    which after ``N`` steps equals :math:`(\lambda I + \frac1N\sum g_n g_n^\top)^{-1}`
    exactly [1]_. Cost ``O(N d_b²)`` per block of size ``d_b``.

    References
    ----------
    .. [1] S. P. Singh and D. Alistarh, "WoodFisher: efficient second-order
       approximation for neural network compression", NeurIPS 2020.
    """
    G = np.asarray(G, dtype=np.float64)
    N, d = G.shape
    bounds = [(0, d)] if block_size is None else [(s, min(s + block_size, d))
                                                   for s in range(0, d, block_size)]
    out = []
    for lo, hi in bounds:
        Finv = np.eye(hi - lo) / lam
        for g in G[:, lo:hi]:
            v = Finv @ g
            Finv -= np.outer(v, v) / (N + g @ v)
        out.append(Finv)
    return out[0] if block_size is None else out


class WoodFisher(Curvature):
    r"""Empirical Fisher :math:`\hat F = \lambda I + \frac1N\sum_n g_n g_n^\top`, inverse by Woodbury.

    Parameters
    ----------
    G : ndarray of shape (N, d), optional
        Per-sample gradients. Without it, :meth:`fit` uses the rows ``a_n`` of
        a Problem's ``A`` (the outer-product / Gauss–Newton Fisher of the
        Gaussian model, :math:`\hat F = \lambda I + A^\top A/m`).
    lam : float, optional
        Absolute damping ``λ > 0``. Exactly one of ``lam`` and ``percdamp``
        may be given; the default is ``percdamp=0.01``.
    percdamp : float, optional
        Relative damping: ``λ = percdamp · mean(diag((1/N) GᵀG))``.
    block_size : int or None, default=None
        Block-diagonal approximation over consecutive chunks of coordinates
        (``woodfisherblock``); None is one dense block.

    Notes
    -----
    The curvature *is* the (block-diagonal) :math:`\hat F`; its inverse is
    built once by :func:`woodbury_inverse` and all of ``solve``,
    ``inv_diag`` and ``inverse`` use it.

    References
    ----------
    .. [1] S. P. Singh and D. Alistarh, "WoodFisher: efficient second-order
       approximation for neural network compression", NeurIPS 2020.
    """

    name = "woodfisher"

    def __init__(self, G=None, *, lam=None, percdamp=None, block_size=None):
        super().__init__()
        self.lam_param = lam
        self.percdamp = percdamp
        self.block_size = block_size
        self.G = None
        if G is not None:
            self._set(G)

    def fit(self, problem, x=None):
        """Take per-sample gradients from ``problem`` (at ``x`` for an objective problem).

        A least-squares problem gives the rows ``a_p`` of ``A``; a layer the
        rows of its inputs ``X̃`` (the per-sample Jacobians of a linear layer);
        an objective problem its ``objective.sample_gradients(x)``; an array
        is taken as the gradients themselves.

        Parameters
        ----------
        problem : SparseProblem or ndarray of shape (N, n)
            Where the gradients come from (see :func:`sample_gradients`).
        x : ndarray of shape (n,), optional
            Point of an objective problem's gradients.

        Returns
        -------
        WoodFisher
            The curvature itself.
        """
        self._set(sample_gradients(problem, x))
        return self

    def _set(self, G, lam=None):
        G = as_real_array(G, "G", "WoodFisher", ndim=(2,)).astype(np.float64)
        self.G = G
        N, d = G.shape
        self.n = d
        if self.block_size is not None:
            self.block_size = check_int(self.block_size, "block_size", "WoodFisher", low=1)
        if lam is None:
            if self.lam_param is not None and self.percdamp is not None:
                raise ValueError("WoodFisher takes 'lam' (absolute) or 'percdamp' (relative), "
                                 "not both.")
            if self.lam_param is not None:
                lam = check_real(self.lam_param, "lam", "WoodFisher", low=0.0, low_open=True)
            else:
                pd = 0.01 if self.percdamp is None else self.percdamp
                pd = check_real(pd, "percdamp", "WoodFisher", low=0.0, low_open=True)
                lam = relative_damping(np.einsum("ij,ij->j", G, G) / N, pd)
                if not lam > 0:
                    raise ValueError("WoodFisher: the gradients G are all zero, so relative "
                                     "damping gives λ = 0; pass an absolute 'lam'.")
        self.lam = float(lam)
        bs = self.block_size
        self.bounds = [(0, d)] if bs is None else [(s, min(s + bs, d)) for s in range(0, d, bs)]
        inv = woodbury_inverse(G, self.lam, block_size=bs)
        self.blocks_inv = [inv] if bs is None else inv
        self._block_id = np.empty(d, dtype=np.intp)
        for b, (lo, hi) in enumerate(self.bounds):
            self._block_id[lo:hi] = b
        self._reset_cache()

    def matvec(self, V):
        V = np.asarray(V, dtype=np.float64)
        Vb, vec = _as_block(V)
        N = self.G.shape[0]
        out = self.lam * Vb.copy()
        for lo, hi in self.bounds:
            Gb = self.G[:, lo:hi]
            out[lo:hi] += Gb.T @ (Gb @ Vb[lo:hi]) / N
        return out[:, 0] if vec else out

    def diag(self):
        return self.lam + np.einsum("ij,ij->j", self.G, self.G) / self.G.shape[0]

    def block(self, rows, cols):
        rows = np.asarray(rows, dtype=np.intp)
        cols = np.asarray(cols, dtype=np.intp)
        N = self.G.shape[0]
        B = self.G[:, rows].T @ self.G[:, cols] / N
        B *= self._block_id[rows][:, None] == self._block_id[cols][None, :]
        B[rows[:, None] == cols[None, :]] += self.lam
        return B

    def shifted(self, lam):
        new = WoodFisher(lam=self.lam + float(lam), block_size=self.block_size)
        new._set(self.G, lam=self.lam + float(lam))
        return new

    def check_invertible(self):
        self._require_fitted()

    def solve(self, B):
        B = np.asarray(B, dtype=np.float64)
        Bb, vec = _as_block(B)
        out = np.empty_like(Bb)
        for (lo, hi), Finv in zip(self.bounds, self.blocks_inv):
            out[lo:hi] = Finv @ Bb[lo:hi]
        return out[:, 0] if vec else out

    def inv_diag(self):
        return np.concatenate([np.diag(F) for F in self.blocks_inv])

    def inverse(self):
        return sla.block_diag(*self.blocks_inv)

    def describe(self):
        bs = "dense" if self.block_size is None else f"blocks of {self.block_size}"
        return f"WoodFisher(n={self.n}, {bs}, lam={getattr(self, 'lam', float('nan')):.3g})"

