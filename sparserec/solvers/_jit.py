"""Compilation is not solving: the clock of numba's compiler, and the first-use warm-up.

``solve_time`` means time spent solving (STYLE.md: "timing that includes
compilation" is to be avoided). Two mechanisms keep numba's just-in-time
compilation out of it, and report it as ``Result.compile_time`` instead:

* **Warm-up.** The first time a solver (class and hyperparameters) meets a
  kind of problem (type, dtype, operator or array, sparsity kind) in this
  process, it first solves a tiny problem of that kind, untimed: this
  compiles (or loads from numba's on-disk cache) the kernels it uses and pays
  the other first-call costs (dispatcher typing, imports, BLAS set-up).
* **Compiler clock.** A listener on numba's ``"numba:compiler_lock"`` event
  measures, per thread, the time spent holding (or waiting for) numba's
  compiler lock, which every compilation and every cache load takes. The
  solver loop subtracts what accrues during a timed phase, so a signature
  that the warm-up did not cover (another memory layout, say) is not counted
  either.
"""
from __future__ import annotations

import threading
import time

from numba.core import event

__all__ = ["compile_seconds", "WarmUps"]


class _PerThread(threading.local):
    depth = 0       # nesting of the compiler lock (it is re-entrant)
    start = 0.0     # when the outermost acquisition started
    total = 0.0     # seconds accumulated by finished outermost acquisitions


class _CompilerClock(event.Listener):
    """Seconds spent in numba's compiler lock, per thread (outermost acquisitions only)."""

    def __init__(self):
        self._local = _PerThread()

    def on_start(self, ev):
        loc = self._local
        if loc.depth == 0:
            loc.start = time.perf_counter()
        loc.depth += 1

    def on_end(self, ev):
        loc = self._local
        loc.depth -= 1
        if loc.depth == 0:
            loc.total += time.perf_counter() - loc.start

    def seconds(self):
        loc = self._local
        if loc.depth:
            return loc.total + (time.perf_counter() - loc.start)
        return loc.total


_CLOCK = _CompilerClock()
event.register("numba:compiler_lock", _CLOCK)


def compile_seconds():
    """Seconds this thread has spent compiling with numba (or loading compiled code).

    Returns
    -------
    float
        A running total; differences between two calls measure a phase.
    """
    return _CLOCK.seconds()


class WarmUps:
    """The set of (solver, problem kind) pairs already warmed up in this process."""

    def __init__(self):
        self._done = set()
        self._lock = threading.Lock()

    def claim(self, key):
        """Return True the first time ``key`` is seen (the caller then warms up).

        Parameters
        ----------
        key : hashable
            Identifies the solver configuration and the kind of problem.

        Returns
        -------
        bool
            Whether this call claimed the warm-up.
        """
        with self._lock:
            if key in self._done:
                return False
            self._done.add(key)
            return True
