r"""Exact Gram curvature: ``AᵀA`` of a least-squares problem, a layer's ``H``, a Hessian."""
from __future__ import annotations

import logging

import numpy as np
import scipy.linalg as sla

from .._validation import as_real_array
from ..problems import LayerProblem, ObjectiveProblem, Problem
from .base import Curvature, _as_block

__all__ = ["ExactGram", "DENSE_MAX", "fix_dead"]

logger = logging.getLogger(__name__)

#: ExactGram of a dense ``A`` stores ``AᵀA`` when ``n <= DENSE_MAX`` (else matrix-free).
DENSE_MAX = 2048


def fix_dead(H):
    """A copy of a Gram matrix whose zero diagonal entries ("dead" inputs) are set to 1.

    A PSD matrix with ``H_jj = 0`` has a zero row and column ``j``; setting
    ``H_jj = 1`` makes that coordinate decoupled and invertible without
    changing anything else (the OBC/SparseGPT reference codes do the same;
    the weights of dead inputs are zeroed before pruning).

    Parameters
    ----------
    H : ndarray of shape (n, n)
        Symmetric positive semi-definite Gram matrix.

    Returns
    -------
    ndarray of shape (n, n)
        ``H`` with ``H_jj = 1`` wherever it was 0 (the input itself when no
        diagonal entry is 0).
    """
    dead = np.flatnonzero(np.diag(H) == 0)
    if dead.size == 0:
        return H
    H = np.array(H, dtype=np.float64)
    H[dead, dead] = 1.0
    return H


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
        ``m >= n`` and ``n <= DENSE_MAX``; otherwise products and blocks go
        through ``A`` (forming ``AᵀA`` costs ``O(mn²)``, more than the
        ``O(m²n)`` of the Woodbury form below when ``m < n``). With damping
        and ``m < n``, ``Ĥ⁻¹`` always goes through the ``m × m`` Woodbury
        identity.
    shift : float, default=0.0
        Diagonal shift ``λ`` (use :class:`Damped` for the relative convention).

    Notes
    -----
    For ``m < n`` the undamped :math:`A^\top A` has rank at most ``m``:
    :meth:`solve`, :meth:`inv_diag` and :meth:`inverse` raise a ValueError
    asking for ``damping`` and never form an inverse. :meth:`solve_restricted`
    only needs :math:`A_S^\top A_S`, invertible when ``|S| <= m`` and the
    columns of ``A_S`` are independent.

    With a shift ``λ > 0`` and ``m < n`` (dense storage or not),

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
        self.problem = None
        self._woodbury = None
        self._P = None
        self._W = None
        self._p_work = 0.0
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

    def _set_gram(self, H, check=True):
        H = as_real_array(H, "H", "ExactGram", ndim=(2,)).astype(np.float64, copy=False)
        if H.shape[0] != H.shape[1]:
            raise ValueError(f"The 'H' argument of ExactGram must be square; got shape {H.shape}.")
        if check:
            # a Gram matrix is symmetric; 1e-10 relative covers the roundoff of forming XᵀX
            asym = float(np.abs(H - H.T).max())
            if asym > 1e-10 * float(np.abs(H).max()):
                raise ValueError("The 'H' argument of ExactGram must be symmetric (a Gram or "
                                 f"Hessian matrix); got |H − Hᵀ| up to {asym:.3g}.")
            if np.any(np.diag(H) < 0):
                raise ValueError("The 'H' argument of ExactGram must be positive semi-definite; "
                                 "got a negative diagonal entry.")
        self.H = H
        self.n = H.shape[0]
        self.m = None
        self._reset_cache()

    def fit(self, problem, x=None):
        """Bind to a problem: ``AᵀA``, a layer's ``H`` (dead inputs fixed), or a Hessian.

        Parameters
        ----------
        problem : Problem, LayerProblem, ObjectiveProblem or object with ``H``
            A least-squares problem (``AᵀA``); a layer (``H`` with
            :func:`fix_dead`); a Gram-form problem (its ``H``); or an
            objective problem (the Hessian at ``x``).
        x : ndarray of shape (n,), optional
            Point of the Hessian of an :class:`~sparserec.problems.ObjectiveProblem`
            (default: zeros). Ignored by the other problem types.

        Returns
        -------
        ExactGram
            The curvature itself.
        """
        if isinstance(problem, LayerProblem):
            self._set_gram(fix_dead(problem.H), check=False)
            return self
        if isinstance(problem, ObjectiveProblem) and not hasattr(problem, "H"):
            x = np.zeros(problem.n) if x is None else np.asarray(x, dtype=np.float64)
            self._set_gram(problem.objective.hessian(x), check=False)
            return self
        if isinstance(problem, Problem):
            self.problem = problem
            self.m, self.n = problem.m, problem.n
            dense = self.dense_mode
            if dense is None:  # m < n: blocks from A_S and the Woodbury form are cheaper
                dense = (not problem.is_operator and problem.m >= problem.n
                         and problem.n <= DENSE_MAX)
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
            self._W = None
            self._p_work = 0.0
            self._diag = None
            return self
        if hasattr(problem, "H"):
            self._set_gram(problem.H)
            return self
        raise TypeError(f"ExactGram.fit expects a Problem, LayerProblem, ObjectiveProblem or "
                        f"an object with a Gram matrix 'H'; got {type(problem).__name__}.")

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
        new._W = None
        new._p_work = 0.0
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
        # m < n: the m × m system costs O(m²n) against O(n³) for a factor of the dense Ĥ
        return self.shift > 0 and self.m is not None and self.m < self.n

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
            R = np.asarray(R, dtype=np.float64)
            P = self._kinv_a(R.shape[1])
            if P is not None:
                return -(P.T @ R)
            A, c = self._wb()
            return -(A.T @ sla.cho_solve(c, R, check_finite=False))
        return super().newton_ls(problem, R)

    def _l_inv_a(self):
        """``W = L⁻¹A`` with ``AAᵀ + λI = LLᵀ`` (m, n): ``diag(Aᵀ(AAᵀ + λI)⁻¹A)`` is ``‖W_j‖²``."""
        if getattr(self, "_W", None) is None:
            A, c = self._wb()
            self._W = sla.solve_triangular(c[0], A, lower=True, check_finite=False)
        return self._W

    def _kinv_a(self, columns):
        """``P = (AAᵀ + λI)⁻¹A`` once the Newton directions have paid for it, else None.

        A direction costs ``2m²`` more per column without ``P`` (an m × m solve
        before the product with ``Aᵀ``), and ``P = L⁻ᵀW`` costs ``m²n`` once
        (one triangular solve from ``W``). ``P`` is formed when the extra work
        of the ``columns`` directions so far reaches that (the ski-rental rule:
        never more than twice the better choice in hindsight); a single solve
        of a few iterations never forms it.
        """
        if getattr(self, "_P", None) is None:
            A, c = self._wb()
            m, n = A.shape
            self._p_work = getattr(self, "_p_work", 0.0) + 2.0 * m * m * columns
            if self._p_work < float(m) * m * n:
                return None
            self._P = sla.solve_triangular(c[0], self._l_inv_a(), lower=True, trans="T",
                                           check_finite=False)
        return self._P

    def inv_diag(self):
        if self._use_woodbury():
            if self._inv_diag is None:
                W = self._l_inv_a()
                self._inv_diag = (1.0 - np.einsum("ij,ij->j", W, W)) / self.shift
                self._inv_diag.setflags(write=False)
            return self._inv_diag
        return super().inv_diag()

    def describe(self):
        src = f"A of shape ({self.m}, {self.n})" if self.m is not None else f"H of shape ({self.n}, {self.n})"
        s = f"ExactGram(AᵀA, {src})" if self.m is not None else f"ExactGram({src})"
        return s + (f" + {self.shift:.3g}·I" if self.shift else "")

