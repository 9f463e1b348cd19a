"""Command-line plumbing shared by the experiments (:mod:`sparserec.experiments`).

The promises every experiment's command line keeps:

- **Bad arguments** end the program with exit status 2 and exactly one line
  on stderr (``prog: error: ...``), never a traceback, and *before any work*:
  grids are capped (:data:`MAX_GRID_VALUES` values per list, :data:`MAX_TASKS`
  tasks, :data:`MAX_ROWS` rows), a problem must fit in memory, ``--out``
  must be a writable directory, and every solver is tried once on a tiny
  problem of the experiment's kind (:func:`check_solvers`), so a solver that
  cannot work there (a layer pruner, an undamped Newton step on ``m < n``)
  is refused instead of filling the table with error rows.
- **One output style**: notes and warnings go through :mod:`logging` to
  stderr as ``name: message`` lines (:func:`setup_logging`), progress is a
  tqdm bar on stderr (shown on a terminal), and a summary ending with
  :func:`done_line` is printed on stdout at the end (``--quiet`` keeps only
  warnings and errors).
- ``--version`` prints sparserec's version (and commit, from a clone), and
  ``--help`` states every default, ``--out``'s included.
"""
from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import re
import sys
import uuid
from pathlib import Path

import matplotlib
import numpy as np

from sparserec.ensembles import make_problem

from .backends import BACKENDS, BackendError, check_scheduler
from .cells import MODES, recovery_problems
from .metadata import package_version
from .specs import SolverSpec

__all__ = ["ArgumentParser", "float_list", "add_run_options", "add_problem_options",
           "resolve_solvers", "resolve_backend", "setup_logging", "headless_figures",
           "check_solvers", "check_out", "check_size", "check_memory", "recovery_probes",
           "done_line", "plain_text", "version_text", "one_line", "MAX_GRID_VALUES",
           "MAX_TASKS", "MAX_ROWS", "MAX_N", "size_int"]

#: Values one ``--deltas``/``--rhos``/``--kappas`` list may hold.
MAX_GRID_VALUES = 1000
#: Tasks (solver × cell × trial block) one run may hold.
MAX_TASKS = 100_000
#: Result rows (tasks × trials) one run may hold.
MAX_ROWS = 10_000_000
#: Largest problem dimension (m, n or k) the command lines accept.
MAX_N = 10 ** 9


def one_line(text):
    """``text`` with its line breaks and runs of spaces collapsed (for error lines)."""
    return " ".join(str(text).split())


def plain_text(doc):
    """A docstring's reStructuredText inline markup as plain text (for ``--help``).

    ````x```` becomes ``x``, ``:func:`~a.b.c``` becomes ``c``, ``:mod:`a.b``` becomes
    ``a.b`` and a ``::`` that opens a literal block becomes ``:``.

    Examples
    --------
    >>> plain_text("Run ``make demo``; see :func:`~sparserec.pruning.iterate`::")
    'Run make demo; see iterate:'
    """
    text = re.sub(r":[a-z]+:`~[\w.]*?\.?(\w+)`", r"\1", doc)
    text = re.sub(r":[a-z]+:`([^`<]*?)\s*(<[^>]*>)?`", r"\1", text)
    text = text.replace("``", "")
    return re.sub(r"(\S)::(?=\s|$)", r"\1:", text)


def version_text():
    """``sparserec 0.1.0`` (plus ``, commit <sha>[, modified]`` when run from a clone)."""
    v = package_version()
    text = f"sparserec {v['version']}"
    if v["commit"]:
        text += f" (commit {v['commit'][:12]}{', modified' if v['dirty'] else ''})"
    return text


class _VersionAction(argparse.Action):
    """``--version``: print :func:`version_text` and exit (computed only when asked)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                 help="print sparserec's version (and git commit, from a clone) and exit"):
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0,
                         help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_text(), file=sys.stdout)
        parser.exit(0)


class ArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (exit status 2), with ``--version``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_argument("--version", action=_VersionAction)

    def error(self, message):  # noqa: D401 - argparse API
        self.exit(2, f"{self.prog}: error: {one_line(message)}\n")


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
            num = (stop - start) / step + 1
            if not np.isfinite(num) or num > MAX_GRID_VALUES:
                raise argparse.ArgumentTypeError(
                    f"grid {text!r} has {num:.3g} values; at most {MAX_GRID_VALUES} per list "
                    "(use a larger step)")
            num = int(np.floor(num - 1 + 1e-9)) + 1
            vals = [round(start + i * step, 12) for i in range(num)]
        else:
            vals = [float(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid grid {text!r} (expected numbers like 0.1,0.2 or start:stop:step)") from None
    if not vals:
        raise argparse.ArgumentTypeError("empty grid (give comma-separated numbers)")
    if len(vals) > MAX_GRID_VALUES:
        raise argparse.ArgumentTypeError(f"grid has {len(vals)} values; at most "
                                         f"{MAX_GRID_VALUES} per list")
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


def kappa_value(text):
    """Parse one condition number (finite and >= 1)."""
    try:
        val = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None
    if not (np.isfinite(val) and val >= 1):
        raise argparse.ArgumentTypeError(f"a condition number must be finite and >= 1; "
                                         f"got {text}")
    return val


def _int_at_least(low, high=None):
    """argparse type: an integer ``>= low`` (and ``<= high``); errors are one argparse line."""
    def parse(text):
        try:
            val = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer; got {text!r}") from None
        if val < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}; got {val}")
        if high is not None and val > high:
            shown = text if len(text) <= 30 else text[:27] + "..."
            raise argparse.ArgumentTypeError(f"must be <= {high}; got {shown}")
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
#: argparse type of a problem dimension: an integer in [1, MAX_N].
size_int = _int_at_least(1, MAX_N)
_nonneg_float = _finite_float(strict=False)
_positive_float = _finite_float(strict=True)


def add_problem_options(p, matrices, signals, default_signal):
    """Matrix ensemble, signal ensemble and noise options."""
    g = p.add_argument_group("problem ensemble")
    g.add_argument("--matrix", choices=list(matrices), default="gaussian",
                   help="measurement matrix ensemble (default: %(default)s; 'conditioned' "
                        "uses --kappa, 'correlated' uses --corr)")
    g.add_argument("--kappa", type=kappa_value, default=None, metavar="KAPPA",
                   help="condition number (>= 1) of the 'conditioned' ensemble (default: 10)")
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


def add_run_options(p, default_out):
    """Seed, output, backend, resume and progress options.

    Parameters
    ----------
    p : argparse.ArgumentParser
    default_out : str
        The default output directory, as stated in ``--help`` (``--out``'s
        default stays None so the experiment can tell whether it was given).
    """
    g = p.add_argument_group("running")
    g.add_argument("--seed", type=_nonneg_int, default=0,
                   help="master seed; a cell's trial seeds derive from (seed, cell, trial) "
                        "(default: %(default)s)")
    g.add_argument("--out", default=None, metavar="DIR",
                   help="output directory for results.parquet, metadata.json, cells/ and "
                        f"figures (default: {default_out}); several runs may share it")
    g.add_argument("--backend", choices=BACKENDS, default=None,
                   help="serial, joblib (local processes, default) or dask (see --scheduler)")
    g.add_argument("--workers", type=_positive_int, default=None, metavar="WORKERS",
                   help="worker processes for joblib or a local Dask cluster (default: all "
                        "cores)")
    g.add_argument("--scheduler", default=None, metavar="ADDR",
                   help="Dask scheduler: 'local' starts a LocalCluster on 127.0.0.1, "
                        "tcp://HOST:PORT joins a running cluster (implies --backend dask)")
    mode = g.add_mutually_exclusive_group()
    mode.add_argument("--resume", dest="resume", action="store_true", default=True,
                      help="reuse stored cells and compute only the missing ones (default)")
    mode.add_argument("--fresh", dest="resume", action="store_false",
                      help="discard stored cells in --out and recompute everything (a "
                           "resumed run already recomputes the cells that another version "
                           "of the code or other parameters computed)")
    g.add_argument("--plot-only", action="store_true",
                   help="do not compute: redraw figures (and fits) from --out/results.parquet")
    g.add_argument("--quiet", action="store_true",
                   help="no progress bar, notes or summary; warnings and errors only (the "
                        "bar is also off when stderr is not a terminal)")


def resolve_solvers(parser, texts):
    """Parse and check ``--solver`` values; errors go through ``parser.error``.

    Each spec is instantiated and its parameter values validated on a tiny
    problem, so a bad name, parameter or value is reported before any work
    (:func:`check_solvers` then tries each on the experiment's problems).
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
        if isinstance(tiny, solver.accepts):
            try:
                solver._validate_params(tiny)
            except (ValueError, TypeError) as exc:
                parser.error(f"argument --solver {spec.label!r}: {exc}")
        if spec not in specs:
            specs.append(spec)
    return specs


def recovery_probes(coords, values):
    """Tiny problems like an experiment's: ``coords`` with each dict of ``values`` applied.

    Parameters
    ----------
    coords : dict
        Cell coordinates of :func:`~sparserec.harness.recovery_problems`
        (``n`` should be small, e.g. 32).
    values : list of dict
        Coordinates that vary (e.g. the smallest and the largest δ).

    Returns
    -------
    list of (str, Problem)
        A description (``"delta=0.1"``) and the problem of trial 0.
    """
    probes = []
    for extra in values:
        cell = {**coords, **extra}
        problem = recovery_problems(cell, [0], 0, "fresh")[0].problem
        probes.append((", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                                 for k, v in extra.items()), problem))
    return probes


def check_solvers(parser, specs, probes):
    """Refuse, before any work, a solver that cannot run on the experiment's problems.

    Every solver is solved once on each probe (tiny problems built like the
    experiment's, :func:`recovery_probes`). A solver whose ``accepts`` does
    not include the probe's type (a layer pruner such as ``nettrim`` on a
    least-squares problem), or that raises ValueError or TypeError there (an
    undamped Newton step on a singular ``AᵀA`` when ``m < n``), is reported
    through ``parser.error``. Other exceptions are left to the run, which
    records them per cell.
    """
    for spec in specs:
        for where, problem in probes:
            solver = spec.make()
            if not isinstance(problem, solver.accepts):
                kinds = " or ".join(c.__name__ for c in solver.accepts)
                parser.error(f"argument --solver {spec.label!r}: {type(solver).__name__} "
                             f"solves a {kinds} only, and this experiment's problems are "
                             f"least-squares {type(problem).__name__}s")
            try:
                solver.solve(problem)
            except (ValueError, TypeError) as exc:
                parser.error(f"argument --solver {spec.label!r} cannot run on this "
                             f"experiment's problems ({where}): {exc}")
            except Exception:  # noqa: BLE001 - recorded per cell by the run
                pass


def _count(x):
    return f"{x:.3g}" if x < 1e300 else "more than 1e300"




def check_size(parser, n_tasks, n_rows):
    """Refuse a run larger than :data:`MAX_TASKS` tasks or :data:`MAX_ROWS` rows."""
    if n_rows > MAX_ROWS:
        parser.error(f"the grid has {_count(n_rows)} result rows (solvers × cells × trials); "
                     f"at most {MAX_ROWS} per run")
    if n_tasks > MAX_TASKS:
        parser.error(f"the grid has {_count(n_tasks)} tasks (solvers × cells × trial "
                     f"blocks); at most {MAX_TASKS} per run")


def _memory_bytes():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 2 ** 40


def check_memory(parser, option, m, n, matrix="gaussian"):
    """Refuse a problem whose matrix cannot fit in this machine's memory.

    Parameters
    ----------
    parser : ArgumentParser
    option : str
        The option to blame (``"--n"``).
    m, n : int
        The largest problem's shape.
    matrix : str
        The ensemble: ``dct`` is an operator (O(n) memory); ``conditioned``
        and ``correlated`` also form n × n factors.
    """
    if max(m, n) > MAX_N:
        parser.error(f"argument {option}: problems are limited to {MAX_N} unknowns and "
                     f"measurements; got m={_count(m)}, n={_count(n)}")
    per = {"dct": 16 * n, "conditioned": m * n + n * n + m * m,
           "correlated": m * n + n * n}.get(matrix, m * n)
    need, have = 8 * per, _memory_bytes()
    if need > have:
        parser.error(f"argument {option}: the largest problem (m={m}, n={n}, {matrix} "
                     f"matrix) needs {need / 2 ** 30:.3g} GiB, more than this machine's "
                     f"memory ({have / 2 ** 30:.1f} GiB)")


def check_out(parser, out, *, must_exist=False):
    """Check that ``out`` is (or can be made) a writable directory; returns it as a Path.

    Creates the directory and writes and removes a probe file in it, so an
    unusable ``--out`` (empty, a file, read-only, a pseudo file system) is one
    error line before any work.
    """
    if out is not None and not str(out).strip():
        parser.error("argument --out: must not be empty")
    path = Path(out)
    if path.exists() and not path.is_dir():
        parser.error(f"argument --out: {path} exists and is not a directory")
    if must_exist and not path.is_dir():
        parser.error(f"argument --out: no directory {path}")
    probe = path / f".write-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        parser.error(f"argument --out: cannot write to {path} "
                     f"({exc.strerror or type(exc).__name__})")
    return path


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


class _StderrHandler(logging.StreamHandler):
    """A handler that writes to the *current* ``sys.stderr`` (which tests may replace)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


class _Formatter(logging.Formatter):
    def __init__(self, name):
        super().__init__()
        self.name = name

    def format(self, record):
        msg = one_line(record.getMessage())
        if record.levelno >= logging.WARNING:
            return f"{self.name}: {record.levelname.lower()}: {msg}"
        return f"{self.name}: {msg}"


_HANDLER = _StderrHandler()


def setup_logging(quiet, name="sparserec"):
    """The one output style's log lines: ``name: message`` on stderr.

    Notes (INFO) unless ``quiet``, warnings and errors always, from every
    ``sparserec`` logger; chatty third-party loggers are limited to errors.

    Parameters
    ----------
    quiet : bool
    name : str
        The prefix of every line (the experiment's short name).
    """
    lib = logging.getLogger("sparserec")
    _HANDLER.setFormatter(_Formatter(name))
    if _HANDLER not in lib.handlers:
        lib.addHandler(_HANDLER)
    lib.setLevel(logging.WARNING if quiet else logging.INFO)
    for noisy in ("distributed", "asyncio", "numba", "matplotlib", "cvxpy"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def done_line(elapsed, out, files):
    """The last line of every experiment's summary: time, output folder, files."""
    return (f"Done in {elapsed:.1f} s. Outputs in {Path(out).resolve()}: "
            + ", ".join(str(f) for f in files))


def headless_figures():
    """Draw figures into files only (matplotlib's Agg backend), even where a display exists.

    Called by the experiments' ``main`` functions, never at import: a library
    module does not choose the backend of a notebook or an application.
    """
    matplotlib.use("Agg")
