"""Blocks of columns with a k per column: every column equals its own solve.

A sweep hands a solver one matrix and many right-hand sides of different
sparsities (a whole ρ column of a phase diagram, common random matrices);
the solver retires each column when it stops. The per-column result must be
the single-column result: identical success decisions and ``x`` within 1e-10
relative (block BLAS and vector BLAS differ only in the order of summation,
~1e-16, and these instances are not at ties).
"""
import numpy as np
import pytest

from sparserec import Problem, solvers
from sparserec.ensembles import gaussian, sparse_signal

ITERATIVE = ["iht", "iht:step=normalized", "htp", "cosamp", "subspace_pursuit", "omp",
             "topk_iobs", "iobs", "cgiht", "swap"]


def _make(spec):
    name, _, rest = spec.partition(":")
    params = dict(kv.split("=") for kv in rest.split(",")) if rest else {}
    return solvers.get(name, **params)


@pytest.fixture(scope="module")
def block():
    """m = 60, n = 120; eight signals with k from 2 (easy) to 30 (beyond recovery)."""
    rng = np.random.default_rng(2026)
    m, n = 60, 120
    A = gaussian(m, n, rng)
    ks = np.array([2, 5, 8, 12, 16, 20, 25, 30])
    X = np.zeros((n, ks.size))
    for t, k in enumerate(ks):
        X[:, t] = sparse_signal(n, int(k), rng)
    return Problem(A, A @ X, ks, x_true=X)


@pytest.mark.parametrize("spec", ITERATIVE)
def test_each_column_equals_its_own_solve(spec, block):
    res = _make(spec).solve(block)
    assert res.x.shape == (block.n, block.n_signals)
    for t in range(block.n_signals):
        k = int(block.sparsity.k[t])
        single = Problem(block.A, block.Y[:, t], k, x_true=block.X_true[:, t])
        one = _make(spec).solve(single)
        assert np.count_nonzero(res.x[:, t]) <= k
        assert (res.rel_error[t] <= 1e-3) == (one.rel_error <= 1e-3), t
        scale = max(np.linalg.norm(one.x), 1e-300)
        assert np.linalg.norm(res.x[:, t] - one.x) <= 1e-10 * scale, (t, k)
        assert res.n_iter[t] == one.n_iter, t
    # the block holds easy and hopeless columns, so columns stop at different iterations
    assert len(set(np.asarray(res.n_iter).tolist())) > 1


def test_k_per_column_is_validated():
    A = np.random.default_rng(0).standard_normal((10, 20))
    Y = np.zeros((10, 3))
    with pytest.raises(ValueError, match=r"The 'k' parameter of Problem must be .* per column"):
        Problem(A, Y, [1, 2])
    with pytest.raises(ValueError, match=r"The 'k' parameter of Problem .*; got 21 in one column"):
        Problem(A, Y, [1, 2, 21])
    p = Problem(A, Y, np.array([1, 2, 3]))
    assert p.sparsity.k.tolist() == [1, 2, 3]
