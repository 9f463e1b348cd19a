"""Run every ratio benchmark in this directory and print one table.

Usage::

    python benchmarks/run.py [--json PATH] [--only SUBSTRING]

Convention: each ``benchmarks/bench_*.py`` defines ``BENCHMARKS``, a list of
callables, each returning a list of dicts ``{name, ours_s, ref_s, ratio,
target}`` (see ``bench_core.py``); ``target`` is the ratio to stay at or below (a
number; a string such as ``"<= 3"`` is also read). A module without ``BENCHMARKS`` is run
through a function named after the file (``bench_omp.py`` -> ``bench_omp()``)
or else its ``main()``; a returned dict is converted to a row (``ours``/``ref``
or ``sklearn`` keys are understood). A callable runs once even if several
modules list it: its key is ``callable.bench_key`` if set, else
``module.qualname``.

Exit status is 0 even when a target is missed: the table says so (``MISS``).
"""
from __future__ import annotations

import argparse
import glob
import importlib
import json
import os
import platform
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _key(fn):
    return getattr(fn, "bench_key", f"{fn.__module__}.{fn.__qualname__}")


def _callables(mod, stem):
    if hasattr(mod, "BENCHMARKS"):
        return list(mod.BENCHMARKS)
    for attr in (stem, "main"):
        fn = getattr(mod, attr, None)
        if callable(fn):
            return [fn]
    return []


def _target(t):
    """A target as a float: numbers pass; strings such as "<= 3" are parsed."""
    if t is None or isinstance(t, (int, float)):
        return t
    try:
        return float(str(t).replace("<=", "").strip())
    except ValueError:
        return None


def _rows(out, key):
    """Normalise a benchmark's return value to a list of row dicts."""
    if out is None:
        return []
    if isinstance(out, dict):
        out = [out]
    rows = []
    for d in out:
        ours = d.get("ours_s", d.get("ours"))
        ref = d.get("ref_s", d.get("ref", d.get("sklearn")))
        ratio = d.get("ratio", None if ours is None or not ref else ours / ref)
        rows.append({"name": d.get("name", key), "ours_s": ours, "ref_s": ref,
                     "ratio": ratio, "target": _target(d.get("target"))})
    return rows


def run(only=None):
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    rows, seen = [], set()
    for path in sorted(glob.glob(os.path.join(HERE, "bench_*.py"))):
        stem = os.path.splitext(os.path.basename(path))[0]
        try:
            mod = importlib.import_module(stem)
        except ImportError as exc:
            print(f"{stem}: not available ({exc})")
            continue
        for fn in _callables(mod, stem):
            key = _key(fn)
            if key in seen or (only and only not in key and only not in stem):
                continue
            seen.add(key)
            # a wrapper standing for another module's callable counts as it too
            seen.add(f"{fn.__module__}.{fn.__qualname__}")
            t0 = time.perf_counter()
            new = _rows(fn(), key)
            for row in new:
                row["module"] = stem
                row["wall_s"] = time.perf_counter() - t0
            rows.extend(new)
    return rows


def _fmt_ms(s):
    return "-" if s is None else f"{s * 1e3:10.3f}"


def print_table(rows):
    head = f"{'benchmark':<58s} {'ours ms':>10s} {'ref ms':>10s} {'ratio':>7s} {'target':>8s}  ok"
    print(head)
    print("-" * len(head))
    for r in rows:
        tgt = r["target"]
        ok = "-" if tgt is None or r["ratio"] is None else ("yes" if r["ratio"] <= tgt else "MISS")
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:7.3f}"
        print(f"{r['name'][:58]:<58s} {_fmt_ms(r['ours_s'])} {_fmt_ms(r['ref_s'])} {ratio:>7s} "
              f"{'-' if tgt is None else f'<= {tgt}':>8s}  {ok}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", metavar="PATH", help="also write the rows (and metadata) as JSON")
    ap.add_argument("--only", metavar="SUBSTRING", help="run only benchmarks whose key contains it")
    args = ap.parse_args(argv)
    rows = run(args.only)
    print_table(rows)
    if args.json:
        import numpy as np
        import sparserec
        meta = {"python": platform.python_version(), "numpy": np.__version__,
                "sparserec": sparserec.__version__, "machine": platform.machine(),
                "cpu_count": os.cpu_count(), "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
        with open(args.json, "w") as fh:
            json.dump({"meta": meta, "rows": rows}, fh, indent=2)
    return rows


if __name__ == "__main__":
    main()
