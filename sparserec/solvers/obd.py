r"""Optimal Brain Damage (LeCun, Denker & Solla 1989)."""
from __future__ import annotations

from ..curvature import DEFAULT_DAMPING, Diagonal
from ..projection import Projection
from ._oneshot import OneShotPruner
from .base import register

__all__ = ["OBD"]


@register
class OBD(OneShotPruner):
    r"""Optimal Brain Damage: keep the largest diagonal saliency, no compensation.

    Parameters
    ----------
    curvature : str or Curvature, default="exact"
        The curvature whose diagonal :math:`h_{qq}` is used (``"exact"``: the
        diagonal of ``AᵀA``, of a layer's Gram matrix, or of a Hessian).
    damping : float or None, default=0.01
        Relative damping: the diagonal of :math:`\hat H + \lambda I`,
        :math:`\lambda = \text{damping}\cdot\text{mean}(\text{diag}\,\hat H)`
        (also the damping of the least-squares dense start). None: undamped.

    Notes
    -----
    .. math::  s_q = h_{qq} w_q^2 / 2,\qquad x^{+} = w \odot 1_{S},\ S = \text{top}(s),

    the ``"saliency"`` selection with a :class:`~sparserec.curvature.Diagonal`
    curvature (whose saliency :math:`w_q^2/[\hat H^{-1}]_{qq}` is
    :math:`h_{qq}w_q^2`) and no correction.

    References
    ----------
    .. [1] Y. LeCun, J. S. Denker and S. A. Solla, "Optimal Brain Damage",
       NeurIPS 1989.
    """

    name = "obd"

    def __init__(self, *, curvature="exact", damping=DEFAULT_DAMPING):
        self.curvature = curvature
        self.damping = damping

    def projection(self):
        return Projection("saliency", "none")

    def make_curvature(self, problem, X=None):
        return Diagonal(super().make_curvature(problem, X))
