r"""Gauss–Newton curvature of a loss: Hassibi, Stork & Wolff's "general error measures"."""
from __future__ import annotations

import numpy as np

from ..problems import LayerProblem, ObjectiveProblem, Problem
from ..problems.rows import ArrayRows, RowFactor
from .lowrank import BlockLowRank

__all__ = ["GaussNewton", "gauss_newton_rows"]


def gauss_newton_rows(problem, x=None, kind="GaussNewton"):
    """The Gauss–Newton row factor of a problem (see :meth:`GaussNewton.fit`).

    Parameters
    ----------
    problem : SparseProblem or RowFactor
        The problem (a row factor is returned as given).
    x : ndarray of shape (n,), optional
        Point of an objective problem's rows (default: its starting point).
    kind : str, default="GaussNewton"
        Name used in error messages.

    Returns
    -------
    RowFactor
        Rows ``U`` with the Gauss–Newton matrix ``(1/N) UᵀU``.
    """
    if isinstance(problem, RowFactor):
        return problem
    if isinstance(problem, Problem):
        A = problem.A if not problem.is_operator else problem.columns(np.arange(problem.n))
        return ArrayRows(np.asarray(A, dtype=np.float64), n_samples=1.0)
    if isinstance(problem, LayerProblem):
        if problem.X is None:
            raise ValueError(f"{kind} of a layer needs its calibration inputs; {problem!r} is "
                             "in Gram form (use curvature='exact').")
        Xb = problem.Xb
        return ArrayRows(np.asarray(Xb, dtype=np.float64), n_samples=Xb.shape[0] / 2.0)
    if isinstance(problem, ObjectiveProblem):
        fn = getattr(problem.objective, "gauss_newton_rows", None)
        if fn is None:
            raise ValueError(f"{kind} needs the objective's Gauss–Newton rows; "
                             f"{type(problem.objective).__name__} of {problem!r} has no "
                             "gauss_newton_rows(x) method.")
        x = problem.default_start()[:, 0] if x is None else np.asarray(x, dtype=np.float64)
        return fn(x)
    raise TypeError(f"{kind}.fit expects a Problem, LayerProblem, ObjectiveProblem or a "
                    f"RowFactor; got {type(problem).__name__}.")


class GaussNewton(BlockLowRank):
    r"""Gauss–Newton curvature :math:`\frac1N\sum_n J_n^\top\Lambda_nJ_n` (+ λI), block-diagonal.

    Hassibi, Stork & Wolff's OBS for general error measures [1]_: the outer-product
    approximation of the Hessian of a loss :math:`\ell(z(\theta))` keeps
    :math:`J^\top(\partial^2\ell/\partial z^2)J` and drops the residual term.

    Parameters
    ----------
    lam : float, default=0.0
        Absolute damping (solvers damp through ``damping``, relative).
    blocks : sequence of (int, int) or None, default=None
        Diagonal blocks; None: the problem's natural ones (a network's layers).
    block_size : int or None, default=None
        Cut every block into chunks of this many coordinates.
    method : {"auto", "dense", "samples"}, default="auto"
        Block representation (see :class:`BlockLowRank`).

    Notes
    -----
    :meth:`fit` takes the rows from the problem: for a network loss
    (:class:`~sparserec.problems.NetworkLossProblem`) the ``N·C`` rows
    :math:`\sqrt{p_{nc}}J_n^\top(e_c - p_n)` (:math:`\Lambda_n =
    \mathrm{diag}(p_n) - p_np_n^\top`, the softmax cross-entropy); for least
    squares the rows of ``A`` (``N = 1``: the Gauss–Newton matrix of
    :math:`\tfrac12\|Ax - y\|^2` is :math:`A^\top A`, exact); for a layer the
    rows of ``X̃`` with ``N/2`` (its ``H = 2X̃ᵀX̃/N``).

    References
    ----------
    .. [1] B. Hassibi, D. G. Stork and G. J. Wolff, "Optimal Brain Surgeon and
       general network pruning", IEEE ICNN 1993.
    """

    name = "gauss_newton"

    def __init__(self, *, lam=0.0, blocks=None, block_size=None, method="auto"):
        super().__init__(lam=lam, blocks=blocks, block_size=block_size, method=method)

    def fit(self, problem, x=None):
        """Take the Gauss–Newton rows of ``problem`` at ``x`` (see the class Notes).

        Parameters
        ----------
        problem : SparseProblem or RowFactor
            The problem (or the rows themselves).
        x : ndarray of shape (n,), optional
            Point of an objective problem's rows (default: its starting point).

        Returns
        -------
        GaussNewton
            The curvature itself.
        """
        self._set_rows(gauss_newton_rows(problem, x))
        return self
