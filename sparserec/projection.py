"""The one projection abstraction: onto k-sparse vectors, with or without curvature.

Every thresholding-type solver (IHT, HTP, CoSaMP, Subspace Pursuit, the
I-OBS family) ends its iteration by projecting a target ``z`` onto the set of
k-sparse vectors. DESIGN.md splits that projection into two choices:

* a **selection rule**, which picks the kept set ``S`` (``|S| = k``) from the
  target: top-k magnitude (the Euclidean projection), the OBS saliency
  ``z_i² / [Ĥ⁻¹]_ii``, greedy sequential OBS, or exact enumeration;
* a **correction** of the kept values: none (plain hard thresholding), or a
  solve restricted to ``S`` (the OBS correction, which for a quadratic model
  is the least-squares refit on ``S``).

Selection rules are registered in :data:`SELECTIONS` by name. A rule is a
function ``rule(Z, k, curvature) -> idx`` returning kept indices of shape
``(k, T)`` (ascending in each column). Curvature-free rules ignore
``curvature``.
"""
from __future__ import annotations

import numpy as np

from ._validation import check_choice
from .kernels import topk

__all__ = ["Projection", "SELECTIONS", "register_selection", "scatter"]

SELECTIONS = {}


def register_selection(name, *, needs_curvature=False):
    """Register a selection rule under ``name`` (decorator factory).

    Parameters
    ----------
    name : str
        Key of the rule in :data:`SELECTIONS`.
    needs_curvature : bool, default=False
        Whether the rule uses the ``curvature`` argument (stored on the rule
        as its ``needs_curvature`` attribute).

    Returns
    -------
    callable
        A decorator that registers ``rule(Z, k, curvature) -> idx`` and
        returns it unchanged.
    """
    def deco(fn):
        fn.needs_curvature = needs_curvature
        SELECTIONS[name] = fn
        return fn
    return deco


@register_selection("topk")
def _select_topk(Z, k, curvature=None):
    """Top-k magnitude of the target (Euclidean projection); lower index wins ties."""
    return topk(Z, k)


def scatter(values, idx, n):
    """Scatter ``values`` (k, T) into a dense ``(n, T)`` block at rows ``idx`` (k, T).

    Parameters
    ----------
    values : ndarray of shape (k, T)
        Kept values, column by column.
    idx : ndarray of int, shape (k, T)
        Their row indices in the dense block.
    n : int
        Number of rows of the block.

    Returns
    -------
    ndarray of shape (n, T)
        Zeros except ``X[idx[:, t], t] = values[:, t]``; dtype of ``values``.
    """
    T = idx.shape[1]
    X = np.zeros((n, T), dtype=values.dtype)
    X[idx, np.arange(T)[None, :]] = values
    return X


class Projection:
    """Projection of a block of targets onto k-sparse vectors.

    Parameters
    ----------
    selection : str, default="topk"
        Name of a rule in :data:`SELECTIONS`.
    refit : callable or None, default=None
        The correction. ``refit(idx, Z)`` returns the kept values, shape
        ``(k, T)``, for the kept sets ``idx``; None keeps the values of ``Z``
        (plain hard thresholding ``T_k``).

    Examples
    --------
    >>> import numpy as np
    >>> P = Projection("topk")
    >>> X, idx = P(np.array([[0.5], [-3.0], [1.0]]), 1)
    >>> X.ravel().tolist(), idx.ravel().tolist()
    ([0.0, -3.0, 0.0], [1])
    """

    def __init__(self, selection="topk", refit=None):
        check_choice(selection, "selection", "Projection", tuple(SELECTIONS))
        self.selection = selection
        self.refit = refit

    def select(self, Z, k, curvature=None):
        """Select the kept index sets with the configured rule.

        Parameters
        ----------
        Z : ndarray of shape (n, T)
            Targets, one per column.
        k : int
            Number of entries kept per column.
        curvature : Curvature or None, default=None
            Curvature used by the saliency, greedy and exact rules.

        Returns
        -------
        ndarray of int, shape (k, T)
            Kept indices, ascending in each column.
        """
        return SELECTIONS[self.selection](Z, k, curvature)

    def __call__(self, Z, k, curvature=None):
        """Project each column of ``Z`` (n, T); return ``(X, idx)``."""
        idx = self.select(Z, k, curvature)
        if self.refit is None:
            values = np.take_along_axis(Z, idx, axis=0)
        else:
            values = self.refit(idx, Z)
        return scatter(values, idx, Z.shape[0]), idx
