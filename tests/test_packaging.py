"""What the wheel holds: the ``sparserec`` packages, the style file and five console scripts.

The repository's top-level ``experiments/`` is a set of shims for ``python -m
experiments.<name>`` in a clone; it must not be installed (a top-level package of that
name would shadow users' own folders). Most tests read ``setup.cfg``; one builds the wheel
(pip, as ``make install`` uses it; about two seconds) and looks inside it.
"""
from __future__ import annotations

import ast
import configparser
import importlib
import shutil
import subprocess
import sys
import zipfile
from fnmatch import fnmatch
from pathlib import Path

import pytest
from setuptools import find_packages

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = {"sparserec-phase-transition": "phase_transition",
           "sparserec-convergence": "convergence",
           "sparserec-conditioning": "conditioning",
           "sparserec-prune-network": "prune_network",
           "sparserec-nettrim-samples": "nettrim_samples",
           "sparserec-prune-global": "prune_global"}


def _setup_cfg():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    return cfg


def _lines(text):
    return [line.strip() for line in text.strip().splitlines() if line.strip()]


def _console_scripts():
    """``{script name: "module:function"}`` from setup.cfg."""
    entries = _lines(_setup_cfg()["options.entry_points"]["console_scripts"])
    return dict((part.strip() for part in line.split("=", 1)) for line in entries)


def test_packages_found_are_sparserec_only():
    include = _lines(_setup_cfg()["options.packages.find"]["include"])
    found = find_packages(where=str(ROOT), include=include)
    assert "sparserec.harness" in found and "sparserec.experiments" in found
    assert all(p == "sparserec" or p.startswith("sparserec.") for p in found), found
    assert (ROOT / "experiments" / "__init__.py").is_file()  # present in the clone, not installed


def test_style_file_is_package_data():
    data = _setup_cfg()["options.package_data"]
    patterns = _lines(data["sparserec.harness"])
    shipped = [p.name for p in (ROOT / "sparserec" / "harness").iterdir()
               if any(fnmatch(p.name, pat) for pat in patterns)]
    assert shipped == ["sparserec.mplstyle"]


def test_console_scripts_point_at_main():
    scripts = _console_scripts()
    assert scripts == {name: f"sparserec.experiments.{mod}:main" for name, mod in SCRIPTS.items()}
    for target in scripts.values():
        module, func = target.split(":")
        main = getattr(importlib.import_module(module), func)
        assert callable(main)
        with pytest.raises(SystemExit) as exc:  # what `sparserec-... --help` does
            main(["--help"])
        assert exc.value.code == 0


@pytest.mark.parametrize("name", sorted(SCRIPTS.values()))
def test_clone_shims_run_the_package_main(name):
    # experiments/<name>.py: import main from sparserec.experiments.<name>, call it as __main__
    tree = ast.parse((ROOT / "experiments" / f"{name}.py").read_text())
    imports = [(n.module, [a.name for a in n.names]) for n in tree.body
               if isinstance(n, ast.ImportFrom)]
    assert (f"sparserec.experiments.{name}", ["main"]) in imports
    guards = [n for n in tree.body if isinstance(n, ast.If)
              and "__main__" in ast.unparse(n.test) and "main()" in ast.unparse(n)]
    assert len(guards) == 1


def test_built_wheel_contents(tmp_path):
    # Build from a copy of the sources (an in-tree build would leave build/ behind).
    src = tmp_path / "src"
    src.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("sparserec", "experiments"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                           "-w", str(tmp_path / "dist"), str(src)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("sparserec-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        (ep,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        entry_points = zf.read(ep).decode()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"sparserec"}, tops
    assert "sparserec/harness/sparserec.mplstyle" in names
    for name, target in _console_scripts().items():
        assert f"{name} = {target}" in entry_points
