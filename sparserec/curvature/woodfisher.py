r"""WoodFisher: the empirical Fisher ``λI + (1/N)Σ g gᵀ`` with its Woodbury inverse."""
from __future__ import annotations

import numpy as np

from .._validation import as_real_array, check_real
from ..problems import LayerProblem, ObjectiveProblem, Problem
from ..problems.rows import ArrayRows, RowFactor
from .base import relative_damping
from .lowrank import BlockLowRank, _DenseBlock

__all__ = ["WoodFisher", "woodbury_inverse", "sample_gradients", "hessian_scale"]


def sample_gradients(problem, x=None):
    """Per-sample gradients (rows) that define a problem's empirical Fisher.

    Parameters
    ----------
    problem : Problem, LayerProblem, ObjectiveProblem or ndarray of shape (N, n)
        See :meth:`WoodFisher.fit`.
    x : ndarray of shape (n,), optional
        Point of an objective problem's gradients (default: its starting point,
        zeros for a generic objective, the dense weights of a network).

    Returns
    -------
    ndarray of shape (N, n) or RowFactor
        One gradient per row; a network loss returns them as a
        :class:`~sparserec.problems.KroneckerRows` (never materialised).

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
        return fn(problem.default_start()[:, 0] if x is None
                  else np.asarray(x, dtype=np.float64))
    return problem


def hessian_scale(problem):
    r"""The factor ``c`` with ``∇²f ≈ c·(1/N)Σ g_n g_nᵀ`` for :func:`sample_gradients`' rows.

    The rows of :func:`sample_gradients` define the Fisher of a *mean* loss.
    A least-squares problem's objective is the sum :math:`\tfrac12\|Ax - y\|^2`
    (``c = m``, its rows are ``a_p``), a layer's is ``½ tr(DᵀHD)`` with
    ``H = 2X̃ᵀX̃/N`` (``c = 2``), an objective's is the mean itself (``c = 1``).
    A Newton step with the Fisher (WoodTaylor) divides by ``c``; saliencies
    and OBS corrections are scale-free.

    Parameters
    ----------
    problem : SparseProblem or ndarray
        The problem (an array of gradients: ``c = 1``).

    Returns
    -------
    float
        The factor ``c``.
    """
    if isinstance(problem, Problem):
        return float(problem.m)
    if isinstance(problem, LayerProblem):
        return 2.0
    return 1.0

# =============================================================== WoodFisher
def woodbury_inverse(G, lam, *, block_size=None, n_samples=None):
    r"""Inverse of :math:`\lambda I + \frac1N \sum_n g_n g_n^\top` by the Woodbury recursion.

    Parameters
    ----------
    G : ndarray of shape (R, d)
        Per-sample gradients (rows).
    lam : float
        Absolute damping ``λ > 0``.
    block_size : int or None
        None: one dense ``d × d`` inverse. Otherwise the block-diagonal
        approximation over consecutive chunks of ``block_size`` coordinates
        (the last chunk may be shorter): returns the list of block inverses.
    n_samples : float, optional
        The normaliser ``N`` (default ``R``, the number of rows).

    Returns
    -------
    ndarray of shape (d, d) or list of ndarray
        The inverse, or the list of block inverses when ``block_size`` is set.

    Notes
    -----
    .. math::  F_0^{-1} = \lambda^{-1} I,\quad v = F_{n-1}^{-1} g_n,\quad
               F_n^{-1} = F_{n-1}^{-1} - \frac{v v^\top}{N + g_n^\top v},

    which after the ``R`` rows equals :math:`(\lambda I + \frac1N\sum g_n g_n^\top)^{-1}`
    exactly [1]_. Cost ``O(R d_b²)`` per block of size ``d_b``.

    References
    ----------
    .. [1] S. P. Singh and D. Alistarh, "WoodFisher: efficient second-order
       approximation for neural network compression", NeurIPS 2020.
    """
    G = np.asarray(G, dtype=np.float64)
    R, d = G.shape
    N = R if n_samples is None else float(n_samples)
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


class WoodFisher(BlockLowRank):
    r"""Empirical Fisher :math:`\hat F = \lambda I + \frac1N\sum_n g_n g_n^\top`, inverse by Woodbury.

    Parameters
    ----------
    G : ndarray of shape (N, d) or RowFactor, optional
        Per-sample gradients (an array, or a row factor such as a network's
        :class:`~sparserec.problems.KroneckerRows`). Without it, :meth:`fit`
        uses the rows ``a_n`` of a Problem's ``A`` (the outer-product /
        Gauss–Newton Fisher of the Gaussian model, :math:`\hat F = \lambda I + A^\top A/m`).
    lam : float, optional
        Absolute damping ``λ > 0``. Exactly one of ``lam`` and ``percdamp``
        may be given; the default is ``percdamp=0.01``.
    percdamp : float, optional
        Relative damping: ``λ = percdamp · mean(diag((1/N) GᵀG))``.
    block_size : int or None, default=None
        Block-diagonal approximation over consecutive chunks of coordinates
        (``woodfisherblock``; within each of ``blocks``); None keeps the blocks whole.
    blocks : sequence of (int, int) or None, default=None
        Diagonal blocks; None: the gradients' natural ones (one block for an
        array, the layers of a network: WoodFisher's per-layer blocks).
    method : {"recursion", "samples", "dense", "auto"} or None, default=None
        How each block's inverse is represented: ``"recursion"``, WoodFisher's
        Woodbury recursion (a dense ``d_b × d_b`` inverse, ``O(N d_b²)``);
        ``"samples"``, the same inverse through the Woodbury identity in
        sample space (``O(N² d_b)``, never forms ``d_b × d_b``; see
        :class:`~sparserec.curvature.BlockLowRank`); ``"dense"`` or
        ``"auto"`` as there. None: ``"recursion"`` for an array of gradients,
        ``"auto"`` for a row factor.

    Notes
    -----
    The curvature *is* the (block-diagonal) :math:`\hat F`; every
    representation gives the same matrix and inverse (to roundoff).

    References
    ----------
    .. [1] S. P. Singh and D. Alistarh, "WoodFisher: efficient second-order
       approximation for neural network compression", NeurIPS 2020.
    """

    name = "woodfisher"

    def __init__(self, G=None, *, lam=None, percdamp=None, block_size=None, blocks=None,
                 method=None):
        super().__init__(blocks=blocks, block_size=block_size)
        self.lam_param = lam
        self.percdamp = percdamp
        self.method = method
        self.G = None
        self.hessian_scale = 1.0
        if G is not None:
            self._set(G)

    def fit(self, problem, x=None):
        """Take per-sample gradients from ``problem`` (at ``x`` for an objective problem).

        A least-squares problem gives the rows ``a_p`` of ``A``; a layer the
        rows of its inputs ``X̃`` (the per-sample Jacobians of a linear layer);
        an objective problem its ``objective.sample_gradients(x)``; an array
        is taken as the gradients themselves. ``hessian_scale`` records
        :func:`hessian_scale` of the problem.

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
        self.hessian_scale = hessian_scale(problem)
        return self

    def _methods(self):
        return ("auto", "dense", "samples", "recursion")

    def _set(self, G, lam=None):
        if isinstance(G, RowFactor):
            rows = G
            self.G = G.U if isinstance(G, ArrayRows) else None
        else:
            self.G = as_real_array(G, "G", "WoodFisher", ndim=(2,)).astype(np.float64)
            rows = ArrayRows(self.G)
        if self.method is None:
            self.method = "recursion" if self.G is not None else "auto"
        N = rows.n_samples
        if lam is None:
            if self.lam_param is not None and self.percdamp is not None:
                raise ValueError("WoodFisher takes 'lam' (absolute) or 'percdamp' (relative), "
                                 "not both.")
            if self.lam_param is not None:
                lam = check_real(self.lam_param, "lam", "WoodFisher", low=0.0, low_open=True)
            else:
                pd = 0.01 if self.percdamp is None else self.percdamp
                pd = check_real(pd, "percdamp", "WoodFisher", low=0.0, low_open=True)
                lam = relative_damping(rows.sq_norms(0, rows.shape[1]) / N, pd)
                if not lam > 0:
                    raise ValueError("WoodFisher: the gradients G are all zero, so relative "
                                     "damping gives λ = 0; pass an absolute 'lam'.")
        self.lam = float(lam)
        self._set_rows(rows)

    def _make_block(self, b):
        if self.method != "recursion":
            return super()._make_block(b)
        lo, hi = self.bounds[b]
        rows = self.block_rows[b]
        Finv = woodbury_inverse(rows.columns(lo, hi), self.lam, n_samples=rows.n_samples)
        return _DenseBlock(rows, lo, hi, self.lam, Finv=Finv)

    def describe(self):
        """Describe the Fisher in one line (size, samples, blocks, representation, damping).

        Returns
        -------
        str
            The description.
        """
        if not self.fitted:
            return "WoodFisher(unfitted)"
        bs = "dense" if len(self.bounds) == 1 else f"{len(self.bounds)} blocks"
        return (f"WoodFisher(n={self.n}, N={self.rows.shape[0]}, {bs}, {self.method}, "
                f"lam={self.lam:.3g})")
