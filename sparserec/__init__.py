"""Sparse recovery with second-order information (the ``sparserec`` package).

IHT and its relatives, and the Optimal Brain Surgeon family of pruning
methods, as one toolkit: every solver is a loop of a *step*, a *curvature*
and a *projection* onto k-sparse vectors, behind one :class:`Solver`
contract (``sparserec.solvers.get(name, **params).solve(problem)``).
"""
__version__ = "0.1.0"

from .problems import LayerProblem, ObjectiveProblem, Problem  # noqa: E402
from . import solvers  # noqa: E402

__all__ = ["Problem", "ObjectiveProblem", "LayerProblem", "solvers", "__version__"]
