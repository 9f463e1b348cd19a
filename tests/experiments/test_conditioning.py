"""The conditioning experiment (sparserec/experiments/conditioning.py) on tiny sizes."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sparserec.experiments import conditioning as E


@pytest.fixture(scope="module")
def kappa100(tmp_path_factory):
    out = tmp_path_factory.mktemp("conditioning")
    trials, summary = E.run(out, smoke=True, kappas=[100.0], trials=3, seed=0,
                            solvers=["iht", "topk_iobs"], shapes=["m_gt_n"],
                            backend="serial")
    return out, trials, summary


def test_topk_iobs_needs_far_fewer_iterations_than_iht(kappa100):
    # m > n, κ = 100: exact Newton step with η = 1 lands on x* (k ≥ k*, y = Ax*) in one
    # iteration; IHT with μ = 1/‖A‖² contracts at best like 1 − 1/κ_S² per iteration.
    _, trials, summary = kappa100
    topk = trials[trials["method"] == "topk_iobs"]
    iht = trials[trials["method"] == "iht"]
    assert topk["reached"].all()
    assert (topk["iters_to_target"] == 1).all()
    # a failed IHT run counts as its stopping iteration, a lower bound on what it needs
    iht_iters = np.where(iht["reached"], iht["iters_to_target"], E.SMOKE_MAX_ITER)
    assert np.median(iht_iters) >= 20 * topk["iters_to_target"].max()
    row = summary.set_index("method")
    assert row.loc["topk_iobs", "iters_median"] == 1
    assert row.loc["iht", "iters_median"] >= 20


def test_tables_and_store(kappa100):
    out, trials, summary = kappa100
    assert (out / "m_gt_n" / "results.parquet").is_file()
    stored = pd.read_csv(out / "conditioning.csv")
    assert len(stored) == len(summary) == 2  # 1 shape × 1 κ × 2 solvers
    num = stored.select_dtypes(include=[np.number])
    assert np.isfinite(num.to_numpy(float)).all()
    assert set(trials["method"]) == {"iht", "topk_iobs"}
    assert (trials["m"] > trials["n"]).all()


def test_rerun_resumes_identically(kappa100):
    # Seeds depend on (master seed, cell, trial) only: a rerun reuses every stored cell and
    # reproduces the table, timings aside.
    out, trials, _ = kappa100
    again, _ = E.run(out, smoke=True, kappas=[100.0], trials=3, seed=0,
                     solvers=["iht", "topk_iobs"], shapes=["m_gt_n"], backend="serial")
    cols = ["method", "kappa", "trial", "reached", "iters_to_target", "n_iter", "seed_key"]
    pd.testing.assert_frame_equal(trials[cols].reset_index(drop=True),
                                  again[cols].reset_index(drop=True))


def test_builder_draws_the_prescribed_condition_number():
    coords = {"shape": "m_gt_n", "m": 40, "n": 20, "k_star": 3, "k": 6, "kappa": 1e3}
    (batch,) = E.conditioned_problems(coords, [0], seed=5, mode="fresh")
    s = np.linalg.svd(batch.problem.A, compute_uv=False)
    # singular values are set exactly (log-spaced); 1e-10 allows for the QR/SVD rounding
    assert s[0] / s[-1] == pytest.approx(1e3, rel=1e-10)
    assert np.count_nonzero(batch.problem.x_true) == 3 and batch.problem.k == 6
    (again,) = E.conditioned_problems(coords, [0], seed=5, mode="fresh")
    np.testing.assert_array_equal(again.problem.A, batch.problem.A)


def test_summary_counts_failures_as_infinite():
    df = pd.DataFrame({"shape": "m_gt_n", "kappa": 10.0, "method": "iht", "m": 8, "n": 4,
                       "k_star": 1, "k": 2, "reached": [True, False, False],
                       "iters_to_target": [7, 50, 50], "solve_time": [0.1, 0.2, 0.3],
                       "kappa_support": 1.0})
    row = E.summarize(df, max_iter=50).iloc[0]
    assert row["iters_censored"] and row["iters_median"] == 50
    assert row["fail_rate"] == pytest.approx(2 / 3)
    assert row["iters_min"] == row["iters_max"] == 7
    assert row["time_median_s"] == pytest.approx(0.1)
