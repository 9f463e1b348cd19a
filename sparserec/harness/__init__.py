"""The experiment harness: seeded sweeps over grids of cells, resumable, on any backend.

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
  ``out/cells/<solver>__<key>.parquet`` (see :mod:`sparserec.harness.store`); at
  the end ``out/results.parquet`` (all rows, grid order) and
  ``out/metadata.json`` are written. Rerunning the same sweep resumes: valid
  cell files are reused, missing ones computed, and truncated or corrupt
  ones reported (``logging.warning``) and recomputed. The task key hashes
  everything that determines a task's rows: the solver with its *resolved*
  hyperparameters (``get_params()`` of the constructed solver, defaults
  included), the cell, trials, seed, mode, success threshold, builder,
  runner, and a fingerprint of the code (:attr:`Sweep.code`:
  :func:`~sparserec.harness.metadata.source_hash` of sparserec and of the
  builder's and runner's modules, comments and docstrings excluded). So a
  changed default or an edited solver computes new files instead of reusing
  stale ones; the files of old keys stay in ``out/cells`` (counted in a log
  note) until ``resume=False`` (``--fresh``) deletes them.
- **Shared output folders.** Several runs may use one ``out`` at once: cell
  files are written and read under a lock, a run skips the tasks another run
  has stored meanwhile, temporary files of live writers are never deleted,
  and every run ends with a complete ``results.parquet``.
- **Errors.** An exception raised while building a cell's problems or
  inside a solver does not stop the sweep: the affected trials get rows
  with ``status="error"``, ``error="<Type>: <message>"``, ``success=False``
  and ``rel_error=NaN``. They are stored like any other row (a rerun does not
  retry them; use ``--fresh``), counted in the progress bar, and logged.
- **Backends.** ``"serial"``, ``"joblib"`` (all cores, default; workers exit
  when their parent dies, even by SIGKILL) and
  ``"dask"`` (``scheduler="local"`` starts a LocalCluster on 127.0.0.1,
  ``"tcp://HOST:PORT"`` joins a cluster); see :mod:`sparserec.harness.backends`.
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

Companions: :func:`fit_transitions` (logistic 50 % points per solver × δ,
:mod:`sparserec.harness.fitting`), :mod:`sparserec.harness.plotting`
(``style()``, ``save(fig, path)``, ``phase_heatmap``, ``transition_plot``,
``convergence_figure``; the one style file ``sparserec.mplstyle`` beside it),
:mod:`sparserec.harness.cli` (the shared options
``add_run_options``/``resolve_backend`` and one-line argument errors). The
runnable experiments built on the harness are in :mod:`sparserec.experiments`.

Modules, one job each: :mod:`~sparserec.harness.specs` (solver specs),
:mod:`~sparserec.harness.seeds` (the seeding contract),
:mod:`~sparserec.harness.cells` (building a cell's problems),
:mod:`~sparserec.harness.tasks` (running one task),
:mod:`~sparserec.harness.sweep` (sweeps, running and resuming),
:mod:`~sparserec.harness.metadata`, :mod:`~sparserec.harness.store`,
:mod:`~sparserec.harness.backends`, :mod:`~sparserec.harness.fitting`,
:mod:`~sparserec.harness.plotting` (imported on demand: it loads matplotlib)
and :mod:`~sparserec.harness.cli`.

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
>>> from sparserec.harness import Sweep, run_sweep
>>> sweep = Sweep(["iht:step=normalized", "htp"],
...               {"n": [64], "delta": [0.5], "rho": [0.1, 0.2]}, trials=3, seed=1)
>>> len(sweep.tasks())
4
"""
from __future__ import annotations

from .cells import MODES, Batch, dims, recovery_problems
from .fitting import fit_logistic, fit_transitions, success_table
from .metadata import sweep_metadata
from .seeds import coords_key, matrix_seed, trial_seed
from .specs import SolverSpec
from .sweep import Sweep, load_results, run_sweep
from .tasks import TIMING_COLUMNS, Task, run_task, solve_and_score

__all__ = ["SolverSpec", "Sweep", "Task", "Batch", "run_sweep", "run_task", "load_results",
           "recovery_problems", "solve_and_score", "trial_seed", "matrix_seed", "coords_key",
           "dims", "TIMING_COLUMNS", "MODES", "sweep_metadata", "fit_transitions",
           "fit_logistic", "success_table"]
