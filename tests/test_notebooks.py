"""Execute every notebook with nbclient on small sizes; any error fails the test.

Each notebook has a cell tagged ``parameters``; the test replaces its contents by the
small values below (as papermill would) before executing the notebook top to bottom. The
kernel runs with its default (inline) matplotlib backend, as for a user, and every cell
that draws a figure must show it in its output.
"""
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

SMALL = {
    "01_quickstart.ipynb": "m, n, k = 48, 96, 4\nseed = 0",
    "02_phase_transitions.ipynb": ("n = 40\ndeltas = [0.3, 0.6]\nrhos = [0.1, 0.3, 0.5]\ntrials = 3\n"
                                   "solver_specs = [\"htp\", \"omp\"]\nout = \"phase\"\nseed = 0"),
    "03_iobs_vs_iht.ipynb": ("m, n, k = 60, 30, 3\nkappas = [1, 100]\nmax_iter = 400\n"
                             "mnist_measurements = 1000\nmnist_iters = 20\nseed = 0"),
    "04_layer_pruning.ipynb": ("network = \"digits\"\nsparsity = 0.5\n"
                               "methods = [\"magnitude\", \"obc\", \"sparsegpt\"]\ncalibration = 300\nseed = 0"),
}


def _notebooks():
    return sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))


def test_every_notebook_has_small_parameters():
    assert _notebooks(), "no notebooks found"
    for name in _notebooks():
        assert SMALL.get(name), f"{name}: give it small parameters in SMALL"


@pytest.mark.parametrize("name", _notebooks())
def test_notebook_runs(name, tmp_path, monkeypatch):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    for cell in nb.cells:
        assert cell.cell_type != "code" or not cell.get("outputs"), \
            f"{name} is committed with outputs; strip them"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{name} needs exactly one cell tagged 'parameters'"
    tagged[0].source = SMALL[name]
    # the user's setting: the kernel picks its inline backend (a library that forced Agg
    # at import hid every figure, and MPLBACKEND=Agg here would hide that)
    monkeypatch.delenv("MPLBACKEND", raising=False)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    drawing = [c for c in nb.cells if c.cell_type == "code" and FIGURE.search(c.source)]
    assert drawing, f"{name} draws no figure"
    for cell in drawing:
        images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert images, f"{name}: this cell shows no figure:\n{cell.source[:300]}"


#: A code cell that draws: creates a figure or plots through pandas.
FIGURE = re.compile(r"plt\.(subplots|figure)\(|\.plot\(|\.imshow\(")
