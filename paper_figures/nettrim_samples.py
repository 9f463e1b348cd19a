"""Net-Trim's sample complexity on a planted sparse ReLU neuron, with L-OBS and OBC.

Paper figure of :mod:`sparserec.experiments.nettrim_samples` (the protocol is described
there in full): N = 100 inputs with i.i.d. N(0, 1) entries, one ReLU neuron whose weights
w* have s nonzeros (s/N = 0.05 … 0.5), P = 0.05N … 2N samples, 12 fresh instances per
cell. Net-Trim (ADMM, ε = 1e-6·‖y‖, never told s) sees the inputs and the ReLU outputs;
L-OBS and OBC prune the minimum-norm dense fit X⁺Xw* to exactly s weights (damping 1e-8
and 1e-4, the best for each). Success: ‖ŵ − w*‖ ≤ 1e-3‖w*‖. Panels: (a) Net-Trim's
success rate over (s/N, P/N) with its logistic 50 % points; (b) the 50 % curves of the
three methods; (c) P₅₀/(s·log(N/s)) with Net-Trim's least-squares constant c; (d) P₅₀
over the Donoho–Tanner count (the samples basis pursuit needs from *linear* measurements
Xw*).

Writes ``nettrim_samples.png``, ``nettrim_samples.csv`` (one row per method × s/N: P₅₀,
its 10–90 % points, the ratios and c) and ``nettrim_samples_cells.csv`` (one row per
method × cell). The sweep itself is stored by the harness in
``results/nettrim_samples`` (``--store``; inside ``--out`` with ``--smoke``), shared with
``python -m experiments.nettrim_samples`` (same default seed 0), so a rerun only redraws.

Command (from the repository root; about 5 CPU-minutes, 7 to 9 minutes of wall time
measured on 2 shared cores)::

    .venv/bin/python paper_figures/nettrim_samples.py
    .venv/bin/python paper_figures/nettrim_samples.py --smoke --out results/fig_smoke
    .venv/bin/python paper_figures/nettrim_samples.py --plot-only
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import _common as C
from sparserec.experiments import nettrim_samples as E

NAME = "nettrim_samples"
TABLES = (f"{NAME}.csv", f"{NAME}_cells.csv")


def compute(args):
    store = args.store or (args.out / "nettrim_samples_store" if args.smoke
                           else C.ROOT / "results" / "nettrim_samples")
    with C.Timer() as t:
        _, fits = E.run(store, smoke=args.smoke, seed=args.seed, backend=args.backend,
                        workers=args.workers)
    for name in TABLES:
        shutil.copyfile(Path(store) / name, args.out / name)
    C.log.info("nettrim_samples sweep: %.1f s (store %s)", t.seconds, store)
    C.log.info("%s", E.format_table(fits))


def plot(out):
    """Draw the figure from the two CSV tables only."""
    import pandas as pd
    cells = pd.read_csv(out / f"{NAME}_cells.csv")
    fits = pd.read_csv(out / f"{NAME}.csv")
    with C.figure_style():
        E.plot(cells, fits, out / f"{NAME}.png")
    C.log.info("wrote %s", out / f"{NAME}.png")


def _extra(parser):
    parser.add_argument("--store", type=Path, default=None,
                        help="harness store of the sweep (default results/nettrim_samples; "
                             "with --smoke, OUT/nettrim_samples_store)")
    parser.add_argument("--backend", default="joblib", choices=["serial", "joblib", "dask"],
                        help="harness backend (default %(default)s)")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes (default: all cores)")


def main(argv=None):
    return C.run_figure(__doc__, NAME, compute, plot, argv, extra=_extra, seed_default=0)


if __name__ == "__main__":
    sys.exit(main())
