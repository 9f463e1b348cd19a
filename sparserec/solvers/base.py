"""The `Solver` contract, the `Result` it returns, the registry, and the one loop.

A solver stores its hyperparameters in ``__init__`` (no logic there) and
validates them at the start of :meth:`Solver.solve`. The base class owns the
lifecycle, the same for every problem type (least squares, objectives,
layers; see :mod:`sparserec.problems.base` for the protocol)::

    setup -> [step -> bookkeeping -> stop tests -> callback]* -> finalize

so that no solver writes its own timing, history or stopping code. A
solver implements three hooks:

``_setup(problem, state)``
    Prepare per-solve quantities (step sizes, factorizations). ``state`` is a
    dict of arrays whose **last axis indexes the columns**; it always holds
    ``X`` (n, T) and what the problem keeps (least squares: ``Y`` and the
    residual ``R = Y − AX``). Per-solve objects that must not be sliced by
    column go in a dict or another non-array value.
``_step(problem, state)``
    One iteration on the columns in ``state`` (the base class hands it only
    the columns still running). It updates ``X`` and the problem's entries,
    and may set ``state["done"]``, a boolean array of shape (T,), for columns
    that met the solver's own criterion.
``_finalize(problem, state)`` (optional)
    Last touch to ``state["X"]`` (for example, a final refit).

A one-shot pruner is a solver whose single step is one projection.

Stopping (per column): ``max_iter``; relative change
``‖x⁺ − x‖ ≤ tol·‖x⁺‖`` or relative residual ``‖r‖ ≤ tol·ref`` (``ref`` is
the problem's :meth:`reference_norm`, ``‖y‖`` for least squares); support
unchanged for ``stagnation`` iterations (when set); no progress, when
``stall`` is set: the residual fell by less than a factor ``0.999**stall``
over the last ``stall`` iterations (Blanchard & Tanner's failure test,
``status="stalled"``); the solver's own ``done`` flag; divergence (a non-finite iterate or objective, or a residual
larger than ``divergence_factor`` times ``max(ref, ‖r₀‖)``), which stops the
column with ``status="diverged"`` and returns its last finite iterate. When
the columns share one budget (a layer-global fraction) they stop together.
What each status means, and how it differs from recovery, is stated once,
in :class:`Result`.

Scale. :meth:`Solver.solve` runs the loop on ``problem.normalized()``: data
far from unit scale are divided by powers of two (exact), so that no
intermediate overflows or underflows, and the solution and history are mapped
back to the caller's units. Hyperparameters with units (an explicit step, an
absolute tolerance) are converted by :meth:`Solver._scaled_params`. A Result
then holds finite values and respects the sparsity, or ``solve`` raises a
``ValueError`` that says why (e.g. a solution beyond the floating-point range).

Timing. ``solve_time`` and ``history["time"]`` count solving only: numba
compilation (and, on first use, an untimed warm-up solve of a tiny problem of
the same kind) is reported as ``compile_time`` (see :mod:`._jit`).
"""
from __future__ import annotations

import copy
import inspect
import time

import numpy as np

from .._validation import as_real_array, check_int, check_real, param_error
from ..curvature import Curvature
from ..metrics import relative_error, success
from ..problems import Problem
from ..problems.base import Scaling, colnorm
from ._jit import WarmUps, compile_seconds
from ._result import REASONS, STATUSES, Result

__all__ = ["Solver", "Result", "register", "get", "available", "STATUSES", "REASONS"]

_WARM = WarmUps()
#: Per-iteration residual rate that counts as no progress in the ``stall`` test.
STALL_RATE = 0.999

_REGISTRY = {}


def register(cls):
    """Register a solver class under ``cls.name`` (class decorator).

    The decorated class ``cls`` must be a :class:`Solver` subclass with a
    non-empty class attribute ``name``. (numpydoc treats an argument called
    ``cls`` as implicit, so it is described here rather than under
    Parameters.)

    Returns
    -------
    type
        ``cls`` itself, now available as ``get(cls.name)``.

    Raises
    ------
    ValueError
        If ``cls.name`` is empty.
    """
    if not cls.name:
        raise ValueError(f"{cls.__name__} must set a class attribute 'name'.")
    _REGISTRY[cls.name] = cls
    return cls


def available():
    """List the names of every registered solver.

    Returns
    -------
    list of str
        The registry names, sorted.

    Examples
    --------
    >>> from sparserec import solvers
    >>> "omp" in solvers.available()
    True
    """
    return sorted(_REGISTRY)


def solver_class(name):
    """Look up the class registered under ``name``.

    Parameters
    ----------
    name : str
        Registry name, one of :func:`available`.

    Returns
    -------
    type
        The :class:`Solver` subclass.

    Raises
    ------
    ValueError
        If no solver is registered under ``name`` (the message lists them).
    TypeError
        If ``name`` is not a string.
    """
    if not isinstance(name, str):
        raise TypeError(f"The 'name' argument of solvers.get must be a str, one of "
                        f"{', '.join(available())}; got {type(name).__name__} {name!r}.")
    if name not in _REGISTRY:
        raise ValueError(f"Unknown solver {name!r}; available solvers are: "
                         + ", ".join(available()) + ".")
    return _REGISTRY[name]


def get(name, **params):
    """Instantiate the solver registered under ``name`` with ``params``.

    Parameters
    ----------
    name : str
        Registry name, one of :func:`available`.
    **params
        Hyperparameters of the solver (keyword-only arguments of its class).

    Returns
    -------
    Solver
        The new solver.

    Raises
    ------
    ValueError
        If ``name`` is not registered.
    TypeError
        If ``name`` is not a string, or a parameter name is not one of the
        solver's.

    Examples
    --------
    >>> from sparserec import solvers
    >>> solvers.get("iht", max_iter=50)
    IHT(max_iter=50)
    """
    cls = solver_class(name)
    valid = cls._param_names()
    unknown = [p for p in params if p not in valid]
    if unknown:
        raise TypeError(f"Unknown parameter {unknown[0]!r} for solver {name!r}; valid "
                        "parameters are: " + ", ".join(valid) + ".")
    return cls(**params)


def _take(state, idx):
    return {key: (val[..., idx] if isinstance(val, np.ndarray) else val)
            for key, val in state.items()}


def _put(state, sub, idx):
    for key, val in sub.items():
        if key in ("Y", "j"):  # data and column labels never change (Y may be read-only)
            continue
        if isinstance(val, np.ndarray) and key in state and isinstance(state[key], np.ndarray) \
                and state[key].shape[:-1] == val.shape[:-1]:
            state[key][..., idx] = val
        elif key not in state:
            raise KeyError(f"solver step added state key {key!r} outside _setup")


class Solver:
    """Base class of every solver.

    Parameters
    ----------
    max_iter : int, default=500
        Maximum number of iterations (per signal).
    tol : float, default=1e-10
        Relative tolerance of the stopping tests (change in x, and residual
        relative to ``‖y‖``). ``tol=0`` disables early stopping.
    stagnation : int or None, default=None
        Stop (as converged) when the support has not changed for this many
        consecutive iterations. None disables the test.
    stall : int or None, default=None
        Stop a column whose residual norm fell by less than a factor
        ``0.999**stall`` over the last ``stall`` iterations (no progress:
        Blanchard & Tanner's failure test; ``status="stalled"``). None
        disables the test.

    Attributes
    ----------
    name : str
        Registry key (class attribute set by every subclass).
    enforces_k : bool
        Whether the solution is at most k-sparse.
    monotone : bool
        Whether theory guarantees a non-increasing objective.
    accepts : tuple of type
        Problem types that :meth:`solve` accepts.
    divergence_factor : float
        A residual larger than this times ``max(‖y‖, ‖r₀‖)`` counts as
        divergence.
    """

    name = ""
    enforces_k = True
    monotone = False
    accepts = (Problem,)
    divergence_factor = 1e4

    stall = None

    def __init__(self, *, max_iter=500, tol=1e-10, stagnation=None, stall=None):
        self.max_iter = max_iter
        self.tol = tol
        self.stagnation = stagnation
        self.stall = stall

    # ------------------------------------------------------------ params
    @classmethod
    def _param_names(cls):
        names = cls.__dict__.get("_param_names_cache")  # per class: signatures are slow
        if names is None:
            sig = inspect.signature(cls.__init__)
            names = [p.name for p in sig.parameters.values()
                     if p.name != "self" and p.kind == p.KEYWORD_ONLY]
            cls._param_names_cache = names
        return list(names)

    def get_params(self):
        """Get the hyperparameters as a dict (scikit-learn style).

        Returns
        -------
        dict
            The keyword-only arguments of ``__init__`` and their values.
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set hyperparameters; unknown names raise TypeError.

        Parameters
        ----------
        **params
            New hyperparameter values (checked at :meth:`solve`).

        Returns
        -------
        Solver
            The solver itself.
        """
        valid = self._param_names()
        for key, val in params.items():
            if key not in valid:
                raise TypeError(f"Unknown parameter {key!r} for solver {self.name!r}; valid "
                                "parameters are: " + ", ".join(valid) + ".")
            setattr(self, key, val)
        return self

    def __repr__(self):
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
                    if p.kind == p.KEYWORD_ONLY}
        changed = []
        for key, val in self.get_params().items():
            d = defaults.get(key, inspect.Parameter.empty)
            same = False
            try:
                same = bool(val == d) if not isinstance(val, np.ndarray) else False
            except Exception:
                same = False
            if not same:
                changed.append(f"{key}={val!r}")
        return f"{type(self).__name__}({', '.join(changed)})"

    def _validate_params(self, problem):
        """Check hyperparameters against ``problem``; subclasses extend this."""
        owner = type(self).__name__
        check_int(self.max_iter, "max_iter", owner, low=1)
        check_real(self.tol, "tol", owner, low=0.0)
        if self.stagnation is not None:
            check_int(self.stagnation, "stagnation", owner, low=1,
                      expected="None or an int >= 1")
        if self.stall is not None:
            check_int(self.stall, "stall", owner, low=1, expected="None or an int >= 1")

    def _check_problem(self, problem):
        if not isinstance(problem, self.accepts):
            names = " or ".join(c.__name__ for c in self.accepts)
            raise TypeError(f"{type(self).__name__}.solve expects a {names}; got "
                            f"{type(problem).__name__}.")

    def _check_x0(self, problem, x0):
        if x0 is None:
            return problem.default_start()
        owner = f"{type(self).__name__}.solve"
        x0 = as_real_array(x0, "x0", owner, ndim=(1, 2))
        want = (problem.n,) if not problem.multi else (problem.n, problem.n_signals)
        if x0.shape != want:
            raise ValueError(f"The 'x0' argument of {owner} must have shape {want}; got "
                             f"{x0.shape}.")
        return x0.reshape(problem.n, -1).astype(problem.dtype, copy=True)

    # ------------------------------------------------------------ hooks
    def _setup(self, problem, state):  # pragma: no cover - trivial default
        return state

    def _step(self, problem, state):
        raise NotImplementedError

    def _finalize(self, problem, state):
        return state

    def _support(self, problem, X):
        return X != 0

    @staticmethod
    def _sparsity(problem, state):
        """The problem's constraint restricted to the columns in ``state``."""
        j = state["j"]
        return problem.sparsity if j.size == problem.n_signals else problem.sparsity.take(j)

    def _loop_max_iter(self, problem):
        """Iteration cap of the base loop (override when ``max_iter`` is derived, e.g. None)."""
        return int(self.max_iter)

    def _loop_tol(self):
        """Tolerance of the base loop's relative tests; 0 disables them.

        Override when the solver's ``tol`` means something else (OMP's bounds
        the squared residual and is applied by the solver itself).
        """
        return float(self.tol)

    def _scaled_params(self, scaling):
        """Hyperparameters for the problem rescaled by ``scaling``, or None to solve it as given.

        Most hyperparameters are scale-free (relative tolerances, relative
        damping, iteration counts). A solver with a hyperparameter in the
        caller's units overrides this to convert it (IHT's explicit step
        scales like ``1/‖A‖²``, i.e. by ``2**scaling.h``; OMP's ``tol`` bounds
        ``‖r‖²``, i.e. scales by ``2**(-2·scaling.r)``). A fitted
        :class:`~sparserec.curvature.Curvature` passed as a hyperparameter is
        in the caller's units too, so the default declines to rescale then.

        Parameters
        ----------
        scaling : Scaling
            Powers of two from the caller's problem to the normalised one.

        Returns
        -------
        dict or None
            The hyperparameters to solve the normalised problem with.
        """
        params = self.get_params()
        if any(isinstance(v, Curvature) for v in params.values()):
            return None
        return params

    # ------------------------------------------------------------ lifecycle
    def solve(self, problem, *, x0=None, callback=None):
        """Solve ``problem`` and return a :class:`Result`.

        Parameters
        ----------
        problem : SparseProblem
            The problem (one of the solver's ``accepts`` types; its data are
            never modified).
        x0 : ndarray of shape (n,) or (n, T), optional
            Starting point (default: the problem's, zeros for least squares
            and the dense weights for a layer).
        callback : callable, optional
            Called after every iteration as ``callback(info)`` with a dict
            holding ``iteration``, ``x`` (a copy of the current iterate, caller
            layout) and ``objective``. Returning True stops the run
            (``reason="callback"``). Its time is not counted.

        Returns
        -------
        Result
            The solution, support, status and history of the run.

        Raises
        ------
        ValueError
            For invalid hyperparameters or ``x0``; for data the solver cannot
            use (a singular curvature without damping, an operator returning
            NaN, ...); when the solution is beyond the floating-point range;
            and when the run diverged before any iterate met the sparsity.
        """
        self._check_problem(problem)
        self._validate_params(problem)
        if callback is not None and not callable(callback):
            raise TypeError(f"The 'callback' argument of {type(self).__name__}.solve must "
                            f"be callable or None; got {type(callback).__name__}.")
        X0 = self._check_x0(problem, x0)
        compiled = self._warm_up(problem)
        inner, scaling = problem.normalized()
        runner = self
        if not scaling.identity:
            params = self._scaled_params(scaling)
            if params is None:
                inner, scaling = problem, Scaling()
            else:
                runner = type(self)(**params)
                X0 = np.ldexp(X0, -scaling.x)
                if callback is not None:
                    callback = _callback_in_caller_units(callback, scaling)
        X, n_iter, status, reason, hist, elapsed, jit, extra = runner._run(inner, X0, callback)
        return self._make_result(problem, X, n_iter, status, reason, hist, elapsed,
                                 compiled + jit, extra, scaling)

    def _warm_up(self, problem):
        """Solve a tiny problem of the same kind, untimed, once per process (see :mod:`._jit`).

        Returns the seconds it took (0 when this solver and kind were already
        warmed up). A warm-up that fails is ignored: the real solve reports
        any error.
        """
        kind = problem.warm_up_kind()
        if kind is None:
            return 0.0
        params = self.get_params()
        if any(isinstance(v, Curvature) for v in params.values()):
            return 0.0  # a user object that the stand-in would refit
        key = (type(self), type(problem), kind, tuple((k, repr(v)) for k, v in params.items()))
        if not _WARM.claim(key):
            return 0.0
        t0 = time.perf_counter()
        try:
            tiny = problem.warm_up_problem()
            type(self)(**copy.deepcopy(params)).solve(tiny)
        except Exception:  # noqa: BLE001 - the real solve raises what matters
            pass
        return time.perf_counter() - t0

    def _run(self, problem, X0, callback):
        T = problem.n_signals
        tol = self._loop_tol()
        if tol > 0:  # relative tests cannot go below the working precision (float32: ~1e-7)
            tol = max(tol, 10 * np.finfo(problem.dtype).eps)
        coupled = problem.sparsity.coupled
        c_start = compile_seconds()
        t_start = time.perf_counter()
        state = problem.init_state(X0)
        state["j"] = np.arange(T)  # column labels: they follow the columns when some stop
        state = self._setup(problem, state)
        state.setdefault("done", np.zeros(T, dtype=bool))
        jit = compile_seconds() - c_start
        elapsed = time.perf_counter() - t_start - jit

        obj_now, res_now = problem.measure(state)
        if not (np.all(np.isfinite(res_now)) and np.all(np.isfinite(obj_now))):
            raise ValueError(
                f"{type(self).__name__} cannot start on {problem!r}: at the starting point the "
                f"objective or residual norm is not finite in float64 (objective "
                f"{obj_now.max():.3g}, residual norm {res_now.max():.3g}); the data or x0 "
                "exceed the floating-point range. Rescale them.")
        ref = problem.reference_norm(state)
        # growth test scale (infinite, i.e. no test, where the problem has no natural scale)
        r_ref = np.where(ref > 0, np.maximum(ref, res_now), np.inf)
        n_iter = np.zeros(T, dtype=np.int64)
        status = np.full(T, "max_iter", dtype=object)
        reason = np.full(T, "max_iter", dtype=object)
        unchanged = np.zeros(T, dtype=np.int64)
        changes_now = np.zeros(T, dtype=np.int64)
        hist = {"objective": [], "residual_norm": [], "support_changes": [], "time": []}
        W = self.stall
        if W is not None:  # ring of the last W + 1 residual norms (slot 0: the start)
            ring = np.empty((W + 1, T))
            ring[0] = res_now
            drop = STALL_RATE ** W

        # ``work`` holds the columns still running (``cols`` are their indices). It is
        # the full state until a column stops; then the stopped columns are written
        # back into ``state`` and ``work`` is compacted once, so no iteration pays
        # for gathering and scattering the running columns.
        work, cols = state, np.arange(T)
        for it in range(1, self._loop_max_iter(problem) + 1):
            # a copy: a step may update X in place (OMP does), and the last finite
            # iterate must survive a step that produces NaN
            X_old = work["X"].copy()
            work["done"] = np.zeros(cols.size, dtype=bool)
            c0 = compile_seconds()
            t0 = time.perf_counter()
            work = self._step(problem, work)
            dc = compile_seconds() - c0
            elapsed += time.perf_counter() - t0 - dc
            jit += dc

            X_new = work["X"]
            obj, res = problem.measure(work)
            changes = ((X_old != 0) != (X_new != 0)).sum(axis=0)
            bad = ~np.isfinite(obj) | ~np.isfinite(res) | ~np.isfinite(X_new).all(axis=0) \
                | (res > self.divergence_factor * r_ref[cols])
            stop = np.zeros(cols.size, dtype=bool)
            why = np.full(cols.size, "", dtype=object)
            if bad.any():  # keep the last finite iterate of diverged columns
                X_new[:, bad] = X_old[:, bad]
                problem.refresh(work, np.flatnonzero(bad))
                # its objective and residual are those recorded for it last time
                obj[bad], res[bad] = obj_now[cols[bad]], res_now[cols[bad]]
                changes[bad] = 0
                stop |= bad
                why[bad] = "diverged"
            own = np.asarray(work["done"], dtype=bool) & ~stop  # the solver's own criterion first
            why[own] = "solver"
            stop |= own
            if tol > 0:
                dx = colnorm(X_new - X_old)
                small_dx = (dx <= tol * colnorm(X_new)) & ~stop
                why[small_dx] = "tol"
                stop |= small_dx
                small_r = (res <= tol * ref[cols]) & ~stop
                why[small_r] = "residual"
                stop |= small_r
            if self.stagnation is not None:
                unchanged[cols] = np.where(changes == 0, unchanged[cols] + 1, 0)
                stag = (unchanged[cols] >= self.stagnation) & ~stop
                why[stag] = "stagnation"
                stop |= stag
            if W is not None:
                if it >= W:
                    stalled = (res >= drop * ring[(it - W) % (W + 1), cols]) & ~stop
                    why[stalled] = "stall"
                    stop |= stalled
                ring[it % (W + 1), cols] = res
            if coupled and not stop.all():  # one budget: the columns stop together
                stop[:] = False

            obj_now[cols] = obj
            res_now[cols] = res
            changes_now[:] = 0
            changes_now[cols] = changes
            hist["objective"].append(obj_now.copy())
            hist["residual_norm"].append(res_now.copy())
            hist["support_changes"].append(changes_now.copy())
            hist["time"].append(elapsed)
            n_iter[cols] = it

            if callback is not None:
                if work is not state:
                    state["X"][:, cols] = work["X"]
                info = {"iteration": it, "x": problem.unblock(state["X"]).copy(),
                        "objective": obj_now.copy() if problem.multi else float(obj_now[0])}
                if callback(info):
                    why[~stop] = "callback"
                    stop[:] = True
            if stop.any():
                done_cols = cols[stop]
                reason[done_cols] = why[stop]
                status[done_cols] = np.select([why[stop] == "diverged", why[stop] == "stall"],
                                              ["diverged", "stalled"], "converged")
                if stop.all():
                    break
                if work is not state:
                    _put(state, _take(work, np.flatnonzero(stop)), done_cols)
                keep = np.flatnonzero(~stop)
                work = _take(work, keep)  # the first time, ``state`` keeps every column
                cols = cols[keep]
        if work is not state:
            _put(state, work, cols)

        X_before = state["X"].copy()
        c0 = compile_seconds()
        t0 = time.perf_counter()
        state = self._finalize(problem, state)
        dc = compile_seconds() - c0
        elapsed += time.perf_counter() - t0 - dc
        jit += dc
        X = state["X"]
        broken = ~np.all(np.isfinite(X), axis=0)
        if np.any(broken):  # a final refit that failed: keep the loop's iterate
            X[:, broken] = X_before[:, broken]
            status[broken] = reason[broken] = "diverged"
        return X, n_iter, status, reason, hist, elapsed, jit, state.get("extra")

    def _make_result(self, problem, X, n_iter, status, reason, hist, elapsed, compile_time,
                     extra=None, scaling=Scaling()):
        """Package a Result in the caller's units (metrics computed here, outside the timed loop).

        ``X`` and ``hist`` come from the (possibly normalised) problem the
        loop ran on; ``scaling`` maps them back to ``problem``. ``extra`` (a
        solver's ``state["extra"]`` dict) adds solver-specific history
        entries, e.g. the tolerance Net-Trim used.
        """
        owner = type(self).__name__
        if not scaling.identity:
            with np.errstate(over="ignore", under="ignore"):
                X = np.ldexp(X, scaling.x)
            if not np.all(np.isfinite(X)):
                raise ValueError(
                    f"The solution {owner} found for {problem!r} is not representable in "
                    f"{np.dtype(X.dtype).name}: it exceeds the largest finite number "
                    f"(the data put it near 2**{scaling.x} times the scale of the normalised "
                    "problem). Rescale A or y so that the solution is of moderate size.")
        if self.enforces_k and problem.sparsity.kind is not None:
            over = ~problem.sparsity.admits(X) & (status == "diverged")
            if np.any(over):
                raise ValueError(
                    f"{owner} diverged (non-finite values) on {problem!r} before any iterate "
                    f"met the sparsity target ({problem.sparsity.describe()}): its last finite "
                    "iterate is the dense start, so there is no valid result to return. Check "
                    "the data and the hyperparameters (a curvature, damping or step of the "
                    "wrong scale), or pass an x0 that meets the target.")
        history = {k: np.atleast_1d(np.asarray(v)) for k, v in (extra or {}).items()}
        T = problem.n_signals
        exponent = {"objective": 2 * scaling.r, "residual_norm": scaling.r}
        for key, rows in hist.items():
            arr = np.asarray(rows, dtype=float if key != "support_changes" else np.int64)
            if key in exponent and exponent[key]:
                with np.errstate(over="ignore", under="ignore"):
                    arr = np.ldexp(arr, exponent[key])
            if key == "time":
                history[key] = arr
            else:
                arr = arr.reshape(len(rows), T)
                history[key] = arr if problem.multi else arr[:, 0]
        support = self._support(problem, X)
        rel = dist = ok = None
        X_true = problem.X_true
        if X_true is not None:
            diff = np.linalg.norm(X - X_true, axis=0)
            dist = diff if problem.multi else float(diff[0])
            rel = relative_error(problem.unblock(X), problem.x_true)
            ok = success(problem.unblock(X), problem.x_true)
        single = not problem.multi
        return Result(
            x=problem.unblock(X), support=problem.unblock(support),
            n_iter=int(n_iter[0]) if single else n_iter,
            status=str(status[0]) if single else status.astype(str),
            reason=str(reason[0]) if single else reason.astype(str),
            history=history, solve_time=float(elapsed), solver=self.name,
            params=self.get_params(), rel_error=rel, distance=dist, recovered=ok,
            compile_time=float(compile_time))


def _callback_in_caller_units(callback, scaling):
    """Wrap a user callback so that it sees ``x`` and the objective in the caller's units."""
    def wrapped(info):
        with np.errstate(over="ignore", under="ignore"):
            obj = np.ldexp(info["objective"], 2 * scaling.r)
            info = {**info, "x": np.ldexp(info["x"], scaling.x),
                    "objective": float(obj) if np.ndim(obj) == 0 else obj}
        return callback(info)
    return wrapped


def check_step(step, owner, allow_normalized=True):
    """Validate a ``step`` hyperparameter: None, a positive real, or 'normalized'."""
    expected = "None, a positive real number" + (" or 'normalized'" if allow_normalized else "")
    if step is None or (allow_normalized and isinstance(step, str) and step == "normalized"):
        return step
    if isinstance(step, str) or isinstance(step, (bool, np.bool_)):
        raise param_error("step", owner, expected, step)
    try:
        val = float(step)
    except (TypeError, ValueError):
        raise param_error("step", owner, expected, step, TypeError) from None
    if not np.isfinite(val) or val <= 0:
        raise param_error("step", owner, expected, step)
    return val
