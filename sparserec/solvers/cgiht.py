"""Conjugate Gradient Iterative Hard Thresholding, restarted (Blanchard, Tanner & Wei 2015)."""
from __future__ import annotations

import numpy as np

from ..kernels import topk_mask
from ..projection import Projection
from .base import Solver, register

__all__ = ["CGIHT"]


def _colsq(M):
    return np.einsum("ij,ij->j", M, M)


@register
class CGIHT(Solver):
    r"""Conjugate Gradient Iterative Hard Thresholding, restarted variant.

    Between two changes of the support the iteration is the conjugate
    gradient method on the least-squares problem restricted to the support;
    whenever the support changes the search direction restarts from the
    gradient. Each iteration costs one product with ``Aᵀ`` and one or two
    products with the k columns of the support, like NIHT.

    Parameters
    ----------
    max_iter : int, default=500
        Maximum number of iterations (per signal; GAGA's cap).
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
    With :math:`r_l = A^\top(y - Ax_l)`, :math:`T_l = \mathrm{supp}(x_l)` and
    :math:`P_T` the restriction to :math:`T` (Algorithm 2 of [1]_):

    .. math::
        \beta_l = \begin{cases} 0 & T_l \ne T_{l-1} \text{ (restart)}\\
                  \|P_{T_l} r_l\|^2 / \|P_{T_l} r_{l-1}\|^2 & \text{otherwise}
                  \end{cases},\qquad
        p_l = r_l + \beta_l\, p_{l-1},

    .. math::
        \alpha_l = \frac{\|P_{T_l} r_l\|^2}{\|A P_{T_l} p_l\|^2},\qquad
        x_{l+1} = T_k(x_l + \alpha_l\, p_l).

    On a fixed support the restricted iterates are exactly conjugate
    gradients on :math:`A_T^\top A_T x_T = A_T^\top y`, so this
    Fletcher–Reeves :math:`\beta` equals the orthogonalising
    :math:`-\langle AP_Tr_l, AP_Tp_{l-1}\rangle/\|AP_Tp_{l-1}\|^2` of the
    unrestarted Algorithm 1; it is the form GAGA's CUDA code uses, with its
    safeguard (:math:`\beta = 0` when the ratio exceeds 1000). The first
    iteration from ``x = 0`` takes :math:`T_0 = \mathrm{supp}\,T_k(A^\top y)`,
    which makes the first step NIHT's (scale-invariant); GAGA starts from
    :math:`T_k(A^\top y)` itself. When the support does not change, the
    residual is updated as :math:`y - Ax_{l+1} = (y - Ax_l) - \alpha_l A P_T p_l`
    (no extra product). The objective is not monotone.

    References
    ----------
    .. [1] J. D. Blanchard, J. Tanner and K. Wei, "CGIHT: conjugate gradient
       iterative hard thresholding for compressed sensing and matrix
       completion", Information and Inference 4(4), 2015.
    .. [2] J. D. Blanchard and J. Tanner, "Performance comparisons of greedy
       algorithms in compressed sensing", Numer. Linear Algebra Appl. 22(2),
       2015.

    Examples
    --------
    >>> from sparserec import solvers
    >>> from sparserec.ensembles import make_problem
    >>> problem = make_problem(128, 256, 10, seed=0)
    >>> res = solvers.get("cgiht").solve(problem)
    >>> res.status, bool(res.rel_error < 1e-8)
    ('converged', True)
    """

    name = "cgiht"
    monotone = False
    beta_cap = 1000.0  # GAGA's safeguard: restart when ‖P_T r_l‖² ≥ 1000 ‖P_T r_{l-1}‖²

    def __init__(self, *, max_iter=500, tol=1e-10, stagnation=None, stall=None):
        self.max_iter = max_iter
        self.tol = tol
        self.stagnation = stagnation
        self.stall = stall

    _projection = Projection("topk")

    def _setup(self, problem, state):
        T = problem.n_signals
        state["Pdir"] = np.zeros((problem.n, T), dtype=problem.dtype)  # p_{l-1}
        state["rr"] = np.zeros(T, dtype=problem.dtype)                  # ‖P_T r_{l-1}‖²
        state["restart"] = np.ones(T, dtype=bool)                       # T_l ≠ T_{l-1}
        return state

    def _step(self, problem, state):
        X, R, Y = state["X"], state["R"], state["Y"]
        sparsity = self._sparsity(problem, state)
        G = problem.rmatvec(R)                           # r_l (the negative gradient)
        mask = X != 0
        empty = ~mask.any(axis=0)
        if np.any(empty):                                # x = 0: T = supp T_k(Aᵀy)
            mask[:, empty] = topk_mask(G[:, empty], sparsity.k[empty])
        GT = np.where(mask, G, 0)
        num = _colsq(GT)
        prev = state["rr"]
        fresh = state["restart"] | empty | ~(num < self.beta_cap * prev)
        beta = np.where(fresh, 0.0, num / np.where(fresh, 1.0, prev)).astype(problem.dtype)
        Pdir = G + beta * state["Pdir"]
        APT = problem.matvec_sparse(np.where(mask, Pdir, 0))
        den = _colsq(APT)
        ok = den > 0
        alpha = np.where(ok, num / np.where(ok, den, 1.0), 0.0).astype(problem.dtype)

        X_new, _ = self._projection(X + alpha * Pdir, sparsity)
        new_mask = X_new != 0
        # The support "changed" when the kept set differs from T_l (a coefficient
        # that lands exactly on 0 counts as a change: the next T is then recomputed).
        changed = np.any(new_mask != mask, axis=0)
        R_new = R - alpha * APT
        if np.any(changed):
            c = np.flatnonzero(changed)
            R_new[:, c] = Y[:, c] - problem.matvec_sparse(X_new[:, c])
        state["X"], state["R"] = X_new, R_new
        state["Pdir"], state["rr"], state["restart"] = Pdir, num, changed
        return state
