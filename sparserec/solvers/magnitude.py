r"""Magnitude pruning: zero the smallest ``|w|`` (the baseline)."""
from __future__ import annotations

from ..projection import Projection
from ._oneshot import OneShotPruner
from .base import register

__all__ = ["Magnitude"]


@register
class Magnitude(OneShotPruner):
    r"""Magnitude pruning: keep the largest ``|w|``, no correction.

    Notes
    -----
    :math:`\hat W = W \odot \mathbb 1[|W| \text{ among the kept}]` (DESIGN.md:
    top-k selection, no correction). On a layer, a global fraction ranks all
    weights of the layer, a uniform one each output, N:M each group. On a
    least-squares problem it prunes ``x0`` or the damped least-squares
    solution (damping 0.01).

    References
    ----------
    .. [1] S. Han, J. Pool, J. Tran, W. Dally, "Learning both weights and
       connections for efficient neural networks", NeurIPS 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from sparserec import solvers
    >>> from sparserec.problems import LayerProblem
    >>> rng = np.random.default_rng(0)
    >>> p = LayerProblem(rng.standard_normal((40, 6)), rng.standard_normal((6, 2)), 0.5)
    >>> int((solvers.get("magnitude").solve(p).x == 0).sum())
    6
    """

    name = "magnitude"
    uses_curvature = False

    def __init__(self):
        pass

    def projection(self):
        return Projection("topk", "none")
