"""A census of bad input: every kind tried on every solver it applies to.

Each case either must be refused clearly (a ValueError/TypeError naming the
cause), or may return a Result, which must then hold the contract
(``_contract.py``). Run as a script to print the counts::

    python tests/solvers/test_bad_input_census.py

The test asserts that no case fails.
"""
from __future__ import annotations

import logging
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse.linalg import LinearOperator

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sparserec import LayerProblem, Problem, solvers  # noqa: E402
from sparserec.curvature import ExactGram  # noqa: E402
from sparserec.kernels import topk_mask  # noqa: E402
from sparserec.problems import ObjectiveProblem, Quadratic  # noqa: E402

from _contract import check_result, clear_refusal  # noqa: E402

SOLVERS = solvers.available()


def _accepting(ptype):
    return [n for n in SOLVERS if any(issubclass(ptype, t) for t in solvers.solver_class(n).accepts)]


LS, LAYER, OBJECTIVE = _accepting(Problem), _accepting(LayerProblem), _accepting(ObjectiveProblem)


def _data():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((20, 40))
    x = np.zeros(40)
    x[[3, 17, 30]] = [1.5, -2.0, 1.2]
    return A, x, A @ x


def _layer(sx=1.0, sw=1.0, duplicate=False):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((48, 8))
    if duplicate:
        X[:, 3] = X[:, 2]
    return LayerProblem(X * sx, rng.standard_normal((8, 4)) * sw, 0.5)


def _nan_op(A, where, after=0):
    calls = {"n": 0}

    def product(M, v):
        calls["n"] += 1
        out = M @ v
        return out * np.nan if calls["n"] > after else out

    return LinearOperator(A.shape, dtype=float,
                          matvec=(lambda v: product(A, v)) if where == "matvec" else (lambda v: A @ v),
                          rmatvec=(lambda v: product(A.T, v)) if where == "rmatvec" else (lambda v: A.T @ v))


def _solve(name, make_problem, **solve_kw):
    """A case: build the problem (may refuse), solve it (may refuse), check any Result."""
    def run():
        problem = make_problem()
        solver = solvers.get(name)
        res = solver.solve(problem, **solve_kw)
        check_result(res, problem, solver)
        return res
    return run


def _refuse(fn):
    """A case that must be refused: returning anything is a failure."""
    def run():
        fn()
        raise AssertionError("accepted bad input")
    return run


def _cases():
    A, x, y = _data()
    out = []   # (kind, case id, callable)
    for name in LS:
        out += [
            ("A, y at 1e160", name, _solve(name, lambda: Problem(A * 1e160, y * 1e160, 3))),
            ("A, y at 1e200", name, _solve(name, lambda: Problem(A * 1e200, y * 1e200, 3))),
            ("A, y at 1e-160", name, _solve(name, lambda: Problem(A * 1e-160, y * 1e-160, 3))),
            ("A, y at 1e-300", name, _solve(name, lambda: Problem(A * 1e-300, y * 1e-300, 3))),
            ("solution beyond float64", name,
             _refuse(_solve(name, lambda: Problem(A * 1e-200, y * 1e200, 3)))),
            ("operator: matvec returns NaN", name,
             _refuse(_solve(name, lambda: Problem(_nan_op(A, "matvec"), y, 3)))),
            ("operator: rmatvec returns NaN", name,
             _refuse(_solve(name, lambda: Problem(_nan_op(A, "rmatvec"), y, 3)))),
            ("operator: NaN after 4 products", name,
             _solve(name, lambda: Problem(_nan_op(A, "matvec", after=4), y, 3))),
            ("x0 of the wrong shape", name,
             _refuse(_solve(name, lambda: Problem(A, y, 3), x0=np.ones(7)))),
            ("x0 with NaN", name,
             _refuse(_solve(name, lambda: Problem(A, y, 3), x0=np.full(40, np.nan)))),
            ("y of another scale than A (1e-100 vs 1e100)", name,
             _solve(name, lambda: Problem(A * 1e100, y * 1e-100, 3))),
        ]
    for name in LAYER:
        sparse = solvers.solver_class(name).enforces_k

        def layer(p, sparse=sparse):
            return (lambda: p() if sparse else p().with_sparsity(None))
        out += [
            ("layer: duplicated input, damping=None", name,
             _layer_case(name, layer(lambda: _layer(duplicate=True)))),
            ("layer: inputs at 1e-150", name, _solve(name, layer(lambda: _layer(sx=1e-150)))),
            ("layer: inputs at 1e140", name, _solve(name, layer(lambda: _layer(sx=1e140)))),
            ("layer: weights at 1e-200", name, _solve(name, layer(lambda: _layer(sw=1e-200)))),
            ("layer: weights at 1e250, inputs at 1e-100", name,
             _solve(name, layer(lambda: _layer(sx=1e-100, sw=1e250)))),
        ]
    for name in OBJECTIVE:
        for s in (1e-150, 1e150):
            def quad(s=s):
                return ObjectiveProblem(Quadratic(np.diag([1.0, 2.0, 3.0]) * s,
                                                  np.array([1.0, -1.0, 2.0]) * s), 2)
            out.append((f"objective at {s:g}", name,
                        _solve(name, quad, x0=np.array([1.0, -0.5, 0.7]))))
    for name in SOLVERS:
        out.append(("unknown parameter", name, _refuse(lambda n=name: solvers.get(n, kk=4))))
        cls = solvers.solver_class(name)
        if "max_iter" in cls._param_names() and name != "nettrim":
            out.append(("max_iter=0", name, _refuse(_solve_params(name, max_iter=0))))
        if "damping" in cls._param_names():
            out.append(("damping=-1", name, _refuse(_solve_params(name, damping=-1.0))))
            out.append(("damping=0 on a duplicated input", name,
                        _refuse(lambda n=name: solvers.get(n, damping=0.0).solve(
                            _layer(duplicate=True)))))
        if "step" in cls._param_names():
            out.append(("step=nan", name, _refuse(_solve_params(name, step=float("nan")))))
    for name in ("iht", "htp"):
        out.append(("diverging step", name,
                    lambda n=name: _check(n, Problem(A, y, 3), step=1e30)))
    one = [
        ("NaN in A", lambda: Problem(np.where(A > 2, np.nan, A), y, 3)),
        ("Inf in y", lambda: Problem(A, np.where(y > 0, np.inf, y), 3)),
        ("complex A", lambda: Problem(A + 1j, y, 3)),
        ("empty A", lambda: Problem(np.zeros((0, 4)), np.zeros(0), 1)),
        ("all-zero A", lambda: Problem(np.zeros((4, 6)), np.ones(4), 1)),
        ("k = 0", lambda: Problem(A, y, 0)),
        ("k > n", lambda: Problem(A, y, 41)),
        ("layer: Gram overflows (inputs at 1e170)", lambda: _layer(sx=1e170)),
        ("layer: Gram underflows (inputs at 1e-170)", lambda: _layer(sx=1e-170)),
        ("layer: sparsity '²:4'", lambda: LayerProblem(np.ones((4, 8)), np.ones((8, 2)), "²:4")),
        ("ExactGram: non-symmetric H", lambda: ExactGram(H=np.triu(np.ones((4, 4))))),
        ("solvers.get(['iht'])", lambda: solvers.get(["iht"])),
        ("topk_mask: NaN scores", lambda: topk_mask(np.array([[1.0], [np.nan], [2.0]]), 1)),
    ]
    out += [(kind, "-", _refuse(fn)) for kind, fn in one]
    return out


def _layer_case(name, make_problem):
    def run():
        p = make_problem()
        kw = {"damping": None} if "damping" in solvers.solver_class(name)._param_names() else {}
        solver = solvers.get(name, **kw)
        check_result(solver.solve(p), p, solver)
    return run


def _solve_params(name, **params):
    def run():
        p = _layer() if Problem not in [c for c in solvers.solver_class(name).accepts] \
            else Problem(*_data()[::2], 3)
        solvers.get(name, **params).solve(p)
    return run


def _check(name, problem, **params):
    solver = solvers.get(name, **params)
    check_result(solver.solve(problem), problem, solver)


def classify(run):
    """``"refused clearly"``, ``"held the contract"``, or ``"failed: <why>"``."""
    try:
        run()
    except AssertionError as exc:
        return f"failed: {exc}"
    except Exception as exc:  # noqa: BLE001 - classifying every outcome is the point
        return "refused clearly" if clear_refusal(exc) else \
            f"failed: {type(exc).__name__}: {str(exc)[:120]}"
    return "held the contract"


CASES = _cases()


@pytest.mark.parametrize("kind, name, run", CASES, ids=[f"{k}-{n}" for k, n, _ in CASES])
def test_bad_input(kind, name, run):
    logging.getLogger("sparserec").setLevel(logging.ERROR)
    outcome = classify(run)
    assert not outcome.startswith("failed"), outcome


def main():
    logging.getLogger("sparserec").setLevel(logging.ERROR)
    kinds, per_kind = Counter(), {}
    for kind, name, run in CASES:
        outcome = classify(run).split(":")[0]
        kinds[outcome] += 1
        per_kind.setdefault(kind, Counter())[outcome] += 1
        if outcome == "failed":
            print(f"FAILED  {kind} / {name}: {classify(run)}")
    failed_kinds = sum(1 for c in per_kind.values() if c["failed"])
    print(f"bad-input kinds: {len(per_kind)} tried, {len(per_kind) - failed_kinds} without a "
          f"failure, {failed_kinds} with a failure")
    print(f"cases (kind x solver): {len(CASES)} tried, {kinds['refused clearly']} refused "
          f"clearly, {kinds['held the contract']} held the contract, {kinds['failed']} failed")
    return 1 if kinds["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
