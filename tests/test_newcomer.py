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
