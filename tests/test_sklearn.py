"""The scikit-learn estimator: API compliance, pipelines, grid search, and agreement with OMP."""
import numpy as np
import pytest
from sklearn.linear_model import OrthogonalMatchingPursuit
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

from sparserec.sklearn import SparseRegressor

# Checks that cannot run here, with the reason (check_estimator reports them as skipped).
EXPECTED_SKIPS = {
    "check_array_api_input": "needs SCIPY_ARRAY_API=1 and an array-API library; the "
                             "solvers are NumPy-only",
}


def _data(seed=0, n=120, p=30, support=(3, 11, 19), noise=0.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    beta = np.zeros(p)
    beta[list(support)] = [2.0, -1.5, 1.0]
    return X, X @ beta + 0.7 + noise * rng.standard_normal(n), beta


@pytest.mark.parametrize("solver", ["iht", "htp"])
def test_check_estimator(solver):
    results = check_estimator(SparseRegressor(solver), on_fail=None)
    bad = {r["check_name"]: r for r in results if r["status"] != "passed"}
    for name, r in bad.items():
        assert r["status"] == "skipped" and name in EXPECTED_SKIPS, (name, r["exception"])


def test_default_k_is_ten_percent_like_sklearn_omp():
    X, y, _ = _data(p=30)
    est = SparseRegressor("htp").fit(X, y)
    assert np.count_nonzero(est.coef_) <= 3  # max(int(0.1 * 30), 1) = 3
    X2, y2, _ = _data(p=5, support=(0, 1, 2))
    assert np.count_nonzero(SparseRegressor("htp").fit(X2, y2).coef_) == 1


def test_recovers_support_and_intercept():
    X, y, beta = _data()
    est = SparseRegressor("htp", k=3).fit(X, y)
    np.testing.assert_array_equal(est.support_, beta != 0)
    # noiseless and overdetermined on the support: the refit is exact up to roundoff
    np.testing.assert_allclose(est.coef_, beta, atol=1e-10)
    assert abs(est.intercept_ - 0.7) < 1e-10
    assert est.score(X, y) > 1 - 1e-12


def test_matches_sklearn_omp():
    X, y, _ = _data(noise=0.1, seed=3)
    ours = SparseRegressor("htp", k=3).fit(X, y)
    ref = OrthogonalMatchingPursuit(n_nonzero_coefs=3).fit(X, y)
    # both are least squares on the same selected support: roundoff-level agreement
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-10)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-10)


def test_pipeline_and_gridsearch_over_k_and_solver():
    X, y, _ = _data(noise=0.3, seed=1)
    pipe = make_pipeline(StandardScaler(), SparseRegressor())
    grid = GridSearchCV(pipe, {"sparseregressor__k": [1, 3, 6],
                               "sparseregressor__solver": ["iht", "htp"]}, cv=3)
    grid.fit(X, y)
    assert grid.best_params_["sparseregressor__k"] == 3  # the true sparsity wins on CV
    assert grid.best_score_ > 0.9


def test_solver_params_roundtrip():
    est = SparseRegressor("iht", k=2, solver_params={"step": "normalized", "max_iter": 50})
    params = est.get_params()
    assert params["solver_params"] == {"step": "normalized", "max_iter": 50}
    est.set_params(solver_params={"step": "normalized", "max_iter": 20})
    X, y, _ = _data()
    est.fit(X, y)
    assert est.n_iter_ <= 20
    assert est.result_ is not None


def test_unknown_parameters_fail_at_once_or_name_the_solver():
    # The reproducer: set_params(kk=4) was accepted and only failed at fit.
    est = SparseRegressor("iht", k=2)
    with pytest.raises(ValueError, match="Invalid parameter 'kk'"):
        est.set_params(kk=4)
    X, y, _ = _data()
    with pytest.raises(TypeError, match="Unknown parameter 'kk' for solver 'iht'"):
        SparseRegressor("iht", k=2, solver_params={"kk": 4}).fit(X, y)
    with pytest.raises(TypeError, match="'solver_params' parameter of SparseRegressor must be"):
        SparseRegressor("iht", k=2, solver_params=[("max_iter", 4)]).fit(X, y)


def test_switching_solver_keeps_no_stale_parameter():
    # The reproducer: after set_params(solver=...), the first solver's hyperparameters were
    # still passed. Parameters belong to solver_params, which a switch replaces as a whole.
    X, y, _ = _data()
    est = SparseRegressor("iht", k=3, solver_params={"step": "normalized"}).fit(X, y)
    est.set_params(solver="omp", solver_params={"precompute": False}).fit(X, y)
    assert est.result_ is not None and est.get_params()["solver_params"] == {"precompute": False}
    assert "step" not in est.get_params()


def test_gridsearch_over_two_solvers_with_their_own_parameters():
    X, y, beta = _data(noise=0.05, seed=2)
    grid = [{"solver": ["iht"], "solver_params": [{"step": None, "max_iter": 2},
                                                  {"step": "normalized", "max_iter": 500}]},
            {"solver": ["omp"], "solver_params": [{"precompute": True},
                                                  {"precompute": False}]}]
    search = GridSearchCV(SparseRegressor(k=3), grid, cv=3).fit(X, y)
    tried = [(p["solver"], tuple(sorted(p["solver_params"].items())))
             for p in search.cv_results_["params"]]
    assert tried == [("iht", (("max_iter", 2), ("step", None))),
                     ("iht", (("max_iter", 500), ("step", "normalized"))),
                     ("omp", (("precompute", True),)), ("omp", (("precompute", False),))]
    scores = dict(zip(range(4), search.cv_results_["mean_test_score"]))
    # two IHT iterations from zero cannot fit the model; the converged solvers do
    assert scores[0] < 0.9 < min(scores[1], scores[2], scores[3])
    # OMP with and without the precomputed Gram selects the same support: equal scores
    # up to roundoff
    assert abs(scores[2] - scores[3]) < 1e-9
    best = search.best_estimator_
    np.testing.assert_array_equal(best.support_, beta != 0)


def test_multi_output():
    X, y, _ = _data()
    Y = np.column_stack([y, 2 * y])
    est = SparseRegressor("htp", k=3).fit(X, Y)
    assert est.coef_.shape == (2, X.shape[1])
    np.testing.assert_allclose(est.predict(X), Y, atol=1e-9)  # exact model, roundoff only


def test_bad_k_and_bad_solver():
    X, y, _ = _data()
    with pytest.raises(ValueError, match="The 'k' parameter of SparseRegressor"):
        SparseRegressor(k=0).fit(X, y)
    with pytest.raises(ValueError, match="Unknown solver 'nope'; available solvers are"):
        SparseRegressor("nope").fit(X, y)
