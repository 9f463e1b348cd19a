r"""Curvature models :math:`\hat H` for second-order steps and OBS projections.

One small interface, :class:`Curvature` (:mod:`.base`), and five models:

=================  =========================================================
:class:`ExactGram`  :math:`A^\top A` of a least-squares problem (dense, or
                    matrix-free through ``A``), a layer's Gram matrix, an
                    objective's Hessian, or a given ``H``
:class:`Damped`     :math:`\hat H + \lambda I`, :math:`\lambda = \text{percdamp}
                    \cdot \text{mean}(\text{diag}\,\hat H)` (OBC/SparseGPT)
:class:`Diagonal`   :math:`\text{diag}(\hat H)` (OBD, Jacobi)
:class:`WoodFisher` :math:`\lambda I + \frac1N\sum_n g_n g_n^\top`, inverse built by
                    the Woodbury recursion, dense or block-diagonal
:class:`Identity`   :math:`I` (I-OBS becomes IHT)
=================  =========================================================

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
"""
from .base import Curvature, RestrictedCholesky, relative_damping, singular_error
from .damped import Damped
from .diagonal import Diagonal
from .exact import DENSE_MAX, ExactGram, fix_dead
from .factory import (CURVATURES, DEFAULT_DAMPING, check_curvature, check_damping,
                      make_curvature)
from .identity import Identity
from .woodfisher import WoodFisher, sample_gradients, woodbury_inverse

__all__ = ["Curvature", "ExactGram", "Damped", "Diagonal", "WoodFisher", "Identity",
           "RestrictedCholesky", "make_curvature", "woodbury_inverse", "relative_damping",
           "singular_error", "fix_dead", "sample_gradients", "check_curvature",
           "check_damping", "CURVATURES", "DEFAULT_DAMPING", "DENSE_MAX"]
