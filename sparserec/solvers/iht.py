"""Iterative Hard Thresholding (IHT) and its normalised step (NIHT)."""
from __future__ import annotations

import numpy as np

from ..kernels import topk_mask
from ..projection import Projection
from .base import Solver, check_step, register

__all__ = ["IHT", "normalized_step"]


def _colsq(M):
    return np.einsum("ij,ij->j", M, M)


def normalized_step(problem, X, P, k):
    """NIHT step ``‖p_Γ‖² / ‖A_Γ p_Γ‖²`` per column, the support mask Γ, and ``A_Γ p_Γ``.

    Γ is ``supp(x)``; for a zero column it is ``supp T_k(p)`` (``k`` per
    column, shape (T,)). When ``A_Γ p_Γ = 0`` the safe step ``1/‖A‖₂²`` is used.

    Returns
    -------
    mu : ndarray of shape (T,)
        The step of every column.
    mask : ndarray of bool, shape (n, T)
        Γ.
    AP : ndarray of shape (m, T)
        ``A_Γ p_Γ`` (reused for the residual update when the support does not change).
    """
    mask = X != 0
    empty = ~mask.any(axis=0)
    if empty.any():
        mask[:, empty] = topk_mask(P[:, empty], k[empty])
    Pg = np.where(mask, P, 0)
    AP = problem.matvec_sparse(Pg)
    num = _colsq(Pg)
    den = _colsq(AP)
    safe = den > 0
    if safe.all():
        mu = num / den
    else:
        mu = np.where(safe, num / np.where(safe, den, 1), 1.0 / problem.norm2() ** 2)
    return mu.astype(P.dtype, copy=False), mask, AP


@register
class IHT(Solver):
    r"""Iterative Hard Thresholding.

    Parameters
    ----------
    step : float, "normalized" or None, default=None
        Step size ``μ``. None uses ``1/‖A‖₂²``, for which IHT is guaranteed
        not to increase ``f``. ``"normalized"`` is NIHT (Blumensath & Davies
        2010): an exact line search along the gradient restricted to the
        current support, shrunk (halved) when the support changes and the
        step would not decrease ``f``; the objective is then non-increasing.
    max_iter : int, default=1000
        Maximum number of iterations (per signal).
    tol : float, default=1e-10
        Relative-change / relative-residual tolerance; 0 disables early stops.
    stagnation : int or None, default=None
        Stop when the support is unchanged for this many iterations.
    stall : int or None, default=None
        Stop a column whose residual fell by less than a factor ``0.999**stall``
        over the last ``stall`` iterations (``status="stalled"``; see
        :class:`~sparserec.solvers.Solver`). None disables the test.

    Notes
    -----
    With ``p = Aᵀ(y − Ax)``,

    .. math::  x^{+} = T_k(x + \mu\, p),

    where :math:`T_k` keeps the ``k`` largest magnitudes (lower index wins
    ties). NIHT sets :math:`\mu = \|p_\Gamma\|^2 / \|A_\Gamma p_\Gamma\|^2` on
    :math:`\Gamma = \mathrm{supp}(x)` and, if the support changes, accepts
    only when :math:`\mu \le (1-c)\|x^+ - x\|^2/\|A(x^+ - x)\|^2` with
    ``c = 0.01``, else halves ``μ``; this gives
    :math:`f(x^+) \le f(x) - c\|x^+-x\|^2/(2\mu)`.

    Float32 problems are solved in float32.

    References
    ----------
    .. [1] T. Blumensath and M. E. Davies, "Iterative hard thresholding for
       compressed sensing", Appl. Comput. Harmon. Anal. 27(3), 2009.
    .. [2] T. Blumensath and M. E. Davies, "Normalized iterative hard
       thresholding: guaranteed stability and performance", IEEE J. Sel.
       Topics Signal Process. 4(2), 2010.

    Examples
    --------
    >>> from sparserec import solvers
    >>> from sparserec.ensembles import make_problem
    >>> problem = make_problem(128, 256, 10, seed=0)
    >>> res = solvers.get("iht", step="normalized").solve(problem)
    >>> res.status, bool(res.rel_error < 1e-6)
    ('converged', True)
    """

    name = "iht"
    monotone = True     # for step=None (μ ≤ 1/‖A‖²) and step="normalized"; not for any user step
    c = 0.01            # NIHT sufficient-decrease constant
    max_backtrack = 60  # 2**-60 shrinks any step to nothing

    def __init__(self, *, step=None, max_iter=1000, tol=1e-10, stagnation=None, stall=None):
        self.step = step
        self.max_iter = max_iter
        self.tol = tol
        self.stagnation = stagnation
        self.stall = stall

    def _validate_params(self, problem):
        super()._validate_params(problem)
        check_step(self.step, type(self).__name__)

    _projection = Projection("topk")

    def _scaled_params(self, scaling):
        # an explicit step is in units of 1/‖A‖²; "normalized" and None are scale-free
        params = super()._scaled_params(scaling)
        if params is not None and not (params["step"] is None or isinstance(params["step"], str)):
            params["step"] = float(np.ldexp(float(params["step"]), scaling.h))
        return params

    def _setup(self, problem, state):
        # mu in the problem's dtype, so that float32 problems stay float32
        if self.step is None:
            state["mu"] = np.full(problem.n_signals, 1.0 / problem.norm2() ** 2,
                                  dtype=problem.dtype)
        elif self.step == "normalized":
            state["mu"] = np.zeros(problem.n_signals, dtype=problem.dtype)
        else:
            state["mu"] = np.full(problem.n_signals, float(self.step), dtype=problem.dtype)
        return state

    def _step(self, problem, state):
        X, R = state["X"], state["R"]
        sparsity = self._sparsity(problem, state)
        P = problem.rmatvec(R)
        if self.step == "normalized":
            return self._niht_step(problem, state, P, sparsity)
        X_new, _ = self._projection(X + state["mu"] * P, sparsity)
        state["X"] = X_new
        state["R"] = state["Y"] - problem.matvec_sparse(X_new)
        return state

    def _niht_step(self, problem, state, P, sparsity):
        """One NIHT step on every column (two products with ``A`` once the support is stable).

        With ``Γ = supp(x)`` unchanged by the thresholding, ``x⁺ − x = μ p_Γ`` and the
        residual update ``r⁺ = r − μ A_Γ p_Γ`` reuses the product the step needed. A
        column whose support changes pays one more product ``A(x⁺ − x)`` for the
        backtracking test, and ``μ`` is halved until it passes.
        """
        X, R = state["X"], state["R"]
        proj = self._projection
        mu, mask, AP = normalized_step(problem, X, P, sparsity.k)
        X_new, kept = proj(X + mu * P, sparsity)
        R_new = R - mu * AP                     # exact for the columns that keep Γ
        todo = np.flatnonzero((kept != mask).any(axis=0))
        cand, K = X_new[:, todo], kept[:, todo]
        for _ in range(self.max_backtrack):
            if todo.size == 0:
                break
            D = cand - X[:, todo]
            AD = self._changed_product(problem, D, K, mask[:, todo], mu[todo], P[:, todo],
                                       AP[:, todo])
            dd = _colsq(D)
            add = _colsq(AD)
            omega = np.where(add > 0, (1 - self.c) * dd / np.where(add > 0, add, 1), np.inf)
            ok = (dd == 0) | (mu[todo] <= omega)
            X_new[:, todo[ok]] = cand[:, ok]
            R_new[:, todo[ok]] = R[:, todo[ok]] - AD[:, ok]
            todo = todo[~ok]
            if todo.size == 0:
                break
            mu[todo] *= 0.5  # mu <- mu / (kappa (1 - c)) with kappa (1 - c) = 2
            cand, K = proj(X[:, todo] + mu[todo] * P[:, todo], sparsity.take(todo))
            same = ~np.any(K != mask[:, todo], axis=0)
            acc = todo[same]                      # back on Γ: x⁺ − x = μ p_Γ again
            X_new[:, acc] = cand[:, same]
            R_new[:, acc] = R[:, acc] - mu[acc] * AP[:, acc]
            cand, K, todo = cand[:, ~same], K[:, ~same], todo[~same]
        if todo.size:  # step shrunk to nothing: x is a fixed point
            X_new[:, todo] = X[:, todo]
            R_new[:, todo] = R[:, todo]
        state["X"], state["R"], state["mu"] = X_new, R_new, mu
        return state

    @staticmethod
    def _changed_product(problem, D, K, M, mu, P, AP):
        r"""``A D`` for ``D = x⁺ − x`` from the product the step already has.

        With ``Γ`` = ``M`` (the old support) and ``Γ⁺`` = ``K`` (the new one),
        ``D = μ p`` on ``Γ ∩ Γ⁺``, ``−x`` on ``Γ \ Γ⁺`` and ``μ p`` on ``Γ⁺ \ Γ``,
        so ``A D = μ A_Γ p_Γ + A E`` where ``E`` is nonzero only on the
        indices that changed: ``−x − μ p`` on the dropped ones and ``μ p`` on
        the added ones. ``A E`` reads a few columns instead of all of ``A``;
        the result equals ``A D`` up to rounding.
        """
        E = np.where(M & ~K, D - mu * P, np.where(K & ~M, D, 0))
        return mu * AP + problem.matvec_sparse(E)
