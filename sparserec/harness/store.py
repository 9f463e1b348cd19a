"""Result store: one Parquet file per finished task, a consolidated table, metadata.

Layout of an output directory ``out/``::

    out/cells/<solver-slug>__<key>.parquet   one file per task (solver × cell × trial block)
    out/results.parquet                       every row of the current sweep, in grid order
    out/metadata.json                         versions, git revision, seed, grid, options

Every file is written atomically: to a temporary file in the same directory
whose name cannot collide (``<name>.tmp-<host>-<pid>-<random>``), flushed and
``fsync``-ed, then ``os.replace``-d over the target (and the directory entry
is ``fsync``-ed). A process killed at any moment, even by SIGKILL, therefore
leaves either the old file, the new file, or no file, plus at worst a stray
``*.tmp-*`` file that is ignored. :func:`remove_stale_temps` deletes only the
temporary files whose writer is gone (same host, process no longer alive), so
a run never deletes the files another live run is writing.

**Several runs on one directory.** Runs may share an output directory (two
started together, a third started while they run): a cell file and its
sidecar are written, and read, under an exclusive lock of ``out/cells/.lock``
(:func:`locked`, ``fcntl.flock``; a no-op where ``fcntl`` does not exist), and
``results.parquet`` and ``metadata.json`` together under ``out/.lock``, so no
reader sees a half-written pair and the consolidated table always matches its
metadata. Two
runs that compute the same task write the same rows (the last write wins).

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
import socket
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks
    fcntl = None

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["atomic_write_bytes", "atomic_write_json", "write_table", "write_cell",
           "read_cell", "StoreError", "CorruptCellError", "write_results", "load_results",
           "remove_stale_temps", "locked", "RESULTS", "METADATA", "CELLS", "LOCK"]

log = logging.getLogger(__name__)

RESULTS = "results.parquet"
METADATA = "metadata.json"
CELLS = "cells"
LOCK = ".lock"
#: Temporary files older than this (seconds) are stale whoever wrote them.
STALE_AFTER = 7 * 24 * 3600
_HOST = socket.gethostname().replace("-", "_").replace(".", "_")[:40] or "host"
_KEY = b"sparserec.task_key"
_NROWS = b"sparserec.n_rows"
_META = b"sparserec.metadata"


class StoreError(RuntimeError):
    """A stored file is unreadable or does not hold what it should (message is one line)."""


class CorruptCellError(StoreError):
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
    tmp = path.with_name(f"{path.name}.tmp-{_HOST}-{os.getpid()}-{uuid.uuid4().hex[:12]}")
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


@contextmanager
def locked(directory):
    """Hold the exclusive lock of a store directory (``directory/.lock``) inside the block.

    Parameters
    ----------
    directory : path-like
        An existing directory.

    Notes
    -----
    An advisory ``fcntl.flock`` lock: it serialises the store operations of
    every sparserec process on this machine (and on network file systems that
    support ``flock``). Where ``fcntl`` is missing (Windows), or the lock file
    cannot be created (a read-only store, which no run writes to), it does
    nothing. Hold it only for short operations; it is not re-entrant.
    """
    directory = Path(directory)
    fd = None
    if fcntl is not None:
        try:
            fd = os.open(directory / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:  # a read-only store has no writer to wait for
            fd = None
    if fd is None:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


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

    The Parquet file is written first, then its SHA-256 sidecar, both under
    the lock of their directory (:func:`locked`); a process
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
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with locked(Path(path).parent):
        atomic_write_bytes(path, data)
        atomic_write_bytes(_digest_path(path), hashlib.sha256(data).hexdigest().encode())
    return df


def read_cell(path, key, *, remove_corrupt=False):
    """Read and validate a cell file written by :func:`write_cell`.

    Parameters
    ----------
    path : path-like
    key : str
        The task key the file must carry.
    remove_corrupt : bool, default=False
        Delete the file (and its sidecar) when it is corrupt, in the same
        locked section as the check, so a valid file another run writes at
        that moment is never deleted.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    CorruptCellError
        If the file does not match its SHA-256 sidecar (or has none), cannot be
        parsed, fails a page checksum, or its key or row count does not match.
    """
    path = Path(path)
    with locked(path.parent):
        try:
            return _validated(path, key)
        except CorruptCellError:
            if remove_corrupt:
                path.unlink(missing_ok=True)
                _digest_path(path).unlink(missing_ok=True)
            raise


def _validated(path, key):
    try:
        data = path.read_bytes()
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
    """Write the consolidated table (with the run metadata embedded) and metadata.json.

    Both are written under the store's lock, so concurrent runs never leave a
    table with another run's metadata.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with locked(out):
        write_table(out / RESULTS, df,
                    {_META: json.dumps(metadata, default=_json_default).encode()})
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
    StoreError
        If ``results.parquet`` or ``metadata.json`` cannot be parsed.
    """
    out = Path(out)
    path = out / RESULTS
    if not path.exists():
        raise FileNotFoundError(f"no {RESULTS} in {out}")
    with locked(out):
        data = path.read_bytes()
        text = (out / METADATA).read_text() if (out / METADATA).exists() else None
    try:
        table = pq.read_table(pa.BufferReader(data))
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
        raise StoreError(f"{path} is not a readable Parquet file "
                               f"({type(exc).__name__}: {exc})") from None
    meta = {}
    try:
        if text is not None:
            meta = json.loads(text)
        elif table.schema.metadata and _META in table.schema.metadata:
            meta = json.loads(table.schema.metadata[_META])
    except ValueError as exc:
        where = out / METADATA if text is not None else path
        raise StoreError(f"{where} is not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise StoreError(f"{out / METADATA} does not hold a JSON object")
    return table.to_pandas(), meta


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    except OSError:  # pragma: no cover - platforms without signal 0
        return True
    return True


def _is_stale(path, now):
    """Whether the temporary file ``path`` belongs to a writer that is gone."""
    try:
        age = now - path.stat().st_mtime
    except OSError:
        return False
    if age > STALE_AFTER:
        return True
    tail = path.name.rpartition(".tmp-")[2].split("-")
    if len(tail) != 3 or not tail[1].isdigit():  # not ours (or an old layout): age only
        return False
    host, pid = tail[0], int(tail[1])
    return host == _HOST and not _pid_alive(pid)


def remove_stale_temps(directory):
    """Delete the ``*.tmp-*`` files whose writer is gone (best effort).

    A temporary file is stale when its writer ran on this host and its process
    no longer exists, or when it is older than :data:`STALE_AFTER` (a week).
    Files of live writers, including other runs on the same directory, are
    kept.

    Parameters
    ----------
    directory : path-like

    Returns
    -------
    int
        The number of files removed.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return 0
    n, now = 0, time.time()
    for p in directory.glob("*.tmp-*"):
        if not _is_stale(p, now):
            continue
        try:
            p.unlink()
            n += 1
        except OSError:
            pass
    return n
