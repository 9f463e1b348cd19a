"""Shared helpers for the scripts in ``paper_figures/`` (not a figure itself).

Every figure script follows the same shape:

* ``compute(args)`` runs the experiment and writes tidy CSV tables;
* ``plot(out_dir)`` reads **only** those CSV tables and draws the PNG;
* ``main(argv)`` parses the common command line (:func:`parse_args`) and runs
  both (``--plot-only`` skips the compute step).

Command line shared by the scripts::

    --smoke        tiny sizes; results go to --out (default: a fresh temporary
                   directory), never into paper_figures/
    --out DIR      output directory (default: paper_figures/)
    --plot-only    redraw the PNG from the stored CSV tables
    --seed INT     master seed of the SeedSequence tree (default 20240)

The shared matplotlib style is the harness's single style file
(``sparserec.harness.plotting.STYLE``).
"""
from __future__ import annotations

import argparse
import logging
import os
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

import sparserec
from sparserec import solvers
from sparserec.harness.plotting import STYLE

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

log = logging.getLogger("paper_figures")

DEFAULT_SEED = 20240


# ----------------------------------------------------------------- command line
def parse_args(description, argv=None, extra=None, seed_default=DEFAULT_SEED):
    """Parse the command line shared by the figure scripts.

    Parameters
    ----------
    description : str
        The script's docstring (shown by ``--help``).
    argv : list of str or None
    extra : callable or None
        ``extra(parser)`` adds script-specific options.
    seed_default : int
        Default of ``--seed``.

    Returns
    -------
    argparse.Namespace
        With ``out`` resolved to an existing :class:`pathlib.Path`.
    """
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes (seconds); writes into --out or a temporary directory")
    parser.add_argument("--out", type=Path, default=None,
                        help="output directory (default: paper_figures/, or a temporary "
                             "directory with --smoke)")
    parser.add_argument("--plot-only", action="store_true",
                        help="only redraw the figure from the stored CSV tables")
    parser.add_argument("--seed", type=int, default=seed_default,
                        help=f"master seed (default {seed_default})")
    if extra is not None:
        extra(parser)
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = Path(tempfile.mkdtemp(prefix="sparserec-smoke-")) if args.smoke else HERE
    args.out = Path(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return args


# ------------------------------------------------------------------ metadata
def git_revision():
    """The repository's HEAD commit (read-only query), or "unknown"."""
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        rev = out.stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True,
                               timeout=10).stdout.strip()
        return (rev + ("+dirty" if dirty else "")) if rev else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def metadata(seed, **extra):
    """Metadata columns added to every summary table (STYLE.md item 11)."""
    meta = {"sparserec_version": sparserec.__version__, "git_rev": git_revision(),
            "master_seed": int(seed)}
    meta.update(extra)
    return meta


def trial_seed(master, *key):
    """``SeedSequence`` of one trial, keyed by (master seed, figure key, trial index).

    Independent of execution order: the same key always gives the same stream.
    Integer keys only (string keys are hashed to a stable integer).
    """
    ints = []
    for part in key:
        if isinstance(part, str):
            ints.append(int.from_bytes(part.encode()[:8].ljust(8, b"\0"), "little"))
        else:
            ints.append(int(part))
    return np.random.SeedSequence(int(master), spawn_key=tuple(ints))


# -------------------------------------------------------------------- solvers
def solver(name, **params):
    """``sparserec.solvers.get(name, **params)`` (one place to adapt if the API moves)."""
    return solvers.get(name, **params)


def run_traced(problem, solver_obj, x0=None):
    """Solve and record ``‖x_t − x_true‖`` after every iteration (callback, untimed).

    Returns
    -------
    result : Result
    distance : ndarray of shape (n_iter + 1,)
        Entry 0 is the start ``x0`` (zeros when None), entry t the iterate after
        iteration t.
    objective : ndarray of shape (n_iter + 1,)
        ``½‖Ax_t − y‖²``, same indexing.
    """
    x_true = problem.x_true
    start = np.zeros(problem.n) if x0 is None else np.asarray(x0, dtype=float)
    dist = [float(np.linalg.norm(start - x_true))]
    r0 = problem.y - (problem.A @ start)
    obj0 = 0.5 * float(r0 @ r0)

    def callback(info):
        dist.append(float(np.linalg.norm(info["x"] - x_true)))
        return False

    res = solver_obj.solve(problem, x0=x0, callback=callback)
    obj = np.concatenate([[obj0], np.atleast_1d(res.history["objective"])])
    return res, np.asarray(dist), obj


# -------------------------------------------------------------------- plotting
def style_file():
    """The harness's single style file (``sparserec.harness.plotting.STYLE``)."""
    return Path(STYLE)


@contextmanager
def figure_style():
    """Context in which figures use the shared style (drawn into files: the Agg backend)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    with plt.style.context(str(style_file())):
        yield plt


def mean_std_band(ax, x, mean, std, *, label, color=None, log=False):
    """Plot ``mean`` with a ``± std`` band (clipped above 0 on a log axis)."""
    line, = ax.plot(x, mean, label=label, color=color)
    lo = mean - std
    if log:
        lo = np.maximum(lo, mean * 1e-2)
    ax.fill_between(x, lo, mean + std, color=line.get_color(), alpha=0.25, linewidth=0)
    return line


def log_band(ax, x, values_by_run, *, label, color=None):
    """Geometric mean over runs with a band of ± one standard deviation of log10.

    ``values_by_run`` has shape (n_runs, len(x)), all values > 0. Used when the
    runs spread over orders of magnitude, where an arithmetic mean ± std is
    dominated by the worst run and its lower edge is negative.
    """
    L = np.log10(np.asarray(values_by_run, dtype=float))
    mean, std = L.mean(axis=0), (L.std(axis=0, ddof=1) if L.shape[0] > 1 else 0 * L[0])
    line, = ax.plot(x, 10 ** mean, label=label, color=color)
    ax.fill_between(x, 10 ** (mean - std), 10 ** (mean + std), color=line.get_color(),
                    alpha=0.25, linewidth=0)
    return line


# ---------------------------------------------------------------------- misc
def run_figure(doc, name, compute, plot, argv=None, **parse_kw):
    """The ``main`` of a figure script: parse, compute (unless ``--plot-only``), plot.

    Parameters
    ----------
    doc : str
        The script's docstring (its ``--help``).
    name : str
        The figure's name, used in the closing log line.
    compute : callable
        ``compute(args)`` runs the experiment and writes the CSV tables.
    plot : callable
        ``plot(out_dir)`` draws the PNG from those tables only.
    argv : list of str or None
    **parse_kw
        Passed to :func:`parse_args` (``extra``, ``seed_default``).
    """
    args = parse_args(doc, argv, **parse_kw)
    with Timer() as t:
        if not args.plot_only:
            compute(args)
        plot(args.out)
    log.info("%s: done in %.1f s (output in %s)", name, t.seconds, args.out)


class Timer:
    """Wall-clock timer: ``with Timer() as t: ...; t.seconds``."""

    def __enter__(self):
        self._t0 = time.perf_counter()
        self.seconds = float("nan")
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._t0
        return False


def n_jobs_default():
    """Workers for joblib: the CPUs available to this process (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


# ------------------------------------------------------- prior experiments
def run_trials(make_trial, methods, n_runs, seed, key, thin=1, blas_threads=1):
    """Run every method on ``n_runs`` seeded trials and record traced curves.

    Parameters
    ----------
    make_trial : callable
        ``make_trial(run, rng) -> (problem, x0, extra)`` with ``extra`` a dict of
        per-trial columns (for example the MNIST image index).
    methods : list of dict
        Each with ``name`` (column value), ``make`` (``make(problem) -> Solver``)
        and ``loss_scale`` (the plotted loss is ``loss_scale · ½‖Ax − y‖²``).
    n_runs : int
    seed : int
        Master seed; trial ``r`` uses :func:`trial_seed` ``(seed, key, r)``.
    key : str
        Figure key in the seed tree.
    thin : int
        Keep every ``thin``-th iteration in the curve table (plus the last one).
    blas_threads : int or None
        BLAS threads while solving (1 by default, as in the harness: these
        products are too small to gain from threads, and on a shared machine
        spinning BLAS threads cost several times the single-thread time).

    Returns
    -------
    curves : pandas.DataFrame
        One row per (method, run, iteration): ``loss``, ``distance``.
    runs : pandas.DataFrame
        One row per (method, run): final distance and loss, distance after one
        iteration, ``iters_to_rel_1e-6`` (first iteration with
        ‖θ_t − θ*‖ ≤ 1e-6‖θ*‖, −1 if never), solve time, status.
    trials : list
        ``(problem, x0, extra, {method: Result})`` per run (for images).
    """
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=blas_threads):
        return _run_trials(make_trial, methods, n_runs, seed, key, thin)


def _run_trials(make_trial, methods, n_runs, seed, key, thin):
    import pandas as pd
    curve_rows, run_rows, trials = [], [], []
    for run in range(n_runs):
        ss = trial_seed(seed, key, run)
        rng = np.random.default_rng(ss)
        problem, x0, extra = make_trial(run, rng)
        results = {}
        for meth in methods:
            res, dist, obj = run_traced(problem, meth["make"](problem), x0=x0)
            results[meth["name"]] = res
            loss = meth["loss_scale"] * obj
            its = np.arange(dist.size)
            keep = (its % thin == 0) | (its == its[-1])
            curve_rows.append(pd.DataFrame({
                "method": meth["name"], "run": run, "iteration": its[keep],
                "loss": loss[keep], "distance": dist[keep]}))
            run_rows.append({"method": meth["name"], "run": run,
                             "seed_spawn_key": "/".join(map(str, ss.spawn_key)),
                             **extra, "n_iter": int(res.n_iter), "status": res.status,
                             "final_distance": float(dist[-1]), "final_loss": float(loss[-1]),
                             "distance_after_1": float(dist[min(1, dist.size - 1)]),
                             "x_true_norm": float(np.linalg.norm(problem.x_true)),
                             "iters_to_rel_1e-6": _first_below(dist, 1e-6 * np.linalg.norm(
                                 problem.x_true)),
                             "solve_time_s": float(res.solve_time)})
        trials.append((problem, x0, extra, results))
    return pd.concat(curve_rows, ignore_index=True), pd.DataFrame(run_rows), trials


def _first_below(values, level):
    """First index t with ``values[t] <= level``, or -1 when never reached."""
    hit = np.flatnonzero(np.asarray(values) <= level)
    return int(hit[0]) if hit.size else -1


def summarize(runs, paper=None, **columns):
    """Per-method summary of a ``runs`` table (mean/std/median of the finals).

    ``paper`` maps method → the paper's reported final ‖θ − θ*‖ (None: no such
    column).
    """
    import pandas as pd
    rows = []
    for name, grp in runs.groupby("method", sort=False):
        d = grp["final_distance"].to_numpy()
        rows.append({"method": name, "n_runs": int(len(grp)),
                     "final_distance_mean": float(d.mean()),
                     "final_distance_std": float(d.std(ddof=1)) if d.size > 1 else 0.0,
                     "final_distance_median": float(np.median(d)),
                     "final_distance_min": float(d.min()), "final_distance_max": float(d.max()),
                     **({} if paper is None else
                        {"paper_final_distance": paper.get(name, float("nan"))}),
                     "final_loss_mean": float(grp["final_loss"].mean()),
                     "solve_time_mean_s": float(grp["solve_time_s"].mean()),
                     **columns})
    return pd.DataFrame(rows)


def report(summary, title):
    """Log the measured final distances next to the paper's."""
    log.info("%s: final ||theta - theta*|| (mean ± std over runs) vs the paper", title)
    for row in summary.itertuples():
        paper = getattr(row, "paper_final_distance", float("nan"))
        log.info("  %-12s %10.4g ± %-9.3g (median %.4g)   paper: %s", row.method,
                 row.final_distance_mean, row.final_distance_std, row.final_distance_median,
                 "n/a" if not np.isfinite(paper) else f"{paper:g}")


def write_table(df, path, digits=8):
    """Write a CSV table (floats with ``digits`` significant digits) and return its path."""
    df.to_csv(path, index=False, float_format=f"%.{int(digits)}g")
    log.info("wrote %s (%d rows)", path, len(df))
    return path
