r"""The :class:`Curvature` interface and the cached restricted Cholesky factor.

A curvature :math:`\hat H` (symmetric positive semi-definite, ``n × n``) is
what a second-order step and an OBS projection need (DESIGN.md):

* ``matvec(V)``: :math:`\hat H V`;
* ``solve_restricted(S, B)``: :math:`\hat H_{SS}^{-1} B` from a Cholesky factor
  of :math:`\hat H_{SS}` only; never needs :math:`\hat H^{-1}`. The factor is
  cached per ``key`` and up/down-dated when ``S`` changes by a few indices;
* ``solve(B)``, ``inv_diag()``, ``inverse()``: the full inverse, which exists
  only for an invertible :math:`\hat H` (a singular one raises a ValueError
  asking for ``damping``);
* ``downdate(Hinv, q)``: the OBS inverse downdate.
"""
from __future__ import annotations

import logging

import numpy as np
import scipy.linalg as sla

from ..kernels.obs import chol_update, obs_downdate

__all__ = ["Curvature", "RestrictedCholesky", "relative_damping", "singular_error"]

logger = logging.getLogger(__name__)

def singular_error(what, detail):
    """Build the standard ValueError for a singular curvature (it names the fix: ``damping``).

    Parameters
    ----------
    what : str
        The curvature (or block) that is singular.
    detail : str
        Why, as a phrase starting with a space (may be empty).

    Returns
    -------
    ValueError
        The error (not raised: the caller raises it).
    """
    return ValueError(
        f"The curvature {what} is singular{detail}, so its inverse does not exist. "
        "Pass 'damping' (for example damping=0.01, which adds λI with "
        "λ = damping·mean(diag Ĥ)) to use the damped curvature Ĥ + λI.")


def relative_damping(diag, percdamp):
    """Compute the absolute damping ``λ = percdamp · mean(diag)`` (OBC/SparseGPT convention).

    Parameters
    ----------
    diag : array_like
        Diagonal of the curvature ``Ĥ``.
    percdamp : float
        Relative damping.

    Returns
    -------
    float
        The absolute damping ``λ``.
    """
    return float(percdamp) * float(np.mean(diag))


def _as_block(B):
    B = np.asarray(B)
    return (B[:, None], True) if B.ndim == 1 else (B, False)


# ============================================================ restricted Cholesky
class RestrictedCholesky:
    r"""Cached Cholesky factors of :math:`\hat H_{SS}`, one per ``key``.

    Parameters
    ----------
    block : callable
        ``block(rows, cols)`` returns the dense :math:`\hat H_{\text{rows},\text{cols}}`.
    max_changes : float, default=0.25
        Up/down-date the cached factor when at most this fraction of ``S``
        (and at least one index) changed; refactorise otherwise.

    Notes
    -----
    The factor is stored in *factor order* (the order in which indices
    entered), with a permutation to the ascending ``S`` used by callers.

    * Removing the index at position ``p`` of ``L = [[L11, 0, 0], [l21ᵀ, l22, 0],
      [L31, l32, L33]]`` leaves ``[[L11, 0], [L31, L33']]`` with
      :math:`L_{33}'L_{33}'^\top = L_{33}L_{33}^\top + l_{32}l_{32}^\top`, a rank-one
      update (:func:`sparserec.kernels.chol_update`), ``O(s²)``.
    * Appending index ``j``: :math:`l = L^{-1}\hat H_{S j}`,
      :math:`\ell_{jj} = \sqrt{\hat H_{jj} - l^\top l}`, ``O(s²)``.

    A factor that stops being positive definite during an append is rebuilt
    from scratch (which raises ``numpy.linalg.LinAlgError`` if ``Ĥ_SS`` is
    not positive definite). ``stats`` counts ``reuse``/``update``/``full``.
    """

    def __init__(self, block, max_changes=0.25):
        self.block = block
        self.max_changes = max_changes
        self.cache = {}
        self.stats = {"reuse": 0, "update": 0, "full": 0}

    def clear(self):
        """Drop every cached factor."""
        self.cache.clear()

    def factor(self, S, key=0):
        """Return ``(L, order)`` with ``L Lᵀ = Ĥ[order][:, order]`` and ``set(order) == set(S)``.

        Parameters
        ----------
        S : array_like of int
            Kept set.
        key : hashable, default=0
            Cache slot; its factor is reused, up/down-dated or rebuilt.

        Returns
        -------
        L : ndarray of shape (s, s)
            Lower-triangular Cholesky factor, in factor order.
        order : ndarray of int, shape (s,)
            The indices of ``S`` in factor order.

        Raises
        ------
        numpy.linalg.LinAlgError
            If ``Ĥ_SS`` is not positive definite.
        """
        S = np.asarray(S, dtype=np.intp)
        entry = self.cache.get(key)
        if entry is not None:
            L, order = entry
            removed = _missing(order, S)
            if order.size == S.size and removed.size == 0:
                self.stats["reuse"] += 1
                return L, order
            added = _missing(S, order)
            nchg = removed.size + added.size
            if nchg <= max(1, int(self.max_changes * S.size)) and order.size - removed.size > 0:
                try:
                    L, order = self._downdate(L, order, removed)
                    L, order = self._append(L, order, added)
                    self.cache[key] = (L, order)
                    self.stats["update"] += 1
                    return L, order
                except np.linalg.LinAlgError:
                    pass
        order = np.sort(S)
        H = self.block(order, order)
        try:
            L = np.linalg.cholesky(H)
        except np.linalg.LinAlgError:
            raise np.linalg.LinAlgError(
                f"Ĥ_SS is not positive definite for a kept set of size {S.size}") from None
        self.cache[key] = (L, order)
        self.stats["full"] += 1
        return L, order

    def _downdate(self, L, order, removed):
        for j in removed:
            p = int(np.flatnonzero(order == j)[0])
            s = order.size
            newL = np.empty((s - 1, s - 1), dtype=L.dtype)
            newL[:p, :p] = L[:p, :p]
            newL[p:, :p] = L[p + 1:, :p]
            newL[:p, p:] = 0.0
            if p < s - 1:
                newL[p:, p:] = chol_update(L[p + 1:, p + 1:], L[p + 1:, p])
            L = newL
            order = np.delete(order, p)
        return L, order

    def _append(self, L, order, added):
        """Block Cholesky append of the indices ``added`` (one product for all of them).

        With ``B = Ĥ[order, added]`` and ``C = Ĥ[added, added]``, the new rows
        are ``L₂₁ = (L⁻¹B)ᵀ`` and ``L₂₂ = chol(C − L₂₁L₂₁ᵀ)``: the same factor,
        to rounding, as appending the indices one by one, whose pivots are the
        squared diagonal of ``L₂₂``.
        """
        added = np.asarray(added, dtype=np.intp)
        if added.size == 0:
            return L, order
        s = order.size
        C = self.block(added, added)
        hdiag = np.abs(np.diag(C))
        if s:
            B = self.block(order, added)
            L21 = sla.solve_triangular(L, B, lower=True, check_finite=False).T
            C = C - L21 @ L21.T
        try:
            L22 = np.linalg.cholesky(C)
        except np.linalg.LinAlgError:
            raise np.linalg.LinAlgError("append failed") from None
        if not np.all(np.diag(L22) ** 2 > 1e-12 * hdiag):  # lost positive definiteness
            raise np.linalg.LinAlgError("append failed")
        newL = np.zeros((s + added.size, s + added.size), dtype=np.float64)
        newL[:s, :s] = L
        if s:
            newL[s:, :s] = L21
        newL[s:, s:] = L22
        return newL, np.concatenate([order, added])

    def solve(self, S, B, key=0):
        """Solve ``Ĥ_SS U = B`` with the cached factor of slot ``key``.

        Parameters
        ----------
        S : array_like of int
            Kept set, ascending.
        B : ndarray of shape (s,) or (s, T)
            Right-hand sides, rows ordered as ``S``.
        key : hashable, default=0
            Cache slot (see :meth:`factor`).

        Returns
        -------
        ndarray, same shape as ``B``
            ``Ĥ_SS⁻¹ B``.
        """
        S = np.asarray(S, dtype=np.intp)
        L, order = self.factor(S, key)
        Bb, vec = _as_block(B)
        pos = np.searchsorted(np.sort(S), order)  # factor position -> row of B
        Y = sla.cho_solve((L, True), Bb[pos], check_finite=False)
        out = np.empty_like(Y)
        out[pos] = Y
        return out[:, 0] if vec else out


def _missing(a, b):
    """The entries of ``a`` that are not in ``b`` (unique non-negative ints), in ``a``'s order.

    A mark array instead of ``np.setdiff1d``: these sets are small and the
    call runs once per iteration of I-OBS, where ``setdiff1d``'s sorting was a
    visible share of the time.
    """
    if a.size == 0 or b.size == 0:
        return a.copy()
    mark = np.zeros(max(int(a.max()), int(b.max())) + 1, dtype=bool)
    mark[b] = True
    return a[~mark[a]]


# ====================================================================== base
class Curvature:
    r"""A curvature model :math:`\hat H` (symmetric positive semi-definite, ``n × n``).

    Subclasses implement :meth:`matvec`, :meth:`diag` and :meth:`block`;
    the base class derives :meth:`solve_restricted` (cached Cholesky of
    :math:`\hat H_{SS}`), and dense versions of :meth:`solve`,
    :meth:`inv_diag` and :meth:`inverse` from :meth:`dense` for invertible
    curvatures.

    Attributes
    ----------
    n : int
        Dimension.
    fitted : bool
        Whether the curvature holds data (``fit`` has been called).
    """

    name = "curvature"

    def __init__(self):
        self.n = None
        self._chol = None
        self._inv_diag = None
        self._restricted = RestrictedCholesky(self.block)

    # -------------------------------------------------------------- fitting
    @property
    def fitted(self):
        """Whether the curvature holds data (``fit`` has been called or data given)."""
        return self.n is not None

    def fit(self, problem, x=None):
        """Bind the curvature to ``problem`` (at the point ``x`` where that matters).

        Parameters
        ----------
        problem : SparseProblem
            The problem whose curvature this models.
        x : ndarray of shape (n,), optional
            Point of evaluation, for curvatures that depend on it (the
            Hessian or Fisher of an objective problem); ignored otherwise.

        Returns
        -------
        Curvature
            The curvature itself.
        """
        return self

    def _require_fitted(self):
        if not self.fitted:
            raise ValueError(f"{type(self).__name__} is not fitted; call fit(problem) or "
                             "construct it with data first.")

    def _reset_cache(self):
        self._chol = None
        self._inv_diag = None
        self._restricted = RestrictedCholesky(self.block)

    # ------------------------------------------------------------ interface
    def matvec(self, V):
        """Compute the product ``Ĥ V``.

        Parameters
        ----------
        V : ndarray of shape (n,) or (n, T)
            Vector or block.

        Returns
        -------
        ndarray, same shape as ``V``
            The product.
        """
        raise NotImplementedError

    def diag(self):
        """Return the diagonal of ``Ĥ``.

        Returns
        -------
        ndarray of shape (n,)
            ``diag(Ĥ)``.
        """
        raise NotImplementedError

    def block(self, rows, cols):
        """Return the dense block ``Ĥ[rows][:, cols]``.

        Parameters
        ----------
        rows : array_like of int
            Row indices.
        cols : array_like of int
            Column indices.

        Returns
        -------
        ndarray of shape (len(rows), len(cols))
            The block.
        """
        raise NotImplementedError

    def dense(self):
        """Return ``Ĥ`` as a dense array.

        Returns
        -------
        ndarray of shape (n, n)
            The curvature matrix.
        """
        idx = np.arange(self.n)
        return self.block(idx, idx)

    def shifted(self, lam):
        """Return the curvature ``Ĥ + lam·I`` (same type when possible).

        Parameters
        ----------
        lam : float
            Diagonal shift.

        Returns
        -------
        Curvature
            The shifted curvature (``self`` is not modified).
        """
        return _Shifted(self, lam)

    def singular_reason(self):
        """Explain why ``Ĥ`` is known singular without factorising it, if it is.

        Returns
        -------
        str or None
            A phrase for the error message, or None when nothing is known.
        """
        return None

    def check_invertible(self):
        """Raise the standard ValueError if ``Ĥ`` is singular (may factorise ``Ĥ``)."""
        self._factor()

    def _factor(self):
        self._require_fitted()
        why = self.singular_reason()
        if why is not None:
            raise singular_error(f"{self.describe()}", why)
        if self._chol is None:
            H = np.asarray(self.dense(), dtype=np.float64)
            try:
                c = sla.cho_factor(H, lower=True, check_finite=False)
            except (sla.LinAlgError, np.linalg.LinAlgError):
                raise singular_error(self.describe(), " (its Cholesky factorisation "
                                      "failed: it is not positive definite)") from None
            dmin = float(np.min(np.abs(np.diag(c[0])))) ** 2
            if not dmin > 1e-13 * float(np.max(np.abs(np.diag(H)))):
                raise singular_error(self.describe(), " to working precision")
            self._chol = c
        return self._chol

    def solve(self, B):
        """Solve ``Ĥ U = B`` via a cached Cholesky factor of ``Ĥ`` (needs ``Ĥ`` invertible).

        Parameters
        ----------
        B : ndarray of shape (n,) or (n, T)
            Right-hand side(s).

        Returns
        -------
        ndarray, same shape as ``B``
            ``Ĥ⁻¹ B``.

        Raises
        ------
        ValueError
            If ``Ĥ`` is singular (damp it).
        """
        c = self._factor()
        return sla.cho_solve(c, np.asarray(B, dtype=np.float64), check_finite=False)

    def newton_ls(self, problem, R):
        """Compute ``Ĥ⁻¹∇f`` for ``f = ½‖AX − Y‖²`` from the residual block ``R = Y − AX``.

        The default is ``solve(−AᵀR)``; :class:`ExactGram` overrides it when a
        cheaper data-space form exists.

        Parameters
        ----------
        problem : Problem
            The least-squares problem (gives ``Aᵀ``).
        R : ndarray of shape (m, T)
            Residual block.

        Returns
        -------
        ndarray of shape (n, T)
            The Newton direction ``Ĥ⁻¹∇f`` (subtract it from ``X``).
        """
        return self.solve(-problem.rmatvec(R).astype(np.float64))

    def inverse(self):
        """Return the dense inverse ``Ĥ⁻¹``; only for invertible ``Ĥ`` (damp it otherwise).

        Returns
        -------
        ndarray of shape (n, n)
            ``Ĥ⁻¹``.
        """
        return self.solve(np.eye(self.n))

    def inv_diag(self):
        """Return ``diag(Ĥ⁻¹)``; only for invertible ``Ĥ`` (computed once, cached).

        Returns
        -------
        ndarray of shape (n,)
            The diagonal of the inverse (read-only).
        """
        c = self._factor()
        if self._inv_diag is None:
            Linv = sla.solve_triangular(c[0], np.eye(self.n), lower=True, check_finite=False)
            self._inv_diag = np.einsum("ij,ij->j", Linv, Linv)
            self._inv_diag.setflags(write=False)
        return self._inv_diag

    def saliency_weights(self):
        r"""Return the weights :math:`1/[\hat H^{-1}]_{ii}` of the OBS saliency :math:`z_i^2/[\hat H^{-1}]_{ii}`.

        Returns
        -------
        ndarray of shape (n,)
            ``1 / diag(Ĥ⁻¹)`` (a diagonal curvature returns its diagonal, so a
            zero entry is allowed there).
        """
        return 1.0 / self.inv_diag()

    def solve_restricted(self, S, B, *, key=0):
        r"""Solve :math:`\hat H_{SS} u = b` with a cached Cholesky factor of :math:`\hat H_{SS}`.

        Parameters
        ----------
        S : ndarray of int of shape (s,)
            Kept set, ascending.
        B : ndarray of shape (s,) or (s, T)
            Right-hand sides, rows ordered as ``S``.
        key : hashable, default=0
            Cache slot (e.g. the signal index): the factor for ``key`` is
            reused when ``S`` is unchanged and up/down-dated when it changed
            by a few indices (see :class:`RestrictedCholesky`).

        Returns
        -------
        u : ndarray, same shape as ``B``
            ``Ĥ_SS⁻¹ B``.

        Raises
        ------
        ValueError
            If :math:`\hat H_{SS}` is not positive definite.
        """
        self._require_fitted()
        try:
            return self._restricted.solve(S, np.asarray(B, dtype=np.float64), key)
        except np.linalg.LinAlgError as exc:
            raise singular_error(f"block Ĥ_SS of {self.describe()}",
                                  f" ({exc}); the kept set needs |S| <= m and linearly "
                                  "independent columns") from None

    @staticmethod
    def downdate(Hinv, q):
        """Apply the OBS inverse downdate ``Ĥ⁻¹ − Ĥ⁻¹e_q e_qᵀĤ⁻¹/[Ĥ⁻¹]_qq``.

        Parameters
        ----------
        Hinv : ndarray of shape (n, n)
            Current inverse ``Ĥ⁻¹`` (not modified).
        q : int
            Index removed.

        Returns
        -------
        ndarray of shape (n, n)
            The downdated inverse (a new array).
        """
        return obs_downdate(Hinv, int(q))

    def describe(self):
        """Describe the curvature in one line (used in messages and ``repr``).

        Returns
        -------
        str
            The description.
        """
        return f"{type(self).__name__}(n={self.n})"

    def __repr__(self):
        return self.describe()


class _Shifted(Curvature):
    """Generic ``Ĥ + λI`` of any curvature (dense inverse when needed)."""

    def __init__(self, base, lam):
        super().__init__()
        self.base, self.lam, self.n = base, float(lam), base.n

    def matvec(self, V):
        return self.base.matvec(V) + self.lam * np.asarray(V)

    def diag(self):
        return self.base.diag() + self.lam

    def block(self, rows, cols):
        B = np.array(self.base.block(rows, cols), dtype=np.float64)
        B[np.asarray(rows)[:, None] == np.asarray(cols)[None, :]] += self.lam
        return B

    def describe(self):
        return f"{self.base.describe()} + {self.lam:.3g}·I"

