r"""Network-loss problems: prune a whole trained network against its loss.

The layer problems of :mod:`.layer` prune one layer against its
reconstruction error, at a point where the gradient vanishes. The papers of
the Optimal Brain Surgeon lineage prune against the network's **loss**
(Hassibi, Stork & Wolff 1993; Tresp et al. 1996; Singh & Alistarh 2020), at
points that need not be minima. Here the unknown is the vector ``θ`` of all
weights of a ReLU MLP (biases held fixed, not pruned), the objective the mean
softmax cross-entropy on calibration data,

.. math::  f(\theta) = \frac1N\sum_{n=1}^N \ell\big(z(x_n;\theta), y_n\big),
           \qquad \min_\theta f(\theta)\ \text{ s.t. }\ \|\theta\|_0 \le k,

with **one** budget ``k`` over all layers, so that a saliency-based projection
sets the per-layer sparsities by comparing saliencies across layers
(WoodFisher's global, "joint" threshold). :meth:`NetworkLossProblem.layer_densities`
reports the levels chosen.

* :class:`NetworkLoss` — the :class:`~.objective.Objective` (value, gradient,
  exact Hessian-vector products) and its two row factors:
  :meth:`~NetworkLoss.sample_gradients` (per-sample gradients: the empirical
  Fisher) and :meth:`~NetworkLoss.gauss_newton_rows` (the Gauss–Newton
  matrix of the cross-entropy, Hassibi et al.'s "general error measure");
* :class:`KroneckerRows` — those factors, never materialised: the column of
  weight ``(i, j)`` of layer ``l`` is :math:`h_{l,i}\odot\delta_{l,j}`;
* :class:`NetworkLossProblem` — the problem the one solver loop runs.

References
----------
.. [1] B. Hassibi, D. G. Stork and G. J. Wolff, "Optimal Brain Surgeon and
   general network pruning", IEEE ICNN 1993.
.. [2] V. Tresp, R. Neuneier and H.-G. Zimmermann, "Early Brain Damage",
   NeurIPS 1996.
.. [3] S. P. Singh and D. Alistarh, "WoodFisher: efficient second-order
   approximation for neural network compression", NeurIPS 2020.
"""
from __future__ import annotations

import numpy as np

from .._validation import as_real_array, param_error
from . import mlp
from .objective import Objective, ObjectiveProblem
from .rows import CHUNK_ELEMENTS, RowFactor
from .sparsity import n_pruned

__all__ = ["NetworkLoss", "NetworkLossProblem", "KroneckerRows", "HESSIAN_MAX"]

#: Largest number of weights for which :meth:`NetworkLoss.hessian` forms the dense Hessian.
HESSIAN_MAX = 4096


class KroneckerRows(RowFactor):
    r"""The row factor of a network curvature: columns are outer products, never stored.

    Parameters
    ----------
    inputs : list of ndarray
        ``inputs[l]`` of shape (N, d_l): the input of layer ``l`` for every sample.
    deltas : list of ndarray
        ``deltas[l]`` of shape (R, d_{l+1}): the backpropagated rows at layer
        ``l``'s pre-activation (:func:`sparserec.problems.mlp.deltas`).
    n_samples : float
        The normaliser ``N`` of the curvature :math:`\frac1N U^\top U`.
    sample : ndarray of int of shape (R,), optional
        Sample of every row (default: row ``r`` is sample ``r``).

    Notes
    -----
    Weight ``(i, j)`` of layer ``l`` (flattened in C order after the weights
    of the layers before it) has the column :math:`U_{r,(i,j)} = h_{l,s(r),i}\,\delta_{l,r,j}`.
    The Gram matrix of a whole layer is therefore a Hadamard product and its
    column norms a matrix product,

    .. math::  U_lU_l^\top = (H_lH_l^\top)_{s,s}\odot(\Delta_l\Delta_l^\top),\qquad
               \textstyle\sum_r U_{r,(i,j)}^2 = \big[(H_l^{\odot 2})_s^\top\Delta_l^{\odot 2}\big]_{ij},

    in :math:`O(R^2(d_l + d_{l+1}))` and :math:`O(R\,d_ld_{l+1})` instead of
    :math:`O(R^2d_ld_{l+1})`. :attr:`blocks` are the layers.
    """

    def __init__(self, inputs, deltas, n_samples, sample=None):
        if len(inputs) != len(deltas):
            raise ValueError("KroneckerRows needs one delta block per layer input.")
        self.sample = None if sample is None else np.asarray(sample, dtype=np.intp)
        self.inputs = [np.asarray(H, dtype=np.float64) for H in inputs]
        self.deltas = [np.asarray(D, dtype=np.float64) for D in deltas]
        R = self.deltas[0].shape[0]
        self.din = [H.shape[1] for H in self.inputs]
        self.dout = [D.shape[1] for D in self.deltas]
        sizes = [a * b for a, b in zip(self.din, self.dout)]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.shape = (R, int(self.offsets[-1]))
        self.n_samples = float(n_samples)
        self.blocks = tuple((int(self.offsets[l]), int(self.offsets[l + 1]))
                            for l in range(len(sizes)))
        self._rows_in = {}

    def _h(self, l):
        """Layer ``l``'s inputs repeated per row (``H_l[s]``), cached."""
        if self.sample is None:
            return self.inputs[l]
        if l not in self._rows_in:
            self._rows_in[l] = self.inputs[l][self.sample]
        return self._rows_in[l]

    def _segments(self, lo, hi):
        for l in range(len(self.din)):
            a, b = max(lo, int(self.offsets[l])), min(hi, int(self.offsets[l + 1]))
            if a < b:
                yield l, a, b

    def _layer_columns(self, l, a, b):
        off, dout = int(self.offsets[l]), self.dout[l]
        q0, q1 = a - off, b - off
        i0, i1 = q0 // dout, (q1 - 1) // dout + 1
        H = self._h(l)[:, i0:i1]
        C = (H[:, :, None] * self.deltas[l][:, None, :]).reshape(H.shape[0], -1)
        return C[:, q0 - i0 * dout:q1 - i0 * dout]

    def columns(self, lo, hi):
        parts = [self._layer_columns(l, a, b) for l, a, b in self._segments(lo, hi)]
        if len(parts) == 1:
            return parts[0]
        return np.hstack(parts) if parts else np.empty((self.shape[0], 0))

    def chunks(self, lo, hi):
        R = self.shape[0]
        for l, a, b in self._segments(lo, hi):
            dout = self.dout[l]
            step = max(1, CHUNK_ELEMENTS // max(1, R * dout)) * dout
            off = int(self.offsets[l])
            start = a
            while start < b:  # chunks aligned to whole input rows of the layer
                stop = min(b, off + ((start - off) // dout) * dout + step)
                yield start, stop, self._layer_columns(l, start, stop)
                start = stop

    def _whole_layers(self, lo, hi):
        layers = [l for l, a, b in self._segments(lo, hi)]
        whole = all(a == self.offsets[l] and b == self.offsets[l + 1]
                    for l, a, b in self._segments(lo, hi))
        return layers if whole else None

    def gram(self, lo, hi):
        layers = self._whole_layers(lo, hi)
        if layers is None:
            return super().gram(lo, hi)
        R = self.shape[0]
        K = np.zeros((R, R))
        for l in layers:
            HH = self.inputs[l] @ self.inputs[l].T
            if self.sample is not None:
                HH = HH[np.ix_(self.sample, self.sample)]
            K += HH * (self.deltas[l] @ self.deltas[l].T)
        return K

    def matmul(self, lo, hi, V):
        layers = self._whole_layers(lo, hi)
        if layers is None:
            return super().matmul(lo, hi, V)
        out = np.zeros((self.shape[0], V.shape[1]))
        for l in layers:   # Σ_ij h_i δ_j v_ij = rowsum((H_s V_l) ∘ Δ_l), no column formed
            a, b = int(self.offsets[l]) - lo, int(self.offsets[l + 1]) - lo
            H, D = self._h(l), self.deltas[l]
            for t in range(V.shape[1]):
                out[:, t] += np.einsum("rj,rj->r", H @ V[a:b, t].reshape(self.din[l], -1), D)
        return out

    def rmatmul(self, lo, hi, Y):
        layers = self._whole_layers(lo, hi)
        if layers is None:
            return super().rmatmul(lo, hi, Y)
        out = np.empty((hi - lo, Y.shape[1]))
        for l in layers:   # Σ_r h_ri δ_rj y_r = H_sᵀ diag(y) Δ
            a, b = int(self.offsets[l]) - lo, int(self.offsets[l + 1]) - lo
            H, D = self._h(l), self.deltas[l]
            for t in range(Y.shape[1]):
                out[a:b, t] = (H.T @ (Y[:, t:t + 1] * D)).ravel()
        return out

    def masked_gram(self, lo, hi, mask):
        layers = self._whole_layers(lo, hi)
        if layers is None:
            return super().masked_gram(lo, hi, mask)
        R = self.shape[0]
        K = np.zeros((R, R))
        for l in layers:
            a, b = int(self.offsets[l]) - lo, int(self.offsets[l + 1]) - lo
            M = mask[a:b].reshape(self.din[l], self.dout[l])
            H, D = self._h(l), self.deltas[l]
            if self.din[l] > self.dout[l]:   # loop over the shorter side of the layer
                H, D, M = D, H, M.T
            # Σ_i (h_i h_iᵀ) ∘ (Δ_{S_i} Δ_{S_i}ᵀ), S_i the kept outputs of input i
            for i in np.flatnonzero(M.any(axis=1)):
                Di = D[:, M[i]]
                K += (Di @ Di.T) * np.outer(H[:, i], H[:, i])
        return K

    def sq_norms(self, lo, hi):
        out = []
        for l, a, b in self._segments(lo, hi):
            off = int(self.offsets[l])
            full = ((self._h(l) ** 2).T @ (self.deltas[l] ** 2)).ravel()
            out.append(full[a - off:b - off])
        return np.concatenate(out) if out else np.empty(0)


class NetworkLoss(Objective):
    r"""Mean softmax cross-entropy of a ReLU MLP as a function of all its weights.

    Parameters
    ----------
    weights : list of ndarray
        ``weights[l]`` of shape (d_l, d_{l+1}); their flattened concatenation is
        the variable ``θ`` (layer by layer, C order).
    biases : list of ndarray
        ``biases[l]`` of shape (d_{l+1},), held fixed.
    X : ndarray of shape (N, d_0)
        Calibration inputs.
    y : ndarray of int of shape (N,)
        Their labels.

    Attributes
    ----------
    n : int
        Number of weights.
    theta0 : ndarray of shape (n,)
        The given weights, flattened (the dense point to prune).
    shapes : list of tuple
        The weight shapes.
    offsets : ndarray of int of shape (L + 1,)
        ``θ[offsets[l]:offsets[l+1]]`` is layer ``l``.

    Notes
    -----
    Gradient by backpropagation (:mod:`sparserec.problems.mlp`); the exact
    Hessian-vector product by Pearlmutter's R-operator. The per-sample
    gradient of sample ``n`` with respect to :math:`W_l` is
    :math:`h_{l,n}\,\delta_{l,n}^\top` with :math:`\delta_{L-1,n} = p_n - e_{y_n}`,
    and the Gauss–Newton matrix of the cross-entropy is

    .. math::  G = \frac1N\sum_n J_n^\top\Lambda_nJ_n,\qquad
               \Lambda_n = \mathrm{diag}(p_n) - p_np_n^\top = B_n^\top B_n,\quad
               B_n = \mathrm{diag}(\sqrt{p_n})(I - \mathbf 1p_n^\top),

    a sum of ``N·C`` outer products with rows :math:`\sqrt{p_{nc}}\,(e_c - p_n)`
    backpropagated (rank ``C − 1`` per sample): the "general error measure"
    of Hassibi, Stork & Wolff, and the expectation over the model's own labels
    of the empirical Fisher.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> f = NetworkLoss([rng.standard_normal((4, 3)), rng.standard_normal((3, 2))],
    ...                 [np.zeros(3), np.zeros(2)], rng.standard_normal((5, 4)),
    ...                 np.array([0, 1, 0, 1, 1]))
    >>> f.n, f.sample_gradients(f.theta0).shape
    (18, (5, 18))
    """

    def __init__(self, weights, biases, X, y):
        owner = "NetworkLoss"
        if len(weights) != len(biases) or not weights:
            raise ValueError("NetworkLoss needs one bias per weight matrix (at least one layer).")
        self.biases = [as_real_array(b, "biases", owner, ndim=(1,)).astype(np.float64)
                       for b in biases]
        W = [as_real_array(w, "weights", owner, ndim=(2,)).astype(np.float64) for w in weights]
        for l, (w, b) in enumerate(zip(W, self.biases)):
            if l and w.shape[0] != W[l - 1].shape[1]:
                raise ValueError(f"Layer {l} of NetworkLoss takes {w.shape[0]} inputs but layer "
                                 f"{l - 1} gives {W[l - 1].shape[1]}.")
            if b.shape != (w.shape[1],):
                raise ValueError(f"The bias of layer {l} of NetworkLoss must have shape "
                                 f"({w.shape[1]},); got {b.shape}.")
        self.X = as_real_array(X, "X", owner, ndim=(2,)).astype(np.float64)
        if self.X.shape[1] != W[0].shape[0]:
            raise ValueError(f"The 'X' argument of NetworkLoss must have {W[0].shape[0]} "
                             f"columns (the network's inputs); got {self.X.shape[1]}.")
        y = np.asarray(y)
        C = W[-1].shape[1]
        if y.shape != (self.X.shape[0],) or not np.issubdtype(y.dtype, np.integer) \
                or (y.size and (y.min() < 0 or y.max() >= C)):
            raise ValueError(f"The 'y' argument of NetworkLoss must hold {self.X.shape[0]} "
                             f"integer labels in [0, {C - 1}]; got shape {y.shape}, dtype "
                             f"{y.dtype}.")
        self.y = y.astype(np.int64)
        self.shapes = [w.shape for w in W]
        self.offsets = np.concatenate([[0], np.cumsum([w.size for w in W])]).astype(np.int64)
        self.n = int(self.offsets[-1])
        self.n_classes = C
        self.theta0 = self.pack(W)
        self.theta0.setflags(write=False)
        self._last = None

    # ------------------------------------------------------------ layout
    def unpack(self, theta):
        """Split a weight vector into the weight matrices (views).

        Parameters
        ----------
        theta : ndarray of shape (n,)
            All weights.

        Returns
        -------
        list of ndarray
            ``weights[l]`` of shape ``shapes[l]``.
        """
        theta = np.asarray(theta, dtype=np.float64)
        return [theta[self.offsets[l]:self.offsets[l + 1]].reshape(s)
                for l, s in enumerate(self.shapes)]

    def pack(self, weights):
        """Flatten weight matrices into one vector (layer by layer, C order).

        Parameters
        ----------
        weights : list of ndarray
            One matrix per layer, shapes ``shapes``.

        Returns
        -------
        ndarray of shape (n,)
            The weight vector.
        """
        return np.concatenate([np.asarray(w, dtype=np.float64).ravel() for w in weights])

    # ------------------------------------------------------------ objective
    def _forward(self, theta):
        theta = np.asarray(theta, dtype=np.float64)
        if self._last is not None and np.array_equal(self._last[0], theta):
            return self._last[1]
        W = self.unpack(theta)
        acts = mlp.forward(W, self.biases, self.X)
        loss, G = mlp.softmax_xent(acts[-1], self.y)
        out = (W, acts, loss, G)
        self._last = (theta.copy(), out)
        return out

    def value(self, x):
        return self._forward(x)[2]

    def gradient(self, x):
        W, acts, _, G = self._forward(x)
        return self.pack(mlp.backward(W, acts, G, biases=False)[0])

    def hvp(self, x, v):
        V = self.unpack(np.asarray(v, dtype=np.float64))
        return self.pack(mlp.hvp(self.unpack(x), self.biases, self.X, self.y, V))

    def hessian(self, x):
        """Evaluate the exact Hessian (dense, ``n <= HESSIAN_MAX`` weights only).

        Parameters
        ----------
        x : ndarray of shape (n,)
            Point of evaluation.

        Returns
        -------
        ndarray of shape (n, n)
            The Hessian, one exact Hessian-vector product per column,
            symmetrised (its asymmetry is roundoff).

        Raises
        ------
        ValueError
            For more than :data:`HESSIAN_MAX` weights (use a Gauss–Newton,
            Fisher or dominant-eigenspace curvature).
        """
        if self.n > HESSIAN_MAX:
            raise ValueError(f"NetworkLoss.hessian forms the dense {self.n} x {self.n} Hessian, "
                             f"allowed for n <= {HESSIAN_MAX} weights only; use "
                             "curvature='gauss_newton', 'woodfisher' or 'eigenspace' "
                             "(block-diagonal, never dense).")
        H = np.empty((self.n, self.n))
        for q in range(self.n):
            e = np.zeros(self.n)
            e[q] = 1.0
            H[:, q] = self.hvp(x, e)
        return 0.5 * (H + H.T)

    def gauss_newton_vp(self, x, v):
        """Compute the product of the Gauss–Newton matrix with ``v`` (matrix-free).

        Parameters
        ----------
        x : ndarray of shape (n,)
            Point of evaluation.
        v : ndarray of shape (n,)
            Direction.

        Returns
        -------
        ndarray of shape (n,)
            ``G v`` (see the class Notes).
        """
        V = self.unpack(np.asarray(v, dtype=np.float64))
        return self.pack(mlp.gauss_newton_vp(self.unpack(x), self.biases, self.X, V))

    # ------------------------------------------------------------ row factors
    def sample_gradients(self, x):
        """Return the per-sample gradients at ``x``, the rows of the empirical Fisher.

        Parameters
        ----------
        x : ndarray of shape (n,)
            Point of evaluation.

        Returns
        -------
        KroneckerRows
            ``N`` rows; row ``n`` is the gradient of sample ``n``'s loss (their
            mean is :meth:`gradient`), normaliser ``N``.
        """
        W, acts, _, G = self._forward(x)
        N = self.y.size
        return KroneckerRows(acts[:-1], mlp.deltas(W, acts, G * N), N)

    def gauss_newton_rows(self, x):
        r"""Return the rows of the Gauss–Newton matrix at ``x`` (never materialised).

        Parameters
        ----------
        x : ndarray of shape (n,)
            Point of evaluation.

        Returns
        -------
        KroneckerRows
            ``N·C`` rows; row ``nC + c`` is :math:`J_n^\top\sqrt{p_{nc}}(e_c - p_n)`,
            normaliser ``N``, so that :math:`\frac1N U^\top U` is the Gauss–Newton matrix.
        """
        W, acts, _, _ = self._forward(x)
        p = mlp.softmax(acts[-1])
        N, C = p.shape
        B = np.sqrt(p)[:, :, None] * (np.eye(C)[None, :, :] - p[:, None, :])   # (N, C, C)
        sample = np.repeat(np.arange(N), C)
        return KroneckerRows(acts[:-1], mlp.deltas(W, acts, B.reshape(N * C, C), sample),
                             N, sample)


class NetworkLossProblem(ObjectiveProblem):
    """Prune a trained network to one network-wide budget against its loss.

    Parameters
    ----------
    objective : NetworkLoss
        The network's loss on calibration data (its ``theta0`` is the dense point).
    sparsity : float in [0, 1)
        Fraction of **all** weights pruned (biases are not pruned): ``k = n −
        ⌊s·n + ½⌋`` weights are kept, wherever the saliencies put them.

    Attributes
    ----------
    n : int
        Number of weights.
    k : int
        Weights kept.
    fraction : float
        The pruned fraction.

    Notes
    -----
    An :class:`~.objective.ObjectiveProblem` whose starting point is the dense
    network (not zeros), so every one-shot pruner prunes it without ``x0``.
    The history's objective is the calibration loss.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> f = NetworkLoss([rng.standard_normal((4, 3)), rng.standard_normal((3, 2))],
    ...                 [np.zeros(3), np.zeros(2)], rng.standard_normal((5, 4)),
    ...                 np.array([0, 1, 0, 1, 1]))
    >>> p = NetworkLossProblem(f, 0.5)
    >>> p.k, [round(d, 2) for d in p.layer_densities(p.default_start())]
    (9, [1.0, 1.0])
    """

    def __init__(self, objective, sparsity):
        if not isinstance(objective, NetworkLoss):
            raise TypeError("The 'objective' argument of NetworkLossProblem must be a "
                            f"NetworkLoss; got {type(objective).__name__}.")
        self.fraction = self._check_fraction(sparsity)
        n = objective.n
        k = n - n_pruned(n, self.fraction)
        if k < 1:
            raise param_error("sparsity", "NetworkLossProblem",
                              f"a fraction that keeps at least one of the {n} weights", sparsity)
        super().__init__(objective, k)

    @staticmethod
    def _check_fraction(sparsity):
        if isinstance(sparsity, (bool, np.bool_)) or not isinstance(sparsity, (int, float,
                                                                             np.floating,
                                                                             np.integer)):
            raise param_error("sparsity", "NetworkLossProblem", "a float in [0, 1)", sparsity,
                              TypeError)
        s = float(sparsity)
        if not (np.isfinite(s) and 0.0 <= s < 1.0):
            raise param_error("sparsity", "NetworkLossProblem", "a float in [0, 1)", sparsity)
        return s

    @classmethod
    def from_network(cls, weights, biases, X, y, sparsity):
        """Build the problem from weights, biases and labelled calibration data.

        Parameters
        ----------
        weights : list of ndarray
            ``weights[l]`` of shape (d_l, d_{l+1}).
        biases : list of ndarray
            ``biases[l]`` of shape (d_{l+1},).
        X : ndarray of shape (N, d_0)
            Calibration inputs.
        y : ndarray of int of shape (N,)
            Their labels.
        sparsity : float in [0, 1)
            Fraction of all weights pruned.

        Returns
        -------
        NetworkLossProblem
            The problem.
        """
        return cls(NetworkLoss(weights, biases, X, y), sparsity)

    def default_start(self):
        return self.objective.theta0.copy()[:, None]

    def with_sparsity(self, sparsity):
        """Return a copy with another network-wide sparsity (the objective is shared).

        Parameters
        ----------
        sparsity : float in [0, 1)
            The new pruned fraction.

        Returns
        -------
        NetworkLossProblem
            The copy.
        """
        return type(self)(self.objective, sparsity)

    @property
    def n_layers(self):
        """Number of layers."""
        return len(self.objective.shapes)

    def split(self, theta):
        """Split a weight vector into the weight matrices (copies).

        Parameters
        ----------
        theta : ndarray of shape (n,) or (n, 1)
            All weights.

        Returns
        -------
        list of ndarray
            One matrix per layer.
        """
        return [W.copy() for W in self.objective.unpack(np.ravel(theta))]

    def layer_densities(self, theta):
        """Fraction of nonzero weights in every layer: the levels a global budget chose.

        Parameters
        ----------
        theta : ndarray of shape (n,) or (n, 1)
            All weights.

        Returns
        -------
        list of float
            The density of each layer.
        """
        theta = np.ravel(theta)
        off = self.objective.offsets
        return [float(np.count_nonzero(theta[off[l]:off[l + 1]])) / float(off[l + 1] - off[l])
                for l in range(self.n_layers)]

    def __repr__(self):
        sizes = [self.objective.shapes[0][0]] + [s[1] for s in self.objective.shapes]
        return (f"NetworkLossProblem({'-'.join(map(str, sizes))}, n={self.n}, "
                f"N={self.objective.y.size}, sparsity={self.fraction:g})")

