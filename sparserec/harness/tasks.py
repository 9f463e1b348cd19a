"""Tasks: one solver on one cell (one block of its trials), the unit of work and storage.

:func:`run_task` builds the cell's problems with the task's *builder*, runs
the task's *runner* on each batch (:func:`solve_and_score` by default) and
returns the rows; it never raises for a builder or solver error (those become
rows with ``status="error"``). A solver is warmed up once per process on a
tiny problem, so JIT compilation is not timed. :attr:`Task.key` hashes
everything that determines a task's rows; it names the task's stored file.
"""
from __future__ import annotations

import importlib
import json
import logging
import sys
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from threadpoolctl import threadpool_limits

from sparserec.ensembles import make_problem

from .seeds import COLUMN_AXIS, _canon, _canon_value, _digest, coords_key
from .specs import SolverSpec

__all__ = ["TIMING_COLUMNS", "Task", "run_task", "solve_and_score"]

log = logging.getLogger(__name__)

#: Columns that depend on the machine's speed (excluded when comparing runs).
TIMING_COLUMNS = ("solve_time", "time")
_STORE_VERSION = 2


def _cols(value, T, default):
    if value is None:
        return [default] * T
    arr = np.asarray(value, dtype=object).ravel()
    if arr.size == 1 and T > 1:
        arr = np.repeat(arr, T)
    return list(arr)


def solve_and_score(solver, problem, *, threshold):
    """Default runner: solve once, score every column.

    Returns
    -------
    list of dict
        Per column: ``rel_error``, ``success``, ``n_iter``, ``status``,
        ``reason``, ``error`` (empty), ``solve_time`` (batch time / T).
    """
    res = solver.solve(problem)
    T = problem.n_signals
    rel = _cols(res.rel_error, T, np.nan)
    n_iter = _cols(res.n_iter, T, 0)
    status = _cols(res.status, T, "")
    reason = _cols(res.reason, T, "")
    rows = []
    for j in range(T):
        r = float(rel[j]) if rel[j] is not None else float("nan")
        rows.append({"rel_error": r, "success": bool(np.isfinite(r) and r <= threshold),
                     "n_iter": int(n_iter[j]), "status": str(status[j]),
                     "reason": str(reason[j]), "error": "",
                     "solve_time": float(res.solve_time) / T})
    return rows


def _error_row(exc):
    msg = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:500]
    return {"rel_error": float("nan"), "success": False, "n_iter": 0, "status": "error",
            "reason": "", "error": msg, "solve_time": float("nan")}


def _importable(fn):
    """``fn`` from its importable module when it was defined in ``__main__``.

    A module run as ``python -m pkg.mod`` defines its functions in
    ``__main__``; worker processes cannot unpickle those, and the task key
    would differ from the one computed when the module is imported. Resolve
    them through ``__main__.__spec__.name`` when possible.
    """
    if getattr(fn, "__module__", None) != "__main__":
        return fn
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is None or not spec.name or spec.name == "__main__":
        return fn
    try:
        mod = importlib.import_module(spec.name)
        obj = mod
        for part in fn.__qualname__.split("."):
            obj = getattr(obj, part)
        return obj
    except (ImportError, AttributeError):
        return fn


def _qualname(fn):
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


@dataclass(frozen=True)
class Task:
    """One solver on one cell (one block of trials): the unit of work and of storage.

    ``resolved`` holds the solver's hyperparameters with its defaults
    (:meth:`SolverSpec.resolved_params`) and ``code`` the fingerprint of the
    code (:func:`sparserec.harness.metadata.source_hash`); both enter
    :attr:`key`, so a changed default or an edited solver gives new keys (the
    cell is recomputed) instead of reusing rows computed by other code.
    :meth:`Sweep.tasks <sparserec.harness.Sweep.tasks>` fills them in.
    """

    solver: SolverSpec
    coords: tuple
    trials: tuple
    seed: int
    mode: str
    threshold: float
    builder: Callable = field(compare=False)
    runner: Callable = field(compare=False)
    blas_threads: int = 1
    resolved: tuple = ()
    code: str = ""

    @property
    def key(self):
        """Hex digest of everything that determines this task's rows."""
        params = self.resolved or self.solver.params
        obj = {"v": _STORE_VERSION, "solver": self.solver.name,
               "params": [[k, _canon_value(v)] for k, v in params],
               "coords": _canon(dict(self.coords)), "trials": list(self.trials),
               "seed": int(self.seed), "mode": self.mode, "threshold": float(self.threshold),
               "builder": _qualname(self.builder), "runner": _qualname(self.runner),
               "code": self.code}
        return _digest(obj).hex()[:24]

    @property
    def filename(self):
        """Cell file name: ``<solver-slug>__<key>.parquet``."""
        return f"{self.solver.slug}__{self.key}.parquet"


_WARMED = set()


def _warm_up(solver, label):
    """Solve a tiny problem once per process so JIT compilation is not timed."""
    if label in _WARMED:
        return
    _WARMED.add(label)
    try:
        solver.solve(make_problem(16, 32, 2, seed=0))
        solver.solve(make_problem(16, 32, 2, seed=0, n_signals=2))
    except Exception:  # the real solve records any error
        pass


def run_task(task):
    """Compute one task's rows (never raises for solver or builder errors).

    Returns
    -------
    (key, rows) : (str, list of dict)
    """
    coords = dict(task.coords)
    spec = task.solver
    base = {"solver": spec.label, "solver_name": spec.name,
            "params": json.dumps({k: _canon_value(v) for k, v in spec.params}, sort_keys=True)}
    base.update({k: _canon_value(v) if not isinstance(v, str) else v for k, v in coords.items()})
    ckey = coords_key(coords)
    rows = []
    with threadpool_limits(limits=task.blas_threads), \
            _quiet_library(__package__, _module(task.builder), _module(task.runner)):
        try:
            batches = task.builder(coords, list(task.trials), task.seed, task.mode)
        except Exception as exc:
            log.debug("building cell %s failed", coords, exc_info=True)
            batches = None
            err = _error_row(exc)
            for t in task.trials:
                for col in _expanded(coords):
                    key = coords_key({**coords, **col}) if col else ckey
                    rows.append({**base, **col, "trial": int(t), "mode": task.mode,
                                 "batch_size": 0, "seed": int(task.seed),
                                 "seed_key": _seed_key(key, t), **err})
        for batch in batches or ():
            T = len(batch.trials)
            try:
                solver = spec.make()
                _warm_up(solver, spec.label)
                out = task.runner(solver, batch.problem, threshold=task.threshold)
                if len(out) != T:
                    raise RuntimeError(f"runner returned {len(out)} rows for {T} trials")
            except Exception as exc:
                log.debug("solver %s failed on %s", spec.label, coords, exc_info=True)
                out = [_error_row(exc)] * T
            columns = batch.columns or ({},) * T
            for t, col, res in zip(batch.trials, columns, out):
                key = coords_key({**coords, **col}) if col else ckey
                rows.append({**base, **col, "trial": int(t), "mode": task.mode,
                             "batch_size": T, "seed": int(task.seed),
                             "seed_key": _seed_key(key, t), **batch.info, **res})
    rows.sort(key=lambda r: (r["trial"], r.get("rho", 0)))
    return task.key, rows


@contextmanager
def _quiet_library(*keep):
    """Silence warnings and the library's log chatter inside a task (outcomes are in the rows).

    The loggers named in ``keep`` (the harness's own, and those of the task's
    builder and runner modules) keep the level they had.
    """
    lib = logging.getLogger("sparserec")
    kept = [logging.getLogger(name) for name in keep if name]
    saved = [(lg, lg.level) for lg in (lib, *kept)]
    for lg in kept:
        lg.setLevel(lg.getEffectiveLevel())
    lib.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in reversed(saved):
            lg.setLevel(level)


def _expanded(coords):
    """Per-column row fields of a common-matrix task (its ``rho`` tuple), else ``({},)``."""
    rho = coords.get(COLUMN_AXIS)
    if isinstance(rho, (tuple, list)):
        return tuple({COLUMN_AXIS: r} for r in rho)
    return ({},)


def _module(fn):
    return getattr(fn, "__module__", None)


def _seed_key(ckey, t):
    return ",".join(str(v) for v in (*ckey, int(t)))
