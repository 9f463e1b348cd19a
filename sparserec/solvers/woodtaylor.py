r"""WoodTaylor: WoodFisher with the first-order term (Singh & Alistarh 2020)."""
from __future__ import annotations

from ..curvature import DEFAULT_DAMPING
from ._newton import newton_direction
from .base import check_step, register
from .woodfisher import WoodFisherPruner

__all__ = ["WoodTaylor"]


@register
class WoodTaylor(WoodFisherPruner):
    r"""WoodTaylor: the OBS projection of the Fisher-Newton target :math:`w - \hat F^{-1}g`.

    Parameters
    ----------
    curvature : str or Curvature, default="woodfisher"
        ``"woodfisher"`` builds the damped empirical Fisher
        :class:`~sparserec.curvature.WoodFisher` of the problem's per-sample
        gradients (per layer for a network); any other curvature is used as given.
    damping : float, default=0.01
        Relative damping (``λ = damping·mean(diag F)``); required for the
        Woodbury recursion, which starts from ``λ⁻¹I``.
    update : {"sum", "group"}, default="sum"
        ``"sum"``: the sum of single-weight OBS updates over the pruned set (the
        reference code); ``"group"``: the exact group OBS correction.
    block_size : int or None, default=None
        Cut the Fisher's blocks into chunks of this many coordinates.
    step : float or None, default=1.0
        The Newton step ``η`` (None means 1).

    Notes
    -----
    With the mean gradient :math:`\bar g = \nabla f(w)` and the empirical
    Fisher :math:`\hat F` (a Hessian model of the *mean* loss; for the sums of
    a least-squares problem or a layer it is rescaled,
    :func:`sparserec.curvature.hessian_scale`), the second-order model of the
    loss with the first-order term is minimised by the target
    :math:`z = w - \eta\hat F^{-1}\bar g`, and the cost of pruning ``q`` from it is

    .. math::  \rho_q = \frac{z_q^2}{2[\hat F^{-1}]_{qq}}
               - \tfrac12\bar g^\top\hat F^{-1}\bar g,

    the statistic of the reference ``woodtaylor.py`` (its terms
    :math:`\tfrac12 w_q^2/[\hat F^{-1}]_{qq} + \tfrac12(\hat F^{-1}\bar g)_q^2/[\hat F^{-1}]_{qq}
    - w_q(\hat F^{-1}\bar g)_q/[\hat F^{-1}]_{qq} - \tfrac12\bar g^\top\hat F^{-1}\bar g`);
    the constant does not change the ranking. Its update
    :math:`\delta = \hat F^{-1}s - \hat F^{-1}\bar g` with
    :math:`s_q = -z_q/[\hat F^{-1}]_{qq}` on the pruned set is WoodFisher's
    summed update applied to ``z``:

    .. math::  w^{+} = \Big(z - \sum_{q\in Q}\frac{z_q}{[\hat F^{-1}]_{qq}}\hat F^{-1}e_q\Big)\odot 1_S .

    So WoodTaylor is one Newton step with the Fisher followed by WoodFisher's
    projection, and equals WoodFisher at a stationary point (``ḡ = 0``).

    References
    ----------
    .. [1] S. P. Singh and D. Alistarh, "WoodFisher: efficient second-order
       approximation for neural network compression", NeurIPS 2020 (the
       first-order extension, "WoodTaylor").
    """

    name = "woodtaylor"

    def __init__(self, *, curvature="woodfisher", damping=DEFAULT_DAMPING, update="sum",
                 block_size=None, step=1.0):
        super().__init__(curvature=curvature, damping=damping, update=update,
                         block_size=block_size)
        self.step = step

    def _validate_params(self, problem):
        super()._validate_params(problem)
        check_step(self.step, "WoodTaylor", allow_normalized=False)

    def _target(self, problem, state, curvature):
        eta = 1.0 if self.step is None else float(self.step)
        X = super()._target(problem, state, curvature)
        scale = float(getattr(curvature, "hessian_scale", 1.0))
        return X - (eta / scale) * newton_direction(problem, state, curvature)
