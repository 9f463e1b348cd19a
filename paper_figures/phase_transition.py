"""Phase diagram with the Donoho–Tanner overlay (paper_figures/phase_transition.png).

Fitted 50 % success curves ρ₅₀(δ) of the thresholding, greedy, ℓ1 and I-OBS solvers on
Gaussian N(0, 1/m) matrices with ±1 signals (n = 200, 9 δ × 16 ρ, 20 fresh trials per
cell, success = relative error ≤ 1e-3), with the theoretical Donoho–Tanner ℓ1 curve
computed by ``sparserec.theory.donoho_tanner``. It runs on the experiment harness
(:mod:`sparserec.experiments.phase_transition`), so its sweep is resumable; results are
stored in ``results/phase_figure`` and this script copies the figure and the fitted
50 % table into ``paper_figures/``.

    python paper_figures/phase_transition.py            # the committed figure (~5 min)
    python paper_figures/phase_transition.py --smoke    # seconds, into a temporary dir
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

from sparserec.experiments import phase_transition  # noqa: E402

SOLVERS = ["iht:step=normalized,max_iter=300", "htp", "cosamp:max_iter=100",
           "subspace_pursuit", "omp", "basis_pursuit", "iobs"]
FULL = dict(n=200, deltas="0.1:0.9:0.1",
            rhos="0.05,0.1,0.15,0.2,0.25,0.3,0.35,0.4,0.45,0.5,0.55,0.6,0.65,0.7,0.8,0.9",
            trials=20)
SMOKE = dict(n=30, deltas="0.3,0.6", rhos="0.1,0.3,0.5", trials=2)


def main(argv=None):
    args = _common.parse_args(__doc__, argv)
    size = SMOKE if args.smoke else FULL
    work = (args.out / "phase_work") if args.smoke else (_common.ROOT / "results" / "phase_figure")
    cli = ["--n", str(size["n"]), "--deltas", size["deltas"], "--rhos", size["rhos"],
           "--trials", str(size["trials"]), "--seed", str(args.seed), "--out", str(work),
           "--signal", "rademacher", "--quiet"]
    for spec in (SOLVERS if not args.smoke else SOLVERS[1:2] + SOLVERS[-1:]):
        cli += ["--solver", spec]
    if args.plot_only:
        cli.append("--plot-only")
    code = phase_transition.main(cli)
    if code:
        return code
    shutil.copyfile(work / "transitions.png", args.out / "phase_transition.png")
    shutil.copyfile(work / "fit50.csv", args.out / "phase_transition.csv")
    _common.log.info("wrote %s", args.out / "phase_transition.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
