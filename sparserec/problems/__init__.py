"""Problem types: what a solver is asked to solve.

Three problem types share one protocol with the solver loop
(:class:`~.base.SparseProblem`) and one sparsity vocabulary
(:class:`~.sparsity.Sparsity`):

* :class:`Problem` — least squares ``min ½‖Ax − y‖²`` with dense, sparse or
  matrix-free ``A`` and one or many right-hand sides (a k per column);
* :class:`ObjectiveProblem` — a smooth :class:`Objective` (sparse logistic
  regression, a quadratic in Gram form);
* :class:`LayerProblem` — one trained layer's reconstruction loss, its
  Gram matrix ``2X̃ᵀX̃/N`` shared by every output;
* :class:`NetworkLossProblem` — a whole ReLU MLP's loss (:class:`NetworkLoss`)
  under one network-wide budget, with the row factors of its empirical Fisher
  and Gauss–Newton curvatures (:class:`KroneckerRows`; :mod:`.rows`); the MLP
  arithmetic itself is :mod:`.mlp`.
"""
from .base import SparseProblem
from .layer import ACTIVATIONS, GramAccumulator, LayerProblem, layer_gram
from .least_squares import Problem, check_k, restricted_lstsq
from .network import HESSIAN_MAX, KroneckerRows, NetworkLoss, NetworkLossProblem
from .objective import (GramProblem, LogisticRegression, Objective, ObjectiveProblem,
                        Quadratic)
from .rows import ArrayRows, RowFactor
from .sparsity import ALLOCATIONS, Sparsity, n_pruned, parse_sparsity

__all__ = ["SparseProblem", "Problem", "restricted_lstsq", "check_k", "Objective",
           "LogisticRegression", "Quadratic", "ObjectiveProblem", "GramProblem",
           "LayerProblem", "GramAccumulator", "layer_gram", "ACTIVATIONS", "Sparsity",
           "parse_sparsity", "n_pruned", "ALLOCATIONS", "NetworkLoss", "NetworkLossProblem",
           "KroneckerRows", "RowFactor", "ArrayRows", "HESSIAN_MAX"]
