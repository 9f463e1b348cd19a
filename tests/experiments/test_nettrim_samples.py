"""The Net-Trim sample-complexity experiment (experiments/nettrim_samples.py), tiny sizes."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from sparserec.experiments import nettrim_samples as E
from sparserec.harness import SolverSpec
from sparserec.theory import donoho_tanner


@pytest.fixture(autouse=True, scope="module")
def _single_thread_blas():
    """Small products: one BLAS thread (the harness runs its tasks that way too)."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _solver(i):
    return SolverSpec.parse(E.SOLVERS[i]).make()


def _one(coords, trial=0, seed=3):
    (batch,) = E.planted_layers(coords, [trial], seed, "fresh")
    return batch


# ----------------------------------------------------------------------- builder
@pytest.mark.parametrize("P", [12, 40, 60])
def test_planted_layer_reproduces_the_outputs(P):
    b = _one({"N": 40, "s": 4, "P": P})
    p, w = b.problem, b.problem.x_true[:, 0]
    assert p.X.shape == (P, 40) and p.activation == "relu" and p.sparsity.kind is None
    assert np.count_nonzero(w) == 4
    # the dense weights fit the pre-activations exactly (1e-10: lstsq rounding)
    np.testing.assert_allclose(p.X @ p.W[:, 0], p.X @ w, atol=1e-10 * np.abs(p.X @ w).max())
    np.testing.assert_allclose(p.targets()[:, 0], np.maximum(p.X @ w, 0.0),
                               atol=1e-10 * np.abs(p.X @ w).max())
    if P >= 40:   # X has full column rank: the only fit is w* itself
        np.testing.assert_allclose(p.W[:, 0], w, atol=1e-10)
    else:         # the minimum-norm fit: in the row space of X, never longer than w*
        proj = np.linalg.pinv(p.X) @ p.X
        np.testing.assert_allclose(proj @ p.W[:, 0], p.W[:, 0], atol=1e-10)
        assert np.linalg.norm(p.W[:, 0]) < np.linalg.norm(w)
        assert np.count_nonzero(np.abs(p.W[:, 0]) > 1e-12) == 40   # dense
    assert b.info["n_active"] == np.count_nonzero(p.X @ w > 0)
    assert b.info["slogns"] == pytest.approx(4 * math.log(10))


def test_builder_follows_the_seed_contract():
    coords = {"N": 30, "s": 3, "P": 20}
    a, b = _one(coords, trial=1), _one(coords, trial=1)
    np.testing.assert_array_equal(a.problem.X, b.problem.X)
    np.testing.assert_array_equal(a.problem.x_true, b.problem.x_true)
    c = _one(coords, trial=2)
    assert not np.array_equal(a.problem.X, c.problem.X)
    with pytest.raises(ValueError, match="mode='fresh'"):
        E.planted_layers(coords, [0], 0, "shared")
    with pytest.raises(ValueError, match="invalid planted layer"):
        E.planted_layers({"N": 10, "s": 11, "P": 5}, [0], 0, "fresh")


# ------------------------------------------------------------------------ runner
def test_nettrim_recovers_with_many_samples_and_fails_below_s():
    nettrim = _solver(0)
    # N = 40, s = 3: s·log(N/s) ≈ 7.8; P = 40 is five times that
    for t in range(3):
        (row,) = E.recover_planted(nettrim, _one({"N": 40, "s": 3, "P": 40}, t).problem,
                                   threshold=E.THRESHOLD)
        assert row["success"] and row["support_found"] and row["nnz"] == 3
        # ε = 1e-6‖y‖, ADMM tolerance 1e-6: the error is ~1e-5, far below the threshold
        assert row["rel_error"] < 1e-4 and row["fit_error"] < 1e-4
        assert row["l1_ratio"] == pytest.approx(1.0, abs=1e-4)
    # P = 3 < s = 5 samples: w* is not identifiable; the ℓ1 program picks a point with a
    # smaller ℓ1 norm that reproduces the outputs
    for t in range(3):
        (row,) = E.recover_planted(nettrim, _one({"N": 40, "s": 5, "P": 3}, t).problem,
                                   threshold=E.THRESHOLD)
        assert not row["success"]
        assert row["l1_ratio"] < 1.0 and row["fit_error"] < 1e-3


@pytest.mark.parametrize("i", [1, 2])
def test_pruners_keep_s_weights_and_recover_once_the_dense_fit_is_planted(i):
    solver = _solver(i)
    # P ≥ N: the dense fit is w*; its zeros have zero saliency and their OBS correction is
    # zero, so both pruners remove them first and keep w* (up to the lstsq rounding)
    (row,) = E.recover_planted(solver, _one({"N": 30, "s": 6, "P": 45}).problem,
                               threshold=E.THRESHOLD)
    assert row["success"] and row["nnz"] == 6 and row["rel_error"] < 1e-6
    # P < N: whatever they find, they keep exactly s weights (the planted density)
    (row,) = E.recover_planted(solver, _one({"N": 30, "s": 6, "P": 10}).problem,
                               threshold=E.THRESHOLD)
    assert row["nnz"] == 6


# ------------------------------------------------------------------- fits, theory
def test_dt_samples_inverts_the_donoho_tanner_curve():
    # DESIGN.md anchors: signed ρ(0.5) ≈ 0.3857, ρ(0.1) ≈ 0.1894
    assert E.dt_samples(1000, 0.5 * 0.3857 * 1000) == pytest.approx(500, rel=1e-3)
    assert E.dt_samples(1000, 0.1 * 0.1894 * 1000) == pytest.approx(100, rel=1e-3)
    for s in (3, 17, 40):
        d = E.dt_samples(100, s) / 100
        assert donoho_tanner(d) * d == pytest.approx(s / 100, rel=1e-8)


def test_fit_curves_recovers_a_planted_constant():
    # Synthetic outcomes: success exactly when P ≥ 3·s·log(N/s). The regularised logistic
    # fit puts P₅₀ between the last failure and the first success (grid step 2), so the
    # per-s ratio is 3 up to 2/(s·log(N/s)) and c up to the same.
    n, rows = 100, []
    for s in (5, 10, 20):
        need = 3 * s * math.log(n / s)
        for P in range(2, 201, 2):
            for t in range(4):
                rows.append({"solver": "nettrim:x=1", "N": n, "s": s, "P": P, "trial": t,
                             "success": P >= need, "status": "converged"})
    fits = E.fit_curves(pd.DataFrame(rows))
    assert (fits["status"] == "ok").all()
    for r in fits.itertuples():
        assert abs(r.p50 - 3 * r.slogns) <= 2.0
        assert r.dt_ratio == pytest.approx(r.p50 / E.dt_samples(n, r.s))
    assert fits["c"].nunique() == 1 and fits["c"].iloc[0] == pytest.approx(3.0, abs=0.1)


def test_summary_splits_program_and_other_failures():
    df = pd.DataFrame({"solver": "nettrim:x=1", "N": 10, "s": 2, "P": 5,
                       "success": [True, False, False, False], "support_found": False,
                       "rel_error": [1e-5, 0.3, 0.2, 0.1], "status": "converged",
                       "l1_ratio": [1.0, 0.8, 1.2, 0.999], "fit_error": [1e-6, 1e-6, 1e-6, 5e-3],
                       "solve_time": 0.1})
    row = E.summarize_cells(df).iloc[0]
    # 0.8 with outputs reproduced: the program's failure; 1.2 (ℓ1 above w*'s) and the
    # unreproduced outputs (5e-3 > 1e-3) are counted apart
    assert row["fail_feasible_smaller_l1"] == 1 and row["fail_other"] == 2
    assert row["success_rate"] == 0.25 and row["method"] == "nettrim"


# ---------------------------------------------------------------- sweep and CLI
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("nettrim_samples")
    cells, fits = E.run(out, n=20, s_fracs=[0.1], p_fracs=[0.05, 2.0], trials=2, seed=1,
                        backend="serial")
    return out, cells, fits


def test_tiny_sweep_through_the_harness(tiny):
    out, cells, fits = tiny
    assert (out / "results.parquet").is_file() and (out / "nettrim_samples.csv").is_file()
    assert set(cells["method"]) == {"nettrim", "lobs", "obc"}
    rate = cells.set_index(["method", "P"])["success_rate"]
    for m in ("nettrim", "lobs", "obc"):
        assert rate[(m, 1)] == 0.0     # one sample for two nonzeros: never identifiable
        assert rate[(m, 40)] == 1.0    # P = 2N: everyone recovers w*
    assert (fits["status"] == "ok").all() and (fits["p50"] > 1).all() and (fits["p50"] < 40).all()
    stored = pd.read_csv(out / "nettrim_samples_cells.csv")
    assert len(stored) == 6 and np.isfinite(stored.select_dtypes("number").to_numpy(float)).all()


def test_rerun_resumes_identically(tiny):
    out, cells, fits = tiny
    again, fits2 = E.run(out, n=20, s_fracs=[0.1], p_fracs=[0.05, 2.0], trials=2, seed=1,
                         backend="serial")
    cols = ["method", "s", "P", "success_rate", "rel_error_median"]
    pd.testing.assert_frame_equal(cells[cols], again[cols])
    pd.testing.assert_frame_equal(fits, fits2)


def test_plot_reads_only_the_tables(tiny, tmp_path):
    out, _, _ = tiny
    cells = pd.read_csv(out / "nettrim_samples_cells.csv")
    fits = pd.read_csv(out / "nettrim_samples.csv")
    E.plot(cells, fits, tmp_path / "f.png")
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "least-squares c" in E.format_table(fits)


@pytest.mark.parametrize("argv,match", [
    (["--s-fracs", "0"], "values must be > 0"),
    (["--s-fracs", "1.5"], "densities must be in"),
    (["--solver", "nosuch"], "argument --solver"),
    (["--trials", "0"], "must be >= 1"),
])
def test_cli_errors_are_one_line(argv, match, capsys):
    with pytest.raises(SystemExit) as exc:
        E.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert match in err and len(err.splitlines()) == 1
