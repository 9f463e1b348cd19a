"""The Result contract, property-based, for every registered solver.

Whatever the scale (1e-150 to 1e150 in float64, 1e-15 to 1e15 in float32),
the dtype and the shape (m > n, m < n, a single row or column), a solver
returns a Result that holds finite values, at most k nonzeros and an honest
status, or raises a ValueError naming the cause (``_contract.py``). Solvers
come from the registry and problems from their ``accepts``, so a new solver
is covered without touching this file.

A second property is exact: scaling a problem's data by powers of two (far
outside the band that is solved as given) changes nothing but the units, so
the solution, status, reason and iteration count are bit for bit those of the
unscaled problem. That pins the internal normalisation.

Examples are derandomised (the same cases on every run, so ``make test`` is
reproducible) and few per solver, to keep the suite fast; see ``SEARCH`` for
a longer random hunt.
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse.linalg import aslinearoperator

from sparserec import LayerProblem, Problem, solvers
from sparserec.problems import ObjectiveProblem, Quadratic

from _contract import check_result, clear_refusal

SOLVERS = solvers.available()


def _accepting(ptype):
    return [n for n in SOLVERS if any(issubclass(ptype, t) for t in solvers.solver_class(n).accepts)]


LS, LAYER, OBJECTIVE = _accepting(Problem), _accepting(LayerProblem), _accepting(ObjectiveProblem)


#: Set SPARSEREC_CONTRACT_SEARCH=<factor> to explore: that many times more examples, drawn
#: at random (not derandomised) — a longer hunt than ``make test`` can afford.
SEARCH = int(os.environ.get("SPARSEREC_CONTRACT_SEARCH", "0") or 0)


def _settings(n):
    return settings(max_examples=n * max(SEARCH, 1), deadline=None, derandomize=not SEARCH,
                    database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _solve_or_refuse(name, problem, **kw):
    """Run the solver; return the Result, or None after a clear refusal (else re-raise)."""
    solver = solvers.get(name)
    try:
        res = solver.solve(problem, **kw)
    except Exception as exc:  # noqa: BLE001 - the contract decides what is allowed
        if clear_refusal(exc):
            return None
        raise
    check_result(res, problem, solver)
    return res


def _scale(draw, dtype, name):
    """A scale 10**e, e uniform over the range the dtype can hold data at (1e±150, 1e±15)."""
    top = 150 if dtype == np.float64 else 15
    return 10.0 ** draw(st.floats(-top, top), label=name)


@st.composite
def least_squares(draw):
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    m, n = draw(st.integers(1, 12)), draw(st.integers(1, 16))
    T = draw(st.sampled_from([1, 1, 3]))
    k = draw(st.integers(1, n))
    seed = draw(st.integers(0, 2 ** 16))
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) * _scale(draw, dtype, "scale of A")
    X = np.zeros((n, T))
    for t in range(T):
        X[rng.choice(n, k, replace=False), t] = rng.standard_normal(k)
    X *= _scale(draw, dtype, "scale of x")
    Y = A @ X
    if draw(st.booleans(), label="noise"):
        Y = Y + 1e-3 * np.abs(Y).max() * rng.standard_normal(Y.shape)
    A, Y = A.astype(dtype), Y.astype(dtype)
    if draw(st.booleans(), label="operator"):
        A = aslinearoperator(A)
    return Problem(A, Y[:, 0] if T == 1 else Y, k, x_true=X[:, 0] if T == 1 else X)


@pytest.mark.parametrize("name", LS)
@_settings(30)
@given(problem=least_squares())
def test_least_squares_contract(name, problem):
    _solve_or_refuse(name, problem)


@st.composite
def layers(draw):
    x_dtype = draw(st.sampled_from([np.float64, np.float32]))
    N, d = draw(st.integers(1, 24)), draw(st.sampled_from([1, 3, 4, 8, 12]))
    T = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    X = rng.standard_normal((N, d))
    if d > 1 and draw(st.booleans(), label="duplicated input"):
        X[:, -1] = X[:, 0]
    X = (X * _scale(draw, x_dtype, "scale of X") / np.sqrt(2.0)).astype(x_dtype)
    W = rng.standard_normal((d, T)) * _scale(draw, np.float64, "scale of W")
    specs = [0.25, 0.5, 0.75] + (["2:4"] if d % 4 == 0 else [])
    spec = draw(st.sampled_from(specs))
    allocation = draw(st.sampled_from(["global", "uniform"]))
    try:
        return LayerProblem(X, W, spec, allocation=allocation, activation="relu")
    except Exception as exc:  # noqa: BLE001 - a refused problem is part of the contract
        assert clear_refusal(exc), exc
        return None


@pytest.mark.parametrize("name", LAYER)
@_settings(20)
@given(problem=layers())
def test_layer_contract(name, problem):
    if problem is None:
        return
    if solvers.solver_class(name).enforces_k is False:  # Net-Trim: sparsity from epsilon
        problem = problem.with_sparsity(None)
    _solve_or_refuse(name, problem)


@st.composite
def quadratics(draw):
    n = draw(st.integers(1, 10))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    B = rng.standard_normal((draw(st.integers(1, 14)), n))
    s, t = _scale(draw, np.float64, "scale of H"), _scale(draw, np.float64, "scale of x")
    x = rng.standard_normal(n) * t
    H = (B.T @ B) * s
    H = 0.5 * (H + H.T)
    k = draw(st.integers(1, n))
    return ObjectiveProblem(Quadratic(H, H @ x), k), x


@pytest.mark.parametrize("name", OBJECTIVE)
@_settings(15)
@given(case=quadratics())
def test_objective_contract(name, case):
    problem, x = case
    _solve_or_refuse(name, problem, x0=x * (1 + 0.1 * np.arange(x.size)))


# ------------------------------------------------------------ exact scale equivariance
def _unit(M):
    """M divided by a power of two so that max|M| lies in [0.5, 1): solved as given."""
    return np.ldexp(M, -np.frexp(np.abs(M).max())[1])


big_exponent = st.one_of(st.integers(-480, -17), st.integers(17, 480))


@pytest.mark.parametrize("name", LS)
@_settings(10)
@given(seed=st.integers(0, 2 ** 16), a=big_exponent, b=big_exponent,
       shape=st.sampled_from([(12, 20), (20, 12), (6, 6)]))
def test_power_of_two_scaling_changes_nothing_but_units(name, seed, a, b, shape):
    rng = np.random.default_rng(seed)
    m, n = shape
    A = _unit(rng.standard_normal((m, n)))
    x = np.zeros(n)
    x[rng.choice(n, 3, replace=False)] = rng.standard_normal(3)
    y = _unit(A @ x)
    base = _solve_or_refuse(name, Problem(A, y, 3))
    scaled = _solve_or_refuse(name, Problem(np.ldexp(A, a), np.ldexp(y, b), 3))
    assert (base is None) == (scaled is None)
    if base is None:
        return
    assert np.array_equal(scaled.x, np.ldexp(base.x, b - a))
    assert (scaled.status, scaled.reason, scaled.n_iter) == (base.status, base.reason, base.n_iter)
    assert np.array_equal(scaled.history["residual_norm"],
                          np.ldexp(base.history["residual_norm"], b))


@pytest.mark.parametrize("name", LAYER)
@_settings(8)
@given(seed=st.integers(0, 2 ** 16), a=big_exponent, b=big_exponent)
def test_layer_power_of_two_scaling_changes_nothing_but_units(name, seed, a, b):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((40, 8))
    # inputs whose Gram matrix 2XᵀX/N has its largest entry in [0.25, 1): solved as given
    X = np.ldexp(X, -int(np.ceil(np.log2(np.sqrt(2 * (X * X).sum(0).max() / 40)))))
    W = _unit(rng.standard_normal((8, 3)))
    spec = None if not solvers.solver_class(name).enforces_k else 0.5
    a = int(np.clip(a, -140, 140))  # 2XᵀX/N must stay inside float64: |a| ≤ ~500
    base = _solve_or_refuse(name, LayerProblem(X, W, spec, activation="relu"))
    scaled = _solve_or_refuse(name, LayerProblem(np.ldexp(X, a), np.ldexp(W, b), spec,
                                                 activation="relu"))
    assert (base is None) == (scaled is None)
    if base is None:
        return
    assert np.array_equal(scaled.x, np.ldexp(base.x, b))
    assert np.array_equal(scaled.status, base.status)
    assert np.array_equal(scaled.history["residual_norm"],
                          np.ldexp(base.history["residual_norm"], a + b))
