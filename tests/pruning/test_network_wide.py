"""Network-wide pruning against the loss, and masked retraining, on the sklearn-digits net."""
from __future__ import annotations

import numpy as np
import pytest

from sparserec import solvers
import sparserec.pruning as nw


@pytest.fixture(autouse=True, scope="module")
def _single_thread_blas():
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="module")
def digits():
    return nw.digits_mlp(cache=False)


@pytest.mark.parametrize("name, params", [
    ("magnitude", {}), ("obd", {"curvature": "gauss_newton"}),
    ("ebd", {"curvature": "gauss_newton"}),
    ("obs", {"curvature": "gauss_newton", "selection": "saliency"}),
    ("woodfisher", {}), ("woodtaylor", {})])
def test_prune_global_reports_levels_and_reuses_the_curvature(digits, name, params):
    net, (Xtr, ytr, Xte, yte) = digits
    sp = [0.5, 0.8]
    pruned, rec = nw.prune_global(net, Xtr, ytr, solvers.get(name, **params), sp,
                                  max_samples=100)
    sizes = np.array([W.size for W in net.weights])
    for s, m, r in zip(sp, pruned, rec):
        kept = sum(int(np.count_nonzero(W)) for W in m.weights)
        assert kept == sizes.sum() - int(np.floor(s * sizes.sum() + 0.5))   # one budget
        assert r["layer_densities"] == [np.count_nonzero(W) / W.size for W in m.weights]
        assert np.isclose(np.dot(r["layer_densities"], sizes), kept)
        for b0, b1 in zip(net.biases, m.biases):
            np.testing.assert_array_equal(b0, b1)                          # biases untouched
    # the curvature fitted once gives the network a fresh solve gives
    p = nw.network_problem(net, Xtr, ytr, sp[1], max_samples=100)
    fresh = solvers.get(name, **params).solve(p).x
    again = np.concatenate([W.ravel() for W in pruned[1].weights])
    np.testing.assert_allclose(again, fresh, rtol=1e-12, atol=1e-14)


def test_global_levels_differ_across_layers(digits):
    net, (Xtr, ytr, Xte, yte) = digits
    _, rec = nw.prune_global(net, Xtr, ytr, "woodfisher", [0.9], max_samples=100)
    dens = rec[0]["layer_densities"]
    assert max(dens) - min(dens) > 0.05   # the saliencies, not the user, set the levels
    pruned, _ = nw.prune_global(net, Xtr, ytr, "woodfisher", [0.5], max_samples=100)
    assert pruned[0].accuracy(Xte, yte) >= net.accuracy(Xte, yte) - 0.05


def test_finetune_masked_keeps_the_zeros_and_recovers(digits):
    net, (Xtr, ytr, Xte, yte) = digits
    pruned, _ = nw.prune_global(net, Xtr, ytr, "magnitude", [0.9])
    seen = []
    tuned = nw.finetune_masked(pruned[0], Xtr, ytr, epochs=3,
                               callback=lambda e, m: seen.append((e, m.accuracy(Xte, yte))))
    assert [e for e, _ in seen] == [1, 2, 3]
    for W0, W1 in zip(pruned[0].weights, tuned.weights):
        np.testing.assert_array_equal(W1 == 0, W0 == 0)   # the mask is fixed
    assert seen[-1][1] == tuned.accuracy(Xte, yte)
    assert tuned.accuracy(Xte, yte) > pruned[0].accuracy(Xte, yte)
    again = nw.finetune_masked(pruned[0], Xtr, ytr, epochs=3)
    for a, b in zip(tuned.weights + tuned.biases, again.weights + again.biases):
        np.testing.assert_array_equal(a, b)               # deterministic


def test_train_mlp_errors(digits):
    net, (Xtr, ytr, _, _) = digits
    with pytest.raises(ValueError, match="needs 'sizes'"):
        nw.train_mlp(Xtr, ytr)
    with pytest.raises(ValueError, match="one boolean array per layer"):
        nw.train_mlp(Xtr, ytr, init=net, masks=[W != 0 for W in net.weights[:2]])
    with pytest.raises(TypeError, match="must be an MLP"):
        nw.finetune_masked("net", Xtr, ytr)
    with pytest.raises(TypeError, match="must be an MLP"):
        nw.network_problem("net", Xtr, ytr)
