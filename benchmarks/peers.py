"""Peers side by side: sparserec's solvers and other libraries on the same instances.

Every method solves the same seeded instances (Gaussian A with N(0, 1/m)
entries, k-sparse signals; ``sparserec.ensembles``), one fresh matrix per
trial, and succeeds when ``‖x̂ − x‖/‖x‖ < threshold``. The script prints, per
δ = m/n, the fitted 50 % point ρ₅₀ of every method (the logistic fit of
``sparserec.harness.fit_transitions``) and the median time per solve.
Peers that are not installed are listed as missing; install them with
``pip install -e .[peers]`` (``make test`` never needs them).

    python benchmarks/peers.py                       # n=512, δ 0.2/0.35/0.5, 20 trials
    python benchmarks/peers.py --trials 5 --deltas 0.5 --rhos 0.3:0.55:0.05   # quick look

Quirks of the peers, as handled here:

* **abess** (``abess.linear.LinearRegression(support_size=k)``): its splicing
  accepts an exchange only when the loss falls by more than an *absolute*
  threshold, so at unit scale (‖y‖ ~ 1) it gives up early. ``y`` is scaled to
  a root-mean-square of ``ABESS_Y_RMS`` (1e3) and the coefficients scaled back.
* **cr-sparse** (``cr.sparse.pursuit``): it is written for unit-norm
  columns (its OMP does not divide by ‖a_j‖), so ``A`` is normalised and the
  solution rescaled. It runs in JAX, compiled per (m, n, k); the compilation
  is done on a warm-up instance and not timed. Its OMP unrolls k iterations
  at compile time (minutes for k ≈ 60 here), so only its Subspace Pursuit
  runs unless ``--cr-omp`` is given. It imports ``jax.lib.xla_bridge``, which
  JAX removed after 0.4.x: the ``[peers]`` extra pins ``jax<0.4.31``. JAX
  computes in float64 here (``jax_enable_x64``).
* **L0Learn** (``l0learn.fit(..., penalty="L0", algorithm="CDPSI")``): wheels
  exist only for Python <= 3.10 with numpy < 2 (the extra installs it only
  there). It returns a regularisation path; the solution with k nonzeros (else
  the largest support below k) is taken, then refitted by least squares on
  its support, because its coordinate descent stops at a relative tolerance
  of 1e-6 on the objective, far from the 1e-3 error criterion on x.
* **scikit-learn**: ``OrthogonalMatchingPursuit(n_nonzero_coefs=k)`` (no
  intercept, no normalisation), and the Lasso through ``lars_path(method="lasso")``
  followed to α = 0, whose end point is the minimum-ℓ1 interpolant (basis
  pursuit); coordinate-descent ``Lasso`` at a tiny α is not basis pursuit.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
import warnings

# One thread everywhere (BLAS through threadpoolctl below, XLA here, before JAX loads),
# so that times per solve compare single-threaded methods.
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                   "intra_op_parallelism_threads=1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from sparserec import solvers  # noqa: E402
from sparserec.ensembles import gaussian, sparse_signal  # noqa: E402
from sparserec.harness import fit_transitions  # noqa: E402
from sparserec.problems import Problem  # noqa: E402

#: Target root-mean-square of y handed to abess (see the module docstring).
ABESS_Y_RMS = 1e3
#: sparserec solvers run by default.
OURS = ("swap", "cgiht", "htp", "subspace_pursuit", "omp")


# ------------------------------------------------------------------ peers
def _refit(A, y, support):
    x = np.zeros(A.shape[1])
    if support.size:
        x[support] = np.linalg.lstsq(A[:, support], y, rcond=None)[0]
    return x


def _abess(A, y, k):
    from abess.linear import LinearRegression
    s = ABESS_Y_RMS / max(np.sqrt(np.mean(y * y)), 1e-300)
    model = LinearRegression(support_size=[k], fit_intercept=False)
    model.fit(A, y * s)
    return np.asarray(model.coef_) / s


def _l0learn(A, y, k):
    import l0learn
    fit = l0learn.fit(A, y, loss="SquaredError", penalty="L0", algorithm="CDPSI",
                      max_support_size=k, intercept=False)
    sizes = np.asarray(fit.support_size[0])
    ok = np.flatnonzero(sizes <= k)
    col = ok[np.argmax(sizes[ok])]
    x = np.asarray(fit.coeffs[0][:, col].todense()).ravel()
    return _refit(A, y, np.flatnonzero(x))


def _sklearn_omp(A, y, k):
    from sklearn.linear_model import OrthogonalMatchingPursuit
    return OrthogonalMatchingPursuit(n_nonzero_coefs=k, fit_intercept=False).fit(A, y).coef_


def _sklearn_lasso(A, y, k):
    from sklearn.linear_model import lars_path
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LARS warns on degenerate steps near α = 0
        _, _, coefs = lars_path(A, y, method="lasso", alpha_min=0.0, max_iter=4 * A.shape[0])
    return coefs[:, -1]


class _CrSparse:
    """cr-sparse's pursuit, compiled per (m, n, k) on a warm-up instance (not timed)."""

    def __init__(self, algorithm):
        import jax
        jax.config.update("jax_enable_x64", True)
        self.algorithm = algorithm
        self.compiled = {}

    def prepare(self, m, n, k):
        import jax
        import jax.numpy as jnp
        from cr.sparse._src.pursuit import omp, sp
        key = (m, n, k)
        if key not in self.compiled:
            fn = jax.jit(sp.matrix_solve if self.algorithm == "sp" else omp.solve,
                         static_argnums=(2,))
            A = np.linalg.qr(np.random.default_rng(0).standard_normal((n, m)))[0].T
            jax.block_until_ready(fn(jnp.asarray(A), jnp.asarray(A[:, 0]), k).x_I)
            self.compiled[key] = fn
        return self.compiled[key]

    def __call__(self, A, y, k):
        import jax
        import jax.numpy as jnp
        norms = np.linalg.norm(A, axis=0)
        sol = self.prepare(*A.shape, k)(jnp.asarray(A / norms), jnp.asarray(y), k)
        jax.block_until_ready(sol.x_I)
        x = np.zeros(A.shape[1])
        x[np.asarray(sol.I)] = np.asarray(sol.x_I)
        return x / norms


def _have(module):
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def peers(cr_omp=False):
    """Installed peers as {name: callable(A, y, k) -> x}, and the missing ones with why."""
    found, missing = {}, {}
    if _have("abess"):
        found["abess"] = _abess
    else:
        missing["abess"] = "pip install abess"
    if _have("cr.sparse"):
        try:
            found["cr-sparse SP"] = _CrSparse("sp")
            if cr_omp:
                found["cr-sparse OMP"] = _CrSparse("omp")
        except Exception as err:  # an incompatible JAX fails at import
            missing["cr-sparse"] = f"import failed ({type(err).__name__}: {err})"
    else:
        missing["cr-sparse"] = "pip install cr-sparse 'jax<0.4.31' 'jaxlib<0.4.31'"
    if _have("l0learn"):
        found["L0Learn CDPSI"] = _l0learn
    else:
        missing["L0Learn"] = ("pip install l0learn (wheels only for Python <= 3.10 and "
                              "numpy < 2; this is Python "
                              f"{sys.version_info.major}.{sys.version_info.minor})")
    if _have("sklearn"):
        found["sklearn OMP"] = _sklearn_omp
        found["sklearn Lasso (LARS, α→0)"] = _sklearn_lasso
    else:
        missing["scikit-learn"] = "pip install scikit-learn"
    return found, missing


# ------------------------------------------------------------------ sweep
def _grid(text):
    if ":" in text:
        a, b, c = (float(v) for v in text.split(":"))
        return list(np.round(np.arange(a, b + c / 2, c), 10))
    return [float(v) for v in text.split(",")]


def _instance(seed, n, delta, rho, trial, signal):
    m = int(np.ceil(delta * n))
    k = max(1, int(round(rho * m)))
    ss = np.random.SeedSequence(seed, spawn_key=(int(round(delta * 1e6)), int(round(rho * 1e6)),
                                                 trial))
    rng = np.random.default_rng(ss)
    A = gaussian(m, n, rng)
    x = sparse_signal(n, k, rng, distribution=signal)
    return A, A @ x, x, m, k


def run(n, deltas, rhos, trials, signal, threshold, seed, ours, cr_omp, log=print):
    """Solve every instance with every method; one row per method × instance."""
    found, missing = peers(cr_omp)
    methods = {name: (lambda A, y, k, name=name: solvers.get(name).solve(Problem(A, y, k)).x)
               for name in ours}
    methods.update(found)
    for name, why in missing.items():
        log(f"missing peer: {name} ({why})")
    rows = []
    for delta in deltas:
        for rho in rhos:
            for trial in range(trials):
                A, y, x, m, k = _instance(seed, n, delta, rho, trial, signal)
                for name, fn in methods.items():
                    if hasattr(fn, "prepare"):
                        fn.prepare(m, n, k)  # compile outside the timing
                    t0 = time.perf_counter()
                    try:
                        xh = np.asarray(fn(A, y, k), dtype=float)
                        err = np.linalg.norm(xh - x) / np.linalg.norm(x)
                        status = "ok"
                    except Exception as exc:  # a peer's failure is a failed solve, not a crash
                        err, status = np.inf, f"error: {type(exc).__name__}"
                    dt = time.perf_counter() - t0
                    rows.append({"solver": name, "delta": delta, "rho": rho, "m": m, "k": k,
                                 "trial": trial, "rel_error": err,
                                 "success": bool(err < threshold), "status": status,
                                 "solve_time": dt})
            log(f"δ={delta:g} ρ={rho:g} done")
    return pd.DataFrame(rows), missing


def table(df):
    """ρ₅₀ per δ (columns) and median time per solve, one row per method."""
    fits = fit_transitions(df)
    rho50 = fits.pivot(index="solver", columns="delta", values="rho50")
    rho50.columns = [f"ρ50 δ={d:g}" for d in rho50.columns]
    times = df.groupby("solver")["solve_time"].median() * 1e3
    out = rho50.assign(**{"median ms/solve": times.round(1)})
    return out.sort_values(out.columns[-2], ascending=False)


def main(argv=None):
    """Command line: run the comparison and print the table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=512)
    p.add_argument("--deltas", default="0.2,0.35,0.5")
    p.add_argument("--rhos", default="0.15:0.6:0.05")
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--signal", default="gaussian", choices=("gaussian", "rademacher", "uniform"))
    p.add_argument("--threshold", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ours", default=",".join(OURS),
                   help="sparserec solvers to run (comma-separated registry names)")
    p.add_argument("--cr-omp", action="store_true",
                   help="also run cr-sparse's OMP (compiles for minutes per k)")
    p.add_argument("--out", default=None, help="write the per-solve rows to this CSV file")
    args = p.parse_args(argv)
    with threadpool_limits(limits=1):
        df, missing = run(args.n, _grid(args.deltas), _grid(args.rhos), args.trials,
                          args.signal, args.threshold, args.seed,
                          [s for s in args.ours.split(",") if s], args.cr_omp,
                          log=lambda s: print(s, file=sys.stderr, flush=True))
    if args.out:
        df.to_csv(args.out, index=False)
    print(f"n={args.n}, {args.signal} signals, {args.trials} trials per (δ, ρ), success: "
          f"relative error < {args.threshold:g}")
    print(table(df).to_markdown(floatfmt=".3f") if _have("tabulate") else table(df).to_string())
    if missing:
        print("missing peers: " + "; ".join(f"{k} ({v})" for k, v in missing.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
