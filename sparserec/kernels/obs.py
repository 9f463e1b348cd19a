r"""Optimal Brain Surgeon kernels: saliency, update, inverse downdate, greedy removal.

Every kernel is a module-level ``@njit(cache=True)`` function with a NumPy
twin (suffix ``_numpy``) that is the test oracle. ``NUMBA_DISABLE_JIT=1``
runs the kernels as plain Python.

Notation (DESIGN.md): ``w`` is a dense vector (or the rows of ``W``), ``Hinv``
is the inverse curvature :math:`\hat H^{-1}` (symmetric positive definite),
``q`` a coordinate to remove.

* saliency  :math:`\rho_q = w_q^2 / (2[\hat H^{-1}]_{qq})`;
* update    :math:`\delta = -(w_q/[\hat H^{-1}]_{qq})\,\hat H^{-1} e_q`;
* downdate  :math:`\hat H^{-1} - \hat H^{-1} e_q e_q^\top \hat H^{-1} / [\hat H^{-1}]_{qq}`;
* greedy    OBC's inner loop: remove ``n - k`` coordinates of each row, one
  at a time, the cheapest first.

The greedy kernel does not store a downdated ``n × n`` copy of ``Hinv`` per
row (OBC does, which costs ``O(n²)`` memory traffic per removal). After ``t``
removals the downdated inverse is :math:`\hat H^{-1} - U_t^\top U_t` with
:math:`u_s = (\text{column } q_s \text{ of the downdated inverse}) /
\sqrt{[\,\cdot\,]_{q_s q_s}}`, so one column costs ``O(n t)`` and the diagonal
is updated in ``O(n)``. This is the same downdate recursion, term by term
(the full-matrix version is :func:`obs_downdate` and the tests check the
two agree); only the storage differs.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = [
    "obs_saliency", "obs_saliency_numba", "obs_saliency_numpy",
    "obs_update", "obs_update_numba", "obs_update_numpy",
    "obs_downdate", "obs_downdate_numba", "obs_downdate_numpy",
    "greedy_obs", "greedy_obs_numba", "greedy_obs_numpy",
    "chol_update", "chol_update_numba", "chol_update_numpy",
]


# --------------------------------------------------------------------- saliency
@njit(cache=True)
def _saliency(W, d):
    r, n = W.shape
    out = np.empty((r, n), dtype=np.float64)
    for i in range(r):
        for j in range(n):
            out[i, j] = 0.5 * W[i, j] * W[i, j] / d[j]
    return out


def obs_saliency_numba(W, hinv_diag):
    """Numba kernel of :func:`obs_saliency`.

    Parameters
    ----------
    W : ndarray of shape (n,) or (r, n)
        Weights.
    hinv_diag : ndarray of shape (n,)
        Diagonal of the inverse curvature.

    Returns
    -------
    rho : ndarray of float64, same shape as ``W``
        Saliencies (see :func:`obs_saliency`).
    """
    W = np.asarray(W, dtype=np.float64)
    squeeze = W.ndim == 1
    out = _saliency(np.atleast_2d(W), np.asarray(hinv_diag, dtype=np.float64))
    return out[0] if squeeze else out


def obs_saliency_numpy(W, hinv_diag):
    """NumPy twin of :func:`obs_saliency_numba`.

    Parameters
    ----------
    W : ndarray of shape (n,) or (r, n)
        Weights.
    hinv_diag : ndarray of shape (n,)
        Diagonal of the inverse curvature.

    Returns
    -------
    rho : ndarray of float64, same shape as ``W``
        Saliencies (see :func:`obs_saliency`).
    """
    W = np.asarray(W, dtype=np.float64)
    return 0.5 * W * W / np.asarray(hinv_diag, dtype=np.float64)


def obs_saliency(W, hinv_diag, *, engine="numba"):
    r"""OBS saliency of every coordinate, :math:`w_q^2 / (2[\hat H^{-1}]_{qq})`.

    Parameters
    ----------
    W : ndarray of shape (n,) or (r, n)
        Weights (one row per vector sharing the curvature).
    hinv_diag : ndarray of shape (n,)
        Diagonal of :math:`\hat H^{-1}` (positive).
    engine : {"numba", "numpy"}, default="numba"
        The numba kernel or its NumPy twin.

    Returns
    -------
    rho : ndarray of float64, same shape as ``W``
        Loss increase of removing each coordinate alone (with the OBS update).
    """
    return _engine(engine, obs_saliency_numba, obs_saliency_numpy)(W, hinv_diag)


# ----------------------------------------------------------------------- update
@njit(cache=True)
def _update(w, Hinv, q):
    n = w.size
    f = w[q] / Hinv[q, q]
    out = np.empty(n, dtype=np.float64)
    for j in range(n):
        out[j] = -f * Hinv[j, q]
    return out


def obs_update_numba(w, Hinv, q):
    """Numba kernel of :func:`obs_update`.

    Parameters
    ----------
    w : ndarray of shape (n,)
        Current weights.
    Hinv : ndarray of shape (n, n)
        Inverse curvature.
    q : int
        Coordinate to remove.

    Returns
    -------
    delta : ndarray of shape (n,)
        The OBS update (see :func:`obs_update`).
    """
    return _update(np.asarray(w, dtype=np.float64), np.asarray(Hinv, dtype=np.float64), int(q))


def obs_update_numpy(w, Hinv, q):
    """NumPy twin of :func:`obs_update_numba`.

    Parameters
    ----------
    w : ndarray of shape (n,)
        Current weights.
    Hinv : ndarray of shape (n, n)
        Inverse curvature.
    q : int
        Coordinate to remove.

    Returns
    -------
    delta : ndarray of shape (n,)
        The OBS update (see :func:`obs_update`).
    """
    w = np.asarray(w, dtype=np.float64)
    Hinv = np.asarray(Hinv, dtype=np.float64)
    return -(w[q] / Hinv[q, q]) * Hinv[:, q]


def obs_update(w, Hinv, q, *, engine="numba"):
    r"""Single-weight OBS update :math:`\delta = -(w_q/[\hat H^{-1}]_{qq})\hat H^{-1}e_q`.

    ``w + δ`` has ``(w + δ)_q = 0`` (up to rounding) and minimises the
    quadratic model among vectors with that coordinate removed.

    Parameters
    ----------
    w : ndarray of shape (n,)
        Current weights.
    Hinv : ndarray of shape (n, n)
        Inverse curvature :math:`\hat H^{-1}` (symmetric positive definite).
    q : int
        Coordinate to remove.
    engine : {"numba", "numpy"}, default="numba"
        The numba kernel or its NumPy twin.

    Returns
    -------
    delta : ndarray of shape (n,)
        The update; ``w + delta`` has coordinate ``q`` zero.
    """
    return _engine(engine, obs_update_numba, obs_update_numpy)(w, Hinv, q)


# --------------------------------------------------------------------- downdate
@njit(cache=True)
def _downdate(Hinv, q):
    n = Hinv.shape[0]
    out = np.empty((n, n), dtype=np.float64)
    piv = Hinv[q, q]
    for i in range(n):
        a = Hinv[i, q] / piv
        for j in range(n):
            out[i, j] = Hinv[i, j] - a * Hinv[q, j]
    return out


def obs_downdate_numba(Hinv, q):
    """Numba kernel of :func:`obs_downdate`.

    Parameters
    ----------
    Hinv : ndarray of shape (n, n)
        Inverse curvature.
    q : int
        Coordinate to remove.

    Returns
    -------
    Hinv_q : ndarray of shape (n, n)
        The downdated inverse (see :func:`obs_downdate`).
    """
    return _downdate(np.asarray(Hinv, dtype=np.float64), int(q))


def obs_downdate_numpy(Hinv, q):
    """NumPy twin of :func:`obs_downdate_numba`.

    Parameters
    ----------
    Hinv : ndarray of shape (n, n)
        Inverse curvature.
    q : int
        Coordinate to remove.

    Returns
    -------
    Hinv_q : ndarray of shape (n, n)
        The downdated inverse (see :func:`obs_downdate`).
    """
    Hinv = np.asarray(Hinv, dtype=np.float64)
    return Hinv - np.outer(Hinv[:, q], Hinv[q, :]) / Hinv[q, q]


def obs_downdate(Hinv, q, *, engine="numba"):
    r"""Inverse after removing coordinate ``q``: one Gaussian-elimination step.

    .. math::  \hat H^{-1} - \hat H^{-1} e_q e_q^\top \hat H^{-1} / [\hat H^{-1}]_{qq}.

    Row and column ``q`` of the result are zero; restricted to the other
    coordinates it equals :math:`(\hat H_{-q,-q})^{-1}`. Returns a new array.

    Parameters
    ----------
    Hinv : ndarray of shape (n, n)
        Inverse curvature :math:`\hat H^{-1}` (symmetric positive definite).
    q : int
        Coordinate to remove.
    engine : {"numba", "numpy"}, default="numba"
        The numba kernel or its NumPy twin.

    Returns
    -------
    Hinv_q : ndarray of shape (n, n)
        The downdated inverse.
    """
    return _engine(engine, obs_downdate_numba, obs_downdate_numpy)(Hinv, q)


# ----------------------------------------------------------------------- greedy
_BIG = np.finfo(np.float64).max  # an eligible +inf score ranks below a blocked one


@njit(cache=True)
def _greedy_row(w, Hinv, nrem, trace, order, U, col, d, perm, wp, N, M, cnt):
    """Remove ``nrem`` coordinates of ``w`` in place (see :func:`greedy_obs`).

    Active coordinates are kept contiguous at positions ``0 .. na-1`` (a
    removed one is swapped to the end), so every inner loop runs over the
    active set only, on contiguous memory. With ``M > 0`` a coordinate whose
    group ``perm[p] // M`` already has ``N`` removals (``cnt``) is not
    eligible (score +inf); ``M == 0`` means no group constraint.

    Selection rule (shared with the NumPy twin, i.e. ``np.argmin`` over the
    eligible scores): the first NaN score if any, else the smallest score,
    the lowest original index on ties; an eligible +inf score is ranked as
    the largest float, so it still beats every ineligible coordinate.
    """
    n = w.size
    for p in range(n):
        perm[p] = p
        d[p] = Hinv[p, p]
        wp[p] = w[p]
    for g in range(cnt.size):
        cnt[g] = 0
    na = n
    for t in range(nrem):
        best = np.inf
        pq = -1
        pnan = -1
        for p in range(na):
            if M > 0 and cnt[perm[p] // M] >= N:
                continue
            sc = wp[p] * wp[p] / d[p]
            if sc != sc:  # NaN: np.argmin returns the first one
                if pnan < 0 or perm[p] < perm[pnan]:
                    pnan = p
                continue
            if sc > _BIG:
                sc = _BIG
            if pq < 0 or sc < best or (sc == best and perm[p] < perm[pq]):
                best = sc
                pq = p
        if pnan >= 0:
            pq = pnan
        q = perm[pq]
        if M > 0:
            cnt[q // M] += 1
        # column q of the downdated inverse: Hinv[:, q] - sum_s U[s, q] U[s, :]
        for p in range(na):
            col[p] = Hinv[q, perm[p]]
        s0 = 0
        while s0 + 4 <= t:  # four rows of U per sweep over col (less memory traffic)
            c0 = U[s0, pq]
            c1 = U[s0 + 1, pq]
            c2 = U[s0 + 2, pq]
            c3 = U[s0 + 3, pq]
            for p in range(na):
                col[p] -= (c0 * U[s0, p] + c1 * U[s0 + 1, p]) + (c2 * U[s0 + 2, p]
                                                                + c3 * U[s0 + 3, p])
            s0 += 4
        for s in range(s0, t):
            c = U[s, pq]
            for p in range(na):
                col[p] -= c * U[s, p]
        dq = col[pq]
        f = wp[pq] / dq
        trace[t] = 0.5 * wp[pq] * f
        order[t] = q
        inv = 1.0 / np.sqrt(dq)
        for p in range(na):
            wp[p] -= f * col[p]
            u = col[p] * inv
            U[t, p] = u
            d[p] -= u * u
        last = na - 1
        if pq != last:
            perm[pq], perm[last] = perm[last], perm[pq]
            wp[pq] = wp[last]
            d[pq] = d[last]
            for s in range(t + 1):
                U[s, pq], U[s, last] = U[s, last], U[s, pq]
        wp[last] = 0.0
        na -= 1
    for p in range(n):
        w[perm[p]] = wp[p]


@njit(cache=True)
def _greedy_serial(W, Hinv, nremove, trace, order, N, M):
    r, n = W.shape
    maxrem = trace.shape[1]
    U = np.empty((maxrem, n))
    col = np.empty(n)
    d = np.empty(n)
    perm = np.empty(n, dtype=np.int64)
    wp = np.empty(n)
    cnt = np.empty(n // M if M > 0 else 1, dtype=np.int64)
    for i in range(r):
        _greedy_row(W[i], Hinv, nremove[i], trace[i], order[i], U, col, d, perm, wp,
                    N, M, cnt)


@njit(cache=True, parallel=True)
def _greedy_parallel(W, Hinv, nremove, trace, order, N, M):
    r, n = W.shape
    maxrem = trace.shape[1]
    for i in prange(r):
        U = np.empty((maxrem, n))
        col = np.empty(n)
        d = np.empty(n)
        perm = np.empty(n, dtype=np.int64)
        wp = np.empty(n)
        cnt = np.empty(n // M if M > 0 else 1, dtype=np.int64)
        _greedy_row(W[i], Hinv, nremove[i], trace[i], order[i], U, col, d, perm, wp,
                    N, M, cnt)


def _check_nm(nm, n, owner):
    """Validate ``nm`` against the row length ``n``; return ``(N, M)`` (``(0, 0)`` for None)."""
    if nm is None:
        return 0, 0
    ok = isinstance(nm, (tuple, list)) and len(nm) == 2 and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in nm)
    if ok:
        N, M = int(nm[0]), int(nm[1])
        ok = M >= 1 and 0 <= N <= M
    if not ok:
        raise ValueError(f"The 'nm' parameter of {owner} must be None or a pair of ints "
                         f"(N, M) with 0 <= N <= M and M >= 1 (N removals per group of M "
                         f"consecutive coordinates); got {nm!r}.")
    if n % M:
        raise ValueError(f"The 'nm' parameter of {owner} needs the row length n={n} to be "
                         f"divisible by M={M}; got nm={nm!r}.")
    return N, M


def _greedy_args(W, Hinv, k, nm, owner):
    W = np.array(W, dtype=np.float64, copy=True, order="C")
    squeeze = W.ndim == 1
    W = np.atleast_2d(W)
    r, n = W.shape
    Hinv = np.ascontiguousarray(Hinv, dtype=np.float64)
    if Hinv.shape != (n, n):
        raise ValueError(f"The 'Hinv' argument of {owner} must have shape ({n}, {n}) to "
                         f"match 'W'; got {Hinv.shape}.")
    N, M = _check_nm(nm, n, owner)
    # fewest coordinates that can be kept: n - (n/M)·N under N:M, 0 otherwise
    kmin = n - (n // M) * N if M else 0
    if k is None and M:
        k = kmin
    kk = np.asarray(k)
    if kk.dtype.kind not in "iu" or kk.ndim > 1 or (kk.ndim == 1 and kk.size != r):
        raise ValueError(f"The 'k' parameter of {owner} must be an int or an int array of "
                         f"shape ({r},) (or None with 'nm'); got {k!r}.")
    kk = np.broadcast_to(kk, (r,)).astype(np.int64)
    if np.any(kk < kmin) or np.any(kk > n):
        extra = f" (nm={nm!r} removes at most (n/M)·N = {n - kmin} per row)" if M else ""
        raise ValueError(f"The 'k' parameter of {owner} must be in [{kmin}, n={n}]{extra}; "
                         f"got {k!r}.")
    nremove = (n - kk).astype(np.int64)
    maxrem = int(nremove.max()) if r else 0
    trace = np.full((r, maxrem), np.nan)
    order = np.full((r, maxrem), -1, dtype=np.int64)
    return W, Hinv, nremove, trace, order, squeeze, N, M


def _greedy_out(W, trace, order, squeeze, return_trace):
    if squeeze:
        W, trace, order = W[0], trace[0], order[0]
    if return_trace:
        return W, trace, order
    return W


def greedy_obs_numba(W, Hinv, k=None, *, nm=None, return_trace=False, parallel=True):
    """Numba kernel of :func:`greedy_obs` (rows in parallel with ``prange``).

    Parameters
    ----------
    W : ndarray of shape (n,) or (r, n)
        Dense rows (not modified).
    Hinv : ndarray of shape (n, n)
        Shared inverse curvature.
    k : int, ndarray of int of shape (r,), or None
        Coordinates kept per row (None only with ``nm``).
    nm : None or tuple (N, M), default=None
        N:M group constraint (see :func:`greedy_obs`).
    return_trace : bool, default=False
        Also return the per-step loss increments and the removal order.
    parallel : bool, default=True
        Run the rows in parallel (``prange``); False runs them serially (the
        same per-row code, identical results).

    Returns
    -------
    W_pruned : ndarray
        As :func:`greedy_obs`; with ``return_trace`` the tuple
        ``(W_pruned, trace, order)``.
    """
    W, Hinv, nremove, trace, order, squeeze, N, M = _greedy_args(W, Hinv, k, nm, "greedy_obs")
    if W.shape[0]:
        fn = _greedy_parallel if (parallel and W.shape[0] > 1) else _greedy_serial
        fn(W, Hinv, nremove, trace, order, N, M)
    return _greedy_out(W, trace, order, squeeze, return_trace)


def greedy_obs_numpy(W, Hinv, k=None, *, nm=None, return_trace=False, chunk=64):
    """NumPy twin of :func:`greedy_obs_numba`, vectorised over rows.

    Processes ``chunk`` rows at a time; per removal step, one batched
    ``(1 × t) @ (t × n)`` product per row gives the needed column of the
    downdated inverse (the same low-rank form as the kernel).

    Parameters
    ----------
    W : ndarray of shape (n,) or (r, n)
        Dense rows (not modified).
    Hinv : ndarray of shape (n, n)
        Shared inverse curvature.
    k : int, ndarray of int of shape (r,), or None
        Coordinates kept per row (None only with ``nm``).
    nm : None or tuple (N, M), default=None
        N:M group constraint (see :func:`greedy_obs`).
    return_trace : bool, default=False
        Also return the per-step loss increments and the removal order.
    chunk : int, default=64
        Rows processed together.

    Returns
    -------
    W_pruned : ndarray
        As :func:`greedy_obs`; with ``return_trace`` the tuple
        ``(W_pruned, trace, order)``.
    """
    W, Hinv, nremove, trace, order, squeeze, N, M = _greedy_args(W, Hinv, k, nm, "greedy_obs")
    r, n = W.shape
    maxrem = trace.shape[1]
    hdiag = np.diag(Hinv).copy()
    group = np.arange(n) // M if M else None
    for lo in range(0, r, chunk):
        rows = slice(lo, min(lo + chunk, r))
        Wc = W[rows]
        c = Wc.shape[0]
        ar = np.arange(c)
        nrem = nremove[rows]
        U = np.zeros((c, maxrem, n))
        D = np.tile(hdiag, (c, 1))
        active = np.ones((c, n), dtype=bool)
        cnt = np.zeros((c, n // M if M else 1), dtype=np.int64)
        for t in range(int(nrem.max()) if c else 0):
            live = t < nrem
            eligible = active if not M else active & (cnt[:, group] < N)
            # np.minimum keeps NaN (argmin takes the first NaN, as the kernel does) and
            # ranks an eligible +inf below the ineligible ones
            score = np.where(eligible,
                             np.minimum(Wc * Wc / np.where(eligible, D, 1.0), _BIG), np.inf)
            q = np.argmin(score, axis=1)
            col = Hinv[q] - np.matmul(U[ar, :t, q][:, None, :], U[:, :t, :])[:, 0, :]
            dq = np.where(live, col[ar, q], 1.0)
            f = np.where(live, Wc[ar, q] / dq, 0.0)
            trace[lo:lo + c, t] = np.where(live, 0.5 * Wc[ar, q] * f, np.nan)
            order[lo:lo + c, t] = np.where(live, q, -1)
            Wc -= np.where(active, f[:, None] * col, 0.0)
            Wc[ar[live], q[live]] = 0.0
            active[ar[live], q[live]] = False
            if M:
                cnt[ar[live], q[live] // M] += 1
            u = col / np.sqrt(dq)[:, None]
            u[~live] = 0.0
            U[:, t, :] = u
            D -= u * u
        W[rows] = Wc
    return _greedy_out(W, trace, order, squeeze, return_trace)


def greedy_obs(W, Hinv, k=None, *, nm=None, return_trace=False, engine="numba"):
    r"""Greedy sequential OBS (OBC's inner loop) on many rows sharing one inverse.

    Each row keeps its own (implicitly) downdated copy of :math:`\hat H^{-1}`
    and removes ``n − k`` coordinates, one at a time:

    1. :math:`q^\star = \arg\min_{q \text{ eligible}} w_q^2/[\hat H^{-1}]_{qq}`
       (the first index on ties); every active coordinate is eligible,
       except, with ``nm=(N, M)``, those whose group already has N removals;
    2. :math:`w \leftarrow w - (w_{q^\star}/[\hat H^{-1}]_{q^\star q^\star})
       \hat H^{-1}_{:,q^\star}`, and :math:`w_{q^\star} = 0` exactly;
    3. downdate the inverse (:func:`obs_downdate`).

    Parameters
    ----------
    W : ndarray of shape (n,) or (r, n)
        Dense rows (not modified).
    Hinv : ndarray of shape (n, n)
        Shared inverse curvature, symmetric positive definite (damp it when
        the curvature is singular).
    k : int, ndarray of int of shape (r,), or None, default=None
        Coordinates kept per row (a per-row ``k`` supports layer-global
        allocation). None is allowed only with ``nm`` and means
        ``n − (n/M)·N`` (an exact N:M pattern).
    nm : None or tuple of int (N, M), default=None
        N:M constraint (OBC's ``nmprune``): removals are counted per group of
        M consecutive coordinates (``q // M``) and a group that already has N
        removals is excluded from further selection (score +∞). ``n`` must be
        divisible by M, and ``k`` must be at least ``n − (n/M)·N``; with that
        ``k`` (the default) every group ends with exactly N removals, since
        each step can only pick from a group that is not full.
    return_trace : bool, default=False
        Also return the per-step loss increments and the removal order.
    engine : {"numba", "numpy"}, default="numba"
        The numba kernel or its NumPy twin (same selection rule, same result
        up to rounding).

    Returns
    -------
    W_pruned : ndarray of float64, same shape as ``W``
        Pruned rows: exactly ``k`` (per row) nonzero positions at most, every
        pruned entry exactly 0.
    trace : ndarray of shape (r, n − min(k)), only if ``return_trace``
        ``trace[i, t]`` is the loss increase :math:`w_q^2/(2[\hat H^{-1}]_{qq})`
        of step ``t`` of row ``i`` (NaN past that row's last step). Summing a
        row's first ``t`` entries gives its loss after ``t`` removals.
    order : ndarray of int64 of shape (r, n − min(k)), only if ``return_trace``
        Removed coordinate at each step (−1 past the last step).

    Raises
    ------
    ValueError
        If shapes disagree, ``k`` is out of range, ``nm`` is malformed or
        ``n`` is not divisible by M.

    Notes
    -----
    The loss is the quadratic model :math:`\tfrac12 (v - w)^\top \hat H (v - w)`.
    One removal from the current (already pruned and corrected) row costs
    ``O(n t)`` after ``t`` removals (see the module docstring), so a row costs
    ``O(n (n-k)^2 / 2)`` instead of OBC's ``O(n^2 (n-k))``. The N:M variant
    is the same loop with the blocked scores; its greedy choice, like the
    unconstrained one, is not guaranteed to find the best mask.

    Selection rule (both engines, that of ``np.argmin``): a NaN score, if
    any, is taken first; among equal scores the lowest index wins; an
    eligible coordinate with score +∞ is still taken before any blocked one.

    References
    ----------
    .. [1] E. Frantar, S. P. Singh and D. Alistarh, "Optimal Brain
       Compression: a framework for accurate post-training quantization and
       pruning", NeurIPS 2022.
    .. [2] B. Hassibi and D. G. Stork, "Second order derivatives for network
       pruning: Optimal Brain Surgeon", NeurIPS 1993.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([1.0, -0.1, 2.0])
    >>> greedy_obs(w, np.eye(3), 2).tolist()
    [1.0, 0.0, 2.0]
    >>> w = np.array([0.1, 0.2, 3.0, 4.0, 5.0, 6.0, 0.3, 0.4])
    >>> greedy_obs(w, np.eye(8), nm=(2, 4)).tolist()
    [0.0, 0.0, 3.0, 4.0, 5.0, 6.0, 0.0, 0.0]
    """
    fn = _engine(engine, greedy_obs_numba, greedy_obs_numpy)
    return fn(W, Hinv, k, nm=nm, return_trace=return_trace)


# ------------------------------------------------------- Cholesky rank-1 update
@njit(cache=True)
def _chol_update(L, x):
    n = L.shape[0]
    for k in range(n):
        lkk = L[k, k]
        r = np.sqrt(lkk * lkk + x[k] * x[k])
        c = r / lkk
        s = x[k] / lkk
        L[k, k] = r
        for i in range(k + 1, n):
            L[i, k] = (L[i, k] + s * x[i]) / c
            x[i] = c * x[i] - s * L[i, k]


def chol_update_numba(L, x):
    """Numba kernel of :func:`chol_update` (returns a new factor).

    Parameters
    ----------
    L : ndarray of shape (n, n)
        Lower Cholesky factor (not modified).
    x : ndarray of shape (n,)
        Update vector (not modified).

    Returns
    -------
    L_new : ndarray of shape (n, n)
        Lower factor of ``LLᵀ + xxᵀ``.
    """
    L = np.array(L, dtype=np.float64, copy=True)
    _chol_update(L, np.array(x, dtype=np.float64, copy=True))
    return L


def chol_update_numpy(L, x):
    """NumPy twin of :func:`chol_update_numba` (refactorises ``LLᵀ + xxᵀ``).

    Parameters
    ----------
    L : ndarray of shape (n, n)
        Lower Cholesky factor.
    x : ndarray of shape (n,)
        Update vector.

    Returns
    -------
    L_new : ndarray of shape (n, n)
        Lower factor of ``LLᵀ + xxᵀ``.
    """
    L = np.asarray(L, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    return np.linalg.cholesky(L @ L.T + np.outer(x, x))


def chol_update(L, x, *, engine="numba"):
    r"""Rank-one update of a lower Cholesky factor: ``L'`` with :math:`L'L'^\top = LL^\top + xx^\top`.

    Used to delete an index from the factor of :math:`\hat H_{SS}` in
    ``O(s²)`` (deleting row/column ``p`` leaves the trailing block
    :math:`L_{33}L_{33}^\top + l_{32}l_{32}^\top`).

    Parameters
    ----------
    L : ndarray of shape (n, n)
        Lower Cholesky factor with a positive diagonal (not modified).
    x : ndarray of shape (n,)
        Update vector (not modified).
    engine : {"numba", "numpy"}, default="numba"
        The numba kernel (a rank-one update in ``O(n²)``) or its NumPy twin
        (a refactorisation).

    Returns
    -------
    L_new : ndarray of shape (n, n)
        Lower Cholesky factor of ``LLᵀ + xxᵀ``.
    """
    return _engine(engine, chol_update_numba, chol_update_numpy)(L, x)


def _engine(engine, fn_numba, fn_numpy):
    if engine == "numba":
        return fn_numba
    if engine == "numpy":
        return fn_numpy
    raise ValueError(f"The 'engine' parameter must be one of 'numba', 'numpy'; got {engine!r}.")
