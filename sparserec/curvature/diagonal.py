r"""Diagonal curvature ``diag(h)``: Optimal Brain Damage's, and Jacobi's."""
from __future__ import annotations


import numpy as np

from .._validation import as_real_array
from .base import Curvature, singular_error
from .exact import ExactGram

__all__ = ["Diagonal"]

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

    def fit(self, problem, x=None):
        if isinstance(problem, Curvature):
            self._set(problem.diag())
        else:
            self._set(ExactGram(dense=False).fit(problem, x).diag())
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
            raise singular_error(self.describe(), why)

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

    def saliency_weights(self):
        return self.h

    def solve_restricted(self, S, B, *, key=0):
        hS = self.h[np.asarray(S, dtype=np.intp)]
        if np.any(hS <= 0):
            raise singular_error(f"block Ĥ_SS of {self.describe()}", " (zero diagonal entries)")
        B = np.asarray(B, dtype=np.float64)
        return B / hS if B.ndim == 1 else B / hS[:, None]

