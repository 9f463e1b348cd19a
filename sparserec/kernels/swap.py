"""Exchange moves on a least-squares support: score every single swap, apply one, in O(kn).

State of one signal with a support ``S`` of (at most) ``k`` slots. A slot
``p`` holds the index ``S[p]`` (``-1`` when vacant). With ``G_SS = A_SᵀA_S``
on the active slots:

``Ginv`` (k, k)
    ``G_SS⁻¹``, zero on vacant rows and columns.
``B`` (k, n)
    ``G_SS⁻¹ A_SᵀA``; row ``p`` is zero when slot ``p`` is vacant.
``c`` (n,)
    ``‖(I − P_S) a_j‖²``, the squared distance of column ``j`` to span(A_S)
    (0 on S).
``x`` (k,)
    The least-squares coefficients on S, ``G_SS⁻¹ A_Sᵀy``.
``g`` (n,)
    ``Aᵀ(y − A_S x)``, the correlations of the residual.

Removing the atom in slot ``p`` raises the squared residual by
``t_p² = x_p²/[G_SS⁻¹]_pp`` (the OBS saliency). Adding ``j`` after that
lowers it by ``(g_j + b_pj t_p)²/(c_j + b_pj²)`` with
``b_pj = B_pj/√[G_SS⁻¹]_pp``, because ``P_{S∖i} = P_S − q qᵀ`` with
``q = A_S G_SS⁻¹e_p/√[G_SS⁻¹]_pp``. So the new squared residual of every
exchange is known in O(1) from these arrays, and applying one exchange
(an OBS downdate, then a bordered-inverse update) costs O(kn + k²).

Each numba kernel has a NumPy twin (suffix ``_numpy``) with the same
signature: the test oracle.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["best_swap", "best_swap_numpy", "best_add", "best_add_numpy", "remove_slot",
           "remove_slot_numpy", "add_slot", "add_slot_numpy"]


@njit(cache=True)
def best_swap(S, Ginv, B, c, g, x, inS, floor):
    """Find the exchange (slot p out, column j in) that lowers ``‖r‖²`` the most.

    Parameters
    ----------
    S : ndarray of int64 of shape (k,)
        Index held by each slot, -1 when vacant.
    Ginv : ndarray of shape (k, k)
        Inverse Gram matrix of the support (see the module docstring).
    B : ndarray of shape (k, n)
        ``G_SS⁻¹ A_SᵀA``.
    c : ndarray of shape (n,)
        Squared distances of the columns to span(A_S).
    g : ndarray of shape (n,)
        Residual correlations ``Aᵀr``.
    x : ndarray of shape (k,)
        Coefficients on the support.
    inS : ndarray of bool of shape (n,)
        Membership of the support.
    floor : ndarray of shape (n,)
        A candidate ``j`` is skipped when its distance to span(A_{S∖i}) is
        at most ``floor[j]`` (numerically dependent columns).

    Returns
    -------
    p : int
        Slot to empty (-1 when no exchange lowers the residual).
    j : int
        Column to bring in (-1 likewise).
    delta : float
        Change of ``‖r‖²`` (negative; 0 when none).
    """
    k = S.size
    n = g.size
    best = 0.0
    bp = -1
    bj = -1
    for p in range(k):
        if S[p] < 0:
            continue
        gpp = Ginv[p, p]
        if not gpp > 0.0:
            continue
        s = 1.0 / np.sqrt(gpp)
        t = x[p] * s
        t2 = t * t
        for j in range(n):
            if inS[j]:
                continue
            b = B[p, j] * s
            den = c[j] + b * b
            if den <= floor[j]:
                continue
            num = g[j] + b * t
            d = t2 - num * num / den
            if d < best:
                best = d
                bp = p
                bj = j
    return bp, bj, best


def best_swap_numpy(S, Ginv, B, c, g, x, inS, floor):
    """NumPy twin of :func:`best_swap` (the whole k × n table of exchanges).

    Parameters
    ----------
    S, Ginv, B, c, g, x, inS, floor : ndarray
        As in :func:`best_swap`.

    Returns
    -------
    p : int
        Slot to empty (-1 when no exchange lowers the residual).
    j : int
        Column to bring in (-1 likewise).
    delta : float
        Change of ``‖r‖²`` (negative; 0 when none).
    """
    act = np.flatnonzero((S >= 0) & (np.diag(Ginv) > 0))
    if act.size == 0:
        return -1, -1, 0.0
    s = 1.0 / np.sqrt(np.diag(Ginv)[act])
    t = x[act] * s
    b = B[act] * s[:, None]
    den = c[None, :] + b * b
    ok = (den > floor[None, :]) & ~inS[None, :]
    num = g[None, :] + b * t[:, None]
    d = np.where(ok, t[:, None] ** 2 - num * num / np.where(ok, den, 1.0), 0.0)
    flat = int(np.argmin(d))  # first minimum in (slot, column) order, as the kernel
    i, j = divmod(flat, d.shape[1])
    if not d[i, j] < 0.0:
        return -1, -1, 0.0
    return int(act[i]), int(j), float(d[i, j])


@njit(cache=True)
def best_add(c, g, inS, floor):
    """Find the column whose addition lowers ``‖r‖²`` the most (decrease ``g_j²/c_j``).

    Parameters
    ----------
    c : ndarray of shape (n,)
        Squared distances of the columns to span(A_S).
    g : ndarray of shape (n,)
        Residual correlations ``Aᵀr``.
    inS : ndarray of bool of shape (n,)
        Membership of the support.
    floor : ndarray of shape (n,)
        Columns with ``c_j <= floor[j]`` are skipped.

    Returns
    -------
    j : int
        The column (-1 when every candidate is dependent or uncorrelated).
    gain : float
        The decrease of ``‖r‖²`` (>= 0).
    """
    best = 0.0
    bj = -1
    for j in range(g.size):
        if inS[j] or c[j] <= floor[j]:
            continue
        v = g[j] * g[j] / c[j]
        if v > best:
            best = v
            bj = j
    return bj, best


def best_add_numpy(c, g, inS, floor):
    """NumPy twin of :func:`best_add`.

    Parameters
    ----------
    c, g, inS, floor : ndarray
        As in :func:`best_add`.

    Returns
    -------
    j : int
        The column (-1 when every candidate is dependent or uncorrelated).
    gain : float
        The decrease of ``‖r‖²`` (>= 0).
    """
    ok = ~inS & (c > floor)
    v = np.where(ok, g * g / np.where(ok, c, 1.0), 0.0)
    j = int(np.argmax(v))
    if not v[j] > 0.0:
        return -1, 0.0
    return j, float(v[j])


@njit(cache=True)
def remove_slot(p, S, Ginv, B, c, g, x, inS):
    """Remove the atom of slot ``p`` and update the state in place (OBS downdate).

    Parameters
    ----------
    p : int
        An active slot.
    S, Ginv, B, c, g, x, inS : ndarray
        The state (module docstring); updated in place, slot ``p`` left vacant.

    Notes
    -----
    With :math:`h = G^{-1}e_p`, :math:`b = B_{p,:}`:
    :math:`x \\leftarrow x - h\\,x_p/h_p`,
    :math:`g \\leftarrow g + b\\,x_p/h_p`,
    :math:`G^{-1} \\leftarrow G^{-1} - hh^\\top/h_p`,
    :math:`B \\leftarrow B - h b/h_p`, :math:`c \\leftarrow c + b^2/h_p`.
    """
    k = S.size
    n = g.size
    hp = Ginv[p, p]
    h = Ginv[:, p].copy()
    b = B[p].copy()
    f = x[p] / hp
    for j in range(n):
        g[j] += f * b[j]
        c[j] += b[j] * b[j] / hp
    for q in range(k):
        x[q] -= h[q] * f
        w = h[q] / hp
        for r in range(k):
            Ginv[q, r] -= w * h[r]
        for j in range(n):
            B[q, j] -= w * b[j]
    x[p] = 0.0
    Ginv[p, :] = 0.0
    Ginv[:, p] = 0.0
    B[p, :] = 0.0
    inS[S[p]] = False
    S[p] = -1


def remove_slot_numpy(p, S, Ginv, B, c, g, x, inS):
    """NumPy twin of :func:`remove_slot` (same in-place updates).

    Parameters
    ----------
    p : int
        An active slot.
    S, Ginv, B, c, g, x, inS : ndarray
        The state; updated in place.
    """
    hp = Ginv[p, p]
    h = Ginv[:, p].copy()
    b = B[p].copy()
    f = x[p] / hp
    g += f * b
    c += b * b / hp
    x -= h * f
    Ginv -= np.outer(h / hp, h)
    B -= np.outer(h / hp, b)
    x[p] = 0.0
    Ginv[p, :] = 0.0
    Ginv[:, p] = 0.0
    B[p, :] = 0.0
    inS[S[p]] = False
    S[p] = -1


@njit(cache=True)
def add_slot(p, j, grow, S, Ginv, B, c, g, x, inS):
    """Put column ``j`` into the vacant slot ``p`` and update the state in place.

    Parameters
    ----------
    p : int
        A vacant slot.
    j : int
        A column outside the support with ``c[j] > 0``.
    grow : ndarray of shape (n,)
        ``Aᵀa_j`` (row ``j`` of the Gram matrix).
    S, Ginv, B, c, g, x, inS : ndarray
        The state (module docstring); updated in place.

    Notes
    -----
    With :math:`u = B_{:,j} = G^{-1}A_S^\\top a_j`, :math:`s = c_j` and
    :math:`d = (A^\\top a_j - B^\\top A_S^\\top a_j)/s` (so :math:`sd = A^\\top c`,
    :math:`c` the part of :math:`a_j` orthogonal to span(A_S)), the bordered
    inverse gives :math:`G^{-1} \\leftarrow [[G^{-1} + uu^\\top/s, -u/s], [-u^\\top/s, 1/s]]`,
    :math:`B \\leftarrow [B - ud;\\ d]`, :math:`c \\leftarrow c - s\\,d^2`, and with
    :math:`\\gamma = g_j/s`: :math:`x \\leftarrow [x - \\gamma u;\\ \\gamma]`,
    :math:`g \\leftarrow g - \\gamma s\\,d`.
    """
    k = S.size
    n = g.size
    s = c[j]
    u = B[:, j].copy()
    d = grow.copy()
    for q in range(k):
        if S[q] >= 0:
            v = grow[S[q]]
            for l in range(n):
                d[l] -= v * B[q, l]
    for l in range(n):
        d[l] /= s
    gam = g[j] / s
    for l in range(n):
        g[l] -= gam * s * d[l]
        c[l] -= s * d[l] * d[l]
    for q in range(k):
        x[q] -= u[q] * gam
        w = u[q] / s
        for r in range(k):
            Ginv[q, r] += w * u[r]
        for l in range(n):
            B[q, l] -= u[q] * d[l]
    for q in range(k):
        Ginv[p, q] = -u[q] / s
        Ginv[q, p] = -u[q] / s
    Ginv[p, p] = 1.0 / s
    for l in range(n):
        B[p, l] = d[l]
    x[p] = gam
    S[p] = j
    inS[j] = True
    for q in range(k):
        if S[q] >= 0:
            c[S[q]] = 0.0


def add_slot_numpy(p, j, grow, S, Ginv, B, c, g, x, inS):
    """NumPy twin of :func:`add_slot` (same in-place updates).

    Parameters
    ----------
    p : int
        A vacant slot.
    j : int
        A column outside the support.
    grow : ndarray of shape (n,)
        ``Aᵀa_j``.
    S, Ginv, B, c, g, x, inS : ndarray
        The state; updated in place.
    """
    s = c[j]
    u = B[:, j].copy()
    act = S >= 0
    d = (grow - grow[S[act]] @ B[act]) / s
    gam = g[j] / s
    g -= gam * s * d
    c -= s * d * d
    x -= u * gam
    Ginv += np.outer(u / s, u)
    B -= np.outer(u, d)
    Ginv[p, :] = -u / s
    Ginv[:, p] = -u / s
    Ginv[p, p] = 1.0 / s
    B[p, :] = d
    x[p] = gam
    S[p] = j
    inS[j] = True
    c[S[S >= 0]] = 0.0
