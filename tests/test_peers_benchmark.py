"""benchmarks/peers.py at a tiny size: it runs without the peer libraries and says which are missing."""
import importlib.util
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _load():
    spec = importlib.util.spec_from_file_location("peers_bench", ROOT / "benchmarks" / "peers.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_method_sees_the_same_instances():
    peers = _load()
    a = peers._instance(0, 64, 0.5, 0.2, 3, "gaussian")
    b = peers._instance(0, 64, 0.5, 0.2, 3, "gaussian")
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[2], b[2])
    c = peers._instance(0, 64, 0.5, 0.2, 4, "gaussian")
    assert not np.array_equal(a[0], c[0])  # another trial, another matrix


def test_tiny_run_prints_a_table_and_the_missing_peers(capsys, tmp_path):
    peers = _load()
    out = tmp_path / "rows.csv"
    assert peers.main(["--n", "64", "--deltas", "0.5", "--rhos", "0.1,0.4", "--trials", "2",
                       "--ours", "htp,omp", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "ρ50 δ=0.5" in text and "median ms/solve" in text
    for name in ("htp", "omp"):
        assert name in text
    found, missing = peers.peers()
    for name in missing:
        assert name in text  # reported, not silently dropped
    rows = out.read_text().splitlines()
    assert len(rows) == 1 + 2 * 2 * (2 + len(found))  # header + ρ × trials × methods
    # scikit-learn's OMP and ours select the same atoms: identical success decisions
    if "sklearn OMP" in found:
        import pandas as pd
        df = pd.read_csv(out)
        ours = df[df.solver == "omp"].sort_values(["rho", "trial"]).success.to_numpy()
        theirs = df[df.solver == "sklearn OMP"].sort_values(["rho", "trial"]).success.to_numpy()
        np.testing.assert_array_equal(ours, theirs)
