"""The house rules of the package (DESIGN.md, "Layout").

- each folder of ``sparserec`` is one layer and imports only point down; the
  contract lives in ``setup.cfg`` (``[importlinter]``) and ``make test`` runs it;
  here it is run on the real package and on a copy with one deliberately upward
  import, which it must reject;
- no file of the package has more than 800 lines;
- imports sit at module top; only optional dependencies (extras) are imported
  inside the function that needs them;
- one module holds at most one registered algorithm.
"""
from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sparserec import solvers

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sparserec"
FILES = sorted(PACKAGE.rglob("*.py"))
MAX_LINES = 800
#: Optional dependencies (extras) that may be imported inside the function that needs them.
LAZY_OK = {"dask", "distributed", "mlxtend", "torch"}
LINT = Path(sys.executable).with_name("lint-imports")


def _rel(path):
    return str(path.relative_to(ROOT))


def test_files_found():
    assert len(FILES) > 50
    for sub in ("problems", "curvature", "projection", "kernels", "solvers", "pruning",
                "harness", "experiments"):
        assert (PACKAGE / sub / "__init__.py").is_file(), sub


@pytest.mark.parametrize("path", FILES, ids=_rel)
def test_file_length(path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, f"{_rel(path)} has {n} lines (at most {MAX_LINES}): split it"


@pytest.mark.parametrize("path", FILES, ids=_rel)
def test_imports_at_module_top(path):
    tree = ast.parse(path.read_text())
    lazy = []
    for func in ast.walk(tree):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(func):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = ["." * node.level + (node.module or "")]
            else:
                continue
            lazy += [f"line {node.lineno}: {n} in {func.name}()" for n in names
                     if n.split(".")[0] not in LAZY_OK]
    assert not lazy, f"{_rel(path)} imports inside functions: {sorted(set(lazy))}"


def test_one_registered_algorithm_per_module():
    modules = {}
    for name in solvers.available():
        modules.setdefault(solvers.solver_class(name).__module__, []).append(name)
    shared = {m: names for m, names in modules.items() if len(names) > 1}
    assert not shared, f"modules holding several registered algorithms: {shared}"
    assert len(modules) == len(solvers.available())


# ---------------------------------------------------------------- the contract
def _lint(cwd):
    return subprocess.run([str(LINT), "--no-cache"], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_layering_contract_holds():
    proc = _lint(ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "2 kept, 0 broken" in proc.stdout


def test_layering_contract_rejects_an_upward_import(tmp_path):
    """A copy of the package where a solver imports the pruning layer must fail the contract."""
    shutil.copytree(PACKAGE, tmp_path / "sparserec",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "setup.cfg", tmp_path / "setup.cfg")
    obs = tmp_path / "sparserec" / "solvers" / "obs.py"
    obs.write_text(obs.read_text() + "\nfrom ..pruning import network  # noqa: E402,F401\n")
    proc = subprocess.run([str(LINT), "--no-cache"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env={"PYTHONPATH": str(tmp_path)})
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "sparserec.solvers is not allowed to import sparserec.pruning" in proc.stdout


def test_a_new_solver_is_one_module(tmp_path):
    """Adding a solver module is all it takes: the registry finds it and it solves."""
    shutil.copytree(PACKAGE, tmp_path / "sparserec",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "sparserec" / "solvers" / "zero.py").write_text('''"""A toy solver."""
import numpy as np

from .base import Solver, register


@register
class Zero(Solver):
    """Return zeros.

    Notes
    -----
    x = 0.
    """

    name = "zero"

    def __init__(self, *, max_iter=1, tol=0.0, stagnation=None):
        self.max_iter, self.tol, self.stagnation = max_iter, tol, stagnation

    def _step(self, problem, state):
        state["X"] = np.zeros_like(state["X"])
        problem.refresh(state)
        return state
''')
    code = ("from sparserec import solvers; from sparserec.ensembles import make_problem\n"
            "r = solvers.get('zero').solve(make_problem(8, 16, 2, seed=0))\n"
            "print('zero' in solvers.available(), r.status, float(abs(r.x).sum()))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env={"PYTHONPATH": str(tmp_path),
                                                       "NUMBA_CACHE_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["True", "max_iter", "0.0"]
