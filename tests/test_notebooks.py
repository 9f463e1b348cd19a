"""Execute every notebook with nbclient on small sizes; any error fails the test.

Each notebook has a cell tagged ``parameters``; the test replaces its contents by the
small values below (as papermill would) before executing the notebook top to bottom.
"""
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
    monkeypatch.setenv("MPLBACKEND", "Agg")
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
