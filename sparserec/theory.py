"""Closed-form predictions: the Donoho–Tanner ℓ1 phase transition and AMP's state evolution.

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

The same ``τ`` is the *minimax soft threshold*: for a fraction ``ε`` of
nonzeros, :func:`minimax_threshold` minimises the worst-case mean squared
error of soft thresholding, and the curve is ``δ = M(ε)``, ``ρ = ε/δ``
(:func:`minimax_mse`). :func:`amp_state_evolution` predicts the mean squared
error of every AMP iteration (:class:`sparserec.solvers.amp.AMP`).
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import brentq
from scipy.special import erf, erfcx, gammainc, ndtr

from ._validation import check_int, check_real

__all__ = ["donoho_tanner", "donoho_tanner_tau", "minimax_threshold", "minimax_mse",
           "amp_state_evolution"]

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


# ---------------------------------------------------------------- minimax soft thresholding
def _check_unit(value, name, owner):
    """A real number or array of real numbers in (0, 1], as a float array."""
    raw = np.asarray(value)
    if raw.dtype.kind not in "iuf":
        raise TypeError(f"The {name!r} argument of {owner} must be a real number or array of "
                        f"real numbers in (0, 1]; got {value!r}.")
    arr = raw.astype(float)
    ok = np.isfinite(arr) & (arr > 0) & (arr <= 1)
    if arr.size and not np.all(ok):
        raise ValueError(f"The {name!r} argument of {owner} must be in (0, 1]; got "
                         f"{arr[~ok].ravel()[0]!r}.")
    return arr


def _check_signed(signed, owner):
    if not isinstance(signed, (bool, np.bool_)):
        raise TypeError(f"The 'signed' argument of {owner} must be a bool; got {signed!r}.")
    return 2.0 if signed else 1.0


def _epsilon_of_tau(tau, kappa):
    # ε(τ) = δ(τ)·ρ(τ) = κg/(τ + κg), g = φ(τ) − τΦ(−τ) = φ(τ)(1 − τ·Mills(τ)).
    g = 1.0 - tau * _mills(tau)
    inv_phi = _SQRT_2PI * np.exp(0.5 * tau * tau) if tau < 37.0 else np.inf
    return kappa * g / (tau * inv_phi + kappa * g)


def _solve_minimax(eps, kappa):
    if eps >= 1.0:
        return 0.0
    f = lambda t: _epsilon_of_tau(t, kappa) - eps  # noqa: E731
    if f(_TAU_LO) <= 0:  # ε within ~1e-9 of 1
        return _TAU_LO
    return brentq(f, _TAU_LO, _TAU_HI, xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=200)


def _vectorised(fun, arr):
    out = np.vectorize(fun, otypes=[float])(arr) if arr.size else arr.copy()
    return float(out) if out.ndim == 0 else out


def minimax_threshold(epsilon, signed=True):
    r"""Minimax soft threshold ``τ*(ε)`` for signals with a fraction ``ε`` of nonzeros.

    The threshold that minimises the worst-case mean squared error of soft
    thresholding :math:`\eta(x; \tau) = \mathrm{sign}(x)(|x| - \tau)_+` of
    ``X + Z``, ``Z ~ N(0, 1)``, over every law of ``X`` with
    :math:`P(X \neq 0) \le \varepsilon`; it is AMP's default threshold
    (:class:`sparserec.solvers.amp.AMP`, with ``ε = k/n``) in units of the
    effective noise level.

    Parameters
    ----------
    epsilon : float or array_like
        Fraction(s) of nonzeros ``ε = k/n = ρδ`` in (0, 1].
    signed : bool, default=True
        Signed signals and soft thresholding (``κ = 2``) when True;
        nonnegative signals and the positive part :math:`(x - \tau)_+`
        (``κ = 1``) when False.

    Returns
    -------
    tau : float or ndarray
        ``τ*(ε)``, same shape as ``epsilon``; ``τ*(1) = 0``.

    Raises
    ------
    ValueError
        If any ``epsilon`` is outside (0, 1] or not finite.

    See Also
    --------
    minimax_mse : The minimax risk ``M(ε)`` attained at this threshold.
    donoho_tanner : The phase transition ``δ = M(ε)``, ``ρ = ε/δ``.

    Notes
    -----
    The worst case puts the nonzeros at infinity, so the risk at threshold
    ``τ`` is (``φ``, ``Φ``: standard normal pdf, cdf)

    .. math::

        M(\varepsilon, \tau) = \varepsilon(1 + \tau^2)
            + (1 - \varepsilon)\,\kappa\,[(1 + \tau^2)\Phi(-\tau) - \tau\varphi(\tau)] .

    Setting :math:`\partial M / \partial \tau = 0` gives
    :math:`\varepsilon\tau = (1 - \varepsilon)\kappa[\varphi(\tau) - \tau\Phi(-\tau)]`,
    i.e.

    .. math::

        \varepsilon(\tau) = \frac{\kappa g(\tau)}{\tau + \kappa g(\tau)},
        \qquad g(\tau) = \varphi(\tau) - \tau\Phi(-\tau),

    which decreases from 1 (τ → 0) to 0 (τ → ∞); ``τ*`` is its root, found
    by Brent's method on ``[1e-9, 50]``. Since :math:`\varepsilon(\tau) =
    \delta(\tau)\rho(\tau)` for the parametric Donoho–Tanner curve, on the
    curve (``ε = ρ(δ)·δ``) ``τ*`` is the curve's own parameter
    :func:`donoho_tanner_tau` — Donoho, Maleki & Montanari's maximin
    tuning ``τ(δ)`` ([1]_; 1.736 at δ = 0.1, 0.877 at δ = 0.5).

    References
    ----------
    .. [1] D. L. Donoho, A. Maleki and A. Montanari, "Message-passing
       algorithms for compressed sensing", PNAS 106(45), 2009.
    .. [2] D. L. Donoho, I. M. Johnstone, A. Maleki and A. Montanari,
       "Compressed sensing over ℓp-balls: minimax mean square error",
       IEEE ISIT, 2011.

    Examples
    --------
    >>> eps = donoho_tanner(0.5) * 0.5  # on the curve at δ = 0.5
    >>> round(minimax_threshold(eps), 4), round(donoho_tanner_tau(0.5), 4)
    (0.8769, 0.8769)
    """
    arr = _check_unit(epsilon, "epsilon", "minimax_threshold")
    kappa = _check_signed(signed, "minimax_threshold")
    return _vectorised(lambda e: _solve_minimax(float(e), kappa), arr)


def minimax_mse(epsilon, signed=True):
    r"""Minimax mean squared error ``M(ε)`` of soft thresholding, per unit noise variance.

    Parameters
    ----------
    epsilon : float or array_like
        Fraction(s) of nonzeros in (0, 1].
    signed : bool, default=True
        ``κ = 2`` (signed) when True, ``κ = 1`` (nonnegative) when False.

    Returns
    -------
    M : float or ndarray
        :math:`M(\varepsilon) = \min_\tau M(\varepsilon, \tau)` (see
        :func:`minimax_threshold`), same shape as ``epsilon``; ``M(1) = 1``.

    Notes
    -----
    Evaluated at ``τ* = minimax_threshold(ε)``, where it equals the
    Donoho–Tanner ``δ(τ*)``: the ℓ1 phase transition is ``δ = M(ε)``,
    ``ρ = ε/δ`` [1]_ (AMP's state evolution contracts to zero exactly when
    ``M(ε) < δ``).

    References
    ----------
    .. [1] D. L. Donoho, A. Maleki and A. Montanari, "Message-passing
       algorithms for compressed sensing", PNAS 106(45), 2009.

    Examples
    --------
    >>> d = minimax_mse(0.5 * donoho_tanner(0.5))
    >>> round(d, 6)
    0.5
    """
    arr = _check_unit(epsilon, "epsilon", "minimax_mse")
    kappa = _check_signed(signed, "minimax_mse")

    def one(e):
        tau = _solve_minimax(float(e), kappa)
        return 1.0 if tau == 0.0 else _delta_of_tau(tau, kappa)

    return _vectorised(one, arr)


# ---------------------------------------------------------------- AMP state evolution
def _zero_risk(tau):
    """``E η(Z; τ)²`` for ``Z ~ N(0, 1)`` (soft thresholding of pure noise)."""
    return 2.0 * ((1.0 + tau * tau) * ndtr(-tau) - tau * np.exp(-0.5 * tau * tau) / _SQRT_2PI)


def _gauss_risk(sigma2, theta):
    """``E (η(X + σZ; θ) − X)²`` for ``X ~ N(0, 1)`` (closed form, stable as ``σ → 0``).

    Stein's identity gives ``σ²(1 − 2P(|U| < θ)) + E min(U², θ²)`` with
    ``U = X + σZ ~ N(0, v)``, ``v = 1 + σ²``. With ``c = θ/√v``,
    ``P(|U| < θ) = erf(c/√2)`` and ``E[U²; |U| < θ] = v·P(χ²₃ < c²)`` (a
    regularised incomplete gamma function), neither of which cancels for
    small ``c``.
    """
    v = 1.0 + sigma2
    c2 = theta * theta / v
    p = erf(np.sqrt(0.5 * c2))
    return sigma2 * (1.0 - 2.0 * p) + v * gammainc(1.5, 0.5 * c2) + theta * theta * (1.0 - p)


def amp_state_evolution(delta, rho, *, tau=None, n_iter=30, noise_var=0.0):
    r"""Predicted mean squared error of every AMP iteration (state evolution).

    For ``A`` with i.i.d. ``N(0, 1/m)`` entries, ``x₀`` with a fraction
    ``ε = ρδ`` of i.i.d. ``N(0, 1)`` nonzeros, ``y = Ax₀ + w`` and AMP started
    at ``x = 0`` with threshold ``τσ_t``, the per-coordinate error
    ``‖x^t − x₀‖²/n`` tends (``n → ∞``, ``m/n → δ``) to the values returned.

    Parameters
    ----------
    delta : float
        Undersampling ratio ``m/n`` in (0, 1].
    rho : float
        ``k/m`` in (0, 1/δ] (so that ``ε = ρδ <= 1``).
    tau : float or None, default=None
        Threshold multiplier; None uses :func:`minimax_threshold` at ``ε``
        (AMP's default).
    n_iter : int, default=30
        Number of iterations to predict.
    noise_var : float, default=0.0
        Variance of the i.i.d. noise ``w``.

    Returns
    -------
    mse : ndarray of shape (n_iter,)
        ``mse[t - 1]`` is the predicted ``‖x^t − x₀‖²/n``, ``t = 1 … n_iter``.
    sigma2 : ndarray of shape (n_iter,)
        ``sigma2[t]`` is ``σ_t²``, the variance of the effective noise in the
        pseudo-data ``x^t + Aᵀz^t ≈ x₀ + σ_t Z`` from which ``x^{t+1}`` is
        computed (AMP estimates it by ``‖z^t‖²/m``).

    Notes
    -----
    With ``Ψ(σ²) = E(η(X + σZ; τσ) − X)²`` for ``X`` drawn from the prior,

    .. math::

        \sigma_0^2 = \sigma_w^2 + \varepsilon/\delta, \qquad
        \mathrm{mse}_{t+1} = \Psi(\sigma_t^2), \qquad
        \sigma_{t+1}^2 = \sigma_w^2 + \mathrm{mse}_{t+1}/\delta .

    ``Ψ`` is in closed form: ``(1 − ε)σ²·2[(1 + τ²)Φ(−τ) − τφ(τ)]`` for the
    zeros plus ``ε`` times the soft-thresholding risk of a standard Gaussian,
    ``σ²(1 − 2P(|U| < θ)) + E min(U², θ²)`` with ``U = X + σZ`` and
    ``θ = τσ`` (Stein's identity). Noiseless, ``σ_t → 0`` exactly when the
    map's slope at zero is below 1, which for the least-favourable prior is
    the condition ``M(ε) < δ`` of :func:`minimax_mse`.

    References
    ----------
    .. [1] D. L. Donoho, A. Maleki and A. Montanari, "Message-passing
       algorithms for compressed sensing", PNAS 106(45), 2009.
    .. [2] M. Bayati and A. Montanari, "The dynamics of message passing on
       dense graphs, with applications to compressed sensing", IEEE Trans.
       Inf. Theory 57(2), 2011.

    Examples
    --------
    >>> mse, sigma2 = amp_state_evolution(0.5, 0.2, n_iter=40)
    >>> bool(mse[-1] < 1e-6 * mse[0])  # below the curve (ρ(0.5) = 0.386): to zero
    True
    >>> mse, _ = amp_state_evolution(0.5, 0.6, n_iter=40)
    >>> bool(mse[-1] > 1e-2)           # above it: a nonzero fixed point
    True
    """
    owner = "amp_state_evolution"
    if np.ndim(delta) != 0:
        raise TypeError(f"The 'delta' argument of {owner} must be a real number in (0, 1]; "
                        f"got an array of shape {np.shape(delta)}.")
    delta = float(_check_unit(delta, "delta", owner))
    rho = check_real(rho, "rho", owner, low=0.0, low_open=True, high=1.0 / delta,
                     expected=f"a real number in (0, 1/delta = {1.0 / delta:g}]")
    eps = min(rho * delta, 1.0)
    if tau is None:
        tau = minimax_threshold(eps)
    else:
        tau = check_real(tau, "tau", owner, low=0.0, expected="None or a real number >= 0")
    n_iter = check_int(n_iter, "n_iter", owner, low=1)
    noise_var = check_real(noise_var, "noise_var", owner, low=0.0)
    zero = _zero_risk(tau)
    mse = np.empty(n_iter)
    sigma2 = np.empty(n_iter)
    s2 = noise_var + eps / delta
    for t in range(n_iter):
        sigma2[t] = s2
        mse[t] = eps * _gauss_risk(s2, tau * np.sqrt(s2)) + (1.0 - eps) * s2 * zero
        s2 = noise_var + mse[t] / delta
    return mse, sigma2
