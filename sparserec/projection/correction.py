r"""Corrections: the values kept on a selected support.

Given a target ``Z`` (n, T) and a kept mask, a correction sets the kept
values; the pruned ones are zero.

``"none"``
    Keep ``z_S`` (plain hard thresholding).
``"obs"``
    The OBS correction: the minimiser of the quadratic model on the kept set,

    .. math::  v_S = \hat H_{SS}^{-1} b_S,\qquad b = \hat H x - \eta\, g,

    which for a pure projection of ``z`` (``x = z``, ``g = 0``) is
    :math:`z_S + \hat H_{SS}^{-1}\hat H_{SQ} z_Q = z_S - [\text{OBS update}]`
    (DESIGN.md: :math:`\delta = -\hat H^{-1}_{:,Q}([\hat H^{-1}]_{QQ})^{-1}z_Q`),
    and for least squares with ``η = 1`` the least-squares refit on ``S``.
    Only :math:`\hat H_{SS}` must be invertible (a cached, up/down-dated
    Cholesky factor per column).
``"sum"``
    WoodFisher's sum of single-weight OBS updates,
    :math:`\delta = -\sum_{q\in Q}(z_q/[\hat H^{-1}]_{qq})\hat H^{-1}e_q`, which
    ignores the interactions of the pruned weights (ALGORITHMS.md pitfall 5).
``"lobs"``
    L-OBS's sequential single-weight updates with the *fixed* inverse (no
    downdate), in ascending order of the selection's scores.
"""
from __future__ import annotations

import numpy as np

from ..kernels.lobs import lobs_sequential
from .masks import mask_values

__all__ = ["CORRECTIONS", "correct_none", "correct_obs", "correct_sum", "correct_lobs",
           "obs_correction"]


def obs_correction(curvature, S, b_S, *, key=0):
    r"""Compute the values on the kept set ``S`` after the OBS correction, :math:`\hat H_{SS}^{-1} b_S`.

    Parameters
    ----------
    curvature : Curvature
        Gives :math:`\hat H_{SS}` (a cached Cholesky factor per ``key``).
    S : ndarray of int of shape (s,)
        Kept set, ascending.
    b_S : ndarray of shape (s,)
        The linear term ``(Ĥx − ηg)`` restricted to ``S``.
    key : hashable, default=0
        Cache slot of the restricted factor (e.g. the signal index).

    Returns
    -------
    ndarray of shape (s,)
        The corrected values.

    Raises
    ------
    ValueError
        If :math:`\hat H_{SS}` is singular.
    """
    if S.size == 0:
        return np.zeros(0)
    return curvature.solve_restricted(S, b_S, key=key)


def correct_none(Z, mask, curvature=None, **context):
    """Keep ``z`` on the mask, zero elsewhere (plain hard thresholding).

    Parameters
    ----------
    Z : ndarray of shape (n, T)
        Targets.
    mask : ndarray of bool, shape (n, T)
        Kept entries.
    curvature : Curvature, optional
        Not used.
    **context
        Ignored.

    Returns
    -------
    ndarray of shape (n, T)
        ``Z`` on the mask, 0 elsewhere.
    """
    return mask_values(Z, mask)


def correct_obs(Z, mask, curvature, *, b=None, keys=None, fallback=None, **context):
    r"""The OBS correction :math:`v_S = \hat H_{SS}^{-1} b_S` of every column.

    Parameters
    ----------
    Z : ndarray of shape (n, T)
        Targets (used for ``b = ĤZ`` when ``b`` is not given).
    mask : ndarray of bool, shape (n, T)
        Kept entries.
    curvature : Curvature
        The curvature of the correction.
    b : ndarray of shape (n, T), optional
        The model's linear term ``Ĥx − ηg`` (default ``ĤZ``: the Ĥ-norm
        projection of ``Z``).
    keys : sequence of hashable, optional
        Restricted-factor cache slot of each column (default: the column index).
    fallback : tuple (Curvature, ndarray of shape (n, T)), optional
        Curvature and linear term used for a column whose ``Ĥ_SS`` is
        singular under ``curvature`` (I-OBS: the damped block when the
        undamped one is singular).
    **context
        Ignored (other corrections' inputs).

    Returns
    -------
    ndarray of shape (n, T)
        Corrected values, zero off the mask (float64).
    """
    if b is None:
        b = curvature.matvec(np.asarray(Z, dtype=np.float64))
    out = np.zeros(mask.shape, dtype=np.float64)
    for t in range(mask.shape[1]):
        S = np.flatnonzero(mask[:, t])
        key = t if keys is None else keys[t]
        try:
            out[S, t] = obs_correction(curvature, S, b[S, t], key=key)
        except ValueError:
            if fallback is None:
                raise
            out[S, t] = obs_correction(fallback[0], S, fallback[1][S, t], key=("fallback", key))
    return out


def correct_sum(Z, mask, curvature, **context):
    r"""Apply WoodFisher's summed single-weight updates, masked to the kept set.

    Parameters
    ----------
    Z : ndarray of shape (n, T)
        Targets.
    mask : ndarray of bool, shape (n, T)
        Kept entries.
    curvature : Curvature
        Gives ``diag(Ĥ⁻¹)`` and solves with ``Ĥ`` (never a dense inverse, so
        block-diagonal sample-space curvatures of whole networks work too).
    **context
        Ignored.

    Returns
    -------
    ndarray of shape (n, T)
        :math:`(z - \hat H^{-1}(z_Q/[\hat H^{-1}]_{qq}))` on the mask, 0 elsewhere.
    """
    Z = np.asarray(Z, dtype=np.float64)
    d = np.asarray(curvature.inv_diag(), dtype=np.float64)
    pruned = np.where(mask, 0.0, Z)
    return mask_values(Z - curvature.solve(pruned / d[:, None]), mask)


def correct_lobs(Z, mask, curvature, *, scores=None, engine="numba", **context):
    r"""L-OBS: sequential single-weight OBS updates with the fixed :math:`\hat H^{-1}`.

    Parameters
    ----------
    Z : ndarray of shape (n, T)
        Targets.
    mask : ndarray of bool, shape (n, T)
        Kept entries.
    curvature : Curvature
        Gives the fixed dense ``Ĥ⁻¹``.
    scores : ndarray of shape (n, T)
        The selection's scores: pruned weights are processed in ascending order.
    engine : {"numba", "numpy"}, default="numba"
        Engine of :func:`~sparserec.kernels.lobs_sequential`.
    **context
        Ignored.

    Returns
    -------
    ndarray of shape (n, T)
        Corrected values, zero off the mask.
    """
    if scores is None:
        raise ValueError("The 'lobs' correction needs the selection's scores (use the "
                         "'saliency' or 'topk' selection).")
    Hinv = curvature.inverse()
    rows, cols = np.nonzero(~mask)
    order = np.argsort(scores[rows, cols], kind="stable")
    return lobs_sequential(np.asarray(Z, dtype=np.float64), Hinv, rows[order], cols[order],
                           engine=engine)


#: Correction name → function ``fn(Z, mask, curvature, **context) -> values``.
CORRECTIONS = {"none": correct_none, "obs": correct_obs, "sum": correct_sum,
               "lobs": correct_lobs}
