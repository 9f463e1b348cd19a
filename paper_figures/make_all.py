"""Regenerate every figure in paper_figures/ (``make figures``), or all at tiny size (``--smoke``).

    python paper_figures/make_all.py            # every committed PNG, from scratch
    python paper_figures/make_all.py --smoke    # each script at tiny size, in a temp dir
    python paper_figures/make_all.py --only iobs_gaussian conditioning

Each script is run in its own process (as a user would run it), in the order below; the
command that made each committed PNG is listed in the README's figure table.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ["iobs_gaussian", "iobs_mnist", "iobs_fullstep", "conditioning", "phase_transition",
           "pruning_accuracy", "nettrim_samples", "prune_global"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, into a temporary directory")
    parser.add_argument("--only", nargs="+", choices=SCRIPTS, help="run only these scripts")
    parser.add_argument("--out", type=Path, default=None,
                        help="with --smoke: write each script's output to OUT/<script> "
                             "(default: a temporary directory, removed at the end)")
    args = parser.parse_args(argv)
    failed = []
    with tempfile.TemporaryDirectory(prefix="sparserec-figures-") as tmp:
        if args.out is not None:
            tmp = args.out
        for name in args.only or SCRIPTS:
            script = HERE / f"{name}.py"
            if not script.exists():
                print(f"{name}: missing script {script.name}", file=sys.stderr)
                failed.append(name)
                continue
            cmd = [sys.executable, str(script)]
            if args.smoke:
                cmd += ["--smoke", "--out", str(Path(tmp) / name)]
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, cwd=HERE.parent)
            status = "ok" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
            print(f"{name:20s} {time.perf_counter() - t0:7.1f} s  {status}", flush=True)
            if proc.returncode:
                failed.append(name)
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
