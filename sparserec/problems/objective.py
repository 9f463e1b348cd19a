r"""Smooth objectives for k-sparse minimisation beyond least squares.

An :class:`Objective` ``f : ℝⁿ → ℝ`` exposes ``value(x)``, ``gradient(x)``,
``hessian(x)`` (dense ``n × n``) and ``hvp(x, v)``. An
:class:`ObjectiveProblem` pairs it with a target sparsity ``k``:

.. math::  \min_x f(x) \quad \text{s.t.}\quad \|x\|_0 \le k .

Shipped objectives: :class:`LogisticRegression` (sparse logistic regression)
and :class:`Quadratic` (``½xᵀHx − bᵀx``, the Gram form). :class:`GramProblem`
is the Gram-form problem ``(H, b, k)`` of a layer (``H = XᵀX``, ``b = Xᵀy``).

The I-OBS solvers (``solvers.get("iobs")``, ``"topk_iobs"``) and the one-shot
pruners accept an ObjectiveProblem; with ``curvature="exact"`` they use the
(damped) Hessian at the current point.
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit

from .._validation import as_real_array, check_int, check_real
from .base import SparseProblem
from .sparsity import Sparsity

__all__ = ["Objective", "LogisticRegression", "Quadratic", "ObjectiveProblem", "GramProblem"]


class Objective:
    """A twice-differentiable function of ``x ∈ ℝⁿ`` (1-D arrays).

    Subclasses implement :meth:`value`, :meth:`gradient` and :meth:`hessian`;
    :meth:`hvp` defaults to ``hessian(x) @ v``.

    Attributes
    ----------
    n : int
        Number of variables.
    quadratic : bool
        True when the Hessian does not depend on ``x``.
    """

    n = None
    quadratic = False

    def value(self, x):
        """Evaluate ``f(x)``.

        Parameters
        ----------
        x : ndarray of shape (n,)
            Point of evaluation.

        Returns
        -------
        float
            The value ``f(x)``.
        """
        raise NotImplementedError

    def gradient(self, x):
        """Evaluate the gradient ``∇f(x)``.

        Parameters
        ----------
        x : ndarray of shape (n,)
            Point of evaluation.

        Returns
        -------
        ndarray of shape (n,)
            The gradient.
        """
        raise NotImplementedError

    def hessian(self, x):
        """Evaluate the Hessian ``∇²f(x)``.

        Parameters
        ----------
        x : ndarray of shape (n,)
            Point of evaluation.

        Returns
        -------
        ndarray of shape (n, n)
            The (symmetric) Hessian.
        """
        raise NotImplementedError

    def hvp(self, x, v):
        """Compute the Hessian-vector product ``∇²f(x) v``.

        Parameters
        ----------
        x : ndarray of shape (n,)
            Point of evaluation.
        v : ndarray of shape (n,)
            Direction.

        Returns
        -------
        ndarray of shape (n,)
            The product (``hessian(x) @ v`` unless a subclass does better).
        """
        return self.hessian(x) @ v


class LogisticRegression(Objective):
    r"""Mean logistic loss with an optional ridge term.

    Parameters
    ----------
    X : ndarray of shape (N, n)
        Features (one sample per row).
    labels : ndarray of shape (N,)
        Labels in {0, 1} or {−1, +1}.
    l2 : float, default=0.0
        Ridge coefficient ``μ ≥ 0``.

    Notes
    -----
    With :math:`s_i = \pm 1` and :math:`t_i = s_i x_i^\top\theta`,

    .. math::  f(\theta) = \frac1N\sum_i \log(1 + e^{-t_i}) + \frac\mu2\|\theta\|^2,\qquad
               \nabla f = -\frac1N X^\top (s \odot \sigma(-t)) + \mu\theta,\qquad
               \nabla^2 f = \frac1N X^\top D X + \mu I,

    with :math:`D = \mathrm{diag}(\sigma(t)\sigma(-t))`. Computed with
    ``log_expit``/``expit`` (no overflow).

    Examples
    --------
    >>> import numpy as np
    >>> f = LogisticRegression(np.eye(2), np.array([1, 0]))
    >>> bool(np.isclose(f.value(np.zeros(2)), np.log(2)))
    True
    """

    def __init__(self, X, labels, *, l2=0.0):
        X = as_real_array(X, "X", "LogisticRegression", ndim=(2,)).astype(np.float64)
        lab = as_real_array(labels, "labels", "LogisticRegression", ndim=(1,))
        if lab.shape[0] != X.shape[0]:
            raise ValueError(f"The 'labels' argument of LogisticRegression must have {X.shape[0]} "
                             f"entries to match 'X'; got {lab.shape[0]}.")
        vals = set(np.unique(lab).tolist())
        if vals <= {0.0, 1.0}:
            s = 2.0 * lab - 1.0
        elif vals <= {-1.0, 1.0}:
            s = lab.astype(np.float64)
        else:
            raise ValueError("The 'labels' argument of LogisticRegression must take values in "
                             f"{{0, 1}} or {{-1, +1}}; got values {sorted(vals)[:5]}.")
        self.X = X
        self.s = s
        self.l2 = check_real(l2, "l2", "LogisticRegression", low=0.0)
        self.N, self.n = X.shape

    def value(self, x):
        t = self.s * (self.X @ x)
        return float(-np.mean(log_expit(t)) + 0.5 * self.l2 * (x @ x))

    def gradient(self, x):
        t = self.s * (self.X @ x)
        return -(self.X.T @ (self.s * expit(-t))) / self.N + self.l2 * x

    def sample_gradients(self, x):
        r"""Per-sample gradients of the logistic loss (the rows of the empirical Fisher).

        Parameters
        ----------
        x : ndarray of shape (n,)
            Point of evaluation.

        Returns
        -------
        ndarray of shape (N, n)
            Row ``i`` is :math:`\nabla_\theta \log(1 + e^{-t_i}) = -s_i\sigma(-t_i)x_i`
            (the ridge term is not included: it carries no sample information).
        """
        t = self.s * (self.X @ x)
        return -(self.s * expit(-t))[:, None] * self.X

    def hessian(self, x):
        t = self.X @ x
        w = expit(t) * expit(-t) / self.N
        H = (self.X.T * w) @ self.X
        H[np.diag_indices_from(H)] += self.l2
        return H

    def hvp(self, x, v):
        t = self.X @ x
        w = expit(t) * expit(-t) / self.N
        return self.X.T @ (w * (self.X @ v)) + self.l2 * v


class Quadratic(Objective):
    r"""Quadratic ``f(x) = ½ xᵀHx − bᵀx + c`` (Gram form; ``H`` symmetric PSD).

    For a least-squares problem, ``H = AᵀA``, ``b = Aᵀy`` and ``c = ½‖y‖²``
    give ``f(x) = ½‖Ax − y‖²``.

    Parameters
    ----------
    H : ndarray of shape (n, n)
        Symmetric positive semi-definite matrix (the Hessian).
    b : ndarray of shape (n,)
        Linear term.
    c : float, default=0.0
        Constant term.

    Examples
    --------
    >>> import numpy as np
    >>> f = Quadratic(np.eye(2), np.array([1.0, 2.0]))
    >>> f.value(np.array([1.0, 2.0])), f.gradient(np.array([1.0, 2.0])).tolist()
    (-2.5, [0.0, 0.0])
    """

    quadratic = True

    def __init__(self, H, b, c=0.0):
        H = as_real_array(H, "H", "Quadratic", ndim=(2,)).astype(np.float64)
        b = as_real_array(b, "b", "Quadratic", ndim=(1,)).astype(np.float64)
        if H.shape != (b.size, b.size):
            raise ValueError(f"The 'H' argument of Quadratic must have shape ({b.size}, {b.size}) "
                             f"to match 'b'; got {H.shape}.")
        self.H, self.b, self.c = H, b, float(c)
        self.n = b.size

    def value(self, x):
        return float(0.5 * x @ (self.H @ x) - self.b @ x + self.c)

    def gradient(self, x):
        return self.H @ x - self.b

    def hessian(self, x):
        return self.H

    def hvp(self, x, v):
        return self.H @ v


class ObjectiveProblem(SparseProblem):
    """Sparse minimisation (at most k nonzeros) of a smooth :class:`Objective`, one signal.

    Parameters
    ----------
    objective : Objective
        The function to minimise.
    k : int
        Target sparsity, ``1 <= k <= n``.
    x_true : ndarray of shape (n,), optional
        Ground truth (metrics only).

    Attributes
    ----------
    n : int
        Number of variables (``objective.n``).
    n_signals : int
        Always 1.
    """

    multi = False
    n_signals = 1
    #: the history's ``residual_norm`` is ``‖∇f(x)‖`` here
    residual_name = "gradient norm"

    def __init__(self, objective, k, *, x_true=None):
        if not isinstance(objective, Objective):
            raise TypeError("The 'objective' argument of ObjectiveProblem must be an Objective; "
                            f"got {type(objective).__name__}.")
        self.objective = objective
        self.n = int(objective.n)
        self.k = check_int(k, "k", "ObjectiveProblem", low=1, high=self.n,
                           expected=f"an int in [1, n_features={self.n}]")
        if x_true is not None:
            x_true = as_real_array(x_true, "x_true", "ObjectiveProblem", ndim=(1,))
            if x_true.shape != (self.n,):
                raise ValueError(f"The 'x_true' argument of ObjectiveProblem must have shape "
                                 f"({self.n},); got {x_true.shape}.")
        self.x_true = x_true
        self.dtype = np.dtype(np.float64)
        self.sparsity = Sparsity.per_column(self.k, self.n, 1)

    # ------------------------------------------------------ loop protocol
    def init_state(self, X0):
        X0 = np.asarray(X0, dtype=np.float64)
        return {"X": X0, "G": self.objective.gradient(X0[:, 0])[:, None]}

    def measure(self, state):
        x = state["X"][:, 0]
        # user code may overflow far from the data's scale: the loop tests finiteness
        with np.errstate(over="ignore", invalid="ignore"):
            g = self.objective.gradient(x)
            state["G"] = g[:, None]
            return np.array([self.objective.value(x)]), np.array([float(np.linalg.norm(g))])

    def refresh(self, state, cols=None):
        state["G"] = self.objective.gradient(state["X"][:, 0])[:, None]

    def gradient_at(self, state):
        return state["G"]

    def __repr__(self):
        return f"ObjectiveProblem({type(self.objective).__name__}, n={self.n}, k={self.k})"


class GramProblem(ObjectiveProblem):
    """Gram-form k-sparse problem ``min ½xᵀHx − bᵀx`` (a layer: ``H = XᵀX``, ``b = Xᵀy``).

    Parameters
    ----------
    H : ndarray of shape (d, d)
        Gram matrix (symmetric positive semi-definite).
    b : ndarray of shape (d,)
        Linear term (``Xᵀy`` for a layer).
    k : int
        Target sparsity, ``1 <= k <= d``.
    c : float, default=0.0
        Constant (``½‖y‖²`` makes the objective equal ``½‖Xx − y‖²``).
    x_true : ndarray of shape (d,), optional
        Ground truth (metrics only).

    Attributes
    ----------
    H, b : ndarray
        The data (``ExactGram.fit(problem)`` takes ``H`` from here).
    """

    def __init__(self, H, b, k, *, c=0.0, x_true=None):
        super().__init__(Quadratic(H, b, c), k, x_true=x_true)
        self.H = self.objective.H
        self.b = self.objective.b

    def __repr__(self):
        return f"GramProblem(d={self.n}, k={self.k})"
