r"""The arithmetic of a ReLU multilayer perceptron with a softmax cross-entropy loss.

Plain functions on lists of arrays, in any floating dtype, shared by the
network-loss problem (:mod:`.network`) and by the training and evaluation code
of :mod:`sparserec.pruning.network` (which sits above the solvers and reuses
them, so that there is one backpropagation in the package).

Conventions: ``weights[l]`` has shape ``(d_l, d_{l+1})`` (inputs × outputs),
``h_0 = x``, ``z_l = h_l W_l + b_l``, ``h_{l+1} = ReLU(z_l)`` for hidden layers,
and the last layer is linear (the logits ``z_{L−1}``). The loss of a batch is
the mean softmax cross-entropy

.. math::  f = \frac1N\sum_n \Big(\log\sum_c e^{z_{nc}} - z_{n y_n}\Big),\qquad
           \frac{\partial f}{\partial z_n} = \frac1N (p_n - e_{y_n}).

Backpropagation of any block of output-space rows ``G`` (``R × C``, row ``r``
belonging to sample ``s(r)``) gives the per-layer deltas ``δ_l`` (``R × d_{l+1}``),
and the gradient of the rows with respect to ``W_l`` is the outer product
``h_{l, s(r)} ⊗ δ_{l, r}``: per-sample gradients and Gauss–Newton rows are
this Kronecker product (see :class:`~.network.KroneckerRows`).
"""
from __future__ import annotations

import numpy as np

__all__ = ["forward", "layer_forward", "softmax_xent", "softmax", "backward", "deltas",
           "hvp", "gauss_newton_vp"]


def layer_forward(H, W, b, relu):
    """Compute one layer's output ``act(H W + b)``.

    Parameters
    ----------
    H : ndarray of shape (N, d_in)
        Inputs of the layer.
    W : ndarray of shape (d_in, d_out)
        Weights.
    b : ndarray of shape (d_out,)
        Bias.
    relu : bool
        ReLU activation (hidden layers) or none (the last layer).

    Returns
    -------
    ndarray of shape (N, d_out)
        The output.
    """
    Z = H @ W + b
    return np.maximum(Z, 0.0) if relu else Z


def forward(weights, biases, X):
    """Run the network forward and keep the input of every layer.

    Parameters
    ----------
    weights : list of ndarray
        ``weights[l]`` of shape (d_l, d_{l+1}).
    biases : list of ndarray
        ``biases[l]`` of shape (d_{l+1},).
    X : ndarray of shape (N, d_0)
        Network inputs (its dtype is kept).

    Returns
    -------
    list of ndarray
        ``L + 1`` arrays: the input of every layer (entry 0 is ``X``) and, last,
        the logits of shape (N, C).
    """
    acts = [X]
    L = len(weights)
    for l in range(L):
        acts.append(layer_forward(acts[-1], weights[l], biases[l], l < L - 1))
    return acts


def softmax(logits):
    """Compute the softmax of every row (shifted by the row maximum, no overflow).

    Parameters
    ----------
    logits : ndarray of shape (N, C)
        Logits.

    Returns
    -------
    ndarray of shape (N, C)
        Probabilities (rows sum to 1).
    """
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_xent(logits, y):
    r"""Compute the mean softmax cross-entropy and its gradient with respect to the logits.

    Parameters
    ----------
    logits : ndarray of shape (N, C)
        Logits.
    y : ndarray of int of shape (N,)
        Labels in ``0 .. C − 1``.

    Returns
    -------
    loss : float
        :math:`\frac1N\sum_n -\log p_{n y_n}` (computed as a log-sum-exp).
    G : ndarray of shape (N, C)
        :math:`(p - e_y)/N`, same dtype as ``logits``.
    """
    N = y.size
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    s = e.sum(axis=1, keepdims=True)
    p = e / s
    rows = np.arange(N)
    loss = float(np.mean(np.log(s[:, 0]) - z[rows, y]))
    p[rows, y] -= 1.0
    return loss, p / N


def backward(weights, acts, G, *, biases=True):
    """Backpropagate ``G = ∂f/∂logits`` and return the weight (and bias) gradients.

    Parameters
    ----------
    weights : list of ndarray
        The weights.
    acts : list of ndarray
        :func:`forward`'s output (layer inputs; the logits are not used).
    G : ndarray of shape (N, C)
        Gradient of the loss with respect to the logits.
    biases : bool, default=True
        Also return the bias gradients.

    Returns
    -------
    gW : list of ndarray
        ``∂f/∂W_l`` (shapes of the weights).
    gb : list of ndarray or None
        ``∂f/∂b_l`` (None when ``biases=False``).
    """
    L = len(weights)
    gW = [None] * L
    gb = [None] * L if biases else None
    for l in range(L - 1, -1, -1):
        gW[l] = acts[l].T @ G
        if biases:
            gb[l] = G.sum(axis=0)
        if l:
            G = (G @ weights[l].T) * (acts[l] > 0)
    return gW, gb


def deltas(weights, acts, G, sample=None):
    r"""Backpropagate rows of output-space vectors to every layer's pre-activation.

    Parameters
    ----------
    weights : list of ndarray
        The weights.
    acts : list of ndarray
        :func:`forward`'s output for the ``N`` samples.
    G : ndarray of shape (R, C)
        Output-space rows; row ``r`` belongs to sample ``sample[r]``.
    sample : ndarray of int of shape (R,), optional
        Sample of every row (default: row ``r`` is sample ``r``, ``R = N``).

    Returns
    -------
    list of ndarray
        ``δ_l`` of shape (R, d_{l+1}) for every layer: :math:`\delta_{L-1} = G`,
        :math:`\delta_{l-1} = (\delta_l W_l^\top)\odot 1[h_{l, s(r)} > 0]`. The
        gradient of row ``r`` with respect to ``W_l`` is :math:`h_{l,s(r)}\,\delta_{l,r}^\top`.
    """
    L = len(weights)
    out = [None] * L
    out[L - 1] = G
    for l in range(L - 1, 0, -1):
        mask = acts[l] > 0
        if sample is not None:
            mask = mask[sample]
        G = (G @ weights[l].T) * mask
        out[l - 1] = G
    return out


def _r_forward(weights, acts, V):
    """Directional derivatives ``Rz_l`` of every pre-activation along ``V`` (R-operator)."""
    L = len(weights)
    Rh = np.zeros_like(acts[0])
    Rz = []
    for l in range(L):
        z = Rh @ weights[l] + acts[l] @ V[l]
        Rz.append(z)
        if l < L - 1:
            Rh = z * (acts[l + 1] > 0)
    return Rz


def _softmax_hvp(p, R):
    """Per sample ``(diag(p) − ppᵀ) r``: the softmax cross-entropy Hessian in logit space."""
    return p * R - p * np.sum(p * R, axis=1, keepdims=True)


def hvp(weights, biases, X, y, V):
    r"""Exact product of the loss Hessian (with respect to the weights) with ``V``.

    Pearlmutter's R-operator: a forward pass of directional derivatives, then the
    backward pass differentiated along ``V``. ReLU's second derivative vanishes
    almost everywhere, so the result is the exact Hessian wherever no
    pre-activation is exactly 0.

    Parameters
    ----------
    weights : list of ndarray
        The weights.
    biases : list of ndarray
        The biases (held fixed).
    X : ndarray of shape (N, d_0)
        Inputs.
    y : ndarray of int of shape (N,)
        Labels.
    V : list of ndarray
        Direction, shapes of the weights.

    Returns
    -------
    list of ndarray
        :math:`\nabla^2 f\,V`, shapes of the weights.

    Notes
    -----
    With :math:`R\cdot` the derivative along ``V``:
    :math:`Rz_l = Rh_l W_l + h_l V_l`, :math:`Rh_{l+1} = Rz_l\odot m_l`;
    :math:`R\delta_{L-1} = \frac1N(\mathrm{diag}(p) - pp^\top)Rz_{L-1}`,
    :math:`R(\partial f/\partial W_l) = Rh_l^\top\delta_l + h_l^\top R\delta_l`,
    :math:`R\delta_{l-1} = (R\delta_l W_l^\top + \delta_l V_l^\top)\odot m_{l-1}`.
    """
    acts = forward(weights, biases, X)
    L = len(weights)
    N = y.size
    p = softmax(acts[-1])
    G = p.copy()
    G[np.arange(N), y] -= 1.0
    G /= N
    Rz = _r_forward(weights, acts, V)
    RG = _softmax_hvp(p, Rz[-1]) / N
    out = [None] * L
    for l in range(L - 1, -1, -1):
        Rh = Rz[l - 1] * (acts[l] > 0) if l else np.zeros_like(acts[0])
        out[l] = Rh.T @ G + acts[l].T @ RG
        if l:
            mask = acts[l] > 0
            RG, G = (RG @ weights[l].T + G @ V[l].T) * mask, (G @ weights[l].T) * mask
    return out


def gauss_newton_vp(weights, biases, X, V):
    r"""Product of the Gauss–Newton matrix of the mean cross-entropy with ``V``.

    Parameters
    ----------
    weights : list of ndarray
        The weights.
    biases : list of ndarray
        The biases (held fixed).
    X : ndarray of shape (N, d_0)
        Inputs (the labels do not enter the Gauss–Newton matrix).
    V : list of ndarray
        Direction, shapes of the weights.

    Returns
    -------
    list of ndarray
        :math:`\frac1N\sum_n J_n^\top(\mathrm{diag}(p_n) - p_np_n^\top)J_n V`,
        with :math:`J_n` the Jacobian of sample ``n``'s logits.
    """
    acts = forward(weights, biases, X)
    p = softmax(acts[-1])
    Jv = _r_forward(weights, acts, V)[-1]
    return backward(weights, acts, _softmax_hvp(p, Jv) / X.shape[0], biases=False)[0]
