"""Runs that share an output folder, temporary files of live writers, orphaned workers."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sparserec.harness import TIMING_COLUMNS, SolverSpec, run_sweep, store
from sparserec.experiments import phase_transition

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def untimed(df):
    return df.drop(columns=[c for c in TIMING_COLUMNS if c in df.columns]).reset_index(drop=True)


def _start(args, out):
    return subprocess.Popen([sys.executable, "-m", "experiments.phase_transition", *args,
                             "--out", str(out)], cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _wait_for_cells(out, proc, n, timeout=120):
    cells = out / "cells"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if cells.exists() and len(list(cells.glob("*.parquet"))) >= n:
            return True
        time.sleep(0.02)
    return False


def _three_runs_on_one_folder(tmp_path, args, n_tasks, trials, specs, grid):
    out = tmp_path / "shared"
    first = [_start(args, out), _start(args, out)]  # started together
    try:
        started_while_running = _wait_for_cells(out, first[0], 2)
        third = _start(args, out)  # started while they run
        procs = first + [third]
        results = [p.communicate(timeout=600) for p in procs]
    finally:
        for p in first:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
    for p, (_, err) in zip(procs, results):
        assert p.returncode == 0, err[-3000:]
        assert "Traceback" not in err and "corrupt" not in err, err[-3000:]
    assert started_while_running, "the first runs finished before the third started"
    df, meta = store.load_results(out)
    assert len(df) == n_tasks * trials
    assert not df.duplicated(["solver", "delta", "rho", "trial"]).any()
    assert len(list((out / "cells").glob("*.parquet"))) == n_tasks
    assert not list(out.rglob("*.tmp-*"))
    assert meta["n_rows"] == len(df)
    sweep = phase_transition.make_sweep(specs, trials=trials, seed=3, **grid)
    ref = run_sweep(sweep, tmp_path / "ref", backend="serial", quiet=True)
    pd.testing.assert_frame_equal(untimed(df), untimed(ref))


def test_three_runs_share_one_output_folder(tmp_path):
    # Two runs started together and a third started while they run: all end with status 0,
    # and the table is complete, free of duplicates and equal to a single serial run's.
    grid = {"n": 60, "deltas": [0.3, 0.5, 0.7], "rhos": [0.1, 0.2, 0.3, 0.4]}
    args = ["--solver", "htp", "--solver", "iht:step=normalized", "--n", "60",
            "--deltas", "0.3,0.5,0.7", "--rhos", "0.1,0.2,0.3,0.4", "--trials", "3",
            "--seed", "3", "--backend", "serial", "--batch", "fresh", "--quiet"]
    specs = [SolverSpec.parse("htp"), SolverSpec.parse("iht:step=normalized")]
    _three_runs_on_one_folder(tmp_path, args, 2 * 3 * 4, 3, specs, grid)


@pytest.mark.slow
def test_three_joblib_runs_share_one_output_folder(tmp_path):
    # The same with worker processes (2 each) and a grid of 120 tasks.
    grid = {"n": 120, "deltas": [0.2, 0.4, 0.6, 0.8],
            "rhos": [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5]}
    args = ["--solver", "htp", "--solver", "iht:step=normalized", "--solver", "omp",
            "--n", "120", "--deltas", "0.2,0.4,0.6,0.8", "--rhos", "0.05:0.5:0.05",
            "--trials", "5", "--seed", "3", "--backend", "joblib", "--workers", "2",
            "--batch", "fresh", "--quiet"]
    specs = [SolverSpec.parse(s) for s in ("htp", "iht:step=normalized", "omp")]
    _three_runs_on_one_folder(tmp_path, args, 3 * 4 * 10, 5, specs, grid)


def test_stale_temps_of_live_writers_are_kept(tmp_path):
    # A run starting on a folder must not delete the temporary files of another live run
    # (its writer would then fail in os.replace); only a dead writer's files are removed.
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True).stdout.strip()
        live = tmp_path / f"a.parquet.tmp-{store._HOST}-{sleeper.pid}-0123456789ab"
        mine = tmp_path / f"b.parquet.tmp-{store._HOST}-{os.getpid()}-0123456789ab"
        gone = tmp_path / f"c.parquet.tmp-{store._HOST}-{dead}-0123456789ab"
        elsewhere = tmp_path / "d.parquet.tmp-otherhost-1-0123456789ab"
        for p in (live, mine, gone, elsewhere):
            p.write_bytes(b"partial")
        old = tmp_path / "e.parquet.tmp-otherhost-1-ba9876543210"
        old.write_bytes(b"partial")
        week_ago = time.time() - store.STALE_AFTER - 60
        os.utime(old, (week_ago, week_ago))
        assert store.remove_stale_temps(tmp_path) == 2
        assert live.exists() and mine.exists() and elsewhere.exists()
        assert not gone.exists() and not old.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_atomic_write_survives_a_concurrent_cleanup(tmp_path, monkeypatch):
    # The reproducer: while one writer's temporary file exists, another run starts on the
    # folder and cleans it; the writer's os.replace must still succeed.
    target = tmp_path / "x.bin"
    real_replace = os.replace

    def replace_after_cleanup(src, dst):
        assert Path(src).exists()
        store.remove_stale_temps(tmp_path)  # what a run starting at this moment does
        return real_replace(src, dst)

    monkeypatch.setattr(store.os, "replace", replace_after_cleanup)
    store.atomic_write_bytes(target, b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"new"


def _children(pid):
    kids = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                kids |= {int(x) for x in fh.read().split()}
        except OSError:
            pass
    return kids


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_joblib_workers_exit_when_the_run_is_killed(tmp_path):
    # kill -9 of a joblib sweep: its loky workers (and their resource trackers) must exit
    # soon after, not linger until loky's 300 s idle timeout.
    out = tmp_path / "killed"
    args = ["--solver", "iht", "--n", "200", "--deltas", "0.3,0.5,0.7", "--rhos",
            "0.05:0.5:0.05", "--trials", "10", "--backend", "joblib", "--workers", "2",
            "--quiet"]
    proc = _start(args, out)
    kids = set()
    try:
        assert _wait_for_cells(out, proc, 1), proc.stderr.read()[-2000:]
        kids = _children(proc.pid)
        assert len(kids) >= 2, "no worker processes were started"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    try:
        deadline = time.monotonic() + 10  # the workers poll their parent every 0.5 s
        while time.monotonic() < deadline and any(_alive(k) for k in kids):
            time.sleep(0.1)
        survivors = [k for k in kids if _alive(k)]
        assert not survivors, f"{len(survivors)} worker(s) outlived the killed run"
    finally:
        for k in kids:
            try:
                os.kill(k, signal.SIGKILL)
            except OSError:
                pass
