"""Figures of stored experiment results, in the one sparserec style.

Every function here reads tables (results rows or fits); none computes a
solve. Figures use the package's ``sparserec.mplstyle`` (:data:`STYLE`,
applied by :func:`style`) and are written atomically as PNG by :func:`save`.

Importing this module does not choose a matplotlib backend (a notebook shows
its figures inline); the command-line experiments select the file-only Agg
backend in their ``main`` (:func:`sparserec.harness.cli.headless_figures`).
"""
from __future__ import annotations

import io
import re
from contextlib import contextmanager
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
from matplotlib import patheffects
import numpy as np

from sparserec.theory import donoho_tanner

from .store import atomic_write_bytes

__all__ = ["STYLE", "style", "save", "slug", "phase_heatmap", "transition_plot",
           "phase_figures", "convergence_figure"]

#: Label of the ρ₅₀ intervals drawn by :func:`phase_heatmap` and :func:`transition_plot`.
CI_LABEL = "95 % CI of ρ₅₀"

#: Path of the package's matplotlib style file.
STYLE = str(Path(__file__).with_name("sparserec.mplstyle"))


@contextmanager
def style():
    """Context manager applying the sparserec matplotlib style."""
    interactive = None
    try:
        with plt.style.context(STYLE):
            try:
                yield
            finally:
                interactive = matplotlib.is_interactive()
    finally:
        if interactive is not None:
            # The style sets no interactive mode, but leaving the context restores every
            # rcParam; keep a change made inside it (a notebook's inline backend, loaded by
            # the first figure, turns interactive mode on so later cells show their figures).
            matplotlib.interactive(interactive)


def slug(text):
    """A filesystem-safe name for a solver label."""
    return re.sub(r"[^A-Za-z0-9_.=-]+", "-", str(text).replace(":", "__"))[:80]


def save(fig, path):
    """Save ``fig`` as PNG to ``path`` atomically and close it; returns the path."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())


def _edges(values):
    v = np.asarray(sorted(values), dtype=float)
    if v.size == 1:
        return np.array([v[0] - 0.025, v[0] + 0.025])
    mid = (v[1:] + v[:-1]) / 2
    return np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])


def _dt_curve(ax, lo=0.0, hi=1.0, **kw):
    d = np.linspace(max(lo, 1e-3), min(hi, 1.0), 200)
    kw = {"color": "k", "ls": "--", "lw": 1.4, "label": "Donoho–Tanner ℓ1", **kw}
    ax.plot(d, donoho_tanner(d), **kw)


def phase_heatmap(df, solver, fits=None, ax=None):
    """Success-probability heat map of one solver over (δ, ρ), with the ℓ1 curve.

    Parameters
    ----------
    df : pandas.DataFrame
        Results rows (``solver``, ``delta``, ``rho``, ``success``).
    solver : str
        Value of the ``solver`` column.
    fits : pandas.DataFrame, optional
        Output of :func:`sparserec.harness.fitting.fit_transitions`; its 50 % points
        are drawn on top, with their 95 % confidence intervals as error bars
        where the interval is finite.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    g = df[df["solver"] == solver]
    table = g.pivot_table(index="rho", columns="delta", values="success", aggfunc="mean")
    if ax is None:
        fig, ax = plt.subplots()
    else:
        fig = ax.figure
    de, re_ = _edges(table.columns), _edges(table.index)
    mesh = ax.pcolormesh(de, re_, table.to_numpy(float), vmin=0, vmax=1, shading="flat")
    fig.colorbar(mesh, ax=ax, label="success probability")
    # black on the light cells, white-edged on the dark ones
    _dt_curve(ax, de[0], de[-1], path_effects=[patheffects.withStroke(linewidth=3.2,
                                                                      foreground="w")])
    if fits is not None:
        f = fits[(fits["solver"] == solver) & np.isfinite(fits["rho50"])]
        if len(f):
            lo, hi = _ci(f)
            ax.errorbar(f["delta"], f["rho50"], yerr=np.vstack([f["rho50"] - lo, hi - f["rho50"]]),
                        fmt="o", color="tab:red", ms=4, capsize=2,
                        label=f"fitted ρ₅₀ (bars: {CI_LABEL})")
    ax.set_xlim(de[0], de[-1])
    ax.set_ylim(re_[0], re_[-1])
    ax.set_xlabel("δ = m/n")
    ax.set_ylabel("ρ = k/m")
    n = ", ".join(f"n={v}" for v in sorted(g["n"].unique())) if "n" in g else ""
    ax.set_title(f"{solver}  ({n}, {g['trial'].nunique()} trials/cell)")
    # on a light box: the top-left corner (small δ, large ρ) is the colour map's darkest
    ax.legend(loc="upper left", frameon=True, facecolor="white", framealpha=0.9,
              edgecolor="none")
    ax.grid(False)
    return fig


def _ci(f):
    """The ρ₅₀ interval bounds of fit rows (NaN where unbounded, or absent in old tables)."""
    if {"rho50_lo", "rho50_hi"} <= set(f.columns):
        return f["rho50_lo"].to_numpy(float), f["rho50_hi"].to_numpy(float)
    return np.full(len(f), np.nan), np.full(len(f), np.nan)


def transition_plot(fits, ax=None, title=None):
    """Fitted 50 % curves of every solver, with 95 % confidence bands, over the ℓ1 curve.

    Parameters
    ----------
    fits : pandas.DataFrame
        Output of :func:`sparserec.harness.fitting.fit_transitions`. The band
        around each curve is the profile-likelihood confidence interval of ρ₅₀
        (``rho50_lo`` to ``rho50_hi``); it is left open where the interval is
        unbounded (NaN).
    ax : matplotlib Axes, optional
        Axes to draw into (a new figure when None).
    title : str, optional
        Axes title (a default naming the bands when None).

    Returns
    -------
    matplotlib.figure.Figure
    """
    if ax is None:
        fig, ax = plt.subplots()
    else:
        fig = ax.figure
    shown = False
    for solver, f in fits.groupby("solver", sort=False):
        f = f.sort_values("delta")
        ok = np.isfinite(f["rho50"].to_numpy(float))
        line, = ax.plot(f["delta"][ok], f["rho50"][ok], "o-", label=solver)
        lo, hi = _ci(f)
        band = np.isfinite(lo) & np.isfinite(hi)
        if band.any():
            ax.fill_between(f["delta"].to_numpy(float), np.clip(lo, 0, 1), np.clip(hi, 0, 1),
                            where=band, color=line.get_color(), alpha=0.2, lw=0)
            shown = True
    _dt_curve(ax, 0.0, 1.0)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("δ = m/n")
    ax.set_ylabel("ρ = k/m at 50% success")
    ax.set_title(title or f"Fitted 50% phase transitions (bands: {CI_LABEL})")
    if shown:  # a legend entry for the bands themselves
        ax.fill_between([], [], [], color="0.5", alpha=0.2, lw=0, label=CI_LABEL)
    ax.legend(loc="upper left")
    return fig


def phase_figures(df, fits, out):
    """Write ``heatmap_<solver>.png`` per solver and ``transitions.png`` into ``out``.

    Returns
    -------
    list of pathlib.Path
    """
    out = Path(out)
    paths = []
    with style():
        for solver in df["solver"].unique():
            paths.append(save(phase_heatmap(df, solver, fits), out / f"heatmap_{slug(solver)}.png"))
        paths.append(save(transition_plot(fits), out / "transitions.png"))
    return paths


def _padded(series_list):
    """Stack ragged 1-D sequences into an array, padding each with its last value."""
    seqs = [np.asarray(s, dtype=float) for s in series_list
            if s is not None and len(np.atleast_1d(s))]
    if not seqs:
        return np.zeros((0, 0))
    L = max(s.size for s in seqs)
    return np.vstack([np.concatenate([s, np.full(L - s.size, s[-1])]) for s in seqs])


def _band(ax, x, Y, label, color=None):
    """Mean ± std of log10(Y) across rows, drawn on a log axis."""
    with np.errstate(divide="ignore", invalid="ignore"):
        L = np.log10(np.maximum(Y, 1e-300))
    mu, sd = L.mean(axis=0), L.std(axis=0)
    line, = ax.plot(x, 10 ** mu, label=label, color=color)
    ax.fill_between(x, 10 ** (mu - sd), 10 ** (mu + sd), color=line.get_color(), alpha=0.2, lw=0)
    ax.set_yscale("log")
    return line


def convergence_figure(df, title=None):
    """Objective and distance to the truth vs iteration and vs time, mean ± std over trials.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows of :func:`sparserec.experiments.convergence.record_history` (list columns
        ``objective``, ``distance`` (relative), ``time``).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Runs that stopped early are extended with their last value. Bands are
    mean ± one standard deviation of ``log10`` of the values across trials
    (geometric mean band), the natural scale for linear convergence. The time
    axis is the mean over trials of the cumulative solve time at each
    iteration.
    """
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharey="row")
    ok = df[df["status"] != "error"]
    for solver, g in ok.groupby("solver", sort=False):
        obj, dist, tim = _padded(g["objective"]), _padded(g["distance"]), _padded(g["time"])
        if obj.size == 0:
            continue
        it = np.arange(1, obj.shape[1] + 1)
        line = _band(axes[0, 0], it, obj, solver)
        _band(axes[1, 0], it, dist, solver, line.get_color())
        t = tim.mean(axis=0) if tim.size else it.astype(float)
        _band(axes[0, 1], t, obj, solver, line.get_color())
        _band(axes[1, 1], t, dist, solver, line.get_color())
    axes[0, 0].set_ylabel("objective ½‖Ax − y‖²")
    axes[1, 0].set_ylabel("‖x − x*‖ / ‖x*‖")
    axes[1, 0].set_xlabel("iteration")
    axes[1, 1].set_xlabel("time in solve (s)")
    axes[0, 1].set_xscale("log")
    axes[1, 1].set_xscale("log")
    axes[0, 0].legend(loc="best")
    if title:
        fig.suptitle(title)
    return fig
