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
