r"""Dominant-eigenspace curvature: Hassibi, Stork & Wolff's reduced OBS."""
from __future__ import annotations

import numpy as np

from .._validation import check_int, check_real, param_error
from ..problems.rows import ArrayRows
from .base import Curvature
from .exact import ExactGram
from .gauss_newton import GaussNewton
from .lowrank import BlockLowRank, ProjectedRows
from .woodfisher import WoodFisher, sample_gradients

__all__ = ["DominantEigenspace", "MATERIALISE_MAX"]

#: A block's reduced rows ``V_rᵀU_b`` (``r × n_b``) are stored when they have at most this
#: many entries (256 MB); larger ones are recomputed from the full rows when needed.
MATERIALISE_MAX = 1 << 25


class _BlockRows(ArrayRows):
    """The stored rows of one block ``[lo, lo + n_b)`` (global column indices)."""

    def __init__(self, Ub, lo, n_samples):
        super().__init__(Ub, n_samples=n_samples)
        self.lo = int(lo)

    def columns(self, lo, hi):
        return self.U[:, lo - self.lo:hi - self.lo]

    def matmul(self, lo, hi, V):
        return self.columns(lo, hi) @ V

    def rmatmul(self, lo, hi, Y):
        return self.columns(lo, hi).T @ Y

    def masked_gram(self, lo, hi, mask):
        C = self.columns(lo, hi)[:, mask]
        return C @ C.T

    def gram(self, lo, hi):
        C = self.columns(lo, hi)
        return C @ C.T

    def take(self, idx):
        return self.U[:, np.asarray(idx, dtype=np.intp) - self.lo]


def _check_rank_energy(rank, energy, owner):
    if rank is not None and energy is not None:
        raise ValueError(f"{owner} takes 'rank' or 'energy', not both.")
    if rank is not None:
        check_int(rank, "rank", owner, low=1, expected="None or an int >= 1")
    if energy is not None:
        check_real(energy, "energy", owner, low=0.0, high=1.0, low_open=True,
                   expected="None or a float in (0, 1]")


def _keep(s, rank, energy):
    """Number of leading (descending) eigenvalues kept; roundoff-level ones never count."""
    s = np.maximum(s, 0.0)
    floor = s[0] * s.size * np.finfo(np.float64).eps if s.size else 0.0
    pos = int(np.count_nonzero(s > floor))
    if rank is not None:
        return max(1, min(int(rank), pos))
    total = float(s.sum())
    if total <= 0:
        return 1
    r = int(np.searchsorted(np.cumsum(s), energy * total * (1 - 1e-12)) + 1)
    return max(1, min(r, pos))


class DominantEigenspace(BlockLowRank):
    r"""The top-``r`` eigenpairs of a curvature plus λI: :math:`U_r\Lambda_rU_r^\top + \lambda I`.

    Hassibi, Stork & Wolff's reduced OBS [1]_: the inverse needs only the
    dominant eigenspace,

    .. math::  \hat H^{-1} = \lambda^{-1}\Big(I - U_r\,\mathrm{diag}\Big(\frac{\lambda_i}{\lambda_i
               + \lambda}\Big)U_r^\top\Big),\qquad
               [\hat H^{-1}]_{qq} = \lambda^{-1}\Big(1 - \sum_{i\le r}
               \frac{\lambda_i}{\lambda_i + \lambda}U_{qi}^2\Big).

    Parameters
    ----------
    base : str or Curvature, default="gauss_newton"
        The curvature whose eigenspace is kept: ``"gauss_newton"``,
        ``"woodfisher"`` (the empirical Fisher), ``"exact"``, or an instance.
    rank : int or None, default=None
        Eigenpairs kept per block (fewer if the block has fewer positive ones).
    energy : float in (0, 1] or None, default=None
        Keep the smallest ``r`` whose eigenvalues sum to this fraction of the
        block's trace. Without ``rank`` and ``energy``: ``energy=0.9``.
    lam : float, default=0.0
        Absolute damping (solvers damp through ``damping``, relative, which
        then uses the mean of this curvature's own diagonal).
    method : {"auto", "dense", "samples"}, default="auto"
        Block representation (see :class:`BlockLowRank`).

    Notes
    -----
    For a base with a row factor (Gauss–Newton, Fisher) the eigenpairs of
    block ``b`` come from its sample-space Gram matrix
    :math:`U_bU_b^\top = V S V^\top`: the kept rows are :math:`V_r^\top U_b`
    (``r × n_b``; :math:`U_b^\top V_rV_r^\top U_b` is the rank-``r`` truncation),
    so every operation costs ``r`` instead of ``R``. Otherwise the dense
    ``base`` is diagonalised (``n`` small) and the rows are
    :math:`\Lambda_r^{1/2}U_r^\top`. Nonpositive eigenvalues are never kept. At
    full rank the curvature *is* the base (plus ``λI``). ``ranks`` lists
    the ``r`` of every block (eigenvalues below ``size·eps·λ_max``, roundoff
    of a rank-deficient block, are never kept).

    References
    ----------
    .. [1] B. Hassibi, D. G. Stork and G. J. Wolff, "Optimal Brain Surgeon and
       general network pruning", IEEE ICNN 1993; B. Hassibi, D. G. Stork,
       G. J. Wolff and T. Watanabe, "Optimal Brain Surgeon: extensions and
       performance comparisons", NeurIPS 1993.
    """

    name = "eigenspace"

    def __init__(self, base="gauss_newton", *, rank=None, energy=None, lam=0.0,
                 method="auto"):
        super().__init__(lam=lam, method=method)
        self.base = base
        self.rank = rank
        self.energy = energy
        self.ranks = None

    def fit(self, problem, x=None):
        """Fit the base curvature on ``problem`` and keep its dominant eigenspace.

        Parameters
        ----------
        problem : SparseProblem
            The problem.
        x : ndarray of shape (n,), optional
            Point of evaluation (objective problems).

        Returns
        -------
        DominantEigenspace
            The curvature itself.
        """
        owner = "DominantEigenspace"
        _check_rank_energy(self.rank, self.energy, owner)
        energy = 0.9 if self.rank is None and self.energy is None else self.energy
        base = self._fit_base(problem, x)
        if isinstance(base, BlockLowRank):
            parts = []
            self.ranks = []
            for b, (lo, hi) in enumerate(base.bounds):
                K = base._gram(b)
                s, V = np.linalg.eigh(K)
                s, V = s[::-1], V[:, ::-1]
                r = _keep(s, self.rank, energy)
                self.ranks.append(r)
                rows = ProjectedRows(base.block_rows[b], V[:, :r].T, np.diag(s[:r]))
                if r * (hi - lo) <= MATERIALISE_MAX:   # r × n_b rows stored: cost r, not R
                    Ub = np.empty((r, hi - lo))
                    for a, c, C in rows.chunks(lo, hi):
                        Ub[:, a - lo:c - lo] = C
                    rows = _BlockRows(Ub, lo, base.block_rows[b].n_samples)
                parts.append(rows)
            self._set_rows(base.rows, bounds=list(base.bounds), block_rows=parts)
            return self
        H = np.asarray(base.dense(), dtype=np.float64)
        s, V = np.linalg.eigh(0.5 * (H + H.T))
        s, V = s[::-1], V[:, ::-1]
        r = _keep(s, self.rank, energy)
        self.ranks = [r]
        rows = ArrayRows((V[:, :r] * np.sqrt(np.maximum(s[:r], 0.0))).T, n_samples=1.0)
        self._set_rows(rows)
        return self

    def _fit_base(self, problem, x):
        spec = self.base
        if isinstance(spec, Curvature):
            if not spec.fitted:
                spec.fit(problem, x)
            return spec
        if spec == "gauss_newton":
            return GaussNewton().fit(problem, x)
        if spec == "woodfisher":
            return WoodFisher(sample_gradients(problem, x), lam=1.0, method="samples")
        if spec == "exact":
            return ExactGram(dense=True).fit(problem, x)
        raise param_error("base", "DominantEigenspace",
                          "a Curvature or one of 'gauss_newton', 'woodfisher', 'exact'", spec)
