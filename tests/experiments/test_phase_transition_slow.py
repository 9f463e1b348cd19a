"""Slow reproduction: basis pursuit's empirical transition lies on the Donoho–Tanner curve."""
from __future__ import annotations

import numpy as np
import pytest

from sparserec import solvers
from sparserec.harness import Sweep, fit_transitions, run_sweep
from sparserec.theory import donoho_tanner

DELTAS = (0.2, 0.5, 0.8)


@pytest.mark.slow
def test_basis_pursuit_matches_donoho_tanner(tmp_path):
    if "basis_pursuit" not in solvers.available():
        pytest.skip("basis_pursuit is not registered")
    n = 200
    cells = []
    for delta in DELTAS:
        dt = donoho_tanner(delta)
        for off in np.arange(-0.15, 0.151, 0.025):
            cells.append({"matrix": "gaussian", "signal": "rademacher", "n": n,
                          "delta": delta, "rho": round(float(dt + off), 4)})
    sweep = Sweep(["basis_pursuit"], cells, trials=20, seed=2024, name="bp_dt_check")
    df = run_sweep(sweep, tmp_path, quiet=True)
    assert (df["status"] != "error").all(), df.loc[df["status"] == "error", "error"].iloc[0]
    fits = fit_transitions(df).set_index("delta")
    for delta in DELTAS:
        # At n = 200 the finite-size shift and the sampling error of 20 trials per
        # cell (13 cells) are each a few 1e-2 at most; 0.05 is the band.
        assert fits.loc[delta, "status"] == "ok"
        assert abs(fits.loc[delta, "rho50"] - donoho_tanner(delta)) < 0.05, fits
