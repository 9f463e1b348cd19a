r"""WoodFisher one-shot pruning (Singh & Alistarh 2020)."""
from __future__ import annotations

from .._validation import check_choice, check_int
from ..curvature import DEFAULT_DAMPING, WoodFisher, make_curvature
from ..problems import ObjectiveProblem
from ..projection import Projection
from ._oneshot import OneShotPruner
from .base import register

__all__ = ["WoodFisherPruner"]


@register
class WoodFisherPruner(OneShotPruner):
    r"""WoodFisher one-shot pruning: Fisher saliency, summed (or group) OBS update.

    Parameters
    ----------
    curvature : str or Curvature, default="woodfisher"
        ``"woodfisher"`` builds the damped empirical Fisher
        :class:`~sparserec.curvature.WoodFisher` of the problem's per-sample
        gradients (the rows of ``A``; a layer's input rows; a network's
        per-sample gradients, one block per layer, in sample space); any other
        curvature is used as given.
    damping : float, default=0.01
        Relative damping (``λ = damping·mean(diag F)``); required for the
        Woodbury recursion, which starts from ``λ⁻¹I``.
    update : {"sum", "group"}, default="sum"
        ``"sum"``: the sum of single-weight OBS updates over the pruned set,
        as in the WoodFisher reference code. ``"group"``: the exact group OBS
        correction :math:`-\hat F^{-1}_{:,Q}([\hat F^{-1}]_{QQ})^{-1}w_Q`.
    block_size : int or None, default=None
        Block-diagonal Fisher over consecutive chunks of coordinates
        (``woodfisherblock``); None is one dense block.

    Notes
    -----
    With the damped empirical Fisher :math:`\hat F = \lambda I + \frac1N\sum_p g_pg_p^\top`
    (inverted by the Woodbury recursion), each column keeps the top of the
    saliency :math:`\rho_q = w_q^2/[\hat F^{-1}]_{qq}`; with ``Q`` the pruned
    set, the kept weights are corrected by

    .. math::  \delta = -\sum_{q\in Q} \frac{w_q}{[\hat F^{-1}]_{qq}}\,\hat F^{-1}e_q
               \quad(\texttt{update="sum"}),\qquad
               \delta = -\hat F^{-1}_{:,Q}\big([\hat F^{-1}]_{QQ}\big)^{-1}w_Q
               \quad(\texttt{update="group"}),

    and :math:`x^{+} = (w + \delta) \odot 1_S`. The summed update ignores the
    interactions of the pruned weights (ALGORITHMS.md, pitfall 5). On a
    :class:`~sparserec.problems.NetworkLossProblem` the saliencies of all
    layers are ranked together (one network-wide threshold, the reference's
    ``--woodburry-joint-sparsify``).

    References
    ----------
    .. [1] S. P. Singh and D. Alistarh, "WoodFisher: efficient second-order
       approximation for neural network compression", NeurIPS 2020.
    """

    name = "woodfisher"

    def __init__(self, *, curvature="woodfisher", damping=DEFAULT_DAMPING, update="sum",
                 block_size=None):
        self.curvature = curvature
        self.damping = damping
        self.update = update
        self.block_size = block_size

    def _validate_params(self, problem):
        super()._validate_params(problem)
        check_choice(self.update, "update", "WoodFisherPruner", ("sum", "group"))
        if self.block_size is not None:
            check_int(self.block_size, "block_size", "WoodFisherPruner", low=1,
                      expected="None or an int >= 1")

    def projection(self):
        return Projection("saliency", "sum" if self.update == "sum" else "obs")

    def make_curvature(self, problem, X=None):
        if isinstance(self.curvature, str) and self.curvature == "woodfisher":
            if self.damping is None:
                raise ValueError("The 'damping' parameter of WoodFisherPruner must be a positive "
                                 "real number: the Woodbury recursion starts from F₀⁻¹ = λ⁻¹I, "
                                 "so WoodFisher needs damping (e.g. damping=0.01); got None.")
            x = X[:, 0] if isinstance(problem, ObjectiveProblem) and X is not None else None
            return WoodFisher(percdamp=self.damping, block_size=self.block_size).fit(problem, x)
        return make_curvature(self.curvature, problem, self.damping, owner="WoodFisherPruner")
