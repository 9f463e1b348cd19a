"""Layout rules of the harness (``sparserec.harness``) and the experiments (``sparserec.experiments``).

- the harness sits below the experiments: it never imports ``sparserec.pruning``,
  ``sparserec.experiments`` or the top-level ``experiments`` shims;
- (file length and lazy imports are checked for the whole package in ``tests/test_layout.py``);
- importing any of these modules leaves matplotlib's backend alone (notebooks show their
  figures), and the one style file ships inside the package;
- the harness's docstring examples run.
"""
from __future__ import annotations

import ast
import doctest
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "sparserec" / "harness"
EXPERIMENTS = ROOT / "sparserec" / "experiments"
FILES = sorted(HARNESS.glob("*.py")) + sorted(EXPERIMENTS.glob("*.py"))
#: What the harness must not import (the layers above it).
ABOVE_HARNESS = ("sparserec.pruning", "sparserec.experiments", "experiments")


def _module_name(path):
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _imports(tree, package):
    """``(node, absolute module name)`` of every import statement in ``tree``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module
            yield node, name
            for alias in node.names:  # `from sparserec import pruning`
                yield node, f"{name}.{alias.name}"


def _package(path):
    name = _module_name(path)
    return name if path.name == "__init__.py" else name.rsplit(".", 1)[0]


def test_files_found():
    names = {p.name for p in FILES}
    for must in ("specs.py", "seeds.py", "cells.py", "tasks.py", "sweep.py", "metadata.py",
                 "store.py", "backends.py", "fitting.py", "plotting.py", "cli.py",
                 "phase_transition.py", "convergence.py", "conditioning.py",
                 "prune_network.py"):
        assert must in names


@pytest.mark.parametrize("path", sorted(HARNESS.glob("*.py")), ids=lambda p: p.name)
def test_harness_does_not_import_the_layers_above(path):
    tree = ast.parse(path.read_text())
    bad = sorted({name for _, name in _imports(tree, _package(path))
                  if any(name == top or name.startswith(top + ".") for top in ABOVE_HARNESS)})
    assert not bad, f"sparserec/harness/{path.name} imports {bad}"


def test_importing_leaves_the_matplotlib_backend_alone(tmp_path):
    # A backend chosen before the import must survive it (a library never calls
    # matplotlib.use at import). Run where the repository's `experiments/` is not importable.
    mods = [_module_name(p) for p in FILES]
    code = ("import matplotlib; matplotlib.use('pdf'); import importlib\n"
            f"for m in {mods!r}: importlib.import_module(m)\n"
            "print(matplotlib.get_backend())")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "pdf"


def test_style_file_ships_with_the_package():
    from sparserec.harness.plotting import STYLE
    assert Path(STYLE).is_file() and Path(STYLE).parent == HARNESS


@pytest.mark.parametrize("path", sorted(HARNESS.glob("*.py")), ids=lambda p: p.name)
def test_harness_doctests(path):
    modname = _module_name(path)
    module = importlib.import_module(modname)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = []
    for test in doctest.DocTestFinder().find(module, modname):
        runner.run(test, out=report.append)
    assert runner.summarize(verbose=False).failed == 0, "".join(report)
