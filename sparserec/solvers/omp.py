"""Orthogonal Matching Pursuit (OMP) with an incrementally updated Cholesky factor."""
from __future__ import annotations

import logging
from math import sqrt

import numpy as np

from .._validation import check_int, check_real, param_error
from ..kernels.omp import omp_append, omp_refit, omp_step
from .base import Solver, register

__all__ = ["OMP"]

logger = logging.getLogger(__name__)


class _Context:
    """Per-solve constants and the flat per-signal storage (not sliced by the base loop).

    ``L``, ``z``, ``x`` and ``idx`` hold every signal's Cholesky factor, ``L⁻¹A_Γᵀy``,
    coefficients and active set at the offsets ``state["ok"]`` / ``state["oL"]``
    (see :mod:`sparserec.kernels.omp`). Column ``i`` of ``A`` is
    ``AF[:, slot[i]]``: ``A`` in Fortran order with ``slot = arange(n)``, or,
    for an operator, a cache of the columns fetched so far.
    """

    __slots__ = ("A", "AF", "slot", "G", "gram", "tol", "eps", "problem", "A32", "slack",
                 "r32", "L", "z", "x", "idx", "fetched")

    def cache_columns(self, lams):
        """Operators: make sure ``AF`` holds the columns ``lams`` (fetched once each)."""
        new = np.unique(lams[self.slot[lams] < 0])
        if new.size == 0:
            return
        need = self.fetched + new.size
        if need > self.AF.shape[1]:
            grown = np.empty((self.AF.shape[0], max(need, 2 * self.AF.shape[1])),
                             dtype=self.AF.dtype, order="F")
            grown[:, :self.fetched] = self.AF[:, :self.fetched]
            self.AF = grown
        self.AF[:, self.fetched:need] = self.problem.columns(new)
        self.slot[new] = np.arange(self.fetched, need)
        self.fetched = need


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

    Speed. One iteration advances every running signal of a block: the
    correlations ``AᵀR`` are one matrix-matrix product for the whole block
    (BLAS), and the atom selection checks, the Cholesky append, the refit and
    the residual run for all signals in one compiled kernel
    (:mod:`sparserec.kernels.omp`), so the per-signal Python overhead is
    paid once per iteration, not once per signal. Signals may have different
    ``k``; each stops on its own. On the Gram path the kernel computes the
    correlations from rows of ``G`` itself. For a dense float64 ``A`` the
    correlations are first computed from a float32 copy of ``A`` (half the
    memory traffic of the dominant ``2mn`` product); every index whose float32
    correlation lies within a rigorous rounding bound of the float32 maximum
    is then re-evaluated in float64, so the selected atom is exactly the
    float64 argmax (see ``_screening``). An operator's columns are fetched
    once each, when first selected.

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
        caps = np.asarray(self._atoms(problem), dtype=np.int64)
        ctx.tol = -1.0 if self.tol is None else float(self.tol)
        ctx.eps = float(np.finfo(dtype).eps)
        ctx.gram = self._use_gram(problem)
        if problem.is_operator:
            ctx.A = None
            B = problem.rmatvec(Y).astype(dtype, copy=False)
            ctx.AF = np.empty((m, max(1, min(n, int(caps.sum())))), dtype=dtype, order="F")
            ctx.slot = np.full(n, -1, dtype=np.int64)
            ctx.fetched = 0
        else:
            ctx.A = np.asarray(problem.A).astype(dtype, copy=False)
            B = ctx.A.T @ Y
            ctx.AF = np.asfortranarray(ctx.A)
            ctx.slot = np.arange(n, dtype=np.int64)
        ctx.G = ctx.A.T @ ctx.A if ctx.gram else np.empty((0, 0), dtype=dtype)
        ctx.A32, ctx.slack = (None, 0.0) if (ctx.gram or ctx.A is None) \
            else _screening(ctx.A, int(np.sum(caps)))
        ctx.r32 = np.empty(m, dtype=np.float32)
        ok = np.concatenate(([0], np.cumsum(caps)[:-1])).astype(np.int64)
        oL = np.concatenate(([0], np.cumsum(caps * caps)[:-1])).astype(np.int64)
        ctx.L = np.zeros(int(np.sum(caps * caps)), dtype=np.float64)
        ctx.z = np.zeros(int(caps.sum()), dtype=np.float64)
        ctx.x = np.zeros(int(caps.sum()), dtype=np.float64)
        ctx.idx = np.full(int(caps.sum()), -1, dtype=np.int64)
        state.update(omp=ctx, B=np.ascontiguousarray(B), yy=np.einsum("ij,ij->j", Y, Y),
                     s=np.zeros(T, dtype=np.int64), cap=caps, ok=ok, oL=oL,
                     flag=np.zeros(T, dtype=np.int64))

        X, R = state["X"], state["R"]
        for t in np.flatnonzero(np.any(X != 0, axis=0)):  # warm start on supp(x0)
            S = np.flatnonzero(X[:, t])
            if S.size > caps[t]:
                raise ValueError(f"The 'x0' argument of OMP.solve has {S.size} nonzeros in "
                                 f"column {t}; at most {int(caps[t])} (its k or max_iter) "
                                 "are allowed.")
            if ctx.A is None:
                ctx.cache_columns(S)
            X[:, t] = 0
            for lam in S:
                if not self._add_atom(ctx, state, t, lam):
                    raise ValueError("The 'x0' argument of OMP.solve selects linearly "
                                     f"dependent columns of A (column {t}); OMP needs an "
                                     "independent starting support.")
            omp_refit(ctx.L, ctx.z, ctx.x, oL[t], caps[t], ok[t], ctx.idx, state["s"][t],
                      ctx.AF, ctx.slot, Y, X, R, t)
        return state

    @staticmethod
    def _add_atom(ctx, state, t, lam):
        """Append atom ``lam`` to signal ``t``'s factor; False if it is dependent."""
        o, s = state["ok"][t], state["s"][t]
        a = ctx.AF[:, ctx.slot[lam]]
        v = ctx.AF[:, ctx.slot[ctx.idx[o:o + s]]].T @ a
        if not omp_append(ctx.L, ctx.z, state["oL"][t], state["cap"][t], o, ctx.idx, s,
                          lam, np.ascontiguousarray(v, dtype=np.float64), float(a @ a),
                          float(state["B"][lam, t]), ctx.eps):
            return False
        state["s"][t] = s + 1
        return True

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
        thr = C32[lams, np.arange(R.shape[1])] - ctx.slack
        for j in np.flatnonzero(np.count_nonzero(C32 >= thr, axis=0) > 1):
            J = np.flatnonzero(C32[:, j] >= thr[j])
            lams[j] = J[np.argmax(np.abs(ctx.A[:, J].T @ R[:, j]))]
        return lams

    def _step(self, problem, state):
        ctx = state["omp"]
        R = state["R"]
        if ctx.gram:
            lams = np.zeros(R.shape[1], dtype=np.int64)
        else:
            lams = np.asarray(self._select(problem, ctx, R), dtype=np.int64)
            if ctx.A is None:
                ctx.cache_columns(lams)
        flag = state["flag"]
        omp_step(ctx.gram, ctx.G, ctx.AF, ctx.slot, state["B"], state["Y"], state["yy"], lams,
                 ctx.L, ctx.z, ctx.x, ctx.idx, state["s"], state["cap"], state["ok"],
                 state["oL"], state["X"], R, state["done"], flag, ctx.eps, ctx.tol)
        early = int(np.count_nonzero(state["done"] & (flag == 1)))
        dependent = int(np.count_nonzero(state["done"] & (flag == 2)))
        if early:
            logger.info("OMP stopped early on %d signal(s): the selected atom was already "
                        "active or its squared correlation with the residual was below eps·‖y‖².", early)
        if dependent:
            logger.warning("OMP stopped early on %d signal(s): the selected atom is linearly "
                           "dependent on the active ones; the requested precision might not "
                           "have been met.", dependent)
        return state
