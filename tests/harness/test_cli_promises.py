"""The command lines' promises: status 2 and one line before any work, --version, --help,
one output style, and --plot-only on damaged outputs."""
from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import sparserec
from sparserec.experiments import conditioning, convergence, phase_transition, prune_network
from sparserec.harness import cli

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
NAMES = ["phase_transition", "convergence", "conditioning", "prune_network"]
TINY_PT = ["--n", "30", "--deltas", "0.3,0.6", "--rhos", "0.1,0.2", "--trials", "2",
           "--backend", "serial"]


def _refused(main, argv, message, capsys):
    """``main(argv)`` exits 2 with one stderr line holding ``message``, nothing on stdout."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("python -m sparserec.experiments.") and " error: " in lines[0]
    assert message in lines[0], lines[0]
    assert captured.out == ""
    return lines[0]


# ------------------------------------------------------------ refused before any work
HUGE = [("phase_transition", ["--deltas", "0.1:0.9:1e-300"],
         f"argument --deltas: grid '0.1:0.9:1e-300' has 8e+299 values; at most "
         f"{cli.MAX_GRID_VALUES} per list"),
        ("phase_transition", ["--rhos", "0.1:0.9:1e-9"], "argument --rhos: grid"),
        ("phase_transition", ["--trials", "1000000000000"],
         "result rows (solvers × cells × trials); at most"),
        ("convergence", ["--trials", "100000000"],
         "result rows (solvers × cells × trials); at most")]


@pytest.mark.parametrize("name, argv, message", HUGE, ids=[" ".join(a) for _, a, _ in HUGE])
def test_huge_grids_are_refused_at_once(name, argv, message, tmp_path):
    # The reproducers hung while their memory grew without bound: run in a real process
    # with a timeout and a memory cap, so the old behaviour fails instead of hanging.
    limit = "import resource; resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30)); "
    code = limit + f"import sys, runpy; sys.argv = ['x'] + {argv!r} + ['--out', " \
        f"{str(tmp_path / 'o')!r}]; runpy.run_module('experiments.{name}', run_name='__main__')"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert not (tmp_path / "o").exists()


REFUSED = [
    (["--n", "99999999999999999999999"], "argument --n: must be <= 1000000000; got 9999"),
    (["--n", "1" + "0" * 400], "argument --n: must be <= 1000000000; got 1000"),
    (["--n", "2000000", "--deltas", "0.5"], "more than this machine's memory"),
    (["--deltas", ",".join(str(0.001 * i) for i in range(1, 1002))], "at most 1000 per list"),
    (["--matrix", "conditioned", "--kappa", "0.5"],
     "argument --kappa: a condition number must be finite and >= 1; got 0.5"),
    (["--solver", "nettrim"], "NetTrim solves a LayerProblem only"),
    (["--solver", "iobs:damping=None", "--deltas", "0.3,1.0"],
     "cannot run on this experiment's problems (delta=0.3, rho=0.1): IOBS needs Ĥ⁻¹"),
    (["--solver", "topk_iobs:damping=None", "--deltas", "0.5"], "TopkIOBS needs Ĥ⁻¹"),
]


@pytest.mark.parametrize("argv, message", REFUSED, ids=[" ".join(a)[:40] for a, _ in REFUSED])
def test_phase_transition_refuses_before_any_work(argv, message, capsys, tmp_path):
    out = tmp_path / "o"
    _refused(phase_transition.main, argv + ["--rhos", "0.1", "--out", str(out)], message, capsys)
    assert not out.exists()


@pytest.mark.parametrize("argv, message", [
    (["--solver", "nettrim"], "NetTrim solves a LayerProblem only"),
    (["--solver", "iobs:damping=None"], "cannot run on this experiment's problems"),
    (["--matrix", "conditioned", "--kappa", "0.5"], "a condition number must be finite"),
    (["--n", "99999999999999999999999", "--k", "3"], "argument --n: must be <= 1000000000"),
])
def test_convergence_refuses_before_any_work(argv, message, capsys, tmp_path):
    out = tmp_path / "o"
    _refused(convergence.main, argv + ["--out", str(out)], message, capsys)
    assert not out.exists()


def _unusable_outs(tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    return [("", "argument --out: must not be empty"),
            (str(a_file), "exists and is not a directory"),
            (str(a_file / "sub"), "argument --out: cannot write to"),
            ("/proc/sparserec-out", "argument --out: cannot write to")]


@pytest.mark.parametrize("name", NAMES)
def test_unusable_out_is_one_line(name, capsys, tmp_path):
    main = importlib.import_module(f"sparserec.experiments.{name}").main
    extra = {"phase_transition": ["--solver", "htp"] + TINY_PT,
             "convergence": ["--solver", "htp", "--backend", "serial"],
             "conditioning": ["--smoke", "--backend", "serial"],
             "prune_network": ["--smoke", "--backend", "serial"]}[name]
    for out, message in _unusable_outs(tmp_path):
        _refused(main, extra + ["--out", out], message, capsys)


@pytest.mark.parametrize("solver", ["magnitude", "iobs", "obs", "woodfisher"])
def test_pruners_and_default_iobs_run_on_underdetermined_grids(solver, tmp_path):
    # Once refused by every cell (status "error" with exit 0): one-shot pruners now prune
    # the damped least-squares solution, and iobs's damping="auto" damps when m < n.
    out = tmp_path / "pt"
    assert phase_transition.main(["--solver", solver, *TINY_PT, "--quiet",
                                  "--out", str(out)]) == 0
    df = pd.read_parquet(out / "results.parquet")
    assert len(df) == 8 and (df["status"] != "error").all()
    cv = tmp_path / "cv"
    assert convergence.main(["--solver", solver, "--m", "20", "--n", "40", "--k", "3",
                             "--trials", "2", "--backend", "serial", "--quiet",
                             "--out", str(cv)]) == 0
    assert (pd.read_parquet(cv / "results.parquet")["status"] != "error").all()


def test_undamped_iobs_is_accepted_where_it_works(tmp_path):
    # damping=None is refused on m < n (above) but fine when every δ is 1 (AᵀA invertible).
    out = tmp_path / "pt"
    assert phase_transition.main(["--solver", "iobs:damping=None", "--n", "30", "--deltas",
                                  "1.0", "--rhos", "0.1,0.3", "--trials", "2", "--backend",
                                  "serial", "--quiet", "--out", str(out)]) == 0
    df = pd.read_parquet(out / "results.parquet")
    assert (df["status"] != "error").all() and df["success"].all()


# ------------------------------------------------------------ --version and --help
@pytest.mark.parametrize("name", NAMES)
def test_version(name, capsys):
    main = importlib.import_module(f"sparserec.experiments.{name}").main
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    text = capsys.readouterr().out.strip()
    assert re.fullmatch(rf"sparserec {re.escape(sparserec.__version__)}"
                        r"( \(commit [0-9a-f]{12}(, modified)?\))?", text), text


@pytest.mark.parametrize("name", NAMES)
def test_help_states_defaults_in_plain_text_with_distinct_metavars(name, capsys):
    module = importlib.import_module(f"sparserec.experiments.{name}")
    with pytest.raises(SystemExit):
        module.main(["--help"])
    text = capsys.readouterr().out
    flat = " ".join(text.split())
    assert re.search(r"--out DIR .*\(default: results/" + name, flat), flat
    for markup in ("``", ":func:`", ":class:`", ":mod:`", ":meth:`"):
        assert markup not in text, f"{name} --help shows reStructuredText {markup!r}"
    owners = {}
    for action in module.build_parser()._actions:
        if action.option_strings and action.metavar and not action.choices:
            owners.setdefault(action.metavar, []).append(action.option_strings[0])
    shared = {m: opts for m, opts in owners.items() if len(opts) > 1}
    assert not shared, f"metavars used by several options: {shared}"
    # the implicit metavar (dest in capitals) must not collide with an explicit one either
    implicit = [a.dest.upper() for a in module.build_parser()._actions
                if a.option_strings and a.metavar is None and a.nargs != 0 and not a.choices]
    assert not set(implicit) & set(owners), set(implicit) & set(owners)


# ------------------------------------------------------------ one output style
LOG_LINE = re.compile(r"^(phase_transition|convergence|conditioning): ")


def test_one_output_style(tmp_path, capsys):
    # Notes and warnings: 'name: message' lines on stderr (no 'INFO:'); the summary, ending
    # with the 'Done in ... Outputs in ...' line, on stdout.
    runs = [(phase_transition.main, ["--solver", "htp", *TINY_PT]),
            (convergence.main, ["--solver", "htp", "--m", "10", "--n", "20", "--k", "2",
                                "--trials", "1", "--backend", "serial"]),
            (conditioning.main, ["--smoke", "--kappas", "1", "--trials", "1", "--backend",
                                 "serial"])]
    for main, argv in runs:
        out = tmp_path / main.__module__.rsplit(".", 1)[1]
        for _ in range(2):  # the second run resumes, which is a note on stderr
            assert main(argv + ["--out", str(out)]) == 0
        captured = capsys.readouterr()
        assert "INFO" not in captured.err
        err = [line for line in captured.err.splitlines() if line.strip()]
        assert err and all(LOG_LINE.match(line) for line in err), captured.err
        assert any("Resuming" in line for line in err)
        last = captured.out.strip().splitlines()[-1]
        assert last.startswith("Done in ") and f"Outputs in {out.resolve()}" in last, last


# ------------------------------------------------------------ --plot-only on damaged outputs
def _stored(tmp_path):
    out = tmp_path / "pt"
    assert phase_transition.main(["--solver", "htp", *TINY_PT, "--quiet",
                                  "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("damage", ["results", "metadata", "columns"])
@pytest.mark.parametrize("name", ["phase_transition", "convergence"])
def test_plot_only_on_damaged_outputs_is_one_line(name, damage, tmp_path, capsys):
    main = importlib.import_module(f"sparserec.experiments.{name}").main
    out = _stored(tmp_path)
    if damage == "results":
        (out / "results.parquet").write_bytes(b"garbage, not parquet")
        message = "results.parquet is not a readable Parquet file"
    elif damage == "metadata":
        (out / "metadata.json").write_text("{garbage")
        message = "metadata.json is not valid JSON"
    else:
        pd.DataFrame({"x": [1, 2]}).to_parquet(out / "results.parquet")
        message = "cannot redraw from"
    _refused(main, ["--plot-only", "--out", str(out)], message, capsys)


def test_conditioning_plot_only_on_damaged_or_missing_table(tmp_path, capsys):
    _refused(conditioning.main, ["--plot-only", "--out", str(tmp_path)],
             "no conditioning.csv", capsys)
    (tmp_path / "conditioning.csv").write_bytes(b"\x00\xff garbage")
    _refused(conditioning.main, ["--plot-only", "--out", str(tmp_path)],
             "cannot redraw from", capsys)


def test_prune_network_has_no_plot_only(capsys):
    _refused(prune_network.main, ["--plot-only"], "this experiment draws no figure", capsys)
