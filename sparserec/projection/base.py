"""The one projection abstraction: a selection rule, then a correction.

Every thresholding-type solver (IHT, HTP, the I-OBS family) and every
one-shot pruner (magnitude, OBD, OBS, WoodFisher, OBC, SparseGPT, L-OBS)
ends its step by projecting a target block ``Z`` onto the set allowed by the
problem's :class:`~sparserec.problems.Sparsity` (DESIGN.md):

* a **selection rule** (:mod:`.rules`) picks the kept set: top-k magnitude,
  OBS saliency, greedy sequential OBS, exact enumeration, or SparseGPT's
  blocked sweep;
* a **correction** (:mod:`.correction`) sets the kept values: none, the OBS
  correction (a restricted solve on the kept set), WoodFisher's summed
  updates, L-OBS's sequential fixed-inverse updates, or the values a fused
  rule computed itself.

The same projection serves a least-squares problem's k per column, a layer's
global or uniform fraction and an N:M pattern, so that e.g. I-OBS with
``"2:4"`` on a :class:`~sparserec.problems.LayerProblem` is the same code as
OBC's N:M pruning.
"""
from __future__ import annotations


from .._validation import check_choice, param_error
from .correction import CORRECTIONS
from .rules import SELECTIONS

__all__ = ["Projection", "OPTIONS"]

#: Options a projection passes to its rule and correction, with their meaning.
OPTIONS = {"blocksize": "SparseGPT's block size (selection 'sparsegpt')",
           "engine": "'numba' or 'numpy' kernels (selection 'greedy', correction 'lobs')"}


class Projection:
    """Projection of a block of targets onto a sparsity constraint.

    Parameters
    ----------
    selection : str, default="topk"
        Name of a rule in :data:`~.rules.SELECTIONS`.
    correction : str, callable or None, default=None
        ``"none"``, ``"obs"``, ``"sum"``, ``"lobs"``, ``"rule"`` (the values a
        fused rule computed: greedy's sequential OBS, SparseGPT's sweep), or a
        callable ``fn(mask) -> X`` (n, T) for a solver's own refit. None means
        ``"rule"`` for fused rules and ``"none"`` otherwise.
    **options
        Options of the rule and correction (see :data:`OPTIONS`).

    Examples
    --------
    >>> import numpy as np
    >>> from sparserec.problems import Sparsity
    >>> P = Projection("topk")
    >>> X, mask = P(np.array([[0.5], [-3.0], [1.0]]), Sparsity.per_column(1, 3, 1))
    >>> X.ravel().tolist(), mask.ravel().tolist()
    ([0.0, -3.0, 0.0], [False, True, False])
    """

    def __init__(self, selection="topk", correction=None, **options):
        check_choice(selection, "selection", "Projection", tuple(SELECTIONS))
        self.selection = selection
        rule = SELECTIONS[selection]
        if correction is None:
            correction = "rule" if rule.fused else "none"
        if not callable(correction):
            check_choice(correction, "correction", "Projection", (*CORRECTIONS, "rule"))
            if correction == "rule" and not rule.fused:
                raise param_error("correction", "Projection",
                                  f"not 'rule' for the selection {selection!r}, which computes "
                                  "no values of its own", correction)
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise TypeError(f"Unknown option {unknown[0]!r} of Projection; valid options are: "
                            + ", ".join(OPTIONS) + ".")
        self.correction = correction
        self.options = options

    @property
    def needs_curvature(self):
        """Whether the rule or the correction uses a curvature."""
        return SELECTIONS[self.selection].needs_curvature or self.correction in ("obs", "sum",
                                                                                 "lobs")

    def select(self, Z, sparsity, curvature=None, *, cache=None):
        """Run the selection rule only.

        Parameters
        ----------
        Z : ndarray of shape (n, T)
            Targets, one per column.
        sparsity : Sparsity
            The constraint.
        curvature : Curvature or None, default=None
            Used by the curvature-aware rules.
        cache : callable or None, default=None
            Memoiser for the greedy rule's traces (see
            :func:`~.rules.select_greedy`).

        Returns
        -------
        Selection
            The kept mask (and the rule's values and scores, when it has them).
        """
        return SELECTIONS[self.selection](Z, sparsity, curvature, trace_cache=cache,
                                          **self.options)

    def __call__(self, Z, sparsity, curvature=None, *, b=None, correction_curvature=None,
                 keys=None, cache=None, fallback=None):
        """Project each column of ``Z`` (n, T); return ``(X, mask)``.

        Parameters
        ----------
        Z : ndarray of shape (n, T)
            Targets.
        sparsity : Sparsity
            The constraint.
        curvature : Curvature or None
            Curvature of the selection (and of the correction by default).
        b : ndarray of shape (n, T), optional
            Linear term ``Ĥx − ηg`` of the ``"obs"`` correction (default ``ĤZ``).
        correction_curvature : Curvature, optional
            Another curvature for the correction (I-OBS corrects with the
            undamped ``Ĥ_SS``).
        keys : sequence of hashable, optional
            Restricted-factor cache slots of the columns (``"obs"``).
        fallback : tuple (Curvature, ndarray), optional
            Curvature and linear term of the ``"obs"`` correction for columns
            whose ``Ĥ_SS`` is singular under the correction curvature.
        cache : callable, optional
            Memoiser for the greedy rule's traces.

        Returns
        -------
        X : ndarray of shape (n, T)
            The projection (zero off the mask).
        mask : ndarray of bool, shape (n, T)
            Kept entries.
        """
        sel = self.select(Z, sparsity, curvature, cache=cache)
        corr = self.correction
        if callable(corr):
            return corr(sel.mask), sel.mask
        if corr == "rule" or (corr == "obs" and sel.values is not None and b is None
                              and correction_curvature is None
                              and self.selection == "greedy"):
            return sel.values, sel.mask   # greedy's sequential OBS is the OBS correction
        fn = CORRECTIONS[corr]
        X = fn(Z, sel.mask, correction_curvature or curvature, b=b, keys=keys,
               fallback=fallback, scores=sel.scores, **self.options)
        return X, sel.mask

    def __repr__(self):
        opts = "".join(f", {k}={v!r}" for k, v in self.options.items())
        return f"Projection({self.selection!r}, correction={self.correction!r}{opts})"
