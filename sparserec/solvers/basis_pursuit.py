"""Basis pursuit: ℓ1 minimisation (equality, noise-aware, nonnegative), exact and fast."""
from __future__ import annotations

import logging
import threading
import warnings
from collections import OrderedDict

import cvxpy as cp
import numpy as np

from .._validation import check_choice, check_real, param_error
from ..kernels.homotopy import l1_homotopy
from ..problems import check_operator_output
from .base import Solver, register

__all__ = ["BasisPursuit", "FORMS", "METHODS", "build_program"]

logger = logging.getLogger(__name__)

FORMS = ("equality", "noise", "nonnegative")
METHODS = ("homotopy", "cvxpy")

#: Default options per cvxpy solver. Clarabel's own defaults (1e-8 on the gap
#: and on feasibility) are stated explicitly: tighter values do not improve
#: the iterate (the KKT solve saturates near 1e-9 relative accuracy on these
#: dense LPs) and only turn "optimal" into "optimal_inaccurate".
DEFAULT_SOLVER_OPTIONS = {
    "CLARABEL": {"tol_gap_abs": 1e-8, "tol_gap_rel": 1e-8, "tol_feas": 1e-8, "max_iter": 200},
}

#: Relative threshold below which entries of the solution are set to exactly 0.
#: Interior-point off-support entries measured up to ~6e-9 of the largest entry
#: (20 seeds, 128 x 256, k = 10); 1e-7 clears them with margin, while zeroing a
#: true entry that small changes the relative error by at most 1e-7.
ZERO_THRESHOLD = 1e-7

#: Largest relative least-squares residual of a y counted as in the range of A
#: (equality and nonnegative forms; see ``BasisPursuit._check_in_range``).
RANGE_TOL = 1e-6

#: Largest n for which a LinearOperator problem is densified (n columns of A).
MAX_DENSIFY = 4096

_CACHE_SIZE = 8
_cache = OrderedDict()
_cache_lock = threading.Lock()


class _Program:
    """One compiled cvxpy problem with its Parameters, reused across solves."""

    __slots__ = ("problem", "x", "A", "y", "epsilon", "lock", "primed")


def build_program(form, m, n):
    """Build the DPP cvxpy problem of one basis-pursuit ``form`` for an m × n ``A``.

    Parameters
    ----------
    form : {"equality", "noise", "nonnegative"}
    m, n : int

    Returns
    -------
    program
        An object with attributes ``problem`` (the ``cvxpy.Problem``), ``x``
        (the Variable), ``A``, ``y`` and ``epsilon`` (Parameters; ``epsilon``
        is None except for ``form="noise"``).
    """
    prog = _Program()
    prog.x = x = cp.Variable(n, name="x")
    prog.A = A = cp.Parameter((m, n), name="A")
    prog.y = y = cp.Parameter(m, name="y")
    prog.epsilon = None
    if form == "equality":
        problem = cp.Problem(cp.Minimize(cp.norm1(x)), [A @ x == y])
    elif form == "noise":
        prog.epsilon = eps = cp.Parameter(nonneg=True, name="epsilon")
        problem = cp.Problem(cp.Minimize(cp.norm1(x)), [cp.norm(A @ x - y, 2) <= eps])
    elif form == "nonnegative":
        problem = cp.Problem(cp.Minimize(cp.sum(x)), [A @ x == y, x >= 0])
    else:  # pragma: no cover - validated by the solver
        raise ValueError(f"unknown form {form!r}")
    # DPP: re-solving with new parameter values skips canonicalisation.
    assert problem.is_dcp(dpp=True), "basis-pursuit program must be DPP"
    prog.problem = problem
    prog.lock = threading.Lock()
    prog.primed = set()
    return prog


def _program(form, m, n):
    """The cached program for ``(form, m, n)`` (built on first use; LRU of 8)."""
    key = (form, m, n)
    with _cache_lock:
        prog = _cache.get(key)
        if prog is None:
            prog = _cache[key] = build_program(form, m, n)
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
        else:
            _cache.move_to_end(key)
    return prog


@register
class BasisPursuit(Solver):
    r"""Basis pursuit: the ℓ1-minimal solution consistent with the measurements.

    Parameters
    ----------
    form : {"equality", "noise", "nonnegative"}, default="equality"
        Which program to solve (see Notes).
    method : {"homotopy", "cvxpy"}, default="homotopy"
        ``"homotopy"``: the ℓ1 homotopy (:func:`sparserec.kernels.l1_homotopy`),
        exact and certified column by column, with cvxpy only for the columns
        whose certificate fails (counted in ``history["fallback"]``); the
        equality and nonnegative forms. ``"cvxpy"``: the conic reference for
        every column (and the only method for ``form="noise"``).
    epsilon : float or None, default=None
        Radius of the noise ball of ``form="noise"`` (must then be positive).
        None derives it from the problem's ``noise_std`` σ as
        :math:`\sigma\sqrt{m + 2\sqrt{2m}}` (the mean plus two standard
        deviations of :math:`\|e\|_2^2 \sim \sigma^2\chi^2_m`, as in [2]_); a
        ValueError is raised when σ = 0. Must be None for the other forms.
    cvxpy_solver : str, default="CLARABEL"
        Name of an installed cvxpy solver. ``form="noise"`` is a second-order
        cone program and needs a conic solver (Clarabel, SCS, ...).
    solver_options : dict or None, default=None
        Options passed to ``cvxpy.Problem.solve``, over the defaults
        (Clarabel: ``tol_gap_abs = tol_gap_rel = tol_feas = 1e-8``).

    Notes
    -----
    The three programs are

    .. math::
        \min_x \|x\|_1 \ \text{s.t.}\ Ax = y, \qquad
        \min_x \|x\|_1 \ \text{s.t.}\ \|Ax - y\|_2 \le \epsilon, \qquad
        \min_x \mathbf 1^\top x \ \text{s.t.}\ Ax = y,\ x \ge 0 .

    **Homotopy (default for the equality and nonnegative forms).** The
    Lasso path :math:`x(\lambda)` is followed from :math:`\lambda = \|A^\top y\|_\infty`
    down to 0, one active-set event at a time; at λ = 0 it is the ℓ1
    solution. Each column is then **certified**: with ``S`` its support and
    ``s`` its signs, ``A x = y``, ``A_S`` of full column rank and a dual ``w``
    with :math:`A_S^\top w = s`, :math:`\|A_{S^c}^\top w\|_\infty < 1 - 10^{-9}`
    prove that ``x`` is the *unique* minimiser (the LP's KKT conditions), so
    the answer is exact, not an approximation. A column whose certificate
    fails (a degenerate path, a rank-deficient ``A_S``) is solved by cvxpy;
    ``history["fallback"]`` counts those columns and ``history["certified"]``
    flags the certified ones. Cost: ``O(mn²)`` once per matrix for
    ``G = AᵀA``, then ``O(n|S|)`` per event (about ``k`` events when the
    k-sparse solution is the ℓ1 solution, up to about ``2m`` otherwise).

    **cvxpy (the reference).** Each program is built once per ``(form, m, n)`` as a
    DPP-compliant cvxpy problem ``(form, m, n)`` as a DPP-compliant cvxpy problem
    whose ``A``, ``y`` and ``ε`` are Parameters, kept in a small module-level
    cache (thread-safe: one lock per program), and re-solved for every column
    and every call. Each program is primed once per cvxpy solver with a zero
    instance, because cvxpy's first solve of a problem (which compiles it)
    hands the solver differently ordered data than later re-solves; priming
    makes every real solve take the same path, so results are bitwise
    reproducible.

    The run is one iteration of the base loop that solves every column.
    With cvxpy, entries with :math:`|x_i| \le 10^{-7}\max_j |x_j|` are set to exactly 0
    (interior-point solutions are only approximately sparse: off-support
    entries sit at up to ~6e-9 relative to the largest one), and the
    nonnegative form clips the remaining negative roundoff to 0. The
    returned ``support`` is therefore the set of entries above that
    threshold. ``x0`` is accepted but not used (Clarabel has no warm start).

    A ``LinearOperator`` problem is densified with ``n`` operator
    applications when ``n <= 4096``; larger operators raise a TypeError.
    cvxpy statuses: ``"optimal"`` is accepted; ``"optimal_inaccurate"`` is
    accepted with a logged warning; anything else (infeasible, unbounded,
    solver failure) raises a RuntimeError naming the status, since no
    meaningful iterate exists.

    References
    ----------
    .. [1] S. S. Chen, D. L. Donoho and M. A. Saunders, "Atomic decomposition
       by basis pursuit", SIAM J. Sci. Comput. 20(1), 1998.
    .. [2] E. J. Candès, J. K. Romberg and T. Tao, "Stable signal recovery from
       incomplete and inaccurate measurements", Comm. Pure Appl. Math. 59(8),
       2006.
    .. [3] D. L. Donoho and J. Tanner, "Sparse nonnegative solution of
       underdetermined linear equations by linear programming", PNAS 102(27),
       2005.
    .. [4] P. J. Goulart and Y. Chen, "Clarabel: an interior-point solver for
       conic programs with quadratic objectives", arXiv:2405.12762, 2024.
    .. [5] M. R. Osborne, B. Presnell and B. A. Turlach, "A new approach to
       variable selection in least squares problems", IMA J. Numer. Anal.
       20(3), 2000.
    .. [6] D. L. Donoho and Y. Tsaig, "Fast solution of ℓ1-norm minimization
       problems when the solution may be sparse", IEEE Trans. Inf. Theory
       54(11), 2008.

    Examples
    --------
    >>> from sparserec import solvers
    >>> from sparserec.ensembles import make_problem
    >>> problem = make_problem(128, 256, 10, seed=0)
    >>> res = solvers.get("basis_pursuit").solve(problem)
    >>> res.status, bool(res.rel_error < 1e-5)
    ('converged', True)
    """

    name = "basis_pursuit"
    enforces_k = False   # basis pursuit has no sparsity level k
    monotone = False
    max_iter = 1         # non-iterative: one step solves every column
    tol = 0.0            # no relative-change tests
    stagnation = None

    def __init__(self, *, form="equality", method="homotopy", epsilon=None,
                 cvxpy_solver="CLARABEL", solver_options=None):
        self.form = form
        self.method = method
        self.epsilon = epsilon
        self.cvxpy_solver = cvxpy_solver
        self.solver_options = solver_options

    # ------------------------------------------------------------ params
    def _validate_params(self, problem):
        owner = type(self).__name__
        if not isinstance(self.form, str) or self.form not in FORMS:
            raise param_error("form", owner, "one of " + ", ".join(map(repr, FORMS)),
                              self.form)
        check_choice(self.method, "method", owner, METHODS)
        if self.form == "noise":
            if self.epsilon is None:
                if problem.noise_std == 0:
                    raise ValueError(
                        "The 'epsilon' parameter of BasisPursuit must be a positive real "
                        "number when form='noise' and the problem has noise_std=0 (no "
                        "default radius can be derived); got None.")
            else:
                check_real(self.epsilon, "epsilon", owner, low=0.0, low_open=True,
                           expected="None or a positive real number")
        elif self.epsilon is not None:
            raise param_error("epsilon", owner, f"None when form={self.form!r} (only "
                              "form='noise' uses it)", self.epsilon)
        installed = cp.installed_solvers()
        if not isinstance(self.cvxpy_solver, str) or self.cvxpy_solver.upper() not in installed:
            raise param_error("cvxpy_solver", owner, "the name of an installed cvxpy solver ("
                              + ", ".join(installed) + ")", self.cvxpy_solver)
        if self.solver_options is not None and not isinstance(self.solver_options, dict):
            raise param_error("solver_options", owner, "None or a dict", self.solver_options,
                              TypeError)
        if problem.is_operator and problem.n > MAX_DENSIFY:
            raise TypeError(f"BasisPursuit needs an explicit matrix A (cvxpy takes A as a "
                            f"dense Parameter); got a LinearOperator with n={problem.n} "
                            f"columns, above the densification limit n <= {MAX_DENSIFY}.")

    def _scaled_params(self, scaling):
        params = super()._scaled_params(scaling)  # epsilon bounds ‖Ax − y‖: it scales like r
        if params["epsilon"] is not None:
            params["epsilon"] = float(np.ldexp(float(params["epsilon"]), -scaling.r))
        return params

    def _epsilon(self, problem):
        if self.epsilon is not None:
            return float(self.epsilon)
        m = problem.m
        return problem.noise_std * np.sqrt(m + 2.0 * np.sqrt(2.0 * m))

    # ------------------------------------------------------------ hooks
    def _setup(self, problem, state):
        if problem.is_operator:
            A = problem.columns(np.arange(problem.n))
            check_operator_output(A, "matvec")
        else:
            A = problem.A
        A = np.asarray(A, dtype=np.float64)
        if self.form != "noise":
            self._check_in_range(A, np.asarray(state["Y"], dtype=np.float64))
        # wrapped in dicts so that the base loop does not slice them by column
        state["bp"] = {"A": A, "certified": np.zeros(problem.n_signals, dtype=bool)}
        state["extra"] = {}
        return state

    def _check_in_range(self, A, Y):
        """Refuse a y outside the range of A: the constraint Ax = y has no solution.

        The least-squares residual is backward stable, so a consistent y leaves
        a relative residual near machine precision (even for ill-conditioned
        A); 1e-6 separates that from measurement noise, which equality-form
        basis pursuit cannot fit (and conic solvers then fail on, e.g. with
        status 'user_limit', rather than certify infeasibility).
        """
        Z = np.linalg.lstsq(A, Y, rcond=None)[0]
        rel = np.linalg.norm(Y - A @ Z, axis=0) / np.maximum(np.linalg.norm(Y, axis=0),
                                                             np.finfo(np.float64).tiny)
        if np.any(rel > RANGE_TOL):
            j = int(np.argmax(rel))
            raise ValueError(f"BasisPursuit (form={self.form!r}) cannot solve this Problem: "
                             f"y is not in the range of A (signal {j}: relative least-squares "
                             f"residual {rel[j]:.2g} > {RANGE_TOL:g}), so no x has Ax = y. For "
                             "noisy measurements use form='noise' with an epsilon.")

    def _step(self, problem, state):
        X, R, Y = state["X"], state["R"], state["Y"]
        A = state["bp"]["A"]
        cols = np.arange(X.shape[1])
        state["extra"].setdefault("fallback", 0)
        if self.method == "homotopy" and self.form != "noise":
            Xh, certified, _ = l1_homotopy(A, np.asarray(Y, dtype=np.float64),
                                           nonneg=self.form == "nonnegative")
            X[:, certified] = Xh[:, certified]
            state["bp"]["certified"][state["j"][certified]] = True
            cols = np.flatnonzero(~certified)
            state["extra"]["fallback"] += int(cols.size)
        if cols.size:
            self._cvxpy(problem, A, X, Y, cols)
        R[...] = Y - problem.matvec_sparse(X)
        state["done"][:] = True
        return state

    def _finalize(self, problem, state):
        state["extra"]["certified"] = state["bp"]["certified"]
        return state

    def _cvxpy(self, problem, A, X, Y, cols):
        solver = self.cvxpy_solver.upper()
        opts = dict(DEFAULT_SOLVER_OPTIONS.get(solver, {}))
        opts.update(self.solver_options or {})
        prog = _program(self.form, problem.m, problem.n)
        eps = self._epsilon(problem) if self.form == "noise" else None
        with prog.lock:
            if solver not in prog.primed:  # see Notes: first solve takes another path
                prog.A.value = np.zeros(A.shape)
                prog.y.value = np.zeros(A.shape[0])
                if prog.epsilon is not None:
                    prog.epsilon.value = 1.0
                self._solve(cp, prog, solver, opts, None)
                prog.primed.add(solver)
            prog.A.value = A
            if prog.epsilon is not None:
                prog.epsilon.value = eps
            for j in cols:
                prog.y.value = np.asarray(Y[:, j], dtype=np.float64)
                x = self._solve(cp, prog, solver, opts, j)
                x[np.abs(x) <= ZERO_THRESHOLD * np.abs(x).max()] = 0.0
                if self.form == "nonnegative":
                    np.maximum(x, 0.0, out=x)
                X[:, j] = x

    def _solve(self, cp, prog, solver, opts, column):
        try:
            with warnings.catch_warnings():  # reported through logging below instead
                warnings.filterwarnings("ignore", message="Solution may be inaccurate",
                                        category=UserWarning)
                prog.problem.solve(solver=solver, **opts)
        except cp.error.SolverError as exc:
            raise RuntimeError(f"BasisPursuit (form={self.form!r}) failed on signal "
                               f"{column}: cvxpy solver {solver} raised: {exc}") from exc
        status = prog.problem.status
        if status == cp.OPTIMAL_INACCURATE:
            if column is not None:
                logger.warning("BasisPursuit (form=%r, solver %s): signal %s solved to "
                               "reduced accuracy (cvxpy status 'optimal_inaccurate').",
                               self.form, solver, column)
        elif status != cp.OPTIMAL:
            if status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):  # the data's fault
                hint = {"equality": "y is not in the range of A",
                        "noise": "no x has ||Ax - y|| <= epsilon",
                        "nonnegative": "y is not in the cone {Ax : x >= 0}"}[self.form]
                raise ValueError(f"BasisPursuit (form={self.form!r}) cannot solve signal "
                                 f"{column} of this Problem: {hint} (cvxpy solver {solver} "
                                 f"returned status {status!r}).")
            raise RuntimeError(f"BasisPursuit (form={self.form!r}) failed on signal {column}: "
                               f"cvxpy solver {solver} returned status {status!r}.")
        return np.array(prog.x.value, dtype=np.float64)
