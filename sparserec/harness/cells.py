"""Building a cell's problems: dimensions, matrix and signal ensembles, batching.

A *builder* ``builder(coords, trials, seed, mode)`` returns a list of
:class:`Batch`: problems whose columns are trials (or, in common mode, the ρ
cells of one trial). :func:`recovery_problems` is the default builder
(seeded ``y = Ax + e``):

``mode="fresh"``
    A fresh matrix per trial, one single-RHS problem each: the literature
    protocol (Donoho–Tanner, GAGA's ``gen``).
``mode="shared"``
    One matrix per cell, all its trials as one multi-RHS problem.
``mode="common"``
    Common random matrices: trial ``t`` of every ρ cell of a δ column uses
    one matrix ``A_{δ,t}``, which then serves all the column's ρ cells as one
    multi-RHS problem with a k per column. Each cell still sees its ``T``
    independent matrices (its statistics keep their meaning), and the ρ curve
    gets the variance reduction of common random numbers. ``coords["rho"]``
    is then the tuple of the column's ρ values.
"""
from __future__ import annotations

import inspect
import math
from typing import NamedTuple

import numpy as np

from sparserec import Problem
from sparserec.ensembles import MATRICES, SIGNALS, sparse_signal

from .seeds import COLUMN_AXIS, column_matrix_seed, matrix_seed, trial_seed

__all__ = ["MODES", "Batch", "dims", "recovery_problems"]

MODES = ("fresh", "shared", "common")


class Batch(NamedTuple):
    """Problems built for one task: ``problem``'s columns are ``trials`` (in order).

    ``info`` holds row fields shared by every column; ``columns`` (optional)
    one dict of row fields per column (common mode: each column's ``rho``,
    ``k`` and cell coordinates).
    """

    problem: Problem
    trials: tuple
    info: dict
    columns: tuple = ()


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


def _solver_layout(A):
    """``A`` with contiguous columns (Fortran order), once the measurements are taken.

    The thresholding solvers multiply by ``A_Γ`` (a few columns) every
    iteration; with contiguous columns that product reads only those columns
    (see :meth:`~sparserec.problems.Problem.matvec_sparse`), and OMP's and the
    least-squares solvers' column gathers are contiguous copies. The values,
    and the measurements (taken before), are unchanged.
    """
    return np.asfortranarray(A) if isinstance(A, np.ndarray) else A


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
    mode : {"fresh", "shared", "common"}
        A fresh matrix per trial (one single-RHS problem each), the cell's
        matrix shared by all trials (one multi-RHS problem), or one matrix per
        trial shared by the column's ρ cells (``coords["rho"]`` a tuple; one
        multi-RHS problem per trial, a k per column).

    Returns
    -------
    list of Batch
    """
    if mode == "common":
        return _common_problems(coords, trials, seed)
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
            out.append(Batch(Problem(_solver_layout(A), y, k, x_true=x, noise_std=std), (t,), info))
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
    return [Batch(Problem(_solver_layout(A), Y, k, x_true=X, noise_std=std), tuple(trials), info)]


def _common_problems(coords, trials, seed):
    """One problem per trial: ``A_{δ,t}`` and one column per ρ cell of the column."""
    rhos = coords[COLUMN_AXIS]
    rhos = tuple(rhos) if isinstance(rhos, (tuple, list)) else (rhos,)
    cells = [{**coords, COLUMN_AXIS: rho} for rho in rhos]
    shape = [dims(c) for c in cells]
    n, m = shape[0][0], shape[0][1]
    ks = np.array([k for _, _, k in shape], dtype=np.int64)
    signal = coords.get("signal", "gaussian")
    if signal not in SIGNALS:
        raise ValueError(f"unknown signal ensemble {signal!r}; choose from {', '.join(SIGNALS)}")
    noise = float(coords.get("noise", 0.0))
    columns = tuple({COLUMN_AXIS: rho, "k": int(k)} for rho, k in zip(rhos, ks))
    out = []
    for t in trials:
        A = _matrix(coords, m, n, np.random.default_rng(column_matrix_seed(seed, coords, t)))
        X = np.zeros((n, len(cells)))
        Y = np.zeros((m, len(cells)))
        for j, cell in enumerate(cells):
            rng = np.random.default_rng(trial_seed(seed, cell, t))
            X[:, j] = sparse_signal(n, int(ks[j]), rng, distribution=signal)
            Y[:, j] = _measure(A, X[:, j], rng, noise)
        std = noise * float(np.mean(np.linalg.norm(Y, axis=0))) / np.sqrt(m) \
            / np.sqrt(1 + noise ** 2)
        out.append(Batch(Problem(_solver_layout(A), Y, ks, x_true=X, noise_std=std), (t,) * len(cells),
                         {"m": m}, columns))
    return out
