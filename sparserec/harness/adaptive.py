"""Adaptive ρ sampling: spend the trials where success is neither 0 nor 1.

GAGA (Blanchard & Tanner) located each transition by bisection with a few
trials per probe and then spent its trials only inside it. Here, for every
solver and every column (the cells that differ only in ``rho``):

1. **Probes.** Two bisections over the sorted ρ values of the column, run
   side by side with ``probe_trials`` trials per probe (trials
   ``0 … probe_trials−1``): one for the last ρ whose success is at least
   ``band[1]`` (95 %), one for the first ρ whose success is at most
   ``band[0]`` (5 %). Success is assumed to decrease in ρ; each round
   probes the midpoints of both brackets (so about ``2·log₂(#ρ)`` probes).
2. **Band.** Every ρ from the last ≥ 95 % cell to the first ≤ 5 % cell
   (the band and one cell on each side) gets the full ``trials``; the probe
   trials it already has are reused.

Cells outside the band are not computed. Every round is a list of ordinary
tasks (stored, resumed and run on any backend like any sweep's), and the
decisions depend only on stored rows, so a rerun replays the same rounds
from the store. Rows carry ``adaptive_phase`` (``"probe"`` or ``"band"``),
and the metadata lists the computed ρ values of every solver and column.
"""
from __future__ import annotations

import numpy as np

from .seeds import COLUMN_AXIS, column_of

__all__ = ["Bisection", "columns", "run_adaptive"]


class Bisection:
    """The two brackets of one (solver, column) over ``N`` sorted ρ values.

    Parameters
    ----------
    N : int
        Number of ρ values.
    low, high : float
        Success rates that count as "failed" (``<= low``) and "succeeded"
        (``>= high``).

    Attributes
    ----------
    rates : dict of int to float
        Success rate of every probed index.
    """

    def __init__(self, N, low=0.05, high=0.95):
        self.N, self.low, self.high = int(N), float(low), float(high)
        self.lo1, self.hi1 = -1, self.N      # last index >= high lies in [lo1, hi1)
        self.lo2, self.hi2 = -1, self.N      # first index <= low lies in (lo2, hi2]
        self.rates = {}

    def update(self, i, rate):
        """Record the success rate of probe ``i`` and narrow both brackets.

        Parameters
        ----------
        i : int
            Index of the probed ρ.
        rate : float
            Its success rate over the probe trials.
        """
        self.rates[i] = float(rate)
        if rate >= self.high:
            if self.lo1 < i < self.hi1:
                self.lo1 = i
        elif self.lo1 < i < self.hi1:
            self.hi1 = i
        if rate <= self.low:
            if self.lo2 < i < self.hi2:
                self.hi2 = i
        elif self.lo2 < i < self.hi2:
            self.lo2 = i

    def next_probes(self):
        """Indices to probe next (the brackets' midpoints not probed yet).

        Returns
        -------
        list of int
            Empty when both brackets are resolved.
        """
        out = set()
        if self.hi1 - self.lo1 > 1:
            out.add((self.lo1 + self.hi1) // 2)
        if self.hi2 - self.lo2 > 1:
            out.add((self.lo2 + self.hi2) // 2)
        return sorted(out - set(self.rates))

    def band(self):
        """Indices that get the full trials: the band and one cell on each side.

        Returns
        -------
        range
            From the last index with success ``>= high`` (or 0) to the first
            with success ``<= low`` (or ``N − 1``).
        """
        start = max(self.lo1, 0)
        stop = min(self.hi2, self.N - 1)
        return range(start, max(stop, start) + 1)


def columns(cells):
    """Group cells into columns: ``[(column coords, sorted ρ values)]`` in grid order.

    Parameters
    ----------
    cells : list of dict
        Cell coordinates, each with a ``rho``.

    Returns
    -------
    list of tuple (dict, list of float)
        The coordinates shared by the column (without ``rho``) and its ρ values.

    Raises
    ------
    ValueError
        If a cell has no ``rho``.
    """
    out = {}
    for c in cells:
        if COLUMN_AXIS not in c:
            raise ValueError("adaptive sampling needs a 'rho' coordinate; the grid has none.")
        key = tuple(sorted((k, repr(v)) for k, v in column_of(c).items()))
        out.setdefault(key, ({k: v for k, v in c.items() if k != COLUMN_AXIS}, set()))
        out[key][1].add(c[COLUMN_AXIS])
    return [(base, sorted(rhos)) for base, rhos in out.values()]


def _unit_tasks(sweep, spec, base, rhos, trials):
    """Tasks computing the cells ``base × rhos`` on ``trials`` (one per column in common mode)."""
    if not rhos or not trials:
        return []
    if sweep.mode == "common":
        units = [{**base, COLUMN_AXIS: tuple(rhos)}]
    else:
        units = [{**base, COLUMN_AXIS: rho} for rho in rhos]
    return [sweep.task(spec, u, block) for u in units for block in sweep.blocks(trials)]


def run_adaptive(sweep, run_tasks):
    """Run a sweep's adaptive rounds; return the rows and what was computed.

    Parameters
    ----------
    sweep : Sweep
        With ``adaptive=True`` (its ``probe_trials`` and ``band``).
    run_tasks : callable
        ``run_tasks(tasks) -> dict key -> DataFrame``: computes (or reads from
        the store) the rows of every task.

    Returns
    -------
    frames : list of DataFrame
        The rows of every task, ``adaptive_phase`` set.
    info : dict
        ``probe_trials``, ``rounds`` and ``computed`` (solver → column →
        computed ρ values) for the metadata.
    """
    p = min(int(sweep.probe_trials), int(sweep.trials))
    probe = tuple(range(p))
    cols = columns(sweep.cells())
    low, high = sweep.band
    search = {(s, c): Bisection(len(rhos), low, high)
              for s in sweep.solvers for c, (_, rhos) in enumerate(cols)}
    frames, rounds = [], 0
    while True:
        wanted = {key: b.next_probes() for key, b in search.items()}
        wanted = {key: idx for key, idx in wanted.items() if idx}
        if not wanted:
            break
        rounds += 1
        owners = []
        for (spec, c), idx in wanted.items():
            base, rhos = cols[c]
            for task in _unit_tasks(sweep, spec, base, [rhos[i] for i in idx], probe):
                owners.append(((spec, c), task))
        done = run_tasks([task for _, task in owners])
        for (spec, c), task in owners:
            df = done[task.key].assign(adaptive_phase="probe")
            frames.append(df)
            rhos = cols[c][1]
            ok = df["success"].astype(bool) & (df["status"] != "error")
            for rho, rate in ok.groupby(df[COLUMN_AXIS]).mean().items():
                search[(spec, c)].update(_index(rhos, rho), rate)
    band_tasks = []
    computed = {}
    for (spec, c), b in search.items():
        base, rhos = cols[c]
        band = [rhos[i] for i in b.band()]
        fresh = [rhos[i] for i in b.band() if i not in b.rates]
        band_tasks += _unit_tasks(sweep, spec, base, band, range(p, sweep.trials))
        band_tasks += _unit_tasks(sweep, spec, base, fresh, probe)
        probed = [rhos[i] for i in sorted(b.rates)]
        computed.setdefault(spec.label, []).append(
            {**{k: _plain(v) for k, v in base.items()},
             "probed": [_plain(r) for r in probed], "band": [_plain(r) for r in band]})
    done = run_tasks(band_tasks)
    frames += [done[t.key].assign(adaptive_phase="band") for t in band_tasks]
    info = {"probe_trials": p, "band": [float(low), float(high)], "rounds": rounds,
            "computed": computed}
    return frames, info


def _index(rhos, rho):
    return int(np.argmin(np.abs(np.asarray(rhos, dtype=float) - float(rho))))


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v
