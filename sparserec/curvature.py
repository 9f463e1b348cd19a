r"""Curvature models :math:`\hat H` for second-order steps and OBS projections.

One small interface, :class:`Curvature`, and five implementations:

=================  =========================================================
:class:`ExactGram`  :math:`A^\top A` of a :class:`~sparserec.Problem` (dense, or
                    matrix-free through ``A``), or a given Gram matrix ``H``
:class:`Damped`     :math:`\hat H + \lambda I`, :math:`\lambda = \text{percdamp}
                    \cdot \text{mean}(\text{diag}\,\hat H)` (OBC/SparseGPT)
:class:`Diagonal`   :math:`\text{diag}(\hat H)` (OBD, Jacobi)
:class:`WoodFisher` :math:`\lambda I + \frac1N\sum_n g_n g_n^\top`, inverse built by
                    the Woodbury recursion, dense or block-diagonal
:class:`Identity`   :math:`I` (I-OBS becomes IHT)
=================  =========================================================

What each method needs (DESIGN.md):

* ``matvec(V)``: :math:`\hat H V`;
* ``solve_restricted(S, B)``: :math:`\hat H_{SS}^{-1} B` from a Cholesky factor
  of :math:`\hat H_{SS}` only; never needs :math:`\hat H^{-1}`. The factor is
  cached per ``key`` and up/down-dated when ``S`` changes by a few indices;
* ``solve(B)``, ``inv_diag()``, ``inverse()``: the full inverse, which exists
  only for an invertible :math:`\hat H`. For the undamped Gram of an ``m × n``
  ``A`` with ``m < n`` these raise a ValueError asking for ``damping``;
* ``downdate(Hinv, q)``: the OBS inverse downdate.

The module also registers the curvature-aware selection rules ``"saliency"``,
``"greedy"`` and ``"exact"`` in :data:`sparserec.projection.SELECTIONS`.

References
----------
.. [1] D. Wu, I.-V. Modoranu, M. Safaryan, D. Kuznedelev and D. Alistarh,
   "The Iterative Optimal Brain Surgeon: faster sparse recovery by leveraging
   second-order information", NeurIPS 2024.
.. [2] B. Hassibi and D. G. Stork, "Second order derivatives for network
   pruning: Optimal Brain Surgeon", NeurIPS 1993.
.. [3] S. P. Singh and D. Alistarh, "WoodFisher: efficient second-order
   approximation for neural network compression", NeurIPS 2020.
.. [4] E. Frantar, S. P. Singh and D. Alistarh, "Optimal Brain Compression",
   NeurIPS 2022.
.. [5] Y. LeCun, J. S. Denker and S. A. Solla, "Optimal Brain Damage",
   NeurIPS 1989.
"""
from __future__ import annotations

import itertools
import logging
import math

import numpy as np
import scipy.linalg as sla

from ._validation import as_real_array, check_int, check_real, param_error
from .kernels.obs import chol_update, greedy_obs, obs_downdate
from .kernels.topk import topk
from .problems import Problem
from .projection import register_selection

__all__ = [
    "Curvature", "ExactGram", "Damped", "Diagonal", "WoodFisher", "Identity",
    "RestrictedCholesky", "make_curvature", "woodbury_inverse", "relative_damping",
    "DENSE_MAX", "EXACT_MAX_N",
]

logger = logging.getLogger(__name__)

#: ExactGram of a dense ``A`` stores ``AᵀA`` when ``n <= DENSE_MAX`` (else matrix-free).
DENSE_MAX = 2048
#: Largest ``n`` for which the ``"exact"`` selection (enumeration) is allowed.
EXACT_MAX_N = 20


def _singular_error(what, detail):
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
            if order.size == S.size and np.array_equal(np.sort(order), np.sort(S)):
                self.stats["reuse"] += 1
                return L, order
            removed = np.setdiff1d(order, S, assume_unique=True)
            added = np.setdiff1d(S, order, assume_unique=True)
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
        for j in added:
            h = self.block(order, np.array([j]))[:, 0]
            hjj = float(self.block(np.array([j]), np.array([j]))[0, 0])
            l = sla.solve_triangular(L, h, lower=True, check_finite=False) if order.size \
                else np.zeros(0)
            d2 = hjj - float(l @ l)
            if not d2 > 1e-12 * abs(hjj):  # lost positive definiteness: refactorise
                raise np.linalg.LinAlgError("append failed")
            s = order.size
            newL = np.zeros((s + 1, s + 1), dtype=np.float64)
            newL[:s, :s] = L
            newL[s, :s] = l
            newL[s, s] = math.sqrt(d2)
            L = newL
            order = np.append(order, j)
        return L, order

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

    def fit(self, problem):
        """Bind the curvature to ``problem``.

        Parameters
        ----------
        problem : Problem
            The problem whose curvature this models.

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
            raise _singular_error(f"{self.describe()}", why)
        if self._chol is None:
            H = np.asarray(self.dense(), dtype=np.float64)
            try:
                c = sla.cho_factor(H, lower=True, check_finite=False)
            except (sla.LinAlgError, np.linalg.LinAlgError):
                raise _singular_error(self.describe(), " (its Cholesky factorisation "
                                      "failed: it is not positive definite)") from None
            dmin = float(np.min(np.abs(np.diag(c[0])))) ** 2
            if not dmin > 1e-13 * float(np.max(np.abs(np.diag(H)))):
                raise _singular_error(self.describe(), " to working precision")
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
            raise _singular_error(f"block Ĥ_SS of {self.describe()}",
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


# ================================================================= ExactGram
class ExactGram(Curvature):
    r"""Exact Gram curvature :math:`\hat H = A^\top A` (plus an optional shift ``λI``).

    Parameters
    ----------
    problem : Problem, optional
        Take ``A`` from this least-squares problem (or call :meth:`fit` later).
    H : ndarray of shape (n, n), optional
        A given Gram matrix (Gram form of a layer problem, or a Hessian);
        mutually exclusive with ``problem``. See :meth:`from_gram`.
    dense : bool or None, default=None
        Store ``AᵀA`` as a dense array. None: dense when ``A`` is an array and
        ``n <= DENSE_MAX``; otherwise products go through ``A`` and ``Ĥ⁻¹``
        (when damped and ``m < n``) through the ``m × m`` Woodbury identity.
    shift : float, default=0.0
        Diagonal shift ``λ`` (use :class:`Damped` for the relative convention).

    Notes
    -----
    For ``m < n`` the undamped :math:`A^\top A` has rank at most ``m``:
    :meth:`solve`, :meth:`inv_diag` and :meth:`inverse` raise a ValueError
    asking for ``damping`` and never form an inverse. :meth:`solve_restricted`
    only needs :math:`A_S^\top A_S`, invertible when ``|S| <= m`` and the
    columns of ``A_S`` are independent.

    With a shift ``λ > 0`` and matrix-free storage (``m < n``),

    .. math::  (A^\top A + \lambda I)^{-1} = \lambda^{-1}\big(I - A^\top (AA^\top + \lambda I)^{-1} A\big),

    so ``solve`` costs two products with ``A`` and an ``m × m`` Cholesky solve.
    With :math:`P = (AA^\top + \lambda I)^{-1}A`, formed once,
    :math:`\mathrm{diag}(\hat H^{-1})_j = (1 - a_j^\top p_j)/\lambda` and the
    Newton direction of least squares is :math:`-P^\top r` (:meth:`newton_ls`).

    Examples
    --------
    >>> import numpy as np
    >>> from sparserec import Problem
    >>> A = np.array([[1.0, 0.0], [1.0, 2.0]])
    >>> C = ExactGram(Problem(A, np.ones(2), k=1))
    >>> C.matvec(np.array([1.0, 0.0])).tolist()
    [2.0, 2.0]
    >>> C.inv_diag().round(3).tolist()
    [1.0, 0.5]
    """

    name = "exact"

    def __init__(self, problem=None, *, H=None, dense=None, shift=0.0):
        super().__init__()
        self.dense_mode = dense
        self.shift = float(shift)
        self.A = None
        self.H = None
        self.m = None
        self._woodbury = None
        self._diag = None
        if problem is not None and H is not None:
            raise ValueError("ExactGram takes either a 'problem' or a Gram matrix 'H', not both.")
        if H is not None:
            self._set_gram(H)
        elif problem is not None:
            self.fit(problem)

    @classmethod
    def from_gram(cls, H, *, shift=0.0):
        """Build the Gram-form curvature ``Ĥ = H``, e.g. ``XᵀX`` of a layer.

        Parameters
        ----------
        H : ndarray of shape (d, d)
            Symmetric positive semi-definite Gram matrix.
        shift : float, default=0.0
            Diagonal shift ``λ``.

        Returns
        -------
        ExactGram
            The fitted curvature.
        """
        return cls(H=H, shift=shift)

    def _set_gram(self, H):
        H = as_real_array(H, "H", "ExactGram", ndim=(2,)).astype(np.float64, copy=False)
        if H.shape[0] != H.shape[1]:
            raise ValueError(f"The 'H' argument of ExactGram must be square; got shape {H.shape}.")
        self.H = H
        self.n = H.shape[0]
        self.m = None
        self._reset_cache()

    def fit(self, problem):
        """Take ``A`` from a :class:`~sparserec.Problem` (or ``H`` from an object with ``.H``).

        Parameters
        ----------
        problem : Problem or object with an attribute ``H``
            Least-squares problem, or a Gram-form problem such as
            :class:`~sparserec.objectives.GramProblem`.

        Returns
        -------
        ExactGram
            The curvature itself.
        """
        if isinstance(problem, Problem):
            self.problem = problem
            self.m, self.n = problem.m, problem.n
            dense = self.dense_mode
            if dense is None:
                dense = (not problem.is_operator) and problem.n <= DENSE_MAX
            if dense:
                A = problem.A if not problem.is_operator else problem.columns(np.arange(problem.n))
                A = np.asarray(A, dtype=np.float64)
                self.H = A.T @ A
                self.A = A
            else:
                self.H = None
                self.A = None
            self._reset_cache()
            self._woodbury = None
            self._P = None
            self._diag = None
            return self
        if hasattr(problem, "H"):
            self._set_gram(problem.H)
            return self
        raise TypeError(f"ExactGram.fit expects a Problem or an object with a Gram matrix "
                        f"'H'; got {type(problem).__name__}.")

    # ------------------------------------------------------------- products
    def matvec(self, V):
        self._require_fitted()
        V = np.asarray(V)
        if self.H is not None:
            out = self.H @ V
        else:
            Vb, vec = _as_block(V)
            out = self.problem.rmatvec(self.problem.matvec(Vb.astype(self.problem.dtype)))
            out = out[:, 0] if vec else out
        return out + self.shift * V if self.shift else out

    def diag(self):
        self._require_fitted()
        if self._diag is None:
            if self.H is not None:
                self._diag = np.diag(self.H).astype(np.float64)
            elif not self.problem.is_operator:
                A = self.problem.A
                self._diag = np.einsum("ij,ij->j", A, A).astype(np.float64)
            else:
                self._diag = np.array([float(np.sum(self.problem.columns([j]) ** 2))
                                       for j in range(self.n)])
        return self._diag + self.shift

    def block(self, rows, cols):
        self._require_fitted()
        rows = np.asarray(rows, dtype=np.intp)
        cols = np.asarray(cols, dtype=np.intp)
        if self.H is not None:
            B = np.array(self.H[np.ix_(rows, cols)], dtype=np.float64)
        else:
            Ar = self.problem.columns(rows).astype(np.float64)
            Ac = Ar if np.array_equal(rows, cols) else self.problem.columns(cols).astype(np.float64)
            B = np.dot(Ar.T, Ac)  # (matmul of a transposed self-product takes a slow path)
        if self.shift:
            B[rows[:, None] == cols[None, :]] += self.shift
        return B

    def dense(self):
        self._require_fitted()
        if self.H is None:  # matrix-free with m >= n: form AᵀA once
            logger.info("ExactGram: forming the dense %d x %d Gram matrix", self.n, self.n)
            A = self.problem.columns(np.arange(self.n)).astype(np.float64)
            self.H = A.T @ A
        if self.shift:
            return self.H + self.shift * np.eye(self.n)
        return self.H

    def shifted(self, lam):
        new = object.__new__(ExactGram)
        new.__dict__.update(self.__dict__)
        new.shift = self.shift + float(lam)
        new._reset_cache()
        new._woodbury = None
        new._P = None
        return new

    def singular_reason(self):
        if self.shift > 0:
            return None
        if self.m is not None and self.m < self.n:
            return (f" (AᵀA of an m×n matrix A with m={self.m} < n={self.n} has rank "
                    f"at most {self.m})")
        return None

    def check_invertible(self):
        if self._use_woodbury():
            self._wb()
            return
        super().check_invertible()

    def _use_woodbury(self):
        return self.shift > 0 and self.m is not None and self.m < self.n and self.H is None

    def _wb(self):
        if self._woodbury is None:
            p = self.problem
            A = p.columns(np.arange(p.n)).astype(np.float64) if p.is_operator \
                else np.asarray(p.A, dtype=np.float64)
            K = A @ A.T
            K[np.diag_indices_from(K)] += self.shift
            self._woodbury = (A, sla.cho_factor(K, lower=True, check_finite=False))
        return self._woodbury

    def solve(self, B):
        if self._use_woodbury():
            A, c = self._wb()
            B = np.asarray(B, dtype=np.float64)
            return (B - A.T @ sla.cho_solve(c, A @ B, check_finite=False)) / self.shift
        return super().solve(B)

    def newton_ls(self, problem, R):
        r"""Compute ``Ĥ⁻¹∇f`` from the residual, in data space when possible.

        With the Woodbury form and ``problem`` the problem this Gram was built
        from,

        .. math::  (A^\top A + \lambda I)^{-1} A^\top(AX - Y) = -A^\top (AA^\top + \lambda I)^{-1} R,

        one product with ``Aᵀ`` and an ``m × m`` solve (no product with ``A``).

        Parameters
        ----------
        problem : Problem
            The least-squares problem.
        R : ndarray of shape (m, T)
            Residual block ``Y − AX``.

        Returns
        -------
        ndarray of shape (n, T)
            The Newton direction ``Ĥ⁻¹∇f``.
        """
        if self._use_woodbury() and problem is self.problem:
            return -(self._kinv_a().T @ np.asarray(R, dtype=np.float64))
        return super().newton_ls(problem, R)

    def _kinv_a(self):
        """``P = (AAᵀ + λI)⁻¹A`` (m, n), computed once (``O(m²n)``, memory like ``A``)."""
        if getattr(self, "_P", None) is None:
            A, c = self._wb()
            self._P = sla.cho_solve(c, A, check_finite=False)
        return self._P

    def inv_diag(self):
        if self._use_woodbury():
            if self._inv_diag is None:
                A, _ = self._wb()
                self._inv_diag = (1.0 - np.einsum("ij,ij->j", A, self._kinv_a())) / self.shift
                self._inv_diag.setflags(write=False)
            return self._inv_diag
        return super().inv_diag()

    def describe(self):
        src = f"A of shape ({self.m}, {self.n})" if self.m is not None else f"H of shape ({self.n}, {self.n})"
        s = f"ExactGram(AᵀA, {src})" if self.m is not None else f"ExactGram({src})"
        return s + (f" + {self.shift:.3g}·I" if self.shift else "")


# =================================================================== Damped
class Damped(Curvature):
    r"""Damped curvature :math:`\hat H + \lambda I`, :math:`\lambda = \text{percdamp}\cdot\text{mean}(\text{diag}\,\hat H)`.

    Parameters
    ----------
    base : Curvature
        The undamped curvature (fitted, or fitted by :meth:`fit`).
    percdamp : float, default=0.01
        Relative damping (OBC/SparseGPT convention), ``> 0``.

    Attributes
    ----------
    lam : float
        The absolute damping ``λ``.
    base : Curvature
        The undamped curvature (the I-OBS correction uses its ``Ĥ_SS``).

    Notes
    -----
    Damping is required whenever :math:`\hat H` is singular: ``m < n`` for
    :math:`A^\top A`, or fewer calibration samples than inputs for a layer.
    """

    name = "damped"

    def __init__(self, base, percdamp=0.01):
        super().__init__()
        if not isinstance(base, Curvature):
            raise TypeError(f"The 'base' argument of Damped must be a Curvature; got "
                            f"{type(base).__name__}.")
        self.base = base
        self.percdamp = check_real(percdamp, "damping", "Damped", low=0.0, low_open=True)
        self.lam = None
        self._impl = None
        if base.fitted:
            self._build()

    def fit(self, problem):
        self.base.fit(problem)
        self._build()
        return self

    def _build(self):
        self.n = self.base.n
        self.lam = relative_damping(self.base.diag(), self.percdamp)
        if not self.lam > 0:
            raise ValueError(f"Damped: mean(diag Ĥ) of {self.base.describe()} is "
                             f"{self.lam / self.percdamp:g}, so relative damping gives λ = 0; "
                             "the curvature is zero or not positive semi-definite.")
        self._impl = self.base.shifted(self.lam)
        self._reset_cache()

    def matvec(self, V):
        return self._impl.matvec(V)

    def diag(self):
        return self._impl.diag()

    def block(self, rows, cols):
        return self._impl.block(rows, cols)

    def dense(self):
        return self._impl.dense()

    def solve(self, B):
        self._require_fitted()
        return self._impl.solve(B)

    def inv_diag(self):
        self._require_fitted()
        return self._impl.inv_diag()

    def newton_ls(self, problem, R):
        self._require_fitted()
        return self._impl.newton_ls(problem, R)

    def inverse(self):
        self._require_fitted()
        return self._impl.inverse()

    def check_invertible(self):
        self._require_fitted()
        self._impl.check_invertible()

    def solve_restricted(self, S, B, *, key=0):
        self._require_fitted()
        return self._impl.solve_restricted(S, B, key=key)

    def describe(self):
        return f"Damped({self.base.describe()}, percdamp={self.percdamp:g})"


# ================================================================= Diagonal
class Diagonal(Curvature):
    r"""Diagonal curvature :math:`\mathrm{diag}(h)` (OBD, Jacobi).

    Parameters
    ----------
    h : ndarray of shape (n,) or Curvature, optional
        The diagonal, or a curvature whose diagonal is taken. Without it,
        :meth:`fit` takes the column norms ``‖a_j‖²`` of a Problem.
    """

    name = "diagonal"

    def __init__(self, h=None):
        super().__init__()
        self.h = None
        if isinstance(h, Curvature):
            h = h.diag()
        if h is not None:
            self._set(h)

    def _set(self, h):
        h = as_real_array(h, "h", "Diagonal", ndim=(1,)).astype(np.float64)
        if np.any(h < 0):
            raise ValueError("The 'h' argument of Diagonal must be nonnegative (a curvature "
                             f"diagonal); got min {h.min():g}.")
        self.h = h
        self.n = h.size
        self._reset_cache()

    def fit(self, problem):
        if isinstance(problem, Curvature):
            self._set(problem.diag())
        else:
            self._set(ExactGram(dense=False).fit(problem).diag())
        return self

    def matvec(self, V):
        V = np.asarray(V)
        return self.h * V if V.ndim == 1 else self.h[:, None] * V

    def diag(self):
        return self.h

    def block(self, rows, cols):
        rows = np.asarray(rows, dtype=np.intp)
        cols = np.asarray(cols, dtype=np.intp)
        return np.where(rows[:, None] == cols[None, :], self.h[rows][:, None], 0.0)

    def shifted(self, lam):
        return Diagonal(self.h + lam)

    def singular_reason(self):
        if np.any(self.h <= 0):
            return f" (it has {int(np.sum(self.h <= 0))} zero diagonal entries)"
        return None

    def _check(self):
        self._require_fitted()
        why = self.singular_reason()
        if why is not None:
            raise _singular_error(self.describe(), why)

    def check_invertible(self):
        self._check()

    def solve(self, B):
        self._check()
        B = np.asarray(B, dtype=np.float64)
        return B / self.h if B.ndim == 1 else B / self.h[:, None]

    def inv_diag(self):
        self._check()
        return 1.0 / self.h

    def inverse(self):
        return np.diag(self.inv_diag())

    def solve_restricted(self, S, B, *, key=0):
        hS = self.h[np.asarray(S, dtype=np.intp)]
        if np.any(hS <= 0):
            raise _singular_error(f"block Ĥ_SS of {self.describe()}", " (zero diagonal entries)")
        B = np.asarray(B, dtype=np.float64)
        return B / hS if B.ndim == 1 else B / hS[:, None]


# ================================================================= Identity
class Identity(Curvature):
    """Identity curvature ``scale·I``: the Newton step is a gradient step and I-OBS is IHT.

    Parameters
    ----------
    n : int or None, default=None
        Dimension; None takes it from the problem at :meth:`fit`.
    scale : float, default=1.0
        Positive scale of the identity.
    """

    name = "identity"

    def __init__(self, n=None, scale=1.0):
        super().__init__()
        self.n = None if n is None else check_int(n, "n", "Identity", low=1)
        self.scale = check_real(scale, "scale", "Identity", low=0.0, low_open=True)

    def fit(self, problem):
        self.n = int(problem.n)
        self._reset_cache()
        return self

    def matvec(self, V):
        return self.scale * np.asarray(V)

    def diag(self):
        return np.full(self.n, self.scale)

    def block(self, rows, cols):
        rows = np.asarray(rows, dtype=np.intp)
        cols = np.asarray(cols, dtype=np.intp)
        return self.scale * (rows[:, None] == cols[None, :]).astype(np.float64)

    def shifted(self, lam):
        return Identity(self.n, self.scale + lam)

    def check_invertible(self):
        self._require_fitted()

    def solve(self, B):
        return np.asarray(B, dtype=np.float64) / self.scale

    def inv_diag(self):
        return np.full(self.n, 1.0 / self.scale)

    def inverse(self):
        return np.eye(self.n) / self.scale

    def solve_restricted(self, S, B, *, key=0):
        return np.asarray(B, dtype=np.float64) / self.scale


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

    def fit(self, problem):
        if isinstance(problem, Problem):
            A = problem.columns(np.arange(problem.n)) if problem.is_operator else problem.A
            self._set(A)
        else:
            self._set(problem)
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


# ============================================================ make_curvature
CURVATURES = {"exact": ExactGram, "diagonal": Diagonal, "woodfisher": WoodFisher,
              "identity": Identity}


def make_curvature(spec, problem, damping=None, *, owner="make_curvature"):
    r"""Build a fitted curvature from a specification.

    Parameters
    ----------
    spec : str or Curvature
        ``"exact"`` (:class:`ExactGram`), ``"diagonal"``, ``"woodfisher"``,
        ``"identity"``, or a :class:`Curvature` instance (fitted on
        ``problem`` if it is not fitted yet).
    problem : Problem or object with a Gram matrix ``H``
        The problem the curvature is fitted on.
    damping : float or None, default=None
        Relative damping ``percdamp``: when given, the result is
        ``Damped(curvature, damping)``. None leaves the curvature undamped
        (operations needing ``Ĥ⁻¹`` then fail with a ValueError on a singular
        ``Ĥ``).
    owner : str
        Name used in error messages.

    Returns
    -------
    Curvature
        The fitted (and possibly damped) curvature.
    """
    if isinstance(spec, str):
        if spec not in CURVATURES:
            raise param_error("curvature", owner, "a Curvature or one of "
                              + ", ".join(repr(c) for c in CURVATURES), spec)
        curv = CURVATURES[spec]()
        curv.fit(problem)
    elif isinstance(spec, Curvature):
        curv = spec
        if not curv.fitted:
            curv.fit(problem)
    else:
        raise param_error("curvature", owner, "a Curvature or one of "
                          + ", ".join(repr(c) for c in CURVATURES), spec, TypeError)
    n = getattr(problem, "n", curv.n)
    if curv.n != n:
        raise ValueError(f"The 'curvature' parameter of {owner} has dimension {curv.n}, but "
                         f"the problem has n={n} unknowns.")
    if damping is not None:
        damping = check_real(damping, "damping", owner, low=0.0, low_open=True,
                             expected="None or a positive real number (percdamp)")
        if isinstance(curv, Damped):
            curv = Damped(curv.base, damping)
        else:
            curv = Damped(curv, damping)
    return curv


# ================================================ curvature-aware selections
def _require(curvature, rule):
    if curvature is None:
        raise ValueError(f"The {rule!r} selection needs a curvature (an OBS saliency uses "
                         "diag(Ĥ⁻¹)); pass one, e.g. Projection(...)(Z, k, curvature).")


@register_selection("saliency", needs_curvature=True)
def select_saliency(Z, k, curvature):
    r"""Top-k of the OBS saliency :math:`z_i^2/[\hat H^{-1}]_{ii}` (lower index wins ties)."""
    _require(curvature, "saliency")
    d = curvature.inv_diag()
    return topk(np.asarray(Z, dtype=np.float64) / np.sqrt(d)[:, None], k)


@register_selection("greedy", needs_curvature=True)
def select_greedy(Z, k, curvature):
    r"""Greedy sequential OBS (OBC) on each column: remove ``n − k`` coordinates one at a time."""
    _require(curvature, "greedy")
    Z = np.asarray(Z, dtype=np.float64)
    n, T = Z.shape
    _, _, order = greedy_obs(Z.T, curvature.inverse(), k, return_trace=True)
    keep = np.ones((T, n), dtype=bool)
    keep[np.arange(T)[:, None], order] = False   # kept = never removed (exact zeros too)
    return np.nonzero(keep)[1].reshape(T, k).T.astype(np.int64)


@register_selection("exact", needs_curvature=True)
def select_exact(Z, k, curvature):
    r"""Best support in the :math:`\hat H`-norm by enumeration (``n <= 20`` only).

    Minimises :math:`\min_{\mathrm{supp}\,u \subseteq S} (u - z)^\top \hat H (u - z)`
    over all :math:`\binom nk` sets ``S``, i.e. maximises
    :math:`c_S^\top \hat H_{SS}^{-1} c_S` with :math:`c = \hat H z`. Only
    :math:`\hat H_{SS}` must be invertible. Lower lexicographic ``S`` wins ties.
    """
    _require(curvature, "exact")
    n, T = Z.shape
    if n > EXACT_MAX_N:
        raise ValueError(f"The 'exact' selection enumerates all C(n, k) supports and is "
                         f"allowed for n <= {EXACT_MAX_N} only; got n={n}. Use "
                         "selection='greedy' or 'saliency'.")
    H = np.asarray(curvature.dense(), dtype=np.float64)
    C = H @ np.asarray(Z, dtype=np.float64)
    subsets = np.array(list(itertools.combinations(range(n), k)), dtype=np.intp)
    out = np.empty((k, T), dtype=np.int64)
    best = np.full(T, -np.inf)
    for lo in range(0, len(subsets), 4096):
        sub = subsets[lo:lo + 4096]
        HS = H[sub[:, :, None], sub[:, None, :]]
        CS = C[sub]                          # (b, k, T)
        try:
            U = np.linalg.solve(HS, CS)
        except np.linalg.LinAlgError:
            U = np.stack([np.linalg.lstsq(h, c, rcond=None)[0] for h, c in zip(HS, CS)])
        gain = np.einsum("bkt,bkt->bt", CS, U)
        j = np.argmax(gain, axis=0)
        better = gain[j, np.arange(T)] > best
        best = np.where(better, gain[j, np.arange(T)], best)
        out[:, better] = sub[j[better]].T
    return out
