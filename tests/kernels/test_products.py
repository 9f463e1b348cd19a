"""The row-sparse product kernel against its NumPy twin and the dense product."""
from __future__ import annotations

import numpy as np
import pytest

from sparserec.kernels.products import (column_combination, column_combination_numba,
                                        column_combination_numpy)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("s", [0, 1, 7, 40])
def test_kernel_equals_twin_and_dense_product(dtype, s):
    rng = np.random.default_rng(s)
    A = np.asfortranarray(rng.standard_normal((30, 50)).astype(dtype))
    rows = np.sort(rng.choice(50, s, replace=False))
    x = np.zeros(50, dtype=dtype)
    x[rows] = rng.standard_normal(s)
    got = column_combination_numba(A, rows, x)
    assert got.dtype == dtype
    # the same sums in another order: a few ulps of the largest partial sum
    tol = 50 * np.finfo(dtype).eps * max(1.0, np.abs(A).max() * np.abs(x).sum())
    np.testing.assert_allclose(got, column_combination_numpy(A, rows, x), rtol=0, atol=tol)
    np.testing.assert_allclose(got, A @ x, rtol=0, atol=tol)


def test_dispatch_uses_the_twin_for_row_major_or_mixed_dtypes():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((6, 9))                       # C order: the NumPy twin
    rows = np.array([1, 4])
    x = np.zeros(9)
    x[rows] = [2.0, -1.0]
    np.testing.assert_allclose(column_combination(A, rows, x), A @ x, atol=1e-14)
    x32 = x.astype(np.float32)                            # mixed dtypes: the twin too
    np.testing.assert_allclose(column_combination(np.asfortranarray(A), rows, x32), A @ x,
                               atol=1e-6)


def test_kernel_accepts_non_int64_rows():
    A = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    x = np.array([0.0, 1.0, 0.0, 2.0])
    rows = np.array([1, 3], dtype=np.int32)
    np.testing.assert_array_equal(column_combination_numba(A, rows, x), A @ x)
