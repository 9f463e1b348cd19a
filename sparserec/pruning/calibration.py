"""Calibration inputs and whole-network pruning with any registered pruner.

A network is pruned layer by layer. Each layer becomes a
:class:`~sparserec.problems.LayerProblem` whose calibration inputs come from

* the dense network (``mode="parallel"``: L-OBS, OBC, Net-Trim's parallel
  version), or
* the network pruned so far (``mode="sequential"``: SparseGPT, Net-Trim's
  cascade). The layer problem then also carries the dense network's outputs
  as its ``target`` (only Net-Trim uses them: its ``cascade="auto"`` switches
  to the cascade program when a target is given).

Any solver that accepts a LayerProblem prunes it (``magnitude``, ``obd``,
``obs``, ``woodfisher``, ``lobs``, ``obc``, ``sparsegpt``, ``nettrim``,
``iobs``, ...): nothing here depends on which one.
"""
from __future__ import annotations

import numpy as np

from .. import solvers as _solvers
from .._validation import check_choice, check_int
from ..problems import LayerProblem
from .network import MLP

__all__ = ["layer_inputs", "prune_network"]


def layer_inputs(net, X):
    """Dense calibration inputs of every layer (the parallel mode).

    Parameters
    ----------
    net : MLP
        The dense network.
    X : ndarray of shape (n_samples, d_0)
        Calibration inputs.

    Returns
    -------
    list of ndarray
        The input of each layer (:meth:`MLP.inputs`).
    """
    return net.inputs(X)


def prune_network(net, X_calib, solver, sparsities, *, mode="parallel", fold_bias=False,
                  allocation="global", max_samples=None, problem_cache=None):
    r"""Prune every layer of ``net`` with one registered solver.

    Parameters
    ----------
    net : MLP
        The dense network.
    X_calib : ndarray of shape (n_samples, d_0)
        Calibration images.
    solver : Solver or str
        A solver that accepts a LayerProblem (``sparserec.solvers.get("obc")``
        or its name); its own ``damping`` and curvature are used.
    sparsities : sequence of (float, "N:M" or None), one per layer
        Fraction pruned per layer (None for Net-Trim's ε-driven sparsity).
    mode : {"parallel", "sequential"}
        Calibration inputs from the dense network, or from the network pruned
        so far (see the module docstring).
    fold_bias : bool, default=False
        Passed to :class:`~sparserec.problems.LayerProblem`.
    allocation : {"global", "uniform"}, default="global"
        Passed to :class:`~sparserec.problems.LayerProblem`.
    max_samples : int, optional
        Use only the first ``max_samples`` calibration images.
    problem_cache : dict, optional
        Reuse the layer problems of the parallel mode across calls (same
        network and calibration set): their Gram matrices and OBC's traces
        are then computed once per layer for a whole sweep.

    Returns
    -------
    pruned : MLP
        The pruned network.
    records : list of dict, one per layer
        ``layer``, ``rel_error`` (``‖X(W − Ŵ)‖_F/‖XW‖_F`` on that layer's
        calibration inputs), ``density`` (nonzero fraction of the weight
        matrix, bias excluded), ``time`` (solve seconds) and ``result``.
    """
    check_choice(mode, "mode", "prune_network", ("parallel", "sequential"))
    if isinstance(solver, str):
        solver = _solvers.get(solver)
    if not isinstance(net, MLP):
        raise TypeError(f"The 'net' argument of prune_network must be an MLP; got "
                        f"{type(net).__name__}.")
    if len(sparsities) != net.n_layers:
        raise ValueError(f"The 'sparsities' argument of prune_network must have one entry per "
                         f"layer ({net.n_layers}); got {len(sparsities)}.")
    X = np.asarray(X_calib, dtype=np.float64)
    if max_samples is not None:
        X = X[:check_int(max_samples, "max_samples", "prune_network", low=1)]
    dense_in = net.inputs(X)
    pruned = net.copy()
    records = []
    H = X
    for l in range(net.n_layers):
        W, b = net.weights[l], net.biases[l]
        key = (l, fold_bias, allocation, X.shape[0])
        if mode == "parallel" and problem_cache is not None and key in problem_cache:
            prob = problem_cache[key].with_sparsity(sparsities[l])
        elif mode == "parallel":
            prob = LayerProblem(dense_in[l], W, sparsities[l], bias=b,
                                activation=net.activation(l), fold_bias=fold_bias,
                                allocation=allocation)
            if problem_cache is not None:
                problem_cache[key] = prob
        else:  # pruned inputs; the dense outputs are the target (Net-Trim's cascade)
            target = net.layer_forward(l, dense_in[l]) if l > 0 else None
            prob = LayerProblem(H, W, sparsities[l], bias=b, activation=net.activation(l),
                                fold_bias=fold_bias, allocation=allocation, target=target)
        res = solver.solve(prob)
        Wl, bl = prob.split(res.x)
        pruned.weights[l] = np.asarray(Wl, dtype=np.float64).copy()
        pruned.biases[l] = np.asarray(bl, dtype=np.float64).copy()
        records.append({"layer": l, "rel_error": prob.relative_error(res.x),
                        "density": float(np.count_nonzero(Wl)) / Wl.size,
                        "time": res.solve_time, "result": res})
        if mode == "sequential":
            H = pruned.layer_forward(l, H)
    return pruned, records
