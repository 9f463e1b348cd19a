r"""One OMP iteration for a block of signals (Cholesky-updated refit), and its twin.

Each signal ``j`` of the block has its own active set ``Γ_j`` (at most
``cap[j]`` atoms), the lower Cholesky factor ``L_j`` of ``A_Γᵀ A_Γ`` and
``z_j = L_j⁻¹ A_Γᵀ y_j``. One call appends one atom to every running signal:

.. math::
    \lambda = \arg\max_i |a_i^\top r|,\quad
    w = L^{-1}A_\Gamma^\top a_\lambda,\quad
    \ell = \sqrt{\|a_\lambda\|^2 - \|w\|^2},\quad
    z \leftarrow (z,\ (a_\lambda^\top y - w^\top z)/\ell),\quad
    x_\Gamma = L^{-\top}z,\quad r = y - A_\Gamma x_\Gamma .

The correlations ``Aᵀr`` come either from the caller (``lams``, one product
``AᵀR`` for the whole block through BLAS, possibly screened in float32), or,
on the Gram path, from ``G = AᵀA``: ``Aᵀr = Aᵀy − Σ_i x_i G[Γ_i, :]`` costs
``O(n|Γ|)`` per signal instead of ``2mn`` (Rubinstein, Zibulevsky & Elad's
batch OMP).

Storage is flat, so signals with different ``cap`` share one block without
padding: signal ``j`` owns ``idx[ok[j] : ok[j] + cap[j]]`` (and ``z``, ``x``
there) and the row-major ``cap[j]²`` block of ``L`` at ``oL[j]``. The arrays
indexed by signal (``s``, ``cap``, ``ok``, ``oL``, ``B``, ``Y``, ``X``, ``R``)
are the caller's running columns; the flat storage is shared by all.

A signal stops (``done[j]``; ``flag[j]`` says why) before changing anything
when the selected atom is already active or its squared correlation is at most
``eps·‖y‖²`` (``flag=1``), or when the atom is numerically dependent on the
active ones, ``‖a‖² − ‖w‖² <= eps`` (``flag=2``); it stops after its update
when it reaches ``cap[j]`` atoms or ``‖r‖² <= tol`` (``flag=0``).

The numba kernel and its NumPy twin perform the same floating-point
operations in the same order except the dot products, which NumPy may sum in
another order (rounding-level differences).
"""
from __future__ import annotations

import numpy as np
from numba import njit
from scipy.linalg import solve_triangular

__all__ = ["omp_step", "omp_step_numba", "omp_step_numpy", "omp_append", "omp_refit"]


@njit(cache=True)
def _append(L, lo, cap, z, ok, idx, s, lam, v, diag, b_lam, eps):
    """Append atom ``lam`` (``v = A_Γᵀa``, ``diag = ‖a‖²``) to one signal's factor."""
    if s == 0:
        if diag <= 0.0:
            return False
        lkk = np.sqrt(diag)
        L[lo] = lkk
        z[ok] = b_lam / lkk
        idx[ok] = lam
        return True
    # forward solve L w = v, written straight into row s of L
    ww = 0.0
    wz = 0.0
    for i in range(s):
        acc = v[i]
        for p in range(i):
            acc -= L[lo + i * cap + p] * L[lo + s * cap + p]
        wi = acc / L[lo + i * cap + i]
        L[lo + s * cap + i] = wi
        ww += wi * wi
        wz += wi * z[ok + i]
    lkk = diag - ww
    if lkk <= eps:
        for i in range(s):
            L[lo + s * cap + i] = 0.0
        return False
    lkk = np.sqrt(lkk)
    L[lo + s * cap + s] = lkk
    z[ok + s] = (b_lam - wz) / lkk
    idx[ok + s] = lam
    return True


@njit(cache=True)
def _refit(L, lo, cap, z, ok, idx, s, x, AF, slot, Y, X, R, j):
    """``x_Γ = L⁻ᵀz`` (back substitution), then ``X[:, j]`` and ``R[:, j] = y − A_Γx_Γ``."""
    for i in range(s - 1, -1, -1):
        acc = z[ok + i]
        for p in range(i + 1, s):
            acc -= L[lo + p * cap + i] * x[ok + p]
        x[ok + i] = acc / L[lo + i * cap + i]
    m = Y.shape[0]
    res = np.empty(m)  # contiguous accumulator: R's columns are strided
    for r in range(m):
        res[r] = Y[r, j]
    for i in range(s):
        col = idx[ok + i]
        sc = slot[col]
        xi = x[ok + i]
        X[col, j] = xi
        for r in range(m):
            res[r] -= xi * AF[r, sc]
    for r in range(m):
        R[r, j] = res[r]


@njit(cache=True)
def omp_step_numba(gram, G, AF, slot, B, Y, yy, lams, L, z, x, idx, s, cap, ok, oL,
                   X, R, done, flag, eps, tol):
    """Advance every signal of the block by one OMP iteration (compiled; see the module).

    ``gram`` selects the correlation source (``G`` rows, else ``lams``);
    column ``i`` of ``A`` is ``AF[:, slot[i]]`` (``AF`` has contiguous columns:
    ``A`` itself with ``slot = arange(n)``, or a cache of fetched columns of
    an operator). ``s``, ``X``, ``R``, ``done`` and ``flag`` are updated in
    place.

    Parameters
    ----------
    gram : bool
        Compute the correlations from rows of ``G`` (else use ``lams``).
    G : ndarray of shape (n, n)
        ``AᵀA`` on the Gram path (any 2-D array otherwise; not read).
    AF : ndarray of shape (m, p), Fortran order
        Column store of ``A``: column ``i`` of ``A`` is ``AF[:, slot[i]]``.
    slot : ndarray of int64 of shape (n,)
        Position of each column of ``A`` in ``AF``.
    B : ndarray of shape (n, T)
        ``AᵀY``.
    Y : ndarray of shape (m, T)
        The signals.
    yy : ndarray of shape (T,)
        ``‖y_j‖²`` (scale of the early-stop test).
    lams : ndarray of int64 of shape (T,)
        The selected atoms when ``gram`` is False (the caller's argmax).
    L, z, x : ndarray of float64
        Flat storage of the factors, ``L⁻¹A_Γᵀy`` and coefficients.
    idx : ndarray of int64
        Flat storage of the active sets, in selection order.
    s, cap : ndarray of int64 of shape (T,)
        Atoms selected so far, and the most allowed, per signal.
    ok, oL : ndarray of int64 of shape (T,)
        Offsets of each signal in ``idx``/``z``/``x`` and in ``L``.
    X, R : ndarray of shape (n, T) and (m, T)
        Iterates and residuals, updated in place.
    done : ndarray of bool of shape (T,)
        Set for the signals that stop at this iteration.
    flag : ndarray of int64 of shape (T,)
        Why a signal stopped: 0 budget or tolerance, 1 early stop, 2 dependent atom.
    eps : float
        Machine epsilon of the working dtype.
    tol : float
        Stop when ``‖r‖² <= tol``; negative disables the test.
    """
    n = B.shape[0]
    m = Y.shape[0]
    T = B.shape[1]
    c = np.empty(n)
    vmax = 1
    for j in range(T):
        vmax = max(vmax, cap[j])
    v = np.empty(vmax)
    for j in range(T):
        sj = s[j]
        cj = cap[j]
        o = ok[j]
        lo = oL[j]
        if sj >= cj:
            done[j] = True
            flag[j] = 0
            continue
        if gram:
            for i in range(n):
                c[i] = B[i, j]
            for q in range(sj):
                g = x[o + q]
                row = idx[o + q]
                for i in range(n):
                    c[i] -= g * G[row, i]
            lam = 0
            best = -1.0
            for i in range(n):
                a = abs(c[i])
                if a > best:
                    best = a
                    lam = i
            corr = c[lam]
        else:
            lam = lams[j]
            sl = slot[lam]
            corr = 0.0
            for r in range(m):
                corr += AF[r, sl] * R[r, j]
        active = False
        for q in range(sj):
            if idx[o + q] == lam:
                active = True
                break
        if active or corr * corr <= eps * yy[j]:
            done[j] = True
            flag[j] = 1
            continue
        if gram:
            for q in range(sj):
                v[q] = G[lam, idx[o + q]]
            diag = G[lam, lam]
        else:
            sl = slot[lam]
            for q in range(sj):
                sc = slot[idx[o + q]]
                acc = 0.0
                for r in range(m):
                    acc += AF[r, sc] * AF[r, sl]
                v[q] = acc
            diag = 0.0
            for r in range(m):
                diag += AF[r, sl] * AF[r, sl]
        if not _append(L, lo, cj, z, o, idx, sj, lam, v, diag, B[lam, j], eps):
            done[j] = True
            flag[j] = 2
            continue
        sj += 1
        s[j] = sj
        _refit(L, lo, cj, z, o, idx, sj, x, AF, slot, Y, X, R, j)
        flag[j] = 0
        if sj >= cj:
            done[j] = True
        elif tol >= 0.0:
            rr = 0.0
            for r in range(m):
                rr += R[r, j] * R[r, j]
            if rr <= tol:
                done[j] = True


@njit(cache=True)
def omp_append(L, z, lo, cap, ok, idx, s, lam, v, diag, b_lam, eps):
    """Append one atom to one signal's factor (warm starts).

    Parameters
    ----------
    L, z : ndarray of float64
        Flat storage of the factors and of ``L⁻¹A_Γᵀy``.
    lo, cap, ok : int
        The signal's offset in ``L``, its atom budget and its offset in ``z``/``idx``.
    idx : ndarray of int64
        Flat storage of the active sets.
    s : int
        Atoms already selected for this signal.
    lam : int
        The atom to append.
    v : ndarray of float64 of shape (s,)
        ``A_Γᵀa_lam``.
    diag : float
        ``‖a_lam‖²``.
    b_lam : float
        ``a_lamᵀy``.
    eps : float
        Pivot threshold (dependence test).

    Returns
    -------
    bool
        False (nothing changed) when the atom is numerically dependent.
    """
    return _append(L, lo, cap, z, ok, idx, s, lam, v, diag, b_lam, eps)


@njit(cache=True)
def omp_refit(L, z, x, lo, cap, ok, idx, s, AF, slot, Y, X, R, j):
    """Refit one signal on its current active set (warm starts).

    Parameters
    ----------
    L, z, x : ndarray of float64
        Flat storage of the factors, ``L⁻¹A_Γᵀy`` and coefficients.
    lo, cap, ok : int
        The signal's offset in ``L``, its atom budget and its offset in ``z``/``x``/``idx``.
    idx : ndarray of int64
        Flat storage of the active sets.
    s : int
        Atoms selected for this signal.
    AF, slot : ndarray
        Column store of ``A`` and the position of each column in it.
    Y, X, R : ndarray
        Signals, iterates and residuals (column ``j`` of X and R is written).
    j : int
        The signal's column.
    """
    _refit(L, lo, cap, z, ok, idx, s, x, AF, slot, Y, X, R, j)


def omp_step_numpy(gram, G, AF, slot, B, Y, yy, lams, L, z, x, idx, s, cap, ok, oL,
                   X, R, done, flag, eps, tol):
    """NumPy twin of :func:`omp_step_numba` (same arguments, same in-place updates).

    Parameters
    ----------
    gram : bool
        Compute the correlations from rows of ``G`` (else use ``lams``).
    G : ndarray of shape (n, n)
        ``AᵀA`` on the Gram path (any 2-D array otherwise; not read).
    AF : ndarray of shape (m, p), Fortran order
        Column store of ``A``: column ``i`` of ``A`` is ``AF[:, slot[i]]``.
    slot : ndarray of int64 of shape (n,)
        Position of each column of ``A`` in ``AF``.
    B : ndarray of shape (n, T)
        ``AᵀY``.
    Y : ndarray of shape (m, T)
        The signals.
    yy : ndarray of shape (T,)
        ``‖y_j‖²`` (scale of the early-stop test).
    lams : ndarray of int64 of shape (T,)
        The selected atoms when ``gram`` is False (the caller's argmax).
    L, z, x : ndarray of float64
        Flat storage of the factors, ``L⁻¹A_Γᵀy`` and coefficients.
    idx : ndarray of int64
        Flat storage of the active sets, in selection order.
    s, cap : ndarray of int64 of shape (T,)
        Atoms selected so far, and the most allowed, per signal.
    ok, oL : ndarray of int64 of shape (T,)
        Offsets of each signal in ``idx``/``z``/``x`` and in ``L``.
    X, R : ndarray of shape (n, T) and (m, T)
        Iterates and residuals, updated in place.
    done : ndarray of bool of shape (T,)
        Set for the signals that stop at this iteration.
    flag : ndarray of int64 of shape (T,)
        Why a signal stopped: 0 budget or tolerance, 1 early stop, 2 dependent atom.
    eps : float
        Machine epsilon of the working dtype.
    tol : float
        Stop when ``‖r‖² <= tol``; negative disables the test.
    """
    for j in range(B.shape[1]):
        sj, cj, o, lo = int(s[j]), int(cap[j]), int(ok[j]), int(oL[j])
        if sj >= cj:
            done[j], flag[j] = True, 0
            continue
        Lj = L[lo:lo + cj * cj].reshape(cj, cj)  # a view: updates land in L
        S = idx[o:o + sj]
        if gram:
            c = B[:, j] - G[S].T @ x[o:o + sj]
            lam = int(np.argmax(np.abs(c)))
            corr = c[lam]
        else:
            lam = int(lams[j])
            corr = AF[:, slot[lam]] @ R[:, j]
        if lam in S or corr * corr <= eps * yy[j]:
            done[j], flag[j] = True, 1
            continue
        if gram:
            v, diag = G[lam, S], G[lam, lam]
        else:
            a = AF[:, slot[lam]]
            v, diag = AF[:, slot[S]].T @ a, a @ a
        if sj:
            w = solve_triangular(Lj[:sj, :sj], v, lower=True)
            lkk = diag - w @ w
            if lkk <= eps:
                done[j], flag[j] = True, 2
                continue
            Lj[sj, :sj] = w
            lkk = np.sqrt(lkk)
            z[o + sj] = (B[lam, j] - w @ z[o:o + sj]) / lkk
        else:
            if diag <= 0:
                done[j], flag[j] = True, 2
                continue
            lkk = np.sqrt(diag)
            z[o] = B[lam, j] / lkk
        Lj[sj, sj] = lkk
        idx[o + sj] = lam
        sj += 1
        s[j] = sj
        S = idx[o:o + sj]
        x[o:o + sj] = solve_triangular(Lj[:sj, :sj], z[o:o + sj], lower=True, trans=1)
        X[S, j] = x[o:o + sj]
        R[:, j] = Y[:, j] - AF[:, slot[S]] @ x[o:o + sj]
        flag[j] = 0
        if sj >= cj or (tol >= 0 and R[:, j] @ R[:, j] <= tol):
            done[j] = True


omp_step = omp_step_numba
