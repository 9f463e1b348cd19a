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
    state = {"X": X.copy(), "Y": Y, "R": Y - problem.matvec(X), "j": np.arange(X.shape[1])}
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
    iobs = solvers.get("iobs", damping=0.01, step=1.0)
    iht = solvers.get("iht")
    # a common mid-run iterate: two IHT iterations from zero
    X = np.zeros((n, 1))
    st = _state(p, iht, X)
    for _ in range(2):
        st = iht._step(p, st)
    X1 = st["X"].copy()
    s_iobs = _state(p, iobs, X1)
    s_iht = _state(p, iht, X1)
    curv = s_iobs["ctx"]["curv"]
    curv.inv_diag()                    # precompute (setup cost)

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


def bench_iobs_default_vs_htp(n=500, deltas=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
                              rhos=(0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75), trials=2,
                              seed=0, repeats=5):
    """(c) Time per solve of ``iobs`` with its defaults vs HTP, per δ (the issue's budget).

    Gaussian A (n = 500), ±1 and N(0, 1) signals, ``trials`` instances per
    (signal, ρ) over a ρ grid that spans both sides of the transitions (a
    phase-diagram workload: successes and failures), one BLAS thread (as in a
    sweep). At each δ the whole set of instances is solved by each solver in
    turn, ``repeats`` interleaved rounds alternating which goes first; the
    times are the medians of the rounds (setup included; a warm-up solve of
    both runs first)."""
    from threadpoolctl import threadpool_limits

    from sparserec import Problem, solvers
    from sparserec.ensembles import gaussian, sparse_signal
    from _timing import interleaved_medians

    htp, iobs = solvers.get("htp"), solvers.get("iobs")
    rows = []
    with threadpool_limits(limits=1):
        for delta in deltas:
            m = int(np.ceil(delta * n))
            probs = []
            for signal in ("rademacher", "gaussian"):
                for rho in rhos:
                    k = max(1, int(round(rho * m)))
                    for t in range(trials):
                        rng = np.random.default_rng([seed, int(1000 * delta),
                                                     int(1000 * rho), t])
                        A = gaussian(m, n, rng)
                        x = sparse_signal(n, k, rng, distribution=signal)
                        probs.append(Problem(A, A @ x, k))
            htp.solve(probs[0]), iobs.solve(probs[0])  # compilation and caches untimed
            t_htp, t_iobs = interleaved_medians(
                [lambda: [htp.solve(p) for p in probs], lambda: [iobs.solve(p) for p in probs]],
                repeats, alternate=True)
            count = len(probs)
            rows.append({"name": f"iobs (defaults) / htp, time per solve, n={n}, δ={delta:g} "
                                 f"({count} instances, ρ {rhos[0]:g}..{rhos[-1]:g})",
                         "ours_s": t_iobs / count, "ref_s": t_htp / count,
                         "ratio": t_iobs / t_htp, "target": "<= 3"})
    return rows


BENCHMARKS = [bench_iobs_iteration, bench_greedy_obs, bench_iobs_default_vs_htp]


if __name__ == "__main__":
    for bench in BENCHMARKS:
        for row in bench():
            print(f"{row['name']}: ours {row['ours_s']:.4g}s, ref {row['ref_s']:.4g}s, "
                  f"ratio {row['ratio']:.3g} (target {row['target']})")
