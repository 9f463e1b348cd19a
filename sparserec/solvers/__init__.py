"""Solvers behind one contract, found by name.

Every module in this package is imported on first use of the package, and
the ``@register`` decorator on each solver class adds it to the registry:
adding a solver means adding one module (plus its tests).

>>> from sparserec import solvers
>>> "iht" in solvers.available()
True
"""
import importlib
import pkgutil

from ._oneshot import OneShotPruner
from ._result import REASONS, STATUSES, Result
from .base import Solver, available, get, register, solver_class

for _mod in pkgutil.iter_modules(__path__):
    if not _mod.name.startswith("_") and _mod.name != "base":
        importlib.import_module(f"{__name__}.{_mod.name}")

__all__ = ["Solver", "Result", "OneShotPruner", "get", "available", "register", "solver_class",
           "STATUSES", "REASONS"]
