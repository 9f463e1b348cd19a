r"""Net-Trim: ℓ1 minimisation under a layer-output tolerance (Aghasi et al. 2017, 2020)."""
from __future__ import annotations

import logging

import numpy as np

from .._validation import check_choice, check_int, check_real, param_error
from ..problems import LayerProblem
from ._nettrim import admm, nettrim_data, solve_cvxpy
from .base import Solver, register

__all__ = ["NetTrim"]

logger = logging.getLogger(__name__)


@register
class NetTrim(Solver):
    r"""Net-Trim: ℓ1 minimisation under a layer-output tolerance (convex).

    Parameters
    ----------
    epsilon : float, default=0.05
        Relative tolerance: ``‖(X̃U − Y)_Ω‖_F ≤ epsilon·‖Y‖_F``.
    method : {"admm", "cvxpy"}, default="admm"
        Solve by the reference's ADMM (exactly sparse iterate) or with cvxpy.
    cascade : "auto" or bool, default="auto"
        Cascade version: the problem's ``X`` holds the pruned network's
        inputs and ``target`` the dense outputs; ``V = X̃W`` on Ωᶜ and
        ``ε² = γ‖(X̃W − Y)_Ω‖²`` (see :func:`~sparserec.solvers._nettrim.nettrim_data`).
        ``"auto"``: the cascade exactly when the problem has a ``target``
        (as :func:`sparserec.pruning.prune_network` builds in sequential mode).
    gamma : float, default=1.1
        Cascade slack ``γ`` (:math:`\epsilon^2 = \gamma\|(\hat XW - Y)_\Omega\|^2`),
        used as given when the problem has no sparsity target.
    rho : float, default=1.0
        Initial ADMM penalty (rebalanced during the first 1000 ADMM iterations).
    max_iter : int, default=3000
        ADMM iterations.
    tol : float, default=1e-4
        ADMM relative residual tolerance.
    bisect_iter : int, default=12
        Bisection steps when the problem has a fractional ``sparsity``
        target: on ``epsilon`` (log scale, in [1e-4, 1]) in the parallel
        version and the first cascade layer, on ``γ`` (log scale, from 1 to
        the ``γ`` at which ``ε = ‖Y‖``) in the cascade with pruned inputs.
        The run whose density is closest to ``1 − sparsity`` is returned, and
        the tolerance it used is recorded in the history (``epsilon``,
        ``gamma``, ``density``); a warning is logged when no tolerance in the
        range comes within 0.05 of the target (the cascade's bound
        constraints can force a minimum density).
    cvxpy_solver : str, default="CLARABEL"
        Name of the cvxpy solver used with ``method="cvxpy"``.

    Notes
    -----
    Solves (Ω = ``{Y > 1e-6}``; a linear layer keeps only the first constraint
    on all entries)

    .. math:: \min_U \|U\|_1 \ \text{s.t.}\ \|(\tilde XU - Y)_\Omega\|_F \le \epsilon,
              \quad (\tilde XU)_{\Omega^c} \le V_{\Omega^c} .

    Needs the inputs (not a Gram-form problem) and a "relu" or "linear"
    activation. It is the one solver of the loop whose step is a convex
    program rather than a projection. ADMM returns the exactly sparse
    soft-thresholded iterate;
    cvxpy returns the conic solution with entries below ``1e-8·max|U|``
    zeroed. The bias is pruned when folded (densities then count it).
    ``sparsity=None`` uses ``epsilon`` as given; a fraction bisects it.

    References
    ----------
    .. [1] A. Aghasi, A. Abdi, N. Nguyen, J. Romberg, "Net-Trim: convex pruning
       of deep neural networks with performance guarantee", NeurIPS 2017.
    .. [2] A. Aghasi, A. Abdi, J. Romberg, "Fast convex pruning of deep neural
       networks", SIAM J. Math. Data Sci. 2(1), 2020.
    """

    name = "nettrim"
    enforces_k = False
    accepts = (LayerProblem,)
    stagnation = None

    def __init__(self, *, epsilon=0.05, method="admm", cascade="auto", gamma=1.1, rho=1.0,
                 max_iter=3000, tol=1e-4, bisect_iter=12, cvxpy_solver="CLARABEL"):
        self.epsilon = epsilon
        self.method = method
        self.cascade = cascade
        self.gamma = gamma
        self.rho = rho
        self.max_iter = max_iter
        self.tol = tol
        self.bisect_iter = bisect_iter
        self.cvxpy_solver = cvxpy_solver

    def _validate_params(self, problem):
        owner = "NetTrim"
        check_real(self.epsilon, "epsilon", owner, low=0.0)
        check_choice(self.method, "method", owner, ("admm", "cvxpy"))
        if not (isinstance(self.cascade, (bool, np.bool_)) or self.cascade == "auto"):
            raise param_error("cascade", owner, "'auto' or a bool", self.cascade,
                              ValueError if isinstance(self.cascade, str) else TypeError)
        check_real(self.gamma, "gamma", owner, low=1.0)
        check_real(self.rho, "rho", owner, low=0.0, low_open=True)
        check_int(self.max_iter, "max_iter", owner, low=1)
        check_real(self.tol, "tol", owner, low=0.0, low_open=True)
        check_int(self.bisect_iter, "bisect_iter", owner, low=1)
        if problem.kind not in (None, "fraction"):
            raise ValueError(f"NetTrim cannot prune {problem!r}: its sparsity follows from its "
                             "tolerance, so it takes sparsity=None or a fraction (bisected), "
                             f"got {problem.sparsity.describe()}.")
        if problem.activation not in ("relu", "linear"):
            raise ValueError(f"NetTrim needs a ReLU (or linear, for the last layer) layer; "
                             f"got activation={problem.activation!r} in {problem!r}.")
        if problem.X is None:
            raise ValueError(f"NetTrim needs the layer inputs X; {problem!r} was built from a "
                             "Gram matrix (LayerProblem.from_gram). Build it with "
                             "LayerProblem(X, W, ...).")

    def _loop_max_iter(self, problem):
        return 1   # one convex program (max_iter is the ADMM's)

    def _loop_tol(self):
        return 0.0

    def _cascade(self, problem):
        return problem.target is not None if self.cascade == "auto" else bool(self.cascade)

    def _solve(self, problem, epsilon, gamma, warm=None):
        data = nettrim_data(problem, epsilon, cascade=self._cascade(problem), gamma=gamma)
        if self.method == "admm":
            return admm(data, rho=float(self.rho), max_iter=int(self.max_iter),
                        tol=float(self.tol), state=warm) + (data,)
        U, info = solve_cvxpy(data, solver=self.cvxpy_solver)
        U = np.where(np.abs(U) > 1e-8 * max(np.abs(U).max(), 1e-300), U, 0.0)
        return U, info, data

    def _prune(self, problem):
        """The pruned block and the tolerance used: ``(U, {"epsilon", "gamma", "density"})``."""
        eps, gamma = float(self.epsilon), float(self.gamma)
        if problem.kind is None:
            U, _, data = self._solve(problem, eps, gamma)
            return U, {"epsilon": data.epsilon, "gamma": gamma}
        target = 1.0 - problem.fraction
        probe = nettrim_data(problem, eps, cascade=self._cascade(problem), gamma=1.0)
        if probe.gamma_driven:   # cascade: ε = √γ·e0; bisect γ in [1, (10‖Y‖/e0)²]
            ynorm = float(np.linalg.norm(problem.targets()))
            lo, hi = 0.0, 2.0 * np.log(10.0 * max(ynorm, probe.e0) / probe.e0)
        else:                    # relative ε in [1e-4, 1]
            lo, hi = np.log(1e-4), 0.0
        best, warm = None, None
        for _ in range(int(self.bisect_iter)):
            mid = 0.5 * (lo + hi)
            value = float(np.exp(mid))
            U, info, data = self._solve(problem, eps if probe.gamma_driven else value,
                                        value if probe.gamma_driven else gamma, warm)
            warm = info.get("state")
            dens = np.count_nonzero(U) / U.size
            if best is None or abs(dens - target) < abs(best[1]["density"] - target):
                best = (U, {"epsilon": data.epsilon,
                            "gamma": value if probe.gamma_driven else gamma, "density": dens})
            if dens > target:
                lo = mid
            else:
                hi = mid
        if abs(best[1]["density"] - target) > 0.05:
            logger.warning("NetTrim: the density closest to the target density %.3f in the "
                           "tolerance range is %.3f (the program's constraints allow no "
                           "sparser/denser solution there); returning it.", target,
                           best[1]["density"])
        return best

    def _setup(self, problem, state):
        state["extra"] = {}
        return state

    def _step(self, problem, state):
        U, used = self._prune(problem)
        state["X"] = U
        state["extra"].update(used)
        state["done"][:] = True
        return state
