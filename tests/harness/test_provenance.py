"""Stored cells are keyed on what determines them; metadata says which sparserec ran."""
from __future__ import annotations

import importlib
import json
import logging
import shutil
import subprocess
from pathlib import Path

import pytest

import sparserec
from sparserec import solvers
from sparserec.harness import Sweep, run_sweep
from sparserec.harness import metadata

ROOT = Path(__file__).resolve().parents[2]


def iht_sweep():
    return Sweep(["iht"], {"n": [40], "delta": [0.5], "rho": [0.1, 0.3]}, trials=2, seed=1)


def _cells(out):
    return {p.name: p.stat().st_mtime_ns for p in (out / "cells").glob("*.parquet")}


def test_changed_default_recomputes(tmp_path, monkeypatch, caplog):
    # The reproducer: IHT's default max_iter changes, the same sweep is rerun on the same
    # folder. The old rows must not be reused (they were computed with the old default).
    first = run_sweep(iht_sweep(), tmp_path, backend="serial", quiet=True)
    assert first["n_iter"].max() > 3
    before = _cells(tmp_path)
    kw = dict(solvers.solver_class("iht").__init__.__kwdefaults__)
    monkeypatch.setattr(solvers.solver_class("iht").__init__, "__kwdefaults__",
                        {**kw, "max_iter": 3})
    with caplog.at_level(logging.INFO, logger="sparserec.harness"):
        again = run_sweep(iht_sweep(), tmp_path, backend="serial", quiet=True)
    assert again["n_iter"].max() <= 3
    after = _cells(tmp_path)
    assert len(after) == 2 * len(before) and set(before) <= set(after)  # old files kept
    assert "2 stored cell file(s)" in caplog.text and "--fresh" in caplog.text
    meta = json.loads((tmp_path / "metadata.json").read_text())
    assert meta["solver_params"]["iht"]["max_iter"] == 3
    assert meta["tasks_computed"] == 2 and meta["tasks_reused"] == 0


def _package_copy(tmp_path):
    copy = tmp_path / "pkg" / "sparserec"
    shutil.copytree(metadata.PACKAGE_DIR, copy,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc"))
    return copy


def test_code_change_recomputes_and_doc_change_does_not(tmp_path, monkeypatch):
    # The keys carry a fingerprint of the code: editing a solver's code makes a rerun
    # recompute; editing only comments or docstrings does not.
    copy = _package_copy(tmp_path)
    monkeypatch.setattr(metadata, "PACKAGE_DIR", copy)
    out = tmp_path / "out"
    run_sweep(iht_sweep(), out, backend="serial", quiet=True)
    stored = _cells(out)
    src = copy / "solvers" / "iht.py"
    text = src.read_text()

    src.write_text(text.replace('"""', '"""Edited docstring. ', 1) + "\n# a comment\n")
    run_sweep(iht_sweep(), out, backend="serial", quiet=True)
    assert _cells(out) == stored
    assert json.loads((out / "metadata.json").read_text())["tasks_reused"] == 2

    src.write_text(text + "\n_UNUSED = 1\n")
    run_sweep(iht_sweep(), out, backend="serial", quiet=True)
    assert len(_cells(out)) == 4
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["tasks_computed"] == 2
    assert meta["sparserec"]["source_hash"] == iht_sweep().code


def test_source_hash_covers_custom_builders_outside_the_package(tmp_path, monkeypatch):
    # A custom builder (or runner) outside sparserec: its module's code enters the hash.
    mod = tmp_path / "my_builder_mod.py"
    mod.write_text("def build(coords, trials, seed, mode):\n    return []\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    build = importlib.import_module("my_builder_mod").build
    base = metadata.source_hash()
    with_mod = metadata.source_hash(build)
    assert with_mod != base
    assert metadata.source_hash(metadata.source_hash) == base  # inside the package: no change
    mod.write_text("def build(coords, trials, seed, mode):\n    return [1]\n")
    assert metadata.source_hash(build) != with_mod


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_package_version_reads_only_sparserecs_own_clone(tmp_path):
    # The reproducer: sparserec installed inside the user's own repository (a virtual
    # environment in their project) must not record the user's commit.
    user = tmp_path / "project"
    site = user / ".venv" / "lib" / "site-packages"
    site.mkdir(parents=True)
    shutil.copytree(metadata.PACKAGE_DIR, site / "sparserec",
                    ignore=shutil.ignore_patterns("__pycache__"))
    git = ["git", "-C", str(user), "-c", "user.name=u", "-c", "user.email=u@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    (user / "analysis.py").write_text("print(1)\n")
    subprocess.run([*git, "add", "analysis.py"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "user work"], check=True)
    installed = metadata.package_version(site / "sparserec")
    assert installed["version"] == sparserec.__version__
    assert installed["commit"] is None and installed["dirty"] is None

    here = metadata.package_version()
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                          text=True)
    top = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--show-toplevel"],
                         capture_output=True, text=True).stdout.strip()
    if head.returncode != 0 or Path(top).resolve() != ROOT:
        pytest.skip("the tests do not run from a git clone of sparserec")
    assert here["commit"] == head.stdout.strip()
    assert isinstance(here["dirty"], bool)


def test_every_experiment_records_the_package_version(tmp_path):
    # One function (metadata.package_version) is the source of the 'sparserec' entry of
    # every experiment's metadata.json.
    from sparserec.experiments import conditioning, convergence, phase_transition
    expected = metadata.package_version()
    assert phase_transition.main(["--solver", "htp", "--n", "30", "--deltas", "0.5",
                                  "--rhos", "0.1", "--trials", "1", "--backend", "serial",
                                  "--quiet", "--out", str(tmp_path / "pt")]) == 0
    assert convergence.main(["--solver", "htp", "--m", "10", "--n", "20", "--k", "2",
                             "--trials", "1", "--backend", "serial", "--quiet",
                             "--out", str(tmp_path / "cv")]) == 0
    assert conditioning.main(["--smoke", "--kappas", "1", "--trials", "1", "--backend",
                              "serial", "--quiet", "--out", str(tmp_path / "cd")]) == 0
    for meta_path in (tmp_path / "pt" / "metadata.json", tmp_path / "cv" / "metadata.json",
                      tmp_path / "cd" / "m_gt_n" / "metadata.json"):
        got = json.loads(meta_path.read_text())["sparserec"]
        assert {k: got[k] for k in ("version", "commit", "dirty")} == \
            {k: expected[k] for k in ("version", "commit", "dirty")}
