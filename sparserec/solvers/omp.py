"""Orthogonal Matching Pursuit (OMP) with an incrementally updated Cholesky factor."""
from __future__ import annotations

import logging
from math import sqrt

import numpy as np
from scipy.linalg import get_blas_funcs

from .._validation import check_int, check_real, param_error
from .base import Solver, register

__all__ = ["OMP"]

logger = logging.getLogger(__name__)


class _Column:
    """OMP state of one signal: its active set and the Cholesky factor of ``A_ΓᵀA_Γ``.

    ``L`` is lower triangular with ``L Lᵀ = A_ΓᵀA_Γ`` (rows appended one atom
    at a time), ``z = L⁻¹ A_Γᵀy`` grows by one entry per atom, and the
    coefficients are ``γ = L⁻ᵀ z``. When the memory budget allows (always for
    operators), ``AS`` (and ``GS`` on the Gram path) hold the selected
    columns of ``A`` (and of ``G = AᵀA``) contiguously, in selection order;
    otherwise they are None and the columns are gathered when needed.
    """

    __slots__ = ("b", "idx", "inset", "L", "z", "gamma", "AS", "GS", "s", "cap")

    def __init__(self, b, m, n, atoms, dtype, gram, buffered):
        self.cap = atoms                                # atoms to select in this column
        self.b = b                                      # Aᵀy, shape (n,)
        self.idx = np.empty(atoms, dtype=np.intp)       # Γ in selection order
        self.inset = np.zeros(n, dtype=bool)            # membership of Γ
        self.L = np.zeros((atoms, atoms), dtype=dtype)
        self.z = np.zeros(atoms, dtype=dtype)
        self.gamma = np.zeros(0, dtype=dtype)
        self.AS = np.empty((m, atoms), dtype=dtype, order="F") if buffered else None
        self.GS = np.empty((n, atoms), dtype=dtype, order="F") if buffered and gram else None
        self.s = 0


class _Context:
    """Per-solve constants shared by every column (not sliced by the base loop)."""

    __slots__ = ("A", "G", "gram", "atoms", "tol", "eps", "trsv", "problem", "A32", "slack", "r32")


def _screening(A, atoms):
    """float32 copy of a float64 ``A`` and the rigorous screening slack, or (None, 0).

    With ``r̂ = r/‖r‖`` and both factors rounded to float32, any summation
    order of the float32 dot product obeys
    ``|ĉ_j − a_jᵀr̂| ≤ ((1+u)²(1+γ_m) − 1)·‖a_j‖ ≤ 1.01·γ_{m+3}·max_j ‖a_j‖``
    with ``u = 2⁻²⁴`` and ``γ_p = pu/(1 − pu)`` (Higham, *Accuracy and
    Stability of Numerical Algorithms*, §3.1), plus an absolute term for
    float32 underflow. Every index whose float32 correlation lies within twice
    that bound of the float32 maximum is re-evaluated in float64, so the
    selected atom is the float64 argmax (first maximum kept).
    """
    m = A.shape[0]
    u = 2.0 ** -24
    pu = (m + 3) * u
    if A.dtype != np.float64 or atoms < 4 or pu >= 0.01 or A.size > 2 ** 28:
        return None, 0.0  # not worth it, bound too loose, or the copy too big (> 1 GiB)
    nmax = float(np.sqrt(np.einsum("ij,ij->j", A, A).max()))  # also bounds max|a_ij|
    if not nmax < 1e30:  # keep far from float32 overflow
        return None, 0.0
    gamma = pu / (1.0 - pu)
    slack = 2.0 * (1.01 * gamma * nmax + 4.0 * m * 2.0 ** -149 * (1.0 + nmax))
    return A.astype(np.float32), slack


@register
class OMP(Solver):
    r"""Orthogonal Matching Pursuit, one atom per iteration.

    Parameters
    ----------
    max_iter : int or None, default=None
        Number of atoms to select (one per iteration). None means ``k``, the
        target sparsity of the problem; an int must lie in ``[1, k]``, so the
        solution is always at most k-sparse.
    tol : float or None, default=None
        Stop a signal as soon as its **squared** residual satisfies
        ``‖y − Ax‖² <= tol`` (scikit-learn's ``orthogonal_mp`` semantics; it is
        not a relative tolerance). None selects exactly ``max_iter`` atoms
        unless an early stop (below) occurs first. Unlike scikit-learn, ``tol``
        does not lift the cap of ``max_iter`` atoms.
    precompute : bool or "auto", default="auto"
        Work with the Gram matrix ``G = AᵀA`` and ``Aᵀy`` precomputed
        (scikit-learn's ``orthogonal_mp_gram``): each iteration then costs
        ``O(n|Γ|)`` per signal instead of a ``2mn`` correlation. ``"auto"``
        uses it for a dense ``A`` with ``n <= 4096`` when forming ``G``
        (``mn²`` flops) is cheaper than the correlations it saves, i.e. when
        ``m >= n`` (scikit-learn's rule) or, for multi-RHS problems, when
        ``2·T·(number of atoms) >= n``. True requires an explicit matrix ``A``.

    Notes
    -----
    With :math:`\Gamma_0 = \emptyset`, :math:`r_0 = y`, iteration :math:`t`
    selects the atom most correlated with the residual and refits on the
    enlarged support:

    .. math::
        j_t = \arg\max_j |a_j^\top r_{t-1}|,\qquad
        \Gamma_t = \Gamma_{t-1}\cup\{j_t\},\qquad
        x_{\Gamma_t} = (A_{\Gamma_t}^\top A_{\Gamma_t})^{-1}A_{\Gamma_t}^\top y,
        \qquad r_t = y - A x .

    The least-squares solve uses a Cholesky factor
    :math:`L_tL_t^\top = A_{\Gamma_t}^\top A_{\Gamma_t}` updated by one row per
    atom: with :math:`w = L_{t-1}^{-1}A_{\Gamma_{t-1}}^\top a_j`,

    .. math::
        L_t = \begin{pmatrix} L_{t-1} & 0\\ w^\top & \sqrt{\|a_j\|^2 - \|w\|^2}
        \end{pmatrix},\qquad
        z_t = L_t^{-1}A_{\Gamma_t}^\top y \text{ (one new entry)},\qquad
        x_{\Gamma_t} = L_t^{-\top} z_t ,

    so an iteration costs :math:`2mn` (correlations) plus
    :math:`O(m|\Gamma| + |\Gamma|^2)`. On the Gram path the correlations are
    :math:`A^\top y - G_{:,\Gamma}x_\Gamma`.

    The argmax keeps the first maximum, columns are not normalised (unit-norm
    columns are assumed, as in scikit-learn), and a signal stops early, with
    its previous iterate, when the selected atom is already active, when its
    squared correlation with the residual is below ``eps·‖y‖²`` (``eps`` the
    machine epsilon of the working dtype; scikit-learn's ``_cholesky_omp``
    instead compares the correlation with ``y`` to an absolute ``eps``, which
    stops too early when an atom is orthogonal to ``y`` but not to the residual,
    and depends on the scale of ``y``), or when
    the new atom is numerically dependent on the active ones
    (:math:`\|a_j\|^2 - \|w\|^2 \le \epsilon`). Every stop sets
    ``status="converged"`` with ``reason="solver"``.

    ``x0`` warm-starts the active set with ``supp(x0)`` (at most
    ``max_iter`` atoms, least-squares values); its values are not used.

    Speed. For a dense float64 ``A`` the correlations are first computed
    from a float32 copy of ``A`` (half the memory traffic of the dominant
    ``2mn`` product); every index whose float32 correlation lies within a
    rigorous rounding bound of the float32 maximum is then re-evaluated in
    float64, so the selected atom is exactly the float64 argmax (see
    ``_screening``). The selected columns are kept contiguous per signal
    while they fit in ``buffer_bytes`` (128 MiB), and gathered from ``A``
    otherwise.

    References
    ----------
    .. [1] Y. C. Pati, R. Rezaiifar and P. S. Krishnaprasad, "Orthogonal
       matching pursuit: recursive function approximation with applications
       to wavelet decomposition", Asilomar Conference, 1993.
    .. [2] S. Mallat and Z. Zhang, "Matching pursuits with time-frequency
       dictionaries", IEEE Trans. Signal Process. 41(12), 1993.
    .. [3] R. Rubinstein, M. Zibulevsky and M. Elad, "Efficient implementation
       of the K-SVD algorithm using batch orthogonal matching pursuit",
       Technical report CS-2008-08, Technion, 2008.
    .. [4] J. A. Tropp and A. C. Gilbert, "Signal recovery from random
       measurements via orthogonal matching pursuit", IEEE Trans. Inf.
       Theory 53(12), 2007.

    Examples
    --------
    >>> from sparserec import solvers
    >>> from sparserec.ensembles import make_problem
    >>> problem = make_problem(128, 256, 10, seed=0)
    >>> res = solvers.get("omp").solve(problem)
    >>> res.n_iter, res.status, bool(res.rel_error < 1e-10)
    (10, 'converged', True)
    """

    name = "omp"
    monotone = True      # nested supports: the least-squares residual never grows
    stagnation = None    # no support-stagnation test: the support grows every step
    buffer_bytes = 2 ** 27  # copies of selected columns kept if they fit in 128 MiB

    def __init__(self, *, max_iter=None, tol=None, precompute="auto"):
        self.max_iter = max_iter
        self.tol = tol
        self.precompute = precompute

    # ------------------------------------------------------------ params
    def _validate_params(self, problem):
        owner = type(self).__name__
        if self.max_iter is not None:
            kmin = int(np.min(problem.sparsity.k))
            check_int(self.max_iter, "max_iter", owner, low=1, high=kmin,
                      expected=f"None or an int in [1, k={kmin}]")
        if self.tol is not None:
            check_real(self.tol, "tol", owner, low=0.0,
                       expected="None or a finite real number >= 0")
        pre = self.precompute
        if not (isinstance(pre, (bool, np.bool_)) or (isinstance(pre, str) and pre == "auto")):
            raise param_error("precompute", owner, "True, False or 'auto'", pre,
                              ValueError if isinstance(pre, str) else TypeError)
        if pre is True or pre is np.True_:
            if problem.is_operator:
                raise TypeError("OMP with precompute=True needs an explicit matrix A to form "
                                "the Gram matrix AᵀA; got a Problem whose A is a "
                                "LinearOperator. Use precompute=False or 'auto'.")

    def _atoms(self, problem):
        """Atoms to select in every column: its ``k``, or ``max_iter`` (shape (T,))."""
        if self.max_iter is None:
            return problem.sparsity.k
        return np.full(problem.n_signals, int(self.max_iter), dtype=np.int64)

    def _loop_max_iter(self, problem):
        return int(np.max(self._atoms(problem)))

    def _loop_tol(self):
        return 0.0  # OMP's tol bounds ‖r‖² and is applied in _step

    def _scaled_params(self, scaling):
        params = super()._scaled_params(scaling)  # tol bounds ‖r‖²: it scales like r²
        if params["tol"] is not None:
            params["tol"] = float(np.ldexp(float(params["tol"]), -2 * scaling.r))
        return params

    def _use_gram(self, problem):
        pre = self.precompute
        if isinstance(pre, str):  # "auto"
            if problem.is_operator or problem.n > 4096:
                return False
            m, n, T = problem.m, problem.n, problem.n_signals
            return m >= n or (T > 1 and 2 * int(np.sum(self._atoms(problem))) >= n)
        return bool(pre)

    # ------------------------------------------------------------ hooks
    def _setup(self, problem, state):
        dtype = problem.dtype
        Y = state["Y"]
        m, n, T = problem.m, problem.n, problem.n_signals
        ctx = _Context()
        ctx.problem = problem
        caps = self._atoms(problem)
        ctx.atoms = int(np.max(caps))
        ctx.tol = None if self.tol is None else float(self.tol)
        ctx.eps = float(np.finfo(dtype).eps)
        ctx.gram = self._use_gram(problem)
        ctx.trsv = get_blas_funcs("trsv", dtype=dtype)
        if problem.is_operator:
            ctx.A = None
            B = problem.rmatvec(Y).astype(dtype, copy=False)
        else:
            ctx.A = np.asarray(problem.A).astype(dtype, copy=False)
            B = ctx.A.T @ Y
        ctx.G = ctx.A.T @ ctx.A if ctx.gram else None
        ctx.A32, ctx.slack = (None, 0.0) if (ctx.gram or ctx.A is None) \
            else _screening(ctx.A, int(np.sum(caps)))
        ctx.r32 = np.empty(m, dtype=np.float32)
        per_atom = (m + (n if ctx.gram else 0)) * dtype.itemsize
        buffered = problem.is_operator or int(np.sum(caps)) * per_atom <= self.buffer_bytes
        cols = np.empty(T, dtype=object)
        for t in range(T):
            cols[t] = _Column(np.ascontiguousarray(B[:, t]), m, n, int(caps[t]), dtype,
                              ctx.gram, buffered)
        state["omp"] = ctx
        state["cols"] = cols

        X, R = state["X"], state["R"]
        for t in np.flatnonzero(np.any(X != 0, axis=0)):  # warm start on supp(x0)
            S = np.flatnonzero(X[:, t])
            if S.size > caps[t]:
                raise ValueError(f"The 'x0' argument of OMP.solve has {S.size} nonzeros in "
                                 f"column {t}; at most {int(caps[t])} (its k or max_iter) "
                                 "are allowed.")
            col = cols[t]
            for lam in S:
                if not self._add_atom(ctx, col, lam):
                    raise ValueError("The 'x0' argument of OMP.solve selects linearly "
                                     f"dependent columns of A (column {t}); OMP needs an "
                                     "independent starting support.")
            self._refit(ctx, col, X, R, Y, t)
        return state

    def _add_atom(self, ctx, col, lam):
        """Append atom ``lam`` to the factor; False (nothing changed) if it is dependent."""
        s = col.s
        AS = col.AS
        if AS is not None:
            AS[:, s] = ctx.A[:, lam] if ctx.A is not None else ctx.problem.columns([lam])[:, 0]
        if ctx.gram:
            g = ctx.G[lam]                       # row = column of the symmetric G
            v = g[col.idx[:s]]
            diag = g[lam]
        elif AS is not None:
            v = AS[:, :s + 1].T @ AS[:, s]       # (A_Γᵀa, ‖a‖²) in one product
            diag = v[s]
            v = v[:s]
        else:
            a = ctx.A[:, lam]
            v = ctx.A[:, col.idx[:s]].T @ a
            diag = a @ a
        L = col.L
        if s:
            w = ctx.trsv(L[:s, :s], v, lower=1)
            lkk = diag - w @ w
            if lkk <= ctx.eps:
                return False
            lkk = sqrt(lkk)
            L[s, :s] = w
            L[s, s] = lkk
            col.z[s] = (col.b[lam] - w @ col.z[:s]) / lkk
        else:
            if diag <= 0:
                return False
            lkk = sqrt(diag)
            L[0, 0] = lkk
            col.z[0] = col.b[lam] / lkk
        col.idx[s] = lam
        col.inset[lam] = True
        if col.GS is not None:
            col.GS[:, s] = g
        col.s = s + 1
        return True

    def _refit(self, ctx, col, X, R, Y, j):
        """x_Γ = L⁻ᵀz, r = y − A_Γ x_Γ, written into column ``j`` of X and R."""
        s = col.s
        gamma = ctx.trsv(col.L[:s, :s], col.z[:s], lower=1, trans=1)
        col.gamma = gamma
        X[col.idx[:s], j] = gamma
        AS = col.AS[:, :s] if col.AS is not None else ctx.A[:, col.idx[:s]]
        R[:, j] = Y[:, j] - AS @ gamma

    def _select(self, problem, ctx, R):
        """First argmax of ``|Aᵀr|`` for every column of R (dense and operator paths)."""
        if ctx.A is None:
            return np.argmax(np.abs(problem.rmatvec(R)), axis=0)
        if ctx.A32 is None:
            C = ctx.A.T @ R[:, 0] if R.shape[1] == 1 else ctx.A.T @ R
            return np.atleast_1d(np.argmax(np.abs(C), axis=0))
        # float32 screening, float64 decision among the candidates (see _screening)
        if R.shape[1] == 1:
            r = R[:, 0]
            rn = sqrt(r @ r)
            r32 = np.multiply(r, 1.0 / rn if rn > 0 else 1.0, out=ctx.r32, casting="unsafe")
            C32 = (ctx.A32.T @ r32)[:, None]
        else:
            rn = np.sqrt(np.einsum("ij,ij->j", R, R))
            C32 = ctx.A32.T @ (R / np.where(rn > 0, rn, 1.0)).astype(np.float32)
        np.abs(C32, out=C32)
        lams = np.argmax(C32, axis=0)
        for j in range(R.shape[1]):
            c = C32[:, j]
            thr = c[lams[j]] - ctx.slack
            if np.count_nonzero(c >= thr) > 1:
                J = np.flatnonzero(c >= thr)
                lams[j] = J[np.argmax(np.abs(ctx.A[:, J].T @ R[:, j]))]
        return lams

    def _step(self, problem, state):
        ctx = state["omp"]
        cols = state["cols"]
        X, R, Y = state["X"], state["R"], state["Y"]
        done = state["done"]
        eps, tol, gram = ctx.eps, ctx.tol, ctx.gram
        if not gram:
            lams = self._select(problem, ctx, R)
        early = dependent = 0
        for j in range(len(cols)):
            col = cols[j]
            if col.s >= col.cap:  # warm start already used the budget
                done[j] = True
                continue
            if gram:
                if col.s == 0:
                    c = col.b
                elif col.GS is not None:
                    c = col.b - col.GS[:, :col.s] @ col.gamma
                else:
                    c = col.b - ctx.G[:, col.idx[:col.s]] @ col.gamma
                lam = int(np.argmax(np.abs(c)))
                corr = c[lam]
            else:
                lam = int(lams[j])
                a = ctx.A[:, lam] if ctx.A is not None else problem.columns([lam])[:, 0]
                corr = float(a @ R[:, j])
            # Relative to ‖y‖², so the rule does not depend on the scale of y (scikit-learn
            # compares aᵀy, not aᵀr, with an absolute eps on its dense path).
            if col.inset[lam] or corr * corr <= eps * float(Y[:, j] @ Y[:, j]):
                done[j] = True
                early += 1
                continue
            if not self._add_atom(ctx, col, lam):
                done[j] = True
                dependent += 1
                continue
            self._refit(ctx, col, X, R, Y, j)
            if col.s >= col.cap:
                done[j] = True
            elif tol is not None:
                r = R[:, j]
                if float(r @ r) <= tol:
                    done[j] = True
        if early:
            logger.info("OMP stopped early on %d signal(s): the selected atom was already "
                        "active or its squared correlation with the residual was below eps·‖y‖².", early)
        if dependent:
            logger.warning("OMP stopped early on %d signal(s): the selected atom is linearly "
                           "dependent on the active ones; the requested precision might not "
                           "have been met.", dependent)
        return state
