"""Numba kernels, each paired with a plain NumPy twin that serves as its test oracle.

Every kernel here is a module-level ``@njit(cache=True)`` function on arrays.
Its twin (suffix ``_numpy``) computes the same thing with NumPy only and is
what the tests compare against; ``NUMBA_DISABLE_JIT=1`` runs the kernels as
plain Python and must pass the same tests.

* :mod:`.topk` — top-k selection (the one tie rule), per column;
* :mod:`.obs` — OBS saliency, update, inverse downdate, greedy removal (OBC),
  Cholesky rank-one update;
* :mod:`.lobs` — L-OBS's sequential updates with a fixed inverse;
* :mod:`.omp` — one OMP iteration (Cholesky append, refit) for a block of signals;
* :mod:`.homotopy` — the ℓ1 homotopy path to the exact basis-pursuit solution,
  with its optimality certificate;
* :mod:`.swap` — exchange moves on a least-squares support (score every single
  swap, apply one by rank-one updates);
* :mod:`.products` — ``A @ x`` for a row-sparse ``x`` from the kept columns of ``A``.
"""
from .homotopy import certify, l1_homotopy
from .lobs import lobs_sequential
from .obs import chol_update, greedy_obs, obs_downdate, obs_saliency, obs_update
from .products import column_combination
from .swap import add_slot, best_add, best_swap, remove_slot
from .topk import hard_threshold, topk, topk_mask, topk_numba, topk_numpy

__all__ = ["topk", "topk_numba", "topk_numpy", "topk_mask", "hard_threshold", "obs_saliency",
           "obs_update", "obs_downdate", "greedy_obs", "chol_update", "lobs_sequential",
           "l1_homotopy", "certify", "best_swap", "best_add", "remove_slot", "add_slot",
           "column_combination"]
