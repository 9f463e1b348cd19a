r"""Optimal Brain Compression, ExactOBS (Frantar, Singh & Alistarh 2022)."""
from __future__ import annotations

import logging

import numpy as np

from ..curvature import DEFAULT_DAMPING, Damped, ExactGram, fix_dead, make_curvature
from ..problems import LayerProblem
from ..projection import Projection
from ._oneshot import OneShotPruner, check_engine
from .base import register

__all__ = ["OBC"]

logger = logging.getLogger(__name__)


@register
class OBC(OneShotPruner):
    r"""Optimal Brain Compression (ExactOBS): greedy OBS per output with exact downdates.

    Parameters
    ----------
    damping : float or None, default=0.01
        Relative damping ``λ = damping·mean(diag H)`` (the OBC reference's
        ``rel_damp``, whose own default is 0). None (or 0) is undamped, with
        the reference's fallback: when the Cholesky factorisation of ``H``
        fails, ``H + 1·I`` is used (and a warning is logged).
    engine : {"numba", "numpy"}, default="numba"
        Engine of the shared greedy kernel :func:`sparserec.kernels.greedy_obs`.

    Notes
    -----
    For every output ``j`` (a row in the reference's layout), repeatedly

    .. math:: q^\star = \arg\min_q \frac{w_q^2}{[\hat H^{-1}]_{qq}},\quad
              w \leftarrow w - \frac{w_{q^\star}}{[\hat H^{-1}]_{q^\star q^\star}}
              \hat H^{-1}_{:,q^\star},\quad
              \hat H^{-1} \leftarrow \hat H^{-1} - \frac{\hat H^{-1}_{:,q^\star}
              \hat H^{-1}_{q^\star,:}}{[\hat H^{-1}]_{q^\star q^\star}} ,

    the ``"greedy"`` selection with its own (OBS-corrected) values. A
    layer-global fraction follows OBC's ``prune_blocked``: one full pass
    records every output's trace of loss increments; all ``n·T`` increments
    are sorted and the smallest ``⌊s·n·T + ½⌋`` are pruned, so output ``j``
    prunes ``k_j`` weights (its count among them); a second pass with
    per-output counts produces the weights (the traces are cached on the
    problem, so sweeping sparsities costs one pass each). This assumes each
    output's increments are non-decreasing, as OBC does. N:M (OBC's
    ``nmprune``) blocks a group of M consecutive inputs once it has N zeros.

    Curvature convention (the reference's ``TrueOBS.prepare``): ``H`` is
    damped first, then inputs whose diagonal is still 0 ("dead") get
    ``H_jj = 1``; SparseGPT fixes dead inputs *before* damping, so with dead
    inputs the two damp by different ``λ``. Unlike the reference, a damped
    OBC also zeroes dead inputs' weights first (they never affect the loss).

    References
    ----------
    .. [1] E. Frantar, S. P. Singh, D. Alistarh, "Optimal Brain Compression: a
       framework for accurate post-training quantization and pruning", NeurIPS 2022.
    .. [2] B. Hassibi, D. G. Stork, "Second order derivatives for network
       pruning: Optimal Brain Surgeon", NeurIPS 1993.
    """

    name = "obc"
    curvature = "exact"

    def __init__(self, *, damping=DEFAULT_DAMPING, engine="numba"):
        self.damping = damping
        self.engine = engine

    def _validate_params(self, problem):
        super()._validate_params(problem)
        check_engine(self.engine, "OBC")

    def projection(self):
        return Projection("greedy", "rule", engine=self.engine)

    def make_curvature(self, problem, X=None):
        if not isinstance(problem, LayerProblem):
            return make_curvature("exact", problem, self.damping or None, owner="OBC")
        H = problem.H
        if self.damping:   # damp first, then fix what is still dead (nothing, when λ > 0)
            return Damped(ExactGram(H=H), self.damping)
        curv = ExactGram(H=fix_dead(H))
        try:
            curv.check_invertible()
        except ValueError:
            logger.warning("OBC: the Gram matrix of %r is singular; adding 1·I as the OBC "
                           "reference does (pass damping > 0 to avoid this).", problem)
            curv = ExactGram(H=fix_dead(H) + np.eye(problem.n))
        return curv
