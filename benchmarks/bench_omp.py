"""Ratio benchmark: sparserec's ``omp`` against scikit-learn's ``orthogonal_mp``.

Both solve the same single-RHS float64 instance (Gaussian A of size m × n,
k-sparse Gaussian signal, k atoms). Each timing is the wall-clock time of the
full public call (validation, copies and result packaging included on both
sides), measured side by side: one warm-up call of each first, then
``repeats`` rounds, each timing ``number`` consecutive calls of one solver and
then of the other, the order alternating between rounds so that drifts in
machine load hit both equally. The reported times are per-call medians over
the rounds.

Run with ``python -m benchmarks.bench_omp`` or ``python benchmarks/bench_omp.py``.
"""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # sibling helpers
from _timing import time_calls  # noqa: E402




def bench_omp(repeats=7, *, m=512, n=1024, k=50, seed=0, number=5, threads=None):
    """Median per-call times of ``omp`` and ``sklearn.linear_model.orthogonal_mp``.

    Parameters
    ----------
    repeats : int, default=7
        Interleaved rounds (the median is taken over them).
    m, n, k : int, default=512, 1024, 50
        Problem size and number of atoms.
    seed : int, default=0
        Seed of the instance (``make_problem``).
    number : int, default=5
        Consecutive calls per timing (reduces timer noise).
    threads : int or None, default=None
        Limit the BLAS thread pools (through threadpoolctl) for the whole
        measurement, for both solvers alike; None leaves them as they are.

    Returns
    -------
    dict
        ``ours`` and ``sklearn`` (median seconds per call), ``ratio``
        (ours / sklearn; below 1 means faster), ``ours_solve_time`` (median
        ``Result.solve_time``, bookkeeping excluded), ``max_abs_diff`` between
        the two solutions, ``same_support``, and the settings.
    """
    if threads is not None:
        from threadpoolctl import threadpool_limits
        with threadpool_limits(limits=threads, user_api="blas"):
            return bench_omp(repeats, m=m, n=n, k=k, seed=seed, number=number, threads=None) \
                | {"threads": threads}
    from sklearn.linear_model import orthogonal_mp

    from sparserec import solvers
    from sparserec.ensembles import make_problem

    problem = make_problem(m, n, k, seed=seed)
    solver = solvers.get("omp")
    A, y = problem.A, problem.y

    def ours():
        return solver.solve(problem)

    def theirs():
        return orthogonal_mp(A, y, n_nonzero_coefs=k)

    res, ref = ours(), theirs()  # warm-up (imports, BLAS buffers, caches)
    t_ours, t_sk, t_solve = [], [], []
    for r in range(repeats):
        if r % 2 == 0:
            t_ours.append(time_calls(ours, number))
            t_sk.append(time_calls(theirs, number))
        else:
            t_sk.append(time_calls(theirs, number))
            t_ours.append(time_calls(ours, number))
        t_solve.append(ours().solve_time)
    med_ours, med_sk = float(np.median(t_ours)), float(np.median(t_sk))
    return {
        "m": m, "n": n, "k": k, "repeats": repeats, "number": number, "threads": None,
        "ours": med_ours,
        "sklearn": med_sk,
        "ratio": med_ours / med_sk,
        "ours_solve_time": float(np.median(t_solve)),
        "max_abs_diff": float(np.max(np.abs(res.x - ref))),
        "same_support": bool(np.array_equal(res.x != 0, ref != 0)),
    }


def _report(out):
    threads = "default" if out["threads"] is None else out["threads"]
    print(f"omp vs sklearn orthogonal_mp at m={out['m']}, n={out['n']}, k={out['k']}, "
          f"BLAS threads {threads} (median of {out['repeats']} interleaved rounds of "
          f"{out['number']} calls)")
    print(f"  ours     {out['ours'] * 1e3:8.3f} ms per call "
          f"(solve_time {out['ours_solve_time'] * 1e3:.3f} ms)")
    print(f"  sklearn  {out['sklearn'] * 1e3:8.3f} ms per call")
    print(f"  ratio    {out['ratio']:8.3f}   (ours / sklearn)")
    print(f"  max |x_ours - x_sklearn| = {out['max_abs_diff']:.2e}, "
          f"same support: {out['same_support']}")


if __name__ == "__main__":
    _report(bench_omp())
    _report(bench_omp(threads=1))
