"""EBD and WoodTaylor (a Newton step, then a pruner's projection) and OBS on network losses."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from sparserec import Problem, solvers
from sparserec.curvature import Diagonal, WoodFisher, make_curvature
from sparserec.problems import (LayerProblem, NetworkLoss, NetworkLossProblem, ObjectiveProblem,
                                Quadratic)

from conftest import tiny_mlp


@pytest.fixture(scope="module")
def layer():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 12)) @ rng.standard_normal((12, 12))
    return LayerProblem(X, rng.standard_normal((12, 5)), 0.6)


@pytest.fixture(scope="module")
def network():
    W, b, X, y = tiny_mlp(21, sizes=(8, 7, 5, 3), n_samples=40)
    return NetworkLossProblem(NetworkLoss(W, b, X, y), 0.6)


# ------------------------------------------------------------ stationary points
@pytest.mark.parametrize("spec", [0.6, "2:4"])
def test_ebd_is_obd_and_woodtaylor_is_woodfisher_at_zero_gradient(layer, spec):
    p = layer.with_sparsity(spec)
    # at the dense weights the layer gradient H(Ŵ − W) is exactly zero
    assert not np.any(p.gradient_at({"X": p.W_live, "j": np.arange(p.T)}))
    for update in ("none", "newton"):
        np.testing.assert_array_equal(solvers.get("ebd", update=update).solve(p).x,
                                      solvers.get("obd").solve(p).x)
    for update in ("sum", "group"):
        np.testing.assert_array_equal(solvers.get("woodtaylor", update=update).solve(p).x,
                                      solvers.get("woodfisher", update=update).solve(p).x)


def test_ebd_and_woodtaylor_at_a_stationary_point_of_an_objective():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((30, 10))
    H = A.T @ A / 30
    x_star = rng.standard_normal(10)
    p = ObjectiveProblem(Quadratic(H, H @ x_star), 4)
    for a, b in (("ebd", "obd"), ("woodtaylor", "woodfisher")):
        xa = solvers.get(a, curvature="exact").solve(p, x0=x_star).x
        xb = solvers.get(b, curvature="exact").solve(p, x0=x_star).x
        # the gradient at x* is roundoff (~1e-15), so the Newton target moves by as much
        np.testing.assert_allclose(xa, xb, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(xa != 0, xb != 0)


# ------------------------------------------------------------ EBD
def test_ebd_saliency_and_values_follow_the_formula(network):
    p = network
    solver = solvers.get("ebd", curvature="gauss_newton", update="newton")
    w = p.default_start()[:, 0]
    g = p.objective.gradient(w)
    h = Diagonal(make_curvature("gauss_newton", p, 0.01, x=w)).diag()
    sal = 0.5 * h * (w - g / h) ** 2           # Tresp et al.: ½ h (w − g/h)²
    keep = np.argsort(-sal, kind="stable")[:p.k]
    x = solver.solve(p).x
    ref = np.zeros_like(w)
    ref[keep] = (w - g / h)[keep]
    np.testing.assert_allclose(x, ref, rtol=1e-12, atol=0)   # same formula, two orders
    x_none = solvers.get("ebd", curvature="gauss_newton").solve(p).x
    np.testing.assert_array_equal(x_none != 0, x != 0)       # same selection
    np.testing.assert_array_equal(x_none[keep], w[keep])     # kept weights keep w


def test_ebd_revives_a_pruned_weight():
    # f = ½ Σ d_i (x_i − a_i)²: weight 1 was pruned (x0_1 = 0) but its gradient is large
    d = np.array([1.0, 2.0, 1.0, 0.5])
    a = np.array([1.0, 3.0, -0.2, 0.4])
    p = ObjectiveProblem(Quadratic(np.diag(d), d * a), 2)
    x0 = np.array([1.0, 0.0, -0.2, 0.4])
    g = d * (x0 - a)
    assert g[1] ** 2 / (2 * d[1]) > 0.5 * d[0] * x0[0] ** 2   # its EBD saliency wins
    ebd = solvers.get("ebd", damping=None).solve(p, x0=x0).x
    obd = solvers.get("obd", damping=None).solve(p, x0=x0).x
    assert obd[1] == 0.0                                      # OBD cannot see it
    assert ebd[1] == pytest.approx(a[1], rel=1e-15)           # revived at −g/h
    # for a separable quadratic, EBD is the best 2-sparse point (brute force)
    best = min(itertools.combinations(range(4), 2),
               key=lambda S: p.objective.value(np.where(np.isin(np.arange(4), S), a, 0.0)))
    np.testing.assert_array_equal(np.flatnonzero(ebd), best)
    ebd_n = solvers.get("ebd", damping=None, update="newton").solve(p, x0=x0).x
    np.testing.assert_allclose(ebd_n, np.where(ebd != 0, a, 0.0), rtol=1e-15)


def test_ebd_on_least_squares_uses_the_problem_gradient():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((40, 10))
    p = Problem(A, rng.standard_normal(40), 3)
    x0 = rng.standard_normal(10)
    h = np.sum(A * A, axis=0)
    z = x0 - A.T @ (A @ x0 - p.y) / h
    keep = np.argsort(-(h * z * z), kind="stable")[:3]
    x = solvers.get("ebd", damping=None, update="newton").solve(p, x0=x0).x
    ref = np.zeros(10)
    ref[keep] = z[keep]
    np.testing.assert_allclose(x, ref, rtol=1e-12)   # roundoff of two evaluation orders


# ------------------------------------------------------------ WoodTaylor
def test_woodtaylor_matches_the_reference_statistic_and_update(network):
    p = network
    w = p.default_start()[:, 0]
    F = WoodFisher(percdamp=0.01, method="dense").fit(p, w)
    g = p.objective.gradient(w)
    # NumPy port of the reference woodtaylor.py: _get_param_stat and the weight update
    Finv = F.inverse()
    d = np.diag(Finv)
    e = Finv @ g
    stat = 0.5 * w ** 2 / d + 0.5 * e ** 2 / d - 0.5 * (g @ e) - w * e / d
    pruned = np.argsort(stat, kind="stable")[:p.n - p.k]
    mask = np.ones(p.n)
    mask[pruned] = 0.0
    basis = -(1 - mask) * (w - e) / d
    ref = (w + Finv @ basis - e) * mask
    x = solvers.get("woodtaylor", curvature=F, damping=None).solve(p).x
    np.testing.assert_array_equal(x != 0, mask != 0)
    np.testing.assert_allclose(x, ref, rtol=1e-9, atol=1e-12 * np.abs(ref).max())
    # and the default pruner builds the same per-layer Fisher in sample space
    x2 = solvers.get("woodtaylor").solve(p).x
    np.testing.assert_allclose(x2, x, rtol=1e-8, atol=1e-10 * np.abs(x).max())


def test_woodtaylor_with_a_diagonal_curvature_is_ebd(network):
    # ALGORITHMS.md: WoodTaylor's statistic with a diagonal Fisher is EBD's minus a
    # constant; the summed update of a diagonal curvature moves no kept weight
    w = network.default_start()[:, 0]
    D = Diagonal(make_curvature("gauss_newton", network, 0.01, x=w))
    wt = solvers.get("woodtaylor", curvature=D, damping=None).solve(network).x
    ebd = solvers.get("ebd", curvature=D, damping=None, update="newton").solve(network).x
    np.testing.assert_array_equal(wt != 0, ebd != 0)
    np.testing.assert_allclose(wt, ebd, rtol=1e-13)   # z − (z_Q/d)·d on the kept set: roundoff


def test_woodtaylor_rescales_the_fisher_of_sums():
    # least squares: the rows a_p give F = AᵀA/m, the Hessian of ½‖Ax − y‖² is m·F
    rng = np.random.default_rng(3)
    A = rng.standard_normal((50, 8))
    p = Problem(A, rng.standard_normal(50), 8)      # k = n: no pruning, just the step
    x0 = rng.standard_normal(8)
    x = solvers.get("woodtaylor", damping=1e-9).solve(p, x0=x0).x
    x_ls = np.linalg.lstsq(A, p.y, rcond=None)[0]
    # one Newton step on a quadratic lands on its minimiser; the relative damping 1e-9
    # moves it by ~1e-9·cond·‖x0 − x*‖ (~1e-8 here). Without the rescaling by m = 50 the
    # step would overshoot 50-fold.
    np.testing.assert_allclose(x, x_ls, rtol=0, atol=1e-7 * np.linalg.norm(x0))


# ------------------------------------------------------------ OBS on a network loss
def test_obs_saliency_group_correction_formula(network):
    p = network
    w = p.default_start()[:, 0]
    C = make_curvature("gauss_newton", p, 0.01, x=w)
    H = C.dense()
    Hinv = np.linalg.inv(H)
    sal = w ** 2 / np.diag(Hinv)
    Q = np.sort(np.argsort(sal, kind="stable")[:p.n - p.k])
    ref = w - Hinv[:, Q] @ np.linalg.solve(Hinv[np.ix_(Q, Q)], w[Q])
    ref[Q] = 0.0
    x = solvers.get("obs", selection="saliency", curvature="gauss_newton").solve(p).x
    # the group OBS correction (DESIGN.md) vs the restricted solve: cond(H) ~1e4
    np.testing.assert_allclose(x, ref, rtol=1e-8, atol=1e-10 * np.abs(ref).max())
    assert np.count_nonzero(x) == p.k


def test_greedy_obs_refuses_a_network_sized_problem():
    rng = np.random.default_rng(4)
    f = NetworkLoss([rng.standard_normal((200, 101))], [np.zeros(101)],
                    rng.standard_normal((5, 200)), np.arange(5))
    with pytest.raises(ValueError, match="selection='greedy' needs the dense 20200 x 20200 "
                                         "inverse"):
        solvers.get("obs", curvature="gauss_newton").solve(NetworkLossProblem(f, 0.5))


@pytest.mark.parametrize("name, params", [
    ("magnitude", {}), ("obd", {"curvature": "gauss_newton"}),
    ("ebd", {"curvature": "gauss_newton"}),
    ("obs", {"curvature": "gauss_newton", "selection": "saliency"}),
    ("obs", {"curvature": "eigenspace", "selection": "saliency"}),
    ("woodfisher", {}), ("woodtaylor", {})])
def test_network_wide_budget_is_exact(network, name, params):
    res = solvers.get(name, **params).solve(network)
    assert np.count_nonzero(res.x) == network.k     # one budget over all layers
    dens = network.layer_densities(res.x)
    sizes = np.diff(network.objective.offsets)
    assert np.isclose(np.dot(dens, sizes), network.k)


@pytest.mark.parametrize("name, bad, match", [
    ("ebd", {"update": "sum"}, r"The 'update' parameter of EBD must be one of 'none', "
                               r"'newton'; got 'sum'\."),
    ("ebd", {"step": -1}, r"The 'step' parameter of EBD must be"),
    ("woodtaylor", {"step": 0}, r"The 'step' parameter of WoodTaylor must be"),
    ("obs", {"selection": "topk"}, r"The 'selection' parameter of OBS must be one of "
                                   r"'greedy', 'saliency'; got 'topk'\."),
])
def test_parameter_errors(layer, name, bad, match):
    with pytest.raises(ValueError, match=match):
        solvers.get(name, **bad).solve(layer)
