"""The seeding contract: a cell's trials draw from its coordinates, never from run order.

Trial ``t`` of a cell draws from
``SeedSequence(entropy=seed, spawn_key=(*coords_key(coords), t))``, where
:func:`coords_key` is four 32-bit words of a SHA-256 of the canonical JSON of
the cell coordinates (the solver is *not* part of it). In shared-matrix mode
the cell's matrix comes from ``spawn_key=(*coords_key, 2**32 - 1)``
(:func:`matrix_seed`). In common-matrix mode trial ``t`` of every cell of a
column (the cells that differ only in ``rho``) uses one matrix, from
``spawn_key=(*coords_key(column), 2**32 - 1, t)`` (:func:`column_matrix_seed`),
while each cell's signal still draws from its own trial seed. So every solver in a cell sees the same problem
instances, and a cell's rows do not depend on the order, the number of
workers or the backend.
"""
from __future__ import annotations

import hashlib
import json

import numpy as np

__all__ = ["coords_key", "trial_seed", "matrix_seed", "column_matrix_seed", "column_of",
           "COLUMN_AXIS"]

#: The coordinate that varies inside a column of common random matrices.
COLUMN_AXIS = "rho"

_MATRIX_KEY = 2 ** 32 - 1


def _canon_value(v):
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return int(v) if v.is_integer() else v
    if isinstance(v, (list, tuple)):
        return [_canon_value(x) for x in v]
    if v is None or isinstance(v, str):
        return v
    return str(v)


def _canon(coords):
    return {str(k): _canon_value(v) for k, v in sorted(dict(coords).items())}


def _digest(obj):
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":"))
                          .encode()).digest()


def coords_key(coords):
    """Four stable 32-bit ints identifying a cell's coordinates (solver excluded).

    Integral floats hash like ints (``10.0`` ≡ ``10``), key order is ignored.
    """
    d = _digest(_canon(coords))
    return tuple(int.from_bytes(d[4 * i:4 * i + 4], "little") for i in range(4))


def trial_seed(seed, coords, trial):
    """SeedSequence of trial ``trial`` of the cell ``coords`` under master seed ``seed``."""
    return np.random.SeedSequence(entropy=int(seed), spawn_key=(*coords_key(coords), int(trial)))


def matrix_seed(seed, coords):
    """SeedSequence of the cell's shared matrix (``mode="shared"``)."""
    return np.random.SeedSequence(entropy=int(seed), spawn_key=(*coords_key(coords), _MATRIX_KEY))


def column_of(coords):
    """The column of a cell: its coordinates without ``rho`` (nor ``k``, derived from it)."""
    return {key: val for key, val in dict(coords).items() if key not in (COLUMN_AXIS, "k")}


def column_matrix_seed(seed, coords, trial):
    """SeedSequence of trial ``trial``'s matrix for every cell of ``coords``'s column.

    The matrix depends on the column (every coordinate but ``rho``) and the
    trial only, so all the ρ cells of a δ column share ``A_{δ,t}``
    (``mode="common"``) while each cell still sees independent matrices over
    its trials.
    """
    return np.random.SeedSequence(entropy=int(seed),
                                  spawn_key=(*coords_key(column_of(coords)), _MATRIX_KEY,
                                             int(trial)))
