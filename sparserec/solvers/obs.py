r"""Optimal Brain Surgeon (Hassibi & Stork 1992, 1993)."""
from __future__ import annotations

from ..curvature import DEFAULT_DAMPING
from ..projection import Projection
from ._oneshot import OneShotPruner, check_engine
from .base import register

__all__ = ["OBS"]


@register
class OBS(OneShotPruner):
    r"""Optimal Brain Surgeon: sequential single-weight removal with the full downdate.

    Parameters
    ----------
    curvature : str or Curvature, default="exact"
        ``"exact"``, ``"diagonal"``, ``"woodfisher"``, ``"identity"`` or a
        :class:`~sparserec.curvature.Curvature` (see
        :func:`~sparserec.curvature.make_curvature`).
    damping : float or None, default=0.01
        Relative damping of the curvature (``λ = damping·mean(diag Ĥ)``);
        None is undamped, which needs an invertible ``Ĥ`` (``m >= n``).
    engine : {"numba", "numpy"}, default="numba"
        Engine of the greedy kernel :func:`sparserec.kernels.greedy_obs`.

    Notes
    -----
    Repeat until the budget is met: :math:`q = \arg\min_q w_q^2/(2[\hat H^{-1}]_{qq})`,
    :math:`w \leftarrow w - (w_q/[\hat H^{-1}]_{qq})\hat H^{-1}e_q`,
    :math:`\hat H^{-1} \leftarrow \hat H^{-1} - \hat H^{-1}e_qe_q^\top\hat H^{-1}/[\hat H^{-1}]_{qq}`
    (the ``"greedy"`` selection, whose sequential updates are the OBS
    correction on the kept set). A layer-global fraction is split across
    outputs by their loss increments (as in OBC).

    References
    ----------
    .. [1] B. Hassibi and D. G. Stork, "Second order derivatives for network
       pruning: Optimal Brain Surgeon", NeurIPS 1993.
    .. [2] E. Frantar, S. P. Singh and D. Alistarh, "Optimal Brain
       Compression", NeurIPS 2022.
    """

    name = "obs"

    def __init__(self, *, curvature="exact", damping=DEFAULT_DAMPING, engine="numba"):
        self.curvature = curvature
        self.damping = damping
        self.engine = engine

    def _validate_params(self, problem):
        super()._validate_params(problem)
        check_engine(self.engine, "OBS")

    def projection(self):
        return Projection("greedy", "rule", engine=self.engine)
