"""Ratio benchmarks for the I-OBS curvature toolbox.

``BENCHMARKS`` is a list of callables; each returns a list of dicts
``{name, ours_s, ref_s, ratio, target}`` with ``ratio = ours_s / ref_s``
(``benchmarks/run.py`` collects them). Times are medians of interleaved
repeats after a warm-up (numba compilation excluded).

Run alone with ``python -m benchmarks.bench_iobs`` (or ``python benchmarks/bench_iobs.py``).
"""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # sibling helpers
from _timing import interleaved_medians  # noqa: E402

REPEATS = 7


def _interleaved(fns, repeats=REPEATS):
    """Median seconds of each callable, calls interleaved (a, b, a, b, ...)."""
    return interleaved_medians(fns, repeats)


def _state(problem, solver, X):
    Y = problem.Y.astype(problem.dtype)
    state = {"X": X.copy(), "Y": Y, "R": Y - problem.matvec(X)}
    state = solver._setup(problem, state)
    state["done"] = np.zeros(problem.n_signals, dtype=bool)
    return state


def bench_iobs_iteration(m=2048, n=4096, k=100, seed=0):
    """(a) One I-OBS iteration (damped curvature, saliency selection, restricted
    Cholesky solve) vs one IHT iteration, at m < n. Setup (the m × m Woodbury
    factor and diag(Ĥ⁻¹)) is excluded, as IHT's ‖A‖₂ is."""
    from sparserec import solvers
    from sparserec.ensembles import make_problem

    p = make_problem(m, n, k, seed=seed)
    p.norm2()
    iobs = solvers.get("iobs", damping=0.01)
    iht = solvers.get("iht")
    # a common mid-run iterate: two IHT iterations from zero
    X = np.zeros((n, 1))
    st = _state(p, iht, X)
    for _ in range(2):
        st = iht._step(p, st)
    X1 = st["X"].copy()
    s_iobs = _state(p, iobs, X1)
    s_iht = _state(p, iht, X1)
    s_iobs["curv"].inv_diag()          # precompute (setup cost)
    curv = s_iobs["curv"]

    def run_iobs():
        s = dict(s_iobs, X=X1.copy(), R=s_iobs["R"].copy())
        iobs._step(p, s)

    def run_iobs_cold():
        curv.base._restricted.clear()
        curv._impl._restricted.clear()
        run_iobs()

    def run_iht():
        s = dict(s_iht, X=X1.copy(), R=s_iht["R"].copy())
        iht._step(p, s)

    run_iobs(), run_iht(), run_iobs_cold()   # warm-up
    t_iobs, t_cold, t_iht = _interleaved([run_iobs, run_iobs_cold, run_iht])
    return [
        {"name": f"iobs iteration, cached Ĥ_SS factor (m={m}, n={n}, k={k}) / IHT iteration",
         "ours_s": t_iobs, "ref_s": t_iht, "ratio": t_iobs / t_iht, "target": "<= 3"},
        {"name": f"iobs iteration, fresh Ĥ_SS factor (m={m}, n={n}, k={k}) / IHT iteration",
         "ours_s": t_cold, "ref_s": t_iht, "ratio": t_cold / t_iht, "target": "<= 3"},
    ]


def bench_greedy_obs(r=512, n=512, seed=0):
    """(b) Greedy OBS removal of half the weights of r rows sharing one n × n Ĥ⁻¹:
    numba kernel vs its NumPy twin (ratio = numba / numpy time; target <= 0.2)."""
    from sparserec.kernels.obs import greedy_obs

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((2 * n, n))
    H = X.T @ X / (2 * n)
    H[np.diag_indices_from(H)] += 0.01 * np.mean(np.diag(H))
    Hinv = np.linalg.inv(H)
    W = rng.standard_normal((r, n))
    greedy_obs(W[:4], Hinv, n // 2)                      # compile
    t_nb, t_np = _interleaved([lambda: greedy_obs(W, Hinv, n // 2),
                               lambda: greedy_obs(W, Hinv, n // 2, engine="numpy")],
                              repeats=5)
    return [{"name": f"greedy OBS, {r} rows x {n}, remove half: numba / numpy twin",
             "ours_s": t_nb, "ref_s": t_np, "ratio": t_nb / t_np, "target": "<= 0.2"}]


BENCHMARKS = [bench_iobs_iteration, bench_greedy_obs]


if __name__ == "__main__":
    for bench in BENCHMARKS:
        for row in bench():
            print(f"{row['name']}: ours {row['ours_s']:.4g}s, ref {row['ref_s']:.4g}s, "
                  f"ratio {row['ratio']:.3g} (target {row['target']})")
