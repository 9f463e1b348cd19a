r"""Topk-I-OBS: hard thresholding of a (damped) Newton step (Wu et al., NeurIPS 2024)."""
from __future__ import annotations

from ._newton import NewtonThresholding
from .base import register

__all__ = ["TopkIOBS"]


@register
class TopkIOBS(NewtonThresholding):
    r"""Topk-I-OBS: hard thresholding of a (damped) Newton step.

    Parameters
    ----------
    curvature : str or Curvature, default="exact"
        ``"exact"`` (``AᵀA``, a layer's Gram matrix, or the Hessian of an
        ObjectiveProblem at the current point), ``"diagonal"``,
        ``"woodfisher"``, ``"identity"`` or a
        :class:`~sparserec.curvature.Curvature`.
    damping : "auto", float or None, default="auto"
        Relative damping (``λ = damping·mean(diag Ĥ)``). ``"auto"`` leaves
        ``Ĥ`` undamped when it is positive definite (an exact Newton step) and
        damps it by 0.01 otherwise (``m < n``). None never damps (a singular
        ``Ĥ`` then raises a ValueError).
    step : float or None, default=1.0
        ``η`` (None means 1).
    max_iter : int, default=200
        Maximum number of iterations (per signal).
    tol : float, default=1e-10
        Relative tolerance of the stopping tests (change in ``x``, residual
        relative to ``‖y‖``); 0 disables early stopping.
    stagnation : int or None, default=None
        Stop when the support is unchanged for this many iterations; None
        disables the test.
    stall : int or None, default=None
        Stop a column whose residual fell by less than a factor ``0.999**stall``
        over the last ``stall`` iterations (``status="stalled"``; see
        :class:`~sparserec.solvers.Solver`). None disables the test.

    Notes
    -----
    .. math::  x^{+} = T_k\big(x - \eta\,\hat H^{-1}\nabla f(x)\big).

    ``Ĥ`` is factorised once (Cholesky, or the ``m × m`` Woodbury form when
    damped with ``m < n`` and ``n`` large); each step then costs two products
    with ``A`` plus the solve. On an :class:`~sparserec.problems.ObjectiveProblem`
    the (damped) Hessian at the current point is the curvature and ``η`` is
    halved until ``f`` does not increase (a monotonicity safeguard). On a
    :class:`~sparserec.problems.LayerProblem` the first step from the dense
    weights is magnitude pruning; later steps re-prune a Newton target.

    References
    ----------
    .. [1] D. Wu, I.-V. Modoranu, M. Safaryan, D. Kuznedelev and D. Alistarh,
       "The Iterative Optimal Brain Surgeon: faster sparse recovery by
       leveraging second-order information", NeurIPS 2024.

    Examples
    --------
    >>> from sparserec import solvers
    >>> from sparserec.ensembles import make_problem
    >>> problem = make_problem(128, 64, 5, seed=0)
    >>> res = solvers.get("topk_iobs").solve(problem)
    >>> bool(res.rel_error < 1e-8)
    True
    """

    name = "topk_iobs"

    def __init__(self, *, curvature="exact", damping="auto", step=1.0, max_iter=200, tol=1e-10,
                 stagnation=None, stall=None):
        self.curvature = curvature
        self.damping = damping
        self.step = step
        self.max_iter = max_iter
        self.tol = tol
        self.stagnation = stagnation
        self.stall = stall


