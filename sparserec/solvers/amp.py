"""Approximate message passing (AMP) with soft thresholding (Donoho, Maleki & Montanari 2009)."""
from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from .._validation import check_choice, check_real, param_error
from ..theory import donoho_tanner_tau, minimax_threshold
from .base import Solver, register

__all__ = ["AMP", "SIGMA_ESTIMATES", "TAU_RULES"]

#: How the effective noise level ``σ_t`` is estimated from the AMP residual ``z``.
SIGMA_ESTIMATES = ("norm", "median")
#: Named threshold rules (a number is also accepted).
TAU_RULES = ("minimax", "maximin")

#: ``Φ⁻¹(3/4)``: the median of ``|Z|`` for ``Z ~ N(0, 1)``.
_MAD = float(ndtri(0.75))
#: Columns of an operator ``A`` densified at a time to compute their norms.
_CHUNK = 256


def _column_norms(problem):
    """``‖a_j‖`` for every column (chunked for a LinearOperator)."""
    if not problem.is_operator:
        A = problem.A
        return np.sqrt(np.einsum("ij,ij->j", A, A)).astype(problem.dtype, copy=False)
    out = np.empty(problem.n, dtype=problem.dtype)
    for start in range(0, problem.n, _CHUNK):
        cols = np.arange(start, min(start + _CHUNK, problem.n))
        block = problem.columns(cols)
        out[cols] = np.sqrt(np.einsum("ij,ij->j", block, block))
    return out


@register
class AMP(Solver):
    r"""Approximate message passing with soft thresholding at the minimax threshold.

    Parameters
    ----------
    tau : {"minimax", "maximin"} or float, default="minimax"
        Threshold multiplier ``τ`` (the threshold is ``τσ_t``).
        ``"minimax"``: the minimax soft threshold
        :func:`sparserec.theory.minimax_threshold` at the fraction of
        nonzeros ``ε = k/n = ρδ`` of each column (its own ``k``), the
        threshold whose state evolution reaches the Donoho–Tanner ℓ1 curve.
        ``"maximin"``: Donoho, Maleki & Montanari's ``τ(δ)``, the minimax
        threshold *on* the curve at the problem's ``δ = m/n``
        (:func:`sparserec.theory.donoho_tanner_tau`), the same for every
        column and independent of ``k``. A number ``τ >= 0`` is used as is.
    sigma : {"norm", "median"}, default="norm"
        Estimate of the effective noise level: ``‖z‖₂/√m`` (the consistent
        estimate of state evolution's ``σ_t``) or
        ``median|z_i| / Φ⁻¹(3/4)`` (robust to a few large residual entries).
    max_iter : int, default=1000
        Maximum number of iterations (per signal).
    tol : float, default=1e-10
        Relative tolerance of the stopping tests (change in ``x``, residual
        relative to ``‖y‖``); 0 disables early stopping.
    stall : int or None, default=None
        Stop a column whose residual fell by less than a factor
        ``0.999**stall`` over the last ``stall`` iterations
        (``status="stalled"``; see :class:`~sparserec.solvers.Solver`). Above
        the phase transition AMP settles at a nonzero fixed point; this stops
        it early there. None disables the test.

    Notes
    -----
    AMP runs on the column-normalised matrix :math:`\tilde A = A D^{-1}`,
    :math:`D = \mathrm{diag}(\|a_j\|_2)` (unit-norm columns, as its theory
    assumes for i.i.d. ``N(0, 1/m)`` entries), on :math:`\tilde x = Dx`.
    With :math:`\eta(u; \theta) = \mathrm{sign}(u)(|u| - \theta)_+`,
    ``δ = m/n``, :math:`x^0 = 0`, :math:`z^0 = y`:

    .. math::

        \tilde x^{t+1} &= \eta(\tilde x^t + \tilde A^\top z^t;\ \tau\sigma_t),
        \qquad \sigma_t = \|z^t\|_2/\sqrt m, \\
        z^{t+1} &= y - \tilde A \tilde x^{t+1}
            + \tfrac{1}{\delta}\, z^t\, \langle \eta'(\tilde x^t + \tilde A^\top z^t;
            \tau\sigma_t) \rangle ,

    where :math:`\langle\eta'\rangle = \|\tilde x^{t+1}\|_0 / n` (the
    Onsager term, :math:`\|\tilde x^{t+1}\|_0/m` times :math:`z^t`); the
    returned iterate is :math:`x = D^{-1}\tilde x`, and ``history["tau"]``
    holds each column's ``τ``. Cost per iteration: one product with
    :math:`A^\top` and one with ``A`` (on the support of ``x``), ``O(mn)``;
    for a ``LinearOperator`` the column norms cost ``n`` applications of ``A``
    once (in blocks of 256 unit vectors).

    For i.i.d. Gaussian ``A`` the error follows state evolution
    (:func:`sparserec.theory.amp_state_evolution`), and in the noiseless
    case with the minimax threshold ``x^t → x₀`` exactly when ``(δ, ρ)``
    lies below the Donoho–Tanner curve (``M(ε) < δ``) [1]_. Any fixed point
    with threshold ``θ`` is a Lasso minimiser,
    :math:`\min \tfrac12\|y - \tilde A\tilde x\|^2 + \lambda\|\tilde x\|_1`,
    :math:`\lambda = \theta(1 - \|\tilde x\|_0/m)` [1]_; noiseless and below
    the curve ``θ → 0`` and AMP converges to the basis-pursuit solution.

    AMP uses ``k`` only to choose ``τ`` and does not enforce it
    (``enforces_k = False``): the iterate is returned as is, and recovery is
    judged on that estimate. Matrices far from i.i.d. (correlated,
    ill-conditioned, nonzero mean) can make AMP diverge; the base loop then
    stops the column with ``status="diverged"`` and returns its last finite
    iterate. Float32 problems are solved in float32.

    References
    ----------
    .. [1] D. L. Donoho, A. Maleki and A. Montanari, "Message-passing
       algorithms for compressed sensing", PNAS 106(45), 2009.
    .. [2] M. Bayati and A. Montanari, "The dynamics of message passing on
       dense graphs, with applications to compressed sensing", IEEE Trans.
       Inf. Theory 57(2), 2011.
    .. [3] A. Montanari, "Graphical models concepts in compressed sensing", in
       Compressed Sensing: Theory and Applications, Y. C. Eldar and G.
       Kutyniok (eds.), Cambridge University Press, 2012.

    Examples
    --------
    >>> from sparserec import solvers
    >>> from sparserec.ensembles import make_problem
    >>> problem = make_problem(128, 256, 10, seed=0)
    >>> res = solvers.get("amp").solve(problem)
    >>> res.status, bool(res.rel_error < 1e-6)
    ('converged', True)
    """

    name = "amp"
    enforces_k = False   # k only sets the threshold; the AMP iterate is returned
    monotone = False
    stagnation = None    # no support test: AMP's support settles long before its values

    def __init__(self, *, tau="minimax", sigma="norm", max_iter=1000, tol=1e-10, stall=None):
        self.tau = tau
        self.sigma = sigma
        self.max_iter = max_iter
        self.tol = tol
        self.stall = stall

    def _validate_params(self, problem):
        super()._validate_params(problem)
        owner = type(self).__name__
        if isinstance(self.tau, str):
            check_choice(self.tau, "tau", owner, TAU_RULES)
        elif self.tau is None or isinstance(self.tau, (bool, np.bool_)):
            raise param_error("tau", owner, "'minimax', 'maximin' or a real number >= 0",
                              self.tau, TypeError)
        else:
            check_real(self.tau, "tau", owner, low=0.0,
                       expected="'minimax', 'maximin' or a real number >= 0")
        check_choice(self.sigma, "sigma", owner, SIGMA_ESTIMATES)

    def _taus(self, problem):
        """``τ`` per column, shape (T,)."""
        T = problem.n_signals
        if self.tau == "minimax":
            eps = np.asarray(problem.sparsity.k, dtype=float) / problem.n
            return np.asarray(minimax_threshold(np.broadcast_to(eps, (T,))), dtype=float)
        if self.tau == "maximin":
            return np.full(T, donoho_tanner_tau(problem.m / problem.n) if problem.m < problem.n
                           else 0.0)
        return np.full(T, float(self.tau))

    # ------------------------------------------------------------ hooks
    def _setup(self, problem, state):
        d = _column_norms(problem)
        d = np.where(d > 0, d, 1)  # a zero column never enters x (its correlation is 0)
        tau = self._taus(problem)
        state["tau"] = tau.astype(problem.dtype)
        state["Z"] = state["R"].copy()  # z⁰ = y − A x⁰ (no Onsager term yet)
        # per-solve data, in a dict so that the base loop does not slice it by column
        state["amp"] = {"d": d[:, None]}
        state["extra"] = {"tau": tau}
        return state

    def _sigma(self, Z):
        if self.sigma == "norm":
            return np.sqrt(np.einsum("ij,ij->j", Z, Z) / Z.shape[0])
        return np.median(np.abs(Z), axis=0) / _MAD

    def _step(self, problem, state):
        X, Z, Y = state["X"], state["Z"], state["Y"]
        d = state["amp"]["d"]
        with np.errstate(over="ignore", invalid="ignore"):  # blow-ups are caught by the loop
            theta = state["tau"] * self._sigma(Z)
            U = d * X + problem.rmatvec(Z) / d       # pseudo-data x̃ + Ãᵀz
            Xt = np.sign(U) * np.maximum(np.abs(U) - theta, 0)
            X_new = Xt / d
            R = Y - problem.matvec_sparse(X_new)
            onsager = (np.count_nonzero(Xt, axis=0) / problem.m).astype(Z.dtype)  # ⟨η'⟩/δ
            state["Z"] = R + onsager * Z
        state["X"], state["R"] = X_new, R
        return state
