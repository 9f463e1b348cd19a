r"""SparseGPT (Frantar & Alistarh 2023)."""
from __future__ import annotations

from .._validation import check_int, param_error
from ..curvature import DEFAULT_DAMPING
from ..projection import Projection
from ._oneshot import OneShotPruner
from .base import register

__all__ = ["SparseGPT"]


@register
class SparseGPT(OneShotPruner):
    r"""SparseGPT: one Cholesky factor of ``Ĥ⁻¹``, blocked column sweep, adaptive masks.

    Parameters
    ----------
    blocksize : int, default=128
        Inputs per block; the mask of a block is chosen from the
        already-updated weights at its start. Must be a multiple of M for N:M.
    damping : float or None, default=0.01
        Relative damping (the reference's ``percdamp``), applied after dead
        inputs (``H_jj = 0``) get ``H_jj = 1``, as in the reference.
    curvature : str or Curvature, default="exact"
        The curvature (a layer's Gram matrix by default).

    Notes
    -----
    Let :math:`\hat H^{-1} = U^\top U` (``U`` upper triangular). Row ``j``
    of ``U`` is row ``j`` of :math:`(\hat H_{F_j})^{-1}`, ``F_j = {j, …, n−1}``,
    divided by :math:`\sqrt{[(\hat H_{F_j})^{-1}]_{jj}}`, so one factorisation
    gives every OBS downdate of the left-to-right order. For input ``j``, with
    ``q`` its masked value,

    .. math:: e = (w_j - q)/U_{jj},\qquad W_{j:,\,\cdot} \mathrel{-}= U_{j,j:}^\top e^\top,
              \qquad \Delta L = (w_j - q)^2 / (2U_{jj}^2),

    with the updates of later blocks applied lazily, once per block (the
    ``"sparsegpt"`` selection with its own values). The mask of a block
    prunes the lowest :math:`w^2/U_{jj}^2` over all outputs × block inputs
    (layer-global, the reference) or per output (uniform, or a k per column
    spread over the blocks in proportion); N:M prunes the N lowest of each
    group of M per output. Counts are exact: block ``[i₁, i₂)`` prunes
    ``⌊s·T·i₂+½⌋ − ⌊s·T·i₁+½⌋`` (the reference prunes
    ``score ≤ sorted[⌊p·numel⌋]``, one more plus ties).

    References
    ----------
    .. [1] E. Frantar, D. Alistarh, "SparseGPT: massive language models can be
       accurately pruned in one-shot", ICML 2023.
    """

    name = "sparsegpt"

    def __init__(self, *, blocksize=128, damping=DEFAULT_DAMPING, curvature="exact"):
        self.blocksize = blocksize
        self.damping = damping
        self.curvature = curvature

    def _validate_params(self, problem):
        super()._validate_params(problem)
        check_int(self.blocksize, "blocksize", "SparseGPT", low=1)
        nm = problem.sparsity.nm
        if nm is not None and self.blocksize % nm[1]:
            raise param_error("blocksize", "SparseGPT",
                              f"a multiple of M={nm[1]} for the N:M pattern "
                              f"{problem.sparsity.describe()}", self.blocksize)

    def projection(self):
        return Projection("sparsegpt", "rule", blocksize=int(self.blocksize))
