r"""Layer-wise pruning problems: one trained linear layer and its calibration inputs.

A trained layer with inputs ``X`` (samples × d_in) and dense weights ``W``
(d_in × d_out) is pruned by solving

.. math::  \min_{\hat W} \tfrac12 \|X\hat W - XW\|_F^2
           \quad\text{s.t.}\quad \hat W \text{ obeys a sparsity pattern.}

Column ``j`` of ``Ŵ`` (output unit ``j``) is a sparse-recovery problem with
``A = X`` and ``y = X w_j``; the curvature ``H = XᵀX`` is shared by every
column. This module holds the problem type (:class:`LayerProblem`), a
streaming Gram accumulator (:class:`GramAccumulator`), the sparsity specs
(fraction, ``"N:M"``, or None for Net-Trim) and the small selection helpers
every pruner shares (exact counts, one tie rule, N:M masks).

Notes
-----
Conventions shared by every pruner:

* **Layout.** sparserec's ``W`` is d_in × d_out (rows = inputs, columns =
  outputs). The reference codes (OBC, SparseGPT) use PyTorch's d_out × d_in.
* **Scaling of H.** ``H = XᵀX`` summed over samples, in float64 (no 2/n
  factor). Masks and updates are scale-free because damping is relative.
* **Dead inputs.** Inputs with ``H_jj = 0`` get ``Ĥ_jj = 1`` and their weight
  row is zeroed *before* damping (SparseGPT's order).
* **Damping.** ``Ĥ = H + λI`` with ``λ = percdamp · mean(diag H)``.
* **Bias.** ``fold_bias=True`` appends a ones column to ``X`` and the bias as
  the last row of ``W`` (L-OBS and Net-Trim); the bias is then pruned like any
  weight and densities count it. ``fold_bias=False`` leaves it untouched
  (OBC, SparseGPT).
* **N:M.** ``"N:M"`` means **N zeros in every group of M consecutive inputs**
  (OBC's ``nmprune(n, m)`` and SparseGPT's ``prunen``/``prunem``). For the
  common 2:4 pattern this coincides with NVIDIA's "2 nonzeros out of 4".
* **Counts and ties.** A fraction ``s`` prunes ``⌊s·count + ½⌋`` entries of
  the pool it applies to (a row for ``allocation="uniform"``, the whole layer
  for ``"global"``). Among equal scores the lower index is kept (the rule of
  :func:`sparserec.kernels.topk`).
"""
from __future__ import annotations

import numbers

import numpy as np
import scipy.linalg as sla

from .._validation import as_real_array, check_choice, check_real, param_error

__all__ = ["LayerProblem", "GramAccumulator", "parse_sparsity", "n_pruned",
           "prune_smallest", "nm_mask", "check_nm_mask", "ACTIVATIONS"]

ACTIVATIONS = ("linear", "relu", "tanh", "sigmoid")
ALLOCATIONS = ("global", "uniform")


# --------------------------------------------------------------------------- specs
def parse_sparsity(sparsity, owner="LayerProblem"):
    """Parse a sparsity spec.

    Parameters
    ----------
    sparsity : float in [0, 1), str "N:M", or None
        Fraction of weights to prune, an N:M pattern (N zeros per group of M
        consecutive inputs, ``1 <= N < M``), or None (no target: Net-Trim).
    owner : str, default="LayerProblem"
        Name used in error messages.

    Returns
    -------
    kind : {"fraction", "nm", None}
        The kind of spec (None for ``sparsity=None``).
    fraction : float or None
        Fraction pruned (``N/M`` for an N:M pattern).
    nm : tuple (N, M) or None
        The N:M pattern, or None for the other kinds.

    Examples
    --------
    >>> parse_sparsity("2:4")
    ('nm', 0.5, (2, 4))
    >>> parse_sparsity(0.9)
    ('fraction', 0.9, None)
    """
    if sparsity is None:
        return None, None, None
    if isinstance(sparsity, str):
        parts = sparsity.split(":")
        ok = len(parts) == 2 and all(p.strip().isdigit() for p in parts)
        if ok:
            N, M = int(parts[0]), int(parts[1])
            ok = 1 <= N < M
        if not ok:
            raise param_error("sparsity", owner, "a float in [0, 1), None, or a string "
                              "'N:M' with integers 1 <= N < M (N zeros per group of M)",
                              sparsity)
        return "nm", N / M, (N, M)
    if isinstance(sparsity, (bool, np.bool_)) or not isinstance(sparsity, numbers.Real):
        raise param_error("sparsity", owner, "a float in [0, 1), None, or a string 'N:M'",
                          sparsity, TypeError)
    s = float(sparsity)
    if not (np.isfinite(s) and 0.0 <= s < 1.0):
        raise param_error("sparsity", owner, "a float in [0, 1), None, or a string 'N:M'",
                          sparsity)
    return "fraction", s, None


def n_pruned(count, fraction):
    """Number of entries pruned from a pool of ``count``: ``⌊fraction·count + ½⌋``.

    Parameters
    ----------
    count : int
        Size of the pool.
    fraction : float
        Fraction pruned, in [0, 1].

    Returns
    -------
    int
        The rounded count (half rounds up).
    """
    return int(np.floor(fraction * count + 0.5))


def prune_smallest(scores, n_prune, axis=None):
    """Boolean mask of the ``n_prune`` smallest scores (True = pruned).

    Ties are broken by keeping the lower index (a stable descending sort,
    the :func:`sparserec.kernels.topk` rule). ``axis=None`` ranks the
    flattened array (C order); an int ranks each slice along that axis, with
    ``n_prune`` entries pruned per slice.

    Parameters
    ----------
    scores : array_like
        Importance of each entry (lowest pruned first).
    n_prune : int
        Entries pruned (in total, or per slice when ``axis`` is an int).
    axis : int or None, default=None
        Rank the flattened array (None) or each slice along ``axis``.

    Returns
    -------
    mask : ndarray of bool, same shape as ``scores``
        True where the entry is pruned.
    """
    scores = np.asarray(scores)
    if axis is None:
        flat = scores.ravel()
        order = np.argsort(-flat, kind="stable")
        mask = np.zeros(flat.size, dtype=bool)
        if n_prune > 0:
            mask[order[flat.size - n_prune:]] = True
        return mask.reshape(scores.shape)
    moved = np.moveaxis(scores, axis, -1)
    order = np.argsort(-moved, axis=-1, kind="stable")
    mask = np.zeros(moved.shape, dtype=bool)
    if n_prune > 0:
        np.put_along_axis(mask, order[..., moved.shape[-1] - n_prune:], True, axis=-1)
    return np.moveaxis(mask, -1, axis)


def nm_mask(scores, N, M):
    """N:M mask along axis 0: in every group of M consecutive rows, prune the N smallest.

    Parameters
    ----------
    scores : ndarray of shape (n, T), n divisible by M
        Importance of each entry (lowest pruned first; ties keep the lower index).
    N, M : int
        N entries pruned in every group of M consecutive rows.

    Returns
    -------
    mask : ndarray of bool, shape (n, T)
        True = pruned.
    """
    n, T = scores.shape
    grouped = scores.reshape(n // M, M, T)
    return prune_smallest(grouped, N, axis=1).reshape(n, T)


def check_nm_mask(mask, N, M):
    """True when every group of M consecutive rows of ``mask`` (n, T) has exactly N True.

    Parameters
    ----------
    mask : ndarray of bool, shape (n, T)
        Pruned mask (True = pruned).
    N, M : int
        The pattern: N pruned in every group of M consecutive rows.

    Returns
    -------
    bool
        Whether the mask obeys the pattern (False when ``n`` is not divisible by M).
    """
    n, T = mask.shape
    if n % M:
        return False
    return bool(np.all(mask.reshape(n // M, M, T).sum(axis=1) == N))


# --------------------------------------------------------------------------- gram
class GramAccumulator:
    """Stream calibration inputs into the Gram matrix ``H = XᵀX`` (float64).

    Parameters
    ----------
    d_in : int
        Number of layer inputs.
    fold_bias : bool, default=False
        Append a ones column to every batch (the Gram matrix then has size
        ``d_in + 1``; use the same value when building the problem).

    Examples
    --------
    >>> import numpy as np
    >>> acc = GramAccumulator(3)
    >>> for batch in np.array_split(np.arange(12.0).reshape(4, 3), 2):
    ...     _ = acc.add_batch(batch)
    >>> acc.n_samples, acc.H.shape
    (4, (3, 3))
    """

    def __init__(self, d_in, *, fold_bias=False):
        self.d_in = int(d_in)
        self.fold_bias = bool(fold_bias)
        n = self.d_in + self.fold_bias
        self.H = np.zeros((n, n), dtype=np.float64)
        self.n_samples = 0

    def add_batch(self, X):
        """Add ``XᵀX`` of one batch (samples × d_in) to ``H``.

        Parameters
        ----------
        X : ndarray of shape (n_samples, d_in)
            One batch of layer inputs.

        Returns
        -------
        GramAccumulator
            ``self`` (for chaining).
        """
        X = as_real_array(X, "X", "GramAccumulator.add_batch", ndim=(2,), dtype=np.float64)
        if X.shape[1] != self.d_in:
            raise ValueError(f"The 'X' argument of GramAccumulator.add_batch must have "
                             f"{self.d_in} columns; got shape {X.shape}.")
        if self.fold_bias:
            X = np.hstack([X, np.ones((X.shape[0], 1))])
        self.H += X.T @ X
        self.n_samples += X.shape[0]
        return self

    def problem(self, W, sparsity, **options):
        """A :class:`LayerProblem` in Gram form built from the accumulated ``H``.

        Parameters
        ----------
        W : ndarray of shape (d_in, d_out)
            Dense trained weights.
        sparsity : float, str "N:M", or None
            As in :class:`LayerProblem`.
        **options
            Further keywords of :meth:`LayerProblem.from_gram` (``bias``,
            ``activation``, ``allocation``, ``percdamp``).

        Returns
        -------
        LayerProblem
            The problem (``n_samples`` and ``fold_bias`` from the accumulator).
        """
        return LayerProblem.from_gram(self.H, W, sparsity, n_samples=self.n_samples,
                                      fold_bias=self.fold_bias, **options)


def _gram(X, batch_size=4096):
    """``XᵀX`` accumulated in float64 over row batches."""
    n = X.shape[1]
    H = np.zeros((n, n), dtype=np.float64)
    for i in range(0, X.shape[0], batch_size):
        B = np.asarray(X[i:i + batch_size], dtype=np.float64)
        H += B.T @ B
    return H


# --------------------------------------------------------------------------- problem
class LayerProblem:
    r"""Prune one trained linear layer given calibration inputs.

    Parameters
    ----------
    X : ndarray of shape (n_samples, d_in)
        Calibration inputs of the layer.
    W : ndarray of shape (d_in, d_out)
        Dense trained weights (sparserec layout: column ``j`` feeds output ``j``).
    sparsity : float in [0, 1), str "N:M", or None
        Fraction of weights to prune, an N:M pattern (N zeros in every group of
        M consecutive inputs, per output), or None (Net-Trim, whose sparsity
        follows from its tolerance).
    bias : ndarray of shape (d_out,), optional
        The layer bias.
    activation : {"linear", "relu", "tanh", "sigmoid"}, default="linear"
        Activation after the layer. Only Net-Trim uses it (and accepts only
        "relu" and "linear"); OBS-family pruners work on pre-activations.
    fold_bias : bool, default=False
        Fold the bias in as a ones input column (pruned like a weight and
        counted in densities), or leave it alone.
    allocation : {"global", "uniform"}, default="global"
        Spread a fractional sparsity over the whole layer (rows may differ,
        exact layer total), or prune the same number in every output.
    percdamp : float, default=0.01
        Relative damping: ``Ĥ = H + percdamp·mean(diag H)·I``.
    target : ndarray of shape (n_samples, d_out), optional
        Post-activation outputs the pruned layer should reproduce (Net-Trim
        only). Default ``act(XW + b)``; the cascade passes the *dense*
        network's outputs while ``X`` holds the pruned network's inputs.

    Attributes
    ----------
    W : ndarray of shape (n, d_out)
        The pruning target, ``n = d_in + fold_bias`` (bias as the last row when
        folded). Pruners return a block of this shape; see :meth:`split`.
    H : ndarray of shape (n, n)
        The undamped Gram matrix ``X̃ᵀX̃`` (float64).
    n, T : int
        Rows (pruned dimension) and columns (outputs) of ``W``.
    kind, fraction, nm
        The parsed sparsity (see :func:`parse_sparsity`).
    dead : ndarray of bool, shape (n,)
        Inputs with ``H_jj = 0``.

    Notes
    -----
    Each output ``j`` is the sparse-recovery problem ``A = X``,
    ``y = X w_j``, and all share ``H = XᵀX``. The loss of a candidate
    ``Ŵ`` is

    .. math:: L(\hat W) = \tfrac12 \operatorname{tr}\big((\hat W - W)^\top H (\hat W - W)\big)
              = \tfrac12 \|X(\hat W - W)\|_F^2 ,

    and the relative layer error is :math:`\|X(W-\hat W)\|_F / \|XW\|_F`.

    References
    ----------
    .. [1] E. Frantar, S. P. Singh, D. Alistarh, "Optimal Brain Compression: a
       framework for accurate post-training quantization and pruning", NeurIPS 2022.
    .. [2] X. Dong, S. Chen, S. J. Pan, "Learning to prune deep neural networks via
       layer-wise optimal brain surgeon", NeurIPS 2017.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> p = LayerProblem(rng.standard_normal((50, 8)), rng.standard_normal((8, 3)), 0.5)
    >>> p.n, p.T, p.n_prune_per_output()
    (8, 3, 4)
    """

    owner = "LayerProblem"

    def __init__(self, X, W, sparsity, *, bias=None, activation="linear", fold_bias=False,
                 allocation="global", percdamp=0.01, target=None):
        X = as_real_array(X, "X", self.owner, ndim=(2,))
        W = as_real_array(W, "W", self.owner, ndim=(2,))
        if X.shape[1] != W.shape[0]:
            raise ValueError(f"The 'X' and 'W' arguments of LayerProblem do not match: X has "
                             f"{X.shape[1]} columns (inputs) but W has {W.shape[0]} rows; W "
                             "must be d_in × d_out (sparserec layout, the transpose of "
                             "PyTorch's weight).")
        self.X = X
        self._init_common(W, sparsity, bias, activation, fold_bias, allocation, percdamp)
        self.n_samples = X.shape[0]
        if target is not None:
            target = as_real_array(target, "target", self.owner, ndim=(2,))
            if target.shape != (X.shape[0], self.d_out):
                raise ValueError(f"The 'target' argument of LayerProblem must have shape "
                                 f"({X.shape[0]}, {self.d_out}) (samples × outputs); got "
                                 f"{target.shape}.")
        self.target = target
        self.H = _gram(self.Xb)
        self._finish()

    @classmethod
    def from_gram(cls, H, W, sparsity, *, n_samples=None, bias=None, activation="linear",
                  fold_bias=False, allocation="global", percdamp=0.01):
        """A problem from a precomputed Gram matrix (no inputs kept).

        Parameters
        ----------
        H : ndarray of shape (n, n)
            ``X̃ᵀX̃`` with ``n = d_in + fold_bias`` (ones column last when folded),
            e.g. from :class:`GramAccumulator`.
        W : ndarray of shape (d_in, d_out)
            Dense trained weights (as in :class:`LayerProblem`).
        sparsity : float in [0, 1), str "N:M", or None
            As in :class:`LayerProblem`.
        n_samples : int, optional
            Number of samples behind ``H`` (metadata).
        bias : ndarray of shape (d_out,), optional
            The layer bias.
        activation : {"linear", "relu", "tanh", "sigmoid"}, default="linear"
            As in :class:`LayerProblem` (Net-Trim, which needs the inputs,
            refuses Gram-form problems anyway).
        fold_bias : bool, default=False
            Whether ``H`` includes the ones column (bias folded in).
        allocation : {"global", "uniform"}, default="global"
            As in :class:`LayerProblem`.
        percdamp : float, default=0.01
            Relative damping, as in :class:`LayerProblem`.

        Returns
        -------
        LayerProblem
            A problem with ``X = None`` (Gram form).

        Notes
        -----
        Net-Trim needs the inputs themselves and refuses a Gram-form problem.
        """
        new = object.__new__(cls)
        W = as_real_array(W, "W", cls.owner, ndim=(2,))
        H = as_real_array(H, "H", cls.owner, ndim=(2,), dtype=np.float64)
        new.X = None
        new.target = None
        new._init_common(W, sparsity, bias, activation, fold_bias, allocation, percdamp)
        if H.shape != (new.n, new.n):
            raise ValueError(f"The 'H' argument of LayerProblem.from_gram must have shape "
                             f"({new.n}, {new.n}) to match W of shape {W.shape}"
                             f"{' with the folded bias' if new.fold_bias else ''}; got "
                             f"{H.shape}.")
        if not np.allclose(H, H.T, rtol=1e-10, atol=0.0):
            raise ValueError("The 'H' argument of LayerProblem.from_gram must be symmetric.")
        new.H = H
        new.n_samples = n_samples
        new._finish()
        return new

    def _init_common(self, W, sparsity, bias, activation, fold_bias, allocation, percdamp):
        owner = self.owner
        self.kind, self.fraction, self.nm = parse_sparsity(sparsity, owner)
        self.sparsity = sparsity
        self.activation = check_choice(activation, "activation", owner, ACTIVATIONS)
        self.allocation = check_choice(allocation, "allocation", owner, ALLOCATIONS)
        if not isinstance(fold_bias, (bool, np.bool_)):
            raise param_error("fold_bias", owner, "a bool", fold_bias, TypeError)
        self.fold_bias = bool(fold_bias)
        self.percdamp = check_real(percdamp, "percdamp", owner, low=0.0)
        self.d_in, self.d_out = W.shape
        if bias is not None:
            bias = as_real_array(bias, "bias", owner, ndim=(1,)).astype(np.float64)
            if bias.shape != (self.d_out,):
                raise ValueError(f"The 'bias' argument of LayerProblem must have shape "
                                 f"({self.d_out},) to match W of shape {W.shape}; got "
                                 f"{bias.shape}.")
        elif self.fold_bias:
            raise ValueError("The 'fold_bias' parameter of LayerProblem must be False when "
                             "no bias is given; got True.")
        self.bias = bias
        self.W0 = W
        Wt = np.asarray(W, dtype=np.float64)
        if self.fold_bias:
            Wt = np.vstack([Wt, bias[None, :]])
        self.W = Wt
        self.n, self.T = self.W.shape
        if self.kind == "nm" and self.n % self.nm[1]:
            raise ValueError(f"The 'sparsity' parameter of LayerProblem is {sparsity!r}, which "
                             f"needs the pruned dimension to be divisible by M={self.nm[1]}; "
                             f"got {self.n} inputs{' (with the folded bias)' if self.fold_bias else ''}.")
        self._cache = {}

    def _finish(self):
        d = np.diag(self.H)
        if np.any(d < 0) or not np.all(np.isfinite(self.H)):
            raise ValueError("The Gram matrix of LayerProblem must be finite with a "
                             "nonnegative diagonal.")
        self.dead = d == 0
        if self.dead.all():
            raise ValueError("The inputs of LayerProblem are all zero; nothing can be pruned.")

    # ----------------------------------------------------------------- data
    @property
    def Xb(self):
        """Inputs with the ones column when the bias is folded (None in Gram form)."""
        if self.X is None:
            return None
        if not self.fold_bias:
            return self.X
        if "Xb" not in self._cache:
            self._cache["Xb"] = np.hstack([self.X, np.ones((self.X.shape[0], 1),
                                                           dtype=self.X.dtype)])
        return self._cache["Xb"]

    def outputs(self, W=None):
        """Layer pre-activations ``X̃W`` (+ bias when not folded).

        Parameters
        ----------
        W : ndarray of shape (n, T), optional
            Weights to evaluate (default: the problem's ``W``).

        Returns
        -------
        ndarray of shape (n_samples, T)
            The pre-activations.
        """
        if self.X is None:
            raise ValueError("This LayerProblem was built from a Gram matrix and keeps no "
                             "inputs; outputs need X.")
        W = self.W if W is None else W
        out = self.Xb @ W
        if self.bias is not None and not self.fold_bias:
            out = out + self.bias
        return out

    def targets(self):
        """Post-activation targets: ``target`` if given, else ``act(X̃W (+ b))``.

        Returns
        -------
        ndarray of shape (n_samples, T)
            The targets.
        """
        if self.target is not None:
            return self.target
        out = self.outputs()
        if self.activation == "relu":
            return np.maximum(out, 0.0)
        if self.activation == "tanh":
            return np.tanh(out)
        if self.activation == "sigmoid":
            return 1.0 / (1.0 + np.exp(-out))
        return out

    def split(self, W):
        """Split a block of shape (n, T) into weights and bias.

        Parameters
        ----------
        W : ndarray of shape (n, T)
            A block in the problem's layout (bias as the last row when folded).

        Returns
        -------
        weights : ndarray of shape (d_in, T)
            The weight rows.
        bias : ndarray of shape (T,) or None
            The last row when the bias is folded, else the problem's bias.
        """
        W = np.asarray(W)
        if self.fold_bias:
            return W[:-1], W[-1]
        return W, self.bias

    def cached(self, key, compute):
        """A value that depends on the weights, cached for this ``W`` (shared by copies).

        Copies made by :meth:`with_sparsity` share the cache, so e.g. OBC's
        full traces are computed once per layer across a sparsity sweep.

        Parameters
        ----------
        key : hashable
            Cache key.
        compute : callable
            Called with no arguments to compute the value on a miss (or when
            the cached value belongs to another ``W``).

        Returns
        -------
        object
            The cached or freshly computed value.
        """
        entry = self._cache.get(key)
        if entry is None or entry[0] is not self.W:
            entry = (self.W, compute())
            self._cache[key] = entry
        return entry[1]

    @property
    def W_live(self):
        """The target with rows of dead inputs zeroed (what every pruner starts from)."""
        def compute():
            W = self.W.copy()
            W[self.dead] = 0.0
            return W
        return self.cached("W_live", compute)

    def damped(self):
        """``Ĥ``: dead inputs set to 1 on the diagonal, then relative damping (cached).

        Returns
        -------
        ndarray of shape (n, n)
            The damped Gram matrix.
        """
        if "Hd" not in self._cache:
            H = self.H.copy()
            idx = np.flatnonzero(self.dead)
            H[idx, :] = 0.0
            H[:, idx] = 0.0
            H[idx, idx] = 1.0
            lam = self.percdamp * float(np.mean(np.diag(H)))
            H[np.diag_indices_from(H)] += lam
            self._cache["Hd"] = H
        return self._cache["Hd"]

    def cholesky(self):
        """Lower Cholesky factor of ``Ĥ`` (cached); a clear error when Ĥ is singular.

        Returns
        -------
        ndarray of shape (n, n)
            Lower-triangular ``L`` with ``LLᵀ = Ĥ``.

        Raises
        ------
        ValueError
            If ``Ĥ`` is not positive definite.
        """
        if "L" not in self._cache:
            try:
                self._cache["L"] = sla.cholesky(self.damped(), lower=True, check_finite=False)
            except sla.LinAlgError:
                raise ValueError("The damped Gram matrix of this LayerProblem is not positive "
                                 f"definite (percdamp={self.percdamp}); increase 'percdamp'.") \
                    from None
        return self._cache["L"]

    def inverse(self):
        """``Ĥ⁻¹`` (float64, symmetric, cached).

        Returns
        -------
        ndarray of shape (n, n)
            The inverse of the damped Gram matrix.
        """
        if "Hinv" not in self._cache:
            L = self.cholesky()
            Hinv = sla.cho_solve((L, True), np.eye(self.n), check_finite=False)
            self._cache["Hinv"] = 0.5 * (Hinv + Hinv.T)
        return self._cache["Hinv"]

    # ----------------------------------------------------------------- counts
    def n_prune_per_output(self):
        """Count the entries pruned in each output under ``allocation="uniform"`` (or N:M).

        Returns
        -------
        int
            ``⌊s·n + ½⌋`` (``n·N/M`` for N:M).
        """
        if self.kind is None:
            raise ValueError("This LayerProblem has no sparsity target (sparsity=None).")
        return n_pruned(self.n, self.fraction)

    def n_prune_total(self):
        """Count the entries pruned in the whole layer under the problem's allocation.

        Returns
        -------
        int
            ``⌊s·n·T + ½⌋`` (global) or ``T`` times the per-output count
            (uniform, N:M).
        """
        if self.kind is None:
            raise ValueError("This LayerProblem has no sparsity target (sparsity=None).")
        if self.kind == "nm" or self.allocation == "uniform":
            return self.T * self.n_prune_per_output()
        return n_pruned(self.n * self.T, self.fraction)

    # ----------------------------------------------------------------- objectives
    def loss(self, W_hat):
        """``½ (ŵ_j − w_j)ᵀ H (ŵ_j − w_j)`` for every output (undamped H).

        Parameters
        ----------
        W_hat : ndarray of shape (n, T)
            Candidate (pruned) weights.

        Returns
        -------
        ndarray of shape (T,)
            The loss of each output.
        """
        D = np.asarray(W_hat, dtype=np.float64) - self.W
        return 0.5 * np.einsum("ij,ij->j", D, self.H @ D)

    def relative_error(self, W_hat):
        """Relative layer error ``‖X̃(W − Ŵ)‖_F / ‖X̃W‖_F``.

        Parameters
        ----------
        W_hat : ndarray of shape (n, T)
            Candidate (pruned) weights.

        Returns
        -------
        float
            The relative error (the absolute one when ``X̃W = 0``).
        """
        num = 2.0 * float(self.loss(W_hat).sum())
        den = float(np.einsum("ij,ij->", self.W, self.H @ self.W))
        return float(np.sqrt(max(num, 0.0) / den)) if den > 0 else float(np.sqrt(max(num, 0.0)))

    def density(self, W_hat):
        """Fraction of nonzero entries of ``Ŵ`` (bias row included when folded).

        Parameters
        ----------
        W_hat : ndarray of shape (n, T)
            Candidate (pruned) weights.

        Returns
        -------
        float
            Density in [0, 1].
        """
        return float(np.count_nonzero(W_hat)) / W_hat.size

    # ----------------------------------------------------------------- variants
    def _copy(self):
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)  # the cache dict is shared on purpose
        return new

    def with_sparsity(self, sparsity, allocation=None):
        """A copy with another sparsity (and allocation); data and factorizations shared.

        Parameters
        ----------
        sparsity : float, str "N:M", or None
            The new sparsity spec (see :func:`parse_sparsity`).
        allocation : {"global", "uniform"}, optional
            The new allocation (default: unchanged).

        Returns
        -------
        LayerProblem
            The copy (its cache is shared with ``self``).
        """
        new = self._copy()
        new.kind, new.fraction, new.nm = parse_sparsity(sparsity, self.owner)
        new.sparsity = sparsity
        if allocation is not None:
            new.allocation = check_choice(allocation, "allocation", self.owner, ALLOCATIONS)
        if new.kind == "nm" and new.n % new.nm[1]:
            raise ValueError(f"The 'sparsity' parameter of LayerProblem is {sparsity!r}, which "
                             f"needs the pruned dimension to be divisible by M={new.nm[1]}; "
                             f"got {new.n} inputs.")
        return new

    def with_weights(self, W):
        """A copy whose pruning target is ``W`` (n, T); ``H`` and its factors are shared.

        Used by the iterated mode, which re-prunes a Newton target ``z``.

        Parameters
        ----------
        W : ndarray of shape (n, T)
            The new target (bias as the last row when folded).

        Returns
        -------
        LayerProblem
            The copy.
        """
        W = as_real_array(W, "W", "LayerProblem.with_weights", ndim=(2,), dtype=np.float64)
        if W.shape != self.W.shape:
            raise ValueError(f"The 'W' argument of LayerProblem.with_weights must have shape "
                             f"{self.W.shape}; got {W.shape}.")
        new = self._copy()
        new.W = W
        new.W0, b = self.split(W)
        if self.fold_bias:
            new.bias = b
        return new

    def __repr__(self):
        form = "Gram" if self.X is None else f"X{self.X.shape}"
        return (f"LayerProblem({form}, W{self.W0.shape}, sparsity={self.sparsity!r}, "
                f"activation={self.activation!r}, fold_bias={self.fold_bias}, "
                f"allocation={self.allocation!r}, percdamp={self.percdamp:g})")
