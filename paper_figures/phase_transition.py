"""Phase diagram at research scale with the Donoho–Tanner overlay (paper_figures/phase_transition.png).

The paper preset of :mod:`sparserec.experiments.phase_transition`: n = 1000,
19 δ (0.05…0.95) × 36 ρ (0.025…0.9), 50 trials per cell, Gaussian N(0, 1/m)
matrices in common mode (one matrix per δ and trial, shared by the column's ρ
cells), ±1 signals, success = relative error ≤ 1e-3, adaptive ρ sampling
(bisection with 10-trial probes, the full 50 trials in the 5–95 % band and one
cell on each side), with NIHT, HTP, CoSaMP, Subspace Pursuit, OMP, I-OBS and
basis pursuit. It draws the fitted 50 % curves ρ₅₀(δ) with their 95 %
confidence intervals and the theoretical Donoho–Tanner ℓ1 curve
(``sparserec.theory.donoho_tanner``). The sweep is resumable and stored in
``results/phase_transition_paper`` (the preset's own folder, so a run of
``python -m experiments.phase_transition --preset paper`` is reused); this
script copies the figure and the fitted 50 % table into ``paper_figures/``.

    python paper_figures/phase_transition.py            # the committed figure
    python paper_figures/phase_transition.py --smoke    # seconds, into a temporary dir
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

from sparserec.experiments import phase_transition  # noqa: E402

SMOKE = dict(n=30, deltas="0.3,0.6", rhos="0.1,0.3,0.5", trials=2)


def main(argv=None):
    args = _common.parse_args(__doc__, argv, seed_default=0)  # the CLI's seed: reuse its run
    if args.smoke:
        work = args.out / "phase_work"
        cli = ["--n", str(SMOKE["n"]), "--deltas", SMOKE["deltas"], "--rhos", SMOKE["rhos"],
               "--trials", str(SMOKE["trials"]), "--solver", "htp", "--solver", "omp"]
    else:
        work = _common.ROOT / phase_transition.PRESETS["paper"]["out"]
        cli = ["--preset", "paper"]
    cli += ["--seed", str(args.seed), "--out", str(work), "--quiet"]
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
