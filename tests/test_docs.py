"""The generated documentation pages match the code they embed, and the README example runs."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_generated_docs_are_up_to_date():
    # docs/adding_a_solver.md embeds the real IHT module and docs/cli.md the real --help
    # output of every CLI; regenerate with `python docs/generate.py` after changing either.
    proc = subprocess.run([sys.executable, "docs/generate.py", "--check"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_adding_a_solver_embeds_the_real_iht_source():
    page = (ROOT / "docs" / "adding_a_solver.md").read_text()
    assert (ROOT / "sparserec" / "solvers" / "iht.py").read_text().rstrip("\n") in page


def test_readme_python_example_runs():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert blocks, "the README has no Python example"
    example = blocks[0]
    assert len(example.strip().splitlines()) <= 12  # "a 10-line Python example"
    proc = subprocess.run([sys.executable, "-c", example], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "converged" in proc.stdout
