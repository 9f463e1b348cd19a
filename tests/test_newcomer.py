"""The newcomer's path: the README says which Python to use, a LICENSE ships, the notebook
extra has what the notebooks' progress bars need."""
from __future__ import annotations

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _readme():
    return (ROOT / "README.md").read_text()


def test_readme_says_which_python_before_the_first_command():
    # The reproducer: the README's bare `python` commands fail outside the virtual
    # environment (no numba), and it never said to use .venv/bin/python or to activate it.
    text = _readme()
    assert ".venv/bin/python" in text and "source .venv/bin/activate" in text
    first_command = min(m.start() for m in re.finditer(r"^python ", text, flags=re.M))
    assert text.index("source .venv/bin/activate") < first_command
    assert text.index(".venv/bin/python") < first_command


def test_license_file_matches_the_metadata():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    assert cfg["metadata"]["license"] == "BSD-3-Clause"
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("BSD 3-Clause License")
    assert "Copyright (c) 2026, the sparserec developers" in text
    for clause in ("Redistributions of source code must retain",
                   "Redistributions in binary form must reproduce",
                   "Neither the name of the copyright holder"):
        assert clause in text
    assert cfg["metadata"]["license_files"].strip() == "LICENSE"


def test_jupyter_extra_has_ipywidgets():
    # tqdm.auto (the harness's progress bar) warns in a notebook without ipywidgets.
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    extra = [line.strip() for line in cfg["options.extras_require"]["jupyter"].splitlines()]
    assert any(re.match(r"ipywidgets\b", line) for line in extra), extra


def test_committed_mnist_figure_is_the_papers_20_runs_and_what_make_figures_makes():
    # The committed MNIST-prior figure used 5 images (+19 % against the paper); the paper
    # used 20. The script's default is now 20, `make figures` runs it with no options, and
    # the committed tables come from such a run.
    import ast
    import csv
    tree = ast.parse((ROOT / "paper_figures" / "iobs_mnist.py").read_text())
    full = next(ast.literal_eval(node.value) if isinstance(node.value, ast.Dict) else
                {kw.arg: ast.literal_eval(kw.value) for kw in node.value.keywords}
                for node in tree.body if isinstance(node, ast.Assign)
                and getattr(node.targets[0], "id", "") == "FULL")
    assert full["runs"] == 20
    make_all = (ROOT / "paper_figures" / "make_all.py").read_text()
    assert '"iobs_mnist"' in make_all and "cmd = [sys.executable, str(script)]" in make_all
    with open(ROOT / "paper_figures" / "iobs_mnist.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["method"] for r in rows} == {"topk_iobs", "iht"}
    for r in rows:
        assert int(r["n_runs"]) == 20 and int(r["cfg_runs"]) == 20 and r["smoke"] == "False"
        # the README quotes these numbers
        mean, std = float(r["final_distance_mean"]), float(r["final_distance_std"])
        quoted = f"{mean:.1f} ± {std:.1f}" if mean < 100 else f"{mean:.0f} ± {std:.0f}"
        assert quoted in _readme(), quoted
    with open(ROOT / "paper_figures" / "iobs_mnist_runs.csv", newline="") as fh:
        assert len({r["run"] for r in csv.DictReader(fh)}) == 20
