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
    solver_params : dict or None, default=None
        Hyperparameters of the solver (``max_iter``, ``tol``, ``step``,
        ``selection`` ...), passed as ``sparserec.solvers.get(solver,
        **solver_params)``. One parameter of the estimator, as scikit-learn
        does for nested parameters: a grid search over solvers pairs each
        solver with its own dicts (see Examples), and changing ``solver``
        never keeps another solver's parameters by accident. Unknown names are
        reported by :meth:`fit`.
    fit_intercept : bool, default=True
        Center ``X`` and ``y`` before solving and fit an unpenalised intercept.

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

    A grid search over two solvers, each with its own parameters:

    >>> from sklearn.model_selection import GridSearchCV
    >>> grid = [{"solver": ["iht"], "solver_params": [{"step": None}, {"step": "normalized"}]},
    ...         {"solver": ["omp"], "solver_params": [{"precompute": True}]}]
    >>> search = GridSearchCV(SparseRegressor(k=2), grid, cv=3).fit(X, X @ beta + 3.0)
    >>> len(search.cv_results_["params"])
    3
    """

    def __init__(self, solver="iht", k=None, *, solver_params=None, fit_intercept=True):
        self.solver = solver
        self.k = k
        self.solver_params = solver_params
        self.fit_intercept = fit_intercept

    def _make_solver(self):
        params = self.solver_params
        if params is None:
            params = {}
        if not isinstance(params, dict) or not all(isinstance(key, str) for key in params):
            raise TypeError("The 'solver_params' parameter of SparseRegressor must be None or "
                            f"a dict of parameter names to values; got {params!r}.")
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
