"""Core ratio benchmarks: how close the hot loops are to their floor.

Convention (shared by every ``benchmarks/bench_*.py``): the module defines
``BENCHMARKS``, a list of callables; each returns a list of dicts with keys
``name``, ``ours_s``, ``ref_s`` (median seconds per call), ``ratio``
(``ours_s / ref_s``) and ``target`` (the ratio to stay at or below, or None).
``benchmarks/run.py`` runs them all and prints one table.

Timing method (all benchmarks here): one warm-up call of each side first (numba
compilation, BLAS buffers, caches; nothing of it is counted), then ``repeats``
interleaved rounds; a round times ``number`` consecutive calls of one side and
then of the other, alternating which side goes first, so drifts in machine load
hit both. Reported times are per-call medians over the rounds.

* ``iht_iteration``: one IHT iteration (``IHT._step``: ``p = Aᵀr``, ``x + μp``,
  top-k, the sparse product ``A x⁺`` and the new residual) vs its floor, the
  two dense mat-vecs ``A @ x`` and ``A.T @ r``, at m=2048, n=4096, k=100,
  float64. The step is timed directly, on a state dict built exactly as
  ``Solver._run`` builds it (``X``, ``Y``, ``R``, then ``_setup``), after 5
  iterations so that x is k-sparse as in a real run. Each call gets a fresh
  shallow copy of that state (``_step`` rebinds keys but never writes into the
  arrays), so every timed call does the same work. This isolates the iteration
  from ``solve``'s per-iteration bookkeeping (history, stopping tests), which
  is not part of the algorithm's cost.
* ``topk``: the numba top-k kernel vs ``np.argpartition(np.abs(x), n - k)`` at
  n=10^6, k=10^4 (ours also returns the indices sorted and applies the exact
  lower-index-wins tie rule).
* ``omp``: delegated to ``benchmarks/bench_omp.py`` (``bench_omp()``), when
  that module is present.
"""
from __future__ import annotations

import importlib
import os
import sys

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)  # sibling helpers
from _timing import interleaved_medians  # noqa: E402




def interleaved(ours, ref, *, repeats=7, number=10):
    """Median per-call seconds of ``ours`` and ``ref`` over interleaved rounds."""
    if repeats < 5:
        raise ValueError(f"The 'repeats' parameter of interleaved must be an int >= 5; got {repeats}.")
    ours()  # warm-up: JIT compile and caches, never timed
    ref()
    t_ours, t_ref = interleaved_medians([ours, ref], repeats, number=number, alternate=True)
    return t_ours, t_ref


def _row(name, ours_s, ref_s, target, **extra):
    return {"name": name, "ours_s": ours_s, "ref_s": ref_s, "ratio": ours_s / ref_s,
            "target": target, **extra}


def bench_iht_iteration(repeats=7, *, m=2048, n=4096, k=100, seed=0, number=20):
    """One IHT iteration vs the two dense mat-vecs ``A @ x`` and ``A.T @ r``."""
    from sparserec import solvers
    from sparserec.ensembles import make_problem

    problem = make_problem(m, n, k, seed=seed)
    solver = solvers.get("iht")
    solver._validate_params(problem)
    # The state, as Solver._run builds it.
    X0 = np.zeros((n, 1))
    state = {"X": X0, "Y": problem.Y.astype(problem.dtype, copy=False)}
    state["R"] = state["Y"].copy()
    state = solver._setup(problem, state)
    state["done"] = np.zeros(1, dtype=bool)
    for _ in range(5):  # reach a k-sparse iterate (and compile the kernel)
        state = solver._step(problem, state)
    assert np.count_nonzero(state["X"]) == k

    A = problem.A
    x = np.ascontiguousarray(state["X"][:, 0])
    r = np.ascontiguousarray(state["R"][:, 0])

    def ours():
        return solver._step(problem, dict(state))

    def ref():
        A @ x
        return A.T @ r

    t_ours, t_ref = interleaved(ours, ref, repeats=repeats, number=number)
    return [_row(f"iht iteration vs A@x + A.T@r (m={m}, n={n}, k={k})", t_ours, t_ref, 1.15)]


def bench_topk(repeats=7, *, n=10**6, k=10**4, seed=0, number=5):
    """numba top-k kernel vs ``np.argpartition(np.abs(x), n - k)``."""
    from sparserec.kernels import topk

    x = np.random.default_rng(seed).standard_normal(n)

    def ours():
        return topk(x, k)

    def ref():
        return np.argpartition(np.abs(x), n - k)[n - k:]

    assert np.array_equal(ours(), np.sort(ref()))  # same set (distinct magnitudes)
    t_ours, t_ref = interleaved(ours, ref, repeats=repeats, number=number)
    return [_row(f"topk kernel vs argpartition (n={n}, k={k})", t_ours, t_ref, 0.7)]


def _load_bench_omp():
    if _HERE not in sys.path:
        sys.path.insert(0, _HERE)
    return importlib.import_module("bench_omp").bench_omp


def bench_omp_vs_sklearn(repeats=7):
    """omp vs scikit-learn, from ``bench_omp.py`` (a row saying so if it is absent)."""
    try:
        bench_omp = _load_bench_omp()
    except ImportError:
        print("omp: not available")
        return []
    out = bench_omp(repeats=max(repeats, 5))
    size = f"m={out.get('m')}, n={out.get('n')}, k={out.get('k')}"
    return [_row(f"omp vs sklearn orthogonal_mp ({size})", out["ours"], out["sklearn"],
                 out.get("target", 1.0))]  # issue target: no slower than sklearn


# run.py runs bench_omp.bench_omp only once: this wrapper stands for it.
bench_omp_vs_sklearn.bench_key = "bench_omp.bench_omp"

BENCHMARKS = [bench_iht_iteration, bench_topk, bench_omp_vs_sklearn]


def main():
    rows = [row for fn in BENCHMARKS for row in fn()]
    for row in rows:
        target = "-" if row["target"] is None else f"<= {row['target']}"
        print(f"{row['name']:<60s} ours {row['ours_s'] * 1e3:9.3f} ms  ref "
              f"{row['ref_s'] * 1e3:9.3f} ms  ratio {row['ratio']:6.3f}  target {target}")
    return rows


if __name__ == "__main__":
    main()
