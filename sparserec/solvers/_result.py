"""What every solver returns: :class:`Result`, and the statuses it can carry."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Result", "STATUSES", "REASONS"]

#: Every status a Result can carry (their meaning: :class:`Result`).
STATUSES = ("converged", "max_iter", "stalled", "diverged")
#: Every stopping reason (which test ended the run; see :class:`Result`).
REASONS = ("tol", "residual", "stagnation", "stall", "solver", "callback", "max_iter",
           "diverged")


@dataclass
class Result:
    """What every solver returns.

    Each parameter is stored as the attribute of the same name.

    Parameters
    ----------
    x : ndarray of shape (n,) or (n, T)
        The solution (one column per signal for multi-RHS problems; for layer
        problems, the pruned weight matrix).
    support : ndarray of bool, same shape as ``x``
        The kept set (mask).
    n_iter : int or ndarray of shape (T,)
        Iterations run, per signal.
    status : str or ndarray of str, shape (T,)
        How the run of each signal ended (one of :data:`STATUSES`; see Notes).
    reason : str or ndarray of str, shape (T,)
        Which test ended it (one of :data:`REASONS`; see Notes).
    history : dict of ndarray
        Per iteration (rows) and signal (columns, dropped for single-RHS):
        ``objective`` (½‖Ax − y‖² for least squares, ``f(x)`` for an
        objective, the layer loss for a layer; ``inf`` only where that value
        exceeds the floating-point range), ``residual_norm`` (‖Ax − y‖,
        ‖∇f(x)‖, or the output error ‖X̃(Ŵ − W)‖·√(2/N)), ``support_changes`` and
        ``time`` (cumulative seconds spent solving: bookkeeping, callbacks and
        compilation excluded). Columns that stopped keep their last value.
        Always in the caller's units, even when the solver worked on a
        rescaled copy of the problem.
    solve_time : float
        Seconds spent solving (setup included; bookkeeping, metrics and numba
        compilation excluded).
    solver : str
        Registry name of the solver.
    params : dict
        The solver's hyperparameters.
    rel_error, distance : float or ndarray or None
        ``‖x − x_true‖/‖x_true‖`` and ``‖x − x_true‖`` when the problem
        carries a ground truth, computed after the timed loop.
    recovered : bool or ndarray of bool or None
        Whether each signal was recovered, ``rel_error <=``
        :data:`~sparserec.metrics.DEFAULT_SUCCESS_THRESHOLD` (1e-3, Blanchard
        and Tanner's criterion), when the problem carries a ground truth;
        None otherwise. For another threshold use
        :func:`sparserec.metrics.success`.
    compile_time : float
        Seconds spent compiling numba kernels (or loading them from numba's
        cache) during this call, including the untimed warm-up solve of a tiny
        problem that a solver runs the first time it meets a kind of problem
        in a process. Not part of ``solve_time``.

    Notes
    -----
    **Statuses** say how a run stopped, never whether it found the right
    answer:

    ``"converged"``
        A stopping test was met: the iterate stopped moving
        (``reason="tol"``), the residual fell below ``tol`` relative to its
        reference (``"residual"``), the support did not change for
        ``stagnation`` iterations (``"stagnation"``), the solver's own
        criterion fired (``"solver"``: OMP selected its atoms, a one-shot
        pruner made its projection, HTP's support repeated, ...), or the
        callback asked to stop (``"callback"``). A converged run may sit at a
        wrong point: default IHT, for instance, can stop with ``reason="tol"``
        at a k-sparse fixed point whose relative error is a few percent.
    ``"max_iter"``
        The iteration cap was reached (``reason="max_iter"``).
    ``"stalled"``
        The residual fell by less than a factor ``0.999**stall`` over the
        last ``stall`` iterations (``reason="stall"``), when ``stall`` is set.
    ``"diverged"``
        A non-finite iterate or objective, or a residual beyond
        ``divergence_factor`` times its reference, appeared
        (``reason="diverged"``). ``x`` is then the last finite iterate; when
        that iterate does not meet the sparsity target (a dense start),
        ``solve`` raises a ValueError instead.

    **Recovery** is a different question, answered only when the truth is
    known: ``recovered``, ``rel_error`` and ``distance`` compare ``x`` with
    ``x_true`` after the timed loop.
    """

    x: np.ndarray
    support: np.ndarray
    n_iter: object
    status: object
    reason: object = None
    history: dict = field(default_factory=dict)
    solve_time: float = 0.0
    solver: str = ""
    params: dict = field(default_factory=dict)
    rel_error: object = None
    distance: object = None
    recovered: object = None
    compile_time: float = 0.0

    def __repr__(self):
        return (f"Result(solver={self.solver!r}, status={self.status!r}, n_iter={self.n_iter!r}, "
                f"x.shape={self.x.shape}, solve_time={self.solve_time:.3g}s)")
