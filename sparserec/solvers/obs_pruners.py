r"""One-shot second-order pruners: OBD, OBS and WoodFisher.

Each starts from a dense point (``x0`` if given and nonzero, else the
(damped) least-squares solution) and prunes it to ``k`` nonzeros in one step
with no gradient step (the dense point is taken as stationary, ``∇f ≈ 0``).
The mathematics lives in array functions on rows ``W`` (r, n) sharing one
curvature — :func:`obd_prune`, :func:`obs_prune`, :func:`woodfisher_prune` —
so that layer pruning can call them directly.
"""
from __future__ import annotations

import numpy as np

from .._validation import check_choice, check_real, param_error
from ..curvature import CURVATURES, Curvature, WoodFisher, make_curvature
from ..kernels.obs import greedy_obs
from ..kernels.topk import topk
from ..problems import Problem
from ..pruning.layer import LayerProblem
from .base import Solver, register

__all__ = ["OBD", "OBS", "WoodFisherPruner", "obd_prune", "obs_prune", "woodfisher_prune"]


def _rows(W):
    W = np.asarray(W, dtype=np.float64)
    return (W[None, :], True) if W.ndim == 1 else (W, False)


def obd_prune(W, h_diag, k):
    r"""OBD: keep the top-k of :math:`h_{qq} w_q^2/2` in each row, no compensation.

    Parameters
    ----------
    W : ndarray of shape (n,) or (r, n)
    h_diag : ndarray of shape (n,)
        Diagonal of the curvature (not of its inverse).
    k : int

    Returns
    -------
    W_pruned : ndarray, same shape as ``W``
    """
    Wb, vec = _rows(W)
    score = np.sqrt(np.maximum(np.asarray(h_diag, dtype=np.float64), 0.0)) * Wb
    idx = topk(score.T, k)                          # (k, r)
    out = np.zeros_like(Wb)
    r = np.arange(Wb.shape[0])[None, :]
    out[r, idx] = Wb[r, idx]
    return out[0] if vec else out


def obs_prune(W, Hinv, k, *, return_trace=False):
    r"""OBS: remove ``n − k`` weights one at a time, cheapest saliency first, with the
    OBS update and the inverse downdate after each removal (:func:`~sparserec.kernels.greedy_obs`).
    """
    return greedy_obs(W, Hinv, k, return_trace=return_trace)


def woodfisher_prune(W, Hinv, k, *, update="sum"):
    r"""WoodFisher multi-weight pruning of each row.

    Parameters
    ----------
    W : ndarray of shape (n,) or (r, n)
    Hinv : ndarray of shape (n, n)
        Inverse curvature (e.g. ``WoodFisher(...).inverse()``).
    k : int
    update : {"sum", "group"}, default="sum"
        ``"sum"``: the sum of single-weight OBS updates over the pruned set,
        as in the WoodFisher reference code. ``"group"``: the exact group OBS
        correction :math:`-\hat F^{-1}_{:,Q}([\hat F^{-1}]_{QQ})^{-1}w_Q`.

    Notes
    -----
    Kept set: the top-k of :math:`\rho_q = w_q^2/[\hat F^{-1}]_{qq}`; ``Q`` is
    the rest. The summed update :math:`\delta = \sum_{q\in Q}
    -(w_q/[\hat F^{-1}]_{qq})\hat F^{-1}e_q` ignores interactions between
    pruned weights (ALGORITHMS.md, pitfall 5); the result is masked to ``S``.
    """
    check_choice(update, "update", "woodfisher_prune", ("sum", "group"))
    Wb, vec = _rows(W)
    Hinv = np.asarray(Hinv, dtype=np.float64)
    d = np.diag(Hinv)
    r, n = Wb.shape
    idx = topk((Wb / np.sqrt(d)).T, k)              # (k, r)
    out = np.zeros_like(Wb)
    for i in range(r):
        S = idx[:, i]
        mask = np.ones(n, dtype=bool)
        mask[S] = False
        Q = np.flatnonzero(mask)
        if update == "sum":
            delta = Hinv[:, Q] @ (-Wb[i, Q] / d[Q])
        else:
            delta = -Hinv[:, Q] @ np.linalg.solve(Hinv[np.ix_(Q, Q)], Wb[i, Q])
        out[i, S] = Wb[i, S] + delta[S]
    return out[0] if vec else out


class _OneShot(Solver):
    """A pruner: dense start, one pruning step.

    On a :class:`~sparserec.Problem` the dense start is ``x0`` (or the damped
    least-squares solution); on a :class:`~sparserec.pruning.LayerProblem` it is
    the layer's dense ``W`` and the curvature is the layer's Gram matrix
    (:mod:`sparserec.pruning.layerwise` holds that glue; the pruning math is the
    same functions as here).
    """

    accepts = (Problem, LayerProblem)
    default_curvature = "exact"

    def solve(self, problem, *, x0=None, callback=None):
        if isinstance(problem, LayerProblem):
            from ..pruning.layerwise import solve_layer
            self._check_problem(problem)
            self._validate_params(problem)
            return solve_layer(self, problem)
        return super().solve(problem, x0=x0, callback=callback)

    solve.__doc__ = Solver.solve.__doc__

    def _validate_params(self, problem):
        super()._validate_params(problem)
        owner = type(self).__name__
        if self.damping is not None:
            check_real(self.damping, "damping", owner, low=0.0, low_open=True,
                       expected="None or a positive real number (percdamp)")
        if isinstance(self.curvature, str):
            check_choice(self.curvature, "curvature", owner, tuple(CURVATURES))
        elif not isinstance(self.curvature, Curvature):
            raise param_error("curvature", owner, "a Curvature or one of "
                              + ", ".join(repr(c) for c in CURVATURES), self.curvature, TypeError)

    def _curv(self, problem):
        return make_curvature(self.curvature, problem, self.damping, owner=type(self).__name__)

    def _setup(self, problem, state):
        X = state["X"]
        cold = ~np.any(X != 0, axis=0)
        if np.any(cold):  # dense start: (damped) least squares
            owner = type(self).__name__
            C = make_curvature("exact", problem, self.damping, owner=owner)
            try:
                C.check_invertible()
            except ValueError as exc:
                raise ValueError(f"{owner} starts from the least-squares solution when x0 is "
                                 f"not given: {exc}") from None
            X = X.copy()
            X[:, cold] = C.solve(problem.rmatvec(state["Y"][:, cold]).astype(np.float64))
            state["X"] = X.astype(problem.dtype, copy=False)
            state["R"] = state["Y"] - problem.matvec(state["X"])
        return state

    def _prune(self, problem, W):
        raise NotImplementedError

    def _step(self, problem, state):
        W = self._prune(problem, state["X"].T.astype(np.float64))
        state["X"] = np.ascontiguousarray(W.T).astype(problem.dtype, copy=False)
        state["R"] = state["Y"] - problem.matvec_sparse(state["X"])
        state["done"] = np.ones(state["X"].shape[1], dtype=bool)
        return state


@register
class OBD(_OneShot):
    r"""Optimal Brain Damage: keep the top-k of the diagonal saliency, no compensation.

    Parameters
    ----------
    curvature : str or Curvature, default="exact"
        Only its diagonal :math:`h_{qq}` is used.
    damping : float or None, default=None
        Relative damping of the least-squares dense start (and of ``Ĥ``).
    max_iter : int, default=1
        Iteration cap of the base loop (the pruner stops after its one
        pruning step).
    tol : float, default=1e-10
        Relative tolerance of the stopping tests (change in ``x``, residual
        relative to ``‖y‖``); 0 disables early stopping.
    stagnation : int or None, default=None
        Stop when the support is unchanged for this many iterations; None
        disables the test.

    Notes
    -----
    .. math::  s_q = h_{qq} w_q^2 / 2,\qquad x^{+} = w \odot 1_{S},\ S = \text{top-}k(s).

    References
    ----------
    .. [1] Y. LeCun, J. S. Denker and S. A. Solla, "Optimal Brain Damage",
       NeurIPS 1989.
    """

    name = "obd"

    def __init__(self, *, curvature="exact", damping=None, max_iter=1, tol=1e-10,
                 stagnation=None):
        self.curvature = curvature
        self.damping = damping
        self.max_iter = max_iter
        self.tol = tol
        self.stagnation = stagnation

    def _prune(self, problem, W):
        return obd_prune(W, self._curv(problem).diag(), problem.k)


@register
class OBS(_OneShot):
    r"""Optimal Brain Surgeon: sequential single-weight removal with the full downdate.

    Parameters
    ----------
    curvature : str or Curvature, default="exact"
        ``"exact"``, ``"diagonal"``, ``"woodfisher"``, ``"identity"`` or a
        :class:`~sparserec.curvature.Curvature` (see
        :func:`~sparserec.curvature.make_curvature`).
    damping : float or None, default=None
        Relative damping; required when ``Ĥ`` is singular (``m < n``).
    max_iter : int, default=1
        Iteration cap of the base loop (the pruner stops after its one
        pruning step).
    tol : float, default=1e-10
        Relative tolerance of the stopping tests (change in ``x``, residual
        relative to ``‖y‖``); 0 disables early stopping.
    stagnation : int or None, default=None
        Stop when the support is unchanged for this many iterations; None
        disables the test.

    Notes
    -----
    Repeat ``n − k`` times: :math:`q = \arg\min_q w_q^2/(2[\hat H^{-1}]_{qq})`,
    :math:`w \leftarrow w - (w_q/[\hat H^{-1}]_{qq})\hat H^{-1}e_q`,
    :math:`\hat H^{-1} \leftarrow \hat H^{-1} - \hat H^{-1}e_qe_q^\top\hat H^{-1}/[\hat H^{-1}]_{qq}`.

    References
    ----------
    .. [1] B. Hassibi and D. G. Stork, "Second order derivatives for network
       pruning: Optimal Brain Surgeon", NeurIPS 1993.
    .. [2] E. Frantar, S. P. Singh and D. Alistarh, "Optimal Brain
       Compression", NeurIPS 2022.
    """

    name = "obs"

    def __init__(self, *, curvature="exact", damping=None, max_iter=1, tol=1e-10,
                 stagnation=None):
        self.curvature = curvature
        self.damping = damping
        self.max_iter = max_iter
        self.tol = tol
        self.stagnation = stagnation

    def _prune(self, problem, W):
        curv = self._curv(problem)
        try:
            Hinv = curv.inverse()
        except ValueError as exc:
            raise ValueError(f"OBS needs Ĥ⁻¹: {exc}") from None
        return obs_prune(W, Hinv, problem.k)


@register
class WoodFisherPruner(_OneShot):
    r"""WoodFisher one-shot pruning: Fisher saliency, summed (or group) OBS update.

    Parameters
    ----------
    curvature : str or Curvature, default="woodfisher"
        ``"woodfisher"`` builds :class:`~sparserec.curvature.WoodFisher` from
        the rows of ``A`` (:math:`\hat F = \lambda I + A^\top A/m`) with
        relative damping ``damping``.
    damping : float, default=0.01
        Relative damping (``λ = damping·mean(diag(AᵀA/m))``); also damps the
        least-squares dense start.
    update : {"sum", "group"}, default="sum"
        See :func:`woodfisher_prune`. The default is the reference code's sum
        of single-weight updates.
    block_size : int or None, default=None
        Block-diagonal Fisher (``woodfisherblock``).
    max_iter : int, default=1
        Iteration cap of the base loop (the pruner stops after its one
        pruning step).
    tol : float, default=1e-10
        Relative tolerance of the stopping tests (change in ``x``, residual
        relative to ``‖y‖``); 0 disables early stopping.
    stagnation : int or None, default=None
        Stop when the support is unchanged for this many iterations; None
        disables the test.

    Notes
    -----
    With the damped empirical Fisher :math:`\hat F = \lambda I + A^\top A/m`
    (inverted by the Woodbury recursion of
    :func:`~sparserec.curvature.woodbury_inverse`), each row ``w`` keeps the
    top-k of the saliency :math:`\rho_q = w_q^2/[\hat F^{-1}]_{qq}`; with
    ``Q`` the pruned set, the kept weights are corrected by

    .. math::  \delta = -\sum_{q\in Q} \frac{w_q}{[\hat F^{-1}]_{qq}}\,\hat F^{-1}e_q
               \quad(\texttt{update="sum"}),\qquad
               \delta = -\hat F^{-1}_{:,Q}\big([\hat F^{-1}]_{QQ}\big)^{-1}w_Q
               \quad(\texttt{update="group"}),

    and :math:`x^{+} = (w + \delta) \odot 1_S` (see :func:`woodfisher_prune`).

    References
    ----------
    .. [1] S. P. Singh and D. Alistarh, "WoodFisher: efficient second-order
       approximation for neural network compression", NeurIPS 2020.
    """

    name = "woodfisher"

    def __init__(self, *, curvature="woodfisher", damping=0.01, update="sum", block_size=None,
                 max_iter=1, tol=1e-10, stagnation=None):
        self.curvature = curvature
        self.damping = damping
        self.update = update
        self.block_size = block_size
        self.max_iter = max_iter
        self.tol = tol
        self.stagnation = stagnation

    def _validate_params(self, problem):
        super()._validate_params(problem)
        check_choice(self.update, "update", "WoodFisherPruner", ("sum", "group"))

    def _curv(self, problem):
        if isinstance(self.curvature, str) and self.curvature == "woodfisher":
            if self.damping is None:
                raise ValueError("The 'damping' parameter of WoodFisherPruner must be a positive "
                                 "real number: the Woodbury recursion starts from F₀⁻¹ = λ⁻¹I, "
                                 "so WoodFisher needs damping (e.g. damping=0.01); got None.")
            return WoodFisher(percdamp=self.damping, block_size=self.block_size).fit(problem)
        return super()._curv(problem)

    def _prune(self, problem, W):
        return woodfisher_prune(W, self._curv(problem).inverse(), problem.k, update=self.update)
