r"""Block-diagonal low-rank-plus-damping curvatures :math:`\lambda I + \frac1N U_b^\top U_b`.

The empirical Fisher (rows: per-sample gradients), the Gauss–Newton matrix of a
cross-entropy (rows: :math:`\Lambda_n^{1/2}J_n`) and a dominant eigenspace
(rows: the top eigenvectors scaled by the square roots of their eigenvalues)
share one form: on each diagonal block ``b`` (a layer, or a chunk of one),

.. math::  \hat H_b = \lambda I + \tfrac1N U_b^\top U_b,\qquad U_b \in \mathbb R^{R\times n_b},

with ``U`` handed out by a :class:`~sparserec.problems.RowFactor` column range
by column range. Two exact representations of a block, chosen per block:

* **dense** (``n_b`` small): :math:`\hat H_b` formed and factorised, or its
  inverse built by WoodFisher's Woodbury recursion;
* **samples** (``R < n_b``): the Woodbury identity in sample space,

  .. math::  \hat H_b^{-1} = \lambda^{-1}\big(I - U_b^\top(N\lambda I + U_bU_b^\top)^{-1}U_b\big),

  one ``R × R`` Cholesky factor per block; :math:`\hat H_b` and its inverse are
  never formed, so a LeNet-300-100 layer of 235 200 weights costs
  :math:`O(R^2 n_b)` time and :math:`O(R^2)` memory. The diagonal of the
  inverse is :math:`\lambda^{-1}(1 - \|L^{-1}u_q\|^2)`, and a restricted solve
  on a kept set ``S`` (the OBS correction) is the same identity with
  :math:`U_S`.

:class:`BlockLowRank` is the curvature. Its subclasses build the rows from a
problem: :class:`~sparserec.curvature.WoodFisher` (the empirical Fisher),
:class:`~sparserec.curvature.GaussNewton` and
:class:`~sparserec.curvature.DominantEigenspace`.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from .._validation import check_choice, check_int, check_real
from ..problems.rows import ArrayRows, RowFactor
from .base import Curvature, _as_block, singular_error

__all__ = ["BlockLowRank", "ProjectedRows", "block_bounds", "DENSE_BLOCK_MAX", "METHODS"]

#: Largest block formed densely by ``method="auto"`` (``n_b × n_b`` floats).
DENSE_BLOCK_MAX = 4096
#: Block representations (``"recursion"``: WoodFisher's Woodbury recursion, WoodFisher only).
METHODS = ("auto", "dense", "samples", "recursion")


def block_bounds(n, natural=None, block_size=None):
    """Split ``[0, n)`` into diagonal blocks: natural blocks, each chunked by ``block_size``.

    Parameters
    ----------
    n : int
        Dimension.
    natural : sequence of (int, int), optional
        Natural blocks covering ``[0, n)`` (a network's layers); one block by default.
    block_size : int or None, default=None
        Cut every natural block into consecutive chunks of this many coordinates
        (WoodFisher's ``--fittable-params``); None keeps them whole.

    Returns
    -------
    list of (int, int)
        The blocks ``[lo, hi)``, in order.
    """
    natural = [(0, n)] if not natural else [(int(a), int(b)) for a, b in natural]
    if block_size is None:
        return natural
    return [(s, min(s + block_size, b)) for a, b in natural for s in range(a, b, block_size)]


class ProjectedRows(RowFactor):
    r"""Rows ``M U`` of a block: the factor of a dominant eigenspace.

    Parameters
    ----------
    base : RowFactor
        The full factor ``U`` (``R × n``).
    M : ndarray of shape (r, R)
        The projection (the top ``r`` eigenvectors of :math:`U_bU_b^\top`, as rows).
    gram : ndarray of shape (r, r), optional
        :math:`MU_bU_b^\top M^\top` when known (diagonal for eigenvectors).

    Notes
    -----
    Valid on one block only (``M`` is the block's); the parent curvature asks
    for columns of that block alone.
    """

    def __init__(self, base, M, gram=None):
        self.base, self.M = base, np.asarray(M, dtype=np.float64)
        self.shape = (self.M.shape[0], base.shape[1])
        self.n_samples = base.n_samples
        self.blocks = base.blocks
        self._gram = gram

    def columns(self, lo, hi):
        return self.M @ self.base.columns(lo, hi)

    def chunks(self, lo, hi):
        for a, b, C in self.base.chunks(lo, hi):
            yield a, b, self.M @ C

    def matmul(self, lo, hi, V):
        return self.M @ self.base.matmul(lo, hi, V)

    def rmatmul(self, lo, hi, Y):
        return self.base.rmatmul(lo, hi, self.M.T @ Y)

    def masked_gram(self, lo, hi, mask):
        return self.M @ self.base.masked_gram(lo, hi, mask) @ self.M.T

    def gram(self, lo, hi):
        return self._gram if self._gram is not None else super().gram(lo, hi)


# ============================================================== block representations
class _Block:
    """One diagonal block ``[lo, hi)`` of ``λI + (1/N) U_bᵀU_b``."""

    def __init__(self, rows, lo, hi, lam):
        self.rows, self.lo, self.hi, self.lam = rows, lo, hi, float(lam)
        self.size = hi - lo
        self.N = float(rows.n_samples)

    def matvec(self, V):
        return self.lam * V + self._Ut_times(self._U_times(V)) / self.N

    def _U_times(self, V):
        """``U_b V`` (R × T)."""
        return self.rows.matmul(self.lo, self.hi, V)

    def _Ut_times(self, Y):
        """``U_bᵀ Y`` (n_b × T)."""
        return self.rows.rmatmul(self.lo, self.hi, Y)

    def diag(self):
        return self.lam + self.rows.sq_norms(self.lo, self.hi) / self.N

    def dense(self):
        C = self.rows.columns(self.lo, self.hi)
        F = C.T @ C / self.N
        F[np.diag_indices_from(F)] += self.lam
        return F

    def _restricted_dense(self, S, B, describe):
        """``Ĥ_SS⁻¹ B`` with ``Ĥ_SS`` formed (``|S| × |S|``)."""
        C = self.rows.take(self.lo + S)
        F = C.T @ C / self.N
        F[np.diag_indices_from(F)] += self.lam
        try:
            return sla.cho_solve(sla.cho_factor(F, lower=True, check_finite=False), B,
                                 check_finite=False)
        except (sla.LinAlgError, np.linalg.LinAlgError):
            raise singular_error(f"block Ĥ_SS of {describe}", " (not positive definite)") \
                from None


class _DenseBlock(_Block):
    """``Ĥ_b`` formed and Cholesky-factorised, or its inverse given (Woodbury recursion)."""

    def __init__(self, rows, lo, hi, lam, Finv=None):
        super().__init__(rows, lo, hi, lam)
        self.Finv = Finv
        self._chol = None

    def factor(self, describe):
        if self._chol is None:
            F = self.dense()
            try:
                self._chol = sla.cho_factor(F, lower=True, check_finite=False)
            except (sla.LinAlgError, np.linalg.LinAlgError):
                raise singular_error(describe, f" (its block [{self.lo}, {self.hi}) is not "
                                     "positive definite)") from None
            d = np.diag(self._chol[0]) ** 2
            if not d.min() > 1e-13 * np.abs(np.diag(F)).max():
                raise singular_error(describe, f" (its block [{self.lo}, {self.hi}) is singular "
                                     "to working precision)")
        return self._chol

    def solve(self, B, describe):
        if self.Finv is not None:
            return self.Finv @ B
        return sla.cho_solve(self.factor(describe), B, check_finite=False)

    def inv_diag(self, describe):
        if self.Finv is not None:
            return np.diag(self.Finv).copy()
        L = self.factor(describe)[0]
        Linv = sla.solve_triangular(L, np.eye(self.size), lower=True, check_finite=False)
        return np.einsum("ij,ij->j", Linv, Linv)

    def inverse(self, describe):
        if self.Finv is not None:
            return self.Finv
        return self.solve(np.eye(self.size), describe)

    def restricted(self, S, B, describe):
        return self._restricted_dense(S, B, describe)


class _SampleBlock(_Block):
    """``Ĥ_b`` through the Woodbury identity in sample space (``R × R`` Cholesky)."""

    def __init__(self, rows, lo, hi, lam, gram):
        super().__init__(rows, lo, hi, lam)
        self._gram = gram
        self._chol = None

    def factor(self):
        if self._chol is None:
            K = np.array(self._gram(), dtype=np.float64)
            K[np.diag_indices_from(K)] += self.N * self.lam
            self._chol = sla.cho_factor(K, lower=True, check_finite=False)
        return self._chol

    def solve(self, B, describe):
        Y = sla.cho_solve(self.factor(), self._U_times(B), check_finite=False)
        return (B - self._Ut_times(Y)) / self.lam

    def inv_diag(self, describe):
        L = self.factor()[0]
        out = np.empty(self.size)
        for a, b, C in self.rows.chunks(self.lo, self.hi):
            Z = sla.solve_triangular(L, C, lower=True, check_finite=False)
            out[a - self.lo:b - self.lo] = (1.0 - np.einsum("ij,ij->j", Z, Z)) / self.lam
        return out

    def inverse(self, describe):
        return self.solve(np.eye(self.size), describe)

    def restricted(self, S, B, describe):
        R = self.rows.shape[0]
        if S.size <= R:   # |S| x |S| is the smaller system
            return self._restricted_dense(S, B, describe)
        mask = np.zeros(self.size, dtype=bool)
        mask[S] = True
        K = self.rows.masked_gram(self.lo, self.hi, mask)
        K[np.diag_indices_from(K)] += self.N * self.lam
        Bfull = np.zeros((self.size, B.shape[1]))
        Bfull[S] = B
        Y = sla.cho_solve(sla.cho_factor(K, lower=True, check_finite=False),
                          self._U_times(Bfull), check_finite=False)
        return (B - self._Ut_times(Y)[S]) / self.lam


# ==================================================================== the curvature
class BlockLowRank(Curvature):
    r"""Block-diagonal :math:`\lambda I + \frac1N U_b^\top U_b` from a row factor.

    Parameters
    ----------
    rows : RowFactor or ndarray of shape (R, n), optional
        The factor ``U`` (an array is wrapped in an
        :class:`~sparserec.problems.ArrayRows` with ``N = R``). Subclasses
        build it in :meth:`fit`.
    lam : float, default=0.0
        Absolute damping ``λ >= 0`` (the solvers' relative ``damping`` wraps the
        curvature in :class:`~sparserec.curvature.Damped`, which adds to it).
    blocks : sequence of (int, int) or None, default=None
        Diagonal blocks; None takes the factor's natural blocks (a network's
        layers; one block for an array).
    block_size : int or None, default=None
        Cut every block into chunks of this many coordinates.
    method : {"auto", "dense", "samples"}, default="auto"
        Representation of each block (module docstring). ``"auto"``: sample
        space when ``λ > 0`` and ``R < n_b``, else dense when
        ``n_b <= DENSE_BLOCK_MAX``.

    Notes
    -----
    All operations are exact for the block-diagonal matrix; only the
    representation differs. Memory per block: :math:`\min(R, n_b)^2` floats.
    """

    name = "lowrank"

    def __init__(self, rows=None, *, lam=0.0, blocks=None, block_size=None, method="auto"):
        super().__init__()
        self.rows = None
        self.lam = float(lam)
        self.block_spec = blocks
        self.block_size = block_size
        self.method = method
        self._grams = {}
        self._parts = None
        if rows is not None:
            self._set_rows(rows if isinstance(rows, RowFactor) else ArrayRows(rows))

    # ------------------------------------------------------------ setup
    def _owner(self):
        return type(self).__name__

    def _set_rows(self, rows, bounds=None, block_rows=None):
        owner = self._owner()
        check_choice(self.method, "method", owner, self._methods())
        if self.block_size is not None:
            self.block_size = check_int(self.block_size, "block_size", owner, low=1,
                                        expected="None or an int >= 1")
        self.lam = check_real(self.lam, "lam", owner, low=0.0)
        self.rows = rows
        self.n = int(rows.shape[1])
        self.bounds = bounds if bounds is not None else block_bounds(
            self.n, self.block_spec or rows.blocks, self.block_size)
        self.block_rows = block_rows or [rows] * len(self.bounds)
        self._block_id = np.empty(self.n, dtype=np.intp)
        for b, (lo, hi) in enumerate(self.bounds):
            self._block_id[lo:hi] = b
        self._parts = None
        self._reset_cache()

    def _methods(self):
        return ("auto", "dense", "samples")

    def _gram(self, b):
        lo, hi = self.bounds[b]
        key = (b, lo, hi)
        if key not in self._grams:
            self._grams[key] = self.block_rows[b].gram(lo, hi)
        return self._grams[key]

    def _kind(self, b):
        lo, hi = self.bounds[b]
        R = self.block_rows[b].shape[0]
        if self.method == "samples" or (self.method == "auto" and self.lam > 0 and R < hi - lo):
            return "samples"
        if self.method == "auto" and hi - lo > DENSE_BLOCK_MAX and self.lam > 0:
            return "samples"
        return "dense"

    def _make_block(self, b):
        lo, hi = self.bounds[b]
        rows = self.block_rows[b]
        if self._kind(b) == "samples":
            if not self.lam > 0:
                raise singular_error(self.describe(), " (undamped: the sample-space "
                                     "Woodbury form needs λ > 0)")
            return _SampleBlock(rows, lo, hi, self.lam, lambda: self._gram(b))
        return _DenseBlock(rows, lo, hi, self.lam)

    @property
    def parts(self):
        """The block objects (built on first use)."""
        self._require_fitted()
        if self._parts is None:
            self._parts = [self._make_block(b) for b in range(len(self.bounds))]
        return self._parts

    # ------------------------------------------------------------ products
    def matvec(self, V):
        self._require_fitted()
        Vb, vec = _as_block(np.asarray(V, dtype=np.float64))
        out = np.empty_like(Vb)
        for (lo, hi), part in zip(self.bounds, self.parts):
            out[lo:hi] = part.matvec(Vb[lo:hi])
        return out[:, 0] if vec else out

    def diag(self):
        self._require_fitted()
        return np.concatenate([part.diag() for part in self.parts])

    def block(self, rows, cols):
        self._require_fitted()
        rows = np.asarray(rows, dtype=np.intp)
        cols = np.asarray(cols, dtype=np.intp)
        out = np.zeros((rows.size, cols.size))
        br, bc = self._block_id[rows], self._block_id[cols]
        for b in np.intersect1d(br, bc):
            ri, ci = np.flatnonzero(br == b), np.flatnonzero(bc == b)
            Ur, Uc = self.block_rows[b].take(rows[ri]), self.block_rows[b].take(cols[ci])
            out[np.ix_(ri, ci)] = Ur.T @ Uc / float(self.block_rows[b].n_samples)
        out[rows[:, None] == cols[None, :]] += self.lam
        return out

    def dense(self):
        self._require_fitted()
        return sla.block_diag(*[part.dense() for part in self.parts])

    def shifted(self, lam):
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.lam = self.lam + float(lam)
        new._parts = None
        new._reset_cache()
        return new

    # ------------------------------------------------------------ inverses
    def singular_reason(self):
        if self.lam > 0 or not self.fitted:
            return None
        for (lo, hi), rows in zip(self.bounds, self.block_rows):
            if rows.shape[0] < hi - lo:
                return (f" (undamped, and its block [{lo}, {hi}) of size {hi - lo} has rank at "
                        f"most R={rows.shape[0]})")
        return None

    def check_invertible(self):
        self._require_fitted()
        why = self.singular_reason()
        if why is not None:
            raise singular_error(self.describe(), why)
        for part in self.parts:
            if isinstance(part, _DenseBlock):
                if part.Finv is None:
                    part.factor(self.describe())
            else:
                part.factor()

    def _require_invertible(self):
        self._require_fitted()
        why = self.singular_reason()
        if why is not None:
            raise singular_error(self.describe(), why)

    def solve(self, B):
        self._require_invertible()
        Bb, vec = _as_block(np.asarray(B, dtype=np.float64))
        out = np.empty_like(Bb)
        for (lo, hi), part in zip(self.bounds, self.parts):
            out[lo:hi] = part.solve(Bb[lo:hi], self.describe())
        return out[:, 0] if vec else out

    def inv_diag(self):
        self._require_invertible()
        if self._inv_diag is None:
            self._inv_diag = np.concatenate([part.inv_diag(self.describe())
                                             for part in self.parts])
            self._inv_diag.setflags(write=False)
        return self._inv_diag

    def inverse(self):
        self._require_invertible()
        return sla.block_diag(*[part.inverse(self.describe()) for part in self.parts])

    def solve_restricted(self, S, B, *, key=0):
        r"""Solve :math:`\hat H_{SS}u = b` block by block (sample space for large kept sets).

        Parameters
        ----------
        S : ndarray of int of shape (s,)
            Kept set, ascending.
        B : ndarray of shape (s,) or (s, T)
            Right-hand sides, rows ordered as ``S``.
        key : hashable, default=0
            Ignored (nothing is cached between kept sets).

        Returns
        -------
        ndarray, same shape as ``B``
            :math:`\hat H_{SS}^{-1}B`.
        """
        self._require_fitted()
        S = np.asarray(S, dtype=np.intp)
        Bb, vec = _as_block(np.asarray(B, dtype=np.float64))
        out = np.empty_like(Bb)
        ids = self._block_id[S]
        for b in np.unique(ids):
            sel = np.flatnonzero(ids == b)
            lo = self.bounds[b][0]
            out[sel] = self.parts[b].restricted(S[sel] - lo, Bb[sel], self.describe())
        return out[:, 0] if vec else out

    def describe(self):
        if not self.fitted:
            return f"{type(self).__name__}(unfitted)"
        R = sorted({r.shape[0] for r in self.block_rows})
        Rs = str(R[0]) if len(R) == 1 else f"{R[0]}..{R[-1]}"
        return (f"{type(self).__name__}(n={self.n}, R={Rs}, {len(self.bounds)} block(s), "
                f"lam={self.lam:.3g})")
