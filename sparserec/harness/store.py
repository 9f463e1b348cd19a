"""Result store: one Parquet file per finished task, a consolidated table, metadata.

Layout of an output directory ``out/``::

    out/cells/<solver-slug>__<key>.parquet   one file per task (solver × cell × trial block)
    out/results.parquet                       every row of the current sweep, in grid order
    out/metadata.json                         versions, git revision, seed, grid, options

Every file is written atomically: to a unique temporary file in the same
directory, flushed and ``fsync``-ed, then ``os.replace``-d over the target
(and the directory entry is ``fsync``-ed). A process killed at any moment,
even by SIGKILL, therefore leaves either the old file, the new file, or no
file, plus at worst a stray ``*.tmp-*`` file that is ignored and removed by
the next run.

A cell file carries, in its Parquet schema metadata, the task key it was
computed for and its row count; pages are written with CRC checksums; and a
sidecar ``<file>.sha256`` holds the SHA-256 of the whole file, written after
it. A file that is missing its sidecar, whose bytes do not match it (any
change at all, including in page headers and statistics that page CRCs do not
cover), that cannot be read, fails a page checksum, or whose key or row count
does not match is reported (``logging.warning``) and recomputed, never used.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["atomic_write_bytes", "atomic_write_json", "write_table", "write_cell",
           "read_cell", "CorruptCellError", "write_results", "load_results",
           "remove_stale_temps", "RESULTS", "METADATA", "CELLS"]

log = logging.getLogger(__name__)

RESULTS = "results.parquet"
METADATA = "metadata.json"
CELLS = "cells"
_KEY = b"sparserec.task_key"
_NROWS = b"sparserec.n_rows"
_META = b"sparserec.metadata"


class CorruptCellError(RuntimeError):
    """A stored cell file is unreadable or does not match its task."""


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _atomic(path, write):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)
    return path


def atomic_write_bytes(path, data):
    """Write ``data`` (bytes) to ``path`` atomically (temp file, fsync, os.replace)."""
    return _atomic(path, lambda fh: fh.write(data))


def atomic_write_json(path, obj):
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    text = json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n"
    return atomic_write_bytes(path, text.encode())


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return repr(obj)


def write_table(path, table, metadata=None):
    """Write a DataFrame or Arrow table to Parquet atomically, with page checksums.

    Parameters
    ----------
    path : path-like
    table : pandas.DataFrame or pyarrow.Table
    metadata : dict of bytes to bytes, optional
        Extra schema metadata.
    """
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    if metadata:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
    return _atomic(path, lambda fh: pq.write_table(table, fh, write_page_checksum=True))


def _digest_path(path):
    path = Path(path)
    return path.with_name(path.name + ".sha256")


def write_cell(path, rows, key):
    """Store one task's rows (a list of dicts) atomically, tagged with its key.

    The Parquet file is written first, then its SHA-256 sidecar; a process
    killed between the two leaves a file without a valid sidecar, which
    :func:`read_cell` rejects (so the task is recomputed).

    Returns
    -------
    pandas.DataFrame
        The rows as stored.
    """
    df = pd.DataFrame(rows)
    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                           _KEY: key.encode(), _NROWS: str(len(df)).encode()})
    buf = io.BytesIO()
    pq.write_table(table, buf, write_page_checksum=True)
    data = buf.getvalue()
    atomic_write_bytes(path, data)
    atomic_write_bytes(_digest_path(path), hashlib.sha256(data).hexdigest().encode())
    return df


def read_cell(path, key):
    """Read and validate a cell file written by :func:`write_cell`.

    Raises
    ------
    CorruptCellError
        If the file does not match its SHA-256 sidecar (or has none), cannot be
        parsed, fails a page checksum, or its key or row count does not match.
    """
    try:
        data = Path(path).read_bytes()
        digest = _digest_path(path).read_text().strip()
    except OSError as exc:
        raise CorruptCellError(f"unreadable file or checksum sidecar ({exc})") from None
    if hashlib.sha256(data).hexdigest() != digest:
        raise CorruptCellError("SHA-256 mismatch: the file changed after it was written")
    try:
        table = pq.read_table(pa.BufferReader(data), page_checksum_verification=True)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
        raise CorruptCellError(f"unreadable Parquet ({type(exc).__name__}: {exc})") from None
    meta = table.schema.metadata or {}
    if meta.get(_KEY, b"").decode() != key:
        raise CorruptCellError("task key mismatch")
    try:
        n_rows = int(meta.get(_NROWS, b"-1"))
    except ValueError:
        n_rows = -1
    if n_rows != table.num_rows:
        raise CorruptCellError(f"row count {table.num_rows} != recorded {n_rows}")
    return table.to_pandas()


def write_results(out, df, metadata):
    """Write the consolidated table (with the run metadata embedded) and metadata.json."""
    out = Path(out)
    write_table(out / RESULTS, df, {_META: json.dumps(metadata, default=_json_default).encode()})
    atomic_write_json(out / METADATA, metadata)


def load_results(out):
    """Load a finished sweep: ``(results DataFrame, metadata dict)``.

    Parameters
    ----------
    out : path-like
        The sweep's output directory.

    Raises
    ------
    FileNotFoundError
        If ``out/results.parquet`` does not exist.
    """
    out = Path(out)
    path = out / RESULTS
    if not path.exists():
        raise FileNotFoundError(f"no {RESULTS} in {out}")
    table = pq.read_table(path)
    meta = {}
    if (out / METADATA).exists():
        meta = json.loads((out / METADATA).read_text())
    elif table.schema.metadata and _META in table.schema.metadata:
        meta = json.loads(table.schema.metadata[_META])
    return table.to_pandas(), meta


def remove_stale_temps(directory):
    """Delete ``*.tmp-*`` files left by a killed writer (best effort)."""
    directory = Path(directory)
    if not directory.is_dir():
        return 0
    n = 0
    for p in directory.glob("*.tmp-*"):
        try:
            p.unlink()
            n += 1
        except OSError:
            pass
    return n
