"""Iterations and time to a relative error of 1e-6 against the condition number κ of A.

Run ``sparserec-conditioning --help`` (from a clone: ``python -m
experiments.conditioning --help``). For every κ ∈ {1, 10, 10², 10³, 10⁴} and
two shapes (overdetermined m > n and underdetermined m < n), ``--trials``
seeded problems ``y = Ax*`` (no noise) with ``A = conditioned(m, n, κ)`` (Haar
singular vectors, singular values log-spaced from 1 to 1/κ,
:func:`sparserec.ensembles.conditioned`) and a k*-sparse N(0, 1) signal x*.
Every solver runs at sparsity ``k = 2k*`` from x = 0 and is stopped (by a
callback, not timed) as soon as ``‖x_t − x*‖ ≤ 1e-6‖x*‖``; a run fails when
it reaches the cap (``--max-iter``, default 5000) or stops earlier at a fixed
point that is not x* (relative change ≤ 1e-13). Solvers (``sparserec.solvers`` names):

=========================  ==================================================
``iht``                    IHT, μ = 1/‖A‖₂²
``iht:step=normalized``    NIHT (Blumensath–Davies step with backtracking)
``htp``                    HTP (NIHT step, least squares on the support)
``topk_iobs``              Topk-I-OBS, η = 1, exact curvature AᵀA
``iobs:selection=...``     I-OBS with ``saliency`` and ``greedy`` selection
=========================  ==================================================

With m < n, AᵀA is singular, so the second-order solvers use the damped
curvature AᵀA + λI, λ = damping·mean(diag AᵀA), with ``damping = 1e-4``
(``--damping``); with m > n they use the exact, undamped AᵀA.

Why k = 2k*: with k = k* every thresholding method (IHT, NIHT, HTP) already
stalls at wrong-support fixed points from κ = 10 on; running above the true
sparsity (the I-OBS paper uses k = 4k*) turns the comparison into one of
convergence speed.

Sizes: m > n is 256 × 128, m < n is 128 × 256, k* = 8, k = 16, 5 trials;
``--smoke`` is 64 × 32 / 32 × 64, k* = 2, k = 4, κ ∈ {1, 100}, 2 trials, cap 1000.

Writes into ``--out`` (default ``results/conditioning``):

``m_gt_n/``, ``m_lt_n/``
    The harness stores of the two sweeps (``cells/``, ``results.parquet``,
    ``metadata.json``); reruns resume from them.
``conditioning_trials.csv``
    One row per (shape, κ, solver, trial): ``reached``, ``iters_to_target``
    (the iteration at which the error first was ≤ 1e-6, or the iteration at
    which the run stopped when it failed), ``solve_time`` (seconds in the
    solver), final ``rel_error``, ``kappa_support`` (cond of A restricted to the
    true support) and the harness columns (seeds, parameters).
``conditioning.csv``
    One row per (shape, κ, solver): ``iters_median`` (failures count as +∞; if
    half or more of the trials fail it is written as the cap and
    ``iters_censored`` is True), ``iters_min``/``iters_max`` over the runs that
    reached the target, ``fail_rate``, ``time_median_s`` (over successful runs,
    NaN-free: 0 when none) and the sizes.
``conditioning.png``
    Median iterations vs κ, log–log, one panel per shape; failures drawn at the
    cap with open markers.

``--plot-only`` redraws the figure from ``conditioning.csv``.

Commands (from the repository root; the default run takes about 15–40 s on
2 cores, the smoke run a few seconds; installed, run ``sparserec-conditioning``
with the same options)::

    .venv/bin/python -m experiments.conditioning                  # -> results/conditioning
    .venv/bin/python -m experiments.conditioning --smoke --out results/conditioning_smoke
    .venv/bin/python -m experiments.conditioning --backend dask --scheduler local
    .venv/bin/python -m experiments.conditioning --plot-only

The paper figure is ``paper_figures/conditioning.py`` (same store, same seed).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd

from sparserec import Problem
from sparserec.ensembles import conditioned, sparse_signal
from sparserec.harness import Batch, Sweep, run_sweep, trial_seed
from sparserec.harness.cli import (ArgumentParser, _positive_float, _positive_int,
                                   add_run_options, check_out, check_size, done_line,
                                   headless_figures, kappa_list, plain_text, resolve_backend,
                                   setup_logging)
from sparserec.harness.plotting import plt, save, style

__all__ = ["SHAPES", "KAPPAS", "LABELS", "conditioned_problems", "iterations_to_target",
           "make_sweeps", "run", "summarize", "plot", "build_parser", "main"]

#: Program name in ``--help`` and error lines (runs from a clone and from an install).
PROG = "python -m sparserec.experiments.conditioning"
DEFAULT_OUT = "results/conditioning"
#: Relative error that counts as "recovered".
TARGET = 1e-6
KAPPAS = (1.0, 10.0, 1e2, 1e3, 1e4)
SMOKE_KAPPAS = (1.0, 1e2)
#: Shapes: name -> (m, n); the smoke sizes are a quarter.
SHAPES = {"m_gt_n": (256, 128), "m_lt_n": (128, 256)}
SMOKE_SHAPES = {"m_gt_n": (64, 32), "m_lt_n": (32, 64)}
K_STAR, SMOKE_K_STAR = 8, 2
DAMPING = 1e-4
MAX_ITER = 5000
SMOKE_MAX_ITER = 1000
#: Relative-change tolerance: stops a run at a fixed point (a failure unless it is x*).
FIXED_POINT_TOL = 1e-13
SOLVERS = ["iht", "iht:step=normalized", "htp", "topk_iobs", "iobs:selection=saliency",
           "iobs:selection=greedy"]
SECOND_ORDER = ("topk_iobs", "iobs")
LABELS = {"iht": "IHT", "iht:step=normalized": "NIHT", "htp": "HTP",
          "topk_iobs": "Topk-I-OBS", "iobs:selection=saliency": "I-OBS (saliency)",
          "iobs:selection=greedy": "I-OBS (greedy)"}
SHAPE_TITLES = {"m_gt_n": "m > n", "m_lt_n": "m < n"}


# ---------------------------------------------------------------- builder and runner
def conditioned_problems(coords, trials, seed, mode):
    """Harness builder: ``y = Ax*`` with ``A = conditioned(m, n, kappa)``, solver sparsity ``k``.

    Coordinates: ``m``, ``n``, ``kappa``, ``k_star`` (nonzeros of x*) and
    ``k`` (the solvers' sparsity). One fresh matrix per trial, drawn from
    :func:`sparserec.harness.trial_seed` ``(seed, coords, trial)``.
    """
    m, n, k, k_star = (int(coords[c]) for c in ("m", "n", "k", "k_star"))
    kappa = float(coords["kappa"])
    out = []
    for t in trials:
        rng = np.random.default_rng(trial_seed(seed, coords, t))
        A = conditioned(m, n, kappa, rng)
        x = sparse_signal(n, k_star, rng)
        S = np.flatnonzero(x)
        info = {"kappa_support": float(np.linalg.cond(A[:, S]))}
        out.append(Batch(Problem(A, A @ x, k, x_true=x), (t,), info))
    return out


def iterations_to_target(solver, problem, *, threshold):
    """Harness runner: solve until ``‖x_t − x*‖ ≤ threshold·‖x*‖`` (checked by an untimed callback).

    Returns
    -------
    list of dict
        Per column: ``reached``, ``iters_to_target`` (first iteration below the
        threshold, else the iteration at which the run stopped), ``rel_error``
        (final), ``success`` (= reached), ``n_iter``, ``status``, ``reason``,
        ``error`` and ``solve_time`` (seconds in the solver only).
    """
    if problem.multi:
        raise ValueError("iterations_to_target handles single-signal problems (mode='fresh')")
    x_true = problem.x_true
    level = threshold * np.linalg.norm(x_true)
    hit = []

    def callback(info):
        if np.linalg.norm(info["x"] - x_true) <= level:
            hit.append(int(info["iteration"]))
            return True
        return False

    res = solver.solve(problem, callback=callback)
    reached = bool(hit)
    return [{"reached": reached, "iters_to_target": hit[0] if reached else int(res.n_iter),
             "rel_error": float(res.rel_error), "success": reached,
             "n_iter": int(res.n_iter), "status": str(res.status), "reason": str(res.reason),
             "error": "", "solve_time": float(res.solve_time)}]


# -------------------------------------------------------------------------- sweeps
def make_sweeps(*, smoke=False, kappas=None, trials=None, seed=0, damping=DAMPING,
                max_iter=None, solvers=None, shapes=None):
    """The two sweeps (``{"m_gt_n": Sweep, "m_lt_n": Sweep}``), or those named in ``shapes``.

    Second-order solvers get ``damping`` only in the ``m < n`` sweep; every
    solver gets ``max_iter`` and the fixed-point tolerance.
    """
    sizes = SMOKE_SHAPES if smoke else SHAPES
    max_iter = max_iter or (SMOKE_MAX_ITER if smoke else MAX_ITER)
    shapes = {name: sizes[name] for name in (shapes or sizes)}
    k_star = SMOKE_K_STAR if smoke else K_STAR
    kappas = list(kappas or (SMOKE_KAPPAS if smoke else KAPPAS))
    trials = trials or (2 if smoke else 5)
    names = list(solvers or SOLVERS)
    sweeps = {}
    for shape, (m, n) in shapes.items():
        specs = []
        for text in names:
            name, _, rest = text.partition(":")
            extra = f"max_iter={int(max_iter)},tol={FIXED_POINT_TOL!r}"
            if shape == "m_lt_n" and name in SECOND_ORDER:
                extra += f",damping={float(damping)!r}"
            specs.append(f"{name}:{rest + ',' if rest else ''}{extra}")
        grid = [{"shape": shape, "m": m, "n": n, "k_star": k_star, "k": 2 * k_star,
                 "kappa": float(kap)} for kap in kappas]
        sweeps[shape] = Sweep(specs, grid, trials=int(trials), seed=int(seed), mode="fresh",
                              threshold=TARGET, name=f"conditioning-{shape}",
                              builder=conditioned_problems,
                              runner=iterations_to_target,
                              metadata={"damping_m_lt_n": float(damping),
                                        "max_iter": int(max_iter), "target": TARGET,
                                        "fixed_point_tol": FIXED_POINT_TOL})
    return sweeps


def _base_label(solver_label):
    """``"iobs:max_iter=5000,selection='saliency',tol=..."`` -> ``"iobs:selection=saliency"``."""
    name, _, rest = solver_label.partition(":")
    keep = []
    for item in rest.split(","):
        key, _, val = item.partition("=")
        if key in ("selection", "step"):
            keep.append(f"{key}={val.strip(chr(39))}")
    return name + (":" + ",".join(keep) if keep else "")


def summarize(trials_df, max_iter):
    """Per (shape, κ, solver) summary of the trial table (see the module docstring)."""
    rows = []
    for (shape, kappa, method), g in trials_df.groupby(["shape", "kappa", "method"], sort=False):
        ok = g["reached"].to_numpy(bool)
        its = np.where(ok, g["iters_to_target"].to_numpy(float), np.inf)
        med = float(np.median(its))
        censored = not np.isfinite(med)
        rows.append({
            "shape": shape, "kappa": float(kappa), "method": method,
            "label": LABELS.get(method, method), "m": int(g["m"].iloc[0]),
            "n": int(g["n"].iloc[0]), "k_star": int(g["k_star"].iloc[0]),
            "k": int(g["k"].iloc[0]), "trials": int(len(g)),
            "iters_median": float(max_iter) if censored else med,
            "iters_censored": bool(censored),
            "iters_min": float(its[ok].min()) if ok.any() else float(max_iter),
            "iters_max": float(its[ok].max()) if ok.any() else float(max_iter),
            "fail_rate": float(1.0 - ok.mean()),
            "time_median_s": float(np.median(g["solve_time"].to_numpy()[ok])) if ok.any()
            else 0.0,
            "kappa_support_median": float(g["kappa_support"].median()),
            "max_iter": int(max_iter),
        })
    return pd.DataFrame(rows)


def run(out, *, smoke=False, kappas=None, trials=None, seed=0, damping=DAMPING,
        max_iter=None, solvers=None, shapes=None, backend="joblib", workers=None,
        scheduler=None, resume=True, quiet=True):
    """Run (or resume) both sweeps into ``out`` and write the two CSV tables.

    Returns
    -------
    trials_df, summary : pandas.DataFrame
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    max_iter = max_iter or (SMOKE_MAX_ITER if smoke else MAX_ITER)
    frames = []
    for shape, sweep in make_sweeps(smoke=smoke, kappas=kappas, trials=trials, seed=seed,
                                    damping=damping, max_iter=max_iter,
                                    solvers=solvers, shapes=shapes).items():
        df = run_sweep(sweep, out / shape, backend=backend, workers=workers,
                       scheduler=scheduler, resume=resume, quiet=quiet)
        frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    errors = df[df["status"] == "error"]
    if len(errors):
        raise RuntimeError(f"{len(errors)} conditioning trial(s) raised; first: "
                           f"{errors['solver'].iloc[0]}: {errors['error'].iloc[0]}")
    df.insert(0, "method", [_base_label(s) for s in df["solver"]])
    df["reached"] = df["reached"].astype(bool)
    df = df.drop(columns=["error"])  # always empty here (errors raised above)
    df.to_csv(out / "conditioning_trials.csv", index=False, float_format="%.8g")
    summary = summarize(df, max_iter)
    summary.to_csv(out / "conditioning.csv", index=False, float_format="%.8g")
    return df, summary


# ---------------------------------------------------------------------------- plot
MARKERS = {"iht": "o", "iht:step=normalized": "s", "htp": "^", "topk_iobs": "D",
           "iobs:selection=saliency": "v", "iobs:selection=greedy": "P"}


def method_style(method):
    """Colour, marker and line style of a method, fixed across panels and figures.

    Colours come from the active style's cycle (the shared sparserec style), in
    the order of :data:`SOLVERS`; second-order methods are drawn dashed.
    """
    colors = mpl.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
    order = SOLVERS + [method] if method not in SOLVERS else SOLVERS
    color = colors[order.index(method) % len(colors)]
    ls = "--" if method.split(":")[0] in SECOND_ORDER else "-"
    return {"color": color, "marker": MARKERS.get(method, "o"), "ls": ls}


def _iterations_panel(ax, sub):
    """Median iterations vs κ for every method of one shape (failures hollow at the cap)."""
    cap = float(sub["max_iter"].iloc[0])
    for method, g in sub.groupby("method", sort=False):
        g = g.sort_values("kappa")
        x, y = g["kappa"].to_numpy(), g["iters_median"].to_numpy()
        cens = g["iters_censored"].to_numpy(bool)
        st = method_style(method)
        ax.plot(x, y, color=st["color"], ls=st["ls"], label=LABELS.get(method, method))
        ax.plot(x[~cens], y[~cens], st["marker"], color=st["color"], ls="none")
        ax.plot(x[cens], y[cens], st["marker"], ms=8, mfc="white", mec=st["color"],
                ls="none", zorder=3)
    # name curves that coincide at every κ (they hide each other)
    groups = {}
    for method, g in sub.sort_values("kappa").groupby("method", sort=False):
        groups.setdefault(tuple(g["iters_median"]), []).append(LABELS.get(method, method))
    for values, names in groups.items():
        if len(names) > 1:
            ax.annotate(" = ".join(names), (sub["kappa"].min(), values[0]),
                        xytext=(4, -11 if values[0] <= 1 else 5), textcoords="offset points",
                        fontsize="x-small", color="0.3")
    ax.axhline(cap, color="0.5", ls=":", lw=1)
    ax.set_ylim(0.5, 2.5 * cap)
    ax.set(xscale="log", yscale="log", xlabel=r"condition number $\kappa(A)$",
           ylabel="iterations to rel. error $10^{-6}$ (median)")


def plot(summary, path):
    """``conditioning.png``: iterations vs κ, one panel per shape (reads the summary only)."""
    with style():
        shapes = [s for s in SHAPES if s in set(summary["shape"])]
        fig, axes = plt.subplots(1, len(shapes), figsize=(5.2 * len(shapes), 4.2),
                                 squeeze=False, constrained_layout=True)
        for ax, shape in zip(axes[0], shapes):
            sub = summary[summary["shape"] == shape]
            _iterations_panel(ax, sub)
            r = sub.iloc[0]
            ax.set_title(f"{SHAPE_TITLES[shape]}: {r['m']}×{r['n']}, k*={r['k_star']}, "
                         f"k={r['k']}")
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=len(labels),
                   fontsize="small")
        fig.suptitle("Open markers at the dotted cap: median run failed", fontsize="small")
        save(fig, path)
    return path


# ----------------------------------------------------------------------------- CLI
def build_parser():
    """The command-line parser."""
    p = ArgumentParser(prog=PROG,
                       description=plain_text(__doc__.split("\n\n")[0]))
    p.add_argument("--smoke", action="store_true", help="tiny sizes (seconds)")
    p.add_argument("--kappas", type=kappa_list, default=None, metavar="KAPPAS",
                   help="condition numbers (default: 1,10,100,1000,10000; smoke 1,100)")
    p.add_argument("--trials", type=_positive_int, default=None, help="trials per cell (default 5)")
    p.add_argument("--damping", type=_positive_float, default=DAMPING,
                   help="percdamp of the second-order solvers when m < n (default %(default)g)")
    p.add_argument("--max-iter", type=_positive_int, default=None,
                   help=f"iteration cap; reaching it is a failure (default {MAX_ITER}; "
                        f"smoke {SMOKE_MAX_ITER})")
    add_run_options(p, default_out=DEFAULT_OUT)
    return p


def main(argv=None):
    """Entry point of ``sparserec-conditioning`` and of its ``python -m`` commands."""
    parser = build_parser()
    args = parser.parse_args(argv)
    headless_figures()
    setup_logging(args.quiet, "conditioning")
    out = DEFAULT_OUT if args.out is None else args.out
    t0 = time.perf_counter()
    if args.plot_only:
        if not (Path(out) / "conditioning.csv").exists():
            parser.error(f"argument --plot-only: no conditioning.csv in {out}; run the "
                         "experiment first")
        out = check_out(parser, out)
        try:
            summary = pd.read_csv(out / "conditioning.csv")
            plot(summary, out / "conditioning.png")
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            parser.error(f"argument --plot-only: cannot redraw from {out / 'conditioning.csv'}: "
                         f"{type(exc).__name__}: {exc}")
        if not args.quiet:
            print(done_line(time.perf_counter() - t0, out, ["conditioning.png"]))
        return 0
    n_kappas = len(args.kappas or (SMOKE_KAPPAS if args.smoke else KAPPAS))
    n_tasks = len(SHAPES) * len(SOLVERS) * n_kappas
    check_size(parser, n_tasks, n_tasks * (args.trials or 5))
    backend, workers, scheduler = resolve_backend(parser, args)
    out = check_out(parser, out)
    try:
        _, summary = run(out, smoke=args.smoke, kappas=args.kappas, trials=args.trials,
                         seed=args.seed, damping=args.damping, max_iter=args.max_iter,
                         backend=backend, workers=workers, scheduler=scheduler,
                         resume=args.resume, quiet=args.quiet)
    except KeyboardInterrupt:
        parser.exit(130, f"{parser.prog}: interrupted; rerun the same command to resume\n")
    except RuntimeError as exc:  # trials that raised (their rows are stored)
        parser.exit(1, f"{parser.prog}: error: {exc}\n")
    plot(summary, out / "conditioning.png")
    if not args.quiet:
        print(format_table(summary))
        print(done_line(time.perf_counter() - t0, out,
                        ["m_gt_n/", "m_lt_n/", "conditioning_trials.csv", "conditioning.csv",
                         "conditioning.png"]))
    return 0


def format_table(summary):
    """Iterations per κ per solver, one block per shape (failures as '>cap')."""
    lines = []
    for shape, sub in summary.groupby("shape", sort=False):
        tab = sub.assign(cell=[(f">{int(r.max_iter)}" if r.iters_censored else
                                f"{r.iters_median:g}") + (f" ({r.fail_rate:.0%} fail)"
                                                          if r.fail_rate > 0 else "")
                               for r in sub.itertuples()])
        wide = tab.pivot(index="label", columns="kappa", values="cell")
        wide.columns = [f"κ={c:g}" for c in wide.columns]
        lines.append(f"{SHAPE_TITLES.get(shape, shape)} ({sub['m'].iloc[0]}×{sub['n'].iloc[0]}),"
                     " median iterations to rel. error 1e-6:")
        lines.append(wide.to_string())
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
