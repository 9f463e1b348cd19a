"""Bad input to the smaller public entry points: one clear error naming the parameter."""
import numpy as np
import pytest

from sparserec.ensembles import make_problem, sparse_signal
from sparserec.metrics import support_precision, support_recall
from sparserec.sklearn import SparseRegressor
from sparserec.theory import donoho_tanner


@pytest.mark.parametrize("delta", [1j, "0.5", True, [0.5, 2j]])
def test_donoho_tanner_non_real_delta(delta):
    with pytest.raises(TypeError, match="The 'delta' argument of donoho_tanner must be a real"):
        donoho_tanner(delta)


@pytest.mark.parametrize("delta", [0.0, -0.1, 1.5, np.nan])
def test_donoho_tanner_delta_out_of_range(delta):
    with pytest.raises(ValueError, match=r"The 'delta' argument of donoho_tanner must be in \(0, 1\]"):
        donoho_tanner(delta)


@pytest.mark.parametrize("signed", ["no", None, 1])
def test_donoho_tanner_signed_must_be_bool(signed):
    with pytest.raises(TypeError, match="The 'signed' argument of donoho_tanner must be a bool"):
        donoho_tanner(0.5, signed=signed)


@pytest.mark.parametrize("fn", [support_precision, support_recall])
@pytest.mark.parametrize("atol", [-1.0, np.nan])
def test_support_metrics_atol(fn, atol):
    with pytest.raises(ValueError, match="The 'atol' parameter of support_"):
        fn([1.0, 0.0], [1.0, 0.0], atol=atol)


def test_negative_seed():
    with pytest.raises(ValueError, match="The 'rng' argument must be a non-negative int seed"):
        sparse_signal(10, 2, rng=-1)


def test_make_problem_matrix_parameter_that_does_not_apply():
    with pytest.raises(ValueError, match="The 'kappa' parameter of make_problem does not apply"):
        make_problem(10, 20, 3, matrix="gaussian", kappa=3.0)
    make_problem(10, 20, 3, matrix="conditioned", kappa=3.0, seed=0)  # applies: accepted


def test_sparse_regressor_parameter_types():
    X = np.random.default_rng(0).standard_normal((20, 5))
    y = X[:, 0]
    with pytest.raises(TypeError, match="The 'fit_intercept' parameter of SparseRegressor"):
        SparseRegressor("htp", k=1, fit_intercept="yes").fit(X, y)
    with pytest.raises(TypeError, match="The 'k' parameter of SparseRegressor"):
        SparseRegressor("htp", k=1.5).fit(X, y)
