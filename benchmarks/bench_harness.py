"""Experiment-harness benchmarks (convention: see ``bench_core.py``).

* ``harness_batched_iht``: one phase-diagram cell in shared-matrix mode
  (m=512, n=1024, k=51, 64 trials, Gaussian signals) solved by IHT as one
  multi-RHS problem (what the harness does with ``mode="shared"``) vs a loop
  of 64 single-RHS solves of the same instances. Both sides use the same
  fixed step ``1/‖A‖₂²`` (computed once, outside the timing) so that they
  do the same iterations, and run with one BLAS thread, as harness tasks do.
  Reported: seconds per trial (``ratio = ours/ref``; target ``<= 0.2``,
  i.e. at least 5× the trials per second); median of 5 interleaved repeats
  (alternating which side goes first) after one warm-up of each.
* ``harness_default_preset``: wall time of ``python -m experiments.phase_transition
  --fresh --quiet --workers 2`` (the default preset, end to end: start-up,
  every solve, store, fits and figures) against the 120 s budget.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import numpy as np

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # sibling helpers
from _timing import interleaved_medians  # noqa: E402


def bench_batched_iht(repeats=5, *, m=512, n=1024, rho=0.1, trials=64, seed=0):
    """Shared-matrix multi-RHS IHT vs a per-trial loop, seconds per trial."""
    from threadpoolctl import threadpool_limits

    from sparserec.harness import recovery_problems
    from sparserec import Problem, solvers

    if repeats < 5:
        raise ValueError(f"The 'repeats' parameter of bench_batched_iht must be >= 5; got {repeats}.")
    coords = {"matrix": "gaussian", "signal": "gaussian", "n": n, "m": m,
              "k": max(1, round(rho * m))}
    batch = recovery_problems(coords, list(range(trials)), seed, "shared")[0].problem
    mu = 1.0 / batch.norm2() ** 2
    singles = [Problem(batch.A, batch.Y[:, t].copy(), batch.k, x_true=batch.X_true[:, t].copy())
               for t in range(trials)]
    solver = solvers.get("iht", step=mu)

    def ours():
        return solver.solve(batch)

    def ref():
        return [solver.solve(p) for p in singles]

    with threadpool_limits(limits=1):
        r_ours, r_ref = ours(), ref()  # warm-up (JIT, caches); also a consistency check
        iters = np.asarray(r_ours.n_iter)
        assert np.array_equal(iters, [r.n_iter for r in r_ref]), "batched and looped runs differ"
        t_ours, t_ref = interleaved_medians([ours, ref], repeats, alternate=True)
    ours_s = t_ours / trials
    ref_s = t_ref / trials
    return [{"name": f"harness_batched_iht (m={m}, n={n}, {trials} trials, s/trial)",
             "ours_s": ours_s, "ref_s": ref_s, "ratio": ours_s / ref_s, "target": 0.2,
             "speedup": ref_s / ours_s, "trials_per_s_batched": 1 / ours_s,
             "trials_per_s_loop": 1 / ref_s, "mean_iterations": float(iters.mean())}]


def bench_default_preset(workers=2, budget=120.0):
    """Wall time of the default phase-transition preset, end to end, vs ``budget`` seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": _ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "experiments.phase_transition", "--out", tmp,
                        "--fresh", "--quiet", "--workers", str(workers)],
                       cwd=_ROOT, env=env, check=True)
        wall = time.perf_counter() - t0
    return [{"name": f"harness_default_preset (wall s, {workers} workers, budget {budget:g} s)",
             "ours_s": wall, "ref_s": budget, "ratio": wall / budget, "target": 1.0}]


BENCHMARKS = [bench_batched_iht, bench_default_preset]


if __name__ == "__main__":
    for fn in BENCHMARKS:
        for row in fn():
            print(row)
