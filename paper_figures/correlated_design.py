"""Success over (correlation, ρ) at δ = 0.5 (paper_figures/correlated_design.png).

Toeplitz-correlated Gaussian matrices A = G Σ^{1/2}/√m, Σ_ij = c^|i−j|, for neighbour
correlations c ∈ {0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95}; n = 500, δ = m/n = 0.5, ρ = k/m
from 0.05 to 0.75, 20 trials per cell on common random matrices (the ρ cells of one c
share their matrices), success = relative error ≤ 1e-3. Solvers: NIHT, HTP, Subspace
Pursuit, OMP, I-OBS (default configuration) and basis pursuit. Two sweeps: ±1 signals
(the heat maps and the first ρ₅₀ panel) and N(0, 1) signals (the second ρ₅₀ panel).

It runs on the experiment harness (:mod:`sparserec.experiments.correlated_design`), so
the sweeps are resumable; they are stored in ``results/correlated_design/<signal>`` and
this script writes ``correlated_design.png``, ``correlated_design.csv`` (fitted 50 %
points: one row per signal × solver × c) and ``correlated_design_success.csv`` (success
rate per signal × solver × c × ρ) into ``paper_figures/``.

    python paper_figures/correlated_design.py            # the committed figure (~5 min)
    python paper_figures/correlated_design.py --smoke    # seconds, into a temporary dir
    python paper_figures/correlated_design.py --plot-only
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

from sparserec.experiments import correlated_design as E  # noqa: E402
from sparserec.harness import load_results  # noqa: E402

NAME = "correlated_design"
SIGNALS = ("rademacher", "gaussian")


def compute(args):
    work = (args.out / "correlated_work") if args.smoke \
        else (_common.ROOT / "results" / NAME)
    fits, success = [], []
    for signal in SIGNALS:
        store = work / signal
        cli = ["--seed", str(args.seed), "--out", str(store), "--signal", signal, "--quiet"]
        if args.smoke:
            cli.append("--smoke")
        if args.workers:
            cli += ["--workers", str(args.workers)]
        code = E.main(cli)
        if code:
            raise SystemExit(code)
        f, s = (pd.read_csv(store / name) for name in ("fit50.csv", "success.csv"))
        fits.append(f.assign(signal=signal))
        success.append(s.assign(signal=signal))
    df, _ = load_results(work / SIGNALS[0])
    meta = _common.metadata(args.seed, title=E.figure_title(df))
    pd.concat(fits).assign(**meta).to_csv(args.out / f"{NAME}.csv", index=False)
    pd.concat(success).to_csv(args.out / f"{NAME}_success.csv", index=False)


def plot(out):
    """Draw the figure from ``correlated_design.csv`` and ``correlated_design_success.csv``."""
    fits = pd.read_csv(out / f"{NAME}.csv")
    success = pd.read_csv(out / f"{NAME}_success.csv")
    first, *rest = [s for s in SIGNALS if s in set(fits["signal"])]
    more = [(E.SIGNAL_NAMES[s], fits[fits["signal"] == s]) for s in rest]
    E.plot(fits[fits["signal"] == first], success[success["signal"] == first],
           out / f"{NAME}.png", title=fits["title"].iloc[0], signal=E.SIGNAL_NAMES[first],
           more=more)
    _common.log.info("wrote %s", out / f"{NAME}.png")


def _extra(parser):
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes (default: all cores)")


def main(argv=None):
    return _common.run_figure(__doc__, NAME, compute, plot, argv, extra=_extra,
                              seed_default=0)


if __name__ == "__main__":
    sys.exit(main())
