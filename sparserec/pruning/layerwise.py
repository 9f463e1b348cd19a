r"""Layer glue for the I-OBS core's one-shot pruners, and the iterated (I-OBS) mode.

The I-OBS core (:mod:`sparserec.solvers.obs_pruners`) implements OBD, OBS
and WoodFisher as array functions on rows sharing one curvature
(:func:`~sparserec.solvers.obs_pruners.obd_prune`,
:func:`~sparserec.solvers.obs_pruners.obs_prune`,
:func:`~sparserec.solvers.obs_pruners.woodfisher_prune`). A
:class:`~sparserec.pruning.LayerProblem` is exactly such a set of rows (the
outputs, ``W`` transposed) with ``Ĥ = X̃ᵀX̃`` (damped), so the functions
here only translate: curvature from the layer, per-output counts from the
problem's sparsity spec, and a :class:`~sparserec.solvers.Result` back.
:func:`solve_layer` is the single entry point the registered ``obd``,
``obs`` and ``woodfisher`` solvers need to accept a LayerProblem.

:func:`iterate` is the iterated mode: starting from a one-shot pruning,
repeat ``t`` times

.. math:: Z = \hat W - \eta\,\hat H^{-1} H(\hat W - W),\qquad
          \hat W \leftarrow \operatorname{prune}(Z),

i.e. a Newton step on the layer loss ``½‖X(Ŵ − W)‖²`` followed by a
re-pruning of the target with any layer pruner (its own Ĥ-norm
projection), so the mask may change between rounds.

References
----------
.. [1] D. Wu, I.-V. Modoranu, M. Safaryan, D. Kuznedelev, D. Alistarh, "The
   Iterative Optimal Brain Surgeon: faster sparse recovery by leveraging
   second-order information", NeurIPS 2024.
.. [2] S. P. Singh, D. Alistarh, "WoodFisher: efficient second-order
   approximation for neural network compression", NeurIPS 2020.
.. [3] Y. LeCun, J. S. Denker, S. A. Solla, "Optimal Brain Damage", NeurIPS 1989.
"""
from __future__ import annotations

import numpy as np

from .._validation import check_int, check_real
from .layer import LayerProblem

__all__ = ["per_output_keep", "obd_layer", "obs_layer", "woodfisher_layer", "solve_layer",
           "iterate", "iterate_network", "GLUE"]


def per_output_keep(problem, scores):
    """Kept count per output (shape (T,)) from scores (n, T) under the problem's spec.

    Global allocation ranks all scores of the layer (lowest pruned, ties keep
    the lower index) and counts per output; uniform gives every output
    ``n − ⌊s·n + ½⌋``.

    Parameters
    ----------
    problem : LayerProblem
        A problem with a fractional sparsity (N:M and None are refused).
    scores : ndarray of shape (n, T)
        Importance of each weight (lowest pruned first).

    Returns
    -------
    ndarray of int of shape (T,)
        Weights kept in each output.
    """
    from ..solvers.pruners import mask_from_scores

    if problem.kind == "nm":
        raise ValueError("The OBD/OBS/WoodFisher layer glue supports fractional sparsity "
                         f"only; got the N:M pattern {problem.sparsity!r} (use 'obc' or "
                         "'sparsegpt').")
    if problem.kind is None:
        raise ValueError("The OBD/OBS/WoodFisher layer glue needs a sparsity target; got "
                         "sparsity=None.")
    return problem.n - mask_from_scores(problem, scores).sum(axis=0)


def _by_k(fn, Wt, k):
    """Apply a row function with scalar ``k`` to groups of rows sharing the same k."""
    out = np.empty_like(Wt)
    for kv in np.unique(k):
        rows = np.flatnonzero(k == kv)
        out[rows] = fn(Wt[rows], int(kv))
    return out


def obd_layer(problem):
    r"""OBD on a layer: keep the top of :math:`\hat H_{qq} w_{qj}^2/2`, no compensation.

    Calls :func:`sparserec.solvers.obs_pruners.obd_prune` with ``diag(Ĥ)``.

    Parameters
    ----------
    problem : LayerProblem
        A problem with a fractional sparsity.

    Returns
    -------
    ndarray of shape (n, T)
        The pruned weights ``Ŵ``.
    """
    from ..solvers.obs_pruners import obd_prune

    W = problem.W_live
    d = np.diag(problem.damped())
    k = per_output_keep(problem, d[:, None] * W * W)
    return _by_k(lambda R, kk: obd_prune(R, d, kk), np.ascontiguousarray(W.T), k).T.copy()


def obs_layer(problem):
    r"""OBS on a layer: greedy removal with exact downdates per output (= OBC's rows).

    Calls :func:`sparserec.solvers.obs_pruners.obs_prune` (the greedy kernel)
    with ``Ĥ⁻¹``; per-output counts come from the one-shot saliency
    :math:`w^2/[\hat H^{-1}]_{qq}` under global allocation (OBC's trace-based
    allocation is the ``obc`` pruner).

    Parameters
    ----------
    problem : LayerProblem
        A problem with a fractional sparsity.

    Returns
    -------
    ndarray of shape (n, T)
        The pruned weights ``Ŵ``.
    """
    from ..solvers.obs_pruners import obs_prune

    W = problem.W_live
    Hinv = problem.inverse()
    k = per_output_keep(problem, W * W / np.diag(Hinv)[:, None])
    return obs_prune(np.ascontiguousarray(W.T), Hinv, k.astype(np.int64)).T.copy()


def woodfisher_layer(problem, *, update="sum", block_size=None, percdamp=None):
    r"""WoodFisher on a layer: Woodbury inverse Fisher, saliency, summed OBS updates.

    The Fisher of the layer's Gaussian output model is built from the input
    rows :math:`\tilde x_p` (the per-output Jacobians of a linear layer):
    :math:`\hat F = \lambda I + \frac1N\sum_p \tilde x_p\tilde x_p^\top` by the
    Woodbury recursion (:class:`sparserec.curvature.WoodFisher`), with
    relative damping ``percdamp`` (default: the problem's). Pruning calls
    :func:`sparserec.solvers.obs_pruners.woodfisher_prune` (saliency
    :math:`w^2/[\hat F^{-1}]_{qq}`, summed single-weight updates by default).
    Needs the inputs (not a Gram-form problem).

    Parameters
    ----------
    problem : LayerProblem
        A problem with inputs ``X`` and a fractional sparsity.
    update : str, default="sum"
        Update rule passed to
        :func:`~sparserec.solvers.obs_pruners.woodfisher_prune`.
    block_size : int or None, default=None
        Block size of the block-diagonal Fisher (None: one block).
    percdamp : float or None, default=None
        Relative damping of the Fisher (None: the problem's ``percdamp``).

    Returns
    -------
    ndarray of shape (n, T)
        The pruned weights ``Ŵ``.
    """
    from ..curvature import WoodFisher
    from ..solvers.obs_pruners import woodfisher_prune

    if problem.X is None:
        raise ValueError(f"WoodFisher on a layer needs the inputs X (per-sample gradients); "
                         f"{problem!r} was built from a Gram matrix.")
    pd = problem.percdamp if percdamp is None else percdamp
    key = ("woodfisher_inv", pd, block_size)
    if key not in problem._cache:  # depends on the inputs only (shared across sparsities)
        problem._cache[key] = WoodFisher(problem.Xb, percdamp=pd, block_size=block_size).inverse()
    Finv = problem._cache[key]
    W = problem.W_live
    k = per_output_keep(problem, W * W / np.diag(Finv)[:, None])
    return _by_k(lambda R, kk: woodfisher_prune(R, Finv, kk, update=update),
                 np.ascontiguousarray(W.T), k).T.copy()


def _glue_obd(solver, problem):
    return obd_layer(problem)


def _glue_obs(solver, problem):
    return obs_layer(problem)


def _glue_woodfisher(solver, problem):
    return woodfisher_layer(problem, update=getattr(solver, "update", "sum"),
                            block_size=getattr(solver, "block_size", None),
                            percdamp=getattr(solver, "damping", None))


#: Registry name → glue function ``fn(solver, problem) -> Ŵ``.
GLUE = {"obd": _glue_obd, "obs": _glue_obs, "woodfisher": _glue_woodfisher}


def solve_layer(solver, problem):
    """Run the I-OBS core's ``obd``/``obs``/``woodfisher`` solver on a LayerProblem.

    Parameters
    ----------
    solver : Solver
        An instance of the registered ``obd``, ``obs`` or ``woodfisher``.
    problem : LayerProblem
        A problem with a fractional sparsity.

    Returns
    -------
    Result
        As from the layer pruners: ``x`` is ``Ŵ`` (n, T), ``support`` its mask.
    """
    from ..solvers.pruners import LayerPruner

    if solver.name not in GLUE:
        raise ValueError(f"solve_layer handles {', '.join(sorted(GLUE))}; got {solver.name!r}.")
    fn = GLUE[solver.name]

    class _Glue(LayerPruner):
        name = solver.name
        sparsity_kinds = ("fraction",)

        def get_params(self):
            return solver.get_params()

        def _prune(self, prob, W):
            return fn(solver, prob)

    return _Glue().solve(problem)


# ------------------------------------------------------------------ iterated mode
def iterate(problem, solver, *, rounds=3, step=1.0):
    r"""Iterated pruning: Newton step on the layer loss, then re-prune, ``rounds`` times.

    Parameters
    ----------
    problem : LayerProblem
        The layer (round 1 prunes its ``W``).
    solver : Solver
        Any layer pruner (``magnitude``, ``lobs``, ``obc``, ``sparsegpt``...).
    rounds : int, default=3
        Round 1 is the one-shot pruning of ``W``.
    step : float, default=1.0
        Newton step ``η``.

    Returns
    -------
    W_hat : ndarray of shape (n, T)
        The last round's weights.
    history : list of dict
        Per round: ``round``, ``rel_error`` (on the original problem),
        ``loss``, ``mask_changes`` (entries whose pruned/kept state changed)
        and ``W`` (the weights).

    Notes
    -----
    With the exact ``H`` and ``η = 1`` the target is ``W`` up to damping
    (one I-OBS step from any point solves a quadratic), so ``η < 1`` is what
    makes later rounds differ.
    """
    rounds = check_int(rounds, "rounds", "iterate", low=1)
    step = check_real(step, "step", "iterate", low=0.0, low_open=True)
    if not isinstance(problem, LayerProblem):
        raise TypeError(f"iterate expects a LayerProblem; got {type(problem).__name__}.")
    res = solver.solve(problem)
    W_hat = res.x
    history = [{"round": 1, "rel_error": problem.relative_error(W_hat),
                "loss": float(problem.loss(W_hat).sum()), "mask_changes": 0, "W": W_hat}]
    L = problem.cholesky()
    import scipy.linalg as sla
    for t in range(2, rounds + 1):
        G = problem.H @ (W_hat - problem.W)
        Z = W_hat - step * sla.cho_solve((L, True), G, check_finite=False)
        res = solver.solve(problem.with_weights(Z))
        changes = int(np.count_nonzero((res.x != 0) != (W_hat != 0)))
        W_hat = res.x
        history.append({"round": t, "rel_error": problem.relative_error(W_hat),
                        "loss": float(problem.loss(W_hat).sum()), "mask_changes": changes,
                        "W": W_hat})
    return W_hat, history


def iterate_network(net, X_calib, solver, sparsities, *, rounds=3, step=1.0, fold_bias=False,
                    allocation="global", percdamp=0.01, max_samples=None):
    """Iterated pruning of every layer (dense calibration inputs, the parallel mode).

    Parameters
    ----------
    net : MLP
        The dense network.
    X_calib : ndarray of shape (n_samples, d_0)
        Calibration inputs.
    solver : Solver
        Any layer pruner (see :func:`iterate`).
    sparsities : sequence
        One sparsity spec per layer.
    rounds : int, default=3
        Rounds per layer, as in :func:`iterate`.
    step : float, default=1.0
        Newton step ``η``, as in :func:`iterate`.
    fold_bias : bool, default=False
        As in :class:`~sparserec.pruning.LayerProblem`.
    allocation : {"global", "uniform"}, default="global"
        As in :class:`~sparserec.pruning.LayerProblem`.
    percdamp : float, default=0.01
        As in :class:`~sparserec.pruning.LayerProblem`.
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
    from .network import MLP

    X = np.asarray(X_calib, dtype=np.float64)
    if max_samples is not None:
        X = X[:max_samples]
    ins = net.inputs(X)
    per_layer = []
    records = []
    for l in range(net.n_layers):
        prob = LayerProblem(ins[l], net.weights[l], sparsities[l], bias=net.biases[l],
                            activation=net.activation(l), fold_bias=fold_bias,
                            allocation=allocation, percdamp=percdamp)
        _, hist = iterate(prob, solver, rounds=rounds, step=step)
        per_layer.append([prob.split(h["W"]) for h in hist])
        records += [{"round": h["round"], "layer": l, "rel_error": h["rel_error"],
                     "mask_changes": h["mask_changes"]} for h in hist]
    nets = [MLP([per_layer[l][t][0] for l in range(net.n_layers)],
                [per_layer[l][t][1] for l in range(net.n_layers)]) for t in range(rounds)]
    return nets, records
