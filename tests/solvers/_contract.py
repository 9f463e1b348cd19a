"""The Result contract as one check, shared by the contract tests and the bad-input census.

The rule: whatever the data, ``solve`` returns a ``Result`` that holds finite
values, at most k nonzeros (for solvers that enforce k) and an honest status,
**or** it raises a ``ValueError`` (``TypeError`` for a wrong kind of object)
whose message names the cause.
"""
from __future__ import annotations

import numpy as np

from sparserec import solvers
from sparserec.metrics import DEFAULT_SUCCESS_THRESHOLD

#: Words of sparserec's own messages: an error mentioning none of them is a
#: library internal leaking out ("array must not contain infs or NaNs",
#: "unhashable type", an IndexError, ...), not a refusal that names the cause.
VOCABULARY = ("parameter", "argument", "Problem", "curvature", "operator", "Gram", "damping",
              "solution", "sparsity", "singular", "needs", "must", "cannot")

#: Status each stopping reason implies.
STATUS_OF = {"diverged": "diverged", "stall": "stalled", "max_iter": "max_iter"}

_SQRT_2MAX = np.sqrt(2.0) * np.sqrt(np.finfo(np.float64).max)


def clear_refusal(exc):
    """Whether ``exc`` is a refusal of the contract's kind: ValueError/TypeError naming the cause."""
    return type(exc) in (ValueError, TypeError) and any(w in str(exc) for w in VOCABULARY)


def check_result(res, problem, solver):
    """Assert the contract on ``res`` returned by ``solver.solve(problem)``."""
    X = res.x if res.x.ndim == 2 else res.x[:, None]
    T = X.shape[1]
    assert np.all(np.isfinite(X)), "non-finite x"
    assert np.array_equal(np.asarray(res.support).reshape(X.shape), X != 0) \
        or not np.any(X[~np.asarray(res.support).reshape(X.shape)]), "support disagrees with x"
    if solver.enforces_k and problem.sparsity.kind is not None:
        assert np.all(problem.sparsity.admits(X)), "more nonzeros than the sparsity allows"
    status = np.atleast_1d(res.status)
    reason = np.atleast_1d(res.reason)
    assert status.shape == reason.shape == (T,)
    for st, why in zip(status, reason):
        assert st in solvers.STATUSES and why in solvers.REASONS, (st, why)
        assert st == STATUS_OF.get(why, "converged"), (st, why)
    hist = res.history
    res_norm = np.asarray(hist["residual_norm"], dtype=float)
    assert np.all(np.isfinite(res_norm)) and np.all(res_norm >= 0), "residual history"
    obj = np.asarray(hist["objective"], dtype=float)
    # finite, or +inf exactly where ½‖r‖² is beyond the float64 range (least squares, layers)
    beyond = (res_norm >= _SQRT_2MAX * (1 - 1e-12)) if obj.shape == res_norm.shape \
        else np.zeros(obj.shape, bool)
    assert np.all(np.isfinite(obj) | ((obj == np.inf) & beyond)), ("objective history", obj)
    assert np.all(np.isfinite(hist["time"])) and np.all(np.diff(hist["time"]) >= 0)
    assert np.isfinite(res.solve_time) and res.solve_time >= 0
    assert np.isfinite(res.compile_time) and res.compile_time >= 0
    # honest: a "residual" stop really has a small residual relative to its reference
    # (both measured on the normalised problem, where neither over- nor underflows;
    # 1e-9 covers the rounding of the norms)
    tol = max(float(solver._loop_tol()), 10 * np.finfo(problem.dtype).eps)
    inner, scaling = problem.normalized()
    Y = getattr(inner, "Y", None)
    ref = np.atleast_1d(inner.reference_norm({"X": X, "j": np.arange(T),
                                              "Y": None if Y is None else Y.astype(float)}))
    last = np.ldexp(np.atleast_1d(res_norm[-1]), -scaling.r)
    for t in np.flatnonzero(reason == "residual"):
        assert last[t] <= tol * ref[t] * (1 + 1e-9), ("residual claim", last[t], tol * ref[t])
    if problem.x_true is not None:
        rel = np.atleast_1d(res.rel_error)
        assert np.all(np.isfinite(rel))
        assert np.array_equal(np.atleast_1d(res.recovered), rel <= DEFAULT_SUCCESS_THRESHOLD)
    else:
        assert res.recovered is None
