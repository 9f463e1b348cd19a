r"""The Newton-thresholding step shared by Topk-I-OBS and I-OBS.

Both are the thresholding loop of IHT with a Newton step: the target is
:math:`z = x - \eta\hat H^{-1}\nabla f(x)` for a curvature :math:`\hat H`
(:mod:`sparserec.curvature`), followed by a :class:`~sparserec.projection.Projection`
of ``z`` under the problem's sparsity. On every problem type (least squares,
objectives, layers) the step is the same; the problem supplies the gradient
and the curvature is fitted on it.
"""
from __future__ import annotations

import numpy as np

from .._validation import check_choice, param_error
from ..curvature import (DEFAULT_DAMPING, Damped, ExactGram, check_curvature, check_damping,
                         make_curvature)
from ..problems import LayerProblem, ObjectiveProblem, Problem
from ..problems.base import colnorm
from ..projection import SELECTIONS, Projection
from .base import Solver, check_step

__all__ = ["NewtonThresholding", "resolve_curvature", "newton_direction", "selection_scale",
           "RELAX_START", "RELAX_SHRINK"]

#: ``step="auto"`` on least squares with a damped curvature: the selection step starts
#: at this multiple of ``n/df`` (I-OBS's default ``relax``) ...
RELAX_START = 1.5
#: ... and shrinks by this factor (down to ``n/df``) whenever a projection changes the
#: support without decreasing the residual.
RELAX_SHRINK = 0.9
#: Supports remembered per column to detect a cycle of the relaxed iteration.
CYCLE_WINDOW = 16


def selection_scale(curv):
    r"""The factor ``n / df`` of the selection step of ``step="auto"``.

    For a damped curvature :math:`\hat H = H + \lambda I`, the Newton direction
    :math:`\hat H^{-1}g` keeps a fraction :math:`\sigma_i^2/(\sigma_i^2 + \lambda)`
    of every eigendirection of ``H``: it acts as a projection onto the
    ``df = tr(H\hat H^{-1}) = n − λ tr(\hat H^{-1})`` directions that the data
    determine (for ``AᵀA`` with ``m < n``: ``df ≈ m``, the row space of ``A``).
    A k-sparse error ``e`` projected onto that subspace keeps about ``df/n`` of
    each coordinate (exactly so on average for an isotropic design), so the
    selection looks at ``x − (n/df) Ĥ⁻¹g``, whose expectation is the target
    of a full Newton step. An undamped (positive definite) curvature has
    ``df = n`` and factor 1.

    Parameters
    ----------
    curv : Curvature
        The fitted curvature of the Newton step.

    Returns
    -------
    float
        ``n / df`` (>= 1) for a :class:`~sparserec.curvature.Damped` curvature,
        1 otherwise.
    """
    if not isinstance(curv, Damped):
        return 1.0
    n = curv.n
    df = n - curv.lam * float(np.sum(curv.inv_diag()))
    if not df > 0:  # cannot happen for a PSD base curvature; a safe fallback
        return 1.0
    return max(1.0, n / df)


def newton_direction(problem, state, curvature):
    """The Newton direction ``Ĥ⁻¹∇f`` at ``state["X"]`` (subtract it from ``X``).

    Least squares goes through :meth:`~sparserec.curvature.Curvature.newton_ls`
    (data-space forms of ``AᵀA``); the other problem types solve with their
    gradient.

    Parameters
    ----------
    problem : SparseProblem
        The problem.
    state : dict
        The loop state.
    curvature : Curvature
        An invertible curvature.

    Returns
    -------
    ndarray of shape (n, T)
        ``Ĥ⁻¹∇f``, float64.
    """
    if isinstance(problem, Problem):
        return curvature.newton_ls(problem, state["R"])
    return curvature.solve(np.asarray(problem.gradient_at(state), dtype=np.float64))


def resolve_curvature(spec, problem, damping, *, x=None, owner):
    """A fitted, invertible curvature for a Newton step.

    ``damping="auto"`` leaves ``Ĥ`` undamped when it is positive definite to
    working precision and otherwise damps it by :data:`DEFAULT_DAMPING`
    (``AᵀA`` with ``m < n`` is known to be singular without a factorisation).

    Raises
    ------
    ValueError
        If the curvature is singular (with the fix in the message).
    """
    if isinstance(damping, str) and damping == "auto":
        curv = make_curvature(spec, problem, None, x=x, owner=owner)
        try:
            curv.check_invertible()
            return curv
        except ValueError:
            damping = DEFAULT_DAMPING
        spec = curv      # fitted already: damp it without fitting it again
    curv = make_curvature(spec, problem, damping, x=x, owner=owner)
    try:
        curv.check_invertible()
    except ValueError as exc:
        raise ValueError(f"{owner} needs Ĥ⁻¹ for its Newton step: {exc}") from None
    return curv


class NewtonThresholding(Solver):
    """Shared loop step of Topk-I-OBS and I-OBS (any problem type)."""

    accepts = (Problem, ObjectiveProblem, LayerProblem)
    max_backtrack = 30
    #: the OBS correction on the kept set (I-OBS) or none (Topk-I-OBS)
    _correct = False
    #: whether ``step="auto"`` (the selection step ``n/df``, see :func:`selection_scale`) is allowed
    _auto_step = False

    # ------------------------------------------------------------ params
    def _validate_params(self, problem):
        super()._validate_params(problem)
        owner = type(self).__name__
        if not (self._auto_step and isinstance(self.step, str) and self.step == "auto"):
            if self._auto_step and isinstance(self.step, str):
                raise param_error("step", owner, "'auto', None or a positive real number",
                                  self.step)
            check_step(self.step, owner, allow_normalized=False)
        if not (isinstance(self.damping, str) and self.damping == "auto"):
            try:
                check_damping(self.damping, owner)
            except (TypeError, ValueError):
                raise param_error("damping", owner, "'auto', None or a positive real number "
                                  "(relative damping)", self.damping,
                                  TypeError if not isinstance(self.damping, (int, float))
                                  else ValueError) from None
        check_curvature(self.curvature, owner)
        sel = self._selection()
        if not isinstance(sel, Projection):
            check_choice(sel, "selection", owner, tuple(SELECTIONS))
        if problem.sparsity.kind is None:
            raise ValueError(f"{owner} needs a sparsity target; {problem!r} has none.")

    def _selection(self):
        return "topk"

    def _eta(self):
        """Step of the model minimised by the correction (``"auto"`` and None: 1)."""
        if self.step is None or isinstance(self.step, str):
            return 1.0
        return float(self.step)

    def _scale(self, curv):
        """Factor of the selection step over :meth:`_eta` (``n/df`` for ``step="auto"``)."""
        if isinstance(self.step, str) and self.step == "auto":
            return selection_scale(curv)
        return 1.0

    def _make_projection(self):
        sel = self._selection()
        if isinstance(sel, Projection):
            return sel
        return Projection(sel, correction="obs" if self._correct else "none")

    # ------------------------------------------------------------ hooks
    def _refreshes(self, problem):
        """Whether the curvature is refitted at every iterate (a non-quadratic objective)."""
        return (isinstance(problem, ObjectiveProblem) and not problem.objective.quadratic
                and isinstance(self.curvature, str))

    def _curvature(self, problem, X):
        x = X[:, 0] if isinstance(problem, ObjectiveProblem) else None
        return resolve_curvature(self.curvature, problem, self.damping, x=x,
                                 owner=type(self).__name__)

    def _setup(self, problem, state):
        curv = self._curvature(problem, state["X"])
        ctx = {"curv": curv, "proj": self._make_projection(), "scale": self._scale(curv)}
        state["ctx"] = ctx
        if isinstance(problem, Problem) and self._data_space(problem, ctx["curv"]):
            state["AtY"] = problem.rmatvec(state["Y"]).astype(np.float64)
        if self._relaxes(problem, ctx["curv"]):
            T = problem.n_signals
            state["relax"] = np.full(T, float(getattr(self, "relax", RELAX_START)))
            # cycle detection: Zobrist hashes of the last CYCLE_WINDOW supports (0: none)
            ctx["keys"] = np.random.default_rng(0).integers(1, 2 ** 63, size=problem.n,
                                                             dtype=np.int64)
            state["seen"] = np.zeros((CYCLE_WINDOW, T), dtype=np.int64)
        return state

    def _relaxes(self, problem, curv):
        """Whether the selection step is relaxed: ``step="auto"``, least squares, a damped
        curvature whose undamped part is singular (``AᵀA`` with ``m < n``)."""
        return (isinstance(self.step, str) and self.step == "auto"
                and isinstance(problem, Problem) and isinstance(curv, Damped)
                and curv.base.singular_reason() is not None)

    @staticmethod
    def _data_space(problem, curv):
        """Whether ``Ĥ = AᵀA (+λI)`` of this very least-squares problem (cheap linear terms)."""
        base = curv.base if isinstance(curv, Damped) else curv
        return isinstance(base, ExactGram) and base.problem is problem

    def _step(self, problem, state):
        ctx = state["ctx"]
        X = state["X"]
        if self._refreshes(problem):
            ctx["curv"] = self._curvature(problem, X)
            ctx["scale"] = self._scale(ctx["curv"])
        curv = ctx["curv"]
        eta = self._eta()
        scale = ctx["scale"]
        if isinstance(problem, Problem):
            direction = curv.newton_ls(problem, state["R"])
            # the gradient enters only the correction's linear term, and not at all for
            # least squares with η = 1 (b = Aᵀy): spare its product with Aᵀ then
            g = None if (eta == 1.0 and "AtY" in state) \
                else np.asarray(problem.gradient_at(state), dtype=np.float64)
            if "relax" in state:
                return self._relaxed(problem, state, X, g, direction, eta, scale, curv)
        else:
            g = np.asarray(problem.gradient_at(state), dtype=np.float64)
            direction = curv.solve(g)
        if isinstance(problem, ObjectiveProblem):
            return self._safeguarded(problem, state, X, g, direction, eta, scale, curv)
        X_new = self._project(problem, state, X - scale * eta * direction, X, g, eta, curv)
        state["X"] = X_new.astype(problem.dtype, copy=False)
        problem.refresh(state)
        return state

    def _relaxed(self, problem, state, X, g, direction, eta, scale, curv):
        """Least squares with ``step="auto"``: the relaxed selection step of every column.

        The target of column ``t`` is ``x − relax_t·(n/df)·Ĥ⁻¹g`` (``relax_t``
        starts at :data:`RELAX_START`). When its projection changes the support
        but does not decrease the residual, ``relax_t`` shrinks by
        :data:`RELAX_SHRINK` (not below 1) and the column is projected again;
        at ``relax_t = 1`` every projection is accepted.
        """
        R, Y = state["R"], state["Y"]
        relax = state["relax"]
        res = colnorm(R)
        old = X != 0
        X_new = self._project(problem, state, X - (eta * scale * relax) * direction, X, g,
                              eta, curv).astype(problem.dtype, copy=False)
        R_new = Y - problem.matvec_sparse(X_new)
        todo = np.arange(X.shape[1])
        while True:
            worse = (colnorm(R_new[:, todo]) >= res[todo] * (1.0 - 1e-12)) \
                & np.any((X_new[:, todo] != 0) != old[:, todo], axis=0) & (relax[todo] > 1.0)
            todo = todo[worse]
            if todo.size == 0:
                break
            relax[todo] = np.maximum(1.0, relax[todo] * RELAX_SHRINK)
            sub = {"j": state["j"][todo], "ctx": state["ctx"]}
            if "AtY" in state:
                sub["AtY"] = state["AtY"][:, todo]
            Xt = X[:, todo]
            Z = Xt - (eta * scale * relax[todo]) * direction[:, todo]
            X_new[:, todo] = self._project(problem, sub, Z, Xt,
                                           None if g is None else g[:, todo], eta, curv)
            R_new[:, todo] = Y[:, todo] - problem.matvec_sparse(X_new[:, todo])
        state["X"], state["R"], state["relax"] = X_new, R_new, relax
        # With relax = 1 the step is a fixed map of the support (x is the refit on it): a
        # support seen in the last CYCLE_WINDOW iterations means the run cycles for ever.
        h = np.bitwise_xor.reduce(np.where(X_new != 0, state["ctx"]["keys"][:, None], 0),
                                  axis=0)
        seen = state["seen"]
        state["done"] |= (relax == 1.0) & np.any(seen == h, axis=0)
        seen[:-1] = seen[1:]
        seen[-1] = np.where(relax == 1.0, h, 0)
        return state

    def _safeguarded(self, problem, state, X, g, direction, eta, scale, curv):
        """Objective problems: halve ``η`` until ``f`` does not increase (monotone).

        A start with more than ``k`` nonzeros is outside the feasible set, and
        its first projection is accepted whatever ``f`` does.
        """
        f = problem.objective.value(X[:, 0])
        feasible = np.count_nonzero(X[:, 0]) <= problem.k
        for _ in range(self.max_backtrack):
            X_new = self._project(problem, state, X - scale * eta * direction, X, g, eta,
                                  curv)
            f_new = problem.objective.value(X_new[:, 0])
            if np.isfinite(f_new) and (f_new <= f or not feasible):
                state["X"] = X_new
                return state
            eta *= 0.5
        state["done"][:] = True   # no decrease even with a tiny step: x is a fixed point
        return state

    def _project(self, problem, state, Z, X, g, eta, curv):
        proj = state["ctx"]["proj"]
        sparsity = self._sparsity(problem, state)
        keys = state["j"]
        if proj.correction != "obs":
            return proj(Z, sparsity, curv, keys=keys)[0]
        # The OBS correction is the model minimiser on the kept set, v_S = Ĥ_SS⁻¹ b_S with
        # b = Ĥx − ηg (see sparserec.projection.correction). I-OBS corrects with the
        # undamped Ĥ_SS by default (the least-squares refit), the damped one on request
        # or when the undamped block is singular.
        damped = isinstance(curv, Damped)
        base = curv.base if damped else curv
        if "AtY" in state:              # least squares: Ĥx = Aᵀ(y − r) = Aᵀy + g
            b_u = state["AtY"] if eta == 1.0 else state["AtY"] + (1.0 - eta) * g
        else:
            b_u = base.matvec(X.astype(np.float64)) - eta * g
        b_d = b_u + curv.lam * X if damped else b_u
        if damped and getattr(self, "correction", "damped") == "undamped":
            return proj(Z, sparsity, curv, b=b_u, correction_curvature=base, keys=keys,
                        fallback=(curv, b_d))[0]
        return proj(Z, sparsity, curv, b=b_d, keys=keys)[0]
