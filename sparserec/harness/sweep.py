"""Sweeps: a grid of cells × solvers, run (or resumed) on any backend and stored.

A :class:`Sweep` lists its work as tasks (:class:`~sparserec.harness.tasks.Task`);
:func:`run_sweep` computes the tasks that are not stored yet, writes each one
atomically as soon as it finishes (:mod:`sparserec.harness.store`), and at
the end consolidates ``results.parquet`` and ``metadata.json``;
:func:`load_results` reads them back (what plot commands use).
"""
from __future__ import annotations

import itertools
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import store
from .backends import execute
from .cells import MODES, recovery_problems
from .metadata import source_hash, sweep_metadata
from .seeds import COLUMN_AXIS, column_of
from .adaptive import run_adaptive
from .specs import SolverSpec
from .tasks import Task, _importable, run_task, solve_and_score

__all__ = ["Sweep", "run_sweep", "load_results", "timing_summary", "format_timing"]

log = logging.getLogger(__name__)


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
    mode : {"fresh", "shared", "common"}, default="fresh"
        Fresh matrix per trial; one matrix per cell with batched trials; or
        common random matrices, one per trial shared by the ρ cells of each
        δ column (see :mod:`sparserec.harness.cells`). A common-mode task is
        one column (all its ρ cells) × one block of trials.
    threshold : float, default=1e-3
        Success criterion: ``rel_error <= threshold``.
    name : str, default="sweep"
        Experiment name (metadata only).
    builder, runner : callable
        See :mod:`sparserec.harness` (defaults: :func:`recovery_problems`,
        :func:`solve_and_score`).
    trials_per_task : int or None, default=None
        Split each cell's trials into blocks of this size (more parallelism
        for few cells); None keeps a cell's trials together. Part of the
        task key.
    blas_threads : int, default=1
        BLAS threads inside a task.
    metadata : dict, optional
        Extra entries for ``metadata.json``.
    adaptive : bool, default=False
        Adaptive ρ sampling (:mod:`sparserec.harness.adaptive`): locate each
        solver's transition in every column by bisection with
        ``probe_trials`` trials, then spend the full ``trials`` only on the
        band between ``band[0]`` and ``band[1]`` success and one cell on each
        side. Needs a ``rho`` coordinate.
    probe_trials : int, default=10
        Trials per bisection probe (adaptive only).
    band : tuple of float, default=(0.05, 0.95)
        Success rates that bound the band (adaptive only).
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
    adaptive: bool = False
    probe_trials: int = 10
    band: tuple = (0.05, 0.95)

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
        if self.adaptive:
            if any(COLUMN_AXIS not in c for c in self.cells()):
                raise ValueError("The 'adaptive' option of Sweep needs a 'rho' coordinate in "
                                 "every cell (the axis it samples adaptively).")
            if not isinstance(self.probe_trials, (int, np.integer)) or self.probe_trials < 1:
                raise ValueError("The 'probe_trials' argument of Sweep must be an int >= 1; "
                                 f"got {self.probe_trials!r}.")
            lo, hi = self.band
            if not 0 <= lo < hi <= 1:
                raise ValueError("The 'band' argument of Sweep must be (low, high) with "
                                 f"0 <= low < high <= 1; got {self.band!r}.")
        self.builder = _importable(self.builder)
        self.runner = _importable(self.runner)
        self._resolved = {}

    @property
    def code(self):
        """Fingerprint of the code that computes the rows (part of every task key).

        :func:`~sparserec.harness.metadata.source_hash` of sparserec and of
        the builder's and runner's modules, read when first asked for.
        """
        if not getattr(self, "_code", None):
            self._code = source_hash(self.builder, self.runner)
        return self._code

    def task(self, spec, coords, trials):
        """The :class:`Task` of solver ``spec`` on the unit ``coords`` (a cell, or in
        common mode a δ column) for ``trials``."""
        spec = SolverSpec.parse(spec)
        if spec not in self._resolved:
            self._resolved[spec] = spec.resolved_params()
        return Task(spec, tuple(dict(coords).items()), tuple(int(t) for t in trials),
                    int(self.seed), self.mode, float(self.threshold), self.builder, self.runner,
                    int(self.blas_threads), self._resolved[spec], self.code)

    def cells(self):
        """Cell coordinate dicts, in grid order."""
        if isinstance(self.grid, dict):
            keys = list(self.grid)
            values = [list(np.atleast_1d(self.grid[k])) if not isinstance(self.grid[k], str)
                      else [self.grid[k]] for k in keys]
            return [dict(zip(keys, combo)) for combo in itertools.product(*values)]
        return [dict(c) for c in self.grid]

    def blocks(self, trials=None):
        """The trial blocks of a task: ``trials`` (default all) cut by ``trials_per_task``."""
        trials = tuple(range(self.trials)) if trials is None else tuple(trials)
        b = int(self.trials_per_task or len(trials) or 1)
        return [trials[i:i + b] for i in range(0, len(trials), b)]

    def units(self):
        """The units of work before trials: cells, or in common mode the δ columns.

        Returns
        -------
        list of dict
            Cell coordinates; in common mode one dict per column with ``rho``
            the tuple of its ρ values (in grid order).
        """
        cells = self.cells()
        if self.mode != "common":
            return cells
        columns = {}
        for c in cells:
            if COLUMN_AXIS not in c:
                raise ValueError("mode='common' needs a 'rho' coordinate (the axis that "
                                 "shares a matrix); the grid has none.")
            key = tuple(sorted(column_of(c).items(), key=lambda kv: kv[0]))
            columns.setdefault(key, ({k: v for k, v in c.items() if k != COLUMN_AXIS}, []))
            columns[key][1].append(c[COLUMN_AXIS])
        return [{**base, COLUMN_AXIS: tuple(rhos)} for base, rhos in columns.values()]

    def tasks(self):
        """Tasks in canonical order: solver, then unit, then trial block (deduplicated)."""
        out, seen = [], set()
        for spec in self.solvers:
            for c in self.units():
                for block in self.blocks():
                    t = self.task(spec, c, block)
                    if t.key not in seen:
                        seen.add(t.key)
                        out.append(t)
        return out


def _progress(total, initial, desc, quiet):
    disable = quiet or not sys.stderr.isatty()  # the bar is drawn on stderr
    return tqdm(total=total, initial=initial, desc=desc, unit="task", disable=disable,
                dynamic_ncols=True, smoothing=0.1, file=sys.stderr)


def _stored(cells_dir, task, *, warn):
    """The stored rows of ``task``, or None (a corrupt file is removed; reported if ``warn``)."""
    path = cells_dir / task.filename
    if not path.exists():
        return None
    try:
        return store.read_cell(path, task.key, remove_corrupt=True)
    except store.CorruptCellError as exc:
        if warn:
            log.warning("Stored cell %s is corrupt (%s); recomputing it.", path, exc)
        return None


def _not_stored_meanwhile(todo, cells_dir, taken, bar):
    """Yield the tasks of ``todo`` that no other run has stored since this one started.

    Runs sharing an output directory thus split the remaining work: a task
    another run finished is read (into ``taken``) instead of recomputed.
    """
    for task in todo:
        rows = _stored(cells_dir, task, warn=False)
        if rows is None:
            yield task
        else:
            taken[task.key] = rows
            bar.update(1)


def _error_rows(df):
    return int((df["status"] == "error").sum()) if "status" in df.columns else 0


def run_sweep(sweep, out, *, backend="joblib", workers=None, scheduler=None, resume=True,
              quiet=False):
    """Run (or resume) a sweep and store it in ``out``.

    Parameters
    ----------
    sweep : Sweep
        The sweep (with ``adaptive=True`` its rounds run one after the other,
        each on the backend).
    out : path-like
        Output directory (created). See :mod:`sparserec.harness.store` for its layout.
    backend : {"serial", "joblib", "dask"}, default="joblib"
        Where the tasks run.
    workers : int or None
        Worker processes (None: all cores).
    scheduler : str or None
        Dask: ``"local"`` / None (LocalCluster on 127.0.0.1) or ``tcp://HOST:PORT``.
    resume : bool, default=True
        Reuse valid stored cells. False deletes ``out/cells`` first.
    quiet : bool, default=False
        No progress bar (it is also off when stderr is not a terminal).

    Returns
    -------
    pandas.DataFrame
        Every row of the sweep, in task order (solver, cell, trial). Its
        ``attrs["timing"]`` holds the run's timing summary (see
        :func:`timing_summary`), also stored in ``metadata.json``.

    Notes
    -----
    Stored cells are reused only when their task key matches, and the key
    holds the solver's resolved parameters and the code's fingerprint
    (:attr:`Sweep.code`): after a change of the code or of a default, the
    cells are recomputed, and the files of the old keys are left in
    ``out/cells`` (reported once; ``resume=False`` deletes them).

    Several runs may share ``out`` (started together or while others run):
    each reads the cells the others have stored, computes the rest, and
    writes a complete ``results.parquet`` (see :mod:`sparserec.harness.store`).
    """
    out = Path(out)
    cells_dir = out / store.CELLS
    if not resume and cells_dir.exists():
        with store.locked(cells_dir):
            for p in cells_dir.glob("*.parquet*"):  # cell files and their .sha256 sidecars
                p.unlink(missing_ok=True)
        (out / store.RESULTS).unlink(missing_ok=True)
    cells_dir.mkdir(parents=True, exist_ok=True)
    store.remove_stale_temps(cells_dir)
    store.remove_stale_temps(out)

    t0 = time.perf_counter()
    stats = {"computed": 0, "stored": 0, "errors": 0, "files": set()}
    bar = _progress(None if sweep.adaptive else len(sweep.tasks()), 0, sweep.name, quiet)

    def run_tasks(tasks):
        return _run_tasks(tasks, cells_dir, stats, bar, backend=backend, workers=workers,
                          scheduler=scheduler, name=sweep.name)

    extra = {}
    try:
        if sweep.adaptive:
            frames, extra["adaptive"] = run_adaptive(sweep, run_tasks)
        else:
            tasks = sweep.tasks()
            done = run_tasks(tasks)
            frames = [done[t.key] for t in tasks]
    finally:
        bar.close()
    df = pd.concat(frames, ignore_index=True)
    if sweep.adaptive:
        df = df.sort_values(["solver", *_grid_order(sweep), "trial"], kind="stable",
                            ignore_index=True)
    wall = time.perf_counter() - t0
    other = sum(1 for p in cells_dir.glob("*.parquet") if p.name not in stats["files"])
    if other:
        log.info("%d stored cell file(s) in %s belong to no task of this run (other "
                 "parameters, or another version of the code); they are kept and not used "
                 "(--fresh deletes them).", other, cells_dir)
    timing = timing_summary(df, wall, stats)
    meta = sweep_metadata(sweep, backend=backend, workers=workers,
                          scheduler=scheduler if backend == "dask" else None,
                          n_rows=len(df), n_error_rows=_error_rows(df),
                          tasks_reused=stats["stored"], tasks_computed=stats["computed"],
                          compute_seconds=round(wall, 3), timing=timing,
                          command=sys.argv if sys.argv and sys.argv[0] else None, **extra)
    store.write_results(out, df, meta)
    df.attrs["timing"] = timing
    log.info("%s", format_timing(timing))
    return df


def _grid_order(sweep):
    cells = sweep.cells()
    return [k for k in cells[0] if k != "trial"] if cells else []


def _run_tasks(tasks, cells_dir, stats, bar, *, backend, workers, scheduler, name):
    """Rows of every task: read from the store when valid, computed (and stored) otherwise."""
    done = {}
    for t in tasks:
        if t.key in done:
            continue
        rows = _stored(cells_dir, t, warn=True)
        if rows is not None:
            done[t.key] = rows
    stats["files"].update(t.filename for t in tasks)
    todo, seen = [], set(done)
    for t in tasks:
        if t.key not in seen:
            seen.add(t.key)
            todo.append(t)
    stats["stored"] += len(done)
    if done:
        log.info("Resuming %s: %d of %d tasks already stored, %d to compute.",
                 name, len(done), len(done) + len(todo), len(todo))
    if bar.total is None or bar.total < bar.n + len(done) + len(todo):
        bar.total = bar.n + len(done) + len(todo)
        bar.refresh()
    bar.update(len(done))
    by_key = {t.key: t for t in todo}
    taken = {}
    pending = _not_stored_meanwhile(todo, cells_dir, taken, bar)
    for key, rows in execute(run_task, pending, backend=backend, workers=workers,
                             scheduler=scheduler):
        task = by_key[key]
        done[key] = store.write_cell(cells_dir / task.filename, rows, key)
        errs = sum(r.get("status") == "error" for r in rows)
        if errs:
            first = next(r.get("error", "") for r in rows if r.get("status") == "error")
            log.warning("%s on %s: %d trial(s) raised (%s)", task.solver.label,
                        _cell_text(task.coords), errs, first)
        stats["computed"] += 1
        stats["errors"] += errs
        bar.update(1)
        bar.set_postfix(errors=stats["errors"])
    stats["stored"] += len(taken)  # stored by another run sharing ``out`` meanwhile
    done.update(taken)
    return done


def timing_summary(df, wall, stats):
    """Where a sweep's time went: wall time, solve time per solver, tasks computed/stored.

    Parameters
    ----------
    df : pandas.DataFrame
        The sweep's rows (``solver`` and ``solve_time``, or ``time``; without
        them the per-solver part is empty).
    wall : float
        Wall-clock seconds of the run.
    stats : dict
        ``computed`` and ``stored`` task counts.

    Returns
    -------
    dict
        ``wall_s``, ``tasks_computed``, ``tasks_stored`` (reused from the store),
        ``rows`` and, per solver, ``solves``, ``solve_s`` (sum of solve times)
        and ``ms_per_solve``.
    """
    per = {}
    col = next((c for c in ("solve_time", "time") if c in df.columns), None)
    if col is None or "solver" not in df.columns:  # a runner without solve times
        return {"wall_s": round(float(wall), 3), "tasks_computed": int(stats["computed"]),
                "tasks_stored": int(stats["stored"]), "rows": int(len(df)), "solvers": per}
    for solver, g in df.groupby("solver", sort=False):
        t = g[col].astype(float)
        total = float(np.nansum(t))
        per[str(solver)] = {"solves": int(len(g)), "solve_s": round(total, 3),
                            "ms_per_solve": round(1e3 * total / max(len(g), 1), 3)}
    return {"wall_s": round(float(wall), 3), "tasks_computed": int(stats["computed"]),
            "tasks_stored": int(stats["stored"]), "rows": int(len(df)), "solvers": per}


def format_timing(timing):
    """The timing summary as a few lines of text (printed at the end of every sweep).

    Parameters
    ----------
    timing : dict
        From :func:`timing_summary`.

    Returns
    -------
    str
        The summary.
    """
    lines = [f"Timing: wall {timing['wall_s']:.1f} s; tasks computed "
             f"{timing['tasks_computed']}, reused from the store {timing['tasks_stored']}; "
             f"{timing['rows']} rows."]
    for solver, t in timing["solvers"].items():
        lines.append(f"  {solver:<40s} {t['solves']:>7d} solves  {t['solve_s']:>9.2f} s  "
                     f"({t['ms_per_solve']:.2f} ms per solve)")
    return "\n".join(lines)


def _cell_text(coords):
    """``n=40, delta=0.3, ...``: a cell's coordinates for a log line."""
    return ", ".join(f"{k}={v.item() if hasattr(v, 'item') else v}" for k, v in coords)


def load_results(out):
    """Read a stored sweep: ``(results DataFrame, metadata dict)`` (see :func:`store.load_results`)."""
    return store.load_results(out)
