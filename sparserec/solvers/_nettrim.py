r"""Net-Trim's convex programs: their data, the reference ADMM, and the cvxpy program.

For one layer with inputs ``X̃`` (samples × n, ones column last when the bias
is folded), targets ``Y = ReLU(X̃W)`` and active set ``Ω = {Y > 1e-6}``:

.. math::  \min_U \|U\|_1 \quad\text{s.t.}\quad
           \|(\tilde XU - Y)_\Omega\|_F \le \epsilon,\qquad
           (\tilde XU)_{\Omega^c} \le V_{\Omega^c}.

A linear layer keeps only ``‖X̃U − Y‖_F ≤ ε`` (Ω = everything, no V).
A bias left unfolded is a fixed offset ``b``: the constraints are applied to
``X̃U + b`` (i.e. ``Y − b`` and ``V − b`` replace ``Y`` and ``V``).

Two solvers, which agree (tests pin it):

* :func:`admm` — the reference ADMM of Net-Trim, with one Cholesky factor
  of ``X̃ᵀX̃/c₀² + I`` (``c₀ = 0.3·√max(X̃ᵀX̃)``), the ε-ball projection on Ω,
  the clamp on Ωᶜ and soft thresholding; it returns the soft-thresholded
  copy ``W₂`` (exactly sparse). Added here: ADMM residual stopping and
  residual balancing of ρ during the first iterations (free, since the factor
  does not depend on ρ).
* :func:`solve_cvxpy` — a DPP cvxpy program built once per layer's data
  with ε as its Parameter, re-solved with Clarabel (see :func:`build_cvxpy`
  for why the data are not Parameters).

References
----------
.. [1] A. Aghasi, A. Abdi, N. Nguyen, J. Romberg, "Net-Trim: convex pruning of
   deep neural networks with performance guarantee", NeurIPS 2017.
.. [2] A. Aghasi, A. Abdi, J. Romberg, "Fast convex pruning of deep neural
   networks", SIAM J. Math. Data Sci. 2(1), 2020.
"""
from __future__ import annotations

import hashlib

import cvxpy as cp
import numpy as np
import scipy.linalg as sla

__all__ = ["NetTrimData", "nettrim_data", "admm", "solve_cvxpy", "build_cvxpy",
           "constraint_violation", "OMEGA_THRESHOLD"]

#: Net-Trim's active-set threshold on the ReLU outputs (reference code).
OMEGA_THRESHOLD = 1e-6


class NetTrimData:
    """The data of one Net-Trim program (offsets already removed).

    Parameters
    ----------
    X : ndarray of shape (N, n)
        Layer inputs.
    Y : ndarray of shape (N, T)
        Targets minus the fixed bias offset.
    omega : ndarray of bool of shape (N, T) or None
        Active set Ω (None for a linear layer).
    V : ndarray of shape (N, T) or None
        Upper bounds on Ωᶜ.
    epsilon : float
        Absolute tolerance of the Ω constraint.
    e0 : float, default=0.0
        Cascade only: ``‖(X̂W − Y)_Ω‖_F``, the fit of the dense weights on the
        pruned inputs (``ε = √γ·e0``); 0 in the parallel version.

    Attributes
    ----------
    X : ndarray of shape (N, n)
    Y : ndarray of shape (N, T)
        Targets minus the fixed bias offset.
    omega : ndarray of bool of shape (N, T), or None for a linear layer
    V : ndarray of shape (N, T) or None
        Upper bounds on Ωᶜ (ignored on Ω).
    epsilon : float
        Absolute tolerance of the Ω constraint.
    e0 : float
        The cascade's reference fit (0 when ``ε`` is relative to ``‖Y‖``).
    """

    def __init__(self, X, Y, omega, V, epsilon, e0=0.0):
        self.X, self.Y, self.omega, self.V, self.epsilon = X, Y, omega, V, float(epsilon)
        self.e0 = float(e0)

    @property
    def gamma_driven(self):
        """Whether ``ε = √γ·e0`` (the cascade with pruned inputs) rather than relative."""
        return self.e0 > 0


def nettrim_data(problem, epsilon, *, cascade=False, gamma=1.1):
    r"""Build the Net-Trim program of a :class:`~sparserec.pruning.LayerProblem`.

    Parameters
    ----------
    problem : LayerProblem
        With inputs ``X`` (not Gram form) and activation "relu" or "linear".
    epsilon : float
        Relative tolerance: ``‖(X̃U − Y)_Ω‖_F ≤ epsilon·‖Y‖_F`` (parallel
        version, ``V = 0``).
    cascade : bool, default=False
        Cascade version (``X`` holds the pruned network's inputs and
        ``problem.target`` the dense network's outputs): ``V = X̃W`` on Ωᶜ and
        :math:`\epsilon^2 = \gamma\|(\tilde XW - Y)_\Omega\|_F^2`, so the
        dense ``W`` stays feasible; ``epsilon`` is then not used. When that
        fit is zero (unpruned inputs, the first layer) the relative
        ``epsilon`` is used, as in the reference.
    gamma : float, default=1.1
        Cascade slack ``γ``.

    Returns
    -------
    NetTrimData
        The program's data.
    """
    X = problem.Xb
    Y = problem.targets()
    offset = problem.bias if (problem.bias is not None and not problem.fold_bias) else 0.0
    Yt = Y - offset
    relu = problem.activation == "relu"
    omega = (Y > OMEGA_THRESHOLD) if relu else None
    eps = epsilon * float(np.linalg.norm(Y))
    V = None
    e0 = 0.0
    if cascade:
        pre = X @ problem.W  # X̂W, offset removed
        diff = pre - Yt
        if relu:
            diff = np.where(omega, diff, 0.0)
        e0 = float(np.linalg.norm(diff))
        if e0 > 0:
            eps = np.sqrt(gamma) * e0
        if relu:
            V = np.where(omega, 0.0, pre)
    elif relu:
        V = np.zeros_like(Yt) - offset
    if relu:
        Yt = np.where(omega, Yt, 0.0)
        V = np.where(omega, 0.0, V)
    return NetTrimData(X, Yt, omega, V, eps, e0)


def constraint_violation(data, U):
    """Constraint violations of ``U`` in a Net-Trim program (both ≤ 0 when feasible).

    Parameters
    ----------
    data : NetTrimData
        The program.
    U : ndarray of shape (n, T)
        Candidate weights.

    Returns
    -------
    fit_excess : float
        ``‖(XU − Y)_Ω‖_F − ε``.
    bound_excess : float
        ``max (XU − V)_{Ωᶜ}`` (−inf for a linear layer or an empty Ωᶜ).
    """
    Z = data.X @ U
    if data.omega is None:
        return float(np.linalg.norm(Z - data.Y)) - data.epsilon, -np.inf
    D = np.where(data.omega, Z - data.Y, 0.0)
    over = np.where(data.omega, -np.inf, Z - data.V)
    return float(np.linalg.norm(D)) - data.epsilon, float(over.max()) if over.size else -np.inf


def admm(data, *, rho=1.0, max_iter=3000, tol=1e-4, adaptive=True, adapt_iter=1000, U0=None,
         state=None):
    r"""Solve a Net-Trim program with the reference's ADMM.

    Parameters
    ----------
    data : NetTrimData
        The program (see :func:`nettrim_data`).
    rho : float, default=1.0
        Initial penalty (scaled units; with ``adaptive`` it is rebalanced).
    max_iter : int, default=3000
        Maximum number of iterations.
    tol : float, default=1e-4
        Relative tolerance of the primal and dual residuals.
    adaptive : bool, default=True
        Residual balancing: ρ ×/÷ 2 when one residual exceeds 10× the other
        (checked every 10 iterations).
    adapt_iter : int, default=1000
        Balance only during the first ``adapt_iter`` iterations of the call;
        ρ is fixed afterwards. ADMM with a varying penalty is guaranteed to
        converge once ρ stops changing [1]_; balancing without a stop can
        flip ρ back and forth indefinitely and stall the iterates (observed on
        planted ReLU layers: the error to the conic solution grew from 1e-3 at
        3 000 iterations to 1e-2 at 20 000).
    U0 : ndarray of shape (n, T), optional
        Warm start of ``W₃`` and ``W₂``.
    state : dict, optional
        Full warm start (a previous call's ``info["state"]``).

    Returns
    -------
    U : ndarray of shape (n, T)
        The soft-thresholded iterate ``W₂`` (exactly sparse).
    info : dict
        ``n_iter``, ``converged``, ``rho``, ``primal``, ``dual`` and ``state``.

    References
    ----------
    .. [1] S. Boyd, N. Parikh, E. Chu, B. Peleato, J. Eckstein, "Distributed
       optimization and statistical learning via the alternating direction
       method of multipliers", Found. Trends Mach. Learn. 3(1), 2011, §3.4.1.

    Notes
    -----
    Scaled form, with ``X ← X/c₀`` (also ``Y, V, ε``) and
    ``C = XᵀX + I = LLᵀ``:

    .. math::
        Z &= XW_3 - U_1,\\
        (W_1)_\Omega &= Y_\Omega + \min\!\big(1, \epsilon/\|Z_\Omega - Y_\Omega\|_F\big)
                       (Z_\Omega - Y_\Omega),\quad (W_1)_{\Omega^c} = \min(Z, V)_{\Omega^c},\\
        W_2 &= \operatorname{soft}(W_3 - U_2, 1/\rho),\\
        W_3 &= C^{-1}\big(X^\top(W_1 + U_1) + W_2 + U_2\big),\\
        U_1 &\mathrel{+}= W_1 - XW_3,\qquad U_2 \mathrel{+}= W_2 - W_3 .
    """
    X0 = data.X
    N, n = X0.shape
    T = data.Y.shape[1]
    G = X0.T @ X0
    c0 = 0.3 * np.sqrt(float(np.max(G)))
    X = X0 / c0
    Y = data.Y / c0
    eps = data.epsilon / c0
    om = data.omega
    V = None if data.V is None else data.V / c0
    L = sla.cholesky(G / c0 ** 2 + np.eye(n), lower=True, check_finite=False)
    if state is not None:
        W3, W2, U1, U2 = (np.array(state[k], dtype=np.float64) for k in ("W3", "W2", "U1", "U2"))
        rho = float(state["rho"])
    else:
        W3 = np.zeros((n, T)) if U0 is None else np.array(U0, dtype=np.float64)
        W2 = W3.copy()
        U1 = np.zeros((N, T))
        U2 = np.zeros((n, T))
    XW3 = X @ W3
    ynorm = max(float(np.linalg.norm(Y)), 1e-300)
    converged = False
    r = s = np.inf
    it = 0
    for it in range(1, int(max_iter) + 1):
        Z = XW3 - U1
        if om is None:
            D = Z - Y
            nd = float(np.linalg.norm(D))
            W1 = Y + (min(1.0, eps / nd) if nd > 0 else 1.0) * D
        else:
            D = np.where(om, Z - Y, 0.0)
            nd = float(np.linalg.norm(D))
            g = min(1.0, eps / nd) if nd > 0 else 1.0
            W1 = np.where(om, Y + g * D, np.minimum(Z, V))
        A = W3 - U2
        W2 = np.sign(A) * np.maximum(np.abs(A) - 1.0 / rho, 0.0)
        W3_old = W3
        XW3_old = XW3
        B = X.T @ (W1 + U1) + W2 + U2
        W3 = sla.cho_solve((L, True), B, check_finite=False)
        XW3 = X @ W3
        R1 = W1 - XW3
        R2 = W2 - W3
        U1 += R1
        U2 += R2
        r = np.sqrt(float(np.vdot(R1, R1) + np.vdot(R2, R2)))
        dW = W3 - W3_old
        dX = XW3 - XW3_old
        s = rho * np.sqrt(float(np.vdot(dX, dX) + np.vdot(dW, dW)))
        scale_p = max(np.sqrt(float(np.vdot(XW3, XW3) + np.vdot(W3, W3))), ynorm)
        scale_d = rho * np.sqrt(float(np.vdot(U1, U1) + np.vdot(U2, U2)))
        rp = r / scale_p
        rd = s / max(scale_d, 1e-300)
        if rp <= tol and rd <= tol:
            converged = True
            break
        if adaptive and it <= adapt_iter and it % 10 == 0:
            if rp > 10.0 * rd:
                rho *= 2.0
                U1 /= 2.0
                U2 /= 2.0
            elif rd > 10.0 * rp:
                rho /= 2.0
                U1 *= 2.0
                U2 *= 2.0
    # Final sparse iterate: the soft-thresholded copy (exactly sparse).
    A = W3 - U2
    W2 = np.sign(A) * np.maximum(np.abs(A) - 1.0 / rho, 0.0)
    info = {"n_iter": it, "converged": converged, "rho": rho, "primal": r, "dual": s,
            "state": {"W3": W3, "W2": W2, "U1": U1, "U2": U2, "rho": rho}}
    return W2, info


# ------------------------------------------------------------------------ cvxpy
_CVX_CACHE = {}
_CVX_CACHE_MAX = 8


def _digest(*arrays):
    h = hashlib.sha1()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def build_cvxpy(X, Y, omega, V):
    """The DPP Net-Trim program of one layer's data (cached; built once, re-solved over ε).

    Parameters
    ----------
    X : ndarray of shape (N, n)
        Layer inputs (already scaled).
    Y : ndarray of shape (N, T)
        Targets (used on Ω).
    omega : ndarray of bool of shape (N, T), or None for a linear layer
        Active set Ω.
    V : ndarray of shape (N, T) or None
        Bounds on Ωᶜ.

    Returns
    -------
    problem : cvxpy.Problem
        The parametrised program.
    handles : dict
        The Parameter ``eps`` and the variable ``U``.

    Notes
    -----
    The layer's data are constants of the program and the tolerance ε is
    its Parameter, so a bisection on ε compiles once. Making the data
    Parameters too (one program per *shape*) is DPP as well, but cvxpy then
    stores a parameter tensor with one slice per parameter *entry* (``N·n``
    for ``X``, ``N·T`` for ``Y``, ``V`` or a mask), which does not fit in
    memory at layer sizes (45–75 GiB at 1000 samples × 300 inputs × 100
    outputs).
    """
    relu = omega is not None
    key = _digest(X, Y, *( (omega, V) if relu else ()))
    if key in _CVX_CACHE:
        return _CVX_CACHE[key]
    N, n = X.shape
    T = Y.shape[1]
    U = cp.Variable((n, T), name="U")
    eps = cp.Parameter(nonneg=True, name="eps")
    Z = X @ U
    if relu:
        om = omega.ravel()
        idx = np.flatnonzero(om)
        idc = np.flatnonzero(~om)
        z = cp.vec(Z, order="C")
        cons = [cp.norm(z[idx] - Y.ravel()[idx], 2) <= eps]
        if idc.size:
            cons.append(z[idc] <= V.ravel()[idc])
    else:
        cons = [cp.norm(Z - Y, "fro") <= eps]
    prob = cp.Problem(cp.Minimize(cp.sum(cp.abs(U))), cons)
    assert prob.is_dcp(dpp=True), "the Net-Trim program must be DPP"
    if len(_CVX_CACHE) >= _CVX_CACHE_MAX:
        _CVX_CACHE.pop(next(iter(_CVX_CACHE)))
    _CVX_CACHE[key] = (prob, {"U": U, "eps": eps})
    return _CVX_CACHE[key]


def solve_cvxpy(data, *, solver="CLARABEL", **solver_options):
    """Solve the Net-Trim program with cvxpy (built once per layer, re-solved).

    The data are scaled by ``c₀`` as in :func:`admm` (conditioning only; the
    solution is unchanged).

    Parameters
    ----------
    data : NetTrimData
        The program.
    solver : str, default="CLARABEL"
        Name of the cvxpy solver.
    **solver_options
        Passed to ``cvxpy.Problem.solve``.

    Returns
    -------
    U : ndarray of shape (n, T)
        The conic solution (not exactly sparse; entries at solver accuracy).
    info : dict
        ``status``, ``objective`` and ``solve_time``.
    """
    c0 = 0.3 * np.sqrt(float(np.max(data.X.T @ data.X)))
    prob, h = build_cvxpy(data.X / c0, data.Y / c0, data.omega,
                          None if data.V is None else data.V / c0)
    h["eps"].value = data.epsilon / c0
    prob.solve(solver=solver, **solver_options)
    if h["U"].value is None:
        raise RuntimeError(f"cvxpy could not solve the Net-Trim program (status "
                           f"{prob.status!r}); the constraints may be infeasible.")
    return np.asarray(h["U"].value), {"status": prob.status, "objective": prob.value,
                                      "solve_time": prob.solver_stats.solve_time}
