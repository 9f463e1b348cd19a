"""Fitting a phase transition: logistic regression of success on ρ, per δ.

Following ALGORITHMS.md §2.4 (GAGA / Magni), at each ``δ`` the success
probability is modelled as

.. math::  P(\\text{success} \\mid \\rho) = \\frac{1}{1 + e^{-(a + b\\rho)}},

fitted by (very lightly L2-regularised) maximum likelihood on the trial-level
0/1 outcomes. The 50 % point is ``ρ₅₀ = −a/b``; the 90 % and 10 % points are
``(±ln 9 − a)/b`` and the reported width is ``ρ₁₀ − ρ₉₀ = 2 ln 9 / |b|``. The
regularisation (``C = 1e3`` on the standardised ρ) only keeps ``b`` finite when
the outcomes are perfectly separated; the 50 % point then lands between the
last all-success and the first all-failure ρ.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from sparserec.theory import donoho_tanner

__all__ = ["fit_logistic", "fit_transitions", "success_table"]

_LN9 = float(np.log(9.0))


def fit_logistic(rho, success):
    """Fit ``P(success | ρ)`` by logistic regression.

    Parameters
    ----------
    rho : array_like of shape (N,)
        ``k/m`` of each trial.
    success : array_like of bool, shape (N,)

    Returns
    -------
    dict
        ``rho50``, ``rho90`` (P = 0.9), ``rho10`` (P = 0.1), ``width``
        (``rho10 − rho90``), ``n_obs`` and ``status``: ``"ok"``,
        ``"no_failures"`` / ``"no_successes"`` (no transition inside the grid;
        the ρ values are NaN), ``"extrapolated"`` (ρ₅₀ outside the sampled
        range) or ``"increasing"`` (success grows with ρ: no transition).
    """
    rho = np.asarray(rho, dtype=float).ravel()
    y = np.asarray(success, dtype=bool).ravel()
    out = {"rho50": np.nan, "rho90": np.nan, "rho10": np.nan, "width": np.nan,
           "n_obs": int(rho.size)}
    if rho.size == 0:
        return {**out, "status": "empty"}
    if y.all():
        return {**out, "status": "no_failures"}
    if not y.any():
        return {**out, "status": "no_successes"}
    mu, sd = rho.mean(), rho.std()
    sd = sd if sd > 0 else 1.0
    z = ((rho - mu) / sd)[:, None]
    model = LogisticRegression(C=1e3, max_iter=1000).fit(z, y)
    a, b = float(model.intercept_[0]), float(model.coef_[0, 0])
    if b >= 0:
        return {**out, "status": "increasing"}
    rho50 = mu + sd * (-a / b)
    rho90 = mu + sd * ((_LN9 - a) / b)
    rho10 = mu + sd * ((-_LN9 - a) / b)
    status = "ok" if rho.min() <= rho50 <= rho.max() else "extrapolated"
    return {**out, "rho50": rho50, "rho90": rho90, "rho10": rho10, "width": rho10 - rho90,
            "status": status}


def fit_transitions(df, *, by=("solver", "delta")):
    """Fitted 50 % points with 10–90 % widths for every solver × δ.

    Parameters
    ----------
    df : pandas.DataFrame
        Results rows with at least ``solver``, ``delta``, ``success``,
        ``status`` and either ``k`` and ``m`` (ρ is then the realised
        ``k/m``) or ``rho``. Rows with ``status == "error"`` are left out and
        counted in ``n_errors``.

    Returns
    -------
    pandas.DataFrame
        Columns ``solver, delta, rho50, rho10, rho90, width, dt_rho (signed
        Donoho–Tanner ρ at δ), n_obs, n_errors, status``.
    """
    rows = []
    by = list(by)
    for key, g in df.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        ok = g[g["status"] != "error"]
        rho = ok["k"] / ok["m"] if {"k", "m"} <= set(ok.columns) else ok["rho"]
        fit = fit_logistic(rho.to_numpy(float), ok["success"].to_numpy(bool))
        row = dict(zip(by, key))
        delta = float(row.get("delta", np.nan))
        dt = donoho_tanner(delta) if 0 < delta <= 1 else np.nan
        row.update({"rho50": fit["rho50"], "rho10": fit["rho10"], "rho90": fit["rho90"],
                    "width": fit["width"], "dt_rho": dt, "n_obs": fit["n_obs"],
                    "n_errors": int(len(g) - len(ok)), "status": fit["status"]})
        rows.append(row)
    cols = by + ["rho50", "rho10", "rho90", "width", "dt_rho", "n_obs", "n_errors", "status"]
    return pd.DataFrame(rows, columns=cols)


def success_table(df, solver):
    """Success probability of one solver as a (ρ × δ) table (rows ρ, columns δ)."""
    g = df[df["solver"] == solver]
    return g.pivot_table(index="rho", columns="delta", values="success", aggfunc="mean")
