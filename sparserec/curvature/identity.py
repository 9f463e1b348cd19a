r"""Identity curvature ``scale·I``: with it the Newton step is a gradient step."""
from __future__ import annotations


import numpy as np

from .._validation import check_int, check_real
from .base import Curvature

__all__ = ["Identity"]

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

    def fit(self, problem, x=None):
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

    def saliency_weights(self):
        return np.full(self.n, self.scale)

    def solve_restricted(self, S, B, *, key=0):
        return np.asarray(B, dtype=np.float64) / self.scale

