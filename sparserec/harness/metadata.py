"""Run metadata: what ``metadata.json`` records beside a sweep's rows, and the code's identity.

:func:`package_version` is the one place that says which sparserec computed a
result: its version, and, when it runs from a git clone of sparserec, the
commit and whether the work tree had uncommitted changes. Every experiment
records it (``metadata.json``'s ``sparserec`` entry). :func:`source_hash`
fingerprints the code itself; it enters every task key, so stored cells are
reused only by the code that computed them. :func:`sweep_metadata` adds the
library versions, the master seed and the seeding rule, the grid, the
solvers with their resolved parameters and the options of the run
(STYLE.md item 11).
"""
from __future__ import annotations

import ast
import functools
import hashlib
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

__all__ = ["package_version", "source_hash", "sweep_metadata"]

#: The directory of the sparserec package that is running.
PACKAGE_DIR = Path(sparserec.__file__).resolve().parent


def _git(root, *args):
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def _clone_revision(package_dir):
    """``(commit, dirty)`` when ``package_dir`` sits at the top of a git work tree, else Nones.

    Only a clone of sparserec itself counts: the package's parent directory
    must be the work tree's top level. An installed copy inside some other
    repository (a virtual environment in the user's project, say) is not
    mistaken for one.
    """
    root = Path(package_dir).resolve().parent
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != root:
        return None, None
    commit = _git(root, "rev-parse", "HEAD")
    if not commit:
        return None, None
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    return commit, (bool(status) if status is not None else None)


def package_version(package_dir=None):
    """Which sparserec is running: version, and the git commit when run from a clone.

    Parameters
    ----------
    package_dir : path-like, optional
        The ``sparserec`` package directory (default: the one imported).

    Returns
    -------
    dict
        ``version`` (``sparserec.__version__``), ``commit`` (the clone's
        ``HEAD``, or None for an installed copy), ``dirty`` (uncommitted
        changes to tracked files, or None) and ``source_hash``
        (:func:`source_hash`).

    Examples
    --------
    >>> sorted(package_version())
    ['commit', 'dirty', 'source_hash', 'version']
    """
    package_dir = Path(package_dir or PACKAGE_DIR)
    commit, dirty = _clone_revision(package_dir)
    return {"version": sparserec.__version__, "commit": commit, "dirty": dirty,
            "source_hash": source_hash(package_dir=package_dir)}


def _strip_docstrings(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


@functools.lru_cache(maxsize=4096)
def _file_digest(path, mtime_ns, size):
    """SHA-256 of a Python file's code without comments and docstrings (cached by stat)."""
    data = Path(path).read_bytes()
    if path.endswith(".py"):
        try:
            tree = _strip_docstrings(ast.parse(data, filename=path))
            data = ast.dump(tree, annotate_fields=False, include_attributes=False).encode()
        except (SyntaxError, ValueError):
            pass
    return hashlib.sha256(data).hexdigest()


def _files(package_dir):
    return sorted(p for pattern in ("*.py", "*.mplstyle")
                  for p in Path(package_dir).rglob(pattern) if "__pycache__" not in p.parts)


def source_hash(*extra, package_dir=None):
    """A fingerprint of the code: sparserec's sources, plus those of ``extra`` modules.

    Parameters
    ----------
    *extra : callable or module
        Functions (or modules) whose defining source file is hashed too, when
        it lies outside the package: a custom builder or runner.
    package_dir : path-like, optional
        The package directory (default: the one imported).

    Returns
    -------
    str
        16 hex digits of a SHA-256 over every ``.py`` and ``.mplstyle`` file of
        the package, Python files taken as their syntax tree without comments
        and docstrings (editing documentation does not change it; editing code
        does).

    Notes
    -----
    The files are read from disk (each file's digest is cached by its
    modification time and size), so an edit made after the modules were
    imported already counts.
    """
    package_dir = Path(package_dir or PACKAGE_DIR).resolve()
    paths = _files(package_dir)
    for obj in extra:
        mod = sys.modules.get(getattr(obj, "__module__", None) or "") if callable(obj) else obj
        src = getattr(mod, "__file__", None)
        if src and Path(src).suffix == ".py":
            src = Path(src).resolve()
            if package_dir not in src.parents and src not in paths:
                paths.append(src)
    h = hashlib.sha256()
    for p in paths:
        try:
            st = p.stat()
            digest = _file_digest(str(p), st.st_mtime_ns, st.st_size)
        except OSError:
            continue
        rel = p.relative_to(package_dir).as_posix() if package_dir in p.parents else p.name
        h.update(f"{rel}\0{digest}\n".encode())
    return h.hexdigest()[:16]


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
    """The metadata dict stored beside a sweep's rows.

    Parameters
    ----------
    sweep : Sweep
    **extra
        Further entries (backend, row counts, ...).

    Returns
    -------
    dict
        ``experiment``, ``created``, ``sparserec`` (:func:`package_version`,
        with the source hash that keys the sweep's cells), the seeding rule,
        ``solvers`` and ``solver_params`` (each solver's resolved
        hyperparameters, defaults included), the grid and the run options.
    """
    version = package_version()
    version["source_hash"] = sweep.code
    grid = sweep.grid if isinstance(sweep.grid, dict) else list(sweep.grid)
    meta = {
        "experiment": sweep.name,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "sparserec": version,
        "master_seed": int(sweep.seed),
        "seeding": "SeedSequence(entropy=master_seed, spawn_key=(*coords_key(cell), trial)); "
                   f"shared matrix: spawn_key=(*coords_key(cell), {_MATRIX_KEY})",
        "solvers": [s.label for s in sweep.solvers],
        "solver_params": {s.label: dict(s.resolved_params()) for s in sweep.solvers},
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
