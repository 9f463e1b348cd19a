r"""Damped curvature ``Ĥ + λI`` with relative damping (the OBC/SparseGPT convention)."""
from __future__ import annotations



from .._validation import check_real
from .base import Curvature, relative_damping

__all__ = ["Damped"]

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

    def fit(self, problem, x=None):
        self.base.fit(problem, x)
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

