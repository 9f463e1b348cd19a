"""Masks against NumPy ports of the IST-DASLab reference code, on layers with dead inputs.

The ports below follow ``TrueOBS.add_batch/prepare/prepare_sparse/prepare_unstr/
prune_blocked`` (OBC) and ``SparseGPT.add_batch/fasterprune`` (SparseGPT) step by
step, in the reference's layout (rows = outputs), with NumPy instead of torch.
They are written for these tests (no reference code is vendored). What they
pin is the curvature convention: ``H = 2XXᵀ/N``, dead inputs (``H_jj = 0``)
set to 1 and their weights zeroed, and SparseGPT's relative damping computed
*after* that fix. A convention that scales ``H`` differently (sparserec used
``XᵀX`` before) changes ``λ`` relative to the fixed diagonal and flips masks.

Counting conventions differ on purpose (sparserec prunes exact counts; the
references prune ``⌊p·numel⌋ + 1`` plus ties per SparseGPT block, and
``⌈p·numel⌉`` over an OBC layer), so each port is called with the fraction
that gives the same count.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sla

from sparserec import solvers
from sparserec.problems import LayerProblem


def _layer(seed, N=150, d_in=32, d_out=12, dead=(3, 17, 30)):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, d_in)) * rng.uniform(0.2, 3.0, d_in)
    X[:, list(dead)] = 0.0                       # inputs that never fire
    W = rng.standard_normal((d_in, d_out))
    return X, W


def _ref_hessian(X):
    """``add_batch`` of both references over one batch: ``2/N · XᵀX`` (inputs × inputs)."""
    return 2.0 / X.shape[0] * (X.T @ X)


def _ref_fasterprune(W_pt, H, sparsity, blocksize, percdamp):
    """NumPy port of ``SparseGPT.fasterprune`` (unstructured, no quantizer)."""
    W = W_pt.astype(np.float64).copy()
    H = H.copy()
    rows, cols = W.shape
    dead = np.diag(H) == 0
    H[dead, dead] = 1.0
    W[:, dead] = 0.0
    H[np.diag_indices(cols)] += percdamp * np.mean(np.diag(H))
    Hinv = sla.cholesky(np.linalg.inv(H), lower=False)
    for i1 in range(0, cols, blocksize):
        i2 = min(i1 + blocksize, cols)
        W1 = W[:, i1:i2].copy()
        Q1 = np.zeros_like(W1)
        Err1 = np.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        tmp = W1 ** 2 / np.diag(Hinv1)[None, :] ** 2
        thresh = np.sort(tmp.ravel())[int(tmp.size * sparsity)]
        mask1 = tmp <= thresh
        for i in range(i2 - i1):
            w = W1[:, i]
            d = Hinv1[i, i]
            q = np.where(mask1[:, i], 0.0, w)
            Q1[:, i] = q
            err1 = (w - q) / d
            W1[:, i:] -= np.outer(err1, Hinv1[i, i:])
            Err1[:, i] = err1
        W[:, i1:i2] = Q1
        W[:, i2:] -= Err1 @ Hinv[i1:i2, i2:]
    return W


def _ref_obc_unstructured(W_pt, H, sparsity):
    """NumPy port of ``TrueOBS.prepare``, ``prepare_sparse``, ``prepare_unstr`` and
    ``prune_blocked`` (``rel_damp = 0``, the reference default)."""
    W = W_pt.astype(np.float64).copy()
    H = H.copy()
    rows, cols = W.shape
    dead = np.diag(H) == 0
    H[dead, dead] = 1.0
    W[:, dead] = 0.0
    losses = np.zeros((rows, cols + 1))
    traces = []
    for i in range(rows):
        w = W[i].copy()
        zero = w == 0
        H1 = H.copy()                              # prepare_sparse: a row-specific inverse
        H1[zero, :] = 0.0
        H1[:, zero] = 0.0
        H1[zero, zero] = 1.0
        Hinv = np.linalg.inv(H1)
        mask = np.zeros(cols, dtype=bool)
        start = int(zero.sum()) + 1
        mask[np.flatnonzero(zero)[:start - 1]] = True
        trace = np.zeros((cols + 1, cols))
        trace[:start] = w
        for z in range(start, cols + 1):
            diag = np.diag(Hinv)
            with np.errstate(invalid="ignore", divide="ignore"):  # masked entries: 0/0
                scores = w ** 2 / diag
            scores[mask] = np.inf
            j = int(np.argmin(scores))
            losses[i, z] = scores[j]
            row = Hinv[j].copy()
            w -= row * (w[j] / diag[j])
            mask[j] = True
            w[mask] = 0.0
            trace[z] = w
            if z == cols:
                break
            row /= np.sqrt(diag[j])
            Hinv -= np.outer(row, row)
        traces.append(trace)
    losses /= 2
    order = np.argsort(losses[:, 1:].ravel(), kind="stable")
    count = int(np.ceil(rows * cols * sparsity))
    out = np.zeros_like(W)
    for i in range(rows):
        perrow = int(np.sum(order[:count] // cols == i))
        out[i] = traces[i][perrow]
    return out


@pytest.mark.parametrize("seed", range(4))
def test_sparsegpt_masks_equal_the_reference_with_dead_inputs(seed):
    X, W = _layer(seed)
    T, B, s = W.shape[1], 8, 0.5                 # T·B·s = 48 entries per block, an integer
    p = LayerProblem(X, W, s)
    ours = solvers.get("sparsegpt", blocksize=B).solve(p).x
    # the reference prunes ⌊numel·s'⌋ + 1 per block: s' = s − ½/(T·B) gives the same count
    ref = _ref_fasterprune(W.T, _ref_hessian(X), s - 0.5 / (T * B), B, percdamp=0.01).T
    np.testing.assert_array_equal(ours == 0, ref == 0)
    # same arithmetic up to the order of operations (one Cholesky vs torch's), cond ~1e2
    np.testing.assert_allclose(ours, ref, atol=1e-9 * np.abs(W).max())


@pytest.mark.parametrize("seed", range(4))
def test_obc_masks_equal_the_reference_with_dead_inputs(seed):
    X, W = _layer(seed, d_in=20, d_out=6, dead=(2, 11))
    s = 0.5                                       # ⌈s·n·T⌉ = ⌊s·n·T + ½⌋ = 60
    p = LayerProblem(X, W, s)
    ours = solvers.get("obc", damping=None).solve(p).x
    ref = _ref_obc_unstructured(W.T, _ref_hessian(X), s).T
    np.testing.assert_array_equal(ours == 0, ref == 0)
    # downdates in a different order of operations; cond(H) ~ 1e2
    np.testing.assert_allclose(ours, ref, atol=1e-9 * np.abs(W).max())


def test_the_old_convention_flips_sparsegpt_masks():
    """The fix matters: H = XᵀX (unnormalised) with dead inputs → another λ, other masks.

    Pixel-like inputs (E[x²] ≈ 0.1, as MNIST's) and a quarter of the inputs dead: with
    ``2XXᵀ/N`` the dead diagonal 1s dominate mean(diag H) and so λ; with ``XᵀX`` they vanish.
    """
    rng = np.random.default_rng(7)
    X = rng.random((150, 32)) * 0.5
    X[:, :8] = 0.0
    W = rng.standard_normal((32, 12))
    T, B, s = W.shape[1], 8, 0.5
    ref = _ref_fasterprune(W.T, _ref_hessian(X), s - 0.5 / (T * B), B, percdamp=0.01).T
    old = _ref_fasterprune(W.T, X.T @ X, s - 0.5 / (T * B), B, percdamp=0.01).T
    assert np.any((ref == 0) != (old == 0))
    ours = solvers.get("sparsegpt", blocksize=B).solve(LayerProblem(X, W, s)).x
    np.testing.assert_array_equal(ours == 0, ref == 0)
