"""Sparsity constraints: what "sparse" means for a problem.

Every problem type carries one :class:`Sparsity`, and every selection rule
of :mod:`sparserec.projection` obeys it, so the same vocabulary serves least
squares, objectives and layers:

``"k"``
    At most ``k[t]`` nonzeros in column ``t`` (a k per column; least squares
    and objective problems).
``"fraction"``
    Prune a fraction ``s`` of the entries: ``⌊s·n·T + ½⌋`` over the whole
    block (``allocation="global"``, columns may differ), or ``⌊s·n + ½⌋`` in
    every column (``allocation="uniform"``). Layers.
``"nm"``
    ``N`` zeros in every group of ``M`` consecutive rows, per column (the
    ``"N:M"`` pattern of OBC and SparseGPT; for 2:4 it coincides with
    NVIDIA's "2 nonzeros out of 4").
``None``
    No target (Net-Trim, whose sparsity follows from its tolerance).

Counts and ties: a fraction prunes ``⌊s·count + ½⌋`` entries of its pool;
among equal scores the lower index is kept (the rule of
:func:`sparserec.kernels.topk`).
"""
from __future__ import annotations

import numbers
import re

import numpy as np

from .._validation import check_choice, param_error

__all__ = ["Sparsity", "parse_sparsity", "n_pruned", "ALLOCATIONS"]

ALLOCATIONS = ("global", "uniform")
_NM = re.compile(r"^\s*(\d+)\s*:\s*(\d+)\s*$")
_SPEC = "a float in [0, 1), None, or a string 'N:M' with integers 1 <= N < M (N zeros per group of M)"


def n_pruned(count, fraction):
    """Number of entries pruned from a pool of ``count``: ``⌊fraction·count + ½⌋``.

    Parameters
    ----------
    count : int
        Size of the pool.
    fraction : float
        Fraction pruned, in [0, 1].

    Returns
    -------
    int
        The rounded count (half rounds up).
    """
    return int(np.floor(fraction * count + 0.5))


def parse_sparsity(sparsity, owner="LayerProblem"):
    """Parse a layer sparsity spec.

    Parameters
    ----------
    sparsity : float in [0, 1), str "N:M", or None
        Fraction of weights to prune, an N:M pattern (N zeros per group of M
        consecutive inputs, ``1 <= N < M``), or None (no target: Net-Trim).
    owner : str, default="LayerProblem"
        Name used in error messages.

    Returns
    -------
    kind : {"fraction", "nm", None}
        The kind of spec (None for ``sparsity=None``).
    fraction : float or None
        Fraction pruned (``N/M`` for an N:M pattern).
    nm : tuple (N, M) or None
        The N:M pattern, or None for the other kinds.

    Raises
    ------
    ValueError, TypeError
        For anything else (the message names ``owner`` and the expected forms).

    Examples
    --------
    >>> parse_sparsity("2:4")
    ('nm', 0.5, (2, 4))
    >>> parse_sparsity(0.9)
    ('fraction', 0.9, None)
    """
    if sparsity is None:
        return None, None, None
    if isinstance(sparsity, str):
        match = _NM.match(sparsity) if sparsity.isascii() else None
        if match is None or not 1 <= int(match.group(1)) < int(match.group(2)):
            raise param_error("sparsity", owner, _SPEC, sparsity)
        N, M = int(match.group(1)), int(match.group(2))
        return "nm", N / M, (N, M)
    if isinstance(sparsity, (bool, np.bool_)) or not isinstance(sparsity, numbers.Real):
        raise param_error("sparsity", owner, _SPEC, sparsity, TypeError)
    s = float(sparsity)
    if not (np.isfinite(s) and 0.0 <= s < 1.0):
        raise param_error("sparsity", owner, _SPEC, sparsity)
    return "fraction", s, None


class Sparsity:
    """The sparsity constraint of an ``(n, T)`` block.

    Build it with :meth:`per_column` (a k per column) or :meth:`from_spec`
    (a layer's fraction, ``"N:M"`` or None); the constructor does not validate.
    Each parameter is stored as the attribute of the same name.

    Parameters
    ----------
    kind : {"k", "fraction", "nm", None}
        See the module docstring.
    n : int
        Rows (coordinates) of the block.
    T : int
        Columns (signals or outputs) of the block.
    k : ndarray of int64 of shape (T,), optional
        Kept entries per column (``kind="k"``).
    fraction : float, optional
        Pruned fraction (``"fraction"``; ``N/M`` for ``"nm"``).
    nm : tuple (N, M), optional
        The N:M pattern.
    allocation : {"global", "uniform"}, optional
        How a fraction is spread (``"fraction"`` only).
    """

    def __init__(self, kind, n, T, *, k=None, fraction=None, nm=None, allocation=None):
        self.kind, self.n, self.T = kind, int(n), int(T)
        self.k, self.fraction, self.nm, self.allocation = k, fraction, nm, allocation

    @classmethod
    def per_column(cls, k, n, T):
        """Build a k-per-column constraint (no validation: see :func:`~.least_squares.check_k`).

        Parameters
        ----------
        k : int or array_like of int of shape (T,)
            Kept entries per column (a scalar is broadcast).
        n : int
            Rows of the block.
        T : int
            Columns of the block.

        Returns
        -------
        Sparsity
            A constraint of kind ``"k"``.
        """
        k = np.broadcast_to(np.asarray(k, dtype=np.int64), (int(T),)).copy()
        return cls("k", n, T, k=k)

    @classmethod
    def from_spec(cls, spec, n, T, *, allocation="global", owner="LayerProblem"):
        """Parse a fraction, ``"N:M"`` or None for an ``(n, T)`` block.

        Parameters
        ----------
        spec : float in [0, 1), str "N:M", or None
            See :func:`parse_sparsity`.
        n : int
            Rows of the block (the pruned dimension).
        T : int
            Columns of the block.
        allocation : {"global", "uniform"}, default="global"
            How a fraction is spread over the columns.
        owner : str, default="LayerProblem"
            Name used in error messages.

        Returns
        -------
        Sparsity
            The constraint.

        Raises
        ------
        ValueError, TypeError
            For a malformed spec, or N:M with ``n`` not divisible by M.
        """
        kind, fraction, nm = parse_sparsity(spec, owner)
        allocation = check_choice(allocation, "allocation", owner, ALLOCATIONS)
        if kind == "nm" and n % nm[1]:
            raise ValueError(f"The 'sparsity' parameter of {owner} is {spec!r}, which needs the "
                             f"pruned dimension to be divisible by M={nm[1]}; got {n} rows.")
        return cls(kind, n, T, fraction=fraction, nm=nm,
                   allocation=allocation if kind == "fraction" else None)

    @property
    def coupled(self):
        """Whether the columns share one budget (a layer-global fraction)."""
        return self.kind == "fraction" and self.allocation == "global"

    def keep_per_column(self):
        """Kept entries per column when that does not depend on scores, else None.

        Returns
        -------
        ndarray of int64 of shape (T,) or None
            ``k`` for ``"k"``, ``n − ⌊s·n + ½⌋`` for a uniform fraction,
            ``n − (n/M)·N`` for N:M; None for a global fraction (decided by
            the scores) and for no target.
        """
        if self.kind == "k":
            return self.k
        if self.kind == "nm":
            return np.full(self.T, self.n - (self.n // self.nm[1]) * self.nm[0], dtype=np.int64)
        if self.kind == "fraction" and self.allocation == "uniform":
            return np.full(self.T, self.n - n_pruned(self.n, self.fraction), dtype=np.int64)
        return None

    def n_prune_total(self):
        """Count the entries pruned in the whole block.

        Returns
        -------
        int or None
            The count (None when there is no target).
        """
        if self.kind is None:
            return None
        if self.coupled:
            return n_pruned(self.n * self.T, self.fraction)
        return int(self.n * self.T - self.keep_per_column().sum())

    def admits(self, X):
        """Check, per column, that a block keeps no more entries than the constraint allows.

        Parameters
        ----------
        X : ndarray of shape (n, T)
            The block.

        Returns
        -------
        ndarray of bool, shape (T,)
            True where column ``t`` has at most its allowed nonzeros (for a
            layer-global fraction every entry says whether the whole block
            does; without a target, all True). N:M groups are not inspected.
        """
        nnz = np.count_nonzero(X, axis=0)
        keep = self.keep_per_column()
        if keep is not None:
            return nnz <= keep
        if self.coupled:
            allowed = self.n * self.T - self.n_prune_total()
            return np.full(self.T, int(nnz.sum()) <= allowed)
        return np.ones(self.T, dtype=bool)

    def take(self, cols):
        """Restrict the constraint to a subset of the columns.

        Parameters
        ----------
        cols : ndarray of int or slice
            The columns kept.

        Returns
        -------
        Sparsity
            The constraint of those columns.

        Raises
        ------
        ValueError
            For a layer-global fraction, which couples all columns.
        """
        if self.coupled:
            raise ValueError("a layer-global sparsity cannot be split by columns")
        return Sparsity(self.kind, self.n, len(cols) if not isinstance(cols, slice) else
                        len(range(self.T)[cols]), k=None if self.k is None else self.k[cols],
                        fraction=self.fraction, nm=self.nm, allocation=self.allocation)

    def describe(self):
        """Describe the constraint in a short phrase (used in messages).

        Returns
        -------
        str
            E.g. ``"k=5"``, ``"a global fraction 0.5"``, ``"the N:M pattern 2:4"``.
        """
        if self.kind == "k":
            ks = np.unique(self.k)
            return f"k={int(ks[0])}" if ks.size == 1 else f"k in [{ks.min()}, {ks.max()}] per column"
        if self.kind == "nm":
            return f"the N:M pattern {self.nm[0]}:{self.nm[1]}"
        if self.kind == "fraction":
            return f"a {self.allocation} fraction {self.fraction:g}"
        return "no sparsity target"

    def __repr__(self):
        return f"Sparsity({self.describe()}, n={self.n}, T={self.T})"
