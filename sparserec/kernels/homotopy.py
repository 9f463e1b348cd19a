r"""The ℓ1 homotopy (LARS–Lasso path to λ = 0): the exact basis-pursuit solution, and its twin.

For ``y = Ax`` with ``A`` of shape (m, n), the Lasso solution

.. math::  x(\lambda) = \arg\min_x \tfrac12\|Ax - y\|^2 + \lambda\|x\|_1

is piecewise linear in λ (Osborne, Presnell & Turlach 2000; Efron et al.
2004). On a segment with active set ``S`` and signs ``s``,
:math:`x_S(\lambda) = G_{SS}^{-1}(b_S - \lambda s)` with :math:`G = A^\top A`,
:math:`b = A^\top y`; the correlations :math:`c = A^\top(y - Ax)` satisfy
:math:`c_S = \lambda s` and :math:`|c_j| \le \lambda` off ``S``. Starting from
:math:`\lambda = \|b\|_\infty`, ``x = 0``, the path moves to the next event — an
inactive correlation reaching ``±λ`` (the index joins ``S``), or an active
coordinate reaching 0 (it leaves) — and ends at λ = 0, where ``x`` is the
basis-pursuit solution :math:`\arg\min \|x\|_1` s.t. ``Ax = y`` (when ``y`` is
in the range of ``A``). The homotopy finds a k-sparse solution in about k
steps when it is the ℓ1 solution (Donoho & Tsaig 2008).

On the last segment the residual vanishes (``S`` interpolates ``y``) and the
correlations are :math:`\lambda A^\top w` with Fuchs' dual
:math:`w = A_S G_{SS}^{-1} s`; no index joined on the way to 0, so
:math:`\|A_{S^c}^\top w\|_\infty \le 1`. The kernel checks this certificate
strictly (``< 1 − 1e-9``) and reports whether it holds: then the returned
``x`` is the **unique** minimiser, exactly.

The nonnegative form (``min 1ᵀx`` s.t. ``Ax = y``, ``x ≥ 0``) is the same path
with positive joins only and ``s = 1``.

Per step the work is one product ``G_{:,S}d`` (``O(n|S|)``, with ``G = AᵀA``
formed once per matrix and shared by its columns) and a rank-one update of
the Cholesky factor of ``G_SS``; the numba kernel does it all in one
compiled loop. The NumPy twin recomputes every quantity directly (a
fresh solve per step): it is the test oracle.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg as sla
from numba import njit

__all__ = ["l1_homotopy", "l1_homotopy_numba", "l1_homotopy_numpy", "certify", "CERT_MARGIN"]

#: Margin of the strict dual inequality of the certificate.
CERT_MARGIN = 1e-9
#: Events within ``END_TOL·λ₀`` of λ = 0 end the path (λ₀ = ‖Aᵀy‖∞): on the last segment
#: every inactive correlation is λ·(A_{Sᶜ}ᵀw) and would "join" exactly at λ = 0, and the
#: correlations carry rounding errors of order ε·λ₀.
END_TOL = 1e-9


@njit(cache=True)
def _chol_append(L, s, g, gjj):
    """Append a row to the lower Cholesky factor ``L[:s, :s]`` of ``G_SS`` in place.

    ``g`` holds ``G[S, j]``; returns False when the new pivot is not positive.
    """
    for i in range(s):
        acc = g[i]
        for p in range(i):
            acc -= L[i, p] * L[s, p]
        L[s, i] = acc / L[i, i]
    d = gjj
    for p in range(s):
        d -= L[s, p] * L[s, p]
    if not d > 1e-14 * gjj:
        return False
    L[s, s] = np.sqrt(d)
    return True


@njit(cache=True)
def _chol_remove(L, s, q):
    """Remove row/column ``q`` from the factor ``L[:s, :s]`` in place (Givens rotations)."""
    for i in range(q, s - 1):
        for p in range(i + 2):
            L[i, p] = L[i + 1, p]
    for i in range(q, s - 1):
        a = L[i, i]
        b = L[i, i + 1]
        r = np.sqrt(a * a + b * b)
        c = a / r
        sn = b / r
        for p in range(i, s - 1):
            u = L[p, i]
            v = L[p, i + 1]
            L[p, i] = c * u + sn * v
            L[p, i + 1] = -sn * u + c * v
        L[i, i] = r
    for p in range(s):
        L[s - 1, p] = 0.0
        L[p, s - 1] = 0.0 if p != s - 1 else 0.0


@njit(cache=True)
def _chol_solve(L, s, rhs, out):
    """``out = (L Lᵀ)⁻¹ rhs`` on the leading ``s × s`` block; rows of ``L`` only.

    The forward solve is row-oriented (dot products with rows of ``L``) and the
    back solve column-oriented on ``Lᵀ`` (axpys with rows of ``L``), so both
    stream through contiguous memory of the row-major factor.
    """
    for i in range(s):
        acc = rhs[i]
        for p in range(i):
            acc -= L[i, p] * out[p]
        out[i] = acc / L[i, i]
    for i in range(s - 1, -1, -1):
        xi = out[i] / L[i, i]
        out[i] = xi
        for p in range(i):
            out[p] -= L[i, p] * xi


@njit(cache=True)
def _homotopy_column(G, b, m, nonneg, max_steps, x_out, s_out):
    """The path of one column from ``G = AᵀA`` and ``b = Aᵀy`` (``m`` rows of ``A``).

    Only rows of the symmetric ``G`` are read (contiguous), and no BLAS is
    called inside the compiled loop (a threaded BLAS busy-waits on a loaded
    machine).
    """
    n = G.shape[0]
    c = b.copy()
    x = np.zeros(n)
    active = np.zeros(n, dtype=np.bool_)
    S = np.empty(m, dtype=np.int64)
    sgn = np.empty(m)
    L = np.zeros((m, m))
    d = np.empty(m)
    g = np.empty(m)
    a = np.empty(n)
    lam = 0.0
    j0 = -1
    for j in range(n):
        cj = c[j] if nonneg else abs(c[j])
        if cj > lam:
            lam = cj
            j0 = j
    if j0 < 0 or not lam > 0:
        return True, 0                       # y ⟂ every column: x = 0
    s = 0
    last_drop = -1
    steps = 0
    j = j0
    add = True
    lam_end = END_TOL * lam
    while steps < max_steps:
        steps += 1
        if add:
            for i in range(s):
                g[i] = G[j, S[i]]
            if s >= m or not _chol_append(L, s, g, G[j, j]):
                return False, steps           # A_S would be rank deficient
            S[s] = j
            sgn[s] = 1.0 if (nonneg or c[j] > 0) else -1.0
            active[j] = True
            s += 1
        # direction: G_SS d = sgn; x_S moves by γ d as λ decreases by γ, c by γ a
        _chol_solve(L, s, sgn, d)
        for jj in range(n):
            a[jj] = 0.0
        for i in range(s):                    # a = G[:, S] d, row by row of G (symmetric)
            row = S[i]
            di = d[i]
            for jj in range(n):
                a[jj] += G[row, jj] * di
        gamma = lam - lam_end                 # events beyond this are the end of the path
        event = 0                             # 0: end, 1: join, 2: drop
        who = -1
        for jj in range(n):
            if s >= m or active[jj] or jj == last_drop:   # |S| = m: y is interpolated,
                continue                                    # no index can join
            t = (lam - c[jj]) / (1.0 - a[jj]) if a[jj] < 1.0 else np.inf
            if t > 0 and t < gamma:
                gamma, event, who = t, 1, jj
            if not nonneg:
                t = (lam + c[jj]) / (1.0 + a[jj]) if a[jj] > -1.0 else np.inf
                if t > 0 and t < gamma:
                    gamma, event, who = t, 1, jj
        for i in range(s):
            if d[i] != 0.0:
                t = -x[S[i]] / d[i]
                if t > 0 and t < gamma:
                    gamma, event, who = t, 2, i
        if event == 0:
            gamma = lam
        for i in range(s):
            x[S[i]] += gamma * d[i]
        for jj in range(n):
            c[jj] -= gamma * a[jj]
        lam -= gamma
        if event == 0:
            break
        if event == 1:
            j = who
            add = True
            last_drop = -1
        else:
            q = who
            last_drop = S[q]
            x[S[q]] = 0.0
            active[S[q]] = False
            _chol_remove(L, s, q)
            for i in range(q, s - 1):
                S[i] = S[i + 1]
                sgn[i] = sgn[i + 1]
            s -= 1
            add = False
            if s == 0:
                return False, steps
    else:
        return False, steps
    for jj in range(n):
        x_out[jj] = x[jj]
    for i in range(s):
        s_out[S[i]] = sgn[i]
    return True, steps


@njit(cache=True)
def _homotopy_block(G, B, m, nonneg, max_steps, X, SG, reached, steps):
    for t in range(B.shape[1]):
        ok, k = _homotopy_column(G, np.ascontiguousarray(B[:, t]), m, nonneg, max_steps,
                                 X[:, t], SG[:, t])
        reached[t] = ok
        steps[t] = k


def _args(A, Y, max_steps):
    A = np.asarray(A, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    vec = Y.ndim == 1
    Y = Y[:, None] if vec else Y
    m = A.shape[0]
    max_steps = int(8 * m + 16) if max_steps is None else int(max_steps)
    return A, Y, vec, max_steps


def certify(A, y, signs, nonneg=False, G=None):
    r"""Refit on the path's final support and certify the unique ℓ1 minimiser.

    Parameters
    ----------
    A : ndarray of shape (m, n)
        The matrix.
    y : ndarray of shape (m,)
        The right-hand side.
    signs : ndarray of shape (n,)
        The path's final active set and signs (0 off the set).
    nonneg : bool, default=False
        Nonnegative form.
    G : ndarray of shape (n, n), optional
        ``AᵀA`` when already formed: ``A_SᵀA_S`` is then gathered from it
        instead of computed.

    Returns
    -------
    x : ndarray of shape (n,)
        ``x_S = (A_SᵀA_S)⁻¹A_Sᵀy`` on the final support (exact zeros where the
        path ended at 0).
    certified : bool
        True when ``Ax = y``, ``sign(x_S) = s`` and a dual ``w`` with
        ``A_Sᵀw = s`` has ``‖A_{Sᶜ}ᵀw‖∞ < 1 − 1e-9``: then ``x`` is the unique
        minimiser (the KKT conditions of the linear program).

    Notes
    -----
    The path's dual is Fuchs' :math:`w = A_S(A_S^\top A_S)^{-1}s`. When some
    active coefficients end exactly at 0 (an extra atom whose coefficient
    vanishes at λ = 0 — common when the ℓ1 solution is the k-sparse truth),
    they leave ``S``; ``w`` then has ``|a_iᵀw| = 1`` on them and is moved by
    ``t·h``, ``h ⊥ range(A_S)`` with ``s_i a_iᵀh = −1``, to make the
    inequality strict (the smallest of a few ``t`` that works).
    """
    n = A.shape[1]
    S = np.flatnonzero(signs)
    x = np.zeros(n)
    if S.size == 0:
        return x, not np.any(y)
    AS = A[:, S]

    def gram(idx, cols):
        return G[np.ix_(idx, idx)] if G is not None else cols.T @ cols

    def solve(Lf, rhs):
        return sla.cho_solve((Lf, True), rhs, check_finite=False)

    try:
        L = sla.cholesky(gram(S, AS), lower=True, check_finite=False)
    except (sla.LinAlgError, ValueError):
        return x, False
    xS = solve(L, AS.T @ y)
    s = signs[S].astype(np.float64)
    top = np.abs(xS).max()
    zero = np.abs(xS) <= 1e-10 * top
    x[S] = np.where(zero, 0.0, xS)
    if np.linalg.norm(A @ x - y) > 1e-9 * max(np.linalg.norm(y), 1e-300):
        return x, False
    if np.any(np.sign(xS[~zero]) != s[~zero]):
        return x, False
    w = AS @ solve(L, s)
    keep = S[~zero]
    if zero.any():
        AK = A[:, keep]
        try:
            LK = sla.cholesky(gram(keep, AK), lower=True, check_finite=False)
        except (sla.LinAlgError, ValueError):
            return x, False
        AZ = A[:, S[zero]]
        V = AZ - AK @ solve(LK, AK.T @ AZ)          # the part of a_i off range(A_S')
        try:
            h = V @ np.linalg.solve(AZ.T @ V, -s[zero])
        except np.linalg.LinAlgError:
            return x, False
        x[keep] = solve(LK, AK.T @ y)
        tries = (0.5, 1e-1, 1e-2, 1e-3, 1e-4, 1e-6)
    else:
        h, tries = np.zeros_like(w), (0.0,)
    for t in tries:
        u = A.T @ (w + t * h)
        u[keep] = 0.0
        worst = u.max() if nonneg else np.abs(u).max()
        if worst < 1.0 - CERT_MARGIN:
            return x, True
    return x, False


def _finish(A, Y, X, SG, reached, nonneg, G=None):
    certified = np.zeros(Y.shape[1], dtype=bool)
    for t in range(Y.shape[1]):
        if reached[t]:
            X[:, t], certified[t] = certify(A, Y[:, t], SG[:, t], nonneg, G)
    return X, certified


def l1_homotopy_numba(A, Y, *, nonneg=False, max_steps=None):
    """Numba kernel of :func:`l1_homotopy` (the path), then :func:`certify`.

    Parameters
    ----------
    A : ndarray of shape (m, n)
        The matrix.
    Y : ndarray of shape (m,) or (m, T)
        Right-hand side(s).
    nonneg : bool, default=False
        The nonnegative program.
    max_steps : int or None, default=None
        Cap on the path's events.

    Returns
    -------
    X, certified, steps
        As in :func:`l1_homotopy`.
    """
    A, Y, vec, max_steps = _args(A, Y, max_steps)
    T = Y.shape[1]
    n = A.shape[1]
    X = np.zeros((n, T), order="F")
    SG = np.zeros((n, T), order="F")
    reached = np.zeros(T, dtype=np.bool_)
    steps = np.zeros(T, dtype=np.int64)
    G = A.T @ A                               # BLAS, under the caller's thread limits
    _homotopy_block(G, A.T @ Y, A.shape[0], bool(nonneg), max_steps, X, SG, reached, steps)
    X, certified = _finish(A, Y, np.ascontiguousarray(X), SG, reached, nonneg, G)
    return (X[:, 0], certified[0], steps[0]) if vec else (X, certified, steps)


def _numpy_path(A, y, nonneg, max_steps):
    """The path with every quantity recomputed: ``(x, signs, reached, steps)``."""
    m, n = A.shape
    b = A.T @ y
    score = b if nonneg else np.abs(b)
    j = int(np.argmax(score))
    lam = float(score[j])
    x = np.zeros(n)
    signs = np.zeros(n)
    if not lam > 0:
        return x, signs, True, 0
    S, sgn = [j], [1.0 if (nonneg or b[j] > 0) else -1.0]
    last_drop = -1
    lam_end = END_TOL * lam
    for steps in range(1, max_steps + 1):
        AS = A[:, S]
        d = np.linalg.solve(AS.T @ AS, np.array(sgn))
        a = A.T @ (AS @ d)
        c = b - A.T @ (A @ x)
        inactive = np.ones(n, dtype=bool) if len(S) < m else np.zeros(n, dtype=bool)
        inactive[S] = False
        if last_drop >= 0:
            inactive[last_drop] = False
        with np.errstate(divide="ignore", invalid="ignore"):
            up = np.where(a < 1.0, (lam - c) / (1.0 - a), np.inf)
            dn = np.where(a > -1.0, (lam + c) / (1.0 + a), np.inf) if not nonneg else \
                np.full(n, np.inf)
            drop = np.where(d != 0, -x[S] / d, np.inf)
        cand = np.where(inactive & (up > 0), up, np.inf)
        cand = np.minimum(cand, np.where(inactive & (dn > 0), dn, np.inf))
        jj = int(np.argmin(cand))
        drop = np.where(drop > 0, drop, np.inf)
        q = int(np.argmin(drop))
        gamma, event = lam - lam_end, 0
        if cand[jj] < gamma:
            gamma, event = cand[jj], 1
        if drop[q] < gamma:
            gamma, event = drop[q], 2
        if event == 0:
            gamma = lam
        x[S] += gamma * d
        lam -= gamma
        if event == 0:
            signs[S] = sgn
            return x, signs, True, steps
        if event == 1:
            if len(S) >= m:
                return x, signs, False, steps
            cj = b[jj] - A[:, jj] @ (A @ x)
            S.append(jj)
            sgn.append(1.0 if (nonneg or cj > 0) else -1.0)
            last_drop = -1
        else:
            last_drop = S[q]
            x[S[q]] = 0.0
            del S[q], sgn[q]
            if not S:
                return x, signs, False, steps
    return x, signs, False, max_steps


def l1_homotopy_numpy(A, Y, *, nonneg=False, max_steps=None):
    """NumPy twin of :func:`l1_homotopy_numba` (every quantity recomputed each step).

    Parameters
    ----------
    A : ndarray of shape (m, n)
        The matrix.
    Y : ndarray of shape (m,) or (m, T)
        Right-hand side(s).
    nonneg : bool, default=False
        The nonnegative program.
    max_steps : int or None, default=None
        Cap on the path's events.

    Returns
    -------
    X, certified, steps
        As in :func:`l1_homotopy`.
    """
    A, Y, vec, max_steps = _args(A, Y, max_steps)
    out = [_numpy_path(A, Y[:, t], bool(nonneg), max_steps) for t in range(Y.shape[1])]
    X = np.stack([o[0] for o in out], axis=1)
    SG = np.stack([o[1] for o in out], axis=1)
    reached = np.array([o[2] for o in out])
    steps = np.array([o[3] for o in out], dtype=np.int64)
    X, certified = _finish(A, Y, X, SG, reached, nonneg)
    return (X[:, 0], certified[0], steps[0]) if vec else (X, certified, steps)


def l1_homotopy(A, Y, *, nonneg=False, max_steps=None, engine="numba"):
    r"""Solve basis pursuit by the ℓ1 homotopy, with a certificate of exactness per column.

    Parameters
    ----------
    A : ndarray of shape (m, n)
        The matrix.
    Y : ndarray of shape (m,) or (m, T)
        Right-hand side(s), in the range of ``A``.
    nonneg : bool, default=False
        Solve ``min 1ᵀx`` s.t. ``Ax = y``, ``x ≥ 0`` instead.
    max_steps : int or None, default=None
        Cap on the path's events (default ``8m + 16``; a generic path has
        about ``k`` events for a k-sparse solution and at most a few ``m``).
    engine : {"numba", "numpy"}, default="numba"
        The numba kernel or its NumPy twin (the path); both end with
        :func:`certify`.

    Returns
    -------
    X : ndarray of shape (n,) or (n, T)
        The solutions (the path's last point where it did not finish).
    certified : bool or ndarray of bool of shape (T,)
        Whether the column is certified as the unique minimiser (see
        :func:`certify`); a column that is not needs another solver.
    steps : int or ndarray of int of shape (T,)
        Events along the path.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    >>> x, ok, steps = l1_homotopy(A, np.array([1.0, 1.0]))
    >>> x.round(12).tolist(), bool(ok)
    ([0.0, 0.0, 1.0], True)
    """
    if engine == "numba":
        return l1_homotopy_numba(A, Y, nonneg=nonneg, max_steps=max_steps)
    if engine == "numpy":
        return l1_homotopy_numpy(A, Y, nonneg=nonneg, max_steps=max_steps)
    raise ValueError(f"The 'engine' parameter of l1_homotopy must be one of 'numba', "
                     f"'numpy'; got {engine!r}.")
