"""Subspace Pursuit (Dai & Milenkovic 2009)."""
from __future__ import annotations

import numpy as np

from ..problems.base import colnorm
from ..projection import keep_mask, merged_supports
from .base import Solver, register

__all__ = ["SubspacePursuit"]


def _supports(mask):
    return [np.flatnonzero(c) for c in mask.T]


@register
class SubspacePursuit(Solver):
    r"""Subspace Pursuit.

    Parameters
    ----------
    max_iter : int, default=300
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
    Start from :math:`\Gamma = \mathrm{supp}\,T_k(A^\top y)` with the
    least-squares values. Each iteration, with ``p = Aᵀ(y − Ax)`` zeroed on Γ:

    .. math::  T = \Gamma \cup \mathrm{supp}\,T_k(p),\quad
               b = \mathrm{LS}_T(y),\quad \Gamma^{+} = \mathrm{supp}\,T_k(b),\quad
               x^{+} = \mathrm{LS}_{\Gamma^+}(y).

    The run stops (converged) as soon as the residual no longer decreases,
    keeping the previous iterate (the paper's rule).

    References
    ----------
    .. [1] W. Dai and O. Milenkovic, "Subspace pursuit for compressive sensing
       signal reconstruction", IEEE Trans. Inf. Theory 55(5), 2009.
    """

    name = "subspace_pursuit"

    def __init__(self, *, max_iter=300, tol=1e-10, stagnation=None, stall=None):
        self.max_iter = max_iter
        self.tol = tol
        self.stagnation = stagnation
        self.stall = stall

    def _setup(self, problem, state):
        X, Y = state["X"], state["Y"]
        start = np.where(np.any(X != 0, axis=0)[None, :], X, problem.rmatvec(Y))
        state["X"] = problem.lstsq_dense(_supports(keep_mask(np.abs(start), problem.sparsity)), Y)
        state["R"] = Y - problem.matvec_sparse(state["X"])
        return state

    def _step(self, problem, state):
        X, Y, R = state["X"], state["Y"], state["R"]
        sparsity = self._sparsity(problem, state)
        B = problem.lstsq_dense(merged_supports(problem.rmatvec(R), X, sparsity.k), Y)
        X_new = problem.lstsq_dense(_supports(keep_mask(np.abs(B), sparsity)), Y)
        R_new = Y - problem.matvec_sparse(X_new)
        worse = colnorm(R_new) >= colnorm(R)
        X_new[:, worse] = X[:, worse]
        R_new[:, worse] = R[:, worse]
        state["X"], state["R"], state["done"] = X_new, R_new, worse
        return state
