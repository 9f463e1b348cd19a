"""One-shot pruners: a dense point, then one projection.

In DESIGN.md's table the OBS-family pruners (magnitude, OBD, OBS,
WoodFisher, OBC, SparseGPT, L-OBS) are all "one step from a dense,
near-stationary point (z = w)": a :class:`~sparserec.projection.Projection`
of the dense point, i.e. a selection rule plus a correction, under the
solver's own curvature (``curvature`` and ``damping``). So each is a solver
of the one loop whose single step is that projection, and each runs on
every problem type:

* a :class:`~sparserec.problems.LayerProblem` prunes the layer's dense
  weights (dead inputs zeroed) under its fraction, N:M pattern and
  allocation;
* a least-squares :class:`~sparserec.problems.Problem` prunes ``x0`` or, for
  columns without one, the damped least-squares solution
  ``(AᵀA + λI)⁻¹Aᵀy`` to ``k`` nonzeros;
* an :class:`~sparserec.problems.ObjectiveProblem` prunes ``x0`` (required),
  with the curvature evaluated there.

:meth:`OneShotPruner.projection` and :meth:`OneShotPruner.make_curvature`
expose the method's projection and curvature, so that the iterated mode
(:func:`sparserec.pruning.iterate`) reuses them inside I-OBS.
"""
from __future__ import annotations

import numpy as np

from .._validation import param_error
from ..curvature import (DEFAULT_DAMPING, check_curvature, check_damping, make_curvature)
from ..problems import LayerProblem, ObjectiveProblem, Problem
from .base import Solver

__all__ = ["OneShotPruner", "check_engine"]


class OneShotPruner(Solver):
    """Base class of the one-shot pruners (see the module docstring).

    Subclasses set ``name`` and implement :meth:`projection` (and, when the
    method has a curvature convention of its own, :meth:`make_curvature`).
    Their hyperparameters typically include ``curvature`` and ``damping``.
    """

    accepts = (Problem, LayerProblem, ObjectiveProblem)
    max_iter = 1          # one projection
    tol = 0.0
    stagnation = None
    uses_curvature = True
    #: sparsity kinds the pruner accepts (None: Net-Trim's tolerance-driven sparsity)
    sparsity_kinds = ("k", "fraction", "nm")

    def __init__(self):  # pragma: no cover - every pruner defines its own
        pass

    # ------------------------------------------------------------ params
    def _validate_params(self, problem):
        owner = type(self).__name__
        if self.uses_curvature:
            check_curvature(self.curvature, owner)
            check_damping(self.damping, owner)
        kind = problem.sparsity.kind
        if kind not in self.sparsity_kinds:
            wanted = {"k": "a k", "fraction": "a fraction", "nm": "an 'N:M' string",
                      None: "sparsity=None"}
            raise ValueError(f"{owner} cannot prune {problem!r}: it needs "
                             + " or ".join(wanted[k] for k in self.sparsity_kinds)
                             + f", got {problem.sparsity.describe()}.")

    def _loop_max_iter(self, problem):
        return 1

    def _loop_tol(self):
        return 0.0

    # ------------------------------------------------------------ the method
    def projection(self):
        """The method's projection: its selection rule and correction.

        Returns
        -------
        Projection
            The projection applied to the dense point.
        """
        raise NotImplementedError

    def make_curvature(self, problem, X=None):
        """The method's fitted curvature on ``problem`` (at ``X`` for an objective problem).

        Parameters
        ----------
        problem : SparseProblem
            The problem.
        X : ndarray of shape (n, T), optional
            The point (an objective problem's curvature depends on it).

        Returns
        -------
        Curvature or None
            None for a curvature-free method (magnitude).
        """
        if not self.uses_curvature:
            return None
        x = X[:, 0] if isinstance(problem, ObjectiveProblem) and X is not None else None
        return make_curvature(self.curvature, problem, self.damping, x=x,
                              owner=type(self).__name__)

    # ------------------------------------------------------------ hooks
    def _dense_start(self, problem, state):
        """Replace columns without a start by the damped least-squares solution."""
        X = state["X"]
        owner = type(self).__name__
        if isinstance(problem, ObjectiveProblem):
            if not np.any(X):
                raise ValueError(f"{owner} prunes a dense point; pass it as x0 for an "
                                 f"ObjectiveProblem (got none, i.e. x0 = 0).")
            return
        if not isinstance(problem, Problem):
            return
        cold = ~np.any(X != 0, axis=0)
        if not np.any(cold):
            return
        damping = getattr(self, "damping", DEFAULT_DAMPING)
        C = make_curvature("exact", problem, damping, owner=owner)
        try:
            C.check_invertible()
        except ValueError as exc:
            raise ValueError(f"{owner} starts from the least-squares solution when x0 is not "
                             f"given: {exc}") from None
        X = X.copy()
        X[:, cold] = C.solve(problem.rmatvec(state["Y"][:, cold]).astype(np.float64))
        state["X"] = X.astype(problem.dtype, copy=False)
        problem.refresh(state)

    def _setup(self, problem, state):
        self._dense_start(problem, state)
        X = state["X"]
        cache = None
        if isinstance(problem, LayerProblem) and np.array_equal(X, problem.W_live):
            tag = (type(self).__name__, repr(self.projection()), repr(self.get_params()))
            cache = (lambda compute: problem.cached(("trace",) + tag, compute))
        state["ctx"] = {"curv": self.make_curvature(problem, X), "proj": self.projection(),
                        "cache": cache}
        return state

    def _target(self, problem, state, curvature):
        """The point the projection prunes: the dense point itself (``z = x``).

        EBD and WoodTaylor override it with a Newton target ``x − Ĥ⁻¹∇f``.

        Parameters
        ----------
        problem : SparseProblem
            The problem.
        state : dict
            The loop state (``X``, the problem's own entries).
        curvature : Curvature or None
            The pruner's fitted curvature.

        Returns
        -------
        ndarray of shape (n, T)
            The target, float64.
        """
        return np.asarray(state["X"], dtype=np.float64)

    def _step(self, problem, state):
        ctx = state["ctx"]
        X = self._target(problem, state, ctx["curv"])
        X_new, _ = ctx["proj"](X, self._sparsity(problem, state), ctx["curv"],
                               cache=ctx["cache"])
        state["X"] = np.asarray(X_new).astype(problem.dtype, copy=False)
        problem.refresh(state)
        state["done"][:] = True
        return state


def check_engine(engine, owner):
    """Validate an ``engine`` hyperparameter ('numba' or 'numpy')."""
    if engine not in ("numba", "numpy"):
        raise param_error("engine", owner, "one of 'numba', 'numpy'", engine)
    return engine

