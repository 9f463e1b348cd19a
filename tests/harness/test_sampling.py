"""Common random matrices (mode="common") and adaptive ρ sampling."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sparserec import Problem, solvers
from sparserec.harness import (TIMING_COLUMNS, Sweep, fit_transitions, load_results,
                               recovery_problems, run_sweep)
from sparserec.harness.adaptive import Bisection

GRID = {"matrix": ["gaussian"], "signal": ["rademacher"], "n": [60],
        "delta": [0.3, 0.6], "rho": [0.05, 0.1, 0.2, 0.3, 0.4, 0.5]}


def untimed(df):
    return df.drop(columns=[c for c in TIMING_COLUMNS if c in df.columns]).reset_index(drop=True)


# ----------------------------------------------------------------------------- common mode
def test_common_mode_shares_one_matrix_per_trial_across_the_column():
    coords = {"matrix": "gaussian", "signal": "gaussian", "n": 50, "delta": 0.4,
              "rho": (0.1, 0.2, 0.3)}
    batches = recovery_problems(coords, [0, 1, 2], seed=5, mode="common")
    assert len(batches) == 3                      # one problem per trial
    mats = [b.problem.A for b in batches]
    assert not np.array_equal(mats[0], mats[1])   # each trial has its own A_{δ,t}
    for b, t in zip(batches, range(3)):
        p = b.problem
        assert p.n_signals == 3 and list(p.sparsity.k) == [2, 4, 6]  # k = round(ρm), m = 20
        assert b.trials == (t,) * 3
        assert [c["rho"] for c in b.columns] == [0.1, 0.2, 0.3]
        np.testing.assert_allclose(p.Y, p.A @ p.X_true, atol=1e-12)   # noiseless: roundoff


def test_common_mode_columns_do_not_depend_on_the_block():
    # A cell's (A, x) for trial t is the same whichever ρ cells share its block, so
    # adaptive sampling (blocks of different ρ sets) and resume see the same instances.
    base = {"matrix": "gaussian", "signal": "gaussian", "n": 50, "delta": 0.4}
    full = recovery_problems({**base, "rho": (0.1, 0.2, 0.3)}, [1], seed=5, mode="common")[0]
    part = recovery_problems({**base, "rho": (0.3,)}, [1], seed=5, mode="common")[0]
    np.testing.assert_array_equal(full.problem.A, part.problem.A)
    np.testing.assert_array_equal(full.problem.X_true[:, 2], part.problem.X_true[:, 0])


def test_common_sweep_rows_equal_single_solves(tmp_path):
    # Every row of a common-mode sweep is the solve of that column alone (the
    # batched-solver property), and each row records its mode and block size.
    sweep = Sweep(["htp"], GRID, trials=2, seed=3, mode="common")
    df = run_sweep(sweep, tmp_path, backend="serial", quiet=True)
    assert len(df) == 2 * 6 * 2 and (df["mode"] == "common").all()
    assert (df["batch_size"] == 6).all()
    solver = solvers.get("htp")
    for (delta, trial), g in df.groupby(["delta", "trial"]):
        coords = {**{k: v[0] for k, v in GRID.items() if k not in ("delta", "rho")},
                  "delta": delta, "rho": tuple(GRID["rho"])}
        batch = recovery_problems(coords, [trial], 3, "common")[0]
        for j, rho in enumerate(GRID["rho"]):
            p = batch.problem
            single = solver.solve(Problem(p.A, p.Y[:, j].copy(), int(p.sparsity.k[j]),
                                          x_true=p.X_true[:, j].copy()))
            row = g[g["rho"] == rho].iloc[0]
            assert bool(row["success"]) == bool(single.rel_error <= 1e-3)
            assert row["rel_error"] == pytest.approx(single.rel_error, rel=1e-8, abs=1e-12)


@pytest.mark.parametrize("adaptive", [False, True])
def test_common_mode_is_identical_across_backends(tmp_path, adaptive):
    # the paper preset's sampling (common matrices, adaptive bisection rounds) gives the
    # same table under every backend: seeds depend only on (cell, trial)
    sweep = Sweep(["htp", "omp"], GRID, trials=4, seed=4, mode="common", adaptive=adaptive,
                  probe_trials=2)
    serial = run_sweep(sweep, tmp_path / "serial", backend="serial", quiet=True)
    jl = run_sweep(sweep, tmp_path / "joblib", backend="joblib", workers=2, quiet=True)
    pd.testing.assert_frame_equal(untimed(jl), untimed(serial))
    pytest.importorskip("distributed")
    dk = run_sweep(sweep, tmp_path / "dask", backend="dask", workers=2, scheduler="local",
                   quiet=True)
    pd.testing.assert_frame_equal(untimed(dk), untimed(serial))


# ----------------------------------------------------------------------------- bisection
@pytest.mark.parametrize("edge", range(0, 13))
def test_bisection_finds_the_band_of_a_step(edge):
    # Success 1 below index ``edge`` and 0 from it on: the band is the last 1 and the
    # first 0 (one cell on each side of the step), found in about 2·log2(N) probes.
    N = 12
    b = Bisection(N)
    probes = 0
    while True:
        nxt = b.next_probes()
        if not nxt:
            break
        for i in nxt:
            probes += 1
            b.update(i, 1.0 if i < edge else 0.0)
    band = list(b.band())
    assert band == list(range(max(edge - 1, 0), min(edge, N - 1) + 1))
    assert probes <= 2 * int(np.ceil(np.log2(N + 1)))


def test_bisection_band_covers_the_intermediate_rates():
    rates = [1, 1, 1, 0.98, 0.7, 0.4, 0.1, 0.02, 0, 0, 0]
    b = Bisection(len(rates))
    while (nxt := b.next_probes()):
        for i in nxt:
            b.update(i, rates[i])
    band = list(b.band())
    inner = [i for i, r in enumerate(rates) if 0.05 < r < 0.95]
    assert set(inner) <= set(band)
    assert rates[band[0]] >= 0.95 and rates[band[-1]] <= 0.05


# ----------------------------------------------------------------------------- adaptive
@pytest.mark.parametrize("mode", ["fresh", "common"])
def test_adaptive_rows_are_a_subset_of_the_full_grid(tmp_path, mode):
    # Cells are seeded per (cell, trial), so every adaptive row equals the full grid's
    # row; only the cells far from the transition are skipped.
    full = run_sweep(Sweep(["htp"], GRID, trials=6, seed=9, mode=mode), tmp_path / "full",
                     backend="serial", quiet=True)
    ada = run_sweep(Sweep(["htp"], GRID, trials=6, seed=9, mode=mode, adaptive=True,
                          probe_trials=3), tmp_path / "ada", backend="serial", quiet=True)
    assert set(ada["adaptive_phase"]) <= {"probe", "band"}
    key = ["delta", "rho", "trial"]
    merged = ada.merge(full, on=key, suffixes=("", "_full"))
    assert len(merged) == len(ada)
    if mode == "fresh":  # one solve per row on both sides: identical numbers
        np.testing.assert_array_equal(merged["rel_error"], merged["rel_error_full"])
    np.testing.assert_array_equal(merged["success"], merged["success_full"])
    # band cells have every trial, the others only the probe trials
    counts = ada.groupby(["delta", "rho"])["trial"].nunique()
    assert set(counts.unique()) <= {3, 6}
    _, meta = load_results(tmp_path / "ada")
    assert meta["adaptive"]["probe_trials"] == 3


def test_adaptive_resume_computes_nothing(tmp_path):
    sweep = Sweep(["htp"], GRID, trials=6, seed=9, mode="common", adaptive=True,
                  probe_trials=3)
    first = run_sweep(sweep, tmp_path, backend="serial", quiet=True)
    again = run_sweep(sweep, tmp_path, backend="serial", quiet=True)
    assert again.attrs["timing"]["tasks_computed"] == 0
    pd.testing.assert_frame_equal(untimed(again), untimed(first))


def test_adaptive_validation():
    with pytest.raises(ValueError, match="'probe_trials' argument of Sweep"):
        Sweep(["htp"], GRID, adaptive=True, probe_trials=0)
    with pytest.raises(ValueError, match="'band' argument of Sweep"):
        Sweep(["htp"], GRID, adaptive=True, band=(0.9, 0.1))
    with pytest.raises(ValueError, match="needs a 'rho' coordinate"):
        Sweep(["htp"], {"n": [40], "delta": [0.5]}, adaptive=True)


@pytest.mark.slow
def test_adaptive_rho50_matches_the_full_grid_on_the_default_preset(tmp_path):
    # Issue acceptance: on the default grid (n = 500, 9 δ × 12 ρ, 10 trials, common
    # matrices), every solver's adaptive ρ₅₀ is within 0.01 of the full grid's. The
    # band cells hold the same rows in both runs; the cells left out are all-success or
    # all-failure ones, which move a logistic fit's 50 % point by far less than 0.01.
    from sparserec.experiments.phase_transition import PRESETS, make_sweep
    from sparserec.harness import SolverSpec

    preset = PRESETS["default"]
    names = set(solvers.available())
    specs = [SolverSpec.parse(s) for s in preset["solvers"] if s.split(":")[0] in names]
    kw = dict(n=preset["n"], deltas=preset["deltas"], rhos=preset["rhos"],
              trials=preset["trials"], seed=0, mode="common")
    full = run_sweep(make_sweep(specs, **kw), tmp_path / "full", backend="joblib",
                     workers=2, quiet=True)
    ada = run_sweep(make_sweep(specs, adaptive=True, probe_trials=10, **kw),
                    tmp_path / "ada", backend="joblib", workers=2, quiet=True)
    assert len(ada) < len(full)
    f_full = fit_transitions(full).set_index(["solver", "delta"])["rho50"]
    f_ada = fit_transitions(ada).set_index(["solver", "delta"])["rho50"]
    both = pd.concat({"full": f_full, "ada": f_ada}, axis=1).dropna()
    assert len(both) >= 0.8 * len(f_full.dropna())
    worst = (both["full"] - both["ada"]).abs()
    assert worst.max() <= 0.01, both.assign(diff=worst).sort_values("diff").tail(5)
