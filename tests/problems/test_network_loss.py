"""The network-loss problem: its loss, gradient, Hessian products and row factors."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import check_grad

import sparserec.problems.network as net_mod
from sparserec.problems import ArrayRows, KroneckerRows, NetworkLoss, NetworkLossProblem, mlp
from sparserec.problems.rows import RowFactor
from sparserec.pruning import MLP

from conftest import dense_fisher_and_gn, tiny_mlp


@pytest.fixture(scope="module")
def net():
    return tiny_mlp(3)


@pytest.fixture(scope="module")
def loss(net):
    return NetworkLoss(*net)


def _rel(a, b):
    return np.linalg.norm(np.asarray(a) - np.asarray(b)) / max(np.linalg.norm(b), 1e-300)


def test_value_is_mean_cross_entropy(net, loss):
    W, b, X, y = net
    z = mlp.forward(W, b, X)[-1]
    ref = np.mean([np.log(np.sum(np.exp(r))) - r[t] for r, t in zip(z, y)])
    assert abs(loss.value(loss.theta0) - ref) <= 1e-14 * abs(ref)  # two summation orders


def test_gradient_check_grad(loss):
    rng = np.random.default_rng(0)
    for _ in range(3):
        th = loss.theta0 + 0.05 * rng.standard_normal(loss.n)
        g = loss.gradient(th)
        # central differences of a piecewise-smooth loss: ~1e-7 relative with epsilon ~1.5e-8
        assert check_grad(loss.value, loss.gradient, th) <= 1e-5 * np.linalg.norm(g)


def test_hvp_matches_gradient_differences_and_is_symmetric(loss):
    rng = np.random.default_rng(1)
    th = loss.theta0
    u, v = rng.standard_normal(loss.n), rng.standard_normal(loss.n)
    h = 1e-5
    fd = (loss.gradient(th + h * v) - loss.gradient(th - h * v)) / (2 * h)
    # O(h²) truncation on the smooth pieces (no ReLU kink within 1e-5 here)
    assert _rel(loss.hvp(th, v), fd) <= 1e-7
    # the exact Hessian is symmetric: uᵀ(Hv) = vᵀ(Hu) up to roundoff
    assert abs(u @ loss.hvp(th, v) - v @ loss.hvp(th, u)) <= 1e-12 * np.linalg.norm(u) \
        * np.linalg.norm(loss.hvp(th, v))


def test_single_layer_hessian_is_gauss_newton():
    # softmax regression: the logits are linear in the weights, so Hessian = Gauss–Newton
    W, b, X, y = tiny_mlp(5, sizes=(6, 4))
    f = NetworkLoss(W, b, X, y)
    H = f.hessian(f.theta0)
    _, _, GN = dense_fisher_and_gn(W, b, X, y)
    assert _rel(H, GN) <= 1e-12   # two exact computations of the same matrix


def test_hessian_differs_from_gauss_newton_by_the_residual_term(net, loss):
    # with hidden layers the Hessian has cross-layer residual terms the GN drops
    H = loss.hessian(loss.theta0)
    _, _, GN = dense_fisher_and_gn(*net)
    assert _rel(H, GN) > 1e-3
    assert np.linalg.eigvalsh(GN).min() >= -1e-12 * np.abs(GN).max()  # GN is PSD


def test_sample_gradients_are_per_sample_gradients(net, loss):
    W, b, X, y = net
    rows = loss.sample_gradients(loss.theta0)
    U = rows.columns(0, loss.n)
    for i in range(X.shape[0]):   # oracle: the loss of that sample alone
        gi = NetworkLoss(W, b, X[i:i + 1], y[i:i + 1]).gradient(loss.theta0)
        assert _rel(U[i], gi) <= 1e-13
    assert _rel(U.mean(axis=0), loss.gradient(loss.theta0)) <= 1e-13
    G, _, _ = dense_fisher_and_gn(*net)   # and the forward-mode oracle
    assert _rel(U, G) <= 1e-12


def test_gauss_newton_rows_match_forward_mode_oracle(net, loss):
    rows = loss.gauss_newton_rows(loss.theta0)
    U = rows.columns(0, loss.n)
    _, _, GN = dense_fisher_and_gn(*net)
    assert rows.shape == (net[2].shape[0] * 3, loss.n) and rows.n_samples == net[2].shape[0]
    assert _rel(U.T @ U / rows.n_samples, GN) <= 1e-12
    v = np.random.default_rng(2).standard_normal(loss.n)
    assert _rel(loss.gauss_newton_vp(loss.theta0, v), GN @ v) <= 1e-12


@pytest.mark.parametrize("kind", ["fisher", "gn"])
def test_kronecker_rows_agree_with_dense_columns(loss, kind):
    rows = loss.sample_gradients(loss.theta0) if kind == "fisher" \
        else loss.gauss_newton_rows(loss.theta0)
    U = rows.columns(0, loss.n)
    dense = ArrayRows(U, n_samples=rows.n_samples)
    assert rows.blocks == tuple((int(a), int(c)) for a, c in
                                zip(loss.offsets[:-1], loss.offsets[1:]))
    for lo, hi in [(0, loss.n), (3, 40), (35, 36), *rows.blocks]:
        np.testing.assert_allclose(rows.columns(lo, hi), U[:, lo:hi], rtol=0, atol=1e-15)
        # Hadamard/GEMM fast paths vs plain products: roundoff only
        assert _rel(rows.gram(lo, hi), dense.gram(lo, hi)) <= 1e-13
        assert _rel(rows.sq_norms(lo, hi), dense.sq_norms(lo, hi)) <= 1e-13
        pieces = [(a, c) for a, c, _ in rows.chunks(lo, hi)]
        assert pieces[0][0] == lo and pieces[-1][1] == hi
        assert all(p[1] == q[0] for p, q in zip(pieces, pieces[1:]))
    idx = np.array([40, 2, 17, 2, 50])
    np.testing.assert_array_equal(rows.take(idx), U[:, idx])
    # the generic chunked defaults of RowFactor give the same answers
    assert _rel(RowFactor.gram(rows, 0, loss.n), U @ U.T) <= 1e-13
    np.testing.assert_array_equal(RowFactor.take(rows, idx), U[:, idx])


def test_kronecker_rows_chunking_bounds_memory(loss, monkeypatch):
    monkeypatch.setattr(net_mod, "CHUNK_ELEMENTS", 40)
    rows = loss.sample_gradients(loss.theta0)
    U = rows.columns(0, loss.n)
    seen = 0
    for a, c, C in rows.chunks(0, loss.n):
        assert C.shape == (U.shape[0], c - a)
        np.testing.assert_array_equal(C, U[:, a:c])
        seen += c - a
    assert seen == loss.n


def test_problem_budget_layout_and_densities(net, loss):
    p = NetworkLossProblem(loss, 0.75)
    assert p.k == loss.n - int(np.floor(0.75 * loss.n + 0.5))
    np.testing.assert_array_equal(p.default_start()[:, 0], loss.theta0)
    Ws = p.split(loss.theta0)
    for a, w in zip(Ws, net[0]):
        np.testing.assert_array_equal(a, w)
    theta = loss.theta0.copy()
    theta[loss.offsets[1]:] = 0.0
    assert p.layer_densities(theta) == [1.0, 0.0, 0.0]
    assert p.with_sparsity(0.5).objective is loss
    assert "NetworkLossProblem(7-5-4-3" in repr(p)


def test_forward_matches_the_pruning_mlp(net):
    W, b, X, _ = net
    np.testing.assert_array_equal(MLP(W, b).forward(X), mlp.forward(W, b, X)[-1])


@pytest.mark.parametrize("bad, err, match", [
    (1.0, ValueError, r"The 'sparsity' parameter of NetworkLossProblem must be a float in "
                      r"\[0, 1\); got 1\.0\."),
    ("0.5", TypeError, r"The 'sparsity' parameter of NetworkLossProblem must be a float"),
    (True, TypeError, r"The 'sparsity' parameter of NetworkLossProblem must be a float"),
])
def test_problem_errors(loss, bad, err, match):
    with pytest.raises(err, match=match):
        NetworkLossProblem(loss, bad)


def test_loss_errors(net):
    W, b, X, y = net
    with pytest.raises(ValueError, match="'y' argument of NetworkLoss must hold 13 integer"):
        NetworkLoss(W, b, X, y.astype(float))
    with pytest.raises(ValueError, match="'y' argument of NetworkLoss"):
        NetworkLoss(W, b, X, y + 5)
    with pytest.raises(ValueError, match="'X' argument of NetworkLoss must have 7 columns"):
        NetworkLoss(W, b, X[:, :3], y)
    with pytest.raises(ValueError, match="Layer 1 of NetworkLoss takes"):
        NetworkLoss([W[0], W[2]], [b[0], b[2]], X, y)
    with pytest.raises(TypeError, match="must be a NetworkLoss"):
        NetworkLossProblem("loss", 0.5)


def test_dense_hessian_refused_for_large_networks():
    rng = np.random.default_rng(0)
    f = NetworkLoss([rng.standard_normal((100, 50))], [np.zeros(50)],
                    rng.standard_normal((4, 100)), np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="allowed for n <= 4096 weights only; use "
                                         "curvature='gauss_newton'"):
        f.hessian(f.theta0)


def test_kronecker_rows_validate_layers():
    with pytest.raises(ValueError, match="one delta block per layer input"):
        KroneckerRows([np.ones((2, 3))], [], 2)
