"""Experiment harness: seeded sweeps over grids of cells, resumable, on any backend.

A **sweep** is a grid of cells (problem coordinates such as ``n``, ``delta``,
``rho``, ``kappa``, ``matrix``) crossed with a list of solvers, with
``trials`` trials per cell. The unit of work and of storage is a **task**:
one solver on one cell (optionally one block of its trials). Everything is
deterministic and order-free:

- **Seeds.** Trial ``t`` of a cell draws from
  ``SeedSequence(entropy=seed, spawn_key=(*coords_key(coords), t))`` where
  ``coords_key`` is four 32-bit words of a SHA-256 of the canonical JSON of
  the cell coordinates (the solver is *not* part of it). In shared-matrix
  mode the cell's matrix comes from ``spawn_key=(*coords_key, 2**32 - 1)``.
  So every solver in a cell sees the same problem instances, a cell's rows
  do not depend on the order, the number of workers or the backend, and
  adding a solver (or a cell) changes no existing row.
- **Batching.** ``mode="fresh"`` (default for phase diagrams) draws a fresh
  matrix per trial and solves one problem per trial. ``mode="shared"`` draws
  one matrix per cell and solves all the cell's trials as one multi-RHS
  :class:`~sparserec.Problem` (``y`` of shape ``(m, T)``), so thresholding
  solvers run matrix–matrix products. Every row records its ``mode`` and
  ``batch_size``; ``solve_time`` is the batch's solve time divided by the
  batch size.
- **Store.** Each finished task is written atomically to
  ``out/cells/<solver>__<key>.parquet`` (see :mod:`experiments.store`); at
  the end ``out/results.parquet`` (all rows, grid order) and
  ``out/metadata.json`` are written. Rerunning the same sweep resumes: valid
  cell files are reused, missing ones computed, and truncated or corrupt
  ones reported (``logging.warning``) and recomputed. The task key hashes
  everything that determines a task's rows (solver and parameters, cell,
  trials, seed, mode, success threshold, builder, runner), so changing any
  of these computes new files instead of reusing stale ones. Code changes
  are not detected: use ``resume=False`` (``--fresh``) after editing a
  solver.
- **Errors.** An exception raised while building a cell's problems or
  inside a solver does not stop the sweep: the affected trials get rows
  with ``status="error"``, ``error="<Type>: <message>"``, ``success=False``
  and ``rel_error=NaN``. They are stored like any other row (a rerun does not
  retry them; use ``--fresh``), counted in the progress bar, and logged.
- **Backends.** ``"serial"``, ``"joblib"`` (all cores, default) and
  ``"dask"`` (``scheduler="local"`` starts a LocalCluster on 127.0.0.1,
  ``"tcp://HOST:PORT"`` joins a cluster); see :mod:`experiments.backends`.
  Tasks run with BLAS limited to ``blas_threads`` (default 1) threads,
  parallelism comes from running tasks side by side; this also keeps the
  floating-point results identical across backends.

Python API
----------
``SolverSpec(name, params)`` / ``SolverSpec.parse("iobs:selection=saliency")``
    A registry solver with hyperparameters; ``label`` is its canonical text
    (``"iht:step=normalized"``), used as the ``solver`` column.
``Sweep(solvers, grid, trials=10, seed=0, mode="fresh", threshold=1e-3, name="sweep",
        builder=recovery_problems, runner=solve_and_score, trials_per_task=None,
        blas_threads=1, metadata=None)``
    ``grid`` is a dict of coordinate -> list of values (Cartesian product,
    first key outermost) or an explicit list of coordinate dicts.
    ``Sweep.cells()`` and ``Sweep.tasks()`` list the work.
``run_sweep(sweep, out, backend="joblib", workers=None, scheduler=None, resume=True,
            quiet=False) -> pandas.DataFrame``
    Compute missing tasks, store, consolidate; returns the results table.
``load_results(out) -> (DataFrame, metadata)``
    Read a finished sweep (what plot commands use).
``recovery_problems(coords, trials, seed, mode)``
    Default builder. Reads ``n`` and either ``m`` or ``delta`` (``m = ⌈δn⌉``),
    either ``k`` or ``rho`` (``k = max(1, round(ρm))``), and optionally
    ``matrix`` (a key of :data:`sparserec.ensembles.MATRICES`; extra matrix
    parameters such as ``kappa`` or ``r`` are taken from the coordinates),
    ``signal`` (``gaussian``, ``rademacher``, ``uniform``) and ``noise``
    (relative: ``‖e‖ = noise·‖Ax‖``). Returns a list of :class:`Batch`.
``solve_and_score(solver, problem, *, threshold)``
    Default runner: one dict per column with ``rel_error``, ``success``
    (``rel_error <= threshold``), ``n_iter``, ``status``, ``reason``,
    ``error``, ``solve_time``.
``trial_seed(seed, coords, trial)``, ``matrix_seed(seed, coords)``, ``coords_key(coords)``
    The seeding contract, for notebooks that want to regenerate one instance.
``dims(coords)``
    ``(n, m, k)`` of a cell, as the default builder computes them.

Companions: :func:`experiments.fitting.fit_transitions` (logistic 50 % points
per solver × δ), :mod:`experiments.plotting` (``style()``, ``save(fig, path)``,
``phase_heatmap``, ``transition_plot``, ``convergence_figure``; the one style
file ``experiments/sparserec.mplstyle``), :mod:`experiments.cli` (the shared
options ``add_run_options``/``resolve_backend`` and one-line argument errors).

A custom experiment supplies its own ``builder(coords, trials, seed, mode)``
returning ``[Batch(problem, trials, info), ...]`` and/or
``runner(solver, problem, *, threshold)`` returning one dict of result
columns per column of ``problem`` (include ``status``; ``"error"`` marks a
failure); both must be module-level functions of an importable module
(functions of a script run as ``python -m pkg.mod`` are resolved to
``pkg.mod``), since the process and Dask backends pickle them by reference
and their qualified names enter the task key. Rows
always carry ``solver, solver_name, params`` (JSON), the cell coordinates,
``trial, mode, batch_size, seed, seed_key`` and the builder's ``info``
(``m``, ``k``), followed by the runner's columns.

Examples
--------
>>> from experiments.harness import Sweep, run_sweep
>>> sweep = Sweep(["iht:step=normalized", "htp"],
...               {"n": [64], "delta": [0.5], "rho": [0.1, 0.2]}, trials=3, seed=1)
>>> len(sweep.tasks())
4
"""
from __future__ import annotations

import ast
import hashlib
import itertools
import json
import logging
import math
import platform
import re
import subprocess
import sys
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import pandas as pd

from sparserec import Problem
from sparserec import solvers as _solvers
from sparserec.ensembles import MATRICES, SIGNALS, sparse_signal

from . import store
from .backends import execute

__all__ = ["SolverSpec", "Sweep", "Task", "Batch", "run_sweep", "run_task", "load_results",
           "recovery_problems", "solve_and_score", "trial_seed", "matrix_seed", "coords_key",
           "dims", "TIMING_COLUMNS", "MODES", "sweep_metadata"]

log = logging.getLogger(__name__)

MODES = ("fresh", "shared")
#: Columns that depend on the machine's speed (excluded when comparing runs).
TIMING_COLUMNS = ("solve_time", "time")
_MATRIX_KEY = 2 ** 32 - 1
_STORE_VERSION = 1


# --------------------------------------------------------------------------- solvers
def _parse_value(text):
    text = text.strip()
    try:
        val = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return _freeze(val)


def _freeze(val):
    if isinstance(val, list):
        return tuple(_freeze(v) for v in val)
    if isinstance(val, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in val.items()))
    return val


def _split_params(text):
    parts, depth, cur, quote = [], 0, [], None
    for ch in text:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = None
            continue
        if ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p for p in (s.strip() for s in parts) if p]


@dataclass(frozen=True)
class SolverSpec:
    """A registry solver name with hyperparameters.

    Parameters
    ----------
    name : str
        Registry name (``sparserec.solvers.available()``).
    params : dict or tuple of (key, value) pairs
        Hyperparameters passed to ``sparserec.solvers.get(name, **params)``.

    Examples
    --------
    >>> SolverSpec.parse("iobs:selection=saliency,percdamp=0.01").label
    'iobs:percdamp=0.01,selection=saliency'
    >>> SolverSpec.parse("iht:step=None").params
    (('step', None),)
    """

    name: str
    params: tuple = ()

    def __post_init__(self):
        p = self.params
        items = p.items() if isinstance(p, dict) else p
        object.__setattr__(self, "params", tuple(sorted((str(k), _freeze(v)) for k, v in items)))

    @classmethod
    def parse(cls, text):
        """Parse ``"name"`` or ``"name:key=value,key=value"``.

        Values are read with :func:`ast.literal_eval` (numbers, None, True,
        tuples, quoted strings); anything else is kept as a string, so
        ``step=normalized`` gives ``'normalized'``.

        Raises
        ------
        ValueError
            If the text is empty or a parameter is not ``key=value``.
        """
        if isinstance(text, SolverSpec):
            return text
        text = str(text).strip()
        name, _, rest = text.partition(":")
        name = name.strip()
        if not name:
            raise ValueError(f"empty solver name in {text!r}")
        params = {}
        for item in _split_params(rest):
            key, eq, val = item.partition("=")
            if not eq or not key.strip().isidentifier():
                raise ValueError(f"solver parameter {item!r} in {text!r} is not key=value")
            params[key.strip()] = _parse_value(val)
        return cls(name, params)

    @property
    def kwargs(self):
        """Parameters as a dict (tuples stay tuples)."""
        return dict(self.params)

    @property
    def label(self):
        """Canonical text ``name[:k=v,...]`` (keys sorted), the ``solver`` column."""
        if not self.params:
            return self.name
        return self.name + ":" + ",".join(f"{k}={_fmt(v)}" for k, v in self.params)

    @property
    def slug(self):
        """A filesystem-safe version of :attr:`label`."""
        return re.sub(r"[^A-Za-z0-9_.=-]+", "-", self.label.replace(":", "__"))[:80]

    def make(self):
        """Instantiate the solver (``sparserec.solvers.get(name, **params)``)."""
        return _solvers.get(self.name, **self.kwargs)

    def check(self):
        """Raise ValueError/TypeError if the name or a parameter name is unknown."""
        self.make()
        return self

    def with_defaults(self, **defaults):
        """A copy with ``defaults`` added for parameters the solver accepts and that are unset."""
        valid = _solvers.solver_class(self.name)._param_names()
        params = {k: v for k, v in defaults.items() if k in valid}
        params.update(self.kwargs)
        return SolverSpec(self.name, params)

    def __str__(self):
        return self.label


def _fmt(v):
    return v if isinstance(v, str) else repr(v)


# --------------------------------------------------------------------------- seeding
def _canon_value(v):
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return int(v) if v.is_integer() else v
    if isinstance(v, (list, tuple)):
        return [_canon_value(x) for x in v]
    if v is None or isinstance(v, str):
        return v
    return str(v)


def _canon(coords):
    return {str(k): _canon_value(v) for k, v in sorted(dict(coords).items())}


def _digest(obj):
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":"))
                          .encode()).digest()


def coords_key(coords):
    """Four stable 32-bit ints identifying a cell's coordinates (solver excluded).

    Integral floats hash like ints (``10.0`` ≡ ``10``), key order is ignored.
    """
    d = _digest(_canon(coords))
    return tuple(int.from_bytes(d[4 * i:4 * i + 4], "little") for i in range(4))


def trial_seed(seed, coords, trial):
    """SeedSequence of trial ``trial`` of the cell ``coords`` under master seed ``seed``."""
    return np.random.SeedSequence(entropy=int(seed), spawn_key=(*coords_key(coords), int(trial)))


def matrix_seed(seed, coords):
    """SeedSequence of the cell's shared matrix (``mode="shared"``)."""
    return np.random.SeedSequence(entropy=int(seed), spawn_key=(*coords_key(coords), _MATRIX_KEY))


# --------------------------------------------------------------------------- problems
class Batch(NamedTuple):
    """Problems built for one task: ``problem``'s columns are ``trials`` (in order)."""

    problem: Problem
    trials: tuple
    info: dict


def dims(coords):
    """``(n, m, k)`` of a cell: ``m = ⌈δn⌉`` unless ``m`` is given, ``k = max(1, round(ρm))``.

    Raises
    ------
    ValueError
        If ``n`` or the measurement/sparsity coordinates are missing or out of range.
    """
    if "n" not in coords:
        raise ValueError("cell coordinates need 'n'")
    n = int(coords["n"])
    if "m" in coords:
        m = int(coords["m"])
    elif "delta" in coords:
        m = int(math.ceil(round(float(coords["delta"]) * n, 9)))
    else:
        raise ValueError("cell coordinates need 'm' or 'delta'")
    if "k" in coords:
        k = int(coords["k"])
    elif "rho" in coords:
        k = max(1, int(math.floor(float(coords["rho"]) * m + 0.5)))
    else:
        raise ValueError("cell coordinates need 'k' or 'rho'")
    if not (1 <= m and 1 <= n and 1 <= k <= n):
        raise ValueError(f"invalid cell dimensions n={n}, m={m}, k={k}")
    return n, m, min(k, n)


def _matrix(coords, m, n, rng):
    import inspect
    name = coords.get("matrix", "gaussian")
    if name not in MATRICES:
        raise ValueError(f"unknown matrix ensemble {name!r}; choose from {', '.join(MATRICES)}")
    gen = MATRICES[name]
    extra = [p for p in inspect.signature(gen).parameters if p not in ("m", "n", "rng")]
    return gen(m, n, rng=rng, **{p: coords[p] for p in extra if p in coords})


def _measure(A, x, rng, noise):
    x2 = x.reshape(-1, 1)
    y = (A @ x2 if isinstance(A, np.ndarray) else A.matmat(x2))[:, 0]
    if noise > 0:
        e = rng.standard_normal(y.shape[0])
        y = y + e * (noise * np.linalg.norm(y) / max(np.linalg.norm(e), 1e-300))
    return y


def recovery_problems(coords, trials, seed, mode):
    """Default builder: seeded ``y = Ax + e`` problems for one cell.

    Parameters
    ----------
    coords : dict
        Cell coordinates (see :func:`dims`; ``matrix``, ``signal``, ``noise``
        and matrix parameters such as ``kappa`` are optional).
    trials : sequence of int
        Trial indices to build.
    seed : int
        Master seed.
    mode : {"fresh", "shared"}
        A fresh matrix per trial (one single-RHS problem each), or the cell's
        matrix shared by all trials (one multi-RHS problem).

    Returns
    -------
    list of Batch
    """
    n, m, k = dims(coords)
    signal = coords.get("signal", "gaussian")
    if signal not in SIGNALS:
        raise ValueError(f"unknown signal ensemble {signal!r}; choose from {', '.join(SIGNALS)}")
    noise = float(coords.get("noise", 0.0))
    info = {"m": m, "k": k} if "n" in coords else {"n": n, "m": m, "k": k}
    if mode == "fresh":
        out = []
        for t in trials:
            rng = np.random.default_rng(trial_seed(seed, coords, t))
            A = _matrix(coords, m, n, rng)
            x = sparse_signal(n, k, rng, distribution=signal)
            y = _measure(A, x, rng, noise)
            std = noise * np.linalg.norm(y) / np.sqrt(m) / np.sqrt(1 + noise ** 2)
            out.append(Batch(Problem(A, y, k, x_true=x, noise_std=std), (t,), info))
        return out
    if mode != "shared":
        raise ValueError(f"mode must be one of {MODES}; got {mode!r}")
    A = _matrix(coords, m, n, np.random.default_rng(matrix_seed(seed, coords)))
    X = np.zeros((n, len(trials)))
    Y = np.zeros((m, len(trials)))
    for j, t in enumerate(trials):
        rng = np.random.default_rng(trial_seed(seed, coords, t))
        X[:, j] = sparse_signal(n, k, rng, distribution=signal)
        Y[:, j] = _measure(A, X[:, j], rng, noise)
    std = noise * float(np.mean(np.linalg.norm(Y, axis=0))) / np.sqrt(m) / np.sqrt(1 + noise ** 2)
    return [Batch(Problem(A, Y, k, x_true=X, noise_std=std), tuple(trials), info)]


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


# --------------------------------------------------------------------------- tasks
def _importable(fn):
    """``fn`` from its importable module when it was defined in ``__main__``.

    A script run as ``python -m experiments.x`` defines its functions in
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
        import importlib
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
    """One solver on one cell (one block of trials): the unit of work and of storage."""

    solver: SolverSpec
    coords: tuple
    trials: tuple
    seed: int
    mode: str
    threshold: float
    builder: Callable = field(compare=False)
    runner: Callable = field(compare=False)
    blas_threads: int = 1

    @property
    def key(self):
        """Hex digest of everything that determines this task's rows."""
        obj = {"v": _STORE_VERSION, "solver": self.solver.name,
               "params": [[k, _canon_value(v)] for k, v in self.solver.params],
               "coords": _canon(dict(self.coords)), "trials": list(self.trials),
               "seed": int(self.seed), "mode": self.mode, "threshold": float(self.threshold),
               "builder": _qualname(self.builder), "runner": _qualname(self.runner)}
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
        from sparserec.ensembles import make_problem
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
    from threadpoolctl import threadpool_limits
    coords = dict(task.coords)
    spec = task.solver
    base = {"solver": spec.label, "solver_name": spec.name,
            "params": json.dumps({k: _canon_value(v) for k, v in spec.params}, sort_keys=True)}
    base.update({k: _canon_value(v) if not isinstance(v, str) else v for k, v in coords.items()})
    ckey = coords_key(coords)
    rows = []
    with threadpool_limits(limits=task.blas_threads), _quiet_solvers():
        try:
            batches = task.builder(coords, list(task.trials), task.seed, task.mode)
        except Exception as exc:
            log.debug("building cell %s failed", coords, exc_info=True)
            batches = None
            err = _error_row(exc)
            for t in task.trials:
                rows.append({**base, "trial": int(t), "mode": task.mode, "batch_size": 0,
                             "seed": int(task.seed), "seed_key": _seed_key(ckey, t), **err})
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
            for t, res in zip(batch.trials, out):
                rows.append({**base, "trial": int(t), "mode": task.mode, "batch_size": T,
                             "seed": int(task.seed), "seed_key": _seed_key(ckey, t),
                             **batch.info, **res})
    rows.sort(key=lambda r: r["trial"])
    return task.key, rows


@contextmanager
def _quiet_solvers():
    """Silence solver warnings and log chatter inside a task (outcomes are in the rows)."""
    lib = logging.getLogger("sparserec")
    level = lib.level
    lib.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        lib.setLevel(level)


def _seed_key(ckey, t):
    return ",".join(str(v) for v in (*ckey, int(t)))


# --------------------------------------------------------------------------- sweeps
@dataclass
class Sweep:
    """A grid of cells × solvers with ``trials`` seeded trials per cell.

    Parameters
    ----------
    solvers : list of str or SolverSpec
        ``"iht"``, ``"iobs:selection=saliency"``, ... (duplicates are dropped).
    grid : dict of str to list, or list of dict
        Cell coordinates: a dict gives the Cartesian product of its value
        lists (first key outermost); a list gives the cells explicitly.
    trials : int, default=10
        Trials per cell (trial indices ``0..trials-1``).
    seed : int, default=0
        Master seed (a non-negative int).
    mode : {"fresh", "shared"}, default="fresh"
        Fresh matrix per trial, or one matrix per cell with batched trials.
    threshold : float, default=1e-3
        Success criterion: ``rel_error <= threshold``.
    name : str, default="sweep"
        Experiment name (metadata only).
    builder, runner : callable
        See the module docstring (defaults: :func:`recovery_problems`,
        :func:`solve_and_score`).
    trials_per_task : int or None, default=None
        Split each cell's trials into blocks of this size (more parallelism
        for few cells); None keeps a cell's trials together. Part of the
        task key.
    blas_threads : int, default=1
        BLAS threads inside a task.
    metadata : dict, optional
        Extra entries for ``metadata.json``.
    """

    solvers: list
    grid: object
    trials: int = 10
    seed: int = 0
    mode: str = "fresh"
    threshold: float = 1e-3
    name: str = "sweep"
    builder: Callable = recovery_problems
    runner: Callable = solve_and_score
    trials_per_task: int | None = None
    blas_threads: int = 1
    metadata: dict | None = None

    def __post_init__(self):
        specs = []
        for s in self.solvers:
            spec = SolverSpec.parse(s)
            if spec not in specs:
                specs.append(spec)
        self.solvers = specs
        if not specs:
            raise ValueError("The 'solvers' argument of Sweep must name at least one solver.")
        if not isinstance(self.trials, (int, np.integer)) or isinstance(self.trials, bool) \
                or self.trials < 1:
            raise ValueError(f"The 'trials' argument of Sweep must be an int >= 1; "
                             f"got {self.trials!r}.")
        if not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"The 'seed' argument of Sweep must be an int >= 0; got {self.seed!r}.")
        if self.mode not in MODES:
            raise ValueError(f"The 'mode' argument of Sweep must be one of {', '.join(MODES)}; "
                             f"got {self.mode!r}.")
        if not (self.threshold > 0):
            raise ValueError(f"The 'threshold' argument of Sweep must be > 0; "
                             f"got {self.threshold!r}.")
        if self.trials_per_task is not None and self.trials_per_task < 1:
            raise ValueError("The 'trials_per_task' argument of Sweep must be None or >= 1; "
                             f"got {self.trials_per_task!r}.")
        if not self.cells():
            raise ValueError("The 'grid' argument of Sweep is empty: no cells to run.")
        self.builder = _importable(self.builder)
        self.runner = _importable(self.runner)

    def cells(self):
        """Cell coordinate dicts, in grid order."""
        if isinstance(self.grid, dict):
            keys = list(self.grid)
            values = [list(np.atleast_1d(self.grid[k])) if not isinstance(self.grid[k], str)
                      else [self.grid[k]] for k in keys]
            return [dict(zip(keys, combo)) for combo in itertools.product(*values)]
        return [dict(c) for c in self.grid]

    def tasks(self):
        """Tasks in canonical order: solver, then cell, then trial block (deduplicated)."""
        blocks = [tuple(range(self.trials))]
        if self.trials_per_task:
            b = int(self.trials_per_task)
            blocks = [tuple(range(i, min(i + b, self.trials))) for i in range(0, self.trials, b)]
        out, seen = [], set()
        for spec in self.solvers:
            for c in self.cells():
                for block in blocks:
                    t = Task(spec, tuple(c.items()), block, int(self.seed), self.mode,
                             float(self.threshold), self.builder, self.runner,
                             int(self.blas_threads))
                    if t.key not in seen:
                        seen.add(t.key)
                        out.append(t)
        return out


# --------------------------------------------------------------------------- metadata
def _git_revision():
    root = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=10)
        if rev.returncode != 0:
            return None, None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, timeout=10)
        return rev.stdout.strip(), (bool(dirty.stdout.strip()) if dirty.returncode == 0
                                    else None)
    except (OSError, subprocess.SubprocessError):
        return None, None


def _versions():
    import importlib.metadata as im
    out = {}
    for pkg in ("numpy", "scipy", "numba", "cvxpy", "pandas", "pyarrow", "joblib", "dask",
                "distributed", "scikit-learn", "matplotlib", "tqdm"):
        try:
            out[pkg] = im.version(pkg)
        except im.PackageNotFoundError:
            out[pkg] = None
    return out


def sweep_metadata(sweep, **extra):
    """The metadata dict stored beside a sweep's rows."""
    import sparserec
    rev, dirty = _git_revision()
    grid = sweep.grid if isinstance(sweep.grid, dict) else list(sweep.grid)
    meta = {
        "experiment": sweep.name,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "sparserec_version": sparserec.__version__,
        "git_revision": rev, "git_dirty": dirty,
        "master_seed": int(sweep.seed),
        "seeding": "SeedSequence(entropy=master_seed, spawn_key=(*coords_key(cell), trial)); "
                   f"shared matrix: spawn_key=(*coords_key(cell), {_MATRIX_KEY})",
        "solvers": [s.label for s in sweep.solvers],
        "grid": json.loads(json.dumps(grid, default=_canon_value)),
        "trials": int(sweep.trials), "mode": sweep.mode, "threshold": float(sweep.threshold),
        "builder": _qualname(sweep.builder), "runner": _qualname(sweep.runner),
        "trials_per_task": sweep.trials_per_task, "blas_threads": int(sweep.blas_threads),
        "n_tasks": len(sweep.tasks()),
        "python": sys.version.split()[0], "platform": platform.platform(),
        "libraries": _versions(),
    }
    meta.update(sweep.metadata or {})
    meta.update(extra)
    return meta


# --------------------------------------------------------------------------- running
def _progress(total, initial, desc, quiet):
    from tqdm.auto import tqdm
    disable = quiet or not sys.stdout.isatty()
    return tqdm(total=total, initial=initial, desc=desc, unit="cell", disable=disable,
                dynamic_ncols=True, smoothing=0.1)


def run_sweep(sweep, out, *, backend="joblib", workers=None, scheduler=None, resume=True,
              quiet=False):
    """Run (or resume) a sweep and store it in ``out``.

    Parameters
    ----------
    sweep : Sweep
    out : path-like
        Output directory (created). See :mod:`experiments.store` for its layout.
    backend : {"serial", "joblib", "dask"}, default="joblib"
    workers : int or None
        Worker processes (None: all cores).
    scheduler : str or None
        Dask: ``"local"`` / None (LocalCluster on 127.0.0.1) or ``tcp://HOST:PORT``.
    resume : bool, default=True
        Reuse valid stored cells. False deletes ``out/cells`` first.
    quiet : bool, default=False
        No progress bar (it is also off when stdout is not a terminal).

    Returns
    -------
    pandas.DataFrame
        Every row of the sweep, in task order (solver, cell, trial).
    """
    out = Path(out)
    cells_dir = out / store.CELLS
    if not resume and cells_dir.exists():
        for p in cells_dir.glob("*.parquet*"):  # cell files and their .sha256 sidecars
            p.unlink()
        for name in (store.RESULTS,):
            (out / name).unlink(missing_ok=True)
    cells_dir.mkdir(parents=True, exist_ok=True)
    store.remove_stale_temps(cells_dir)
    store.remove_stale_temps(out)

    tasks = sweep.tasks()
    done = {}
    for t in tasks:
        path = cells_dir / t.filename
        if not path.exists():
            continue
        try:
            done[t.key] = store.read_cell(path, t.key)
        except store.CorruptCellError as exc:
            log.warning("Stored cell %s is corrupt (%s); recomputing it.", path, exc)
            path.unlink(missing_ok=True)
    todo = [t for t in tasks if t.key not in done]
    if done:
        log.info("Resuming %s: %d of %d cells already stored, %d to compute.",
                 sweep.name, len(done), len(tasks), len(todo))
    by_key = {t.key: t for t in todo}
    n_err = sum(int((df["status"] == "error").sum()) for df in done.values()
                if "status" in df.columns)
    t0 = time.perf_counter()
    bar = _progress(len(tasks), len(done), sweep.name, quiet)
    try:
        bar.set_postfix(errors=n_err)
        for key, rows in execute(run_task, todo, backend=backend, workers=workers,
                                 scheduler=scheduler):
            task = by_key[key]
            done[key] = store.write_cell(cells_dir / task.filename, rows, key)
            errs = sum(r.get("status") == "error" for r in rows)
            if errs:
                first = next(r.get("error", "") for r in rows if r.get("status") == "error")
                log.warning("%s on %s: %d trial(s) raised (%s)", task.solver.label,
                            dict(task.coords), errs, first)
            n_err += errs
            bar.update(1)
            bar.set_postfix(errors=n_err)
    finally:
        bar.close()
    df = pd.concat([done[t.key] for t in tasks], ignore_index=True)
    meta = sweep_metadata(sweep, backend=backend, workers=workers,
                          scheduler=scheduler if backend == "dask" else None,
                          n_rows=len(df), n_error_rows=int(n_err),
                          compute_seconds=round(time.perf_counter() - t0, 3),
                          command=sys.argv if sys.argv and sys.argv[0] else None)
    store.write_results(out, df, meta)
    return df


def load_results(out):
    """Read a stored sweep: ``(results DataFrame, metadata dict)`` (see :func:`store.load_results`)."""
    return store.load_results(out)
