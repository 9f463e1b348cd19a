r"""Curvature models :math:`\hat H` for second-order steps and OBS projections.

One small interface, :class:`Curvature` (:mod:`.base`), and these models:

=======================  ===================================================
:class:`ExactGram`        :math:`A^\top A` of a least-squares problem (dense, or
                          matrix-free through ``A``), a layer's Gram matrix, an
                          objective's Hessian, or a given ``H``
:class:`Damped`           :math:`\hat H + \lambda I`, :math:`\lambda = \text{percdamp}
                          \cdot \text{mean}(\text{diag}\,\hat H)` (OBC/SparseGPT)
:class:`Diagonal`         :math:`\text{diag}(\hat H)` (OBD, Jacobi)
:class:`WoodFisher`       :math:`\lambda I + \frac1N\sum_n g_n g_n^\top` (empirical
                          Fisher), inverse by the Woodbury recursion or in sample
                          space, dense or block-diagonal (a network's layers)
:class:`GaussNewton`      :math:`\frac1N\sum_n J_n^\top\Lambda_nJ_n`: the outer-product
                          Hessian of a general loss (cross-entropy), block-diagonal
:class:`DominantEigenspace`  the top-``r`` eigenpairs of a curvature plus ``λI``
:class:`Identity`         :math:`I` (I-OBS becomes IHT)
=======================  ===================================================

The last three are :class:`BlockLowRank` curvatures: block-diagonal
:math:`\lambda I + \frac1N U_b^\top U_b` from a row factor
(:class:`~sparserec.problems.RowFactor`), exact in sample space, so that a
whole network's curvature is never formed.

:func:`make_curvature` builds a fitted one from a name, a problem and a
relative ``damping`` (default :data:`DEFAULT_DAMPING` in every solver).

References
----------
.. [1] D. Wu, I.-V. Modoranu, M. Safaryan, D. Kuznedelev and D. Alistarh,
   "The Iterative Optimal Brain Surgeon: faster sparse recovery by leveraging
   second-order information", NeurIPS 2024.
.. [2] B. Hassibi and D. G. Stork, "Second order derivatives for network
   pruning: Optimal Brain Surgeon", NeurIPS 1993.
.. [3] S. P. Singh and D. Alistarh, "WoodFisher: efficient second-order
   approximation for neural network compression", NeurIPS 2020.
.. [4] E. Frantar, S. P. Singh and D. Alistarh, "Optimal Brain Compression",
   NeurIPS 2022.
.. [5] Y. LeCun, J. S. Denker and S. A. Solla, "Optimal Brain Damage",
   NeurIPS 1989.
.. [6] B. Hassibi, D. G. Stork and G. J. Wolff, "Optimal Brain Surgeon and
   general network pruning", IEEE ICNN 1993.
"""
from .base import Curvature, RestrictedCholesky, relative_damping, singular_error
from .damped import Damped
from .diagonal import Diagonal
from .eigenspace import DominantEigenspace
from .exact import DENSE_MAX, ExactGram, fix_dead
from .factory import (CURVATURES, DEFAULT_DAMPING, check_curvature, check_damping,
                      make_curvature)
from .gauss_newton import GaussNewton, gauss_newton_rows
from .identity import Identity
from .lowrank import DENSE_BLOCK_MAX, BlockLowRank, ProjectedRows, block_bounds
from .woodfisher import WoodFisher, hessian_scale, sample_gradients, woodbury_inverse

__all__ = ["Curvature", "ExactGram", "Damped", "Diagonal", "WoodFisher", "Identity",
           "RestrictedCholesky", "make_curvature", "woodbury_inverse", "relative_damping",
           "singular_error", "fix_dead", "sample_gradients", "check_curvature",
           "check_damping", "CURVATURES", "DEFAULT_DAMPING", "DENSE_MAX", "GaussNewton",
           "DominantEigenspace", "BlockLowRank", "ProjectedRows", "block_bounds",
           "gauss_newton_rows", "hessian_scale", "DENSE_BLOCK_MAX"]
