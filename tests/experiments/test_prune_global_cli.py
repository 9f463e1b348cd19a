"""The prune_global experiment runs on the harness store: resumable per task."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sparserec.experiments import prune_global as E
from sparserec.harness import store

TABLES = ("global_runs.csv", "global_retrain.csv")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Train the digits networks into a private cache; forget the per-process copies."""
    monkeypatch.setenv("SPARSEREC_CACHE", str(tmp_path_factory.getbasetemp() / "nwcache"))
    monkeypatch.setattr(E, "_NETWORKS", {})


def _cells(out):
    return {p.name: p.stat().st_mtime_ns for p in (out / store.CELLS).glob("*.parquet")}


def test_smoke_tables_and_resume(tmp_path):
    out = tmp_path / "pg"
    assert E.main(["--smoke", "--out", str(out), "--quiet", "--backend", "serial"]) == 0
    cells = _cells(out)
    # grid 2 nets x 7 + samples 2 x 7 + damping 2 x 4 + retrain 2 x 7 + layer-wise 3
    assert len(cells) == 14 + 14 + 8 + 14 + 3
    runs = pd.read_csv(out / "global_runs.csv")
    assert list(runs.columns) == E.RUN_COLUMNS
    grid = runs[runs["group"] == "grid"]
    assert len(grid) == 2 * 7 * 2 and grid["accuracy"].between(0, 1).all()
    # one global budget: the overall density is the target, the layers' levels differ
    np.testing.assert_allclose(grid["density"], 1 - grid["sparsity"], atol=1e-3)
    assert (grid[["density_fc1", "density_fc2", "density_fc3"]].std(axis=1) > 0).all()
    rt = pd.read_csv(out / "global_retrain.csv")
    assert list(rt.columns) == E.RETRAIN_COLUMNS
    assert set(rt["scope"]) == {"network-wide", "layer-wise"}
    assert rt[["accuracy_0", "accuracy_1", "accuracy_5"]].notna().all().all()
    assert "| obs-gn |" in (out / "global_table.md").read_text()
    first = {n: (out / n).read_bytes() for n in TABLES}

    # rerun: nothing recomputed, identical tables
    assert E.main(["--smoke", "--out", str(out), "--quiet", "--backend", "serial"]) == 0
    assert _cells(out) == cells
    assert {n: (out / n).read_bytes() for n in TABLES} == first


def test_lobs_global_sparsity_is_the_layer_budget():
    class Net:
        weights = [np.zeros((784, 300)), np.zeros((300, 100)), np.zeros((100, 10))]
    kept = 0.05 * 235200 + 0.20 * 30000 + 0.70 * 1000
    assert E.lobs_global_sparsity(Net()) == pytest.approx(1 - kept / 266200, rel=1e-14)


def test_plot_only_is_refused(capsys):
    with pytest.raises(SystemExit) as exc:
        E.main(["--plot-only"])
    assert exc.value.code == 2
    assert "paper_figures/prune_global.py --plot-only" in capsys.readouterr().err
