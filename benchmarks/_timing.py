"""Side-by-side timing shared by the ratio benchmarks (not a benchmark itself).

Ratios are measured in one run with the calls interleaved, because these
machines are shared and noisy; every benchmark reports medians.
"""
from __future__ import annotations

import time

import numpy as np


def time_calls(fn, number=1):
    """Mean seconds per call of ``fn`` over ``number`` back-to-back calls."""
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


def interleaved_medians(fns, repeats, *, number=1, alternate=False):
    """Median per-call seconds of each callable, timed in interleaved rounds.

    Parameters
    ----------
    fns : sequence of callables
        Timed in turn within each round (a, b, a, b, ...).
    repeats : int
        Number of rounds; the median over rounds is returned.
    number : int, default=1
        Calls per timing (their mean is one sample).
    alternate : bool, default=False
        Reverse the order on every other round (b, a), so neither callable
        always runs first.

    Returns
    -------
    list of float
        One median per callable, in the order of ``fns``.
    """
    fns = list(fns)
    times = [[] for _ in fns]
    for r in range(repeats):
        order = range(len(fns)) if not (alternate and r % 2) else reversed(range(len(fns)))
        for i in order:
            times[i].append(time_calls(fns[i], number))
    return [float(np.median(t)) for t in times]
