"""Iterations and time to a relative error of 1e-6 against κ(A): thresholding vs I-OBS.

Paper figure of the conditioning experiment (:mod:`sparserec.experiments.conditioning`,
where the protocol is described in full): y = Ax* with
A = ``conditioned(m, n, κ)``, κ ∈ {1, 10, 10², 10³, 10⁴}, m > n (256 × 128) and
m < n (128 × 256), k* = 8 nonzeros, solvers at k = 16, 5 trials per cell,
cap 5000 iterations; IHT (μ = 1/‖A‖²), NIHT, HTP, Topk-I-OBS (η = 1) and
I-OBS (saliency, greedy); second-order solvers use the exact AᵀA when m > n
and the damped AᵀA + λI, λ = 1e-4·mean(diag AᵀA), when m < n.
Top row: median iterations to ‖x_t − x*‖ ≤ 1e-6‖x*‖ (failures drawn hollow at
the cap); bottom row: median time spent in the solver by the successful runs.

Writes ``conditioning.png``, ``conditioning.csv`` (one row per shape × κ ×
solver) and ``conditioning_trials.csv`` (one row per trial). The sweeps
themselves are stored by the harness in ``results/conditioning`` (``--store``;
inside ``--out`` with ``--smoke``), shared with
``python -m experiments.conditioning`` (same default seed 0), so a rerun only
redraws.

Command (from the repository root; under a minute on 2 cores)::

    .venv/bin/python paper_figures/conditioning.py
    .venv/bin/python paper_figures/conditioning.py --smoke --out results/fig_smoke
    .venv/bin/python paper_figures/conditioning.py --plot-only
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np

import _common as C
from sparserec.experiments import conditioning as E

NAME = "conditioning"


def compute(args):
    store = args.store or (args.out / "conditioning_store" if args.smoke
                           else C.ROOT / "results" / "conditioning")
    with C.Timer() as t:
        trials, summary = E.run(store, smoke=args.smoke, seed=args.seed,
                                backend=args.backend, workers=args.workers)
    for name in (f"{NAME}.csv", f"{NAME}_trials.csv"):
        shutil.copyfile(Path(store) / name, args.out / name)
    C.log.info("conditioning sweeps: %.1f s (store %s)", t.seconds, store)
    C.log.info("%s", E.format_table(summary))


def plot(out):
    """Draw the figure from ``conditioning.csv`` only."""
    import pandas as pd
    summary = pd.read_csv(out / f"{NAME}.csv")
    shapes = [s for s in E.SHAPES if s in set(summary["shape"])]
    with C.figure_style() as plt:
        fig, axes = plt.subplots(2, len(shapes), figsize=(5.4 * len(shapes), 8),
                                 squeeze=False, constrained_layout=True)
        for j, shape in enumerate(shapes):
            sub = summary[summary["shape"] == shape]
            r = sub.iloc[0]
            E._iterations_panel(axes[0, j], sub)
            axes[0, j].set_title(f"{E.SHAPE_TITLES[shape]}: A is {r['m']}×{r['n']}, "
                                 f"k*={r['k_star']}, k={r['k']}, {r['trials']} trials")
            kap = np.array(sorted(set(sub["kappa"])))
            iht = sub[(sub["method"] == "iht") & ~sub["iters_censored"] & (sub["kappa"] > 1)]
            if len(iht):  # guide: iterations ∝ κ through IHT's first point with κ > 1
                k0, i0 = iht.sort_values("kappa").iloc[0][["kappa", "iters_median"]]
                kk = kap[(kap >= k0) & (i0 * kap / k0 <= 2 * r["max_iter"])]
                axes[0, j].plot(kk, i0 * kk / k0, color="0.6", ls=(0, (1, 3)), lw=1.4,
                                label=r"$\propto\kappa$ (guide)")
            ax = axes[1, j]
            for method, g in sub.groupby("method", sort=False):
                g = g.sort_values("kappa")
                ok = ~g["iters_censored"].to_numpy(bool) & (g["time_median_s"].to_numpy() > 0)
                ax.plot(g["kappa"].to_numpy()[ok], 1e3 * g["time_median_s"].to_numpy()[ok],
                        **E.method_style(method), label=E.LABELS.get(method, method))
            ax.set(xscale="log", yscale="log", xlabel=r"condition number $\kappa(A)$",
                   ylabel="time in solver to rel. error $10^{-6}$ (ms, median)",
                   title="Wall time (successful runs; failed medians omitted)")
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=4)
        fig.suptitle("Iterations to relative error $10^{-6}$ vs condition number "
                     "(hollow markers at the dotted cap: median run failed)")
        fig.savefig(out / f"{NAME}.png", dpi=150)
        plt.close(fig)
    C.log.info("wrote %s", out / f"{NAME}.png")


def _extra(parser):
    parser.add_argument("--store", type=Path, default=None,
                        help="harness store of the sweeps (default results/conditioning; "
                             "with --smoke, OUT/conditioning_store)")
    parser.add_argument("--backend", default="joblib", choices=["serial", "joblib", "dask"],
                        help="harness backend (default %(default)s)")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes (default: all cores)")


def main(argv=None):
    return C.run_figure(__doc__, NAME, compute, plot, argv, extra=_extra, seed_default=0)


if __name__ == "__main__":
    sys.exit(main())
