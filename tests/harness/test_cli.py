"""Command lines: one clear error line (exit 2) for bad arguments, working outputs."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sparserec.experiments import convergence, phase_transition

ROOT = Path(__file__).resolve().parents[2]
PT = phase_transition.PROG


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


BAD = [
    (["--solver", "nope"], "Unknown solver 'nope'"),
    (["--solver", "iht:colour=red"], "Unknown parameter 'colour' for solver 'iht'"),
    (["--solver", "iht:step=-1"], "The 'step' parameter of IHT"),
    (["--solver", "iht:step"], "not key=value"),
    (["--deltas", ""], "empty grid"),
    (["--deltas", ","], "empty grid"),
    (["--rhos", "a,b"], "invalid grid"),
    (["--deltas", "0.5,1.5"], "every δ must be in (0, 1]; got 1.5"),
    (["--deltas", "0"], "every δ must be in (0, 1]; got 0"),
    (["--rhos", "0.1,-0.2"], "every ρ must be in (0, 1]; got -0.2"),
    (["--trials", "0"], "argument --trials: must be >= 1; got 0"),
    (["--trials", "many"], "argument --trials: expected an integer; got 'many'"),
    (["--n", "0"], "argument --n: must be >= 1"),
    (["--workers", "0"], "argument --workers: must be >= 1"),
    (["--backend", "mpi"], "argument --backend: invalid choice"),
    (["--noise", "-1"], "argument --noise: must be a finite number >= 0"),
    (["--threshold", "0"], "argument --threshold: must be > 0"),
    (["--scheduler", "tcp://127.0.0.1:{port}"], "cannot reach Dask scheduler at tcp://127.0.0.1"),
    (["--scheduler", "not-an-address"], "is not of the form tcp://HOST:PORT"),
    (["--scheduler", "local", "--backend", "joblib"], "only valid with --backend dask"),
    (["--fresh", "--resume"], "not allowed with argument"),
    (["--bogus"], "unrecognized arguments: --bogus"),
]


@pytest.mark.parametrize("argv, message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_arguments_exit_2_with_one_line(argv, message, capsys, tmp_path):
    argv = [a.format(port=_closed_port()) for a in argv]
    with pytest.raises(SystemExit) as exc:
        phase_transition.main(argv + ["--out", str(tmp_path / "o"), "--quiet"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"{PT}: error: ")
    assert message in lines[0]
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("argv, message", [
    (["--solver", "nope"], "Unknown solver 'nope'"),
    (["--scheduler", "tcp://127.0.0.1:{port}"], "cannot reach Dask scheduler"),
])
def test_bad_arguments_in_a_real_process(argv, message, tmp_path):
    argv = [a.format(port=_closed_port()) for a in argv]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    res = subprocess.run([sys.executable, "-m", "experiments.phase_transition", *argv,
                          "--out", str(tmp_path / "o")], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], res.stderr
    assert "Traceback" not in res.stderr


def test_convergence_bad_arguments(capsys, tmp_path):
    for argv, message in [(["--k", "0"], "argument --k: must be >= 1"),
                          (["--k", "300", "--n", "256"], "argument --k: must be <= n=256"),
                          (["--solver", "nope"], "Unknown solver 'nope'")]:
        with pytest.raises(SystemExit) as exc:
            convergence.main(argv + ["--out", str(tmp_path / "c")])
        assert exc.value.code == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and message in lines[0]


def test_plot_only_without_results(capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        phase_transition.main(["--plot-only", "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert "no results.parquet" in capsys.readouterr().err


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as exc:
        phase_transition.main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    parser = phase_transition.build_parser()
    for action in parser._actions:
        for opt in action.option_strings:
            assert opt in text
        assert action.help, f"{action.option_strings} has no help"


def test_phase_transition_end_to_end(tmp_path, capsys):
    out = tmp_path / "pt"
    argv = ["--solver", "htp", "--solver", "iht:step=normalized", "--n", "50",
            "--deltas", "0.3,0.6", "--rhos", "0.1:0.4:0.1", "--trials", "3",
            "--backend", "serial", "--out", str(out)]
    assert phase_transition.main(argv) == 0
    printed = capsys.readouterr().out
    assert str(out.resolve()) in printed and "transitions.png" in printed
    for name in ("results.parquet", "metadata.json", "fit50.csv", "transitions.png",
                 "heatmap_htp.png", "heatmap_iht__step=normalized.png"):
        assert (out / name).stat().st_size > 0, name
    df = pd.read_parquet(out / "results.parquet")
    assert len(df) == 2 * 2 * 4 * 3
    assert sorted(df["rho"].unique()) == [0.1, 0.2, 0.3, 0.4]
    fits = pd.read_csv(out / "fit50.csv")
    assert {"solver", "delta", "rho50", "rho10", "rho90", "width", "dt_rho"} <= set(fits.columns)
    (out / "transitions.png").unlink()
    assert phase_transition.main(["--plot-only", "--out", str(out), "--quiet"]) == 0
    assert (out / "transitions.png").exists()
    assert capsys.readouterr().out == ""


def test_convergence_end_to_end(tmp_path):
    out = tmp_path / "conv"
    argv = ["--m", "30", "--n", "60", "--k", "3", "--trials", "3", "--solver", "iht",
            "--solver", "htp", "--matrix", "conditioned", "--kappa", "20",
            "--backend", "serial", "--out", str(out), "--quiet"]
    assert convergence.main(argv) == 0
    df = pd.read_parquet(out / "results.parquet")
    assert len(df) == 6 and (df["kappa"] == 20).all()
    row = df[df["solver"] == "iht:max_iter=300"].iloc[0]
    assert len(row["objective"]) == len(row["distance"]) == row["n_iter"] + 1
    assert row["distance"][0] == 1.0
    assert (out / "convergence.png").stat().st_size > 0
    assert (out / "summary.csv").exists()


OTHER_BAD = [
    ("conditioning", ["--kappas", "-1"], "condition numbers must be finite and >= 1"),
    ("conditioning", ["--trials", "0"], "must be >= 1"),
    ("conditioning", ["--damping", "0"], "must be > 0"),
    ("convergence", ["--trials", "0"], "must be >= 1"),
    ("convergence", ["--solver", "nope"], "Unknown solver 'nope'"),
    ("prune_network", ["--nettrim-iter", "0"], "must be >= 1"),
    ("prune_network", ["--bogus"], "unrecognized arguments: --bogus"),
]


@pytest.mark.parametrize("name, argv, message", OTHER_BAD,
                         ids=[f"{m} {' '.join(a)}" for m, a, _ in OTHER_BAD])
def test_other_clis_bad_arguments_exit_2_with_one_line(name, argv, message, capsys):
    import importlib
    module = f"sparserec.experiments.{name}"
    main = importlib.import_module(module).main
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    # the program name is a command that runs from a clone and from an install alike
    assert len(lines) == 1 and lines[0].startswith(f"python -m {module}: error: ")
    assert message in lines[0]
