"""Empirical phase transitions: success probability over (δ = m/n, ρ = k/m).

Run ``sparserec-phase-transition --help`` for the options (from a clone:
``python -m experiments.phase_transition --help``). The command computes
(resumably, on the chosen backend) a sweep of solvers × δ × ρ with
``--trials`` trials per cell and writes into ``--out``:

``results.parquet``
    One row per (solver, parameters, cell, trial): ``solver, solver_name,
    params, matrix, signal, noise, n, delta, rho, trial, mode, batch_size,
    seed, seed_key, m, k, rel_error, success, n_iter, status, reason, error,
    solve_time`` (plus ``kappa``/``r`` for those ensembles).
``metadata.json``
    Versions, git revision, master seed, grid, solvers, options.
``fit50.csv``
    Per solver × δ: the logistic 50 % point ``rho50``, its 95 %
    profile-likelihood confidence interval ``rho50_lo``, ``rho50_hi``, the
    90 %/10 % points and their width (ALGORITHMS.md §2.4), the Donoho–Tanner
    ℓ1 ρ at that δ, and ``status``/``ci_status`` (why a value is NaN; see
    :func:`sparserec.harness.fit_transitions`).
``heatmap_<solver>.png``, ``transitions.png``
    A success-probability heat map per solver, and the fitted 50 % curves of
    every solver with the 95 % intervals of ρ₅₀; the theoretical
    Donoho–Tanner ℓ1 curve is drawn on each.

Presets: ``default`` is a quick but meaningful diagram (n = 500, 9 δ × 12 ρ,
10 trials, common matrices; about a minute on 2 cores); ``paper`` is the
scale papers publish at, n = 1000, 19 δ (0.05…0.95) × 36 ρ (0.025…0.9), 50
trials, common matrices and adaptive ρ sampling (about a quarter of an hour
on 2 cores; the README gives the measured time). Explicit options override
the preset.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from sparserec import solvers as _solvers
from sparserec.ensembles import MATRICES, SIGNALS

from sparserec.harness import Sweep, dims, fit_transitions, load_results, run_sweep, store
from sparserec.harness.cli import (ArgumentParser, add_problem_options, add_run_options,
                                   check_memory, check_out, check_size, check_solvers,
                                   done_line, float_list, headless_figures, _positive_int,
                                   recovery_probes, resolve_backend, resolve_solvers,
                                   setup_logging, size_int)
from sparserec.harness.plotting import phase_figures

__all__ = ["PRESETS", "build_parser", "make_sweep", "analyze", "main"]

#: Program name in ``--help`` and error lines (runs from a clone and from an install).
PROG = "python -m sparserec.experiments.phase_transition"

_SOLVERS = ["iht:step=normalized,max_iter=300,stall=30", "htp", "cosamp:max_iter=100,stall=15",
            "subspace_pursuit", "omp",
            "iobs", "basis_pursuit"]

#: Preset grids. ``solvers`` lists candidates; those not registered at run time are skipped.
#: ``batch`` and ``adaptive`` are the sampling defaults (see the module docstring).
PRESETS = {
    "default": {"n": 500, "deltas": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
                "rhos": [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8],
                "trials": 10, "solvers": _SOLVERS, "batch": "common", "adaptive": False,
                "out": "results/phase_transition"},
    "paper": {"n": 1000, "deltas": [round(0.05 * i, 2) for i in range(1, 20)],
              "rhos": [round(0.025 * i, 3) for i in range(1, 37)],
              "trials": 50, "solvers": _SOLVERS, "batch": "common", "adaptive": True,
              "out": "results/phase_transition_paper"},
}


def build_parser():
    """The command-line parser (every option is documented in ``--help``)."""
    p = ArgumentParser(
        prog=PROG,
        description="Empirical phase transitions of sparse-recovery solvers over "
                    "δ = m/n and ρ = k/m, with the Donoho–Tanner ℓ1 curve for reference. "
                    "Resumable: rerun the same command after an interruption.",
        epilog="Example: %(prog)s --solver iht "
               "--solver 'iobs:selection=saliency' --n 400 --deltas 0.1:0.9:0.1 "
               "--rhos 0.05,0.1,0.2,0.3 --trials 20 --out results/pt")
    g = p.add_argument_group("sweep")
    g.add_argument("--preset", choices=list(PRESETS), default="default",
                   help="default: n=500, 9 δ × 12 ρ, 10 trials, common matrices (about a "
                        "minute on 2 cores); paper: n=1000, 19 δ (0.05..0.95) × 36 ρ "
                        "(0.025..0.9), 50 trials, common matrices, adaptive ρ sampling. "
                        "Other options override the preset's values")
    g.add_argument("--solver", action="append", default=None, metavar="SPEC",
                   help="solver to run, repeatable; 'name' or 'name:key=value,key=value' "
                        "with Python-literal values, e.g. --solver iht --solver "
                        "'iobs:selection=saliency'. Default: the preset's list "
                        "(" + ", ".join(_SOLVERS) + ", those registered)")
    g.add_argument("--n", type=size_int, default=None,
                   help="signal length n (default: the preset's, 200 or 1000)")
    g.add_argument("--deltas", type=float_list, default=None, metavar="DELTAS",
                   help="δ = m/n values in (0, 1], '0.1,0.2,0.5' or 'start:stop:step' "
                        "(m = ceil(δn))")
    g.add_argument("--rhos", type=float_list, default=None, metavar="RHOS",
                   help="ρ = k/m values in (0, 1] (k = max(1, round(ρm)))")
    g.add_argument("--trials", type=_positive_int, default=None,
                   help="trials per cell, >= 1 (default: the preset's, 10 or 50)")
    g.add_argument("--adaptive", dest="adaptive", action="store_true", default=None,
                   help="adaptive ρ sampling: per δ, bisect for the band between 5 %% and "
                        "95 %% success with --probe-trials trials per probe, then "
                        "run the full --trials only there and on one cell each side "
                        "(rows say which cells were computed; default: the preset's, "
                        "on for paper)")
    g.add_argument("--no-adaptive", dest="adaptive", action="store_false",
                   help="compute every cell of the grid (default for the default preset)")
    g.add_argument("--probe-trials", type=_positive_int, default=10, metavar="T",
                   help="trials per bisection probe with --adaptive, >= 1 "
                        "(default: %(default)s)")
    add_problem_options(p, MATRICES, SIGNALS, "rademacher")
    add_run_options(p, default_out=f"{PRESETS['default']['out']}, or "
                                   f"{PRESETS['paper']['out']} with --preset paper")
    return p


def _check_args(parser, args):
    preset = PRESETS[args.preset]
    n = preset["n"] if args.n is None else args.n
    if n < 1:
        parser.error(f"argument --n: must be >= 1; got {n}")
    deltas = preset["deltas"] if args.deltas is None else args.deltas
    rhos = preset["rhos"] if args.rhos is None else args.rhos
    for name, vals, sym in (("--deltas", deltas, "δ"), ("--rhos", rhos, "ρ")):
        bad = [v for v in vals if not 0 < v <= 1]
        if bad:
            parser.error(f"argument {name}: every {sym} must be in (0, 1]; got {bad[0]:g}")
    trials = preset["trials"] if args.trials is None else args.trials
    if trials < 1:
        parser.error(f"argument --trials: must be >= 1; got {trials}")
    if args.probe_trials < 1:
        parser.error(f"argument --probe-trials: must be >= 1; got {args.probe_trials}")
    if args.corr is not None and not -1 < args.corr < 1:
        parser.error(f"argument --corr: must be in (-1, 1); got {args.corr:g}")
    check_memory(parser, "--n", dims({"n": n, "delta": max(deltas), "rho": 0})[1], n,
                 args.matrix)
    return n, sorted(set(deltas)), sorted(set(rhos)), trials


def _cell_base(matrix, kappa, corr, signal, noise, n):
    """The coordinates every cell shares: ``{matrix, [kappa | r], signal, noise, n}``."""
    base = {"matrix": matrix}
    if matrix == "conditioned":
        base["kappa"] = 10.0 if kappa is None else kappa
    if matrix == "correlated":
        base["r"] = 0.5 if corr is None else corr
    base.update({"signal": signal, "noise": noise, "n": n})
    return base


def _probes(parser, args, deltas, rhos):
    """Tiny problems at the smallest and the largest δ (smallest ρ), built like the cells."""
    base = _cell_base(args.matrix, args.kappa, args.corr, args.signal, args.noise, 32)
    values = [{"delta": d, "rho": min(rhos)} for d in dict.fromkeys((min(deltas), max(deltas)))]
    try:
        return recovery_probes(base, values)
    except ValueError as exc:
        parser.error(f"cannot build this experiment's problems: {exc}")


def make_sweep(solvers, *, n, deltas, rhos, trials, seed=0, matrix="gaussian",
               signal="rademacher", noise=0.0, threshold=1e-3, mode="fresh", kappa=None,
               corr=None, preset=None, adaptive=False, probe_trials=10):
    """The phase-transition sweep (a :class:`~sparserec.harness.Sweep`).

    Cells are ``{matrix, [kappa | r], signal, noise, n, delta, rho}`` in that
    order (δ outer, ρ inner). ``mode``, ``adaptive`` and ``probe_trials`` are
    the :class:`~sparserec.harness.Sweep` options of the same names.
    """
    grid = {key: [value] for key, value in
            _cell_base(matrix, kappa, corr, signal, noise, n).items()}
    grid.update({"delta": list(deltas), "rho": list(rhos)})
    return Sweep(solvers, grid, trials=trials, seed=seed, mode=mode, threshold=threshold,
                 name="phase_transition", metadata={"preset": preset}, adaptive=adaptive,
                 probe_trials=probe_trials)


def analyze(out, quiet=False):
    """Read ``out/results.parquet``; write ``fit50.csv`` and the figures.

    Returns
    -------
    dict
        ``results``, ``fits`` (DataFrames), ``figures`` (paths), ``metadata``.
    """
    out = Path(out)
    df, meta = load_results(out)
    fits = fit_transitions(df)
    store.atomic_write_bytes(out / "fit50.csv", fits.to_csv(index=False).encode())
    figs = phase_figures(df, fits, out)
    return {"results": df, "fits": fits, "figures": figs, "metadata": meta}


def _summary(res, out, elapsed):
    df, fits = res["results"], res["fits"]
    n_err = int((df["status"] == "error").sum())
    lines = [f"Phase transition: {df['solver'].nunique()} solver(s), "
             f"{df.groupby(['delta', 'rho']).ngroups} cells, {df['trial'].nunique()} trials/cell, "
             f"{len(df)} rows ({n_err} error rows)."]
    piv = fits.pivot_table(index="solver", columns="delta", values="rho50", sort=False)
    dt = fits.groupby("delta")["dt_rho"].first()
    with np.printoptions(precision=2):
        head = "solver".ljust(24) + " ".join(f"{d:>5.2f}" for d in piv.columns)
        lines += ["Fitted 50% ρ per δ (nan: no transition inside the ρ grid):", head]
        for solver, row in piv.iterrows():
            lines.append(str(solver)[:24].ljust(24)
                         + " ".join(f"{v:>5.2f}" for v in row.to_numpy(float)))
        lines.append("Donoho–Tanner ℓ1".ljust(24)
                     + " ".join(f"{dt[d]:>5.2f}" for d in piv.columns))
    lines.append(done_line(elapsed, out, [store.RESULTS, store.METADATA, "fit50.csv"]
                           + [Path(p).name for p in res["figures"]]))
    return "\n".join(lines)


def main(argv=None):
    """Entry point of ``sparserec-phase-transition`` and of its ``python -m`` commands."""
    parser = build_parser()
    args = parser.parse_args(argv)
    headless_figures()
    n, deltas, rhos, trials = _check_args(parser, args)
    setup_logging(args.quiet, "phase_transition")
    out = PRESETS[args.preset]["out"] if args.out is None else args.out
    t0 = time.perf_counter()
    if args.plot_only:
        if not (Path(out) / store.RESULTS).exists():
            parser.error(f"argument --plot-only: no {store.RESULTS} in {out}; run the "
                         "sweep first")
        out = check_out(parser, out)
        try:
            res = analyze(out)
        except (store.StoreError, KeyError, ValueError, TypeError) as exc:
            parser.error(f"argument --plot-only: cannot redraw from {out}: "
                         f"{type(exc).__name__}: {exc}")
        if not args.quiet:
            print(_summary(res, out, time.perf_counter() - t0))
        return 0
    if args.solver:
        specs = resolve_solvers(parser, args.solver)
    else:
        names = set(_solvers.available())
        specs = resolve_solvers(parser, [s for s in PRESETS[args.preset]["solvers"]
                                         if s.split(":")[0] in names])
        if not specs:
            parser.error("argument --solver: none of the preset's solvers is registered")
    n_tasks = len(specs) * len(deltas) * len(rhos)
    check_size(parser, n_tasks, n_tasks * trials)
    check_solvers(parser, specs, _probes(parser, args, deltas, rhos))
    backend, workers, scheduler = resolve_backend(parser, args)
    preset = PRESETS[args.preset]
    out = check_out(parser, out)
    sweep = make_sweep(specs, n=n, deltas=deltas, rhos=rhos, trials=trials, seed=args.seed,
                       matrix=args.matrix, signal=args.signal, noise=args.noise,
                       threshold=args.threshold, mode=args.batch or preset["batch"],
                       kappa=args.kappa, corr=args.corr, preset=args.preset,
                       adaptive=preset["adaptive"] if args.adaptive is None else args.adaptive,
                       probe_trials=args.probe_trials)
    try:
        run_sweep(sweep, out, backend=backend, workers=workers, scheduler=scheduler,
                  resume=args.resume, quiet=args.quiet)
    except KeyboardInterrupt:
        parser.exit(130, f"{parser.prog}: interrupted; rerun the same command to resume "
                         f"(finished cells are in {out / store.CELLS})\n")
    res = analyze(out)
    if not args.quiet:
        print(_summary(res, out, time.perf_counter() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
