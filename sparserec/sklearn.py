"""The scikit-learn estimator API over any registered least-squares solver."""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .problems import Problem
from . import solvers as _solvers

__all__ = ["SparseRegressor"]


class SparseRegressor(RegressorMixin, BaseEstimator):
    """Sparse linear regression (at most k nonzero coefficients) with any sparserec solver.

    Parameters
    ----------
    solver : str, default="iht"
        Registry name of a solver that accepts a least-squares
        :class:`~sparserec.Problem` (see ``sparserec.solvers.available()``).
    k : int or None, default=None
        Number of nonzero coefficients. None means 10% of the features, at
        least 1 (the same default as :class:`sklearn.linear_model.OrthogonalMatchingPursuit`).
    fit_intercept : bool, default=True
        Center ``X`` and ``y`` before solving and fit an unpenalised intercept.
    **solver_params
        Hyperparameters passed to the solver (``max_iter``, ``tol``, ``step``,
        ``selection`` ...). They are part of ``get_params`` and can be grid-searched.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
    intercept_ : float or ndarray of shape (n_targets,)
    support_ : ndarray of bool, same shape as ``coef_``
    n_iter_ : int or ndarray of shape (n_targets,)
    result_ : sparserec.solvers.Result
        The full solver result (history, status, timings).

    Notes
    -----
    Fits :math:`\\min_{\\beta} \\tfrac12\\|X_c\\beta - y_c\\|^2` subject to
    :math:`\\|\\beta\\|_0 \\le k` on centered data, then sets
    :math:`b = \\bar y - \\bar x^\\top \\beta`. A design that is constant after
    centering gives ``coef_ = 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from sparserec.sklearn import SparseRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 20)); beta = np.zeros(20); beta[[2, 7]] = [1.5, -2.0]
    >>> est = SparseRegressor("htp", k=2).fit(X, X @ beta + 3.0)
    >>> np.flatnonzero(est.coef_).tolist(), round(float(est.intercept_), 6)
    ([2, 7], 3.0)
    """

    def __init__(self, solver="iht", k=None, *, fit_intercept=True, **solver_params):
        self.solver = solver
        self.k = k
        self.fit_intercept = fit_intercept
        for key, val in solver_params.items():
            setattr(self, key, val)
        self._solver_param_names = tuple(solver_params)

    # -- parameters: the fixed ones plus whatever solver parameters were given
    def get_params(self, deep=True):
        """Get the estimator's parameters, solver hyperparameters included.

        Parameters
        ----------
        deep : bool, default=True
            Accepted for scikit-learn compatibility; there are no nested
            estimators.

        Returns
        -------
        dict
            ``solver``, ``k``, ``fit_intercept`` and every solver
            hyperparameter given to the constructor or to :meth:`set_params`.
        """
        params = {"solver": self.solver, "k": self.k, "fit_intercept": self.fit_intercept}
        for key in getattr(self, "_solver_param_names", ()):
            params[key] = getattr(self, key)
        return params

    def set_params(self, **params):
        """Set parameters; unknown names become solver hyperparameters.

        Parameters
        ----------
        **params
            New values of ``solver``, ``k``, ``fit_intercept`` or of solver
            hyperparameters (checked by the solver at :meth:`fit`).

        Returns
        -------
        SparseRegressor
            The estimator itself.
        """
        names = list(getattr(self, "_solver_param_names", ()))
        for key, val in params.items():
            if key not in ("solver", "k", "fit_intercept") and key not in names:
                names.append(key)
            setattr(self, key, val)
        self._solver_param_names = tuple(n for n in names if n not in ("solver", "k", "fit_intercept"))
        return self

    def _make_solver(self):
        params = {key: getattr(self, key) for key in self._solver_param_names}
        return _solvers.get(self.solver, **params)

    def fit(self, X, y):
        """Fit the sparse linear model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training design matrix.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets; one solve per target column, with a shared ``k``.

        Returns
        -------
        SparseRegressor
            The fitted estimator itself.
        """
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True,
                             dtype=[np.float64, np.float32])
        n_features = X.shape[1]
        if not isinstance(self.fit_intercept, (bool, np.bool_)):
            raise TypeError("The 'fit_intercept' parameter of SparseRegressor must be a bool; "
                            f"got {self.fit_intercept!r}.")
        k = max(int(0.1 * n_features), 1) if self.k is None else self.k
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
            raise TypeError(f"The 'k' parameter of SparseRegressor must be None or an int in "
                            f"[1, n_features={n_features}]; got {k!r}.")
        if not 1 <= k <= n_features:
            raise ValueError(f"The 'k' parameter of SparseRegressor must be None or an int in "
                             f"[1, n_features={n_features}]; got {k!r}.")
        solver = self._make_solver()
        if self.fit_intercept:
            x_mean = X.mean(axis=0)
            y_mean = y.mean(axis=0)
            Xc, yc = X - x_mean, y - y_mean
        else:
            Xc, yc = X, y
        Y = yc if yc.ndim == 2 else yc[:, None]
        if not np.any(Xc):  # constant design: nothing to select
            coef = np.zeros((n_features, Y.shape[1]))
            self.n_iter_ = 0
            self.result_ = None
        else:
            res = solver.solve(Problem(Xc, yc, int(k)))
            coef = np.asarray(res.x, dtype=np.float64).reshape(n_features, -1)
            self.n_iter_ = res.n_iter
            self.result_ = res
        coef = coef.T  # (n_targets, n_features)
        if y.ndim == 1:
            coef = coef[0]
        self.coef_ = coef
        self.support_ = coef != 0
        if self.fit_intercept:
            self.intercept_ = y_mean - (x_mean @ coef.T)
        else:
            self.intercept_ = 0.0 if y.ndim == 1 else np.zeros(y.shape[1])
        return self

    def predict(self, X):
        """Predict ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predicted values.
        """
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return X @ np.asarray(self.coef_).T + self.intercept_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
