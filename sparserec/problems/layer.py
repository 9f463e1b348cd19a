r"""Layer-wise pruning problems: one trained linear layer and its calibration inputs.

A trained layer with inputs ``X`` (samples × d_in) and dense weights ``W``
(d_in × d_out) is pruned by solving

.. math::  \min_{\hat W} \tfrac12 \|X\hat W - XW\|_F^2
           \quad\text{s.t.}\quad \hat W \text{ obeys a sparsity pattern.}

Column ``j`` of ``Ŵ`` (output unit ``j``) is a sparse-recovery problem with
``A = X`` and ``y = X w_j``; the curvature ``H = XᵀX`` is shared by every
column. This module holds the problem type (:class:`LayerProblem`) and a
streaming Gram accumulator (:class:`GramAccumulator`); the sparsity specs
(fraction, ``"N:M"``, or None for Net-Trim) are :class:`~.sparsity.Sparsity`,
and the masks every pruner shares live in :mod:`sparserec.projection.masks`.

Notes
-----
Conventions shared by every pruner:

* **Layout.** sparserec's ``W`` is d_in × d_out (rows = inputs, columns =
  outputs). The reference codes (OBC, SparseGPT) use PyTorch's d_out × d_in.
* **Scaling of H.** ``H = 2X̃ᵀX̃/N`` (a mean over the ``N`` samples, in
  float64), the convention of the OBC and SparseGPT reference code, so that
  relative damping and the dead-input fix below give the same curvature as
  theirs. The loss ``½ tr(DᵀHD)`` is then the mean squared output error.
* **Dead inputs.** Inputs with ``H_jj = 0`` (never active) are listed in
  ``dead``; their weight rows are zeroed before pruning (``W_live``). The
  problem keeps no damping: the solver's curvature handles dead inputs and
  damping (:func:`sparserec.curvature.make_curvature`).
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

import numpy as np

from .._validation import as_real_array, check_choice, param_error
from .base import Scaling, SparseProblem, scale_exponent
from .sparsity import Sparsity, n_pruned

__all__ = ["LayerProblem", "GramAccumulator", "ACTIVATIONS"]

ACTIVATIONS = ("linear", "relu", "tanh", "sigmoid")


# --------------------------------------------------------------------------- gram
class GramAccumulator:
    """Stream calibration inputs into the Gram matrix ``H = 2X̃ᵀX̃/N`` (float64).

    The running mean follows the OBC reference's ``add_batch``: after every
    batch ``H`` is the mean of ``2 x̃ x̃ᵀ`` over all ``N`` samples seen.

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
        self._S = np.zeros((n, n), dtype=np.float64)   # Σ x̃x̃ᵀ (scaled once, at read)
        self.n_samples = 0

    @property
    def H(self):
        """The Gram matrix ``2 Σ x̃x̃ᵀ / N`` of the samples seen so far."""
        return self._S * (2.0 / max(self.n_samples, 1))

    def add_batch(self, X):
        """Add one batch (samples × d_in) to the running Gram matrix.

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
        self._S += X.T @ X
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
            ``activation``, ``allocation``).

        Returns
        -------
        LayerProblem
            The problem (``n_samples`` and ``fold_bias`` from the accumulator).
        """
        return LayerProblem.from_gram(self.H, W, sparsity, n_samples=self.n_samples,
                                      fold_bias=self.fold_bias, **options)


def layer_gram(X, batch_size=4096):
    """``2XᵀX/N`` accumulated in float64 over row batches (the layer curvature convention).

    Parameters
    ----------
    X : ndarray of shape (N, d)
        Layer inputs (one sample per row).
    batch_size : int, default=4096
        Rows converted to float64 at a time.

    Returns
    -------
    ndarray of shape (d, d)
        The Gram matrix. Inputs far from unit scale are divided by a power of
        two while accumulating (exact), so only a mean that is itself out of
        the float64 range overflows (to inf) or underflows.
    """
    N, d = X.shape
    e = scale_exponent(float(np.abs(X).max())) if X.size else 0
    S = np.zeros((d, d), dtype=np.float64)
    for i in range(0, N, batch_size):
        B = np.asarray(X[i:i + batch_size], dtype=np.float64)
        if e:
            B = np.ldexp(B, -e)
        S += B.T @ B
    S *= 2.0 / N
    if e:
        with np.errstate(over="ignore", under="ignore"):  # the caller checks the range
            S = np.ldexp(S, 2 * e)
    return S


# --------------------------------------------------------------------------- problem
class LayerProblem(SparseProblem):
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
        The Gram matrix ``2X̃ᵀX̃/N`` (float64, undamped).
    n, T : int
        Rows (pruned dimension) and columns (outputs) of ``W``.
    sparsity : Sparsity
        The parsed constraint; ``kind``, ``fraction``, ``nm`` and
        ``allocation`` mirror it.
    dead : ndarray of bool, shape (n,)
        Inputs with ``H_jj = 0``.

    Notes
    -----
    Each output ``j`` is the sparse-recovery problem ``A = X̃``,
    ``y = X̃ w_j``, and all share ``H``. The loss of a candidate ``Ŵ`` is

    .. math:: L(\hat W) = \tfrac12 \operatorname{tr}\big((\hat W - W)^\top H (\hat W - W)\big)
              = \tfrac1N \|\tilde X(\hat W - W)\|_F^2 ,

    and the relative layer error is :math:`\|\tilde X(W-\hat W)\|_F / \|\tilde XW\|_F`.
    The problem holds data only: damping, the dead-input fix and any other
    curvature choice belong to the solver (``damping``, ``curvature``).

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
    multi = True
    residual_name = "output error"

    def __init__(self, X, W, sparsity, *, bias=None, activation="linear", fold_bias=False,
                 allocation="global", target=None):
        X = as_real_array(X, "X", self.owner, ndim=(2,))
        W = as_real_array(W, "W", self.owner, ndim=(2,))
        if X.shape[1] != W.shape[0]:
            raise ValueError(f"The 'X' and 'W' arguments of LayerProblem do not match: X has "
                             f"{X.shape[1]} columns (inputs) but W has {W.shape[0]} rows; W "
                             "must be d_in × d_out (sparserec layout, the transpose of "
                             "PyTorch's weight).")
        self.X = X
        self._init_common(W, sparsity, bias, activation, fold_bias, allocation)
        self.n_samples = X.shape[0]
        if target is not None:
            target = as_real_array(target, "target", self.owner, ndim=(2,))
            if target.shape != (X.shape[0], self.d_out):
                raise ValueError(f"The 'target' argument of LayerProblem must have shape "
                                 f"({X.shape[0]}, {self.d_out}) (samples × outputs); got "
                                 f"{target.shape}.")
        self.target = target
        self.H = layer_gram(self.Xb)
        self._check_gram_range()
        self._finish()

    @classmethod
    def from_gram(cls, H, W, sparsity, *, n_samples=None, bias=None, activation="linear",
                  fold_bias=False, allocation="global"):
        """A problem from a precomputed Gram matrix (no inputs kept).

        Parameters
        ----------
        H : ndarray of shape (n, n)
            ``2X̃ᵀX̃/N`` with ``n = d_in + fold_bias`` (ones column last when
            folded), e.g. from :class:`GramAccumulator`. Any positive multiple
            of it gives the same pruning (damping is relative), except for the
            dead-input convention.
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

        Returns
        -------
        LayerProblem
            A problem with ``X = None`` (Gram form).

        Raises
        ------
        ValueError
            If ``H`` is not square of the right size, not symmetric, or has a
            negative or non-finite diagonal.
        """
        new = object.__new__(cls)
        W = as_real_array(W, "W", cls.owner, ndim=(2,))
        H = as_real_array(H, "H", cls.owner, ndim=(2,), dtype=np.float64)
        new.X = None
        new.target = None
        new._init_common(W, sparsity, bias, activation, fold_bias, allocation)
        if H.shape != (new.n, new.n):
            raise ValueError(f"The 'H' argument of LayerProblem.from_gram must have shape "
                             f"({new.n}, {new.n}) to match W of shape {W.shape}"
                             f"{' with the folded bias' if new.fold_bias else ''}; got "
                             f"{H.shape}.")
        scale = float(np.abs(H).max())
        if not np.allclose(H, H.T, rtol=0.0, atol=1e-10 * scale):
            raise ValueError("The 'H' argument of LayerProblem.from_gram must be symmetric "
                             "(a Gram matrix); got one with |H − Hᵀ| up to "
                             f"{float(np.abs(H - H.T).max()):.3g}.")
        new.H = H
        new.n_samples = n_samples
        new._finish()
        return new

    def _init_common(self, W, sparsity, bias, activation, fold_bias, allocation):
        owner = self.owner
        self.activation = check_choice(activation, "activation", owner, ACTIVATIONS)
        if not isinstance(fold_bias, (bool, np.bool_)):
            raise param_error("fold_bias", owner, "a bool", fold_bias, TypeError)
        self.fold_bias = bool(fold_bias)
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
        self.n_signals = self.T
        self._set_sparsity(sparsity, allocation)
        self._cache = {}

    def _set_sparsity(self, sparsity, allocation):
        extra = " (with the folded bias)" if self.fold_bias else ""
        try:
            self.sparsity = Sparsity.from_spec(sparsity, self.n, self.T, allocation=allocation,
                                               owner=self.owner)
        except ValueError as exc:
            raise ValueError(str(exc).replace(" rows.", f" inputs{extra}.")) from None
        self.spec = sparsity
        self.allocation = allocation

    def _check_gram_range(self):
        """Refuse inputs whose Gram matrix is not representable, naming the cause."""
        Xb = self.Xb
        big = float(np.abs(Xb).max())
        if not np.all(np.isfinite(self.H)):
            raise ValueError("The Gram matrix 2XᵀX/N of LayerProblem overflows float64: the "
                             f"inputs X reach {big:.3g}. Divide X by a constant (pruning does "
                             "not depend on the scale of X).")
        d = np.diag(self.H)
        lost = np.any(Xb != 0, axis=0) & (d < np.finfo(np.float64).tiny)
        if np.any(lost):
            raise ValueError("The Gram matrix 2XᵀX/N of LayerProblem underflows float64: "
                             f"{int(lost.sum())} input(s) are nonzero but their mean square is "
                             "below the smallest normal number (inputs of magnitude up to "
                             f"{big:.3g}). Multiply X by a constant (pruning does not depend "
                             "on the scale of X).")

    def _finish(self):
        d = np.diag(self.H)
        if np.any(d < 0) or not np.all(np.isfinite(self.H)):
            raise ValueError("The Gram matrix of LayerProblem must be finite with a "
                             "nonnegative diagonal.")
        self.dead = d == 0
        if self.dead.all():
            raise ValueError("The inputs of LayerProblem are all zero; nothing can be pruned.")

    # ----------------------------------------------------------------- sparsity
    @property
    def kind(self):
        """``"fraction"``, ``"nm"`` or None (see :class:`~.sparsity.Sparsity`)."""
        return self.sparsity.kind

    @property
    def fraction(self):
        """Pruned fraction (``N/M`` for N:M; None without a target)."""
        return self.sparsity.fraction

    @property
    def nm(self):
        """The ``(N, M)`` pattern, or None."""
        return self.sparsity.nm

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
        return self.sparsity.n_prune_total()

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
            Cache key (include everything besides ``W`` that the value depends on).
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

    # ----------------------------------------------------------------- objectives
    def loss(self, W_hat):
        """``½ (ŵ_j − w_j)ᵀ H (ŵ_j − w_j)`` for every output (undamped ``H``).

        Parameters
        ----------
        W_hat : ndarray of shape (n, T)
            Candidate (pruned) weights.

        Returns
        -------
        ndarray of shape (T,)
            The loss of each output (clamped at 0 against rounding).
        """
        D = np.asarray(W_hat, dtype=np.float64) - self.W
        # ≥ 0 for the PSD H; rounding can make it slightly negative in H's null space
        return np.maximum(0.5 * np.einsum("ij,ij->j", D, self.H @ D), 0.0)

    def relative_error(self, W_hat):
        """Relative layer error ``‖X̃(W − Ŵ)‖_F / ‖X̃W‖_F``.

        Parameters
        ----------
        W_hat : ndarray of shape (n, T)
            Candidate (pruned) weights.

        Returns
        -------
        float
            The relative error (the absolute one when ``X̃W = 0``). It is
            computed on the :meth:`normalized` problem, so that it is finite
            whatever the scale of ``X`` and ``W`` (the absolute error is then
            mapped back).
        """
        inner, scaling = self.normalized()
        if inner is not self:
            W_hat = np.ldexp(np.asarray(W_hat, dtype=np.float64), -scaling.x)
            err = inner.relative_error(W_hat)
            den = float(inner._ref_sq().sum())
            return err if den > 0 else float(np.ldexp(err, scaling.r))
        num = 2.0 * float(self.loss(W_hat).sum())
        den = float(self._ref_sq().sum())
        return float(np.sqrt(max(num, 0.0) / den)) if den > 0 else float(np.sqrt(max(num, 0.0)))

    def _ref_sq(self):
        return self.cached("ref_sq", lambda: np.einsum("ij,ij->j", self.W, self.H @ self.W))

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

    # ------------------------------------------------------ loop protocol
    def default_start(self):
        return self.W_live.copy()

    def measure(self, state):
        cols = state["j"]
        D = state["X"] - self.W[:, cols]
        loss = np.maximum(0.5 * np.einsum("ij,ij->j", D, self.H @ D), 0.0)  # as in loss()
        return loss, np.sqrt(2.0 * loss)

    def reference_norm(self, state):
        return np.sqrt(np.maximum(self._ref_sq()[state["j"]], 0.0))

    def gradient_at(self, state):
        return self.H @ (state["X"] - self.W[:, state["j"]])

    def warm_up_kind(self):
        return ("LayerProblem", self.sparsity.kind, self.spec if self.kind == "nm" else None,
                self.allocation, self.activation, self.fold_bias, self.bias is None,
                self.X is None)

    def warm_up_problem(self):
        rng = np.random.default_rng(0)
        M = self.nm[1] if self.kind == "nm" else 4
        n = 2 * M
        d_in = n - self.fold_bias
        X = rng.standard_normal((4 * n, d_in))
        W = rng.standard_normal((d_in, 3))
        spec = {"fraction": 0.5, "nm": self.spec, None: None}[self.kind]
        options = dict(bias=None if self.bias is None else 0.1 * rng.standard_normal(3),
                       activation=self.activation, fold_bias=self.fold_bias,
                       allocation=self.allocation)
        if self.X is None:
            Xb = np.hstack([X, np.ones((X.shape[0], 1))]) if self.fold_bias else X
            return LayerProblem.from_gram(layer_gram(Xb), W, spec, **options)
        return LayerProblem(X, W, spec, **options)

    def normalized(self):
        """A copy with ``H`` and ``W`` divided by powers of two, and the :class:`Scaling` back.

        With ``2**a`` the scale of the inputs (``H`` is divided by ``2**(2a)``)
        and ``2**b`` that of the weights, each applied only outside
        ``2**±SCALE_BAND``: pruned weights ``W'`` of the copy are
        ``2**b·W'`` here, and its output errors are ``2**(a + b)`` times
        smaller. The inputs, bias and targets are scaled to match (Net-Trim
        uses them). Pruning is unchanged: saliencies are ranked, damping is
        relative and OBS corrections are homogeneous.

        Returns
        -------
        problem : LayerProblem
            The copy (with a cache of its own), or ``self``.
        scaling : Scaling
            ``x = b``, ``r = a + b``, ``h = 2a``.
        """
        ea = scale_exponent(np.sqrt(float(np.abs(self.H).max())))
        eb = scale_exponent(float(np.abs(self.W).max()))
        if not (ea or eb):
            return self, Scaling()
        new = self._copy()
        new._cache = {}
        new.H = np.ldexp(self.H, -2 * ea)
        new.W = np.ldexp(self.W, -eb)
        new.W0, bias = new.split(new.W)
        if self.fold_bias:
            new.bias = bias
        elif self.bias is not None:
            new.bias = np.ldexp(self.bias, -(ea + eb))
        if self.X is not None:
            new.X = np.ldexp(self.X, -ea)
            if self.fold_bias:  # the ones column scales with the inputs, like H
                new._cache["Xb"] = np.ldexp(self.Xb, -ea)
        if self.target is not None:
            new.target = np.ldexp(self.target, -(ea + eb))
        return new, Scaling(x=eb, r=ea + eb, h=2 * ea)

    # ----------------------------------------------------------------- variants
    def _copy(self):
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)  # the cache dict is shared on purpose
        return new

    def with_sparsity(self, sparsity, allocation=None):
        """A copy with another sparsity (and allocation); data and caches shared.

        Parameters
        ----------
        sparsity : float, str "N:M", or None
            The new sparsity spec.
        allocation : {"global", "uniform"}, optional
            The new allocation (default: unchanged).

        Returns
        -------
        LayerProblem
            The copy (its cache is shared with ``self``).
        """
        new = self._copy()
        new._set_sparsity(sparsity, self.allocation if allocation is None else allocation)
        return new

    def with_weights(self, W):
        """A copy whose pruning target is ``W`` (n, T); ``H`` is shared.

        Parameters
        ----------
        W : ndarray of shape (n, T)
            The new target (bias as the last row when folded).

        Returns
        -------
        LayerProblem
            The copy (with a cache of its own: cached values depend on ``W``).
        """
        W = as_real_array(W, "W", "LayerProblem.with_weights", ndim=(2,), dtype=np.float64)
        if W.shape != self.W.shape:
            raise ValueError(f"The 'W' argument of LayerProblem.with_weights must have shape "
                             f"{self.W.shape}; got {W.shape}.")
        new = self._copy()
        new._cache = {k: v for k, v in self._cache.items() if k == "Xb"}
        new.W = W
        new.W0, b = self.split(W)
        if self.fold_bias:
            new.bias = b
        return new

    def __repr__(self):
        form = "Gram" if self.X is None else f"X{self.X.shape}"
        return (f"LayerProblem({form}, W{self.W0.shape}, sparsity={self.spec!r}, "
                f"activation={self.activation!r}, fold_bias={self.fold_bias}, "
                f"allocation={self.allocation!r})")
