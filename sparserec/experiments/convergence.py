"""Convergence traces: objective and distance to the truth vs iteration and vs time.

Run ``sparserec-convergence --help`` (from a clone: ``python -m
experiments.convergence --help``). One problem family (``m``, ``n``, ``k``,
matrix ensemble, e.g. ``--matrix conditioned --kappa 100``)
and any set of solvers; ``--trials`` seeded instances, shared by every
solver. Writes into ``--out``:

``results.parquet``
    One row per (solver, trial) with the final ``rel_error``, ``success``,
    ``n_iter``, ``status`` and the list columns ``objective`` (½‖Ax − y‖²),
    ``distance`` (‖x − x*‖/‖x*‖) and ``time`` (cumulative seconds in the
    solver), each starting at iteration 0 (x = 0).
``metadata.json``, ``summary.csv``
    Run metadata; per-solver medians of the final error, iterations and time.
``convergence.png``
    Four panels, mean ± std bands over trials (of log10 values).

It uses the same harness (seeding, store, backends, resume) as
:mod:`sparserec.experiments.phase_transition`; ``--plot-only`` redraws from the
stored table.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sparserec import solvers as _solvers
from sparserec.ensembles import MATRICES, SIGNALS

from sparserec.harness import Sweep, load_results, run_sweep, store
from sparserec.harness.cli import (ArgumentParser, add_problem_options, add_run_options,
                                   check_memory, check_out, check_size, check_solvers,
                                   done_line, headless_figures, _positive_int, recovery_probes,
                                   resolve_backend, resolve_solvers, setup_logging, size_int)
from sparserec.harness.plotting import convergence_figure, save, style

__all__ = ["record_history", "make_sweep", "analyze", "build_parser", "main"]

#: Program name in ``--help`` and error lines (runs from a clone and from an install).
PROG = "python -m sparserec.experiments.convergence"
DEFAULT_OUT = "results/convergence"

DEFAULT_SOLVERS = ["iht", "iht:step=normalized", "htp", "cosamp", "subspace_pursuit",
                   "topk_iobs:damping=0.01"]


def record_history(solver, problem, *, threshold):
    """Runner: solve with a callback recording ‖x − x*‖/‖x*‖ at every iteration.

    Returns
    -------
    list of dict
        Per column: ``rel_error``, ``success``, ``n_iter``, ``status``,
        ``reason``, ``error``, ``solve_time`` and the lists ``objective``,
        ``distance``, ``time`` (iteration 0 first). The callback's time is not
        counted by the solver.
    """
    Xt = problem.X_true
    scale = np.linalg.norm(Xt, axis=0)
    scale[scale == 0] = 1.0
    dists = []

    def callback(info):
        X = np.asarray(info["x"], dtype=float).reshape(problem.n, -1)
        dists.append(np.linalg.norm(X - Xt, axis=0) / scale)
        return False

    res = solver.solve(problem, callback=callback)
    T = problem.n_signals
    hist = res.history or {}
    obj = np.asarray(hist.get("objective", np.zeros((0, T))), dtype=float).reshape(-1, T)
    tim = np.asarray(hist.get("time", np.zeros(0)), dtype=float).ravel()
    D = np.asarray(dists, dtype=float).reshape(-1, T)
    obj0 = 0.5 * np.einsum("ij,ij->j", problem.Y, problem.Y)
    rel = np.atleast_1d(np.asarray(res.rel_error, dtype=float))
    n_iter = np.broadcast_to(np.asarray(res.n_iter), (T,))
    status = np.broadcast_to(np.asarray(res.status, dtype=object), (T,))
    reason = np.broadcast_to(np.asarray(res.reason, dtype=object), (T,))
    rows = []
    for j in range(T):
        L = int(n_iter[j])
        rows.append({
            "rel_error": float(rel[j]), "success": bool(rel[j] <= threshold),
            "n_iter": L, "status": str(status[j]), "reason": str(reason[j]), "error": "",
            "solve_time": float(res.solve_time) / T,
            "objective": [float(obj0[j])] + obj[:L, j].tolist(),
            "distance": [1.0] + D[:L, j].tolist(),
            "time": [0.0] + (tim[:L] / T).tolist(),
        })
    return rows


def make_sweep(solvers, *, m, n, k, trials, seed=0, matrix="gaussian", signal="gaussian",
               noise=0.0, threshold=1e-3, mode="fresh", kappa=None, corr=None):
    """The convergence sweep: one cell, every solver, ``trials`` instances (5 per task)."""
    cell = {"matrix": matrix}
    if matrix == "conditioned":
        cell["kappa"] = 10.0 if kappa is None else kappa
    if matrix == "correlated":
        cell["r"] = 0.5 if corr is None else corr
    cell.update({"signal": signal, "noise": noise, "n": n, "m": m, "k": k})
    return Sweep(solvers, [cell], trials=trials, seed=seed, mode=mode, threshold=threshold,
                 name="convergence", runner=record_history, trials_per_task=5)


def analyze(out, title=None):
    """Read ``out/results.parquet``; write ``summary.csv`` and ``convergence.png``."""
    out = Path(out)
    df, meta = load_results(out)
    summary = (df.groupby("solver", sort=False)
               .agg(trials=("trial", "nunique"), success_rate=("success", "mean"),
                    median_rel_error=("rel_error", "median"), median_n_iter=("n_iter", "median"),
                    median_solve_time=("solve_time", "median"),
                    errors=("status", lambda s: int((s == "error").sum())))
               .reset_index())
    store.atomic_write_bytes(out / "summary.csv", summary.to_csv(index=False).encode())
    if title is None and len(df):
        r = df.iloc[0]
        kap = f", κ={r['kappa']:g}" if "kappa" in df and pd.notna(r.get("kappa")) else ""
        title = (f"{r['matrix']}{kap}, m={r['m']}, n={r['n']}, k={r['k']}, {r['signal']} "
                 f"signal, {df['trial'].nunique()} trials")
    with style():
        fig_path = save(convergence_figure(df, title=title), out / "convergence.png")
    return {"results": df, "summary": summary, "figures": [fig_path], "metadata": meta}


def build_parser():
    """The command-line parser."""
    p = ArgumentParser(
        prog=PROG,
        description="Objective and distance to the truth vs iteration and vs time for a set "
                    "of solvers on one seeded problem family (mean ± std over trials).",
        epilog="Example: %(prog)s --matrix conditioned --kappa 100 "
               "--m 128 --n 256 --k 10 --solver iht --solver topk_iobs --out results/conv")
    g = p.add_argument_group("problem and solvers")
    g.add_argument("--m", type=size_int, default=128,
                   help="measurements (default: %(default)s)")
    g.add_argument("--n", type=size_int, default=256,
                   help="unknowns (default: %(default)s)")
    g.add_argument("--k", type=size_int, default=12,
                   help="sparsity, <= n (default: %(default)s)")
    g.add_argument("--trials", type=_positive_int, default=10,
                   help="seeded instances, >= 1 (default: %(default)s)")
    g.add_argument("--solver", action="append", default=None, metavar="SPEC",
                   help="solver, repeatable: 'name' or 'name:key=value,...'. Default: "
                        + ", ".join(DEFAULT_SOLVERS) + " (those registered)")
    g.add_argument("--max-iter", type=_positive_int, default=300,
                   help="max_iter given to every solver that has one and does not set it "
                        "(default: %(default)s)")
    add_problem_options(p, MATRICES, SIGNALS, "gaussian")
    add_run_options(p, default_out=DEFAULT_OUT)
    return p


def _probes(parser, args):
    """A tiny problem of the same kind (``m < n`` or ``m >= n``, same ensemble) as the cell."""
    n = min(args.n, 32)
    m = max(1, round(args.m * n / args.n))
    m = min(m, n - 1) if args.m < args.n else max(m, n)
    cell = {"matrix": args.matrix}
    if args.matrix == "conditioned":
        cell["kappa"] = 10.0 if args.kappa is None else args.kappa
    if args.matrix == "correlated":
        cell["r"] = 0.5 if args.corr is None else args.corr
    cell.update({"signal": args.signal, "noise": args.noise, "n": n})
    try:
        return recovery_probes(cell, [{"m": m, "k": 1}])
    except ValueError as exc:
        parser.error(f"cannot build this experiment's problems: {exc}")


def main(argv=None):
    """Entry point of ``sparserec-convergence`` and of its ``python -m`` commands."""
    parser = build_parser()
    args = parser.parse_args(argv)
    headless_figures()
    if args.k > args.n:
        parser.error(f"argument --k: must be <= n={args.n}; got {args.k}")
    if args.corr is not None and not -1 < args.corr < 1:
        parser.error(f"argument --corr: must be in (-1, 1); got {args.corr:g}")
    check_memory(parser, "--n", args.m, args.n, args.matrix)
    setup_logging(args.quiet, "convergence")
    out = DEFAULT_OUT if args.out is None else args.out
    t0 = time.perf_counter()
    if not args.plot_only:
        names = set(_solvers.available())
        texts = args.solver or [s for s in DEFAULT_SOLVERS if s.split(":")[0] in names]
        specs = [s.with_defaults(max_iter=args.max_iter) for s in resolve_solvers(parser, texts)]
        n_tasks = len(specs) * -(-args.trials // 5)
        check_size(parser, n_tasks, len(specs) * args.trials)
        check_solvers(parser, specs, _probes(parser, args))
        backend, workers, scheduler = resolve_backend(parser, args)
        out = check_out(parser, out)
        sweep = make_sweep(specs, m=args.m, n=args.n, k=args.k, trials=args.trials,
                           seed=args.seed, matrix=args.matrix, signal=args.signal,
                           noise=args.noise, threshold=args.threshold, mode=args.batch or "fresh",
                           kappa=args.kappa, corr=args.corr)
        try:
            run_sweep(sweep, out, backend=backend, workers=workers, scheduler=scheduler,
                      resume=args.resume, quiet=args.quiet)
        except KeyboardInterrupt:
            parser.exit(130, f"{parser.prog}: interrupted; rerun the same command to resume\n")
        res = analyze(out)
    else:
        if not (Path(out) / store.RESULTS).exists():
            parser.error(f"argument --plot-only: no {store.RESULTS} in {out}; run the "
                         "experiment first")
        out = check_out(parser, out)
        try:
            res = analyze(out)
        except (store.StoreError, KeyError, ValueError, TypeError, IndexError) as exc:
            parser.error(f"argument --plot-only: cannot redraw from {out}: "
                         f"{type(exc).__name__}: {exc}")
    if not args.quiet:
        with pd.option_context("display.width", 120, "display.max_columns", 10):
            print(res["summary"].to_string(index=False))
        print(done_line(time.perf_counter() - t0, out, [store.RESULTS, store.METADATA,
                                                       "summary.csv", "convergence.png"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
