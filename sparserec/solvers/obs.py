r"""Optimal Brain Surgeon (Hassibi & Stork 1992, 1993)."""
from __future__ import annotations

from .._validation import check_choice
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
    selection : {"greedy", "saliency"}, default="greedy"
        ``"greedy"``: remove one weight at a time with the full downdate (needs
        the dense ``Ĥ⁻¹``, at most ``GREEDY_MAX_N`` unknowns). ``"saliency"``:
        keep the top of :math:`w_q^2/[\hat H^{-1}]_{qq}` in one pass, then the
        exact group OBS correction on the kept set; with a block-diagonal
        sample-space curvature (``"gauss_newton"``, ``"eigenspace"``) it prunes
        whole networks (:class:`~sparserec.problems.NetworkLossProblem`).

    Notes
    -----
    Repeat until the budget is met: :math:`q = \arg\min_q w_q^2/(2[\hat H^{-1}]_{qq})`,
    :math:`w \leftarrow w - (w_q/[\hat H^{-1}]_{qq})\hat H^{-1}e_q`,
    :math:`\hat H^{-1} \leftarrow \hat H^{-1} - \hat H^{-1}e_qe_q^\top\hat H^{-1}/[\hat H^{-1}]_{qq}`
    (the ``"greedy"`` selection, whose sequential updates are the OBS
    correction on the kept set). A layer-global fraction is split across
    outputs by their loss increments (as in OBC). With ``selection="saliency"``
    the kept set is the top of the single-weight saliencies and the update is
    the group correction :math:`\delta = -\hat H^{-1}_{:,Q}([\hat H^{-1}]_{QQ})^{-1}w_Q`
    (the minimiser of the quadratic model on the kept set, DESIGN.md),
    computed as a restricted solve with :math:`\hat H_{SS}`.

    References
    ----------
    .. [1] B. Hassibi and D. G. Stork, "Second order derivatives for network
       pruning: Optimal Brain Surgeon", NeurIPS 1993.
    .. [2] E. Frantar, S. P. Singh and D. Alistarh, "Optimal Brain
       Compression", NeurIPS 2022.
    """

    name = "obs"
    #: Largest number of unknowns of the greedy selection (its dense ``Ĥ⁻¹``).
    GREEDY_MAX_N = 20000

    def __init__(self, *, curvature="exact", damping=DEFAULT_DAMPING, engine="numba",
                 selection="greedy"):
        self.curvature = curvature
        self.damping = damping
        self.engine = engine
        self.selection = selection

    def _validate_params(self, problem):
        super()._validate_params(problem)
        check_engine(self.engine, "OBS")
        check_choice(self.selection, "selection", "OBS", ("greedy", "saliency"))
        if self.selection == "greedy" and problem.n > self.GREEDY_MAX_N:
            raise ValueError(f"OBS with selection='greedy' needs the dense {problem.n} x "
                             f"{problem.n} inverse Ĥ⁻¹ (at most {self.GREEDY_MAX_N} unknowns); "
                             "use selection='saliency' with a block-diagonal curvature "
                             "('gauss_newton', 'eigenspace' or 'woodfisher').")

    def projection(self):
        if self.selection == "saliency":
            return Projection("saliency", "obs")
        return Projection("greedy", "rule", engine=self.engine)
