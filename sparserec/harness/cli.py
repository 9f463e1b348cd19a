"""Command-line plumbing shared by the experiments (:mod:`sparserec.experiments`).

Bad arguments end the program with exit status 2 and exactly one line on
stderr (``prog: error: ...``), never a traceback.
"""
from __future__ import annotations

import argparse
import importlib.util
import logging
import sys

import matplotlib
import numpy as np

from sparserec.ensembles import make_problem

from .backends import BACKENDS, BackendError, check_scheduler
from .cells import MODES
from .specs import SolverSpec

__all__ = ["ArgumentParser", "float_list", "add_run_options", "add_problem_options",
           "resolve_solvers", "resolve_backend", "setup_logging", "headless_figures"]


class ArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (exit status 2)."""

    def error(self, message):  # noqa: D401 - argparse API
        self.exit(2, f"{self.prog}: error: {message}\n")


def float_list(text):
    """Parse ``"0.1,0.2,0.5"`` or an inclusive range ``"0.05:0.95:0.05"`` into floats."""
    text = text.strip()
    if not text:
        raise argparse.ArgumentTypeError("empty grid (give comma-separated numbers)")
    try:
        if ":" in text and "," not in text:
            parts = [float(p) for p in text.split(":")]
            if len(parts) != 3 or parts[2] <= 0 or parts[1] < parts[0]:
                raise ValueError
            start, stop, step = parts
            num = int(np.floor((stop - start) / step + 1e-9)) + 1
            vals = [round(start + i * step, 12) for i in range(num)]
        else:
            vals = [float(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid grid {text!r} (expected numbers like 0.1,0.2 or start:stop:step)") from None
    if not vals:
        raise argparse.ArgumentTypeError("empty grid (give comma-separated numbers)")
    if not all(np.isfinite(vals)):
        raise argparse.ArgumentTypeError(f"non-finite value in grid {text!r}")
    return vals


def kappa_list(text):
    """Parse a list of condition numbers (each finite and >= 1)."""
    vals = float_list(text)
    bad = [v for v in vals if not (np.isfinite(v) and v >= 1)]
    if bad:
        raise argparse.ArgumentTypeError(f"condition numbers must be finite and >= 1; got {bad[0]:g}")
    return vals


def _int_at_least(low):
    """argparse type: an integer ``>= low`` (errors are one argparse line)."""
    def parse(text):
        try:
            val = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer; got {text!r}") from None
        if val < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}; got {val}")
        return val
    return parse


def _finite_float(strict):
    """argparse type: a finite number ``> 0`` (``strict``) or ``>= 0``."""
    def parse(text):
        try:
            val = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None
        if not np.isfinite(val) or val < 0:
            raise argparse.ArgumentTypeError(f"must be a finite number >= 0; got {text}")
        if strict and val == 0:
            raise argparse.ArgumentTypeError(f"must be > 0; got {text}")
        return val
    return parse


_positive_int = _int_at_least(1)
_nonneg_int = _int_at_least(0)
_nonneg_float = _finite_float(strict=False)
_positive_float = _finite_float(strict=True)


def add_problem_options(p, matrices, signals, default_signal):
    """Matrix ensemble, signal ensemble and noise options."""
    g = p.add_argument_group("problem ensemble")
    g.add_argument("--matrix", choices=list(matrices), default="gaussian",
                   help="measurement matrix ensemble (default: %(default)s; 'conditioned' "
                        "uses --kappa, 'correlated' uses --corr)")
    g.add_argument("--kappa", type=_positive_float, default=None, metavar="K",
                   help="condition number of the 'conditioned' ensemble (default: 10)")
    g.add_argument("--corr", type=float, default=None, metavar="R",
                   help="neighbour correlation r in (-1, 1) of the 'correlated' ensemble "
                        "(default: 0.5)")
    g.add_argument("--signal", choices=list(signals), default=default_signal,
                   help="law of the nonzeros: gaussian N(0,1), rademacher ±1, uniform "
                        "[-1,1] (default: %(default)s)")
    g.add_argument("--noise", type=_nonneg_float, default=0.0, metavar="SIGMA",
                   help="relative noise level: ‖e‖ = SIGMA·‖Ax‖ (default: 0, noiseless)")
    g.add_argument("--threshold", type=_positive_float, default=1e-3, metavar="EPS",
                   help="success criterion: relative ℓ2 error ‖x̂ − x‖/‖x‖ <= EPS "
                        "(default: %(default)g)")
    g.add_argument("--batch", choices=list(MODES), default=None,
                   help="matrix mode (recorded in the 'mode' column): 'fresh' draws a new "
                        "matrix for every trial and solves it alone (the literature's "
                        "protocol; default); 'common' draws one matrix A(δ, t) per δ and "
                        "trial t and solves every ρ cell's signal of that trial as one "
                        "multi-RHS block (each cell still sees independent matrices over "
                        "its trials; fastest); 'shared' draws one matrix per cell for all "
                        "its trials (trials then share a matrix). Default: the experiment's "
                        "(its preset's), else 'fresh'")


def add_run_options(p):
    """Seed, output, backend, resume and progress options."""
    g = p.add_argument_group("running")
    g.add_argument("--seed", type=_nonneg_int, default=0,
                   help="master seed; a cell's trial seeds derive from (seed, cell, trial) "
                        "(default: %(default)s)")
    g.add_argument("--out", default=None, metavar="DIR",
                   help="output directory for results.parquet, metadata.json, cells/ and "
                        "figures")
    g.add_argument("--backend", choices=BACKENDS, default=None,
                   help="serial, joblib (local processes, default) or dask (see --scheduler)")
    g.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                   help="worker processes for joblib or a local Dask cluster (default: all "
                        "cores)")
    g.add_argument("--scheduler", default=None, metavar="ADDR",
                   help="Dask scheduler: 'local' starts a LocalCluster on 127.0.0.1, "
                        "tcp://HOST:PORT joins a running cluster (implies --backend dask)")
    mode = g.add_mutually_exclusive_group()
    mode.add_argument("--resume", dest="resume", action="store_true", default=True,
                      help="reuse stored cells and compute only the missing ones (default)")
    mode.add_argument("--fresh", dest="resume", action="store_false",
                      help="discard stored cells in --out and recompute everything")
    g.add_argument("--plot-only", action="store_true",
                   help="do not compute: redraw figures (and fits) from --out/results.parquet")
    g.add_argument("--quiet", action="store_true",
                   help="no progress bar and no summary (the bar is also off when stdout "
                        "is not a terminal)")


def resolve_solvers(parser, texts):
    """Parse and check ``--solver`` values; errors go through ``parser.error``.

    Each spec is instantiated and its parameter values validated on a tiny
    problem, so a bad name, parameter or value is reported before any work.
    """
    specs = []
    tiny = make_problem(8, 16, 2, seed=0)
    for text in texts:
        try:
            spec = SolverSpec.parse(text)
        except ValueError as exc:
            parser.error(f"argument --solver: {exc}")
        try:
            solver = spec.make()
        except (ValueError, TypeError) as exc:
            parser.error(f"argument --solver: {exc}")
        try:
            solver._validate_params(tiny)
        except (ValueError, TypeError) as exc:
            parser.error(f"argument --solver {spec.label!r}: {exc}")
        except Exception:  # other failures are recorded per cell, not here
            pass
        if spec not in specs:
            specs.append(spec)
    return specs


def resolve_backend(parser, args):
    """Return ``(backend, workers, scheduler)``; checks a remote scheduler is reachable."""
    backend, scheduler = args.backend, args.scheduler
    if scheduler is not None:
        if backend not in (None, "dask"):
            parser.error(f"argument --scheduler: only valid with --backend dask (got "
                         f"--backend {backend})")
        backend = "dask"
    backend = backend or "joblib"
    if backend == "dask":
        if scheduler not in (None, "local"):
            try:
                check_scheduler(scheduler)
            except BackendError as exc:
                parser.error(f"argument --scheduler: {exc}")
        if importlib.util.find_spec("distributed") is None:
            parser.error("argument --backend: dask needs `pip install dask[distributed]`")
        scheduler = scheduler or "local"
    return backend, args.workers, scheduler


def setup_logging(quiet):
    """Warnings (always) and progress notes (unless quiet) on stderr, one line each."""
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO,
                        format="%(levelname)s: %(message)s", stream=sys.stderr)
    for noisy in ("distributed", "asyncio", "numba", "matplotlib", "cvxpy"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def headless_figures():
    """Draw figures into files only (matplotlib's Agg backend), even where a display exists.

    Called by the experiments' ``main`` functions, never at import: a library
    module does not choose the backend of a notebook or an application.
    """
    matplotlib.use("Agg")
