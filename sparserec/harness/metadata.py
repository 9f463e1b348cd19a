"""Run metadata: what ``metadata.json`` records beside a sweep's rows.

Package and library versions, the git revision (and whether the work tree
had uncommitted changes), the master seed and the seeding rule, the grid, the
solvers and the options of the run (STYLE.md item 11).
"""
from __future__ import annotations

import importlib.metadata as im
import json
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import sparserec

from .seeds import _MATRIX_KEY, _canon_value
from .tasks import _qualname

__all__ = ["sweep_metadata"]


def _git_revision():
    root = Path(__file__).resolve().parents[2]  # the repository root in a clone
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=10)
        if rev.returncode != 0:
            return None, None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, timeout=10)
        return rev.stdout.strip(), (bool(dirty.stdout.strip()) if dirty.returncode == 0
                                    else None)
    except (OSError, subprocess.SubprocessError):
        return None, None


def _versions():
    out = {}
    for pkg in ("numpy", "scipy", "numba", "cvxpy", "pandas", "pyarrow", "joblib", "dask",
                "distributed", "scikit-learn", "matplotlib", "tqdm"):
        try:
            out[pkg] = im.version(pkg)
        except im.PackageNotFoundError:
            out[pkg] = None
    return out


def sweep_metadata(sweep, **extra):
    """The metadata dict stored beside a sweep's rows."""
    rev, dirty = _git_revision()
    grid = sweep.grid if isinstance(sweep.grid, dict) else list(sweep.grid)
    meta = {
        "experiment": sweep.name,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "sparserec_version": sparserec.__version__,
        "git_revision": rev, "git_dirty": dirty,
        "master_seed": int(sweep.seed),
        "seeding": "SeedSequence(entropy=master_seed, spawn_key=(*coords_key(cell), trial)); "
                   f"shared matrix: spawn_key=(*coords_key(cell), {_MATRIX_KEY})",
        "solvers": [s.label for s in sweep.solvers],
        "grid": json.loads(json.dumps(grid, default=_canon_value)),
        "trials": int(sweep.trials), "mode": sweep.mode, "threshold": float(sweep.threshold),
        "builder": _qualname(sweep.builder), "runner": _qualname(sweep.runner),
        "trials_per_task": sweep.trials_per_task, "blas_threads": int(sweep.blas_threads),
        "n_tasks": len(sweep.tasks()),
        "python": sys.version.split()[0], "platform": platform.platform(),
        "libraries": _versions(),
    }
    meta.update(sweep.metadata or {})
    meta.update(extra)
    return meta
