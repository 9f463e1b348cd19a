"""The one projection: selection rules, masks and corrections.

:class:`Projection` (:mod:`.base`) = a selection rule (:mod:`.rules`) + a
correction (:mod:`.correction`), under any sparsity constraint through the
masks of :mod:`.masks`.
"""
from .base import OPTIONS, Projection
from .correction import CORRECTIONS, obs_correction
from .masks import (check_nm_mask, keep_counts, keep_mask, mask_values, merged_supports,
                    nm_mask, prune_smallest)
from .rules import EXACT_MAX_N, SELECTIONS, Selection, register_selection, sparsegpt_sweep

__all__ = ["Projection", "OPTIONS", "SELECTIONS", "CORRECTIONS", "Selection",
           "register_selection", "obs_correction", "keep_mask", "keep_counts", "prune_smallest",
           "nm_mask", "check_nm_mask", "mask_values", "merged_supports", "sparsegpt_sweep",
           "EXACT_MAX_N"]
