"""Argument checking shared by every public entry point.

All messages follow one template, so users (and tests) can rely on it::

    The 'k' parameter of IHT must be an int in [1, n_features]; got 0.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "param_error",
    "check_int",
    "check_real",
    "check_choice",
    "as_real_array",
]


def param_error(name, owner, expected, got, cls=ValueError):
    """Build the standard parameter error (not raised: the caller raises it)."""
    return cls(f"The {name!r} parameter of {owner} must be {expected}; got {got!r}.")


def check_int(value, name, owner, *, low=None, high=None, expected=None):
    """Check that ``value`` is an integer in ``[low, high]`` and return it as ``int``."""
    if expected is None:
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        expected = f"an int in [{lo}, {hi}]"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise param_error(name, owner, expected, value, TypeError)
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise param_error(name, owner, expected, value)
    return value


def check_real(value, name, owner, *, low=None, high=None, low_open=False,
               high_open=False, expected=None):
    """Check that ``value`` is a finite real number in the given interval."""
    if expected is None:
        lb = "(" if low_open else "["
        rb = ")" if high_open else "]"
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        expected = f"a finite real number in {lb}{lo}, {hi}{rb}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise param_error(name, owner, expected, value, TypeError)
    value = float(value)
    bad = not np.isfinite(value)
    if low is not None:
        bad |= value <= low if low_open else value < low
    if high is not None:
        bad |= value >= high if high_open else value > high
    if bad:
        raise param_error(name, owner, expected, value)
    return value


def check_choice(value, name, owner, choices):
    """Check that ``value`` is one of ``choices`` (strings)."""
    if value not in choices:
        expected = "one of " + ", ".join(repr(c) for c in choices)
        raise param_error(name, owner, expected, value)
    return value


def as_real_array(x, name, owner="Problem", *, ndim=(1, 2), dtype=None,
                  allow_empty=False):
    """Convert ``x`` to a real floating ndarray and check it.

    Integer and boolean input is converted to float64; float32 stays float32
    unless ``dtype`` is given. Complex input, object arrays, NaN/Inf and empty
    arrays are refused with a message naming ``name``. The input is never
    modified, and read-only arrays are accepted (no copy is made when the
    dtype already fits).
    """
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"The {name!r} argument of {owner} must be array-like; "
                        f"got {type(x).__name__} ({exc}).") from None
    if np.iscomplexobj(arr):
        raise TypeError(f"The {name!r} argument of {owner} must be real; got complex "
                        f"dtype {arr.dtype}. Split real and imaginary parts, or use "
                        "a real formulation.")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"The {name!r} argument of {owner} must be a real numeric "
                        f"array; got dtype {arr.dtype}.")
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    elif arr.dtype.kind != "f" or arr.dtype.itemsize < 4 or arr.dtype == np.float16:
        arr = arr.astype(np.float64)
    elif arr.dtype.itemsize > 8:
        arr = arr.astype(np.float64)
    if arr.ndim not in ndim:
        want = " or ".join(f"{d}-D" for d in ndim)
        raise ValueError(f"The {name!r} argument of {owner} must be {want}; got "
                         f"shape {arr.shape}.")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"The {name!r} argument of {owner} must be non-empty; got "
                         f"shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"The {name!r} argument of {owner} contains NaN or Inf; "
                         "all entries must be finite.")
    return arr
