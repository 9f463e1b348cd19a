"""Hard Thresholding Pursuit (Foucart 2011)."""
from __future__ import annotations

import numpy as np

from ..projection import Projection
from .base import Solver, check_step, register
from .iht import normalized_step

__all__ = ["HTP"]


@register
class HTP(Solver):
    r"""Hard Thresholding Pursuit: an IHT step chooses the support, least squares sets the values.

    Parameters
    ----------
    step : float, "normalized" or None, default="normalized"
        Gradient step ``μ`` used to choose the support. ``"normalized"`` is
        scale-invariant: from ``x = 0`` it is the NIHT step
        ``‖p_Γ‖²/‖A_Γ p_Γ‖²`` on ``Γ = supp T_k(p)``; afterwards it is
        ``|Γ| / ‖A_Γ‖_F²`` on ``Γ = supp(x)`` (Foucart's ``μ = 1`` for
        unit-norm columns). The NIHT ratio cannot be used there: ``x`` is the
        least-squares fit on Γ, so ``p_Γ = 0`` and the ratio would be 0/0,
        i.e. a quotient of rounding errors. None means ``1/‖A‖₂²``.
    max_iter : int, default=500
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
    .. math::  S^{+} = \mathrm{supp}\, T_k(x + \mu A^\top (y - Ax)),\qquad
               x^{+} = \arg\min_{\mathrm{supp}(u) \subseteq S^{+}} \|Au - y\|_2 .

    This is the thresholding loop with a top-k selection followed by the
    restricted solve with ``Ĥ = AᵀA`` (the least-squares refit on the kept
    set). The iteration stops by itself when the support repeats (then x
    repeats exactly).

    References
    ----------
    .. [1] S. Foucart, "Hard thresholding pursuit: an algorithm for compressive
       sensing", SIAM J. Numer. Anal. 49(6), 2011.
    """

    name = "htp"
    monotone = False

    def __init__(self, *, step="normalized", max_iter=500, tol=1e-10, stagnation=None,
                 stall=None):
        self.step = step
        self.max_iter = max_iter
        self.tol = tol
        self.stagnation = stagnation
        self.stall = stall

    def _validate_params(self, problem):
        super()._validate_params(problem)
        check_step(self.step, type(self).__name__)

    def _scaled_params(self, scaling):
        # an explicit step is in units of 1/‖A‖²; "normalized" and None are scale-free
        params = super()._scaled_params(scaling)
        if params is not None and not (params["step"] is None or isinstance(params["step"], str)):
            params["step"] = float(np.ldexp(float(params["step"]), scaling.h))
        return params

    def _setup(self, problem, state):
        if self.step != "normalized":
            mu = 1.0 / problem.norm2() ** 2 if self.step is None else float(self.step)
            state["mu"] = np.full(problem.n_signals, mu)
        return state

    @staticmethod
    def _normalized_step(problem, X, P, k):
        """Per column: NIHT step from x = 0, else ``|Γ| / ‖A_Γ‖_F²`` on Γ = supp(x)."""
        started = np.any(X != 0, axis=0)
        mu = np.empty(X.shape[1], dtype=problem.dtype)
        if not np.all(started):
            mu[~started] = normalized_step(problem, X[:, ~started], P[:, ~started],
                                           k[~started])[0]
        for t in np.flatnonzero(started):
            AS = problem.columns(np.flatnonzero(X[:, t]))
            mu[t] = AS.shape[1] / np.einsum("ij,ij->", AS, AS)
        return mu

    def _step(self, problem, state):
        X, Y = state["X"], state["Y"]
        old = X != 0
        sparsity = self._sparsity(problem, state)
        P = problem.rmatvec(state["R"])
        mu = (self._normalized_step(problem, X, P, sparsity.k) if self.step == "normalized"
              else state["mu"])

        def refit(mask):  # the OBS correction with Ĥ = AᵀA: least squares on the kept set
            return problem.lstsq_dense([np.flatnonzero(c) for c in mask.T], Y)

        X_new, _ = Projection("topk", correction=refit)(X + mu * P, sparsity)
        state["done"] = np.all((X_new != 0) == old, axis=0) & old.any(axis=0)
        state["X"] = X_new
        state["R"] = Y - problem.matvec_sparse(X_new)
        return state
