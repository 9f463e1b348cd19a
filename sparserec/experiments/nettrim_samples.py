r"""Net-Trim's sample complexity: recovering a planted sparse ReLU layer from P samples.

Run ``sparserec-nettrim-samples --help`` (from a clone: ``python -m
experiments.nettrim_samples --help``). Aghasi, Abdi & Romberg (2020) prove that
when some s-term weights re-create a ReLU layer's outputs from its inputs,
Net-Trim's convex program finds them from O(s log(N/s)) samples, N the number
of inputs, for independent Gaussian inputs and s nonzero weights per neuron.
This experiment measures where that transition lies.

Planted problem (one cell = ``N``, ``s``, ``P``; one trial = one fresh instance):

* inputs ``X`` of shape P × N with i.i.d. N(0, 1) entries (the papers' Gaussian
  setting), no bias;
* one output neuron (the program separates over neurons when the outputs are
  reproduced exactly, so several neurons would only add a union of independent
  events), with weights ``w*`` s-sparse: a uniformly random support and N(0, 1)
  values (:func:`sparserec.ensembles.sparse_signal`);
* outputs ``y = max(Xw*, 0)``, exactly reproducible by ``w*``;
* the "trained dense layer" handed to every method is the minimum-norm
  least-squares fit ``W = X⁺Xw*`` of the pre-activations (what gradient descent
  from zero converges to): it reproduces the outputs exactly, equals ``w*``
  when P ≥ N and is dense when P < N.

Methods, all on the same :class:`~sparserec.problems.LayerProblem` (ReLU):

* ``nettrim`` (ADMM, parallel version) sees only the inputs and the ReLU
  outputs, with the tolerance ``ε = 1e-6·‖y‖`` (the outputs are exactly
  reproducible, so a tiny ε makes exact recovery meaningful), ADMM residual
  tolerance 1e-6 and at most 5000 iterations. It is not told s: its sparsity
  follows from the ℓ1 program.
* ``lobs`` and ``obc`` prune the dense ``W`` to the planted density: they keep
  exactly s of the N weights (the "same sparsity", the best case for them, since
  they are told s). Each runs at the relative damping that served it best on a
  probe at P < N (20 instances per cell, s = 5, 10, 20, damping 1e-8 … 1e-2):
  L-OBS at 1e-8 (its fixed-inverse updates drift from ``w*`` as the damping
  grows), OBC at 1e-4 (e.g. 9 of 20 recoveries at s = 5, P = 40 against 2 of 20
  at 1e-8). The library default 0.01 biases the corrected weights beyond the
  1e-3 criterion whenever a nonzero weight is pruned. At P ≥ N the dense fit is
  ``w*``, its zeros have zero saliency and no correction, so any damping
  recovers it.

Success: ``‖ŵ − w*‖ / ‖w*‖ ≤ 1e-3``. Each row also records whether the support
was found, ``‖ŵ‖₁/‖w*‖₁`` and the relative output error
``f = ‖max(Xŵ, 0) − y‖/‖y‖``. A Net-Trim failure with ``f ≤ 1e-3`` and
``‖ŵ‖₁ < (1 − f)‖w*‖₁`` (a deficit larger than shrinking ``w*`` to that output
error would give) is a failure of the convex program itself: its minimiser is
not ``w*``. Any other failure is counted apart (an optimisation shortfall, or
an undecided case); the summary prints both counts.

Fit: for every method and s/N, a logistic regression of success on P/N
(:func:`sparserec.harness.fit_logistic`) gives the 50 % point P₅₀ (and the 10 %,
90 % points); the constant of ``P₅₀ ≈ c·s·log(N/s)`` is fitted by least squares
over the s/N values whose fit is inside the grid, and each s/N's own ratio
``P₅₀/(s log(N/s))`` shows how well the scaling holds. For reference, the
Donoho–Tanner count: the P at which basis pursuit recovers w* from P *linear*
measurements ``Xw*`` (the signed weak threshold, ``ρ(P/N)·P/N = s/N``).

Sizes: N = 100, s/N ∈ {0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5}, P/N = 0.05 …
2.0 in steps of 0.05, 12 trials per cell (``--smoke``: N = 30, s/N ∈ {0.1, 0.3},
P/N ∈ {0.3, 0.7, 1.2, 2.0}, 2 trials).

Writes into ``--out`` (default ``results/nettrim_samples``):

``cells/``, ``results.parquet``, ``metadata.json``
    The harness store (one row per method × cell × trial); reruns resume.
``nettrim_samples_cells.csv``
    One row per method × cell: success rate, support-recovery rate, median
    relative error, the failures split into ``fail_feasible_smaller_l1`` (ŵ
    reproduces the outputs to 1e-3 with ``‖ŵ‖₁ < ‖w*‖₁``: for Net-Trim, the
    convex program's own failure) and ``fail_other``, median solve time.
``nettrim_samples.csv``
    One row per method × s/N: P₅₀, P₁₀, P₉₀ (samples), P₅₀/N, ``s log(N/s)``,
    ``ratio = P₅₀/(s log(N/s))``, the fitted constant ``c`` of the method, the
    Donoho–Tanner count and the fit status.
``nettrim_samples.png``
    (a) Net-Trim's success rate over (s/N, P/N) with its fitted 50 % points;
    (b) the 50 % curves of the three methods; (c) P₅₀/(s log(N/s)); (d) P₅₀
    over the Donoho–Tanner count. Guides: c·s·log(N/s) with Net-Trim's
    fitted c, the Donoho–Tanner count and twice it.

Commands (from the repository root; the default run uses about 5 CPU-minutes,
7 to 9 minutes of wall time measured on 2 shared cores; the smoke run a few seconds)::

    .venv/bin/python -m experiments.nettrim_samples          # -> results/nettrim_samples
    .venv/bin/python -m experiments.nettrim_samples --smoke --out results/nettrim_smoke
    .venv/bin/python -m experiments.nettrim_samples --plot-only   # tables and figure again

References
----------
.. [1] A. Aghasi, A. Abdi, J. Romberg, "Fast convex pruning of deep neural
   networks", SIAM J. Math. Data Sci. 2(1), 2020.
.. [2] A. Aghasi, A. Abdi, N. Nguyen, J. Romberg, "Net-Trim: convex pruning of
   deep neural networks with performance guarantee", NeurIPS 2017.
"""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from sparserec.ensembles import sparse_signal
from sparserec.harness import (Batch, SolverSpec, Sweep, fit_logistic, load_results, run_sweep,
                               trial_seed)
from sparserec.harness.cli import (ArgumentParser, _positive_int, add_run_options, check_out,
                                   done_line, float_list, headless_figures, resolve_backend,
                                   setup_logging)
from sparserec.harness.plotting import plt, save, style
from sparserec.problems import LayerProblem
from sparserec.theory import donoho_tanner

__all__ = ["N", "S_FRACS", "P_FRACS", "SOLVERS", "LABELS", "planted_layer", "planted_layers",
           "recover_planted", "make_sweep", "run", "write_tables", "summarize_cells", "fit_curves",
           "dt_samples", "plot", "format_table", "build_parser", "main"]

#: Program name in ``--help`` and error lines (runs from a clone and from an install).
PROG = "python -m sparserec.experiments.nettrim_samples"
N = 100
S_FRACS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
P_FRACS = tuple(round(0.05 * i, 10) for i in range(1, 41))
TRIALS = 12
SMOKE = {"n": 30, "s_fracs": (0.1, 0.3), "p_fracs": (0.3, 0.7, 1.2, 2.0), "trials": 2}
#: Success: relative ℓ2 error of the recovered weights.
THRESHOLD = 1e-3
#: Net-Trim: relative tolerance ε, ADMM residual tolerance and iteration cap.
EPSILON, ADMM_TOL, ADMM_ITER = 1e-6, 1e-6, 5000
#: L-OBS and OBC: relative damping, the best of 1e-8 … 1e-2 for each (module docstring).
DAMPING = {"lobs": 1e-8, "obc": 1e-4}
SOLVERS = [f"nettrim:cascade=False,epsilon={EPSILON!r},max_iter={ADMM_ITER},tol={ADMM_TOL!r}",
           f"lobs:damping={DAMPING['lobs']!r}", f"obc:damping={DAMPING['obc']!r}"]
LABELS = {"nettrim": "Net-Trim (ℓ1, ADMM)", "lobs": "L-OBS (told s)", "obc": "OBC (told s)"}
#: Solvers whose sparsity follows from their tolerance (never told s).
TOLERANCE_DRIVEN = ("nettrim",)
#: Output error below which a Net-Trim point counts as reproducing the outputs.
FIT_OK = 1e-3


# ---------------------------------------------------------------- builder and runner
def planted_layer(X, w):
    """The ReLU :class:`~sparserec.problems.LayerProblem` of ``max(Xw, 0)``, ``w`` its truth.

    Parameters
    ----------
    X : ndarray of shape (P, N)
        Layer inputs.
    w : ndarray of shape (N,)
        Planted weights of the one output neuron.

    Returns
    -------
    LayerProblem
        Dense weights ``X⁺Xw`` (minimum-norm least-squares fit of the
        pre-activations), ReLU activation, no sparsity target, and
        ``x_true = w`` as an (N, 1) block, so every ``Result`` reports
        ``‖ŵ − w‖/‖w‖`` as its ``rel_error``.
    """
    X = np.asarray(X, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    dense = np.linalg.lstsq(X, X @ w, rcond=None)[0]
    problem = LayerProblem(X, dense[:, None], None, activation="relu")
    problem.x_true = w[:, None]  # the ground-truth attribute of every problem (metrics only)
    return problem


def planted_layers(coords, trials, seed, mode):
    """Harness builder: one planted ReLU layer per trial (coordinates ``N``, ``s``, ``P``).

    Trial ``t`` draws ``X`` (P × N, i.i.d. N(0, 1)) and then ``w*``
    (:func:`~sparserec.ensembles.sparse_signal`, Gaussian values) from
    :func:`sparserec.harness.trial_seed` ``(seed, coords, t)``.
    """
    if mode != "fresh":
        raise ValueError(f"planted_layers draws a fresh layer per trial (mode='fresh'); "
                         f"got mode={mode!r}")
    n, s, p = (int(coords[c]) for c in ("N", "s", "P"))
    if not (1 <= s <= n and p >= 1):
        raise ValueError(f"invalid planted layer N={n}, s={s}, P={p}")
    info = {"s_frac": s / n, "p_frac": p / n, "slogns": s * math.log(n / s)}
    out = []
    for t in trials:
        rng = np.random.default_rng(trial_seed(seed, coords, t))
        X = rng.standard_normal((p, n))
        w = sparse_signal(n, s, rng)
        active = int(np.count_nonzero(X @ w > 0))
        out.append(Batch(planted_layer(X, w), (t,), {**info, "n_active": active}))
    return out


def recover_planted(solver, problem, *, threshold):
    """Harness runner: solve, then score the weights against the planted ones.

    Net-Trim (:data:`TOLERANCE_DRIVEN`) solves the problem as built (no
    sparsity target); every other solver is given the planted density (it
    keeps exactly s weights).

    Returns
    -------
    list of dict
        One row: ``rel_error`` (``‖ŵ − w*‖/‖w*‖``), ``success``
        (``rel_error <= threshold``), ``support_found``, ``nnz``,
        ``l1_ratio`` (``‖ŵ‖₁/‖w*‖₁``), ``fit_error`` (relative ReLU output
        error; absolute when no sample is active), ``n_iter``, ``status``,
        ``reason``, ``error``, ``solve_time``.
    """
    w = problem.x_true[:, 0]
    s = int(np.count_nonzero(w))
    if solver.name not in TOLERANCE_DRIVEN:
        problem = problem.with_sparsity((problem.n - s) / problem.n, allocation="uniform")
    res = solver.solve(problem)
    what = np.asarray(res.x, dtype=np.float64)[:, 0]
    rel = float(np.atleast_1d(res.rel_error)[0])
    y = problem.targets()[:, 0]
    ynorm = float(np.linalg.norm(y))
    fit = np.linalg.norm(np.maximum(problem.X @ what, 0.0) - y) / (ynorm if ynorm > 0 else 1.0)
    return [{"rel_error": rel, "success": bool(np.isfinite(rel) and rel <= threshold),
             "support_found": bool(np.array_equal(what != 0, w != 0)),
             "nnz": int(np.count_nonzero(what)),
             "l1_ratio": float(np.abs(what).sum() / np.abs(w).sum()),
             "fit_error": float(fit), "n_iter": int(np.atleast_1d(res.n_iter)[0]),
             "status": str(np.atleast_1d(res.status)[0]),
             "reason": str(np.atleast_1d(res.reason)[0]), "error": "",
             "solve_time": float(res.solve_time)}]


# -------------------------------------------------------------------------- sweep
def make_sweep(*, smoke=False, n=None, s_fracs=None, p_fracs=None, trials=None, seed=0,
               solvers=None):
    """The sweep: solvers × (s, P) cells of planted layers with ``N`` inputs.

    ``s = max(1, round(s_frac·N))`` and ``P = max(1, round(p_frac·N))``; the
    cells are listed explicitly (coordinates ``N``, ``s``, ``P``).
    """
    size = SMOKE if smoke else {"n": N, "s_fracs": S_FRACS, "p_fracs": P_FRACS,
                                "trials": TRIALS}
    n = int(n or size["n"])
    s_vals = sorted({max(1, min(n, int(round(f * n)))) for f in (s_fracs or size["s_fracs"])})
    p_vals = sorted({max(1, int(round(f * n))) for f in (p_fracs or size["p_fracs"])})
    grid = [{"N": n, "s": s, "P": p} for s in s_vals for p in p_vals]
    return Sweep(list(solvers or SOLVERS), grid, trials=int(trials or size["trials"]),
                 seed=int(seed), mode="fresh", threshold=THRESHOLD, name="nettrim-samples",
                 builder=planted_layers, runner=recover_planted,
                 metadata={"inputs": "iid N(0,1)", "weights": "s-sparse, N(0,1) values",
                           "dense_start": "min-norm least squares of the pre-activations",
                           "threshold": THRESHOLD})


def _method(label):
    return label.partition(":")[0]


def summarize_cells(df):
    """One row per method × cell (see the module docstring)."""
    rows = []
    for (label, n, s, p), g in df.groupby(["solver", "N", "s", "P"], sort=False):
        ok = g[g["status"] != "error"]
        fail = ok[~ok["success"].astype(bool)]
        program = ((fail["l1_ratio"] < 1.0 - fail["fit_error"])
                   & (fail["fit_error"] <= FIT_OK))
        rows.append({"method": _method(label), "N": int(n), "s": int(s), "P": int(p),
                     "s_frac": s / n, "p_frac": p / n, "trials": int(len(g)),
                     "success_rate": float(ok["success"].mean()) if len(ok) else np.nan,
                     "support_rate": float(ok["support_found"].mean()) if len(ok) else np.nan,
                     "rel_error_median": float(ok["rel_error"].median()),
                     "fail_feasible_smaller_l1": int(program.sum()),
                     "fail_other": int((~program).sum()),
                     "errors": int(len(g) - len(ok)),
                     "time_median_s": float(ok["solve_time"].median())})
    return pd.DataFrame(rows)


def dt_samples(n, s):
    """Donoho–Tanner count: the P at which basis pursuit recovers s of n from P linear samples.

    Solves ``ρ_DT(δ)·δ = s/n`` for ``δ = P/n`` (signed weak threshold); returns
    ``δ·n``.
    """
    target = s / n
    if target >= 1.0:
        return float(n)
    f = lambda d: donoho_tanner(d) * d - target  # noqa: E731 - increasing in δ
    return float(brentq(f, 1e-6, 1.0, xtol=1e-10) * n)


def fit_curves(df):
    """Logistic 50 % points in P per method × s, the ratio to s·log(N/s) and the fitted c."""
    rows = []
    for (label, n, s), g in df.groupby(["solver", "N", "s"], sort=False):
        ok = g[g["status"] != "error"]
        # fit_logistic models success decreasing in its variable: fit on −P/N
        fit = fit_logistic(-(ok["P"] / n).to_numpy(float), ok["success"].to_numpy(bool))
        slog = s * math.log(n / s)
        p50 = -fit["rho50"] * n
        rows.append({"method": _method(label), "N": int(n), "s": int(s), "s_frac": s / n,
                     "slogns": slog, "p50": p50, "p10": -fit["rho10"] * n,
                     "p90": -fit["rho90"] * n, "p50_frac": p50 / n, "ratio": p50 / slog,
                     "dt_samples": dt_samples(n, s), "dt_ratio": p50 / dt_samples(n, s),
                     "n_obs": fit["n_obs"],
                     "status": fit["status"]})
    out = pd.DataFrame(rows)
    out["c"] = np.nan
    for method, g in out.groupby("method", sort=False):
        good = g[g["status"] == "ok"]
        if len(good):
            c = float((good["p50"] * good["slogns"]).sum() / (good["slogns"] ** 2).sum())
            out.loc[g.index, "c"] = c
    return out


def run(out, *, smoke=False, n=None, s_fracs=None, p_fracs=None, trials=None, seed=0,
        solvers=None, backend="joblib", workers=None, scheduler=None, resume=True, quiet=True):
    """Run (or resume) the sweep into ``out`` and write the two CSV tables.

    Returns
    -------
    cells, fits : pandas.DataFrame
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sweep = make_sweep(smoke=smoke, n=n, s_fracs=s_fracs, p_fracs=p_fracs, trials=trials,
                       seed=seed, solvers=solvers)
    df = run_sweep(sweep, out, backend=backend, workers=workers, scheduler=scheduler,
                   resume=resume, quiet=quiet)
    errors = df[df["status"] == "error"]
    if len(errors):
        raise RuntimeError(f"{len(errors)} planted-layer trial(s) raised; first: "
                           f"{errors['solver'].iloc[0]}: {errors['error'].iloc[0]}")
    return write_tables(df, out)


def write_tables(df, out):
    """Summarise the sweep's rows into the two CSV tables in ``out``; returns ``(cells, fits)``."""
    cells = summarize_cells(df)
    fits = fit_curves(df)
    cells.to_csv(Path(out) / "nettrim_samples_cells.csv", index=False, float_format="%.8g")
    fits.to_csv(Path(out) / "nettrim_samples.csv", index=False, float_format="%.8g")
    return cells, fits


# ---------------------------------------------------------------------------- plot
COLORS = {"nettrim": "C0", "lobs": "C1", "obc": "C2"}
MARKERS = {"nettrim": "o", "lobs": "s", "obc": "^"}
GUIDE = "0.4"


def _edges(v):
    v = np.asarray(v, dtype=float)
    if v.size == 1:
        return np.array([v[0] - 0.025, v[0] + 0.025])
    mid = (v[1:] + v[:-1]) / 2
    return np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]])


def _guides(ax, n, c, smax, *, what="p_frac"):
    """c·s·log(N/s), the Donoho–Tanner count and twice it, as P/N or as ratios."""
    sf = np.linspace(0.5 / n, smax, 150)
    slog = sf * np.log(1.0 / sf)
    dt = np.array([dt_samples(n, f * n) for f in sf]) / n
    if what == "p_frac":
        if np.isfinite(c):
            ax.plot(sf, c * slog, color="k", ls="--", lw=1.2, label=f"{c:.2f}·s·log(N/s)")
        ax.plot(sf, dt, color=GUIDE, ls=":", lw=1.4,
                label="Donoho–Tanner count (ℓ1, P linear samples)")
        ax.plot(sf, 2 * dt, color=GUIDE, ls="-.", lw=1.2, label="2 × Donoho–Tanner count")
    else:  # ratio to s·log(N/s)
        ax.plot(sf, dt / slog, color=GUIDE, ls=":", lw=1.4, label="Donoho–Tanner count")
        ax.plot(sf, 2 * dt / slog, color=GUIDE, ls="-.", lw=1.2, label="2 × Donoho–Tanner count")
        if np.isfinite(c):
            ax.axhline(c, color="k", ls="--", lw=1.0, label=f"fitted c = {c:.2f} (Net-Trim)")


def _method_lines(ax, fits, column):
    for method, g in fits.groupby("method", sort=False):
        g = g[g["status"] == "ok"].sort_values("s_frac")
        ax.plot(g["s_frac"], g[column], marker=MARKERS.get(method, "o"),
                color=COLORS.get(method), label=LABELS.get(method, method))


def plot(cells, fits, path):
    """``nettrim_samples.png`` from the two tables (reads nothing else).

    (a) Net-Trim's success rate over (s/N, P/N) with its fitted 50 % points;
    (b) the 50 % curves of every method; (c) P₅₀/(s·log(N/s)); (d) P₅₀ over
    the Donoho–Tanner count. Guides: c·s·log(N/s) with Net-Trim's fitted c,
    the Donoho–Tanner count and twice it.
    """
    n = int(cells["N"].iloc[0])
    nt_fit = fits[fits["method"] == "nettrim"]
    c = float(nt_fit["c"].iloc[0]) if len(nt_fit) else np.nan
    smax = min(1.0, float(cells["s_frac"].max()) * 1.1)
    with style():
        fig, axes = plt.subplots(2, 2, figsize=(12, 9), constrained_layout=True)
        ax = axes[0, 0]
        nt = cells[cells["method"] == "nettrim"]
        tab = nt.pivot_table(index="p_frac", columns="s_frac", values="success_rate")
        sx, py = tab.columns.to_numpy(float), tab.index.to_numpy(float)
        mesh = ax.pcolormesh(_edges(sx), _edges(py), tab.to_numpy(float), cmap="Greys_r",
                             vmin=0, vmax=1, shading="flat")
        fig.colorbar(mesh, ax=ax, label="Net-Trim success rate")
        f = nt_fit[nt_fit["status"] == "ok"]
        ax.errorbar(f["s_frac"], f["p50_frac"],
                    yerr=[f["p50_frac"] - f["p10"] / n, f["p90"] / n - f["p50_frac"]],
                    fmt="o-", color="C4", capsize=2, label="fitted 50 % (bars: 10–90 %)")
        _guides(ax, n, c, smax)
        ax.set(xlim=(_edges(sx)[0], _edges(sx)[-1]), ylim=(_edges(py)[0], _edges(py)[-1]),
               xlabel="s/N (planted density)", ylabel="P/N (samples per input)",
               title=f"(a) Net-Trim recovers w* (N = {n}, white = always)")
        ax.legend(loc="upper left", fontsize="x-small")
        ax = axes[0, 1]
        _method_lines(ax, fits, "p50_frac")
        _guides(ax, n, c, smax)
        ax.axhline(1.0, color="0.75", lw=0.8)
        ax.set(xlabel="s/N", ylabel="P₅₀/N (samples for 50 % success)",
               title="(b) 50 % curves; L-OBS and OBC keep exactly s weights")
        ax.legend(loc="upper left", fontsize="x-small")
        ax = axes[1, 0]
        _method_lines(ax, fits, "ratio")
        _guides(ax, n, c, smax, what="ratio")
        ax.set(xlabel="s/N", ylabel="P₅₀ / (s·log(N/s))",
               title="(c) The constant in P₅₀ ≈ c·s·log(N/s)")
        ax.legend(loc="upper right", fontsize="x-small")
        ax = axes[1, 1]
        _method_lines(ax, fits, "dt_ratio")
        ax.axhline(2.0, color=GUIDE, ls="-.", lw=1.2, label="2")
        ax.set(xlabel="s/N", ylabel="P₅₀ / Donoho–Tanner count",
               title="(d) Net-Trim needs twice the linear-measurement count")
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper right", fontsize="x-small")
        fig.suptitle("Planted s-sparse ReLU neuron, N(0, 1) inputs: samples needed to "
                      "recover w* to relative error 1e-3")
        save(fig, path)
    return path


def format_table(fits):
    """P₅₀ per s/N and method, its ratios to s·log(N/s) and to the Donoho–Tanner count."""
    lines = []
    for method, g in fits.groupby("method", sort=False):
        ok = g[g["status"] == "ok"]
        c = g["c"].iloc[0]
        head = f"{LABELS.get(method, method)}: "
        if len(ok):
            head += (f"least-squares c in P50 ≈ c·s·log(N/s): {c:.2f}; P50/(s·log(N/s)) "
                     f"{ok['ratio'].min():.2f}–{ok['ratio'].max():.2f}, P50/(Donoho–Tanner "
                     f"count) {ok['dt_ratio'].min():.2f}–{ok['dt_ratio'].max():.2f}")
        else:
            head += "no transition inside the grid"
        lines.append(head)
        for r in g.sort_values("s_frac").itertuples():
            if r.status == "ok":
                lines.append(f"  s/N={r.s_frac:4.2f} s={r.s:3d}  P50={r.p50:6.1f} "
                             f"(P50/N={r.p50_frac:4.2f}, 10–90 %: {r.p10:5.1f}–{r.p90:5.1f})  "
                             f"s·log(N/s)={r.slogns:5.1f} ratio={r.ratio:4.2f}  "
                             f"DT count={r.dt_samples:5.1f} ratio={r.dt_ratio:4.2f}")
            else:
                lines.append(f"  s/N={r.s_frac:4.2f} s={r.s:3d}  no fit ({r.status})")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- CLI
def build_parser():
    """The command-line parser (every option is documented in ``--help``)."""
    p = ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    g = p.add_argument_group("sweep")
    g.add_argument("--smoke", action="store_true",
                   help="tiny sizes (seconds): N=30, s/N 0.1,0.3, P/N 0.3,0.7,1.2,2, 2 trials")
    g.add_argument("--n", type=_positive_int, default=None, metavar="N",
                   help=f"number of layer inputs N (default {N})")
    g.add_argument("--s-fracs", type=float_list, default=None, metavar="LIST",
                   help="planted densities s/N (default: 0.05,0.1,0.15,0.2,0.25,0.3,0.4,0.5)")
    g.add_argument("--p-fracs", type=float_list, default=None, metavar="LIST",
                   help="samples per input P/N (default: 0.05:2.0:0.05)")
    g.add_argument("--trials", type=_positive_int, default=None,
                   help=f"trials per cell (default {TRIALS})")
    g.add_argument("--solver", action="append", default=None, metavar="SPEC",
                   help="solver to run instead of the default three, repeatable "
                        "('name:key=value,...'); Net-Trim is never told s, any other "
                        "solver keeps the planted s weights")
    add_run_options(p, default_out="results/nettrim_samples (results/nettrim_samples_smoke "
                                   "with --smoke)")
    return p


def _check(parser, args):
    for name in ("s_fracs", "p_fracs"):
        vals = getattr(args, name)
        if vals is not None and not all(0 < v for v in vals):
            parser.error(f"argument --{name.replace('_', '-')}: values must be > 0")
    if args.s_fracs is not None and not all(v <= 1 for v in args.s_fracs):
        parser.error("argument --s-fracs: densities must be in (0, 1]")
    specs = None
    if args.solver:
        specs = []
        for text in args.solver:
            try:
                spec = SolverSpec.parse(text)
                spec.make()
            except (ValueError, TypeError) as exc:
                parser.error(f"argument --solver: {exc}")
            specs.append(spec)
    return specs


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    specs = _check(parser, args)
    headless_figures()
    setup_logging(args.quiet, "nettrim_samples")
    out = args.out if args.out is not None else (
        "results/nettrim_samples_smoke" if args.smoke else "results/nettrim_samples")
    t0 = time.perf_counter()
    if args.plot_only:
        out = check_out(parser, out, must_exist=True)
        try:
            df, _ = load_results(out)
            cells, fits = write_tables(df, out)
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            parser.error(f"argument --plot-only: cannot redraw from {out}: "
                         f"{type(exc).__name__}: {exc}")
    else:
        out = check_out(parser, out)
        backend, workers, scheduler = resolve_backend(parser, args)
        cells, fits = run(out, smoke=args.smoke, n=args.n, s_fracs=args.s_fracs,
                          p_fracs=args.p_fracs, trials=args.trials, seed=args.seed,
                          solvers=specs, backend=backend, workers=workers,
                          scheduler=scheduler, resume=args.resume, quiet=args.quiet)
        if not args.quiet:
            print(format_table(fits))
            nt = cells[cells["method"] == "nettrim"]
            print(f"Net-Trim failures: {int(nt['fail_feasible_smaller_l1'].sum())} of the "
                  f"convex program (ŵ reproduces the outputs with a smaller ℓ1 norm than w*), "
                  f"{int(nt['fail_other'].sum())} other (optimiser shortfalls)")
    plot(cells, fits, out / "nettrim_samples.png")
    if not args.quiet:
        print(done_line(time.perf_counter() - t0, out,
                        ["nettrim_samples.csv", "nettrim_samples_cells.csv",
                         "nettrim_samples.png"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
