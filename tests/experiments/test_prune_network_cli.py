"""The prune_network experiment runs on the harness store: resumable per task."""
from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from sparserec.experiments import prune_network as E
from sparserec.harness import store
from sparserec.harness.metadata import package_version

TABLES = ("pruning_runs.csv", "pruning_layers.csv", "pruning_iterated.csv")
TIMING = {"wall_s", "solve_s", "time_s", "wall_s_all_rounds"}


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Train the digits network into a private cache; forget the per-process copy."""
    monkeypatch.setenv("SPARSEREC_CACHE", str(tmp_path_factory.getbasetemp() / "nwcache"))
    monkeypatch.setattr(E, "_NETWORKS", {})


def _cells(out):
    return {p.name: p.stat().st_mtime_ns for p in (out / store.CELLS).glob("*.parquet")}


def _tables(out, drop_timing=False):
    out_t = {}
    for name in TABLES:
        df = pd.read_csv(out / name)
        out_t[name] = df.drop(columns=[c for c in df.columns if c in TIMING]) if drop_timing \
            else df
    return out_t


def _run(out, *extra):
    assert E.main(["--smoke", "--out", str(out), "--quiet", *extra]) == 0


def test_smoke_resumes_per_task(tmp_path, capsys):
    out = tmp_path / "pn"
    _run(out, "--backend", "serial")
    cells = _cells(out)
    # grid (2 modes x 5 configs x 5 pruners) + Net-Trim (3 eps x 2 modes) + iterated (4)
    assert len(cells) == 50 + 6 + 4
    first = {n: (out / n).read_bytes() for n in TABLES}
    runs = pd.read_csv(out / "pruning_runs.csv")
    assert list(runs.columns) == E.RUN_COLUMNS + E.NETTRIM_COLUMNS
    assert runs["method"].iloc[0] == "dense" and runs["accuracy"].notna().all()
    assert len(pd.read_csv(out / "pruning_layers.csv")) == 3 * (len(runs) - 1)
    it = pd.read_csv(out / "pruning_iterated.csv")
    assert list(it.columns) == E.ITERATED_COLUMNS and it["round"].tolist() == [1, 2, 3] * 4
    assert (out / "pruning_table.md").read_text().count("| obc |") >= 2
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["sparserec"] == {**package_version(), "source_hash": meta["sparserec"]["source_hash"]}
    assert meta["experiment"] == "prune_network" and meta["network"].startswith("digits")

    # rerun (another backend): nothing recomputed, identical tables
    _run(out, "--backend", "joblib", "--workers", "2")
    assert _cells(out) == cells
    assert {n: (out / n).read_bytes() for n in TABLES} == first

    # one task lost: only it is recomputed, the tables agree up to timings
    victim = sorted(cells)[7]
    (out / store.CELLS / victim).unlink()
    _run(out, "--backend", "serial")
    now = _cells(out)
    assert set(now) == set(cells)
    assert [n for n in now if now[n] != cells[n]] == [victim]
    before = {n: pd.read_csv(io.BytesIO(b)) for n, b in first.items()}
    after = _tables(out)
    for name in TABLES:
        keep = [c for c in before[name].columns if c not in TIMING]
        assert list(after[name].columns) == list(before[name].columns)
        pd.testing.assert_frame_equal(after[name][keep], before[name][keep], check_exact=True)

    # the one output style (as phase_transition): 'prune_network: ...' notes on stderr, no
    # 'INFO:' lines, and the accuracy table with a last 'Done in ...' line on stdout
    capsys.readouterr()
    assert E.main(["--smoke", "--out", str(out), "--backend", "serial"]) == 0
    captured = capsys.readouterr()
    err = [line for line in captured.err.splitlines() if line.strip()]
    assert err and all(line.startswith("prune_network: ") for line in err), captured.err
    assert "INFO" not in captured.err
    printed = captured.out.strip().splitlines()
    assert any(line.startswith("| obc | parallel |") for line in printed)
    assert printed[-1].startswith("Done in ") and str(out.resolve()) in printed[-1]


def test_fresh_recomputes_everything(tmp_path):
    out = tmp_path / "pn"
    _run(out, "--backend", "serial")
    cells = _cells(out)
    _run(out, "--backend", "serial", "--fresh")
    now = _cells(out)
    assert set(now) == set(cells) and all(now[n] != cells[n] for n in cells)
