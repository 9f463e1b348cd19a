"""Solvers behind one contract, found by name.

>>> from sparserec import solvers
>>> "iht" in solvers.available()
True
"""
from .base import Result, Solver, available, get, register, solver_class

# Importing a module registers its solvers (one module per family).
from . import iht, htp, cosamp, subspace_pursuit  # noqa: E402,F401

__all__ = ["Solver", "Result", "get", "available", "register", "solver_class"]
