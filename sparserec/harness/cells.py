"""Building a cell's problems: dimensions, matrix and signal ensembles, batching.

A *builder* ``builder(coords, trials, seed, mode)`` returns a list of
:class:`Batch`: problems whose columns are trials. :func:`recovery_problems`
is the default builder (seeded ``y = Ax + e``); ``mode="fresh"`` draws a
matrix per trial, ``mode="shared"`` one matrix per cell with all its trials
as one multi-RHS problem.
"""
from __future__ import annotations

import inspect
import math
from typing import NamedTuple

import numpy as np

from sparserec import Problem
from sparserec.ensembles import MATRICES, SIGNALS, sparse_signal

from .seeds import matrix_seed, trial_seed

__all__ = ["MODES", "Batch", "dims", "recovery_problems"]

MODES = ("fresh", "shared")


class Batch(NamedTuple):
    """Problems built for one task: ``problem``'s columns are ``trials`` (in order)."""

    problem: Problem
    trials: tuple
    info: dict


def dims(coords):
    """``(n, m, k)`` of a cell: ``m = ⌈δn⌉`` unless ``m`` is given, ``k = max(1, round(ρm))``.

    Raises
    ------
    ValueError
        If ``n`` or the measurement/sparsity coordinates are missing or out of range.
    """
    if "n" not in coords:
        raise ValueError("cell coordinates need 'n'")
    n = int(coords["n"])
    if "m" in coords:
        m = int(coords["m"])
    elif "delta" in coords:
        m = int(math.ceil(round(float(coords["delta"]) * n, 9)))
    else:
        raise ValueError("cell coordinates need 'm' or 'delta'")
    if "k" in coords:
        k = int(coords["k"])
    elif "rho" in coords:
        k = max(1, int(math.floor(float(coords["rho"]) * m + 0.5)))
    else:
        raise ValueError("cell coordinates need 'k' or 'rho'")
    if not (1 <= m and 1 <= n and 1 <= k <= n):
        raise ValueError(f"invalid cell dimensions n={n}, m={m}, k={k}")
    return n, m, min(k, n)


def _matrix(coords, m, n, rng):
    name = coords.get("matrix", "gaussian")
    if name not in MATRICES:
        raise ValueError(f"unknown matrix ensemble {name!r}; choose from {', '.join(MATRICES)}")
    gen = MATRICES[name]
    extra = [p for p in inspect.signature(gen).parameters if p not in ("m", "n", "rng")]
    return gen(m, n, rng=rng, **{p: coords[p] for p in extra if p in coords})


def _measure(A, x, rng, noise):
    x2 = x.reshape(-1, 1)
    y = (A @ x2 if isinstance(A, np.ndarray) else A.matmat(x2))[:, 0]
    if noise > 0:
        e = rng.standard_normal(y.shape[0])
        y = y + e * (noise * np.linalg.norm(y) / max(np.linalg.norm(e), 1e-300))
    return y


def recovery_problems(coords, trials, seed, mode):
    """Default builder: seeded ``y = Ax + e`` problems for one cell.

    Parameters
    ----------
    coords : dict
        Cell coordinates (see :func:`dims`; ``matrix``, ``signal``, ``noise``
        and matrix parameters such as ``kappa`` are optional).
    trials : sequence of int
        Trial indices to build.
    seed : int
        Master seed.
    mode : {"fresh", "shared"}
        A fresh matrix per trial (one single-RHS problem each), or the cell's
        matrix shared by all trials (one multi-RHS problem).

    Returns
    -------
    list of Batch
    """
    n, m, k = dims(coords)
    signal = coords.get("signal", "gaussian")
    if signal not in SIGNALS:
        raise ValueError(f"unknown signal ensemble {signal!r}; choose from {', '.join(SIGNALS)}")
    noise = float(coords.get("noise", 0.0))
    info = {"m": m, "k": k} if "n" in coords else {"n": n, "m": m, "k": k}
    if mode == "fresh":
        out = []
        for t in trials:
            rng = np.random.default_rng(trial_seed(seed, coords, t))
            A = _matrix(coords, m, n, rng)
            x = sparse_signal(n, k, rng, distribution=signal)
            y = _measure(A, x, rng, noise)
            std = noise * np.linalg.norm(y) / np.sqrt(m) / np.sqrt(1 + noise ** 2)
            out.append(Batch(Problem(A, y, k, x_true=x, noise_std=std), (t,), info))
        return out
    if mode != "shared":
        raise ValueError(f"mode must be one of {MODES}; got {mode!r}")
    A = _matrix(coords, m, n, np.random.default_rng(matrix_seed(seed, coords)))
    X = np.zeros((n, len(trials)))
    Y = np.zeros((m, len(trials)))
    for j, t in enumerate(trials):
        rng = np.random.default_rng(trial_seed(seed, coords, t))
        X[:, j] = sparse_signal(n, k, rng, distribution=signal)
        Y[:, j] = _measure(A, X[:, j], rng, noise)
    std = noise * float(np.mean(np.linalg.norm(Y, axis=0))) / np.sqrt(m) / np.sqrt(1 + noise ** 2)
    return [Batch(Problem(A, Y, k, x_true=X, noise_std=std), tuple(trials), info)]
