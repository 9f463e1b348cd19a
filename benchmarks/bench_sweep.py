"""Sweep-scale ratio benchmarks at n = 1000 (convention: see ``bench_core.py``).

Matrices are stored with contiguous columns (Fortran order), as the harness
stores them. Every measurement runs with one BLAS thread (as harness tasks do), after one
warm-up call of each side (numba compilation and caches are never timed), in
``repeats`` interleaved rounds alternating which side goes first; reported
times are per-call medians.

* ``niht_iteration_single``: NIHT (``step="normalized"``) per iteration,
  measured as the wall time of a whole ``solve`` (validation, loop
  bookkeeping and result included) divided by its iterations, vs the floor
  of an iteration, the two dense mat-vecs ``A @ x`` and ``A.T @ r``;
  m = 500, n = 1000, k = 100 (ρ = 0.2, a success). Target ≤ 1.5.
* ``niht_iteration_block``: the same for 64 columns with mixed k (20…200,
  so some columns fail and run to ``max_iter``), per column-iteration, vs
  the two matrix-matrix products ``A @ X`` and ``A.T @ R`` on the columns
  still running at each iteration (the block narrows as columns stop).
  Target ≤ 1.3.
* ``batched_column``: a whole δ column of a phase diagram (δ = 0.5, twelve
  ρ = 0.05…0.6, 4 trials) solved as the harness's ``common`` mode does (one
  matrix per trial, the twelve ρ signals as one block with a k per column) vs
  the same 48 instances solved one by one, for NIHT and HTP. Seconds per
  solve; target ≤ 0.2 (≥ 5× the throughput). The per-column results are
  checked to be the same on both sides before timing.
* ``omp_block``: OMP on 64 signals in one call, per signal, vs the same OMP
  called once per signal, and vs scikit-learn's 2-D ``orthogonal_mp`` (with
  its default ``precompute=False`` and with ``precompute=True``); m = 500,
  n = 1000, k = 50. Target ≤ 0.7 of each.
* ``bp_homotopy``: basis pursuit's homotopy fast path vs cvxpy (Clarabel),
  m = 500, n = 1000, Rademacher signals with ρ drawn uniformly in
  ρ_DT ± 0.05 (near the ℓ1 curve). Seconds per solve over ``timed``
  instances (interleaved); success decisions (relative error ≤ 1e-3)
  compared on ``instances`` instances (200 by default: cvxpy takes a few
  seconds each, so this row takes about ten minutes); reports the share
  of columns that needed the cvxpy fallback. Target ≤ 0.05 (1/20) with ≥ 99 %
  identical decisions.

Run ``python benchmarks/bench_sweep.py`` (all rows) or through
``python benchmarks/run.py --only bench_sweep``.
"""
from __future__ import annotations

import os
import sys

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)  # sibling helpers
from _timing import interleaved_medians  # noqa: E402


def _gaussian(m, n, rng):
    """A Gaussian matrix stored as the harness stores it: contiguous columns."""
    return np.asfortranarray(rng.standard_normal((m, n)) / np.sqrt(m))


def _signals(n, ks, rng, law="rademacher"):
    X = np.zeros((n, len(ks)))
    for t, k in enumerate(ks):
        vals = rng.choice([-1.0, 1.0], k) if law == "rademacher" else rng.standard_normal(k)
        X[rng.choice(n, k, replace=False), t] = vals
    return X


def _row(name, ours_s, ref_s, target, **extra):
    return {"name": name, "ours_s": ours_s, "ref_s": ref_s, "ratio": ours_s / ref_s,
            "target": target, **extra}


def _niht_iteration(ks, repeats, seed, label, target, law="rademacher"):
    """Whole NIHT solves, time per column-iteration, vs the two products per column."""
    from threadpoolctl import threadpool_limits

    from sparserec import Problem, solvers

    m, n = 500, 1000
    rng = np.random.default_rng(seed)
    A = _gaussian(m, n, rng)
    X0 = _signals(n, ks, rng, law)
    problem = Problem(A, A @ X0 if len(ks) > 1 else A @ X0[:, 0],
                      np.asarray(ks) if len(ks) > 1 else int(ks[0]))
    solver = solvers.get("iht", step="normalized", max_iter=300)
    X = np.ascontiguousarray(X0)
    R = np.ascontiguousarray(np.asarray(problem.Y))

    def ours():
        return solver.solve(problem)

    with threadpool_limits(limits=1):
        res = ours()
        n_iter = np.atleast_1d(res.n_iter)
        iters = int(n_iter.sum())  # column-iterations of one solve
        # the floor: at every iteration, the two products on the columns still running
        widths = [int(np.count_nonzero(n_iter >= i)) for i in range(1, int(n_iter.max()) + 1)]
        if len(ks) == 1:
            x, r = X[:, 0].copy(), R[:, 0].copy()

            def ref():
                for _ in widths:
                    A @ x
                    A.T @ r
        else:
            def ref():
                for w in widths:
                    A @ X[:, :w]
                    A.T @ R[:, :w]
        ref()
        t_ours, t_ref = interleaved_medians([ours, ref], repeats, alternate=True,
                                            number=1)
    return [_row(f"{label} (m={m}, n={n}; {iters} column-iterations per solve)",
                 t_ours / iters, t_ref / iters, target, column_iterations=iters)]


def bench_niht_iteration_single(repeats=9, *, seed=0):
    """NIHT, one column: solve time per iteration vs the two mat-vecs (m=500, n=1000, k=100)."""
    return _niht_iteration([100], repeats, seed,
                           "niht per iteration over a solve, 1 column, k=100, vs A@x + A.T@r",
                           1.5)


def bench_niht_iteration_block(repeats=7, *, seed=0):
    """NIHT on 64 columns with mixed k: per column-iteration vs ``A @ X`` + ``A.T @ R``."""
    ks = np.linspace(20, 200, 64).round().astype(int).tolist()
    return _niht_iteration(ks, repeats, seed,
                           "niht per column-iteration over a solve, 64 columns k=20..200, "
                           "vs A@X + A.T@R per column", 1.3)


def bench_batched_column(repeats=5, *, seed=0, trials=4):
    """A δ column solved in common-matrix blocks vs one solve per instance, NIHT and HTP."""
    from threadpoolctl import threadpool_limits

    from sparserec import Problem, solvers

    m, n = 500, 1000
    rhos = np.round(np.arange(1, 13) * 0.05, 2)
    ks = np.maximum(1, np.round(rhos * m)).astype(int)
    rng = np.random.default_rng(seed)
    blocks = []
    for _ in range(trials):
        A = _gaussian(m, n, rng)
        X = _signals(n, ks, rng)
        blocks.append(Problem(A, A @ X, ks, x_true=X))
    singles = [Problem(b.A, b.Y[:, j].copy(), int(ks[j]), x_true=b.X_true[:, j].copy())
               for b in blocks for j in range(len(ks))]
    rows = []
    for label, name, params in (("niht", "iht", {"step": "normalized", "max_iter": 300}),
                                ("htp", "htp", {})):
        solver = solvers.get(name, **params)

        def ours():
            return [solver.solve(b) for b in blocks]

        def ref():
            return [solver.solve(p) for p in singles]

        with threadpool_limits(limits=1):
            got, want = ours(), ref()
            ok_b = np.concatenate([r.rel_error <= 1e-3 for r in got])
            ok_s = np.array([r.rel_error <= 1e-3 for r in want])
            assert np.array_equal(ok_b, ok_s), f"{label}: block and single decisions differ"
            t_ours, t_ref = interleaved_medians([ours, ref], repeats, alternate=True)
        N = len(singles)
        rows.append(_row(f"{label}: δ=0.5 column (12 ρ × {trials} trials) in common-matrix "
                         "blocks vs per instance, s/solve", t_ours / N, t_ref / N, 0.2,
                         speedup=t_ref / t_ours, successes=int(ok_b.sum())))
    return rows


def bench_omp_block(repeats=5, *, seed=0, signals=64, m=500, n=1000, k=50):
    """OMP with many signals in one call vs looped calls and vs scikit-learn's 2-D call."""
    from sklearn.linear_model import orthogonal_mp
    from threadpoolctl import threadpool_limits

    from sparserec import Problem, solvers

    rng = np.random.default_rng(seed)
    A = _gaussian(m, n, rng)
    X = _signals(n, [k] * signals, rng, "gaussian")
    Y = A @ X
    solver = solvers.get("omp")
    block = Problem(A, Y, k)
    singles = [Problem(A, Y[:, j].copy(), k) for j in range(signals)]

    def ours():
        return solver.solve(block)

    def looped():
        return [solver.solve(p) for p in singles]

    def sk():
        return orthogonal_mp(A, Y, n_nonzero_coefs=k)

    def sk_gram():
        return orthogonal_mp(A, Y, n_nonzero_coefs=k, precompute=True)

    with threadpool_limits(limits=1):
        res = ours()
        assert np.array_equal(res.x != 0, sk() != 0), "omp and scikit-learn supports differ"
        looped(), sk_gram()
        t = interleaved_medians([ours, looped, sk, sk_gram], repeats, alternate=True)
    per = [v / signals for v in t]
    size = f"{signals} signals, m={m}, n={n}, k={k}, per signal"
    return [_row(f"omp block vs looped omp ({size})", per[0], per[1], 0.7),
            _row(f"omp block vs sklearn orthogonal_mp 2-D ({size})", per[0], per[2], 0.7),
            _row(f"omp block vs sklearn orthogonal_mp 2-D, precompute=True ({size})",
                 per[0], per[3], 0.7)]


def bench_bp_homotopy(repeats=5, *, seed=0, instances=200, timed=10, m=500, n=1000):
    """Basis pursuit: homotopy fast path vs cvxpy near the ℓ1 curve (time and decisions)."""
    from threadpoolctl import threadpool_limits

    from sparserec import Problem, solvers
    from sparserec.theory import donoho_tanner

    delta = m / n
    rho_dt = float(donoho_tanner(delta))
    rng = np.random.default_rng(seed)
    probs = []
    for _ in range(instances):
        k = max(1, int(round(rng.uniform(rho_dt - 0.05, rho_dt + 0.05) * m)))
        A = _gaussian(m, n, rng)
        x = _signals(n, [k], rng)[:, 0]
        probs.append(Problem(A, A @ x, k, x_true=x))
    fast = solvers.get("basis_pursuit")
    ref = solvers.get("basis_pursuit", method="cvxpy")
    with threadpool_limits(limits=1):
        fast.solve(probs[0]), ref.solve(probs[0])
        rf = [fast.solve(p) for p in probs]
        rr = [ref.solve(p) for p in probs]
        same = np.mean([(a.rel_error <= 1e-3) == (b.rel_error <= 1e-3) for a, b in zip(rf, rr)])
        fallback = np.mean([int(r.history["fallback"][0]) for r in rf])
        sub = probs[:timed]
        t_fast, t_ref = interleaved_medians([lambda: [fast.solve(p) for p in sub],
                                             lambda: [ref.solve(p) for p in sub]],
                                            repeats, alternate=True)
    return [_row(f"basis pursuit homotopy vs cvxpy (m={m}, n={n}, ρ_DT±0.05), s/solve; "
                 f"identical decisions {100 * same:.1f} % of {instances}, fallback "
                 f"{100 * fallback:.1f} %", t_fast / timed, t_ref / timed, 0.05,
                 identical_decisions=float(same), fallback_share=float(fallback),
                 successes=int(sum(r.rel_error <= 1e-3 for r in rf)))]


BENCHMARKS = [bench_niht_iteration_single, bench_niht_iteration_block, bench_batched_column,
              bench_omp_block, bench_bp_homotopy]


def main(argv=None):
    """Run the rows named on the command line (default: all) and print them."""
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", default="", help="run the benchmarks whose name contains this")
    p.add_argument("--instances", type=int, default=200,
                   help="basis-pursuit instances for the decision check (default 200)")
    args = p.parse_args(argv)
    for fn in BENCHMARKS:
        if args.only not in fn.__name__:
            continue
        rows = fn(instances=args.instances) if fn is bench_bp_homotopy else fn()
        for row in rows:
            print(f"{row['name']}\n    ours {row['ours_s'] * 1e3:9.3f} ms   ref "
                  f"{row['ref_s'] * 1e3:9.3f} ms   ratio {row['ratio']:.3f}   target "
                  f"<= {row['target']}", flush=True)


if __name__ == "__main__":
    main()
