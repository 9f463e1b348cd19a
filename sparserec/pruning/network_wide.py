"""Network-wide pruning against the loss: one global budget, per-layer levels reported.

:func:`prune_global` builds a :class:`~sparserec.problems.NetworkLossProblem`
(the network's mean cross-entropy on labelled calibration data, every weight
of every layer in one vector) and prunes it with any solver that accepts an
:class:`~sparserec.problems.ObjectiveProblem` (``magnitude``, ``obd``,
``ebd``, ``obs`` with ``selection="saliency"``, ``woodfisher``,
``woodtaylor``, ...). The budget is one fraction of **all** weights; the
solver's saliencies, compared across layers, decide how many each layer
keeps, and the records report those levels.

The solver's curvature is fitted once at the dense point and reused for
every sparsity of the sweep (the expensive part: the per-layer Fisher or
Gauss–Newton factorisations), which gives the same result as fitting it
again for each sparsity.
"""
from __future__ import annotations

import time

import numpy as np

from .. import solvers as _solvers
from .._validation import check_int
from ..problems import NetworkLoss, NetworkLossProblem
from ..solvers import OneShotPruner
from .network import MLP

__all__ = ["network_problem", "prune_global"]


def network_problem(net, X, y, sparsity=0.5, *, max_samples=None):
    """The network-loss problem of ``net`` on labelled calibration data.

    Parameters
    ----------
    net : MLP
        The dense network.
    X : ndarray of shape (n_samples, d_0)
        Calibration inputs.
    y : ndarray of int of shape (n_samples,)
        Their labels.
    sparsity : float in [0, 1), default=0.5
        Fraction of all weights pruned.
    max_samples : int, optional
        Use only the first ``max_samples`` calibration samples.

    Returns
    -------
    NetworkLossProblem
        The problem (its dense point is ``net``'s weights; biases are fixed).
    """
    if not isinstance(net, MLP):
        raise TypeError(f"The 'net' argument of network_problem must be an MLP; got "
                        f"{type(net).__name__}.")
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if max_samples is not None:
        m = check_int(max_samples, "max_samples", "network_problem", low=1)
        X, y = X[:m], y[:m]
    return NetworkLossProblem(NetworkLoss(net.weights, net.biases, X, y), sparsity)


def prune_global(net, X_calib, y_calib, solver, sparsities, *, max_samples=None):
    """Prune the whole network to each network-wide sparsity with one solver.

    Parameters
    ----------
    net : MLP
        The dense network.
    X_calib : ndarray of shape (n_samples, d_0)
        Calibration inputs.
    y_calib : ndarray of int of shape (n_samples,)
        Their labels.
    solver : Solver or str
        A solver that accepts an ObjectiveProblem (its own ``curvature`` and
        ``damping`` are used; OBS needs ``selection="saliency"`` at network size).
    sparsities : sequence of float
        Fractions of all weights pruned.
    max_samples : int, optional
        Use only the first ``max_samples`` calibration samples.

    Returns
    -------
    pruned : list of MLP
        The pruned network of every sparsity (biases unchanged).
    records : list of dict
        Per sparsity: ``sparsity``, ``layer_densities`` (the levels the global
        budget chose, one per layer), ``density`` (overall), ``loss`` (the
        calibration loss after pruning), ``time`` (the solve, plus the one
        curvature fit for the first sparsity) and ``result``.
    """
    if isinstance(solver, str):
        solver = _solvers.get(solver)
    base = network_problem(net, X_calib, y_calib, 0.0, max_samples=max_samples)
    first = base.with_sparsity(sparsities[0]) if len(sparsities) else base
    X0 = first.default_start()
    t0 = time.perf_counter()
    shared = solver
    if isinstance(solver, OneShotPruner) and solver.uses_curvature:
        solver._validate_params(first)
        curv = solver.make_curvature(first, X0)   # fitted once, reused for every sparsity
        shared = type(solver)(**{**solver.get_params(), "curvature": curv, "damping": None})
    fit_time = time.perf_counter() - t0
    pruned, records = [], []
    for i, s in enumerate(sparsities):
        prob = base.with_sparsity(s)
        res = shared.solve(prob)
        W = prob.split(res.x)
        pruned.append(MLP(W, net.biases))
        dens = prob.layer_densities(res.x)
        records.append({"sparsity": float(s), "layer_densities": dens,
                        "density": float(np.count_nonzero(res.x)) / prob.n,
                        "loss": float(prob.objective.value(np.ravel(res.x))),
                        "time": res.solve_time + (fit_time if i == 0 else 0.0),
                        "result": res})
    return pruned, records
