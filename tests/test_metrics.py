"""Recovery metrics on hand-made cases (values computed by hand in the comments)."""
from __future__ import annotations

import numpy as np
import pytest

from sparserec.metrics import (DEFAULT_SUCCESS_THRESHOLD, relative_error, success,
                               support_precision, support_recall)


def test_relative_error_vector():
    # ||(1,0) - (2,0)|| / ||(2,0)|| = 1/2, exactly representable.
    assert relative_error([1.0, 0.0], [2.0, 0.0]) == 0.5
    # ||(3,4) - 0|| ... truth (0, 0) -> absolute error 5.
    assert relative_error([3.0, 4.0], [0.0, 0.0]) == 5.0
    assert relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert isinstance(relative_error([1.0], [2.0]), float)


def test_relative_error_columns():
    x_true = np.array([[3.0, 0.0], [4.0, 0.0]])
    x = np.array([[3.0, 1.0], [0.0, 0.0]])
    # column 0: ||(0,4)||/||(3,4)|| = 4/5; column 1: truth 0 -> ||(1,0)|| = 1.
    np.testing.assert_allclose(relative_error(x, x_true), [0.8, 1.0], rtol=1e-15)


def test_relative_error_shape_mismatch():
    with pytest.raises(ValueError, match=r"The 'x' argument of relative_error must have the shape "
                                         r"of 'x_true' \(3,\); got \(2,\)\."):
        relative_error([1.0, 2.0], [1.0, 2.0, 3.0])


def test_relative_error_nan():
    with pytest.raises(ValueError, match="The 'x' argument of relative_error contains NaN or Inf"):
        relative_error([np.nan, 1.0], [1.0, 1.0])


def test_support_precision_recall():
    x = np.array([1.0, 0.0, 1.0, 0.0])
    x_true = np.array([1.0, 1.0, 0.0, 0.0])
    # recovered {0, 2}, true {0, 1}: one hit out of two on each side.
    assert support_precision(x, x_true) == 0.5
    assert support_recall(x, x_true) == 0.5
    x = np.array([5.0, -2.0, 0.0, 0.0])
    assert support_precision(x, x_true) == 1.0  # {0,1} subset of {0,1}
    assert support_recall(x, x_true) == 1.0
    x = np.array([5.0, 0.0, 0.0, 3.0])
    assert support_precision(x, x_true) == 0.5  # {0,3}: only 0 is true
    assert support_recall(x, x_true) == 0.5


def test_support_atol():
    x = np.array([1.0, 1e-9, 0.0])
    x_true = np.array([1.0, 0.0, 0.0])
    assert support_precision(x, x_true) == 0.5             # 1e-9 counts as claimed
    assert support_precision(x, x_true, atol=1e-6) == 1.0  # and not with atol


def test_support_degenerate():
    # Nothing claimed: precision 1; nothing to find: recall 1.
    assert support_precision(np.zeros(3), np.array([1.0, 0.0, 0.0])) == 1.0
    assert support_recall(np.array([1.0, 0.0, 0.0]), np.zeros(3)) == 1.0
    assert support_recall(np.zeros(3), np.array([1.0, 0.0, 0.0])) == 0.0


def test_support_columns():
    x_true = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    x = np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    # col 0: recovered {0,2}, true {0,1}; col 1: recovered {2}, true {0,2}.
    np.testing.assert_array_equal(support_precision(x, x_true), [0.5, 1.0])
    np.testing.assert_array_equal(support_recall(x, x_true), [0.5, 0.5])


def test_success():
    assert DEFAULT_SUCCESS_THRESHOLD == 1e-3
    assert success([1.0, 0.0], [1.0, 0.0]) is True
    assert success([1.0005, 0.0], [1.0, 0.0]) is True     # rel error 5e-4
    assert success([1.002, 0.0], [1.0, 0.0]) is False     # rel error 2e-3
    assert success([1.002, 0.0], [1.0, 0.0], threshold=1e-2) is True
    x_true = np.array([[1.0, 1.0], [0.0, 0.0]])
    np.testing.assert_array_equal(success(np.array([[1.0, 2.0], [0.0, 0.0]]), x_true),
                                  [True, False])


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_success_bad_threshold(bad):
    with pytest.raises(ValueError, match=r"The 'threshold' parameter of success must be a finite "
                                         rf"real number in \(0\.0, inf\]; got {bad!r}\."):
        success([1.0], [1.0], threshold=bad)


def test_metrics_accept_read_only():
    x = np.array([1.0, 0.0])
    x.flags.writeable = False
    assert relative_error(x, x) == 0.0
    assert support_recall(x, x) == 1.0
