"""Shared fixtures for the sparserec test suite.

Randomness: every helper takes an explicit seed and builds a local
``np.random.default_rng``; nothing touches global RNG state.
"""
from __future__ import annotations

import numpy as np
import pytest

try:  # hypothesis is a test extra; kernels' property tests need it
    from hypothesis import HealthCheck, settings

    # No deadline: the first example of a numba test pays the (cached) load/compile.
    settings.register_profile("sparserec", deadline=None, max_examples=150,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile("sparserec")
except ImportError:  # pragma: no cover
    pass

from sparserec import Problem
from sparserec.ensembles import gaussian, sparse_signal


def gaussian_problem(m, n, k, seed, *, n_signals=None, noise_std=0.0, k_true=None):
    """A seeded noiseless (or noisy) Gaussian recovery problem with known x.

    ``k_true`` (default ``k``) nonzeros are drawn; the solver is asked for ``k``.
    """
    rng = np.random.default_rng(seed)
    A = gaussian(m, n, rng=rng)
    x = sparse_signal(n, k if k_true is None else k_true, rng, n_signals=n_signals)
    y = A @ x
    if noise_std > 0:
        y = y + noise_std * rng.standard_normal(y.shape)
    return Problem(A, y, k, x_true=x, noise_std=noise_std)


@pytest.fixture
def make_gaussian_problem():
    """Factory fixture: ``make_gaussian_problem(m, n, k, seed, **kw)``."""
    return gaussian_problem


@pytest.fixture
def small_problem():
    """A small easy instance (m=40, n=80, k=4) used by contract tests."""
    return gaussian_problem(40, 80, 4, seed=1234)


# --------------------------------------------------------------- a tiny MLP and its oracles
def tiny_mlp(seed, sizes=(7, 5, 4, 3), n_samples=13):
    """A seeded ReLU MLP (weights, biases) with labelled inputs ``(X, y)``."""
    rng = np.random.default_rng(seed)
    W = [rng.standard_normal((a, b)) / np.sqrt(a) for a, b in zip(sizes[:-1], sizes[1:])]
    b = [0.3 * rng.standard_normal(d) for d in sizes[1:]]
    X = rng.standard_normal((n_samples, sizes[0]))
    y = rng.integers(0, sizes[-1], n_samples)
    return W, b, X, y


def logit_jacobians(W, b, X):
    """Jacobians ``J_n`` (C × n) of every sample's logits w.r.t. all weights, by forward mode.

    An oracle independent of backpropagation: the tangent of weight ``(i, j)`` of
    layer ``l`` starts as ``h_{l,i} e_j`` and is pushed forward through the ReLU
    masks and the later weights, one weight at a time.
    """
    L = len(W)
    n = sum(w.size for w in W)
    out = []
    for x in X:
        hs, zs = [x], []
        for l in range(L):
            z = hs[-1] @ W[l] + b[l]
            zs.append(z)
            hs.append(np.maximum(z, 0.0) if l < L - 1 else z)
        J = np.zeros((W[-1].shape[1], n))
        q = 0
        for l in range(L):
            for i in range(W[l].shape[0]):
                for j in range(W[l].shape[1]):
                    t = np.zeros(W[l].shape[1])
                    t[j] = hs[l][i]
                    for m in range(l, L):
                        if m > l:
                            t = t @ W[m]
                        if m < L - 1:
                            t = t * (zs[m] > 0)
                    J[:, q] = t
                    q += 1
        out.append(J)
    return out


def dense_fisher_and_gn(W, b, X, y):
    """``(G, F, GN)``: per-sample gradients (N × n), ``(1/N)GᵀG`` and ``(1/N)ΣJᵀΛJ`` (dense)."""
    Js = logit_jacobians(W, b, X)
    G, GN = [], 0.0
    for J, x, label in zip(Js, X, y):
        h = x
        for l in range(len(W)):
            h = h @ W[l] + b[l]
            if l < len(W) - 1:
                h = np.maximum(h, 0.0)
        p = np.exp(h - h.max())
        p /= p.sum()
        e = np.zeros_like(p)
        e[label] = 1.0
        G.append(J.T @ (p - e))
        GN = GN + J.T @ (np.diag(p) - np.outer(p, p)) @ J
    G = np.array(G)
    N = len(X)
    return G, G.T @ G / N, GN / N
