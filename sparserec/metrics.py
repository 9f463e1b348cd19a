"""Recovery metrics. They live outside solvers and are never timed."""
from __future__ import annotations

import numpy as np

from ._validation import as_real_array, check_real

__all__ = ["relative_error", "support_precision", "support_recall", "success",
           "DEFAULT_SUCCESS_THRESHOLD"]

#: Default success criterion: relative ℓ2 error at most 1e-3 (Blanchard–Tanner).
DEFAULT_SUCCESS_THRESHOLD = 1e-3


def _pair(x, x_true, owner):
    x = as_real_array(x, "x", owner)
    x_true = as_real_array(x_true, "x_true", owner)
    if x.shape != x_true.shape:
        raise ValueError(f"The 'x' argument of {owner} must have the shape of 'x_true' "
                         f"{x_true.shape}; got {x.shape}.")
    return x, x_true


def relative_error(x, x_true):
    """Relative ℓ2 error ``‖x − x_true‖ / ‖x_true‖`` (per column for 2-D input).

    When ``x_true = 0`` the absolute error ``‖x‖`` is returned instead, so
    the value is always finite.

    Parameters
    ----------
    x : array_like of shape (n,) or (n, T)
        Estimate.
    x_true : array_like, same shape as ``x``
        Ground truth.

    Returns
    -------
    float or ndarray of shape (T,)
        The relative error (a float for 1-D input, one value per column
        otherwise).

    Examples
    --------
    >>> relative_error([1.0, 0.0], [2.0, 0.0])
    0.5
    """
    x, x_true = _pair(x, x_true, "relative_error")
    num = np.linalg.norm(x - x_true, axis=0)
    den = np.linalg.norm(x_true, axis=0)
    out = np.where(den > 0, num / np.where(den > 0, den, 1.0), num)
    return float(out) if out.ndim == 0 else out


def _supports(x, x_true, owner, atol):
    atol = check_real(atol, "atol", owner, low=0.0)
    x, x_true = _pair(x, x_true, owner)
    return np.abs(x) > atol, x_true != 0


def support_precision(x, x_true, *, atol=0.0):
    """Fraction of the recovered support (``|x_i| > atol``) that is in the true support.

    An empty recovered support has precision 1 (nothing wrong was claimed).

    Parameters
    ----------
    x : array_like of shape (n,) or (n, T)
        Estimate.
    x_true : array_like, same shape as ``x``
        Ground truth; its support is its set of nonzeros.
    atol : float, default=0.0
        Entries of ``x`` with ``|x_i| <= atol`` count as zero.

    Returns
    -------
    float or ndarray of shape (T,)
        The precision, in ``[0, 1]`` (per column for 2-D input).

    Examples
    --------
    >>> support_precision([1.0, 0.5, 0.0], [1.0, 0.0, 2.0])
    0.5
    """
    est, true = _supports(x, x_true, "support_precision", atol)
    hit = np.count_nonzero(est & true, axis=0)
    n_est = np.count_nonzero(est, axis=0)
    out = np.where(n_est > 0, hit / np.maximum(n_est, 1), 1.0)
    return float(out) if out.ndim == 0 else out


def support_recall(x, x_true, *, atol=0.0):
    """Fraction of the true support that was recovered (1 when the truth is 0).

    Parameters
    ----------
    x : array_like of shape (n,) or (n, T)
        Estimate.
    x_true : array_like, same shape as ``x``
        Ground truth; its support is its set of nonzeros.
    atol : float, default=0.0
        Entries of ``x`` with ``|x_i| <= atol`` count as zero.

    Returns
    -------
    float or ndarray of shape (T,)
        The recall, in ``[0, 1]`` (per column for 2-D input).
    """
    est, true = _supports(x, x_true, "support_recall", atol)
    hit = np.count_nonzero(est & true, axis=0)
    n_true = np.count_nonzero(true, axis=0)
    out = np.where(n_true > 0, hit / np.maximum(n_true, 1), 1.0)
    return float(out) if out.ndim == 0 else out


def success(x, x_true, *, threshold=DEFAULT_SUCCESS_THRESHOLD):
    """Recovery success: ``relative_error(x, x_true) <= threshold`` (per column).

    Parameters
    ----------
    x : array_like of shape (n,) or (n, T)
        Estimate.
    x_true : array_like, same shape as ``x``
        Ground truth.
    threshold : float, default=DEFAULT_SUCCESS_THRESHOLD
        Largest relative error counted as a success (``> 0``; 1e-3 by default).

    Returns
    -------
    bool or ndarray of bool, shape (T,)
        Whether each signal was recovered.
    """
    threshold = check_real(threshold, "threshold", "success", low=0.0, low_open=True)
    err = np.asarray(relative_error(x, x_true))
    out = err <= threshold
    return bool(out) if out.ndim == 0 else out
