"""Test accuracy vs sparsity of LeNet-300-100 pruned layer-wise without retraining.

Paper figure of :mod:`sparserec.experiments.prune_network` (the protocol is described
there): every pruner at 50/70/90/95 % sparsity per layer, parallel (dense
calibration inputs, solid) and sequential (inputs of the pruned network,
dashed), plus Net-Trim's ε-driven points (parallel and cascade) at the overall
density they reach, and the dense accuracy as a horizontal line.

Writes ``pruning_accuracy.png`` and ``pruning_accuracy.csv`` (a copy of the
experiment's ``pruning_runs.csv``: one row per run). The plot reads only that
CSV.

Command (from the repository root; a few minutes on 2 cores)::

    .venv/bin/python paper_figures/pruning_accuracy.py
    .venv/bin/python paper_figures/pruning_accuracy.py --smoke --out results/fig_smoke
    .venv/bin/python paper_figures/pruning_accuracy.py --plot-only
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

from threadpoolctl import threadpool_limits

import _common as C
from sparserec.experiments import prune_network as E

NAME = "pruning_accuracy"


def compute(args):
    store = args.out / "prune_network_store" if args.smoke else C.ROOT / "results" / "prune_network"
    with C.Timer() as t, threadpool_limits(limits=1, user_api="blas"):
        E.run(str(store), smoke=args.smoke, seed=0)
    shutil.copyfile(Path(store) / "pruning_runs.csv", args.out / f"{NAME}.csv")
    C.log.info("prune_network: %.1f s (store %s)", t.seconds, store)


def plot(out):
    """Draw the figure from ``pruning_accuracy.csv`` only."""
    import pandas as pd
    df = pd.read_csv(out / f"{NAME}.csv")
    dense = float(df.loc[df["method"] == "dense", "accuracy"].iloc[0])
    grid = df[df["config"].str.endswith("%")].copy()
    grid["sparsity"] = grid["config"].str.rstrip("%").astype(float)
    with C.figure_style() as plt:
        fig, ax = plt.subplots(figsize=(6.8, 4.6))
        colors = {}
        for (method, mode), g in grid.groupby(["method", "mode"], sort=False):
            g = g.sort_values("sparsity")
            kw = {"color": colors.get(method)} if method in colors else {}
            line, = ax.plot(g["sparsity"], 100 * g["accuracy"], marker="o",
                            linestyle="-" if mode == "parallel" else "--",
                            label=method if mode == "parallel" else None, **kw)
            colors.setdefault(method, line.get_color())
        nt = df[df["method"] == "nettrim"]
        for mode, marker in (("parallel", "s"), ("cascade", "^")):
            g = nt[nt["mode"] == mode]
            if len(g):
                ax.scatter(100 * (1 - g["density"]), 100 * g["accuracy"], marker=marker,
                           color="k", zorder=5, label=f"Net-Trim ({mode}, ε-driven)")
        ax.axhline(100 * dense, color="0.4", linewidth=1, linestyle=":",
                   label=f"dense ({100 * dense:.1f} %)")
        ax.set_xlabel("sparsity (% of weights pruned; per layer, Net-Trim overall)")
        ax.set_ylabel("test accuracy (%), no retraining")
        ax.set_title("Layer-wise pruning without retraining (solid: parallel, dashed: sequential)")
        ax.set_ylim(0, 100)
        ax.legend(loc="lower left", ncol=2)
        path = out / f"{NAME}.png"
        fig.savefig(path)
        plt.close(fig)
    C.log.info("wrote %s", path)
    return path


def main(argv=None):
    return C.run_figure(__doc__, NAME, compute, plot, argv)


if __name__ == "__main__":
    sys.exit(main())
