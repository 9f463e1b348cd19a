"""Ratio benchmarks of the layer pruners (OBC, SparseGPT, Net-Trim).

``BENCHMARKS`` is a list of callables; each returns a list of dicts
``{name, ours_s, ref_s, ratio, target}`` with ``ratio = ours_s / ref_s``
(``benchmarks/run.py`` collects them; ``target`` is the ratio to stay at or
below). Times are medians of interleaved repeats after a warm-up (numba
compilation excluded); BLAS runs single-threaded (``threadpoolctl``) so that
the numbers do not depend on other jobs sharing the machine.

* OBC on LeNet-300-100's first layer (300 outputs × 785 inputs with the bias
  column, 5000 MNIST images): time per layer, and the numba greedy kernel vs
  its NumPy twin (uniform 50 %, same work). 3 repeats (the twin takes ~10 s+).
* SparseGPT vs OBC on the same layer (50 %, layer-global allocation for OBC).
  5 repeats.
* Net-Trim ADMM vs cvxpy (Clarabel) on fc2 (100 ReLU outputs, 301 inputs,
  1000 samples, ε = 0.05) at equal objective: ADMM's tolerance is 1e-4,
  which brings ‖U‖₁ within 1e-3 of the conic optimum (checked, and
  reported in the row name). cvxpy's program is built once (DPP, ε a
  Parameter) before timing; each timed call is a re-solve. 3 repeats
  (a Clarabel solve takes minutes).

Run alone with ``python benchmarks/bench_pruning.py``.
"""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # sibling helpers
from _timing import interleaved_medians  # noqa: E402

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _interleaved(fns, repeats):
    """Median seconds of each callable, calls interleaved (a, b, a, b, ...)."""
    return interleaved_medians(fns, repeats)


def _single_blas():
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=1, user_api="blas")


def _fc1_problem(sparsity=0.5, allocation="global"):
    from sparserec.pruning import LayerProblem, lenet300100

    net, data = lenet300100()
    X = np.vstack([data[0], data[2]])  # all 5000 images
    return LayerProblem(X, net.weights[0], sparsity, bias=net.biases[0], fold_bias=True,
                        allocation=allocation)


def bench_obc_layer():
    """OBC per layer (global allocation, both passes) and numba kernel vs NumPy twin."""
    from sparserec import solvers
    from sparserec.kernels.obs import greedy_obs

    with _single_blas():
        p = _fc1_problem()
        Hinv = solvers.get("obc").make_curvature(p).inverse()
        Wt = np.ascontiguousarray(p.W_live.T)
        k = p.n - p.n_prune_per_output()
        greedy_obs(Wt[:2, :30], Hinv[:30, :30], 10)  # warm-up (compile)

        def obc_layer():  # a fresh problem copy each time: no cached trace
            solvers.get("obc").solve(p.with_weights(p.W.copy()))

        t_layer, = _interleaved([obc_layer], 3)
        t_nb, t_np = _interleaved([lambda: greedy_obs(Wt, Hinv, k, engine="numba"),
                                   lambda: greedy_obs(Wt, Hinv, k, engine="numpy")], 3)
    return [
        {"name": "obc: one 300x785 layer, 5000 samples, 50% global (s per layer; ref = 60 s "
                 "budget)", "ours_s": t_layer, "ref_s": 60.0, "ratio": t_layer / 60.0,
         "target": 1.0},
        {"name": "obc greedy kernel 300x785, 50%: numba vs NumPy twin", "ours_s": t_nb,
         "ref_s": t_np, "ratio": t_nb / t_np, "target": 1.0},
    ]


def bench_sparsegpt_vs_obc():
    """SparseGPT vs OBC on the same 300×785 layer at 50 %."""
    from sparserec import solvers

    with _single_blas():
        p = _fc1_problem()
        solvers.get("obc").solve(p)  # warm-up

        def sgpt():
            solvers.get("sparsegpt").solve(p.with_weights(p.W.copy()))

        def obc():
            solvers.get("obc").solve(p.with_weights(p.W.copy()))

        t_s, t_o = _interleaved([sgpt, obc], 5)
    return [{"name": "sparsegpt vs obc: 300x785 layer, 50%", "ours_s": t_s, "ref_s": t_o,
             "ratio": t_s / t_o, "target": 0.25}]


def bench_nettrim_admm_vs_cvxpy(eps=0.05, n_samples=1000, repeats=3):
    """Net-Trim ADMM vs cvxpy on one 100-unit ReLU layer at equal objective (1e-3)."""
    from sparserec.pruning import LayerProblem, lenet300100
    from sparserec.solvers import _nettrim as nt

    with _single_blas():
        net, data = lenet300100()
        X = net.inputs(data[0][:n_samples])[1]
        p = LayerProblem(X, net.weights[1], None, bias=net.biases[1], activation="relu",
                         fold_bias=True)
        d = nt.nettrim_data(p, eps)
        Uc, _ = nt.solve_cvxpy(d)  # builds the program once (excluded) and gives the optimum
        f_ref = np.abs(Uc).sum()
        Ua, _ = nt.admm(d, tol=1e-4, max_iter=20000)
        gap = abs(np.abs(Ua).sum() - f_ref) / f_ref
        t_a, t_c = _interleaved([lambda: nt.admm(d, tol=1e-4, max_iter=20000),
                                 lambda: nt.solve_cvxpy(d)], repeats)
    return [{"name": f"nettrim ADMM vs cvxpy (Clarabel): 1000x301 -> 100 ReLU, eps={eps}, "
                     f"objective gap {gap:.1e}", "ours_s": t_a, "ref_s": t_c, "ratio": t_a / t_c,
             "target": 0.1}]


BENCHMARKS = [bench_obc_layer, bench_sparsegpt_vs_obc, bench_nettrim_admm_vs_cvxpy]


if __name__ == "__main__":
    for fn in BENCHMARKS:
        for row in fn():
            print(f"{row['name']:<95s} ours {row['ours_s']:9.3f}s  ref {row['ref_s']:9.3f}s  "
                  f"ratio {row['ratio']:.3g} (target <= {row['target']})", flush=True)
