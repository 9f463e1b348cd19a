r"""The iterated (I-OBS) mode of a layer pruner.

Starting from the dense weights, repeat ``rounds`` times

.. math:: Z = \hat W - \eta\,\hat H^{-1} H(\hat W - W),\qquad
          \hat W \leftarrow \operatorname{prune}(Z),

i.e. a Newton step on the layer loss ``½ tr((Ŵ − W)ᵀH(Ŵ − W))`` followed by
a re-pruning of the target with the pruner's own projection (its selection
rule and correction, under its curvature), so the mask may change between
rounds. This is exactly the ``iobs`` solver with ``selection`` set to the
pruner's projection, run for ``rounds`` iterations of the one loop: round 1
(from the dense weights, where the gradient vanishes) is the one-shot
pruning.

References
----------
.. [1] D. Wu, I.-V. Modoranu, M. Safaryan, D. Kuznedelev, D. Alistarh, "The
   Iterative Optimal Brain Surgeon: faster sparse recovery by leveraging
   second-order information", NeurIPS 2024.
"""
from __future__ import annotations

import numpy as np

from .._validation import check_int, check_real
from ..curvature import DEFAULT_DAMPING, make_curvature
from ..problems import LayerProblem
from ..solvers import OneShotPruner
from ..solvers.iobs import IOBS
from .network import MLP

__all__ = ["iterate", "iterate_network"]


def iterate(problem, pruner, *, rounds=3, step=1.0, callback=None):
    r"""Iterated pruning of one layer: I-OBS with the pruner's projection.

    Parameters
    ----------
    problem : LayerProblem
        The layer (round 1 prunes its dense weights).
    pruner : OneShotPruner
        A one-shot pruner (``magnitude``, ``obd``, ``obs``, ``woodfisher``,
        ``lobs``, ``obc``, ``sparsegpt``); its projection and curvature are
        used (a curvature-free pruner gets the layer's exact Gram matrix,
        damped by 0.01).
    rounds : int, default=3
        Rounds (iterations of the loop); every round runs (``tol=0``).
    step : float, default=1.0
        Newton step ``η``.
    callback : callable, optional
        Passed to :meth:`~sparserec.solvers.Solver.solve` (called once per
        round with the current weights).

    Returns
    -------
    Result
        The last round's weights in ``x`` and, per round, the usual history
        (``objective`` = the layer loss per output, ``support_changes``) plus
        ``layer_error``, the relative layer error ``‖X̃(W − Ŵ)‖_F/‖X̃W‖_F``.

    Notes
    -----
    With the exact ``H`` and ``η = 1`` the target is the dense ``W`` up to
    damping (one Newton step from any point solves a quadratic), so
    ``η < 1`` is what makes later rounds differ.
    """
    rounds = check_int(rounds, "rounds", "iterate", low=1)
    step = check_real(step, "step", "iterate", low=0.0, low_open=True)
    if not isinstance(problem, LayerProblem):
        raise TypeError(f"iterate expects a LayerProblem; got {type(problem).__name__}.")
    if not isinstance(pruner, OneShotPruner):
        raise TypeError("The 'pruner' argument of iterate must be a one-shot pruner "
                        "(magnitude, obd, obs, woodfisher, lobs, obc, sparsegpt); got "
                        f"{type(pruner).__name__}.")
    pruner._validate_params(problem)
    curv = pruner.make_curvature(problem, problem.W_live)
    if curv is None:
        curv = make_curvature("exact", problem, DEFAULT_DAMPING, owner="iterate")
    solver = IOBS(curvature=curv, damping=None, selection=pruner.projection(), step=step,
                  max_iter=rounds, tol=0.0)
    res = solver.solve(problem, callback=callback)
    ref = float(problem._ref_sq().sum())
    loss = np.atleast_2d(res.history["objective"]).sum(axis=1)
    res.history["layer_error"] = np.sqrt(np.maximum(2.0 * loss, 0.0) / ref) if ref > 0 \
        else np.sqrt(np.maximum(2.0 * loss, 0.0))
    return res


def iterate_network(net, X_calib, pruner, sparsities, *, rounds=3, step=1.0, fold_bias=False,
                    allocation="global", max_samples=None):
    """Iterated pruning of every layer (dense calibration inputs, the parallel mode).

    Parameters
    ----------
    net : MLP
        The dense network.
    X_calib : ndarray of shape (n_samples, d_0)
        Calibration inputs.
    pruner : OneShotPruner
        See :func:`iterate`.
    sparsities : sequence
        One sparsity spec per layer.
    rounds : int, default=3
        Rounds per layer, as in :func:`iterate`.
    step : float, default=1.0
        Newton step ``η``, as in :func:`iterate`.
    fold_bias : bool, default=False
        As in :class:`~sparserec.problems.LayerProblem`.
    allocation : {"global", "uniform"}, default="global"
        As in :class:`~sparserec.problems.LayerProblem`.
    max_samples : int or None, default=None
        Use only the first ``max_samples`` calibration inputs.

    Returns
    -------
    nets : list of MLP
        The network after each round (every layer at that round).
    records : list of dict
        One per (round, layer): ``round``, ``layer``, ``rel_error``,
        ``mask_changes``.
    """
    X = np.asarray(X_calib, dtype=np.float64)
    if max_samples is not None:
        X = X[:check_int(max_samples, "max_samples", "iterate_network", low=1)]
    ins = net.inputs(X)
    per_layer, records = [], []
    for l in range(net.n_layers):
        prob = LayerProblem(ins[l], net.weights[l], sparsities[l], bias=net.biases[l],
                            activation=net.activation(l), fold_bias=fold_bias,
                            allocation=allocation)
        rounds_W = []
        res = iterate(prob, pruner, rounds=rounds, step=step,
                      callback=lambda info: rounds_W.append(info["x"]))
        per_layer.append([prob.split(W) for W in rounds_W])
        changes = np.atleast_2d(res.history["support_changes"]).sum(axis=1)
        records += [{"round": t + 1, "layer": l, "rel_error": float(res.history["layer_error"][t]),
                     "mask_changes": int(changes[t]) if t else 0} for t in range(rounds)]
    nets = [MLP([per_layer[l][t][0] for l in range(net.n_layers)],
                [per_layer[l][t][1] for l in range(net.n_layers)]) for t in range(rounds)]
    return nets, records
