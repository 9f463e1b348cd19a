"""CoSaMP (Needell & Tropp 2009)."""
from __future__ import annotations


from ..projection import Projection, merged_supports
from .base import Solver, register

__all__ = ["CoSaMP"]


@register
class CoSaMP(Solver):
    r"""Compressive Sampling Matching Pursuit.

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
    With :math:`\Gamma = \mathrm{supp}(x)` and the proxy :math:`p = A^\top(y - Ax)`
    (zeroed on Γ, as in cr-sparse):

    .. math::  T = \Gamma \cup \mathrm{supp}\,T_{2k}(p),\quad
               b = \arg\min_{\mathrm{supp}(u)\subseteq T}\|Au - y\|,\quad
               x^{+} = T_k(b).

    When ``|T| > m`` the least-squares step returns the minimum-norm solution.

    References
    ----------
    .. [1] D. Needell and J. A. Tropp, "CoSaMP: Iterative signal recovery from
       incomplete and inaccurate samples", Appl. Comput. Harmon. Anal. 26(3), 2009.
    """

    name = "cosamp"

    def __init__(self, *, max_iter=300, tol=1e-10, stagnation=None, stall=None):
        self.max_iter = max_iter
        self.tol = tol
        self.stagnation = stagnation
        self.stall = stall

    def _step(self, problem, state):
        X, Y = state["X"], state["Y"]
        sparsity = self._sparsity(problem, state)
        T_sets = merged_supports(problem.rmatvec(state["R"]), X, 2 * sparsity.k)
        B = problem.lstsq_dense(T_sets, Y)
        X_new, _ = Projection("topk")(B, sparsity)
        state["X"] = X_new
        state["R"] = Y - problem.matvec_sparse(X_new)
        return state
