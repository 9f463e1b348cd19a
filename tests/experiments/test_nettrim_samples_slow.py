"""The headline of paper_figures/nettrim_samples.png, recomputed on two of its columns (slow).

Net-Trim recovers a planted s-sparse ReLU neuron from about twice the Donoho–Tanner count
of linear measurements, below N at small s/N, while L-OBS and OBC, told s and pruning the
dense fit, need P close to N. The cells share the figure's seed and coordinates, so they are
the figure's own trials: the committed table must agree with them.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from sparserec.experiments import nettrim_samples as E
from sparserec.harness import SolverSpec

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
P_FRACS = [round(0.05 * i, 10) for i in range(6, 33)]   # 0.30 … 1.60, as in the figure


@pytest.fixture(scope="module")
def headline(tmp_path_factory):
    out = tmp_path_factory.mktemp("nettrim_headline")
    cells, fits = E.run(out, s_fracs=[0.1, 0.3], p_fracs=P_FRACS, seed=0, workers=2)
    return cells, fits.set_index(["method", "s"])


def test_nettrim_needs_twice_the_donoho_tanner_count(headline):
    _, fits = headline
    for s in (10, 30):
        r = fits.loc[("nettrim", s)]
        assert r["status"] == "ok"
        # measured 2.00 and 1.97; ±0.25 covers the logistic fit's spread at 12 trials per cell
        assert 1.75 <= r["dt_ratio"] <= 2.25
    # the ratio to s·log(N/s) still drifts with s/N at N = 100 (measured 2.86 and 3.52)
    assert fits.loc[("nettrim", 10), "ratio"] < fits.loc[("nettrim", 30), "ratio"]


def test_pruners_told_s_need_about_n_samples(headline):
    cells, fits = headline
    p50 = fits["p50_frac"]
    # s/N = 0.1: Net-Trim needs fewer samples than either pruner (measured 0.66 N against
    # 0.81 N for OBC and 0.95 N for L-OBS); below P = N their dense start is not w*
    assert p50[("nettrim", 10)] < min(p50[("obc", 10)], p50[("lobs", 10)])
    # s/N = 0.3: the pruners sit just below N (measured 0.95 N and 0.97 N), Net-Trim, which
    # is not told s and sees only the ReLU outputs, needs more (measured 1.27 N)
    for m in ("lobs", "obc"):
        assert 0.85 < p50[(m, 30)] < 1.0 < p50[("nettrim", 30)]
        at_n = cells[(cells["method"] == m) & (cells["P"] == 100)]
        assert (at_n["success_rate"] == 1.0).all()   # P = N: the dense fit is w*


def test_committed_table_matches(headline):
    cells, _ = headline
    committed = pd.read_csv(ROOT / "paper_figures" / "nettrim_samples_cells.csv")
    key = ["method", "s", "P"]
    both = cells.merge(committed, on=key, suffixes=("", "_committed"))
    assert len(both) == len(cells)
    # identical trials; a difference of one trial in 12 allows for another BLAS's rounding
    # moving an ADMM run across its iteration cap
    diff = (both["success_rate"] - both["success_rate_committed"]).abs()
    assert diff.max() <= 1 / 12 + 1e-12


def test_admm_and_cvxpy_agree_near_the_transition():
    admm = SolverSpec.parse(E.SOLVERS[0]).make()
    cvx = SolverSpec.parse("nettrim:cascade=False,epsilon=1e-06,method='cvxpy'").make()
    agree = total = successes = 0
    with threadpool_limits(limits=1, user_api="blas"):
        for s, P in ((10, 60), (10, 70), (30, 120), (30, 130)):
            for b in E.planted_layers({"N": 100, "s": s, "P": P}, range(8), 11, "fresh"):
                (a,) = E.recover_planted(admm, b.problem, threshold=E.THRESHOLD)
                (c,) = E.recover_planted(cvx, b.problem, threshold=E.THRESHOLD)
                agree += a["success"] == c["success"]
                successes += c["success"]
                total += 1
    # measured 32 of 32 (13 successes); one disagreement is the margin
    assert agree >= total - 1
    assert 5 <= successes <= total - 5   # near the transition: both outcomes occur
