r"""Iterative Optimal Brain Surgeon: Topk-I-OBS and I-OBS (Wu et al., NeurIPS 2024).

Both are the thresholding loop of IHT with a Newton step: the target is
:math:`z = x - \eta\hat H^{-1}\nabla f(x)` for a curvature :math:`\hat H`
(:mod:`sparserec.curvature`). Topk-I-OBS keeps the top-k of ``z``; I-OBS
projects ``z`` in the :math:`\hat H`-norm: a curvature-aware selection rule
(``"saliency"``, ``"greedy"``, ``"exact"`` or ``"topk"``) followed by the OBS
correction on the kept set, a solve with :math:`\hat H_{SS}` only.
"""
from __future__ import annotations

import time

import numpy as np

from .._validation import check_choice, check_real, param_error
from ..curvature import CURVATURES, Curvature, Damped, ExactGram, make_curvature
from ..objectives import ObjectiveProblem
from ..problems import Problem
from ..projection import SELECTIONS, Projection
from .base import Solver, check_step, register

__all__ = ["TopkIOBS", "IOBS", "obs_correction"]


def obs_correction(curvature, S, x, g, step=1.0, *, key=0, g_S=None):
    r"""Values on the kept set ``S`` after the OBS correction (DESIGN.md).

    .. math::  z_S = x_S - \hat H_{SS}^{-1}\,(\eta\, g_S - \hat H_{SQ} x_Q),\qquad z_Q = 0,

    the minimiser of the quadratic model
    :math:`g^\top(z - x) + \frac{1}{2\eta}(z-x)^\top\hat H(z-x)` over vectors
    supported on ``S``. Only :math:`\hat H_{SS}` must be invertible; with
    :math:`\hat H = A^\top A`, ``g = Aᵀ(Ax − y)`` and ``η = 1`` it is the
    least-squares solution on ``S``.

    Parameters
    ----------
    curvature : Curvature
    S : ndarray of int of shape (k,)
        Kept set, ascending.
    x, g : ndarray of shape (n,)
        Current point and gradient (``g`` may be None when ``g_S`` is given).
    step : float
    key : hashable
        Cache slot of the restricted Cholesky factor.
    g_S : ndarray of shape (k,), optional
        The gradient on ``S`` only (then ``g`` is not used).

    Returns
    -------
    u : ndarray of shape (k,)
    """
    S = np.asarray(S, dtype=np.intp)
    inS = np.zeros(x.shape[0], dtype=bool)
    inS[S] = True
    rest = np.flatnonzero((x != 0) & ~inS)
    rhs = step * (np.asarray(g, dtype=np.float64)[S] if g_S is None
                  else np.asarray(g_S, dtype=np.float64))
    if rest.size:
        rhs = rhs - curvature.block(S, rest) @ x[rest]
    return x[S] - curvature.solve_restricted(S, rhs, key=key)


class _NewtonThresholding(Solver):
    """Shared loop of Topk-I-OBS and I-OBS (least-squares and objective problems)."""

    accepts = (Problem, ObjectiveProblem)
    max_backtrack = 30
    _correct = False

    def _validate_params(self, problem):
        super()._validate_params(problem)
        owner = type(self).__name__
        if self.step is not None:
            check_step(self.step, owner, allow_normalized=False)
        if self.damping is not None:
            check_real(self.damping, "damping", owner, low=0.0, low_open=True,
                       expected="None or a positive real number (percdamp)")
        if isinstance(self.curvature, str):
            check_choice(self.curvature, "curvature", owner, tuple(CURVATURES))
        elif not isinstance(self.curvature, Curvature):
            raise param_error("curvature", owner, "a Curvature or one of "
                              + ", ".join(repr(c) for c in CURVATURES), self.curvature, TypeError)
        check_choice(self._selection(), "selection", owner, tuple(SELECTIONS))

    def _selection(self):
        return "topk"

    def _eta(self):
        return 1.0 if self.step is None else float(self.step)

    def _make_curvature(self, problem):
        owner = type(self).__name__
        curv = make_curvature(self.curvature, problem, self.damping, owner=owner)
        try:
            curv.check_invertible()
        except ValueError as exc:
            raise ValueError(f"{owner} needs Ĥ⁻¹ for its Newton step: {exc}") from None
        return curv

    # ---------------------------------------------------- least-squares path
    def _setup(self, problem, state):
        state["curv"] = self._make_curvature(problem)
        state["col"] = np.arange(problem.n_signals)
        return state

    def _step(self, problem, state):
        X, R, curv = state["X"], state["R"], state["curv"]
        eta = self._eta()
        Z = X - eta * curv.newton_ls(problem, R)
        refit = None
        if self._correct:
            cols = state["col"]
            refit_curv = _refit_curvature(curv)
            Xd = X.astype(np.float64)

            def refit(idx, _Z):
                out = np.empty(idx.shape, dtype=np.float64)
                for t in range(idx.shape[1]):
                    S = idx[:, t]
                    out[:, t] = _ls_corrected(problem, refit_curv, curv, S, Xd[:, t],
                                              state["Y"][:, t], R[:, t], eta, int(cols[t]))
                return out
        X_new, _ = Projection(self._selection(), refit=refit)(Z, problem.k, curv)
        X_new = X_new.astype(problem.dtype, copy=False)
        state["X"] = X_new
        state["R"] = state["Y"] - problem.matvec_sparse(X_new)
        return state

    # ------------------------------------------------------- objective path
    def solve(self, problem, *, x0=None, callback=None):
        if not isinstance(problem, ObjectiveProblem):
            return super().solve(problem, x0=x0, callback=callback)
        self._check_problem(problem)
        self._validate_params(problem)
        if callback is not None and not callable(callback):
            raise TypeError(f"The 'callback' argument of {type(self).__name__}.solve must "
                            f"be callable or None; got {type(callback).__name__}.")
        if x0 is None:
            x = np.zeros(problem.n)
        else:
            x = np.array(x0, dtype=np.float64).reshape(-1)
            if x.shape != (problem.n,):
                raise ValueError(f"The 'x0' argument of {type(self).__name__}.solve must have "
                                 f"shape ({problem.n},); got {np.shape(x0)}.")
        return self._run_objective(problem, x, callback)

    def _objective_curvature(self, problem, x, cache):
        obj = problem.objective
        if obj.quadratic and "curv" in cache:
            return cache["curv"]
        if isinstance(self.curvature, Curvature) or self.curvature != "exact":
            curv = self._make_curvature(problem) if "fixed" not in cache else cache["fixed"]
            cache["fixed"] = curv
        else:
            base = ExactGram.from_gram(obj.hessian(x))
            curv = base if self.damping is None else Damped(base, self.damping)
            try:
                curv.check_invertible()
            except ValueError as exc:
                raise ValueError(f"{type(self).__name__} needs Ĥ⁻¹ for its Newton step: "
                                 f"{exc}") from None
        cache["curv"] = curv
        return curv

    def _run_objective(self, problem, x, callback):
        obj = problem.objective
        k = problem.k
        tol = float(self.tol)
        eta0 = self._eta()
        t_start = time.perf_counter()
        f = obj.value(x)
        cache = {}
        hist = {"objective": [], "residual_norm": [], "support_changes": [], "time": []}
        status, reason, n_iter = "max_iter", "max_iter", 0
        unchanged = 0
        elapsed = time.perf_counter() - t_start
        for it in range(1, int(self.max_iter) + 1):
            t0 = time.perf_counter()
            g = obj.gradient(x)
            curv = self._objective_curvature(problem, x, cache)
            refit_curv = _refit_curvature(curv)
            newton = curv.solve(g)
            eta = eta0
            accepted = False
            for _ in range(self.max_backtrack):  # monotonicity safeguard
                z = x - eta * newton
                S = SELECTIONS[self._selection()](z[:, None], k, curv)[:, 0]
                u = _corrected(refit_curv, curv, S, x, g, eta, 0) if self._correct else z[S]
                x_new = np.zeros_like(x)
                x_new[S] = u
                f_new = obj.value(x_new)
                if np.isfinite(f_new) and f_new <= f:
                    accepted = True
                    break
                eta *= 0.5
            if not accepted:
                x_new, f_new = x, f
            elapsed += time.perf_counter() - t0
            changes = int(np.count_nonzero((x != 0) != (x_new != 0)))
            dx = np.linalg.norm(x_new - x)
            x, f = x_new, f_new
            n_iter = it
            hist["objective"].append([f])
            hist["residual_norm"].append([float(np.linalg.norm(g))])
            hist["support_changes"].append([changes])
            hist["time"].append(elapsed)
            stop = None
            if not accepted:
                stop = "solver"
            elif tol > 0 and dx <= tol * np.linalg.norm(x):
                stop = "tol"
            unchanged = unchanged + 1 if changes == 0 else 0
            if stop is None and self.stagnation is not None and unchanged >= self.stagnation:
                stop = "stagnation"
            if callback is not None and callback({"iteration": it, "x": x.copy(), "objective": f}):
                stop = stop or "callback"
            if stop is not None:
                status, reason = "converged", stop
                break
        return self._make_result(problem, x[:, None], np.array([n_iter]), np.array([status]),
                                 np.array([reason]), hist, elapsed)


def _refit_curvature(curv):
    """The curvature used by the correction: the undamped one when it has one."""
    return curv.base if isinstance(curv, Damped) else curv


def _ls_corrected(problem, refit_curv, curv, S, x, y, r, eta, key):
    r"""OBS correction for least squares in data space (one gather of ``A_S``).

    For a Gram curvature of ``problem`` (damped or not; damping does not touch
    :math:`\hat H_{SQ}`), :math:`\eta g_S - \hat H_{SQ}x_Q = -A_S^\top(\eta r + y - r - A_S x_S)`
    since :math:`A x = y - r`. Other curvatures use :func:`obs_correction`.
    """
    base = refit_curv.base if isinstance(refit_curv, Damped) else refit_curv
    if not (isinstance(base, ExactGram) and getattr(base, "problem", None) is problem
            and base.m is not None):
        g = -problem.rmatvec(r[:, None])[:, 0].astype(np.float64)
        return _corrected(refit_curv, curv, S, x, g, eta, key)
    AS = problem.columns(S).astype(np.float64, copy=False)
    rhs = -(AS.T @ (eta * r + (y - r) - AS @ x[S]))
    if refit_curv is not curv:
        try:
            return x[S] - refit_curv.solve_restricted(S, rhs, key=("u", key))
        except ValueError:
            pass
    return x[S] - curv.solve_restricted(S, rhs, key=("d", key))


def _corrected(refit_curv, curv, S, x, g, eta, key, g_S=None):
    """OBS correction with the undamped ``Ĥ_SS``; the damped one if that is singular."""
    if refit_curv is not curv:
        try:
            return obs_correction(refit_curv, S, x, g, eta, key=("u", key), g_S=g_S)
        except ValueError:
            pass
    return obs_correction(curv, S, x, g, eta, key=("d", key), g_S=g_S)


@register
class TopkIOBS(_NewtonThresholding):
    r"""Topk-I-OBS: hard thresholding of a (damped) Newton step.

    Parameters
    ----------
    curvature : str or Curvature, default="exact"
        ``"exact"`` (``AᵀA``, or the Hessian for an ObjectiveProblem),
        ``"diagonal"``, ``"woodfisher"``, ``"identity"`` or a
        :class:`~sparserec.curvature.Curvature`.
    damping : float or None, default=None
        Relative damping ``percdamp`` (``λ = damping·mean(diag Ĥ)``). Required
        when ``Ĥ`` is singular (``m < n``); None raises a ValueError then.
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

    Notes
    -----
    .. math::  x^{+} = T_k\big(x - \eta\,\hat H^{-1}\nabla f(x)\big).

    ``Ĥ`` is factorised once (Cholesky, or the ``m × m`` Woodbury form when
    damped with ``m < n`` and ``n`` large); each step then costs two products
    with ``A`` plus the solve. On an :class:`~sparserec.objectives.ObjectiveProblem`
    the (damped) Hessian at the current point is the curvature and ``η`` is
    halved until ``f`` does not increase (a monotonicity safeguard).

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

    def __init__(self, *, curvature="exact", damping=None, step=1.0, max_iter=200, tol=1e-10,
                 stagnation=None):
        self.curvature = curvature
        self.damping = damping
        self.step = step
        self.max_iter = max_iter
        self.tol = tol
        self.stagnation = stagnation


@register
class IOBS(_NewtonThresholding):
    r"""I-OBS: Newton target, OBS selection, OBS correction on the kept set.

    Parameters
    ----------
    curvature : str or Curvature, default="exact"
        As for :class:`TopkIOBS`.
    damping : float or None, default=None
        Relative damping ``percdamp`` of the curvature used for the Newton
        target and the selection. Required when ``Ĥ`` is singular.
    selection : {"saliency", "greedy", "exact", "topk"}, default="saliency"
        Kept-set rule (registered in :data:`sparserec.projection.SELECTIONS`):
        top-k of :math:`z_i^2/[\hat H^{-1}]_{ii}`; greedy sequential OBS with
        the inverse downdate (OBC, needs the dense ``Ĥ⁻¹``); exact enumeration
        (``n <= 20`` only); or the top-k magnitude of ``z``.
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

    Notes
    -----
    With :math:`g = \nabla f(x)`,

    .. math::
        z = x - \eta\,\hat H^{-1} g,\qquad S = \mathrm{select}_k(z, \hat H),\qquad
        x^{+}_S = x_S - \hat H_{SS}^{-1}(\eta\, g_S - \hat H_{SQ}x_Q),\quad x^{+}_Q = 0 .

    The correction (:func:`obs_correction`) is the OBS update
    :math:`-\hat H^{-1}_{:,Q}([\hat H^{-1}]_{QQ})^{-1}z_Q`, computed from a
    Cholesky factor of :math:`\hat H_{SS}` (cached per signal and
    up/down-dated when ``S`` changes by a few indices); it never needs
    :math:`\hat H^{-1}`. With exact Gram curvature and ``η = 1`` it is the
    least-squares refit on ``S``.

    Damping: when ``damping`` is set, the Newton target and the selection
    use :math:`\hat H + \lambda I`, while the correction uses the *undamped*
    :math:`\hat H_{SS}` (which is invertible when ``|S| <= m`` and ``A_S``
    has full column rank), falling back to the damped block if it is
    singular.

    On an :class:`~sparserec.objectives.ObjectiveProblem` the curvature is the
    (damped) Hessian at the current point; a step is accepted only if ``f``
    does not increase, otherwise ``η`` is halved (at most 30 times; then the
    iterate stays and the run stops with ``reason="solver"``). So ``f`` is
    non-increasing there. On least-squares problems no safeguard is applied.

    References
    ----------
    .. [1] D. Wu, I.-V. Modoranu, M. Safaryan, D. Kuznedelev and D. Alistarh,
       "The Iterative Optimal Brain Surgeon: faster sparse recovery by
       leveraging second-order information", NeurIPS 2024.
    .. [2] B. Hassibi and D. G. Stork, "Second order derivatives for network
       pruning: Optimal Brain Surgeon", NeurIPS 1993.
    .. [3] E. Frantar, S. P. Singh and D. Alistarh, "Optimal Brain
       Compression", NeurIPS 2022.

    Examples
    --------
    >>> from sparserec import solvers
    >>> from sparserec.ensembles import make_problem
    >>> problem = make_problem(64, 128, 5, seed=0)
    >>> res = solvers.get("iobs", damping=0.01).solve(problem)
    >>> bool(res.rel_error < 1e-8)
    True
    """

    name = "iobs"
    _correct = True

    def __init__(self, *, curvature="exact", damping=None, selection="saliency", step=1.0,
                 max_iter=200, tol=1e-10, stagnation=None):
        self.curvature = curvature
        self.damping = damping
        self.selection = selection
        self.step = step
        self.max_iter = max_iter
        self.tol = tol
        self.stagnation = stagnation

    def _selection(self):
        return self.selection
