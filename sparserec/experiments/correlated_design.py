"""Phase diagram over (correlation, ρ) at a fixed δ: where curvature pays.

Run ``sparserec-correlated-design --help`` (from a clone: ``python -m
experiments.correlated_design --help``). The measurement matrices are the
``correlated`` ensemble of :mod:`sparserec.ensembles`: ``A = G Σ^{1/2}/√m``
with ``G`` standard Gaussian (m × n) and the Toeplitz column covariance
``Σ_ij = c^{|i−j|}``, so neighbouring columns of ``A`` have correlation
``c`` (``c = 0`` is the i.i.d. Gaussian ensemble). For every correlation ``c``
and every ρ = k/m of the grid, ``--trials`` noiseless problems ``y = Ax*``
with a k-sparse x* (±1 nonzeros by default) are solved; success is a
relative error ``‖x̂ − x*‖/‖x*‖ <= 1e-3``. The trials of one correlation
share their matrices across the ρ values (the harness's common random
matrices, ``--batch common``): trial ``t`` of every ρ cell of a column uses
the same ``A``, which reduces the variance of the ρ curve.

Solvers (``sparserec.solvers`` names): NIHT (``iht:step=normalized``), HTP,
Subspace Pursuit, OMP, I-OBS with its default configuration, and basis
pursuit.

Writes into ``--out`` (default ``results/correlated_design``):

``results.parquet``, ``metadata.json``, ``cells/``
    The harness store (one row per solver × cell × trial); reruns resume.
``fit50.csv``
    Per solver × correlation: the logistic 50 % point ``rho50`` with the
    90 %/10 % points and their width (:func:`sparserec.harness.fit_transitions`).
``success.csv``
    Per solver × correlation × ρ: the success rate and the number of trials.
``correlated_design.png``
    One success heat map per solver over (c, ρ) with its fitted 50 % points,
    and a panel of every solver's ρ₅₀ against c.

Commands (from the repository root; installed, run
``sparserec-correlated-design`` with the same options)::

    .venv/bin/python -m experiments.correlated_design            # n=500, δ=0.5, 20 trials
    .venv/bin/python -m experiments.correlated_design --smoke --out results/corr_smoke
    .venv/bin/python -m experiments.correlated_design --plot-only

The paper figure is ``paper_figures/correlated_design.py`` (same store, same
seed).
"""
from __future__ import annotations

import sys
import time

import numpy as np

from sparserec import solvers as _solvers
from sparserec.ensembles import SIGNALS
from sparserec.harness import Sweep, fit_transitions, load_results, run_sweep, store
from sparserec.harness.cli import (ArgumentParser, _positive_float, _positive_int,
                                   add_run_options, check_memory, check_out, check_size,
                                   check_solvers, done_line, float_list, headless_figures,
                                   recovery_probes, resolve_backend, resolve_solvers,
                                   setup_logging)
from sparserec.harness.plotting import plt, save, style

__all__ = ["SOLVERS", "LABELS", "SIGNAL_NAMES", "FULL", "SMOKE", "make_sweep", "label",
           "summarize", "plot", "figure_title", "format_table", "build_parser", "main"]

#: Program name in ``--help`` and error lines (runs from a clone and from an install).
PROG = "python -m sparserec.experiments.correlated_design"
#: Solver specifications and their labels in tables and figures.
SOLVERS = ["iht:step=normalized,max_iter=300", "htp", "subspace_pursuit", "omp", "iobs",
           "basis_pursuit"]
LABELS = {"iht:max_iter=300,step=normalized": "NIHT", "htp": "HTP",
          "subspace_pursuit": "SP", "omp": "OMP", "iobs": "I-OBS",
          "basis_pursuit": "BP"}
#: Names of the signal laws in titles.
SIGNAL_NAMES = {"rademacher": "±1", "gaussian": "N(0, 1)", "uniform": "U[−1, 1]"}
#: The default grid and its smoke-test version.
FULL = {"n": 500, "delta": 0.5, "corrs": [0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95],
        "rhos": [round(0.05 * i, 2) for i in range(1, 16)], "trials": 20}
SMOKE = {"n": 40, "delta": 0.5, "corrs": [0.0, 0.9], "rhos": [0.1, 0.3, 0.5], "trials": 2}


def make_sweep(solvers=None, *, n, delta, corrs, rhos, trials, seed=0, signal="rademacher",
               threshold=1e-3):
    """The sweep: cells ``{matrix="correlated", r=c, signal, noise=0, n, delta, rho}``.

    Common random matrices (``mode="common"``): the ρ cells of one correlation
    share their ``trials`` matrices.

    Returns
    -------
    Sweep
    """
    grid = {"matrix": ["correlated"], "r": [float(c) for c in corrs], "signal": [signal],
            "noise": [0.0], "n": [int(n)], "delta": [float(delta)],
            "rho": [float(r) for r in rhos]}
    return Sweep(list(solvers or SOLVERS), grid, trials=int(trials), seed=int(seed),
                 mode="common", threshold=threshold, name="correlated_design",
                 metadata={"delta": float(delta), "signal": signal})


def label(solver):
    """Short label of a solver spec (the spec itself when it has none)."""
    return LABELS.get(str(solver), str(solver))


def summarize(df):
    """Fitted 50 % points per solver × correlation, and success rates per cell.

    Returns
    -------
    fits : pandas.DataFrame
        ``solver, label, r, rho50, rho10, rho90, width, n_obs, n_errors, status``.
    success : pandas.DataFrame
        ``solver, label, r, rho, success, trials``.
    """
    fits = fit_transitions(df, by=("solver", "r")).drop(columns=["dt_rho"])
    fits.insert(1, "label", [label(s) for s in fits["solver"]])
    ok = df[df["status"] != "error"]
    success = (ok.groupby(["solver", "r", "rho"], sort=True)["success"]
               .agg(success="mean", trials="size").reset_index())
    success.insert(1, "label", [label(s) for s in success["solver"]])
    return fits, success


def _order(solvers):
    known = [s for s in LABELS if s in set(solvers)]
    return known + [s for s in solvers if s not in known]


def _rho50_panel(ax, fits, solvers, pos, corrs, title):
    for solver in solvers:
        f = fits[fits["solver"] == solver].sort_values("r")
        ok = np.isfinite(f["rho50"].to_numpy(float))
        x = np.array([pos[c] for c in f["r"]])[ok]
        ls = "--" if solver.split(":")[0] == "iobs" else "-"
        ax.plot(x, f["rho50"].to_numpy(float)[ok], "o", ls=ls, label=label(solver))
    ax.set_xticks(np.arange(corrs.size), [f"{c:g}" for c in corrs])
    ax.set(xlabel="neighbour correlation c", ylabel="ρ₅₀ (fitted 50 % success)", title=title,
           ylim=(0, None))
    ax.legend(fontsize="small")


def plot(fits, success, path, *, title=None, signal="±1", more=()):
    """``correlated_design.png`` from the summary tables (no solve).

    Parameters
    ----------
    fits, success : pandas.DataFrame
        From :func:`summarize`: one success heat map over (c, ρ) per solver,
        with its fitted 50 % points (10–90 % bars), and a panel of every
        solver's ρ₅₀ against c.
    path : path-like
        The PNG to write.
    title : str, optional
        Figure title.
    signal : str, default="±1"
        Name of the signal law, in the panel titles.
    more : sequence of (str, pandas.DataFrame)
        Further ρ₅₀ panels: (signal name, fits of another run).

    Returns
    -------
    path-like
        ``path``.
    """
    solvers = _order(list(dict.fromkeys(success["solver"])))
    corrs = np.array(sorted(set(success["r"])))
    pos = {c: i for i, c in enumerate(corrs)}   # categorical x: the values are uneven
    panels = len(solvers) + 1 + len(more)
    with style():
        ncol = 4 if panels > 6 else 3
        nrow = int(np.ceil(panels / ncol))
        fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.6 * nrow),
                                 squeeze=False, constrained_layout=True)
        axes = axes.ravel()
        mesh = None
        for ax, solver in zip(axes, solvers):
            g = success[success["solver"] == solver]
            tab = g.pivot_table(index="rho", columns="r", values="success")
            tab = tab.reindex(columns=corrs)
            rhos = tab.index.to_numpy(float)
            half = (rhos[1] - rhos[0]) / 2 if rhos.size > 1 else 0.025
            rho_edges = np.concatenate([[rhos[0] - half], (rhos[1:] + rhos[:-1]) / 2,
                                        [rhos[-1] + (rhos[-1] - rhos[-2]) / 2
                                         if rhos.size > 1 else rhos[-1] + half]])
            mesh = ax.pcolormesh(np.arange(corrs.size + 1) - 0.5, rho_edges,
                                 tab.to_numpy(float), vmin=0, vmax=1, shading="flat")
            f = fits[(fits["solver"] == solver) & np.isfinite(fits["rho50"])]
            if len(f):
                x = np.array([pos[c] for c in f["r"]])
                yerr = np.abs(np.vstack([f["rho50"] - f["rho90"], f["rho10"] - f["rho50"]]))
                ax.errorbar(x, f["rho50"], yerr=yerr, fmt="o-", color="tab:red", ms=4,
                            capsize=2, lw=1)
            ax.set_xticks(np.arange(corrs.size), [f"{c:g}" for c in corrs])
            ax.set(xlabel="neighbour correlation c", ylabel="ρ = k/m",
                   title=f"{label(solver)}, {signal} signals",
                   ylim=(rho_edges[0], rho_edges[-1]))
            ax.grid(False)
        if mesh is not None:
            fig.colorbar(mesh, ax=axes[:len(solvers)].tolist(), label="success probability",
                         shrink=0.6)
        _rho50_panel(axes[len(solvers)], fits, solvers, pos, corrs,
                     f"ρ₅₀ against c, {signal} signals")
        for ax, (name, other) in zip(axes[len(solvers) + 1:], more):
            _rho50_panel(ax, other, solvers, pos, corrs, f"ρ₅₀ against c, {name} signals")
        for extra in axes[panels:]:
            extra.set_visible(False)
        if title:
            fig.suptitle(title)
        save(fig, path)
    return path


def format_table(fits):
    """ρ₅₀ per solver (rows) and correlation (columns), as text."""
    wide = fits.pivot_table(index="solver", columns="r", values="rho50", sort=False)
    wide = wide.reindex(_order(list(wide.index)))
    head = "solver".ljust(8) + "".join(f"{f'c={c:g}':>8}" for c in wide.columns)
    lines = ["Fitted 50% ρ per correlation c (nan: no transition inside the ρ grid):", head]
    for solver, row in wide.iterrows():
        lines.append(label(solver)[:8].ljust(8)
                     + "".join(f"{v:>8.3f}" for v in row.to_numpy(float)))
    return "\n".join(lines)


def build_parser():
    """The command-line parser (every option is documented in ``--help``)."""
    p = ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0],
                       epilog="Example: %(prog)s --corrs 0,0.5,0.9 --rhos 0.1:0.5:0.05 "
                              "--trials 10 --out results/corr")
    g = p.add_argument_group("sweep")
    g.add_argument("--smoke", action="store_true", help="tiny sizes (seconds)")
    g.add_argument("--solver", action="append", default=None, metavar="SPEC",
                   help="solver to run, repeatable ('name' or 'name:key=value,...'); "
                        "default: " + ", ".join(SOLVERS))
    g.add_argument("--n", type=_positive_int, default=None,
                   help=f"signal length n (default {FULL['n']})")
    g.add_argument("--delta", type=_positive_float, default=None,
                   help=f"δ = m/n in (0, 1] (default {FULL['delta']})")
    g.add_argument("--corrs", type=float_list, default=None, metavar="LIST",
                   help="neighbour correlations c in [0, 1) (default "
                        + ",".join(f"{c:g}" for c in FULL["corrs"]) + ")")
    g.add_argument("--rhos", type=float_list, default=None, metavar="LIST",
                   help="ρ = k/m values in (0, 1] (default 0.05:0.75:0.05)")
    g.add_argument("--trials", type=_positive_int, default=None,
                   help=f"trials per cell (default {FULL['trials']})")
    g.add_argument("--signal", choices=list(SIGNALS), default="rademacher",
                   help="law of the nonzeros (default: %(default)s)")
    add_run_options(p, "results/correlated_design")
    return p


def _grid(parser, args):
    base = SMOKE if args.smoke else FULL
    n = base["n"] if args.n is None else args.n
    delta = base["delta"] if args.delta is None else args.delta
    corrs = sorted(set(base["corrs"] if args.corrs is None else args.corrs))
    rhos = sorted(set(base["rhos"] if args.rhos is None else args.rhos))
    trials = base["trials"] if args.trials is None else args.trials
    if not 0 < delta <= 1:
        parser.error(f"argument --delta: must be in (0, 1]; got {delta:g}")
    bad = [c for c in corrs if not 0 <= c < 1]
    if bad:
        parser.error(f"argument --corrs: every c must be in [0, 1); got {bad[0]:g}")
    bad = [r for r in rhos if not 0 < r <= 1]
    if bad:
        parser.error(f"argument --rhos: every ρ must be in (0, 1]; got {bad[0]:g}")
    return n, delta, corrs, rhos, trials


def figure_title(df):
    """Title of the figure: the ensemble, n, δ and the trials per cell of a results table."""
    return (f"Toeplitz-correlated Gaussian A (Σ_ij = c^|i−j|), n = {int(df['n'].iloc[0])}, "
            f"δ = {float(df['delta'].iloc[0]):g}, {df['trial'].nunique()} trials per cell, "
            "success: relative error ≤ 1e-3")


def _write(out, df):
    fits, success = summarize(df)
    store.atomic_write_bytes(out / "fit50.csv", fits.to_csv(index=False).encode())
    store.atomic_write_bytes(out / "success.csv", success.to_csv(index=False).encode())
    return fits, success


def main(argv=None):
    """Entry point of ``sparserec-correlated-design`` and of its ``python -m`` commands."""
    parser = build_parser()
    args = parser.parse_args(argv)
    headless_figures()
    n, delta, corrs, rhos, trials = _grid(parser, args)
    setup_logging(args.quiet)
    out = args.out if args.out is not None else "results/correlated_design"
    t0 = time.perf_counter()
    if args.plot_only:
        out = check_out(parser, out, must_exist=True)
        if not (out / store.RESULTS).exists():
            parser.error(f"argument --plot-only: no {store.RESULTS} in {out}; run the "
                         "sweep first")
        try:
            df, _ = load_results(out)
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            parser.error(f"argument --plot-only: cannot redraw from {out}: "
                         f"{type(exc).__name__}: {exc}")
    else:
        names = set(_solvers.available())
        texts = args.solver or [s for s in SOLVERS if s.split(":")[0] in names]
        specs = resolve_solvers(parser, texts)
        m = max(1, int(round(delta * n)))
        check_memory(parser, "--n", m, n, matrix="correlated")
        check_size(parser, len(specs) * len(corrs), len(specs) * len(corrs) * len(rhos) * trials)
        probe = {"matrix": "correlated", "r": float(corrs[-1]), "signal": args.signal,
                 "noise": 0.0, "n": 32, "delta": float(delta), "rho": float(rhos[0])}
        check_solvers(parser, specs, recovery_probes(probe, [{"rho": float(rhos[0])}]))
        out = check_out(parser, out)
        backend, workers, scheduler = resolve_backend(parser, args)
        sweep = make_sweep(specs, n=n, delta=delta, corrs=corrs, rhos=rhos, trials=trials,
                           seed=args.seed, signal=args.signal)
        try:
            df = run_sweep(sweep, out, backend=backend, workers=workers, scheduler=scheduler,
                           resume=args.resume, quiet=args.quiet)
        except KeyboardInterrupt:
            parser.exit(130, f"{parser.prog}: interrupted; rerun the same command to resume "
                             f"(finished cells are in {out / store.CELLS})\n")
    fits, success = _write(out, df)
    sig = SIGNAL_NAMES.get(str(df["signal"].iloc[0]), str(df["signal"].iloc[0]))
    path = plot(fits, success, out / "correlated_design.png", title=figure_title(df),
                signal=sig)
    if not args.quiet:
        n_err = int((df["status"] == "error").sum())
        print(f"Correlated design: {df['solver'].nunique()} solver(s), "
              f"{df.groupby(['r', 'rho']).ngroups} cells, {len(df)} rows ({n_err} error "
              f"rows) in {time.perf_counter() - t0:.1f} s.")
        print(format_table(fits))
        print(done_line(time.perf_counter() - t0, out, ["fit50.csv", "success.csv", path.name]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
