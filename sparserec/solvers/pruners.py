r"""Layer-wise pruners: magnitude, L-OBS, OBC (ExactOBS), SparseGPT and Net-Trim.

Every pruner here is an ordinary registered solver that accepts a
:class:`sparserec.pruning.LayerProblem` and returns a
:class:`~sparserec.solvers.Result` whose ``x`` is the pruned block ``Ŵ``
(shape ``(n, d_out)``, the bias as the last row when folded; see
:meth:`LayerProblem.split`) and ``support`` its mask. They are one-shot
methods, so the lifecycle is ``setup → one step → finalize`` and the base
loop's stopping tests do not apply; the history holds the layer loss per
output and the time.

In DESIGN.md's table they are all "one step from a dense near-stationary
point" (z = W) followed by a projection: magnitude (top-k, no correction),
L-OBS (fixed OBS saliency, sequential corrections with a fixed inverse),
OBC (greedy OBS with exact downdates), SparseGPT (blocked greedy along a
fixed column order); Net-Trim is a convex program beside the loop.
"""
from __future__ import annotations

import time

import numpy as np
import scipy.linalg as sla

from .._validation import check_choice, check_int, check_real, param_error
from ..pruning.layer import LayerProblem, n_pruned, nm_mask, prune_smallest
from ..pruning._lobs import lobs_sequential
from .base import Result, Solver, register

__all__ = ["LayerPruner", "Magnitude", "LOBS", "OBC", "SparseGPT", "NetTrim"]


class LayerPruner(Solver):
    """Base class of one-shot layer pruners (``accepts = (LayerProblem,)``).

    Subclasses implement ``_prune(problem) -> (W_hat, extra_history)``, or the
    ``_setup``/``_step``/``_finalize`` hooks on a state dict whose last axis
    indexes outputs (``state["X"]`` is the (n, T) block being pruned).
    """

    accepts = (LayerProblem,)
    enforces_k = True
    #: sparsity kinds the pruner accepts: "fraction", "nm", None.
    sparsity_kinds = ("fraction", "nm")

    def __init__(self):
        pass

    def _validate_params(self, problem):
        pass

    def _check_sparsity(self, problem):
        if problem.kind not in self.sparsity_kinds:
            what = {None: "sparsity=None (no target)", "fraction": "a fractional sparsity",
                    "nm": f"an N:M pattern ({problem.sparsity!r})"}[problem.kind]
            raise ValueError(f"{type(self).__name__} cannot prune {problem!r}: it needs "
                             + " or ".join({"fraction": "a fraction", "nm": "an 'N:M' string",
                                            None: "sparsity=None"}[k]
                                           for k in self.sparsity_kinds)
                             + f", got {what}.")

    def solve(self, problem, *, x0=None, callback=None):
        """Prune ``problem`` and return a :class:`Result` (``x0`` and ``callback`` unused).

        Parameters
        ----------
        problem : LayerProblem
            The layer to prune (its sparsity kind must be in ``sparsity_kinds``).
        x0 : None
            One-shot pruners start from the problem's dense weights; to prune
            another target use :meth:`LayerProblem.with_weights`.
        callback : None or callable
            Called once after the step with ``{"iteration": 1, "x": Ŵ}``.

        Returns
        -------
        Result
            ``x`` is the pruned block ``Ŵ`` of shape ``(n, T)`` and ``support``
            its nonzero mask; ``history`` holds the per-output ``objective``
            (the layer loss), ``time`` and ``layer_error`` (plus any
            pruner-specific entries).
        """
        self._check_problem(problem)
        self._validate_params(problem)
        self._check_sparsity(problem)
        if x0 is not None:
            raise TypeError(f"{type(self).__name__}.solve takes no 'x0': one-shot pruners start "
                            "from the problem's weights; use LayerProblem.with_weights(W) to "
                            "prune another target.")
        if callback is not None and not callable(callback):
            raise TypeError(f"The 'callback' argument of {type(self).__name__}.solve must "
                            f"be callable or None; got {type(callback).__name__}.")
        t0 = time.perf_counter()
        state = {"X": problem.W_live.copy()}
        state = self._setup(problem, state)
        state = self._step(problem, state)
        state = self._finalize(problem, state)
        elapsed = time.perf_counter() - t0
        W = state["X"]
        if callback is not None:
            callback({"iteration": 1, "x": W})
        loss = problem.loss(W)
        history = {"objective": loss[None, :], "time": np.array([elapsed]),
                   "layer_error": np.array([problem.relative_error(W)])}
        history.update(state.get("history", {}))
        T = problem.T
        return Result(x=W, support=W != 0, n_iter=np.ones(T, dtype=np.int64),
                      status=np.full(T, "converged"), reason=np.full(T, "solver"),
                      history=history, solve_time=float(elapsed), solver=self.name,
                      params=self.get_params())

    def _setup(self, problem, state):
        return state

    def _step(self, problem, state):
        out = self._prune(problem, state["X"])
        if isinstance(out, tuple):
            out, hist = out
            state["history"] = {k: np.atleast_1d(np.asarray(v)) for k, v in hist.items()}
        state["X"] = out
        return state

    def _prune(self, problem, W):  # pragma: no cover - abstract
        raise NotImplementedError


def mask_from_scores(problem, scores):
    """Pruned mask (True = pruned) from scores (n, T) under the problem's spec.

    Global allocation ranks the whole layer, uniform ranks each output, and
    N:M ranks each group of M consecutive inputs; the lowest scores are
    pruned, ties keep the lower index.

    Parameters
    ----------
    problem : LayerProblem
        Gives the sparsity kind, counts and allocation.
    scores : ndarray of shape (n, T)
        Importance of each weight (lowest pruned first).

    Returns
    -------
    mask : ndarray of bool, shape (n, T)
        True where the weight is pruned.
    """
    if problem.kind == "nm":
        N, M = problem.nm
        return nm_mask(scores, N, M)
    if problem.allocation == "uniform":
        return prune_smallest(scores, problem.n_prune_per_output(), axis=0)
    return prune_smallest(scores, problem.n_prune_total())


# ----------------------------------------------------------------- magnitude
@register
class Magnitude(LayerPruner):
    r"""Magnitude pruning: zero the smallest ``|w|`` (the baseline).

    Notes
    -----
    :math:`\hat W = W \odot \mathbb 1[|W| \text{ among the kept}]`, no
    correction (DESIGN.md: top-k selection, no correction). Global allocation
    ranks all weights of the layer; uniform ranks each output; N:M ranks each
    group.

    References
    ----------
    .. [1] S. Han, J. Pool, J. Tran, W. Dally, "Learning both weights and
       connections for efficient neural networks", NeurIPS 2015.
    """

    name = "magnitude"

    def _prune(self, problem, W):
        W[mask_from_scores(problem, np.abs(W))] = 0.0
        return W


# ----------------------------------------------------------------- L-OBS
@register
class LOBS(LayerPruner):
    r"""Layer-wise OBS (L-OBS): fixed saliencies, sequential updates with a fixed inverse.

    Parameters
    ----------
    mask_every : float or None, default=0.05
        Re-zero every weight pruned so far after each further ``mask_every``
        fraction of the pruned count (the reference's 5 % checkpoints); None
        applies the mask only at the end.
    engine : {"numba", "numpy"}, default="numba"
        Engine of the sequential-update kernel
        (:func:`sparserec.pruning._lobs.lobs_sequential`).

    Notes
    -----
    With :math:`\Psi^{-1} = \hat H^{-1}` (damped, see below), L-OBS computes
    once :math:`L_{ij} = w_{ij}^2/[\Psi^{-1}]_{ii}`, prunes the lowest
    (layer-global ranking with ``allocation="global"``), and in ascending
    order applies

    .. math:: w_{:,j} \leftarrow w_{:,j} - \frac{w_{ij}}{[\Psi^{-1}]_{ii}} \Psi^{-1}_{:,i}

    with the current ``w_ij`` and no downdate. Differences from the reference
    code, on purpose: ``Ψ`` is relatively damped (ALGORITHMS.md pitfall 7:
    the reference's fc1 ``Ψ`` is singular and its shipped inverse is wrong),
    so the saliency needs no ``+1e-5`` in the denominator; ``Ψ = X̃ᵀX̃``
    (sum, not mean) is equivalent under relative damping. Fold the bias
    (``fold_bias=True``) to prune it as L-OBS does.

    References
    ----------
    .. [1] X. Dong, S. Chen, S. J. Pan, "Learning to prune deep neural networks
       via layer-wise optimal brain surgeon", NeurIPS 2017.
    """

    name = "lobs"

    def __init__(self, *, mask_every=0.05, engine="numba"):
        self.mask_every = mask_every
        self.engine = engine

    def _validate_params(self, problem):
        if self.mask_every is not None:
            check_real(self.mask_every, "mask_every", "LOBS", low=0.0, high=1.0, low_open=True,
                       expected="None or a float in (0, 1]")
        check_choice(self.engine, "engine", "LOBS", ("numba", "numpy"))

    def _prune(self, problem, W):
        Hinv = problem.inverse()
        d = np.diag(Hinv)
        scores = W * W / d[:, None]
        mask = mask_from_scores(problem, scores)
        rows, cols = np.nonzero(mask)
        order = np.argsort(scores[rows, cols], kind="stable")
        rows, cols = rows[order], cols[order]
        P = rows.size
        if self.mask_every is None:
            cps = np.zeros(0, dtype=np.int64)
        else:
            step = max(1, int(np.floor(self.mask_every * P + 0.5)))
            cps = np.arange(step, P + 1, step, dtype=np.int64)
        return lobs_sequential(W, Hinv, rows, cols, cps, engine=self.engine)


# ----------------------------------------------------------------- OBC
@register
class OBC(LayerPruner):
    r"""Optimal Brain Compression (ExactOBS): greedy OBS per output with exact downdates.

    Parameters
    ----------
    engine : {"numba", "numpy"}, default="numba"
        Engine of the shared greedy kernel :func:`sparserec.kernels.obs.greedy_obs`.

    Notes
    -----
    For every output ``j`` (a row in the reference's layout), repeatedly

    .. math:: q^\star = \arg\min_q \frac{w_q^2}{[\hat H^{-1}]_{qq}},\quad
              w \leftarrow w - \frac{w_{q^\star}}{[\hat H^{-1}]_{q^\star q^\star}}
              \hat H^{-1}_{:,q^\star},\quad
              \hat H^{-1} \leftarrow \hat H^{-1} - \frac{\hat H^{-1}_{:,q^\star}
              \hat H^{-1}_{q^\star,:}}{[\hat H^{-1}]_{q^\star q^\star}} .

    The loop is the I-OBS core's vectorised greedy kernel (no second copy).
    ``allocation="global"`` follows OBC's ``prune_blocked``: one full pass
    records every output's trace of loss increments; all ``n·T`` increments
    are sorted and the smallest ``⌊s·n·T + ½⌋`` are pruned, so output ``j``
    prunes ``k_j`` weights (its count among them); a second pass of the
    kernel with per-output ``k`` produces the weights (the traces are cached
    on the problem, so sweeping sparsities costs one pass each). This
    assumes each output's increments are non-decreasing, as OBC does.
    ``allocation="uniform"`` prunes the same count in every output. N:M
    (OBC's ``nmprune``) is the same kernel with ``nm=(N, M)``: a coordinate
    whose group of M consecutive inputs already has N zeros gets score
    :math:`+\infty`, so every output ends with exactly N zeros per group
    (``(n/M)·N`` removals).

    References
    ----------
    .. [1] E. Frantar, S. P. Singh, D. Alistarh, "Optimal Brain Compression: a
       framework for accurate post-training quantization and pruning", NeurIPS 2022.
    .. [2] B. Hassibi, D. G. Stork, "Second order derivatives for network
       pruning: Optimal Brain Surgeon", NeurIPS 1993.
    """

    name = "obc"

    def __init__(self, *, engine="numba"):
        self.engine = engine

    def _validate_params(self, problem):
        check_choice(self.engine, "engine", "OBC", ("numba", "numpy"))

    def _prune(self, problem, W):
        from ..kernels.obs import greedy_obs

        Hinv = problem.inverse()
        Wt = np.ascontiguousarray(W.T)
        n = problem.n
        if problem.kind == "nm":
            # OBC's nmprune: the same greedy kernel, full groups blocked (score ∞)
            return greedy_obs(Wt, Hinv, nm=tuple(problem.nm), engine=self.engine).T.copy()
        if problem.allocation == "uniform":
            k = n - problem.n_prune_per_output()
            return greedy_obs(Wt, Hinv, k, engine=self.engine).T.copy()
        trace = problem.cached(("obc_trace", self.engine), lambda: greedy_obs(
            Wt, Hinv, 0, return_trace=True, engine=self.engine)[1])
        # prune_blocked: the P smallest increments over the layer; ties keep the lower index.
        P = problem.n_prune_total()
        pruned = prune_smallest(np.nan_to_num(trace, nan=np.inf), P)
        counts = pruned.sum(axis=1)
        return greedy_obs(Wt, Hinv, (n - counts).astype(np.int64), engine=self.engine).T.copy()


# ----------------------------------------------------------------- SparseGPT
def _sparsegpt_numpy(Wt, U, fraction, allocation, nm, blocksize):
    """SparseGPT's column sweep on ``Wt`` (T × n, PyTorch layout), in place.

    ``U`` is the upper Cholesky factor of ``Ĥ⁻¹``. Returns ``(Wt, losses)``.
    """
    r, c = Wt.shape
    losses = np.zeros(r)
    dU = np.diag(U)
    for i1 in range(0, c, blocksize):
        i2 = min(i1 + blocksize, c)
        cnt = i2 - i1
        W1 = Wt[:, i1:i2].copy()
        Q1 = np.zeros_like(W1)
        Err1 = np.zeros_like(W1)
        U1 = U[i1:i2, i1:i2]
        d1 = dU[i1:i2]
        if nm is None:
            score = W1 * W1 / (d1 * d1)[None, :]
            if allocation == "global":
                n_blk = n_pruned(r * i2, fraction) - n_pruned(r * i1, fraction)
                mask1 = prune_smallest(score, n_blk)
            else:
                n_blk = n_pruned(i2, fraction) - n_pruned(i1, fraction)
                mask1 = prune_smallest(score, n_blk, axis=1)
        else:
            mask1 = np.zeros_like(W1, dtype=bool)
        for i in range(cnt):
            if nm is not None and i % nm[1] == 0:
                N, M = nm
                score = W1[:, i:i + M] ** 2 / (d1[i:i + M] ** 2)[None, :]
                mask1[:, i:i + M] = prune_smallest(score, N, axis=1)
            w = W1[:, i]
            d = U1[i, i]
            q = np.where(mask1[:, i], 0.0, w)
            Q1[:, i] = q
            losses += (w - q) ** 2 / d ** 2 / 2
            err = (w - q) / d
            W1[:, i:] -= np.outer(err, U1[i, i:])
            Err1[:, i] = err
        Wt[:, i1:i2] = Q1
        Wt[:, i2:] -= Err1 @ U[i1:i2, i2:]
    return Wt, losses


@register
class SparseGPT(LayerPruner):
    r"""SparseGPT: one Cholesky factor of ``Ĥ⁻¹``, blocked column sweep, adaptive masks.

    Parameters
    ----------
    blocksize : int, default=128
        Columns (inputs) per block; the mask of a block is chosen from the
        already-updated weights at its start. Must be a multiple of M for N:M.

    Notes
    -----
    Let :math:`\hat H^{-1} = U^\top U` (``U`` upper triangular). Row ``j``
    of ``U`` is row ``j`` of :math:`(\hat H_{F_j})^{-1}`, ``F_j = {j, …, n−1}``,
    divided by :math:`\sqrt{[(\hat H_{F_j})^{-1}]_{jj}}`, so one factorisation
    gives every OBS downdate of the left-to-right order. For input ``j``
    (in sparserec's layout: row ``j`` of ``W``), with ``q`` its masked value,

    .. math:: e = (w_j - q)/U_{jj},\qquad W_{j:,\,\cdot} \mathrel{-}= U_{j,j:}^\top e^\top,
              \qquad \Delta L = (w_j - q)^2 / (2U_{jj}^2),

    with the updates of later blocks applied lazily, once per block. The
    mask of a block prunes the lowest :math:`w^2/U_{jj}^2` over all outputs
    × block inputs (``allocation="global"``, the reference) or per output
    (``"uniform"``); N:M prunes the N lowest of each group of M per output.
    Counts are exact: block ``[i₁, i₂)`` prunes ``⌊s·T·i₂+½⌋ − ⌊s·T·i₁+½⌋``
    (the reference prunes ``score ≤ sorted[⌊p·numel⌋]``, one more plus ties).
    The computation runs in sparserec's W transposed (PyTorch layout).

    References
    ----------
    .. [1] E. Frantar, D. Alistarh, "SparseGPT: massive language models can be
       accurately pruned in one-shot", ICML 2023.
    """

    name = "sparsegpt"

    def __init__(self, *, blocksize=128):
        self.blocksize = blocksize

    def _validate_params(self, problem):
        check_int(self.blocksize, "blocksize", "SparseGPT", low=1)
        if problem.kind == "nm" and self.blocksize % problem.nm[1]:
            raise param_error("blocksize", "SparseGPT",
                              f"a multiple of M={problem.nm[1]} for the N:M pattern "
                              f"{problem.sparsity!r}", self.blocksize)

    def _prune(self, problem, W):
        Hinv = problem.inverse()
        U = sla.cholesky(Hinv, lower=False, check_finite=False)
        Wt = np.array(W.T, order="C")
        Wt, losses = _sparsegpt_numpy(Wt, U, problem.fraction, problem.allocation,
                                      problem.nm if problem.kind == "nm" else None,
                                      int(self.blocksize))
        return Wt.T.copy(), {"sparsegpt_loss": losses}


# ----------------------------------------------------------------- Net-Trim
@register
class NetTrim(LayerPruner):
    r"""Net-Trim: ℓ1 minimisation under a layer-output tolerance (convex).

    Parameters
    ----------
    epsilon : float, default=0.05
        Relative tolerance: ``‖(X̃U − Y)_Ω‖_F ≤ epsilon·‖Y‖_F``.
    method : {"admm", "cvxpy"}, default="admm"
        Solve by the reference's ADMM (exactly sparse iterate) or with cvxpy.
    cascade : bool, default=False
        Cascade version: the problem's ``X`` holds the pruned network's
        inputs and ``target`` the dense outputs; ``V = X̃W`` on Ωᶜ and
        ``ε² = γ‖(X̃W − Y)_Ω‖²`` (see :func:`sparserec.pruning.nettrim.nettrim_data`).
    gamma : float, default=1.1
        Cascade slack.
    rho : float, default=1.0
        Initial ADMM penalty (rebalanced during the run).
    max_iter : int, default=3000
        ADMM iterations.
    tol : float, default=1e-4
        ADMM relative residual tolerance.
    bisect_iter : int, default=12
        Bisection steps on ``epsilon`` (log scale, in [1e-4, 1]) when the
        problem has a fractional ``sparsity`` target; the run whose density
        is closest to ``1 − sparsity`` is returned.
    cvxpy_solver : str, default="CLARABEL"
        Name of the cvxpy solver used with ``method="cvxpy"``.

    Notes
    -----
    Solves (Ω = ``{Y > 1e-6}``; a linear layer keeps only the first constraint
    on all entries)

    .. math:: \min_U \|U\|_1 \ \text{s.t.}\ \|(\tilde XU - Y)_\Omega\|_F \le \epsilon,
              \quad (\tilde XU)_{\Omega^c} \le V_{\Omega^c} .

    Needs the inputs (not a Gram-form problem) and a "relu" or "linear"
    activation. ADMM returns the exactly sparse soft-thresholded iterate;
    cvxpy returns the conic solution with entries below ``1e-8·max|U|``
    zeroed. The bias is pruned when folded (densities then count it).
    ``sparsity=None`` uses ``epsilon`` as given; a fraction bisects it.

    References
    ----------
    .. [1] A. Aghasi, A. Abdi, N. Nguyen, J. Romberg, "Net-Trim: convex pruning
       of deep neural networks with performance guarantee", NeurIPS 2017.
    .. [2] A. Aghasi, A. Abdi, J. Romberg, "Fast convex pruning of deep neural
       networks", SIAM J. Math. Data Sci. 2(1), 2020.
    """

    name = "nettrim"
    enforces_k = False
    sparsity_kinds = (None, "fraction")

    def __init__(self, *, epsilon=0.05, method="admm", cascade=False, gamma=1.1, rho=1.0,
                 max_iter=3000, tol=1e-4, bisect_iter=12, cvxpy_solver="CLARABEL"):
        self.epsilon = epsilon
        self.method = method
        self.cascade = cascade
        self.gamma = gamma
        self.rho = rho
        self.max_iter = max_iter
        self.tol = tol
        self.bisect_iter = bisect_iter
        self.cvxpy_solver = cvxpy_solver

    def _validate_params(self, problem):
        owner = "NetTrim"
        check_real(self.epsilon, "epsilon", owner, low=0.0)
        check_choice(self.method, "method", owner, ("admm", "cvxpy"))
        if not isinstance(self.cascade, (bool, np.bool_)):
            raise param_error("cascade", owner, "a bool", self.cascade, TypeError)
        check_real(self.gamma, "gamma", owner, low=1.0)
        check_real(self.rho, "rho", owner, low=0.0, low_open=True)
        check_int(self.max_iter, "max_iter", owner, low=1)
        check_real(self.tol, "tol", owner, low=0.0, low_open=True)
        check_int(self.bisect_iter, "bisect_iter", owner, low=1)
        if problem.activation not in ("relu", "linear"):
            raise ValueError(f"NetTrim needs a ReLU (or linear, for the last layer) layer; "
                             f"got activation={problem.activation!r} in {problem!r}.")
        if problem.X is None:
            raise ValueError(f"NetTrim needs the layer inputs X; {problem!r} was built from a "
                             "Gram matrix (LayerProblem.from_gram). Build it with "
                             "LayerProblem(X, W, ...).")

    def _solve_eps(self, problem, eps, warm=None):
        from ..pruning.nettrim import admm, nettrim_data, solve_cvxpy

        data = nettrim_data(problem, eps, cascade=bool(self.cascade), gamma=float(self.gamma))
        if self.method == "admm":
            U, info = admm(data, rho=float(self.rho), max_iter=int(self.max_iter),
                           tol=float(self.tol), state=warm)
            return U, info
        U, info = solve_cvxpy(data, solver=self.cvxpy_solver)
        U = np.where(np.abs(U) > 1e-8 * max(np.abs(U).max(), 1e-300), U, 0.0)
        return U, info

    def _prune(self, problem, W):
        if problem.kind is None:
            U, info = self._solve_eps(problem, float(self.epsilon))
            return U, {k: v for k, v in info.items() if np.isscalar(v) and not isinstance(v, str)}
        target = 1.0 - problem.fraction
        lo, hi = np.log(1e-4), np.log(1.0)
        best = None
        warm = None
        for _ in range(int(self.bisect_iter)):
            mid = 0.5 * (lo + hi)
            U, info = self._solve_eps(problem, float(np.exp(mid)), warm)
            warm = info.get("state")
            dens = np.count_nonzero(U) / U.size
            if best is None or abs(dens - target) < abs(best[1] - target):
                best = (U, dens, float(np.exp(mid)))
            if dens > target:
                lo = mid
            else:
                hi = mid
        return best[0], {"epsilon": best[2], "density": best[1]}
