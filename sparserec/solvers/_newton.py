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
from ..projection import SELECTIONS, Projection
from .base import Solver, check_step

__all__ = ["NewtonThresholding", "resolve_curvature", "newton_direction"]


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

    # ------------------------------------------------------------ params
    def _validate_params(self, problem):
        super()._validate_params(problem)
        owner = type(self).__name__
        if self.step is not None:
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
        return 1.0 if self.step is None else float(self.step)

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
        ctx = {"curv": self._curvature(problem, state["X"]), "proj": self._make_projection()}
        state["ctx"] = ctx
        if isinstance(problem, Problem) and self._data_space(problem, ctx["curv"]):
            state["AtY"] = problem.rmatvec(state["Y"]).astype(np.float64)
        return state

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
        curv = ctx["curv"]
        g = np.asarray(problem.gradient_at(state), dtype=np.float64)
        direction = newton_direction(problem, state, curv)
        eta = self._eta()
        if isinstance(problem, ObjectiveProblem):
            return self._safeguarded(problem, state, X, g, direction, eta, curv)
        X_new = self._project(problem, state, X - eta * direction, X, g, eta, curv)
        state["X"] = X_new.astype(problem.dtype, copy=False)
        problem.refresh(state)
        return state

    def _safeguarded(self, problem, state, X, g, direction, eta, curv):
        """Objective problems: halve ``η`` until ``f`` does not increase (monotone).

        A start with more than ``k`` nonzeros is outside the feasible set, and
        its first projection is accepted whatever ``f`` does.
        """
        f = problem.objective.value(X[:, 0])
        feasible = np.count_nonzero(X[:, 0]) <= problem.k
        for _ in range(self.max_backtrack):
            X_new = self._project(problem, state, X - eta * direction, X, g, eta, curv)
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
            b_u = state["AtY"] + (1.0 - eta) * g
        else:
            b_u = base.matvec(X.astype(np.float64)) - eta * g
        b_d = b_u + curv.lam * X if damped else b_u
        if damped and getattr(self, "correction", "damped") == "undamped":
            return proj(Z, sparsity, curv, b=b_u, correction_curvature=base, keys=keys,
                        fallback=(curv, b_d))[0]
        return proj(Z, sparsity, curv, b=b_d, keys=keys)[0]
