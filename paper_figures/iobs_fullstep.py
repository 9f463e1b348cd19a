"""Full Newton step: Topk-I-OBS with η = 1 reaches θ* in one iteration; k-IHT does not.

On the I-OBS paper's two overdetermined synthetic problems (Gaussian prior:
X 256×128, k* = 16, k = 64; MNIST prior: X 1568×784, θ* a raw 0…255 MNIST
image, k = 2·nnz(θ*); see iobs_gaussian.py and iobs_mnist.py for the data),
Topk-I-OBS with the full step η = 1 and the exact curvature XᵀX computes
z = θ − (XᵀX)⁻¹Xᵀ(Xθ − y) = θ* (X has full column rank and y = Xθ*), and
T_k(θ*) = θ* since k ≥ k*. The figure plots ‖θ_t − θ*‖ and the loss against
the iteration for Topk-I-OBS (η = 1) and k-IHT at its largest safe step
μ = 1/λ_max(XᵀX) in the ½‖Xθ − y‖² convention (128× and 784× the paper's
effective steps), from the same ``nn.Linear``-like random start, over 20
Gaussian problems and 5 MNIST images, for 300 iterations. The curves are
geometric means over the runs with a band of ± one standard deviation of
log10 (IHT's runs spread over orders of magnitude, where an arithmetic
mean ± std would be dominated by the slowest run). The loss shown is the
paper's (1/m)‖Xθ − y‖².

Writes ``iobs_fullstep.png``, ``iobs_fullstep.csv`` (per prior × method:
distance after one iteration, iterations to ‖θ_t − θ*‖ ≤ 1e-6‖θ*‖, final
distance) and ``iobs_fullstep_curves.csv``.

Command (from the repository root; about 10 s on 2 idle cores)::

    .venv/bin/python paper_figures/iobs_fullstep.py
    .venv/bin/python paper_figures/iobs_fullstep.py --smoke --out results/fig_smoke
    .venv/bin/python paper_figures/iobs_fullstep.py --plot-only   # redraw from the CSVs
"""
from __future__ import annotations

import sys

import numpy as np

import _common as C
import iobs_gaussian as G
import iobs_mnist as M

NAME = "iobs_fullstep"
LABELS = {"topk_iobs": r"Topk-I-OBS, $\eta=1$", "iht": r"k-IHT, $\mu=1/\lambda_{\max}$"}
PRIORS = {"gaussian": "Gaussian prior", "mnist": "MNIST prior"}
FULL = {"gaussian": dict(G.FULL, iterations=300), "mnist": dict(M.FULL, iterations=300, thin=1)}
SMOKE = {"gaussian": dict(G.SMOKE, iterations=10), "mnist": dict(M.SMOKE, iterations=10)}


def methods(cfg, scale):
    """Full steps; ``scale`` = 2/m converts ½‖r‖² into the plotted MSE loss."""
    it = cfg["iterations"]
    return [
        {"name": "topk_iobs", "loss_scale": scale,
         "make": lambda p: C.solver("topk_iobs", step=1.0, curvature="exact", damping=None,
                                    max_iter=it, tol=0.0)},
        {"name": "iht", "loss_scale": scale,
         "make": lambda p: C.solver("iht", step=None, max_iter=it, tol=0.0)},
    ]


def compute(args):
    import pandas as pd
    cfgs = SMOKE if args.smoke else FULL
    summaries, all_curves = [], []
    for prior, cfg in cfgs.items():
        scale = 2.0 / cfg["m"]
        if prior == "gaussian":
            make_trial = G.make_trial_factory(cfg)
        else:
            images = M.load_images(cfg["side"])
            rng = np.random.default_rng(C.trial_seed(args.seed, "mnist-images", 0))
            make_trial = M.make_trial_factory(cfg, images,
                                              rng.choice(len(images), cfg["runs"], replace=False))
        with C.Timer() as t:
            curves, runs, _ = C.run_trials(make_trial, methods(cfg, scale), cfg["runs"],
                                           args.seed, f"fullstep-{prior}")
        summary = C.summarize(runs, None, prior=prior, cfg_m=cfg["m"],
                              cfg_iterations=cfg["iterations"], compute_wall_time_s=t.seconds,
                              **C.metadata(args.seed, smoke=bool(args.smoke)))
        extra = runs.groupby("method", sort=False).agg(
            distance_after_1_mean=("distance_after_1", "mean"),
            distance_after_1_max=("distance_after_1", "max"),
            rel_distance_after_1_max=("distance_after_1",
                                      lambda s: float((s / runs.loc[s.index, "x_true_norm"]).max())),
            frac_reached_rel_1e6=("iters_to_rel_1e-6", lambda s: float((s >= 0).mean())),
            iters_to_rel_1e6_median=("iters_to_rel_1e-6",
                                     lambda s: float(np.median(s[s >= 0])) if (s >= 0).any()
                                     else float(cfg["iterations"] + 1)),
        ).reset_index()
        summaries.append(summary.merge(extra, on="method"))
        curves.insert(0, "prior", prior)
        all_curves.append(curves)
    summary = pd.concat(summaries, ignore_index=True)
    C.write_table(summary, args.out / f"{NAME}.csv")
    C.write_table(pd.concat(all_curves, ignore_index=True), args.out / f"{NAME}_curves.csv",
                  digits=6)
    for row in summary.itertuples():
        C.log.info("%-8s %-10s dist after 1 it: mean %.3g (max rel %.2g); reached 1e-6 rel in "
                   "%.0f%% of runs, median %g its; final %.3g", row.prior, row.method,
                   row.distance_after_1_mean, row.rel_distance_after_1_max,
                   100 * row.frac_reached_rel_1e6, row.iters_to_rel_1e6_median,
                   row.final_distance_mean)
    C.log.info("(iters_to_rel_1e6_median = iterations + 1 means never reached)")


def plot(out):
    """Draw the figure from the stored tables only."""
    import pandas as pd
    summary = pd.read_csv(out / f"{NAME}.csv")
    curves = pd.read_csv(out / f"{NAME}_curves.csv")
    with C.figure_style() as plt:
        fig, axes = plt.subplots(2, 2, figsize=(10, 7.5), constrained_layout=True)
        for i, prior in enumerate(PRIORS):
            sub = curves[curves["prior"] == prior]
            for meth in ["topk_iobs", "iht"]:
                cur = sub[sub["method"] == meth]
                row = summary[(summary["prior"] == prior) & (summary["method"] == meth)].iloc[0]
                for ax, col in zip(axes[i], ["loss", "distance"]):
                    wide = cur.pivot(index="run", columns="iteration", values=col)
                    # floor so that exact zeros stay drawable on a log axis
                    floor = 1e-300 if col == "loss" else 1e-16
                    C.log_band(ax, wide.columns.to_numpy(), np.maximum(wide.to_numpy(), floor),
                               label=LABELS[meth] + (
                                   f" (after 1 it: {row['distance_after_1_mean']:.2g})"
                                   if col == "distance" else ""))
            n_runs = int(summary[summary["prior"] == prior]["n_runs"].iloc[0])
            axes[i, 0].set(yscale="log", xlabel="iteration",
                           ylabel=r"loss $\frac{1}{m}\|X\theta-y\|^2$",
                           title=f"{PRIORS[prior]}: training loss ({n_runs} runs)")
            axes[i, 1].set(yscale="log", xlabel="iteration",
                           ylabel=r"$\|\theta_t-\theta^\star\|_2$",
                           title=f"{PRIORS[prior]}: distance to $\\theta^\\star$")
            for ax in axes[i]:
                ax.legend(fontsize="small")
        fig.suptitle("Full steps: Topk-I-OBS ($\\eta=1$, exact $X^\\top X$) vs k-IHT "
                     "($\\mu=1/\\lambda_{\\max}(X^\\top X)$): geometric mean over runs, "
                     "band ± 1 s.d. of $\\log_{10}$")
        fig.savefig(out / f"{NAME}.png", dpi=150)
        plt.close(fig)
    C.log.info("wrote %s", out / f"{NAME}.png")


def main(argv=None):
    return C.run_figure(__doc__, NAME, compute, plot, argv)


if __name__ == "__main__":
    sys.exit(main())
