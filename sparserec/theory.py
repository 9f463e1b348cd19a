"""Closed-form predictions: the Donoho–Tanner ℓ1 phase transition.

For basis pursuit with a Gaussian measurement matrix, the weak threshold
``ρ(δ)`` (``δ = m/n``, ``ρ = k/m``) has an exact parametric form over the
AMP minimax threshold ``τ > 0`` (Donoho, Maleki & Montanari 2009):

.. math::

    \\delta(\\tau) = \\frac{\\kappa\\,\\varphi(\\tau)}
                         {\\tau + \\kappa\\,[\\varphi(\\tau) - \\tau\\,\\Phi(-\\tau)]},
    \\qquad
    \\rho(\\tau) = 1 - \\frac{\\tau\\,\\Phi(-\\tau)}{\\varphi(\\tau)},

with ``κ = 2`` for signed signals and ``κ = 1`` for nonnegative ones.
``δ(τ)`` falls monotonically from 1 (τ → 0) to 0 (τ → ∞), so ``ρ`` at a
given ``δ`` is found by a Brent root search for ``τ`` on ``[1e-9, 50]``.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import brentq
from scipy.special import erfcx

__all__ = ["donoho_tanner", "donoho_tanner_tau"]

_TAU_LO, _TAU_HI = 1e-9, 50.0
_SQRT_PI_2 = np.sqrt(np.pi / 2.0)
_SQRT_2PI = np.sqrt(2.0 * np.pi)


def _mills(tau):
    """Mills ratio ``Φ(−τ)/φ(τ)``, computed stably as ``√(π/2)·erfcx(τ/√2)``."""
    return _SQRT_PI_2 * erfcx(tau / np.sqrt(2.0))


def _delta_of_tau(tau, kappa):
    # δ = κφ/(τ + κ(φ − τΦ(−τ))) = κ / (τ/φ + κ(1 − τ·Mills(τ))), overflow-safe.
    inv_phi = _SQRT_2PI * np.exp(0.5 * tau * tau) if tau < 37.0 else np.inf
    return kappa / (tau * inv_phi + kappa * (1.0 - tau * _mills(tau)))


def _rho_of_tau(tau):
    return 1.0 - tau * _mills(tau)


def _check_delta(delta, signed=True):
    if not isinstance(signed, (bool, np.bool_)):
        raise TypeError(f"The 'signed' argument of donoho_tanner must be a bool; got {signed!r}.")
    raw = np.asarray(delta)
    if raw.dtype.kind not in "iuf":
        raise TypeError("The 'delta' argument of donoho_tanner must be a real number or array "
                        f"of real numbers in (0, 1]; got {delta!r}.")
    arr = raw.astype(float)
    if arr.size and (not np.all(np.isfinite(arr)) or np.any(arr <= 0) or np.any(arr > 1)):
        bad = arr[~(np.isfinite(arr) & (arr > 0) & (arr <= 1))].ravel()[0]
        raise ValueError("The 'delta' argument of donoho_tanner must be in (0, 1]; "
                         f"got {bad!r}.")
    return arr


def _solve_tau(d, kappa):
    if d >= 1.0:
        return 0.0
    f = lambda t: _delta_of_tau(t, kappa) - d  # noqa: E731
    if f(_TAU_LO) <= 0:  # δ within ~1e-9 of 1: τ is below the bracket
        return _TAU_LO
    return brentq(f, _TAU_LO, _TAU_HI, xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=200)


def donoho_tanner_tau(delta, signed=True):
    """The threshold ``τ(δ)`` of the parametric Donoho–Tanner curve.

    Parameters
    ----------
    delta : float or array_like
        Undersampling ratio(s) ``m/n`` in (0, 1].
    signed : bool, default=True
        ``κ = 2`` (signed signals) when True, ``κ = 1`` (nonnegative) when False.

    Returns
    -------
    tau : float or ndarray
        Same shape as ``delta``; ``τ = 0`` at ``δ = 1``.
    """
    arr = _check_delta(delta, signed)
    kappa = 2.0 if signed else 1.0
    out = np.vectorize(lambda d: _solve_tau(float(d), kappa), otypes=[float])(arr) \
        if arr.size else arr.copy()
    return float(out) if out.ndim == 0 else out


def donoho_tanner(delta, signed=True):
    """Donoho–Tanner weak ℓ1 phase transition ``ρ(δ)`` for basis pursuit.

    Parameters
    ----------
    delta : float or array_like
        Undersampling ratio(s) ``δ = m/n`` in (0, 1].
    signed : bool, default=True
        Signed signals (cross-polytope, ``κ = 2``) when True; nonnegative
        signals (simplex, ``κ = 1``) when False.

    Returns
    -------
    rho : float or ndarray
        The critical ``ρ = k/m`` below which basis pursuit recovers a
        ``k``-sparse signal with high probability (as ``n → ∞``); same shape
        as ``delta``, and ``ρ(1) = 1``.

    Raises
    ------
    ValueError
        If any ``delta`` is outside (0, 1] or not finite.

    Notes
    -----
    Parametric form over ``τ > 0`` (``φ``, ``Φ``: standard normal pdf, cdf):

    .. math::

        \\delta(\\tau) = \\frac{\\kappa\\varphi(\\tau)}
            {\\tau + \\kappa[\\varphi(\\tau) - \\tau\\Phi(-\\tau)]},\\qquad
        \\rho(\\tau) = 1 - \\frac{\\tau\\Phi(-\\tau)}{\\varphi(\\tau)}.

    ``τ`` is found by Brent's method on ``[1e-9, 50]``; ``Φ(−τ)/φ(τ)`` is
    evaluated with the scaled complementary error function, so the curve
    is accurate to ~1e-12 for every ``δ`` in (0, 1].

    References
    ----------
    .. [1] D. L. Donoho and J. Tanner, "Observed universality of phase
       transitions in high-dimensional geometry", Phil. Trans. R. Soc. A
       367, 2009.
    .. [2] D. L. Donoho, A. Maleki and A. Montanari, "Message-passing
       algorithms for compressed sensing", PNAS 106(45), 2009.

    Examples
    --------
    >>> round(donoho_tanner(0.5), 4)
    0.3857
    >>> round(donoho_tanner(0.5, signed=False), 4)
    0.5582
    >>> donoho_tanner([0.1, 1.0]).round(4).tolist()
    [0.1894, 1.0]
    """
    tau = donoho_tanner_tau(delta, signed=signed)
    rho = np.where(np.asarray(tau) == 0.0, 1.0,
                   np.vectorize(_rho_of_tau, otypes=[float])(np.asarray(tau, dtype=float))
                   if np.size(tau) else np.asarray(tau, dtype=float))
    return float(rho) if rho.ndim == 0 else rho
