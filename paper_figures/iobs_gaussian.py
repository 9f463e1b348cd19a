"""I-OBS paper, synthetic sparse linear regression with a Gaussian prior: Topk-I-OBS vs k-IHT.

Reproduces the Gaussian-prior figure of Wu et al., "The Iterative Optimal Brain
Surgeon" (NeurIPS 2024): training loss and ‖θ_t − θ*‖ against the iteration,
mean ± std over 20 runs. Writes ``iobs_gaussian.png``, ``iobs_gaussian.csv``
(per-method summary: final distances next to the paper's, metadata),
``iobs_gaussian_runs.csv`` (one row per method × run, with its seed key) and
``iobs_gaussian_curves.csv`` (one row per method × run × iteration).

Command (from the repository root; about 10 s on 2 idle cores)::

    .venv/bin/python paper_figures/iobs_gaussian.py            # into paper_figures/
    .venv/bin/python paper_figures/iobs_gaussian.py --smoke --out results/fig_smoke
    .venv/bin/python paper_figures/iobs_gaussian.py --plot-only   # redraw from the CSVs

Protocol (as in the first author's simulation code, slinreg_topkwt.py):

* X ∈ ℝ^{256×128} with i.i.d. N(0, 1/256) entries; θ* has k* = 16 nonzeros
  drawn N(0, 1) on a uniform support; y = Xθ* (no noise);
* both methods are run at k = 64 for 750 iterations, from the default start
  of a PyTorch ``nn.Linear(128, 1, bias=False)``: θ_0 ~ U(−1/√128, 1/√128);
* the loss is the mean squared error L(θ) = (1/256)‖Xθ − y‖², so its gradient
  is (2/256)·Xᵀ(Xθ − y). In sparserec's ½‖Aθ − y‖² convention both methods
  take 2/256 times their nominal step:
  k-IHT θ ← T_k(θ − (2/256)/λ_max(XᵀX) · Xᵀ(Xθ − y)) (``iht``, ``step`` = that μ),
  Topk-I-OBS θ ← T_k(θ − (2/256)(XᵀX)⁻¹Xᵀ(Xθ − y)) (``topk_iobs``, exact
  curvature, no damping, ``step`` = η_eff = 2/256);
* ‖θ_t − θ*‖ is measured after every update; iteration 0 is the start.
  The plotted loss is L at the iterate after update t (the reference code logs
  it before the update, a shift by one iteration).

The paper reports final distances ≈ 0.05 (Topk-I-OBS) and ≈ 1.14 (k-IHT).
Seeds: trial r uses ``SeedSequence(seed, spawn_key=(key("gaussian"), r))``.
"""
from __future__ import annotations

import sys

import numpy as np

import _common as C
from sparserec import Problem
from sparserec.ensembles import sparse_signal

NAME = "iobs_gaussian"
PAPER = {"topk_iobs": 0.05, "iht": 1.14}
LABELS = {"topk_iobs": "Topk-I-OBS", "iht": "k-IHT"}
FULL = dict(m=256, n=128, k_star=16, k=64, iterations=750, runs=20)
SMOKE = dict(m=64, n=32, k_star=4, k=12, iterations=30, runs=3)


def make_trial_factory(cfg):
    """``make_trial(run, rng)`` drawing one Gaussian-prior problem and its start."""
    m, n = cfg["m"], cfg["n"]

    def make_trial(run, rng):
        X = rng.standard_normal((m, n)) / np.sqrt(m)
        theta = sparse_signal(n, cfg["k_star"], rng)
        x0 = rng.uniform(-1.0 / np.sqrt(n), 1.0 / np.sqrt(n), size=n)  # nn.Linear default
        return Problem(X, X @ theta, cfg["k"], x_true=theta), x0, {}
    return make_trial


def methods(cfg, scale):
    """The two methods with the paper's effective steps (``scale`` = 2/m)."""
    it = cfg["iterations"]
    return [
        {"name": "topk_iobs", "loss_scale": scale,
         "make": lambda p: C.solver("topk_iobs", step=scale, curvature="exact",
                                    damping=None, max_iter=it, tol=0.0)},
        {"name": "iht", "loss_scale": scale,
         "make": lambda p: C.solver("iht", step=scale / p.norm2() ** 2, max_iter=it, tol=0.0)},
    ]


def compute(args):
    """Run the experiment; write the summary and curve tables."""
    cfg = SMOKE if args.smoke else FULL
    scale = 2.0 / cfg["m"]
    with C.Timer() as t:
        curves, runs, _ = C.run_trials(make_trial_factory(cfg), methods(cfg, scale),
                                       cfg["runs"], args.seed, "gaussian")
    summary = C.summarize(runs, PAPER,
                          **{f"cfg_{k}": v for k, v in cfg.items()},
                          step_effective=scale, compute_wall_time_s=t.seconds,
                          **C.metadata(args.seed, smoke=bool(args.smoke)))
    C.write_table(summary, args.out / f"{NAME}.csv")
    C.write_table(curves, args.out / f"{NAME}_curves.csv", digits=6)
    C.write_table(runs, args.out / f"{NAME}_runs.csv")
    C.report(summary, "Gaussian prior")


def plot(out):
    """Draw the figure from the stored tables only."""
    import pandas as pd
    summary = pd.read_csv(out / f"{NAME}.csv")
    curves = pd.read_csv(out / f"{NAME}_curves.csv")
    cfg = summary.iloc[0]
    with C.figure_style() as plt:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
        for meth in ["topk_iobs", "iht"]:
            grp = curves[curves["method"] == meth].groupby("iteration")
            row = summary[summary["method"] == meth].iloc[0]
            paper = row["paper_final_distance"]
            tail = f" (final {row['final_distance_mean']:.3g}" + \
                (f"; paper {paper:g})" if np.isfinite(paper) else ")")
            for ax, col in zip(axes, ["loss", "distance"]):
                mean, std = grp[col].mean(), grp[col].std(ddof=1).fillna(0.0)
                C.mean_std_band(ax, mean.index.to_numpy(), mean.to_numpy(), std.to_numpy(),
                                label=LABELS[meth] + (tail if col == "distance" else ""),
                                log=True)
        axes[0].set(yscale="log", xlabel="iteration", ylabel=r"training loss $\frac{1}{m}\|X\theta-y\|^2$",
                    title="Training loss")
        axes[1].set(yscale="log", xlabel="iteration", ylabel=r"$\|\theta_t-\theta^\star\|_2$",
                    title="Distance to the true signal")
        for ax in axes:
            ax.legend()
        fig.suptitle(f"Gaussian prior: m={cfg['cfg_m']}, n={cfg['cfg_n']}, k*={cfg['cfg_k_star']}, "
                     f"k={cfg['cfg_k']}, mean ± std over {cfg['n_runs']} runs")
        fig.savefig(out / f"{NAME}.png", dpi=150)
        plt.close(fig)
    C.log.info("wrote %s", out / f"{NAME}.png")


def main(argv=None):
    return C.run_figure(__doc__, NAME, compute, plot, argv)


if __name__ == "__main__":
    sys.exit(main())
