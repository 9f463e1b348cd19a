"""Network-wide pruning of LeNet-300-100 against its loss: one global budget, then retraining.

Paper figure of :mod:`sparserec.experiments.prune_global` (the protocol is described
there). Six panels:

(a), (b) test accuracy against the global sparsity, one shot and without retraining, for
the trained network and for the same network stopped early (where EBD should beat OBD);
(c) accuracy at 90 % against the number of calibration images (WoodFisher's
limited-data regime); (d) the per-layer densities the global budget chose at 90 %;
(e), (f) masked retraining: accuracy after 0, 1 and 5 epochs at 90 % (network-wide
pruners, trained network) and at L-OBS's per-layer densities (layer-wise pruners).

Writes ``prune_global.png``, ``prune_global.csv`` (a copy of the experiment's
``global_runs.csv``) and ``prune_global_retrain.csv`` (its ``global_retrain.csv``).
The plot reads only those CSVs.

Command (from the repository root; about five minutes on 2 cores)::

    .venv/bin/python paper_figures/prune_global.py
    .venv/bin/python paper_figures/prune_global.py --smoke --out results/fig_smoke
    .venv/bin/python paper_figures/prune_global.py --plot-only
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

import _common as C
from sparserec.experiments import prune_global as E

NAME = "prune_global"
#: One color per pruner (network-wide and layer-wise), shared by every panel.
COLORS = {"magnitude": "0.45", "obd": "#D55E00", "ebd": "#E69F00", "obs-gn": "#0072B2",
          "obs-eig": "#56B4E9", "woodfisher": "#009E73", "woodtaylor": "#CC79A7",
          "lobs": "#8C564B", "obc": "#1B1B1B", "sparsegpt": "#9467BD", "obs": "#0072B2"}
TITLES = {"trained": "LeNet-300-100, trained (15 epochs)",
          "early": "the same network stopped early (5 epochs)",
          "digits": "digits net (60 epochs)", "digits-early": "digits net stopped early (20)"}


def compute(args):
    store = args.out / "prune_global_store" if args.smoke else C.ROOT / "results" / "prune_global"
    with C.Timer() as t, threadpool_limits(limits=1, user_api="blas"):
        E.run(str(store), smoke=args.smoke, seed=0, backend="joblib" if not args.smoke
              else "serial", workers=C.n_jobs_default(), quiet=True)
    shutil.copyfile(Path(store) / "global_runs.csv", args.out / f"{NAME}.csv")
    shutil.copyfile(Path(store) / "global_retrain.csv", args.out / f"{NAME}_retrain.csv")
    C.log.info("prune_global: %.1f s (store %s)", t.seconds, store)


def _sparsity_panel(ax, df, network, colors, title):
    dense = df[(df["group"] == "dense") & (df["network"] == network)]["accuracy"]
    g = df[(df["group"] == "grid") & (df["network"] == network)]
    for m, gm in g.groupby("method", sort=False):
        gm = gm.sort_values("sparsity")
        ax.plot(100 * gm["sparsity"], 100 * gm["accuracy"], marker="o", color=colors[m],
                label=m, linestyle="--" if m in ("ebd", "woodtaylor") else "-")
    if len(dense):
        ax.axhline(100 * float(dense.iloc[0]), color="0.4", linewidth=1, linestyle=":",
                   label="dense")
    ax.set_xlabel("global sparsity (% of all weights pruned)")
    ax.set_ylabel("test accuracy (%), no retraining")
    ax.set_ylim(0, 100)
    ax.set_title(title)


def _retrain_panel(ax, r, colors, title):
    methods = list(dict.fromkeys(r["method"]))
    x = np.arange(len(methods))
    for k, (e, shade) in enumerate(((0, 0.35), (1, 0.65), (5, 1.0))):
        acc = [100 * float(r.loc[r["method"] == m, f"accuracy_{e}"].iloc[0]) for m in methods]
        ax.bar(x + (k - 1) * 0.27, acc, width=0.27, alpha=shade,
               color=[colors.get(m, "0.3") for m in methods],
               label=f"{e} epoch{'s' if e != 1 else ''}")
    ax.set_xticks(x, methods, rotation=35, ha="right")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 112)
    ax.set_yticks(range(0, 101, 20))
    ax.set_title(title)
    ax.legend(loc="upper center", ncol=3)


def plot(out):
    """Draw the figure from ``prune_global.csv`` and ``prune_global_retrain.csv`` only."""
    import pandas as pd
    df = pd.read_csv(out / f"{NAME}.csv")
    rt = pd.read_csv(out / f"{NAME}_retrain.csv")
    nets = list(dict.fromkeys(df.loc[df["group"] == "grid", "network"]))
    methods = list(dict.fromkeys(df.loc[df["group"] == "grid", "method"]))
    extra = [m for m in dict.fromkeys(rt["method"]) if m not in methods]
    with C.figure_style() as plt:
        cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        colors = {m: COLORS.get(m, cycle[i % len(cycle)])
                  for i, m in enumerate(methods + extra)}
        fig, axes = plt.subplots(2, 3, figsize=(16, 10))
        _sparsity_panel(axes[0, 0], df, nets[0], colors, f"(a) {TITLES.get(nets[0], nets[0])}")
        _sparsity_panel(axes[0, 1], df, nets[1], colors, f"(b) {TITLES.get(nets[1], nets[1])}")
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="upper center", ncol=len(labels), frameon=False,
                   bbox_to_anchor=(0.5, 1.04))
        ax = axes[0, 2]
        s = df[df["group"] == "samples"]
        for m, gm in s.groupby("method", sort=False):
            gm = gm.sort_values("calib_samples")
            ax.plot(gm["calib_samples"], 100 * gm["accuracy"], marker="o", color=colors[m],
                    label=m, linestyle="--" if m in ("ebd", "woodtaylor") else "-")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("calibration images")
        ax.set_ylabel("test accuracy (%) at 90 %")
        ax.set_ylim(0, 100)
        ax.set_title("(c) limited calibration data")
        ax = axes[1, 0]
        g = df[(df["group"] == "grid") & (df["network"] == nets[0])
               & np.isclose(df["sparsity"], 0.9)]
        x = np.arange(len(g))
        for k, layer in enumerate(("fc1", "fc2", "fc3")):
            ax.bar(x + (k - 1) * 0.27, 100 * g[f"density_{layer}"], width=0.27, label=layer)
        ax.set_xticks(x, g["method"], rotation=35, ha="right")
        ax.set_ylabel("weights kept (%)")
        ax.set_title("(d) per-layer levels chosen by one global 90 % budget")
        ax.legend()
        nwide = rt[(rt["scope"] == "network-wide") & (rt["network"] == nets[0])
                   & (rt["config"] == "90%")]
        _retrain_panel(axes[1, 1], nwide, colors,
                       "(e) masked retraining, network-wide, 90 %")
        lw = rt[(rt["scope"] == "layer-wise") & (rt["config"] == "L-OBS densities")]
        _retrain_panel(axes[1, 2], lw, colors,
                       "(f) masked retraining, layer-wise, L-OBS densities")
        fig.tight_layout()
        path = out / f"{NAME}.png"
        fig.savefig(path)
        plt.close(fig)
    C.log.info("wrote %s", path)
    return path


def main(argv=None):
    return C.run_figure(__doc__, NAME, compute, plot, argv)


if __name__ == "__main__":
    sys.exit(main())
