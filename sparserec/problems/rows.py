r"""Row factors: a curvature :math:`\frac1N U^\top U` given by its ``R × n`` factor ``U``.

The empirical Fisher (``U`` = per-sample gradients), the Gauss–Newton matrix
(``U`` = rows :math:`\Lambda_n^{1/2}J_n` of every sample) and ``AᵀA`` (``U = A``)
are all of this form. For a network ``U`` has ``R`` (samples, or samples ×
classes) rows and one column per weight, far too many to store; a
:class:`RowFactor` hands out any range of its columns on demand, with fast
paths for the Gram matrix ``U_b U_bᵀ`` and the column norms of a block.

* :class:`RowFactor` — the interface (and chunked defaults);
* :class:`ArrayRows` — a factor held as an array.

The network factor, whose columns are outer products of layer inputs and
backpropagated rows, is :class:`~.network.KroneckerRows`.
"""
from __future__ import annotations

import numpy as np

from .._validation import as_real_array, check_real

__all__ = ["RowFactor", "ArrayRows", "CHUNK_ELEMENTS"]

#: Elements of one chunk of columns (``R × chunk``) materialised at a time (32 MB in float64).
CHUNK_ELEMENTS = 1 << 22


class RowFactor:
    r"""A factor ``U`` (``R × n``) of the matrix :math:`\frac1N U^\top U`, by column ranges.

    Subclasses set ``shape``, ``n_samples`` and ``blocks`` and implement
    :meth:`columns`; :meth:`chunks`, :meth:`gram`, :meth:`masked_gram`,
    :meth:`sq_norms`, :meth:`matmul` and :meth:`rmatmul` have chunked defaults
    (memory :data:`CHUNK_ELEMENTS`), which a structured factor overrides.

    Attributes
    ----------
    shape : tuple of int
        ``(R, n)``: rows and columns of ``U``.
    n_samples : float
        The normaliser ``N`` of :math:`\frac1N U^\top U` (the number of samples
        the rows come from; not always ``R``).
    blocks : tuple of (int, int)
        Natural diagonal blocks ``[lo, hi)`` (a network's layers); one block
        spanning all columns by default.
    """

    shape = (0, 0)
    n_samples = 1.0
    blocks = ()

    def columns(self, lo, hi):
        """Return the columns ``lo .. hi − 1`` of ``U``.

        Parameters
        ----------
        lo, hi : int
            Column range ``[lo, hi)``.

        Returns
        -------
        ndarray of shape (R, hi − lo)
            The columns, float64.
        """
        raise NotImplementedError

    def chunk_size(self):
        """Return how many columns make one chunk of at most :data:`CHUNK_ELEMENTS` entries.

        Returns
        -------
        int
            Columns per chunk (at least 1).
        """
        return max(1, CHUNK_ELEMENTS // max(1, self.shape[0]))

    def chunks(self, lo, hi):
        """Iterate over ``[lo, hi)`` in chunks of columns of bounded memory.

        Parameters
        ----------
        lo, hi : int
            Column range.

        Yields
        ------
        a, b : int
            The chunk's column range ``[a, b)``.
        C : ndarray of shape (R, b − a)
            Its columns.
        """
        step = self.chunk_size()
        for a in range(lo, hi, step):
            b = min(a + step, hi)
            yield a, b, self.columns(a, b)

    def gram(self, lo, hi):
        """Return the Gram matrix ``U_b U_bᵀ`` of the columns ``[lo, hi)``.

        Parameters
        ----------
        lo, hi : int
            Column range.

        Returns
        -------
        ndarray of shape (R, R)
            ``U[:, lo:hi] U[:, lo:hi]ᵀ`` (not normalised).
        """
        R = self.shape[0]
        K = np.zeros((R, R))
        for _, _, C in self.chunks(lo, hi):
            K += C @ C.T
        return K

    def sq_norms(self, lo, hi):
        """Return the squared norms of the columns ``[lo, hi)``.

        Parameters
        ----------
        lo, hi : int
            Column range.

        Returns
        -------
        ndarray of shape (hi − lo,)
            ``Σ_r U_rq²`` for every column ``q`` (not normalised).
        """
        out = np.empty(hi - lo)
        for a, b, C in self.chunks(lo, hi):
            out[a - lo:b - lo] = np.einsum("ij,ij->j", C, C)
        return out

    def matmul(self, lo, hi, V):
        """Multiply the columns ``[lo, hi)`` of ``U`` by a block: ``U_b V``.

        Parameters
        ----------
        lo, hi : int
            Column range.
        V : ndarray of shape (hi − lo, T)
            The block.

        Returns
        -------
        ndarray of shape (R, T)
            ``U[:, lo:hi] V``.
        """
        out = np.zeros((self.shape[0], V.shape[1]))
        for a, b, C in self.chunks(lo, hi):
            out += C @ V[a - lo:b - lo]
        return out

    def rmatmul(self, lo, hi, Y):
        """Multiply the transposed columns ``[lo, hi)`` of ``U`` by a block: ``U_bᵀ Y``.

        Parameters
        ----------
        lo, hi : int
            Column range.
        Y : ndarray of shape (R, T)
            The block.

        Returns
        -------
        ndarray of shape (hi − lo, T)
            ``U[:, lo:hi]ᵀ Y``.
        """
        out = np.empty((hi - lo, Y.shape[1]))
        for a, b, C in self.chunks(lo, hi):
            out[a - lo:b - lo] = C.T @ Y
        return out

    def masked_gram(self, lo, hi, mask):
        """Return the Gram matrix of the columns ``q`` of ``[lo, hi)`` with ``mask[q − lo]``.

        Parameters
        ----------
        lo, hi : int
            Column range.
        mask : ndarray of bool of shape (hi − lo,)
            The columns kept.

        Returns
        -------
        ndarray of shape (R, R)
            ``U_S U_Sᵀ`` (not normalised).
        """
        R = self.shape[0]
        K = np.zeros((R, R))
        for a, b, C in self.chunks(lo, hi):
            m = mask[a - lo:b - lo]
            if m.any():
                CS = C[:, m]
                K += CS @ CS.T
        return K

    def take(self, idx):
        """Return arbitrary columns of ``U`` (small index sets).

        Parameters
        ----------
        idx : ndarray of int
            Column indices.

        Returns
        -------
        ndarray of shape (R, len(idx))
            The columns, in the order of ``idx``.
        """
        idx = np.asarray(idx, dtype=np.intp)
        out = np.empty((self.shape[0], idx.size))
        if idx.size == 0:
            return out
        order = np.argsort(idx, kind="stable")
        srt = idx[order]
        step = self.chunk_size()
        start = 0
        while start < srt.size:
            lo = int(srt[start])
            hi = min(lo + step, self.shape[1])
            stop = int(np.searchsorted(srt, hi))
            C = self.columns(lo, hi)
            out[:, order[start:stop]] = C[:, srt[start:stop] - lo]
            start = stop
        return out

    def describe(self):
        """Describe the factor in a short phrase (used in messages).

        Returns
        -------
        str
            E.g. ``"ArrayRows(R=100, n=20)"``.
        """
        return f"{type(self).__name__}(R={self.shape[0]}, n={self.shape[1]})"


class ArrayRows(RowFactor):
    r"""A row factor held as an array: ``U`` itself.

    Parameters
    ----------
    U : ndarray of shape (R, n)
        The rows (per-sample gradients, the rows of ``A``, ...).
    n_samples : float, optional
        The normaliser ``N`` of :math:`\frac1N U^\top U` (default ``R``, the
        empirical-Fisher convention).
    blocks : sequence of (int, int), optional
        Natural diagonal blocks (default: one block).

    Examples
    --------
    >>> import numpy as np
    >>> U = ArrayRows(np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> U.sq_norms(0, 2).tolist(), U.n_samples
    ([10.0, 20.0], 2.0)
    """

    def __init__(self, U, n_samples=None, *, blocks=None):
        U = as_real_array(U, "U", "ArrayRows", ndim=(2,)).astype(np.float64, copy=False)
        self.U = U
        self.shape = U.shape
        self.n_samples = float(U.shape[0]) if n_samples is None else \
            check_real(n_samples, "n_samples", "ArrayRows", low=0.0, low_open=True)
        self.blocks = ((0, U.shape[1]),) if blocks is None else tuple(
            (int(a), int(b)) for a, b in blocks)

    def columns(self, lo, hi):
        return self.U[:, lo:hi]

    def matmul(self, lo, hi, V):
        return self.U[:, lo:hi] @ V

    def rmatmul(self, lo, hi, Y):
        return self.U[:, lo:hi].T @ Y

    def masked_gram(self, lo, hi, mask):
        C = self.U[:, lo:hi][:, mask]
        return C @ C.T

    def take(self, idx):
        return self.U[:, np.asarray(idx, dtype=np.intp)]

    def gram(self, lo, hi):
        C = self.U[:, lo:hi]
        return C @ C.T
