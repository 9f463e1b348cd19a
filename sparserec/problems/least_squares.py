"""Problem types: what a solver is asked to solve.

A :class:`Problem` is the least-squares sparse recovery problem

.. math::  \\min_x \\tfrac12 \\|Ax - y\\|_2^2 \\quad \\text{s.t.}\\quad \\|x\\|_0 \\le k,

with ``A`` a dense array, a sparse matrix or a matrix-free
:class:`scipy.sparse.linalg.LinearOperator`, and ``y`` one signal or several
columns sharing ``A`` (multi-RHS). Internally every quantity is kept as a 2-D
block with one column per signal, so a solver written once handles both.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, aslinearoperator, eigsh

from .._validation import as_real_array, check_int, check_real
from ..kernels.products import column_combination
from .base import Scaling, SparseProblem, colnorm, scale_exponent
from .sparsity import Sparsity

__all__ = ["Problem", "restricted_lstsq", "check_k"]


def check_k(k, n, T, owner="Problem"):
    """Validate a target sparsity: an int in ``[1, n]`` or one such int per column.

    Parameters
    ----------
    k : int or array_like of int of shape (T,)
        The value to check.
    n : int
        Unknowns per column.
    T : int
        Columns.
    owner : str, default="Problem"
        Name used in error messages.

    Returns
    -------
    int or ndarray of int64 of shape (T,)
        ``k`` as an int, or as an int64 array when given per column.

    Raises
    ------
    ValueError, TypeError
        When ``k`` is out of range, of the wrong shape, or not integral.
    """
    expected = f"an int in [1, n_features={n}], or one such int per column (shape ({T},))"
    if isinstance(k, (list, tuple, np.ndarray)):
        arr = np.asarray(k)
        if arr.dtype.kind not in "iu" or arr.shape != (T,):
            raise ValueError(f"The 'k' parameter of {owner} must be {expected}; got "
                             f"{'an array of shape ' + str(arr.shape) if arr.dtype.kind in 'iu' else repr(k)}.")
        if arr.size and (arr.min() < 1 or arr.max() > n):
            bad = arr[(arr < 1) | (arr > n)][0]
            raise ValueError(f"The 'k' parameter of {owner} must be {expected}; got {int(bad)} "
                             "in one column.")
        return arr.astype(np.int64)
    return check_int(k, "k", owner, low=1, high=n, expected=expected)


class Problem(SparseProblem):
    """Least-squares k-sparse recovery problem ``min ½‖Ax − y‖²``, ``‖x‖₀ ≤ k``.

    Parameters
    ----------
    A : ndarray of shape (m, n), sparse matrix or LinearOperator
        Measurement matrix. Integer input is converted to float64; float32
        stays float32. A ``LinearOperator`` must implement ``matvec`` and
        ``rmatvec`` (``matmat``/``rmatmat`` are used when present).
    y : ndarray of shape (m,) or (m, T)
        Measurements: one signal, or ``T`` signals measured by the same ``A``.
    k : int or ndarray of int of shape (T,)
        Target sparsity, ``1 <= k <= n``; one value per column of ``y`` to
        solve signals of different sparsities in one block.
    x_true : ndarray of shape (n,) or (n, T), optional
        Ground truth, used only by metrics (never by solvers).
    noise_std : float, default=0.0
        Standard deviation of the additive noise in ``y`` (metadata only).

    Attributes
    ----------
    m, n : int
        Number of measurements and of unknowns.
    n_signals : int
        Number of right-hand sides ``T`` (1 when ``y`` is a vector).
    Y : ndarray of shape (m, T)
        ``y`` as a 2-D block (a view, never a copy of the caller's data).
    dtype : numpy.dtype
        float32 when both ``A`` and ``y`` are float32, else float64.

    Examples
    --------
    >>> import numpy as np
    >>> from sparserec import Problem
    >>> A = np.eye(3)
    >>> p = Problem(A, np.array([0.0, 2.0, 0.0]), k=1)
    >>> p.m, p.n, p.k, p.n_signals
    (3, 3, 1, 1)
    """

    def __init__(self, A, y, k, *, x_true=None, noise_std=0.0):
        owner = "Problem"
        if isinstance(A, LinearOperator) or sp.issparse(A):
            op = aslinearoperator(A)
            if np.dtype(op.dtype).kind == "c":
                raise TypeError("The 'A' argument of Problem must be real; got a "
                                f"complex operator of dtype {op.dtype}.")
            m, n = op.shape
            if m == 0 or n == 0:
                raise ValueError("The 'A' argument of Problem must be non-empty; got "
                                 f"shape {op.shape}.")
            if sp.issparse(A):
                data = as_real_array(A.data, "A", owner, ndim=(1,), allow_empty=True)
                if data.size == 0 or not np.any(data):
                    raise ValueError("The 'A' argument of Problem is all zeros; "
                                     "nothing can be recovered from it.")
            self._a_max = float(np.abs(data).max()) if sp.issparse(A) else None
            self.A = op
            self.is_operator = True
            a_dtype = np.dtype(op.dtype) if np.dtype(op.dtype).kind == "f" else np.dtype(np.float64)
        else:
            A = as_real_array(A, "A", owner, ndim=(2,))
            if not np.any(A):
                raise ValueError("The 'A' argument of Problem is all zeros; nothing "
                                 "can be recovered from it.")
            self.A = A
            self._a_max = None  # measured on first use (one pass over A)
            self.is_operator = False
            a_dtype = A.dtype
            m, n = A.shape
        y = as_real_array(y, "y", owner, ndim=(1, 2))
        if y.shape[0] != m:
            raise ValueError(f"The 'y' argument of Problem must have {m} rows to match "
                             f"'A' of shape ({m}, {n}); got shape {y.shape}.")
        self.m, self.n = int(m), int(n)
        self.noise_std = check_real(noise_std, "noise_std", owner, low=0.0)
        self.y = y
        self.Y = y if y.ndim == 2 else y[:, None]
        self.n_signals = self.Y.shape[1]
        self.multi = y.ndim == 2
        self.k = check_k(k, self.n, self.n_signals, owner)
        self.sparsity = Sparsity.per_column(self.k, self.n, self.n_signals)
        self.dtype = np.dtype(np.float32) if (a_dtype == np.float32 and y.dtype == np.float32) \
            else np.dtype(np.float64)
        if x_true is not None:
            x_true = as_real_array(x_true, "x_true", owner, ndim=(y.ndim,))
            want = (self.n,) if y.ndim == 1 else (self.n, self.n_signals)
            if x_true.shape != want:
                raise ValueError(f"The 'x_true' argument of Problem must have shape "
                                 f"{want} to match 'A' and 'y'; got {x_true.shape}.")
        self.x_true = x_true
        self._norm2 = None
        # Gram matrix for the restricted least squares, built once the solves have cost as
        # much as forming it (see lstsq_dense); a dict so that take()'s copies share it.
        self._gram = {"work": 0.0, "G": None, "K": None}

    # ------------------------------------------------------------------ shapes
    @property
    def shape(self):
        """``(m, n)``, the shape of ``A``."""
        return (self.m, self.n)

    def with_k(self, k):
        """Return a copy of this problem with another target sparsity (data shared).

        Parameters
        ----------
        k : int or ndarray of int of shape (T,)
            New target sparsity, ``1 <= k <= n`` (one per column, or one for all).

        Returns
        -------
        Problem
            A shallow copy: ``A``, ``y`` and ``x_true`` are the same objects.
        """
        new = object.__new__(Problem)
        new.__dict__.update(self.__dict__)
        new.k = check_k(k, self.n, self.n_signals)
        new.sparsity = Sparsity.per_column(new.k, self.n, self.n_signals)
        return new

    def take(self, cols):
        """The sub-problem of columns ``cols`` of ``y`` (``A`` shared, multi-RHS layout kept).

        Parameters
        ----------
        cols : array_like of int
            Column indices.

        Returns
        -------
        Problem
            A shallow copy restricted to those columns.
        """
        cols = np.asarray(cols, dtype=np.intp)
        new = object.__new__(Problem)
        new.__dict__.update(self.__dict__)
        new.Y = self.Y[:, cols]
        new.y = new.Y
        new.multi = True
        new.n_signals = cols.size
        new.k = self.sparsity.k[cols]
        new.sparsity = self.sparsity.take(cols)
        new.x_true = None if self.x_true is None else self.X_true[:, cols]
        return new

    # -------------------------------------------------------------- operators
    def matvec(self, X):
        """Compute ``A @ X`` for a block ``X`` of shape (n, T).

        Parameters
        ----------
        X : ndarray of shape (n, T)
            Block of signals.

        Returns
        -------
        ndarray of shape (m, T)
            The product.
        """
        if self.is_operator:
            return np.asarray(self.A.matmat(X)).reshape(self.m, -1)
        return _dense_product(self.A, X)

    def rmatvec(self, R):
        """Compute ``Aᵀ @ R`` for a block ``R`` of shape (m, T).

        Parameters
        ----------
        R : ndarray of shape (m, T)
            Block of residuals.

        Returns
        -------
        ndarray of shape (n, T)
            The product.
        """
        if self.is_operator:
            return np.asarray(self.A.rmatmat(R)).reshape(self.n, -1)
        return _dense_product(self.A.T, R)

    def columns(self, S):
        """Return the dense columns ``A[:, S]`` (applied to unit vectors for operators).

        Parameters
        ----------
        S : array_like of int
            Column indices.

        Returns
        -------
        ndarray of shape (m, len(S))
            The selected columns.
        """
        S = np.asarray(S, dtype=np.intp)
        if not self.is_operator:
            return self.A[:, S]
        E = np.zeros((self.n, S.size), dtype=self.dtype)
        E[S, np.arange(S.size)] = 1.0
        return np.asarray(self.A.matmat(E)).reshape(self.m, S.size)

    def matvec_sparse(self, X):
        """``A @ X`` exploiting row sparsity of ``X`` (n, T).

        With a dense ``A``, only the columns of ``A`` on the nonzero rows of
        ``X`` are used when that reads less memory than the full product: for a
        column-major (Fortran) ``A`` the kept columns are contiguous, so below
        ``n/4`` nonzero rows; for a row-major ``A`` every kept entry is a
        separate cache line (8 doubles) read out of order, which costs several
        times a streamed one, so below ``n/64`` (measured: at m = 2048,
        n = 4096, 100 rows, the gather takes 1.3–1.6 ms against 0.9–1.1 ms for
        ``A @ X``).

        Parameters
        ----------
        X : ndarray of shape (n, T)
            Block of (row-sparse) signals.

        Returns
        -------
        ndarray of shape (m, T)
            The product ``A @ X``.
        """
        if self.is_operator:
            return self.matvec(X)
        single = X.shape[1] == 1
        rows = np.flatnonzero(X[:, 0] if single else np.any(X != 0, axis=1))
        limit = 4 if self.A.flags.f_contiguous else 64
        if limit * rows.size >= self.n:
            return _dense_product(self.A, X)
        if single:  # one column: add the kept columns of A, no gathered copy
            return column_combination(self.A, rows, X[:, 0])[:, None]
        return _dense_product(self.A[:, rows], X[rows])

    def lstsq_dense(self, supports, Y):
        """Least squares restricted to a support, column by column.

        Parameters
        ----------
        supports : sequence of T int arrays, or ndarray of shape (s, T)
            Kept indices for each column.
        Y : ndarray of shape (m, T)
            Right-hand sides, one per column.

        Returns
        -------
        X : ndarray of shape (n, T)
            ``X[S_t, t] = argmin_u ‖A[:, S_t] u − Y[:, t]‖``, zero elsewhere
            (see :func:`restricted_lstsq` for the numerics).
        """
        T = Y.shape[1]
        if isinstance(supports, np.ndarray) and supports.ndim == 2:
            supports = [supports[:, t] for t in range(T)]
        X = np.zeros((self.n, T), dtype=self.dtype)
        for t, S in enumerate(supports):
            S = np.asarray(S)
            if self.m < S.size < self.n and 2 * S.size > self.n and not self.is_operator:
                X[S, t] = self._minnorm_lstsq(S, Y[:, t])
                continue
            G = self._gram_for(len(S))
            if G is not None:
                X[S, t] = _gram_lstsq(G, S, self.columns(S), Y[:, t])
            else:
                X[S, t] = restricted_lstsq(self.columns(S), Y[:, t])
        return X

    def _minnorm_lstsq(self, S, y):
        """Minimum-norm solve on a support larger than ``m`` and than half of the columns.

        ``A_SA_Sᵀ = AAᵀ − A_CA_Cᵀ`` with ``C`` the complement of ``S``: with
        ``AAᵀ`` formed once per matrix (``m²n``, cached and shared like ``G``),
        each solve costs ``m²|C| + m³/3`` instead of ``m²|S| + m³/3``. The
        subtraction loses about ``ε‖A‖²`` in absolute terms, which the
        conditioning test of the Cholesky factor (as in :func:`restricted_lstsq`,
        which is the fallback) covers.
        """
        cache = self._gram
        if cache.get("K") is None:
            cache["K"] = self.A @ self.A.T
        mask = np.ones(self.n, dtype=bool)
        mask[S] = False
        AC = self.A[:, mask]
        K = cache["K"] - AC @ AC.T
        AS = self.columns(S)
        c = _checked_cholesky(K)
        if c is not None:
            return AS.T @ sla.cho_solve(c, y, check_finite=False)
        return restricted_lstsq(AS, y)

    def _gram_for(self, s):
        """``G = AᵀA`` once the restricted solves have cost as much as forming it, else None.

        Forming ``A_SᵀA_S`` costs ``m|S|²`` per solve and ``G`` costs ``mn²``
        once, after which a solve only gathers ``G_SS``. Building ``G`` when
        the accumulated ``m|S|²`` reaches ``mn²`` (the ski-rental rule) never
        costs more than twice the better of the two choices made in
        hindsight. Dense ``A`` with ``n <= 4096`` only (``G`` then takes at
        most 128 MiB); the copies made by :meth:`take` share ``G``.
        """
        cache = self._gram
        if cache["G"] is not None:
            return cache["G"]
        if self.is_operator or self.n > 4096 or s > self.m:
            return None
        cache["work"] += float(self.m) * s * s
        if cache["work"] >= float(self.m) * self.n * self.n:
            cache["G"] = self.A.T @ self.A
            return cache["G"]
        return None

    # ------------------------------------------------------------------ scale
    def _probe(self):
        """Largest magnitude of ``A`` (an estimate for operators, which are checked here).

        A ``LinearOperator`` is applied once each way to a fixed random vector:
        the largest entry of the products estimates the scale of ``A`` (within
        a factor of about ``√n``, plenty for choosing a power of two), and a
        product with NaN or Inf is refused here, before any solver uses it.
        """
        if getattr(self, "_a_max", None) is None:
            if not self.is_operator:
                self._a_max = float(np.abs(self.A).max())
            else:
                rng = np.random.default_rng(0)
                dtype = self.dtype
                u = self.matvec(rng.standard_normal((self.n, 1)).astype(dtype))
                check_operator_output(u, "matvec")
                v = self.rmatvec(rng.standard_normal((self.m, 1)).astype(dtype))
                check_operator_output(v, "rmatvec")
                self._a_max = max(float(np.abs(u).max()) / np.sqrt(self.n),
                                  float(np.abs(v).max()) / np.sqrt(self.m))
        return self._a_max

    def normalized(self):
        """A copy with ``A`` and ``y`` divided by powers of two, and the :class:`Scaling` back.

        ``A`` is divided by ``2**a`` and ``y`` by ``2**b`` when their largest
        magnitudes lie outside ``2**±SCALE_BAND``; a solution ``x'`` of the copy
        is ``x = 2**(b − a)·x'`` here. Powers of two are exact, so the copy is
        the same problem in other units: relative tolerances, relative damping
        and the support are unchanged.

        Returns
        -------
        problem : Problem
            The copy (``self`` when nothing needs rescaling; ``x_true`` dropped).
        scaling : Scaling
            ``x = b − a``, ``r = b``, ``h = 2a``.

        Raises
        ------
        ValueError
            If ``A`` is a LinearOperator whose products are not finite.
        """
        ea = scale_exponent(self._probe())
        eb = scale_exponent(float(np.abs(self.Y).max()))
        if not (ea or eb):
            return self, Scaling()
        new = object.__new__(Problem)
        new.__dict__.update(self.__dict__)
        new.x_true = None
        if ea:
            if self.is_operator:
                # a float32 scalar keeps a float32 operator in float32
                kind = self.dtype.type if abs(ea) < 120 else float
                new.A = self.A * kind(2.0 ** -ea)
            else:
                new.A = np.ldexp(self.A, -ea)
            new._a_max = np.ldexp(self._a_max, -ea)
            new._norm2 = None if self._norm2 is None else float(np.ldexp(self._norm2, -ea))
            new._gram = {"work": 0.0, "G": None, "K": None}   # for the rescaled A
        if eb:
            new.Y = np.ldexp(self.Y, -eb)
            new.y = new.Y if self.multi else new.Y[:, 0]
            new.noise_std = float(np.ldexp(self.noise_std, -eb))
        return new, Scaling(x=eb - ea, r=eb, h=2 * ea)

    def warm_up_kind(self):
        return ("Problem", self.dtype.str, self.is_operator, self.multi)

    def warm_up_problem(self):
        rng = np.random.default_rng(0)
        A = rng.standard_normal((8, 16)).astype(self.dtype)
        X = np.zeros((16, 2 if self.multi else 1), dtype=self.dtype)
        X[[1, 6, 11]] = 1.0
        Y = A @ X
        return Problem(aslinearoperator(A) if self.is_operator else A,
                       Y if self.multi else Y[:, 0], 2)

    def norm2(self):
        """Spectral norm ``‖A‖₂`` (cached).

        Exact (LAPACK singular values) when ``min(m, n) <= 1500`` (for an
        operator, when ``n <= 8``: its columns are formed), otherwise
        Lanczos on ``AᵀA`` with relative tolerance 1e-8, which converges from
        below; the result is then multiplied by ``1 + 1e-6`` so that the IHT
        step ``1/‖A‖²`` stays on the safe side. A dense ``A`` far from unit
        scale is divided by a power of two first, so that ``AAᵀ`` neither
        underflows nor overflows.

        Returns
        -------
        float
            ``‖A‖₂`` (> 0).

        Raises
        ------
        ValueError
            If ``A`` is numerically zero, its norm overflows, or an operator
            returns NaN or Inf.
        """
        if self._norm2 is None:
            dense = self.A
            if self.is_operator and self.n <= 8:  # too small for Lanczos: its columns
                dense = self.columns(np.arange(self.n))
                check_operator_output(dense, "matvec")
            if not isinstance(dense, LinearOperator) and min(self.m, self.n) <= 1500:
                e = scale_exponent(float(np.abs(dense).max()))
                A = np.ldexp(dense, -e) if e else dense
                small = A @ A.T if self.m <= self.n else A.T @ A
                # driver="evx": LAPACK's default syevr fails ("Internal Error")
                # on clustered spectra such as a partial DCT's (A Aᵀ = (n/m) I).
                val = float(np.sqrt(max(sla.eigvalsh(small.astype(np.float64),
                                                     subset_by_index=[min(small.shape) - 1,
                                                                      min(small.shape) - 1],
                                                     driver="evx")[0],
                                        0.0)))
                val = float(np.ldexp(val, e))
            else:
                def gram_matvec(v):
                    u = self.matvec(v.reshape(-1, 1).astype(self.dtype))
                    check_operator_output(u, "matvec")
                    w = self.rmatvec(u)[:, 0]
                    check_operator_output(w, "rmatvec")
                    return w

                gram = LinearOperator((self.n, self.n), dtype=np.float64, matvec=gram_matvec)
                rng = np.random.default_rng(0)
                v0 = rng.standard_normal(self.n)
                lam = eigsh(gram, k=1, which="LA", tol=1e-8, v0=v0,
                            return_eigenvectors=False)[0]
                val = float(np.sqrt(max(lam, 0.0))) * (1 + 1e-6)
            if not np.isfinite(val):
                raise ValueError("The spectral norm of the 'A' argument of Problem overflows "
                                 f"{np.dtype(self.dtype).name}; divide A (and y) by a constant.")
            if not val > 0:
                raise ValueError("The 'A' argument of Problem is all zeros (its "
                                 "spectral norm is 0); nothing can be recovered.")
            self._norm2 = val
        return self._norm2

    # ------------------------------------------------------------ objectives
    def residual(self, X):
        """Compute the residual ``Y − A X``.

        Parameters
        ----------
        X : ndarray of shape (n, T)
            Block of signals.

        Returns
        -------
        ndarray of shape (m, T)
            The residual block.
        """
        return self.Y - self.matvec(X)

    def objective(self, X):
        """Compute the objective ``½‖A x_t − y_t‖²`` of every column t.

        Parameters
        ----------
        X : ndarray of shape (n, T)
            Block of signals.

        Returns
        -------
        ndarray of shape (T,)
            One objective value per column.
        """
        R = self.residual(X)
        return 0.5 * np.einsum("ij,ij->j", R, R)

    def gradient(self, X):
        """Compute the gradient ``Aᵀ(A X − Y)`` of the objective.

        Parameters
        ----------
        X : ndarray of shape (n, T)
            Block of signals.

        Returns
        -------
        ndarray of shape (n, T)
            The gradient, column by column.
        """
        return -self.rmatvec(self.residual(X))

    # ------------------------------------------------------ loop protocol
    def init_state(self, X0):
        Y = self.Y.astype(self.dtype, copy=False)
        R = Y - self.matvec(X0) if np.any(X0) else Y.copy()
        return {"X": X0, "Y": Y, "R": R}

    def measure(self, state):
        res = colnorm(state["R"])
        return 0.5 * res * res, res

    def reference_norm(self, state):
        return colnorm(state["Y"])

    def refresh(self, state, cols=None):
        if cols is None:
            state["R"] = state["Y"] - self.matvec_sparse(state["X"])
        else:
            state["R"][:, cols] = state["Y"][:, cols] - self.matvec(state["X"][:, cols])

    def gradient_at(self, state):
        return -self.rmatvec(state["R"])

    def __repr__(self):
        kind = "LinearOperator" if self.is_operator else "ndarray"
        return (f"Problem(A={kind}{self.shape}, n_signals={self.n_signals}, "
                f"{self.sparsity.describe()}, "
                f"noise_std={self.noise_std:g}, x_true={'yes' if self.x_true is not None else 'no'})")


def check_operator_output(out, which):
    """Refuse a non-finite product of a LinearOperator ``A`` with a finite input.

    Parameters
    ----------
    out : ndarray
        The product.
    which : {"matvec", "rmatvec"}
        Which product it was (named in the message).

    Raises
    ------
    ValueError
        If ``out`` holds NaN or Inf.
    """
    if not np.all(np.isfinite(out)):
        raise ValueError(f"The 'A' argument of Problem is a LinearOperator whose {which} "
                         "returned NaN or Inf for a finite input; sparserec needs an operator "
                         "with finite products.")


def _dense_product(M, X):
    """``M @ X`` for a block ``X`` (·, T); a single column goes through BLAS gemv.

    numpy sends an (·, 1) right-hand side to gemm, which on a memory-bound
    product is measurably (~10 %) slower than gemv on the same data.
    """
    if X.shape[1] == 1:
        return (M @ X[:, 0])[:, None]
    return M @ X


def _checked_cholesky(K):
    """``cho_factor(K)`` (lower), or None when it fails or is too ill-conditioned to trust.

    The test: the smallest squared pivot must exceed ``1e-10·max(diag K)``, an
    estimate of ``cond(K) < 1e10`` (relative accuracy better than ~1e-6 in
    float64 for the normal equations); otherwise the callers fall back to
    pivoted QR.
    """
    try:
        c = sla.cho_factor(K, lower=True, check_finite=False)
    except (sla.LinAlgError, ValueError):
        return None
    if np.abs(np.diag(c[0])).min() ** 2 > 1e-10 * np.diag(K).max():
        return c
    return None


def _gram_lstsq(G, S, AS, y):
    """:func:`restricted_lstsq` with the normal equations gathered from ``G = AᵀA``.

    Same numerics as the Cholesky fast path of :func:`restricted_lstsq` (the
    same matrix ``A_SᵀA_S``, up to the rounding of its entries), and the same
    fallback to pivoted QR on ``A_S`` when ``|S| > m`` or the factor is too
    ill-conditioned.
    """
    m, s = AS.shape
    if 0 < s <= m:
        c = _checked_cholesky(G[np.ix_(S, S)])
        if c is not None:
            return sla.cho_solve(c, AS.T @ y, check_finite=False)
    return restricted_lstsq(AS, y)


def restricted_lstsq(AS, y):
    """Least squares ``argmin_u ‖A_S u − y‖`` on a column subset.

    Uses a Cholesky factor of ``A_SᵀA_S`` (the fast path, cost
    ``O(m|S|² + |S|³)``). When ``|S| > m`` the system is underdetermined and
    the minimum-norm solution ``A_Sᵀ(A_SA_Sᵀ)⁻¹y`` comes from a Cholesky
    factor of the m × m matrix ``A_SA_Sᵀ`` (cost ``O(m²|S| + m³)``, about 3×
    less than pivoted QR at |S| ≈ 1.2m; CoSaMP and Subspace Pursuit reach it
    above ρ = 1/3 and 1/2). When either factorisation fails or is too
    ill-conditioned (estimated condition of the factored matrix above 1e10,
    i.e. relative accuracy worse than ~1e-6 in float64), it falls back to a
    pivoted-QR ``lstsq``, which returns the minimum-norm solution.

    Parameters
    ----------
    AS : ndarray of shape (m, s)
        The columns ``A_S`` of the kept set.
    y : ndarray of shape (m,) or (m, T)
        Right-hand side(s).

    Returns
    -------
    u : ndarray of shape (s,) or (s, T)
        The least-squares coefficients on ``S``.

    Examples
    --------
    >>> import numpy as np
    >>> restricted_lstsq(np.array([[1.0], [1.0]]), np.array([1.0, 3.0])).round(12).tolist()
    [2.0]
    """
    m, s = AS.shape
    if s == 0:
        return np.zeros((0,) + y.shape[1:], dtype=np.result_type(AS, y))
    if s <= m:
        c = _checked_cholesky(AS.T @ AS)
        if c is not None:
            return sla.cho_solve(c, AS.T @ y, check_finite=False)
    elif m > 0:
        c = _checked_cholesky(AS @ AS.T)
        if c is not None:
            return AS.T @ sla.cho_solve(c, y, check_finite=False)
    return sla.lstsq(AS, y, lapack_driver="gelsy", check_finite=False)[0]
