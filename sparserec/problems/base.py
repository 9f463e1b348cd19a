"""What every problem type offers the one solver loop.

A problem is an ``(n, T)`` block of unknowns (``T`` signals, or a layer's
``T`` outputs) with a smooth objective per column and a :class:`Sparsity`
constraint. The :class:`~sparserec.solvers.Solver` loop talks to it through
a small protocol, so that least squares (:class:`Problem`), smooth
objectives (:class:`ObjectiveProblem`) and layers (:class:`LayerProblem`)
all run through the same lifecycle:

``init_state(X0)``
    The loop's state dict: ``X`` (n, T) plus whatever the problem keeps up to
    date cheaply (least squares keeps the residual ``R = Y − AX``). Every
    array whose last axis indexes the columns is sliced with them.
``measure(state)``
    ``(objective, residual_norm)`` per column, for the history and the tests.
``reference_norm(state)``
    The scale of the relative residual test ``residual_norm <= tol·ref`` and
    of the divergence test (0 disables both).
``refresh(state, cols=None)``
    Recompute the problem's own state entries (of columns ``cols``, default
    all) after ``X`` changed: after a projection step, or after the loop put
    back the last finite iterate of diverged columns.
``gradient_at(state)``
    ``∇f`` per column at ``state["X"]``.
``normalized()``
    A copy scaled by powers of two (exact in floating point) so that its data
    are of order one, and the :class:`Scaling` that maps its solution back;
    the problem itself when its data are within ``2**±SCALE_BAND`` of one.
    Solvers work on it, so that no intermediate (``AᵀA``, ``‖r‖²``, ``Ĥ⁻¹``)
    overflows or underflows whatever the caller's units.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = ["SparseProblem", "colnorm", "Scaling", "SCALE_BAND", "scale_exponent"]

#: Data whose largest magnitude lies within ``2**±SCALE_BAND`` of one are solved
#: as given; outside that band the solvers work on a copy normalised by a power
#: of two. With the band at 16, the fourth powers that curvature computations
#: form (``(AᵀA)⁻¹`` products, OBS downdates) stay within ``2**±64``, far inside
#: float32 and float64, and absolute machine-epsilon tests stay meaningful.
SCALE_BAND = 16


def scale_exponent(max_abs, band=SCALE_BAND):
    """The power of two to divide by to bring ``max_abs`` into ``[0.5, 1)``, or 0.

    Parameters
    ----------
    max_abs : float
        The largest magnitude of some data (``≥ 0``).
    band : int, default=SCALE_BAND
        Exponents within ``[-band, band]`` count as "of order one" (0 returned).

    Returns
    -------
    int
        ``e`` with ``max_abs / 2**e ∈ [0.5, 1)`` when ``|e| > band``, else 0
        (also for 0 and non-finite input).

    Examples
    --------
    >>> scale_exponent(1e160), scale_exponent(3.0), scale_exponent(0.0)
    (532, 0, 0)
    """
    max_abs = float(max_abs)
    if not (max_abs > 0 and math.isfinite(max_abs)):
        return 0
    e = math.frexp(max_abs)[1]
    return e if abs(e) > band else 0


class Scaling(NamedTuple):
    """Powers of two relating a normalised problem to the caller's (exact in floating point).

    With ``p, s = problem.normalized()``, a solution ``x'`` of ``p`` is
    ``x = 2**x · x'`` for ``problem``; residual norms scale by ``2**r`` (the
    objective by ``2**(2r)``) and the curvature ``AᵀA`` (or ``H``) by ``2**h``.

    Parameters
    ----------
    x : int, default=0
        Exponent of the solution's scale.
    r : int, default=0
        Exponent of the residuals' scale.
    h : int, default=0
        Exponent of the curvature's scale (all three 0: not rescaled).
    """

    x: int = 0
    r: int = 0
    h: int = 0

    @property
    def identity(self):
        """Whether nothing was rescaled."""
        return not (self.x or self.r or self.h)


def colnorm(M):
    """Euclidean norm of every column of a 2-D array.

    Parameters
    ----------
    M : ndarray of shape (m, T)
        The block.

    Returns
    -------
    ndarray of shape (T,)
        ``‖M[:, t]‖₂`` for every column ``t``.
    """
    return np.sqrt(np.einsum("ij,ij->j", M, M))


class SparseProblem:
    """Base class of the problem types (see the module docstring for the protocol).

    Attributes
    ----------
    n : int
        Rows of the block (unknowns per column).
    n_signals : int
        Columns ``T``.
    multi : bool
        Whether results keep the 2-D layout (False: a single vector).
    dtype : numpy.dtype
        Working precision.
    sparsity : Sparsity
        The constraint every solver obeys.
    x_true : ndarray or None
        Ground truth (metrics only).
    """

    multi = False
    x_true = None
    dtype = np.dtype(np.float64)

    # ---------------------------------------------------------------- layout
    @property
    def X_true(self):
        """Ground truth as an ``(n, T)`` block, or None."""
        if self.x_true is None:
            return None
        return self.x_true if self.x_true.ndim == 2 else self.x_true[:, None]

    def unblock(self, X):
        """Return ``X`` (n, T) in the caller's layout: a vector for single-column problems.

        Parameters
        ----------
        X : ndarray of shape (n, T)
            A block with one column per signal.

        Returns
        -------
        ndarray of shape (n,) or (n, T)
            ``X[:, 0]`` when the problem is single-column, else ``X`` itself.
        """
        return X if self.multi else X[:, 0]

    @property
    def kcol(self):
        """Kept entries per column when the budget fixes them (``Sparsity.keep_per_column``)."""
        return self.sparsity.keep_per_column()

    def default_start(self):
        """Return the starting block used when the caller gives no ``x0``.

        Returns
        -------
        ndarray of shape (n, T)
            Zeros for least squares and objectives; a layer's dense weights
            (dead inputs zeroed).
        """
        return np.zeros((self.n, self.n_signals), dtype=self.dtype)

    # ---------------------------------------------------------------- protocol
    def init_state(self, X0):
        """Build the loop state for the starting block ``X0``.

        Parameters
        ----------
        X0 : ndarray of shape (n, T)
            The starting block (owned by the loop).

        Returns
        -------
        dict
            ``X`` plus the problem's own entries: least squares keeps ``Y`` and
            the residual ``R = Y − AX``; an objective problem the gradient ``G``.
        """
        return {"X": X0}

    def measure(self, state):
        """Compute the objective and a residual norm of every column of ``state``.

        Parameters
        ----------
        state : dict
            The loop state (its arrays hold the running columns).

        Returns
        -------
        objective : ndarray of shape (T,)
            ½‖Ax − y‖² (least squares), ``f(x)`` (objective), or the layer loss.
        residual_norm : ndarray of shape (T,)
            ‖Ax − y‖, ‖∇f(x)‖, or the output error ``√(2·loss)``.
        """
        raise NotImplementedError

    def reference_norm(self, state):
        """Return the scale of the relative residual and divergence tests, per column.

        Parameters
        ----------
        state : dict
            The loop state.

        Returns
        -------
        ndarray of shape (T,)
            ``‖y‖`` (least squares), the dense layer's output norm, or 0
            (objective problems: both tests off).
        """
        return np.zeros(state["X"].shape[1])

    def refresh(self, state, cols=None):
        """Recompute the problem's own entries of ``state`` after ``X`` changed.

        Parameters
        ----------
        state : dict
            The loop state (modified in place).
        cols : ndarray of int, optional
            Only these columns (default: all).
        """

    def normalized(self):
        """Return a copy of order-one scale and the :class:`Scaling` back to this problem.

        The default (objective problems, whose objective is user code) is the
        problem itself.

        Returns
        -------
        problem : SparseProblem
            The normalised copy (data shared where nothing changes), or ``self``.
        scaling : Scaling
            How its solution, residuals and curvature map back.
        """
        return self, Scaling()

    def warm_up_kind(self):
        """A hashable description of what a tiny stand-in must share with this problem.

        Solvers warm up (compile their numba kernels, outside the timed solve)
        once per process for every kind they meet. None, the default, means
        no stand-in can be built (objective problems: the objective is user
        code).

        Returns
        -------
        tuple or None
            The kind (type, dtype, and what selects code paths).
        """
        return None

    def warm_up_problem(self):
        """A tiny problem of the same :meth:`warm_up_kind` (None when there is none).

        Returns
        -------
        SparseProblem or None
            The stand-in, solved untimed once per solver and kind.
        """
        return None

    def gradient_at(self, state):
        """Return the gradient of the objective at ``state["X"]``, per column.

        Parameters
        ----------
        state : dict
            The loop state.

        Returns
        -------
        ndarray of shape (n, T)
            ``Aᵀ(AX − Y)``, ``∇f(x)``, or ``H(Ŵ − W)``.
        """
        raise NotImplementedError
