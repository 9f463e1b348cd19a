"""Real networks: training is deterministic and cached; pruning keeps accuracy in order."""
from __future__ import annotations

import os

import numpy as np
import pytest

from sparserec import solvers
import sparserec.pruning as nw


@pytest.fixture(autouse=True, scope="module")
def _single_thread_blas():
    """BLAS on one thread: the products here are small, and threaded OpenBLAS on a
    loaded machine was measured 100× slower (busy-waiting workers) on the ADMM loop."""
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="module")
def digits():
    return nw.digits_mlp(cache=False)


def test_training_is_deterministic_and_accurate(digits):
    net, (Xtr, ytr, Xte, yte) = digits
    again = nw.train_mlp(Xtr, ytr, (64, 64, 32, 10), seed=0, epochs=60, batch_size=32, lr=2e-3,
                         weight_decay=1e-4)
    for a, b in zip(net.weights + net.biases, again.weights + again.biases):
        np.testing.assert_array_equal(a, b)
    assert net.accuracy(Xte, yte) >= 0.95
    assert Xtr.shape == (1397, 64) and Xte.shape == (400, 64)
    assert np.bincount(yte).tolist() == [40] * 10


def test_weight_cache_in_user_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSEREC_CACHE", str(tmp_path))
    assert nw.cache_dir() == str(tmp_path)
    net, _ = nw.digits_mlp(epochs=2)
    files = os.listdir(tmp_path / "networks")
    assert len(files) == 1 and files[0].startswith("digits64-64-32-")
    net2, _ = nw.digits_mlp(epochs=2)
    for a, b in zip(net.weights, net2.weights):
        np.testing.assert_array_equal(a, b)
    nw.digits_mlp(epochs=3)  # other hyperparameters: another key
    assert len(os.listdir(tmp_path / "networks")) == 2
    monkeypatch.delenv("SPARSEREC_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert nw.cache_dir() == str(tmp_path / "xdg" / "sparserec")


def test_layer_inputs_and_parallel_vs_sequential(digits):
    net, (Xtr, ytr, Xte, yte) = digits
    ins = nw.layer_inputs(net, Xtr)
    assert [a.shape[1] for a in ins] == [64, 64, 32]
    sp = [0.5, 0.5, 0.5]
    par, rp = nw.prune_network(net, Xtr, "obc", sp, mode="parallel")
    seq, rs = nw.prune_network(net, Xtr, "obc", sp, mode="sequential")
    np.testing.assert_array_equal(par.weights[0], seq.weights[0])  # same dense input
    assert not np.array_equal(par.weights[1], seq.weights[1])
    for r in rp + rs:
        assert abs(r["density"] - 0.5) < 1e-9


def _accuracies(net, data, densities, names, **kw):
    Xtr, ytr, Xte, yte = data
    sp = [1 - d for d in densities]
    return {n: nw.prune_network(net, Xtr, n, sp, **kw)[0].accuracy(Xte, yte) for n in names}


def test_digits_accuracy_order(digits):
    net, data = digits
    dense = net.accuracy(data[2], data[3])
    acc = _accuracies(net, data, (0.2, 0.3, 0.5), ["obc", "sparsegpt", "magnitude"])
    assert acc["obc"] > acc["sparsegpt"] > acc["magnitude"]
    assert acc["obc"] >= dense - 0.02


def test_nettrim_on_digits_network(digits):
    net, (Xtr, ytr, Xte, yte) = digits
    s = solvers.get("nettrim", epsilon=0.05, max_iter=500, tol=1e-3)
    for mode in ("parallel", "sequential"):
        pruned, rec = nw.prune_network(net, Xtr, s, [None] * 3, mode=mode, fold_bias=True,
                                       max_samples=600)
        assert pruned.density() < 0.9
        assert pruned.accuracy(Xte, yte) >= net.accuracy(Xte, yte) - 0.1


def test_iterate_network_reports_rounds(digits):
    net, (Xtr, ytr, Xte, yte) = digits
    nets, rec = nw.iterate_network(net, Xtr, solvers.get("sparsegpt"), [0.7] * 3,
                                          rounds=2, step=0.5)
    assert len(nets) == 2 and len(rec) == 6
    assert all(abs(m.density() - 0.3) < 1e-2 for m in nets)


def test_lenet_accuracy_order_at_lobs_densities():
    # ~6 s with a cold weight cache (training included) on one BLAS thread: not marked slow
    net, data = nw.lenet300100()
    dense = net.accuracy(data[2], data[3])
    assert dense >= 0.93
    acc = _accuracies(net, data, nw.LENET_LOBS_DENSITIES, ["obc", "sparsegpt", "magnitude"])
    assert acc["obc"] > acc["sparsegpt"] > acc["magnitude"]
    assert acc["obc"] >= dense - 0.02
