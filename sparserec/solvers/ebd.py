r"""Early Brain Damage (Tresp, Neuneier & Zimmermann 1996): OBD away from a minimum."""
from __future__ import annotations

import numpy as np

from .._validation import check_choice
from ..curvature import DEFAULT_DAMPING
from ._newton import newton_direction
from .base import check_step, register
from .obd import OBD

__all__ = ["EBD"]


@register
class EBD(OBD):
    r"""Early Brain Damage: OBD's saliency at the diagonal-Newton point, with revival.

    Parameters
    ----------
    curvature : str or Curvature, default="exact"
        The curvature whose diagonal :math:`h_{qq}` is used (``"exact"``: the
        diagonal of ``AᵀA``, a layer's Gram matrix or a Hessian;
        ``"gauss_newton"``: the Gauss–Newton diagonal of a network loss, as in
        OBD's own backward pass).
    damping : float or None, default=0.01
        Relative damping: the diagonal of :math:`\hat H + \lambda I`,
        :math:`\lambda = \text{damping}\cdot\text{mean}(\text{diag}\,\hat H)`.
        None: undamped (a zero :math:`h_{qq}` then raises).
    step : float or None, default=1.0
        The Newton step ``η`` (None means 1; ``η = 1`` is EBD).
    update : {"none", "newton"}, default="none"
        Values of the kept weights. ``"none"``: OBD's convention, no
        compensation: kept weights keep their value ``w_q`` and a revived
        weight (``w_q = 0``, kept) enters at its one-dimensional optimum
        ``z_q = −η g_q/h_qq`` (EBD ranks; the paper then retrains).
        ``"newton"``: every kept weight takes its diagonal-Newton value ``z_q``
        (the full Newton step followed by the projection, I-OBS with a
        diagonal curvature).

    Notes
    -----
    With :math:`g = \nabla f(w)` at a point that is not a minimum (a network
    stopped early), the cost of deleting :math:`w_q` relative to the optimum
    of the (diagonal) quadratic model is

    .. math::  s_q = \tfrac12 h_{qq}\Big(w_q - \frac{g_q}{h_{qq}}\Big)^2
               = \tfrac12 h_{qq}w_q^2 - g_qw_q + \frac{g_q^2}{2h_{qq}},

    OBD's :math:`\tfrac12 h_{qq}w_q^2` at the diagonal-Newton target
    :math:`z = w - \eta\,\mathrm{diag}(h)^{-1}g`. So EBD is one Newton step
    with the diagonal curvature followed by OBD's selection, the top of
    :math:`h_{qq}z_q^2` (with a diagonal curvature the OBS correction moves
    nothing else):

    .. math::  S = \mathrm{top}_k(h\odot z^2),\qquad
               w^{+}_q = \begin{cases} w_q & q\in S,\ w_q \ne 0\\ z_q & q \in S,\ w_q = 0
               \end{cases}\ (\texttt{update="none"}),\qquad
               w^{+} = z\odot 1_S\ (\texttt{update="newton"}).

    A weight that is already zero with a large gradient has the saliency
    :math:`g_q^2/(2h_{qq})` and is **revived** at :math:`-g_q/h_{qq}` when
    that beats the smallest kept saliency. At a stationary point (``g = 0``)
    EBD is OBD exactly, with either ``update``. The diagonal Newton step
    ignores the coupling of the weights: on a network it can be far longer
    than the weights themselves, which is why ``"none"`` is the default.

    References
    ----------
    .. [1] V. Tresp, R. Neuneier and H.-G. Zimmermann, "Early Brain Damage",
       NeurIPS 1996.
    .. [2] Y. LeCun, J. S. Denker and S. A. Solla, "Optimal Brain Damage",
       NeurIPS 1989.

    Examples
    --------
    Revival on a separable quadratic: the pruned second weight has the
    largest gradient, so it comes back at its optimum.

    >>> import numpy as np
    >>> from sparserec import solvers
    >>> from sparserec.problems import ObjectiveProblem, Quadratic
    >>> f = Quadratic(np.eye(3), np.array([1.0, 3.0, 0.5]))
    >>> w = np.array([1.0, 0.0, 0.5])
    >>> solvers.get("ebd", damping=None).solve(ObjectiveProblem(f, 1), x0=w).x.tolist()
    [0.0, 3.0, 0.0]
    >>> solvers.get("obd", damping=None).solve(ObjectiveProblem(f, 1), x0=w).x.tolist()
    [1.0, 0.0, 0.0]
    """

    name = "ebd"

    def __init__(self, *, curvature="exact", damping=DEFAULT_DAMPING, step=1.0, update="none"):
        self.curvature = curvature
        self.damping = damping
        self.step = step
        self.update = update

    def _validate_params(self, problem):
        super()._validate_params(problem)
        check_step(self.step, "EBD", allow_normalized=False)
        check_choice(self.update, "update", "EBD", ("none", "newton"))

    def _target(self, problem, state, curvature):
        eta = 1.0 if self.step is None else float(self.step)
        X = super()._target(problem, state, curvature)
        return X - eta * newton_direction(problem, state, curvature)

    def _step(self, problem, state):
        if self.update == "newton":   # the projection's own values: z on the kept set
            return super()._step(problem, state)
        ctx = state["ctx"]
        W = np.asarray(state["X"], dtype=np.float64)
        Z = self._target(problem, state, ctx["curv"])
        mask = ctx["proj"].select(Z, self._sparsity(problem, state), ctx["curv"]).mask
        X = np.where(mask, np.where(W != 0, W, Z), 0.0)   # kept: w; revived: z
        state["X"] = X.astype(problem.dtype, copy=False)
        problem.refresh(state)
        state["done"][:] = True
        return state
