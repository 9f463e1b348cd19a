"""Seeded generators: measurement matrices, sparse signals, whole problems.

Every generator takes ``rng``: a :class:`numpy.random.Generator`, a
:class:`numpy.random.SeedSequence`, an int seed or None. No global RNG state
is ever touched.
"""
from __future__ import annotations

import inspect

import numpy as np
import scipy.fft as sfft
from scipy.linalg import toeplitz
from scipy.sparse.linalg import LinearOperator

from ._validation import check_choice, check_int, check_real
from .problems import Problem

__all__ = ["as_generator", "gaussian", "rademacher", "partial_dct", "conditioned",
           "correlated", "sparse_signal", "make_problem", "MATRICES", "SIGNALS"]


def as_generator(rng):
    """Return a Generator from a Generator, SeedSequence, int or None.

    Parameters
    ----------
    rng : Generator, SeedSequence, int or None
        A Generator is returned as is; anything else seeds a new one
        (None: fresh OS entropy).

    Returns
    -------
    numpy.random.Generator
        The generator to draw from.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, (bool, np.bool_)) and rng < 0:
        raise ValueError(f"The 'rng' argument must be a non-negative int seed; got {rng}.")
    if isinstance(rng, (np.random.SeedSequence, int, np.integer)) or rng is None:
        return np.random.default_rng(rng)
    raise TypeError("The 'rng' argument must be a numpy.random.Generator, a SeedSequence, "
                    f"an int or None; got {type(rng).__name__}.")


def _mn(m, n, owner):
    return check_int(m, "m", owner, low=1), check_int(n, "n", owner, low=1)


def gaussian(m, n, rng=None):
    """Gaussian matrix with i.i.d. N(0, 1/m) entries (columns have unit norm on average).

    Parameters
    ----------
    m : int
        Number of rows (measurements).
    n : int
        Number of columns (unknowns).
    rng : Generator, SeedSequence, int or None, default=None
        Randomness (see :func:`as_generator`).

    Returns
    -------
    A : ndarray of shape (m, n)
        The matrix.
    """
    m, n = _mn(m, n, "gaussian")
    return as_generator(rng).standard_normal((m, n)) / np.sqrt(m)


def rademacher(m, n, rng=None):
    """Rademacher matrix with i.i.d. ±1/√m entries (unit-norm columns).

    Parameters
    ----------
    m : int
        Number of rows (measurements).
    n : int
        Number of columns (unknowns).
    rng : Generator, SeedSequence, int or None, default=None
        Randomness (see :func:`as_generator`).

    Returns
    -------
    A : ndarray of shape (m, n)
        The matrix.
    """
    m, n = _mn(m, n, "rademacher")
    return (2.0 * as_generator(rng).integers(0, 2, size=(m, n)) - 1.0) / np.sqrt(m)


class PartialDCT(LinearOperator):
    """``m`` rows of the orthonormal DCT-II of size ``n``, scaled by ``√(n/m)``.

    Applied in ``O(n log n)`` through :mod:`scipy.fft`. Columns have unit norm
    on average (the mean squared column norm is exactly 1, since the kept rows
    are orthonormal); each column's squared norm deviates from 1 by
    ``O(1/√(2m))``, depending on which rows were drawn.
    """

    def __init__(self, rows, n):
        self.rows = np.asarray(rows, dtype=np.intp)
        self.scale = np.sqrt(n / self.rows.size)
        super().__init__(dtype=np.float64, shape=(self.rows.size, n))

    def _matmat(self, X):
        X = np.asarray(X, dtype=np.float64).reshape(self.shape[1], -1)
        return self.scale * sfft.dct(X, type=2, norm="ortho", axis=0)[self.rows]

    def _matvec(self, x):
        return self._matmat(x.reshape(-1, 1))[:, 0]

    def _rmatmat(self, R):
        R = np.asarray(R, dtype=np.float64).reshape(self.shape[0], -1)
        full = np.zeros((self.shape[1], R.shape[1]))
        full[self.rows] = R
        return self.scale * sfft.idct(full, type=2, norm="ortho", axis=0)

    def _rmatvec(self, r):
        return self._rmatmat(r.reshape(-1, 1))[:, 0]

    def _adjoint(self):
        return LinearOperator(shape=(self.shape[1], self.shape[0]), dtype=self.dtype,
                              matvec=self._rmatvec, rmatvec=self._matvec,
                              matmat=self._rmatmat, rmatmat=self._matmat)

    def todense(self):
        """The operator as a dense (m, n) array (for tests and small sizes)."""
        return self._matmat(np.eye(self.shape[1]))


def partial_dct(m, n, rng=None):
    """Partial DCT operator: ``m`` distinct rows of the n-point DCT-II, chosen uniformly.

    Parameters
    ----------
    m : int
        Number of rows kept, ``1 <= m <= n``.
    n : int
        Size of the DCT (number of columns).
    rng : Generator, SeedSequence, int or None, default=None
        Randomness (see :func:`as_generator`).

    Returns
    -------
    A : PartialDCT
        A :class:`~scipy.sparse.linalg.LinearOperator` of shape (m, n),
        applied in ``O(n log n)``.
    """
    m, n = _mn(m, n, "partial_dct")
    if m > n:
        raise ValueError(f"The 'm' parameter of partial_dct must be an int in [1, n={n}]; got {m}.")
    rows = np.sort(as_generator(rng).choice(n, size=m, replace=False))
    return PartialDCT(rows, n)


def conditioned(m, n, kappa=10.0, rng=None):
    """Matrix ``U diag(s) Vᵀ`` with prescribed condition number ``kappa``.

    ``U`` and ``V`` are Haar-random orthonormal (QR of Gaussians), and the
    ``min(m, n)`` singular values are log-spaced from 1 down to ``1/kappa``.

    Parameters
    ----------
    m : int
        Number of rows.
    n : int
        Number of columns.
    kappa : float, default=10.0
        Condition number, ``>= 1``.
    rng : Generator, SeedSequence, int or None, default=None
        Randomness (see :func:`as_generator`).

    Returns
    -------
    A : ndarray of shape (m, n)
        The matrix, with ``‖A‖₂ = 1`` and ``cond(A) = kappa``.
    """
    m, n = _mn(m, n, "conditioned")
    kappa = check_real(kappa, "kappa", "conditioned", low=1.0)
    rng = as_generator(rng)
    r = min(m, n)
    U, _ = np.linalg.qr(rng.standard_normal((m, r)))
    V, _ = np.linalg.qr(rng.standard_normal((n, r)))
    s = np.logspace(0.0, -np.log10(kappa), r)
    return (U * s) @ V.T


def correlated(m, n, r=0.5, rng=None):
    """Gaussian matrix whose rows are i.i.d. N(0, Σ/m), ``Σ_ij = r^|i−j|`` (n × n Toeplitz).

    Neighbouring columns are correlated with coefficient ``r``, as in
    correlated-design regression and in layer inputs.

    Parameters
    ----------
    m : int
        Number of rows.
    n : int
        Number of columns.
    r : float, default=0.5
        Correlation of neighbouring columns, ``-1 < r < 1``.
    rng : Generator, SeedSequence, int or None, default=None
        Randomness (see :func:`as_generator`).

    Returns
    -------
    A : ndarray of shape (m, n)
        The matrix.
    """
    m, n = _mn(m, n, "correlated")
    r = check_real(r, "r", "correlated", low=-1.0, high=1.0, low_open=True, high_open=True)
    L = np.linalg.cholesky(toeplitz(r ** np.arange(n)))
    return as_generator(rng).standard_normal((m, n)) @ L.T / np.sqrt(m)


MATRICES = {"gaussian": gaussian, "rademacher": rademacher, "dct": partial_dct,
            "conditioned": conditioned, "correlated": correlated}
SIGNALS = ("gaussian", "rademacher", "uniform")


def sparse_signal(n, k, rng=None, *, distribution="gaussian", n_signals=None):
    """Draw k-sparse signal(s) on a uniformly random support.

    Parameters
    ----------
    n : int
        Length of the signal.
    k : int
        Number of nonzeros, ``0 <= k <= n``.
    rng : Generator, SeedSequence, int or None, default=None
        Randomness (see :func:`as_generator`).
    distribution : {"gaussian", "rademacher", "uniform"}
        Law of the nonzeros: N(0, 1), ±1, or uniform on [−1, 1].
    n_signals : int or None
        None returns shape (n,); an int T returns (n, T), independent supports.

    Returns
    -------
    x : ndarray of shape (n,) or (n, T)
        The signal(s).

    Examples
    --------
    >>> x = sparse_signal(10, 3, rng=0)
    >>> x.shape, int((x != 0).sum())
    ((10,), 3)
    """
    n = check_int(n, "n", "sparse_signal", low=1)
    k = check_int(k, "k", "sparse_signal", low=0, high=n, expected=f"an int in [0, n={n}]")
    check_choice(distribution, "distribution", "sparse_signal", SIGNALS)
    rng = as_generator(rng)
    T = 1 if n_signals is None else check_int(n_signals, "n_signals", "sparse_signal", low=1)
    X = np.zeros((n, T))
    for t in range(T):
        S = rng.choice(n, size=k, replace=False)
        if distribution == "gaussian":
            X[S, t] = rng.standard_normal(k)
        elif distribution == "rademacher":
            X[S, t] = 2.0 * rng.integers(0, 2, size=k) - 1.0
        else:
            X[S, t] = rng.uniform(-1.0, 1.0, size=k)
    return X[:, 0] if n_signals is None else X


def make_problem(m, n, k, *, matrix="gaussian", signal="gaussian", noise_std=0.0,
                 n_signals=None, seed=None, **matrix_params):
    """Build a seeded recovery problem ``y = A x + noise`` with known ``x``.

    Parameters
    ----------
    m : int
        Number of measurements (rows of ``A``).
    n : int
        Signal length (columns of ``A``).
    k : int
        Sparsity of the drawn signal, also the target sparsity of the problem.
    matrix : {"gaussian", "rademacher", "dct", "conditioned", "correlated"}
        Measurement ensemble (a key of :data:`MATRICES`).
    signal : {"gaussian", "rademacher", "uniform"}
        Law of the nonzeros (see :func:`sparse_signal`).
    noise_std : float
        Standard deviation of i.i.d. Gaussian noise added to ``y``.
    n_signals : int or None
        Several signals measured by one matrix (a multi-RHS problem).
    seed : int, SeedSequence, Generator or None
        Randomness for the matrix, the signal and the noise, in that order.
    **matrix_params
        Passed to the matrix generator (``kappa`` or ``r``).

    Returns
    -------
    Problem
        The problem, with ``x_true`` and ``noise_std`` set.

    Examples
    --------
    >>> problem = make_problem(64, 128, 5, seed=0)
    >>> problem.shape, problem.k
    ((64, 128), 5)
    """
    check_choice(matrix, "matrix", "make_problem", tuple(MATRICES))
    rng = as_generator(seed)
    accepted = set(inspect.signature(MATRICES[matrix]).parameters) - {"m", "n", "rng"}
    unknown = sorted(set(matrix_params) - accepted)
    if unknown:
        raise ValueError(f"The {unknown[0]!r} parameter of make_problem does not apply to "
                         f"matrix={matrix!r}; it accepts "
                         + (", ".join(repr(a) for a in sorted(accepted)) or "no extra parameter") + ".")
    A = MATRICES[matrix](m, n, rng=rng, **matrix_params)
    x = sparse_signal(n, k, rng, distribution=signal, n_signals=n_signals)
    X = x.reshape(n, -1)
    Y = np.asarray(A @ X) if not isinstance(A, LinearOperator) else A.matmat(X)
    noise_std = check_real(noise_std, "noise_std", "make_problem", low=0.0)
    if noise_std > 0:
        Y = Y + noise_std * rng.standard_normal(Y.shape)
    y = Y if n_signals is not None else Y[:, 0]
    return Problem(A, y, k, x_true=x, noise_std=noise_std)
