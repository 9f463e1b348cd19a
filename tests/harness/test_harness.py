"""Experiment harness: seeding, batching, store, resume, backends, fits."""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from sparserec.harness import (TIMING_COLUMNS, SolverSpec, Sweep, coords_key, dims,
                               fit_logistic, fit_transitions, load_results, matrix_seed,
                               recovery_problems, run_sweep, store, trial_seed)
from sparserec.experiments import phase_transition
from sparserec.harness import plotting

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = ["solver", "delta", "rho", "trial", "rel_error", "success", "n", "m", "k", "n_iter",
            "status", "solve_time", "mode", "seed", "seed_key", "params"]


def tiny_sweep(solvers=("htp", "iht:step=normalized"), **kw):
    kw = {"trials": 3, "seed": 7, **kw}
    return Sweep(list(solvers), {"matrix": ["gaussian"], "signal": ["rademacher"], "n": [40],
                                 "delta": [0.3, 0.6], "rho": [0.1, 0.3]}, **kw)


def untimed(df):
    return df.drop(columns=[c for c in TIMING_COLUMNS if c in df.columns]).reset_index(drop=True)


# ----------------------------------------------------------------------------- specs
def test_solver_spec_parsing():
    s = SolverSpec.parse("iobs:selection=saliency, percdamp=0.01,steps=(1,2),flag=True")
    assert s.name == "iobs"
    assert s.kwargs == {"selection": "saliency", "percdamp": 0.01, "steps": (1, 2), "flag": True}
    assert s.label == "iobs:flag=True,percdamp=0.01,selection=saliency,steps=(1, 2)"
    assert SolverSpec.parse(s.label) == s
    assert SolverSpec.parse("iht").label == "iht"
    assert SolverSpec.parse("iht:step=None").kwargs == {"step": None}
    assert SolverSpec("htp", {"b": 1, "a": 2}) == SolverSpec("htp", {"a": 2, "b": 1})
    with pytest.raises(ValueError, match="not key=value"):
        SolverSpec.parse("iht:step")
    with pytest.raises(ValueError, match="empty solver name"):
        SolverSpec.parse(":a=1")
    with pytest.raises(ValueError, match="Unknown solver 'nope'"):
        SolverSpec.parse("nope").make()


def test_sweep_validation():
    with pytest.raises(ValueError, match="'trials' argument of Sweep must be an int >= 1"):
        tiny_sweep(trials=0)
    with pytest.raises(ValueError, match="'mode' argument"):
        tiny_sweep(mode="both")
    with pytest.raises(ValueError, match="grid' argument of Sweep is empty"):
        Sweep(["htp"], {"n": [40], "delta": [], "rho": [0.1]})
    with pytest.raises(ValueError, match="at least one solver"):
        Sweep([], {"n": [40], "delta": [0.5], "rho": [0.1]})


# ----------------------------------------------------------------------------- seeding
def test_coords_key_is_stable_and_canonical():
    c = {"n": 100, "delta": 0.5, "rho": 0.2, "matrix": "gaussian"}
    # Pinned: changing this changes every stored seed (and so every result).
    assert coords_key(c) == (156028906, 1290642954, 2166392162, 863897345)
    assert coords_key(dict(reversed(list(c.items())))) == coords_key(c)
    assert coords_key({**c, "n": 100.0}) == coords_key(c)
    assert coords_key({**c, "rho": 0.25}) != coords_key(c)
    s0, s1 = trial_seed(3, c, 0), trial_seed(3, c, 1)
    assert s0.spawn_key == (*coords_key(c), 0) and s0.entropy == 3
    assert s0.generate_state(4).tolist() != s1.generate_state(4).tolist()
    assert matrix_seed(3, c).spawn_key[-1] == 2 ** 32 - 1


def test_dims():
    assert dims({"n": 200, "delta": 0.3, "rho": 0.1}) == (200, 60, 6)  # 0.3*200 is 60.000…01
    assert dims({"n": 200, "delta": 0.05, "rho": 0.05}) == (200, 10, 1)  # k >= 1
    assert dims({"n": 50, "m": 20, "k": 3}) == (50, 20, 3)


def test_builder_modes_share_instances():
    c = {"n": 30, "delta": 0.5, "rho": 0.2, "signal": "rademacher"}
    fresh = recovery_problems(c, [0, 1, 2], 5, "fresh")
    assert [b.trials for b in fresh] == [(0,), (1,), (2,)]
    again = recovery_problems(c, [2], 5, "fresh")[0].problem
    np.testing.assert_array_equal(again.A, fresh[2].problem.A)
    np.testing.assert_array_equal(again.y, fresh[2].problem.y)
    assert not np.array_equal(fresh[0].problem.A, fresh[1].problem.A)
    shared = recovery_problems(c, [0, 1, 2], 5, "shared")
    assert len(shared) == 1 and shared[0].problem.Y.shape == (15, 3)
    one = recovery_problems(c, [1], 5, "shared")[0].problem
    # A trial's instance does not depend on which other trials are in the batch.
    np.testing.assert_array_equal(one.A, shared[0].problem.A)
    np.testing.assert_array_equal(one.X_true[:, 0], shared[0].problem.X_true[:, 1])
    assert set(np.unique(shared[0].problem.X_true)) <= {-1.0, 0.0, 1.0}


def test_noise_is_relative():
    c = {"n": 60, "m": 30, "k": 3, "noise": 0.1}
    p = recovery_problems(c, [0], 1, "fresh")[0].problem
    clean = p.A @ p.x_true
    assert np.isclose(np.linalg.norm(p.y - clean), 0.1 * np.linalg.norm(clean))


# ----------------------------------------------------------------------------- store
def test_results_table_and_metadata(tmp_path):
    df = run_sweep(tiny_sweep(), tmp_path, backend="serial", quiet=True)
    assert len(df) == 2 * 4 * 3
    assert set(REQUIRED) <= set(df.columns)
    assert not df.duplicated(["solver", "delta", "rho", "trial"]).any()
    assert (df["mode"] == "fresh").all() and (df["batch_size"] == 1).all()
    # Every solver of a cell saw the same instances.
    keys = df.pivot_table(index=["delta", "rho", "trial"], columns="solver", values="seed_key",
                          aggfunc="first")
    assert (keys.nunique(axis=1) == 1).all()
    assert df["success"].any()
    stored, meta = load_results(tmp_path)
    pd.testing.assert_frame_equal(untimed(stored), untimed(df))
    import sparserec
    assert meta["sparserec"]["version"] == sparserec.__version__
    assert {"commit", "dirty", "source_hash"} <= set(meta["sparserec"])
    assert meta["master_seed"] == 7
    assert meta["solver_params"]["htp"]["max_iter"] == 500  # defaults are recorded
    assert meta["grid"]["delta"] == [0.3, 0.6] and meta["trials"] == 3
    assert meta["libraries"]["numpy"] == np.__version__
    assert json.loads((tmp_path / "metadata.json").read_text())["n_rows"] == len(df)
    assert len(list((tmp_path / "cells").glob("*.parquet"))) == 8
    assert not list(tmp_path.rglob("*.tmp-*"))


def test_adding_a_solver_changes_no_existing_row(tmp_path):
    a = run_sweep(tiny_sweep(["htp"]), tmp_path, backend="serial", quiet=True)
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "cells").glob("*.parquet")}
    b = run_sweep(tiny_sweep(["htp", "cosamp"]), tmp_path, backend="serial", quiet=True)
    after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "cells").glob("*.parquet")}
    assert all(after[k] == v for k, v in before.items())  # reused, not rewritten
    assert len(after) == 8
    pd.testing.assert_frame_equal(untimed(b[b["solver"] == "htp"]), untimed(a))
    # and computing it from scratch with the extra solver gives the same htp rows
    c = run_sweep(tiny_sweep(["cosamp", "htp"]), tmp_path / "other", backend="serial",
                  quiet=True)
    pd.testing.assert_frame_equal(untimed(c[c["solver"] == "htp"]), untimed(a))


def test_shared_mode_batches_trials(tmp_path):
    df = run_sweep(tiny_sweep(mode="shared", trials=4), tmp_path, backend="serial", quiet=True)
    assert (df["mode"] == "shared").all() and (df["batch_size"] == 4).all()
    assert len(df) == 2 * 4 * 4


def test_solver_errors_become_rows(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        df = run_sweep(tiny_sweep(["htp", "iht:step=-1.0"]), tmp_path, backend="serial",
                       quiet=True)
    bad = df[df["solver"] == "iht:step=-1.0"]
    assert len(bad) == 12 and (bad["status"] == "error").all()
    assert not bad["success"].any() and bad["rel_error"].isna().all()
    assert bad["error"].str.startswith("ValueError: The 'step' parameter of IHT").all()
    assert (df[df["solver"] == "htp"]["status"] != "error").all()
    assert "raised" in caplog.text


def test_truncated_and_corrupt_cells_are_recomputed(tmp_path, caplog):
    sweep = tiny_sweep()
    ref = run_sweep(sweep, tmp_path, backend="serial", quiet=True)
    files = sorted((tmp_path / "cells").glob("*.parquet"))
    truncated, flipped, swapped = files[0], files[1], files[2]
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    raw = bytearray(flipped.read_bytes())
    mid = len(raw) // 3
    raw[mid:mid + 16] = bytes(b ^ 0xFF for b in raw[mid:mid + 16])
    flipped.write_bytes(bytes(raw))
    swapped.write_bytes(files[3].read_bytes())  # a valid file of another task
    untouched = files[4].stat().st_mtime_ns
    with caplog.at_level(logging.WARNING, logger="sparserec.harness"):
        again = run_sweep(sweep, tmp_path, backend="serial", quiet=True)
    warned = [r.getMessage() for r in caplog.records if "corrupt" in r.getMessage()]
    assert len(warned) == 3
    for path in (truncated, flipped, swapped):
        assert any(path.name in w for w in warned)
    assert files[4].stat().st_mtime_ns == untouched
    pd.testing.assert_frame_equal(untimed(again), untimed(ref))


def test_fresh_recomputes(tmp_path):
    run_sweep(tiny_sweep(["htp"]), tmp_path, backend="serial", quiet=True)
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "cells").glob("*.parquet*")}
    time.sleep(0.01)
    run_sweep(tiny_sweep(["htp"]), tmp_path, backend="serial", quiet=True, resume=False)
    after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "cells").glob("*.parquet*")}
    assert before.keys() == after.keys()
    assert all(after[k] != before[k] for k in before)


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "x.bin"
    store.atomic_write_bytes(target, b"old")

    class Boom:
        def __len__(self):
            raise RuntimeError("boom")

    with pytest.raises(TypeError):
        store.atomic_write_bytes(target, Boom())
    assert target.read_bytes() == b"old"
    assert not list(tmp_path.glob("*.tmp-*"))


# ----------------------------------------------------------------------------- backends
def test_backends_give_identical_tables(tmp_path):
    sweep = tiny_sweep(["htp", "iht:step=normalized", "cosamp"])
    serial = run_sweep(sweep, tmp_path / "serial", backend="serial", quiet=True)
    jl = run_sweep(sweep, tmp_path / "joblib", backend="joblib", workers=2, quiet=True)
    pd.testing.assert_frame_equal(untimed(jl), untimed(serial))
    pytest.importorskip("distributed")
    dk = run_sweep(sweep, tmp_path / "dask", backend="dask", workers=2, scheduler="local",
                   quiet=True)
    pd.testing.assert_frame_equal(untimed(dk), untimed(serial))
    for name in ("serial", "joblib", "dask"):
        stored, _ = load_results(tmp_path / name)
        pd.testing.assert_frame_equal(untimed(stored), untimed(serial))


# ----------------------------------------------------------------------------- kill/resume
KILL_ARGS = ["--solver", "iht", "--solver", "htp", "--n", "160", "--deltas", "0.3,0.5,0.7",
             "--rhos", "0.05,0.1,0.15,0.2,0.25", "--trials", "4", "--seed", "11",
             "--backend", "serial", "--batch", "fresh", "--quiet"]


def test_sigkill_then_resume_matches_uninterrupted_run(tmp_path):
    out = tmp_path / "killed"
    n_tasks = 2 * 3 * 5
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "experiments.phase_transition", *KILL_ARGS,
                             "--out", str(out)], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    cells = out / "cells"
    deadline = time.monotonic() + 60
    n_done = 0
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            n_done = len(list(cells.glob("*.parquet"))) if cells.exists() else 0
            if n_done >= 4:
                break
            time.sleep(0.01)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    assert 4 <= n_done < n_tasks, "the sweep was not interrupted mid-way"
    assert not (out / "results.parquet").exists()

    assert phase_transition.main(KILL_ARGS + ["--out", str(out)]) == 0
    resumed, _ = load_results(out)
    assert len(resumed) == n_tasks * 4
    assert not resumed.duplicated(["solver", "delta", "rho", "trial"]).any()
    assert len(list(cells.glob("*.parquet"))) == n_tasks
    specs = [SolverSpec.parse("iht"), SolverSpec.parse("htp")]
    sweep = phase_transition.make_sweep(specs, n=160, deltas=[0.3, 0.5, 0.7],
                                        rhos=[0.05, 0.1, 0.15, 0.2, 0.25], trials=4, seed=11)
    ref = run_sweep(sweep, tmp_path / "ref", backend="serial", quiet=True)
    pd.testing.assert_frame_equal(untimed(resumed), untimed(ref))


# ----------------------------------------------------------------------------- fitting
def test_fit_logistic_recovers_a_known_transition():
    rng = np.random.default_rng(0)
    rho = np.repeat(np.linspace(0.05, 0.6, 23), 200)
    b, rho50 = -40.0, 0.3
    p = 1 / (1 + np.exp(-(b * (rho - rho50))))
    fit = fit_logistic(rho, rng.random(rho.size) < p)
    # 4600 Bernoulli draws: the standard error of ρ50 is ~3e-3, of the width ~5%.
    assert fit["status"] == "ok"
    assert abs(fit["rho50"] - rho50) < 0.01
    assert abs(fit["width"] - 2 * np.log(9) / 40) < 0.02
    assert fit["rho90"] < fit["rho50"] < fit["rho10"]


def test_fit_logistic_edge_cases():
    rho = np.array([0.1, 0.2, 0.3, 0.4])
    assert fit_logistic(rho, [1, 1, 1, 1])["status"] == "no_failures"
    assert fit_logistic(rho, [0, 0, 0, 0])["status"] == "no_successes"
    sep = fit_logistic(rho, [1, 1, 0, 0])  # perfectly separated: between 0.2 and 0.3
    assert sep["status"] == "ok" and 0.2 < sep["rho50"] < 0.3


def test_fit_transitions_table(tmp_path):
    df = run_sweep(tiny_sweep(), tmp_path, backend="serial", quiet=True)
    fits = fit_transitions(df)
    assert list(fits.columns[:2]) == ["solver", "delta"]
    assert len(fits) == 4
    assert np.allclose(fits["dt_rho"], [0.2908, 0.4384] * 2, atol=1e-4)


def test_dask_joins_an_existing_scheduler(tmp_path):
    # --scheduler tcp://HOST:PORT: a cluster started elsewhere (here a LocalCluster bound
    # to loopback, with its own scheduler process address) is joined, and the rows equal a
    # serial run's.
    distributed = pytest.importorskip("distributed")
    sweep = tiny_sweep(["htp"])
    ref = run_sweep(sweep, tmp_path / "serial", backend="serial", quiet=True)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        got = run_sweep(sweep, tmp_path / "joined", backend="dask",
                        scheduler=cluster.scheduler_address, quiet=True)
    pd.testing.assert_frame_equal(untimed(got), untimed(ref))


# ----------------------------------------------------------------------------- plotting
def test_style_is_undone_but_keeps_the_interactive_mode():
    # A notebook's inline backend loads with the first figure, often inside style(), and
    # turns interactive mode on; the style itself sets no interactive mode, so that change
    # must survive the context (later cells then show their figures) while the style's own
    # parameters are undone.
    before, spines = matplotlib.is_interactive(), matplotlib.rcParams["axes.spines.top"]
    try:
        with plotting.style():
            assert matplotlib.rcParams["axes.spines.top"] is False
            matplotlib.interactive(not before)
        assert matplotlib.rcParams["axes.spines.top"] == spines
        assert matplotlib.is_interactive() is (not before)
    finally:
        matplotlib.interactive(before)


def _luminance(rgb):
    c = np.asarray(matplotlib.colors.to_rgb(rgb))
    c = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(c @ [0.2126, 0.7152, 0.0722])


def _contrast(a, b):
    hi, lo = sorted([_luminance(a), _luminance(b)], reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_heatmap_legend_is_readable_on_the_darkest_cells():
    # The reproducer: the legend sat, frameless, on the colour map's darkest cells (small δ,
    # large ρ: no success), black text on dark purple. The text must reach WCAG AA
    # contrast (4.5:1) against what is behind it, and the line handles 3:1.
    df = pd.DataFrame({"solver": "s", "delta": np.repeat([0.2, 0.5], 4),
                       "rho": np.tile([0.1, 0.3, 0.5, 0.8], 2), "success": 0.0,
                       "n": 50, "trial": 0})
    fig = plotting.phase_heatmap(df, "s")
    ax = fig.axes[0]
    darkest = ax.collections[0].cmap(0.0)[:3]
    legend = ax.get_legend()
    frame = legend.get_frame()
    if legend.get_frame_on():
        alpha = frame.get_alpha() if frame.get_alpha() is not None else frame.get_facecolor()[3]
        face = np.asarray(frame.get_facecolor()[:3])
        behind = alpha * face + (1 - alpha) * np.asarray(darkest)
    else:
        behind = darkest
    for text in legend.get_texts():
        assert _contrast(text.get_color(), behind) >= 4.5, text.get_text()
    for line in legend.get_lines():
        assert _contrast(line.get_color(), behind) >= 3.0
    plotting.plt.close(fig)
