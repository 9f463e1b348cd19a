"""Execution backends: serial, joblib (local processes) and Dask distributed.

Each backend maps a module-level function over a list of tasks and yields
the results **as they complete** (any order); the harness writes each
result as soon as it arrives, so a killed sweep loses only running tasks.
Results never depend on the backend: a task carries everything that
determines its output (seeds included).

- ``serial``: a plain loop in this process.
- ``joblib``: :class:`joblib.Parallel` with the loky process backend
  (``workers=None`` uses every core). Each worker watches its parent and
  exits within about a second when the parent is gone, so a sweep killed
  with SIGKILL leaves no worker behind (loky's own workers would wait for
  their idle timeout, five minutes).
- ``dask``: :class:`distributed.Client`. ``scheduler="local"`` (or None)
  starts a :class:`distributed.LocalCluster` of ``workers`` single-threaded
  worker processes bound to 127.0.0.1; ``scheduler="tcp://HOST:PORT"``
  joins an existing cluster (its workers must be able to import ``sparserec``,
  and the module of any custom builder or runner).
"""
from __future__ import annotations

import itertools
import os
import socket
import threading
import time
import warnings
from urllib.parse import urlparse

from joblib import Parallel, delayed

__all__ = ["BACKENDS", "BackendError", "execute", "check_scheduler", "default_workers",
           "exit_with_parent"]

BACKENDS = ("serial", "joblib", "dask")


class BackendError(RuntimeError):
    """A backend could not be started or reached (message is one line)."""


def default_workers():
    """Number of usable cores."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS / Windows
        return os.cpu_count() or 1


def check_scheduler(address, timeout=5.0):
    """Check that a Dask scheduler address is well formed and accepts TCP connections.

    Parameters
    ----------
    address : str
        ``tcp://HOST:PORT`` (or ``HOST:PORT``).
    timeout : float
        Seconds to wait for the TCP handshake.

    Raises
    ------
    BackendError
        With a one-line message if the address is malformed or unreachable.
    """
    url = urlparse(address if "://" in address else f"tcp://{address}")
    if url.scheme not in ("tcp", "tls") or not url.hostname or url.port is None:
        raise BackendError(f"scheduler address {address!r} is not of the form tcp://HOST:PORT")
    try:
        with socket.create_connection((url.hostname, url.port), timeout=timeout):
            pass
    except OSError as exc:
        raise BackendError(f"cannot reach Dask scheduler at {address} "
                           f"({exc.strerror or type(exc).__name__})") from None


#: Seconds between two checks of a worker's parent.
PARENT_POLL = 0.5
_WATCHING = []


def _watch_parent(parent_pid, poll=PARENT_POLL):
    """End this process as soon as its parent ``parent_pid`` is gone."""
    while True:
        if os.getppid() != parent_pid:  # re-parented: the parent died
            os._exit(1)
        time.sleep(poll)


def exit_with_parent(parent_pid):
    """Worker initializer: exit when the process ``parent_pid`` dies, even by SIGKILL.

    A daemon thread polls ``os.getppid()``, which changes when the parent
    dies (the worker is re-parented); the thread then ends the worker with
    ``os._exit``. Idempotent within a process.

    Parameters
    ----------
    parent_pid : int
        Process id of the parent that started this worker.
    """
    if _WATCHING:
        return
    if os.getppid() != parent_pid:
        os._exit(1)
    thread = threading.Thread(target=_watch_parent, args=(int(parent_pid),), daemon=True,
                              name="sparserec-exit-with-parent")
    thread.start()
    _WATCHING.append(thread)


def _serial(fn, tasks):
    for task in tasks:
        yield fn(task)


def _joblib(fn, tasks, workers):
    # loky restarts a worker whose memory grew by more than 300 MB since its first task
    # (numba kernels and cvxpy load lazily as a sweep meets new solvers) and warns about a
    # "memory leak"; the task it finished is returned and the next one goes to the new
    # worker, so nothing is lost and the warning is noise on a long sweep
    warnings.filterwarnings("ignore", message="A worker stopped while some jobs were given",
                            category=UserWarning)
    n_jobs = workers if workers else -1
    par = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator_unordered",
                   batch_size=1, initializer=exit_with_parent, initargs=(os.getpid(),))
    yield from par(delayed(fn)(t) for t in tasks)


def _dask(fn, tasks, workers, scheduler):
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:  # pragma: no cover - dask is an optional extra
        raise BackendError("the dask backend needs `pip install dask[distributed]`") from None
    cluster = None
    if scheduler in (None, "local"):
        cluster = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1,
                               processes=True, host="127.0.0.1", dashboard_address=None,
                               silence_logs=40)
        client = Client(cluster)
    else:
        check_scheduler(scheduler)
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise BackendError(f"cannot connect to Dask scheduler at {scheduler} ({exc})") \
                from None
    try:
        futures = [client.submit(fn, t, pure=False) for t in tasks]
        for fut in as_completed(futures):
            res = fut.result()
            fut.release()
            yield res
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


_END = object()


def execute(fn, tasks, *, backend="joblib", workers=None, scheduler=None):
    """Run ``fn(task)`` for every task and yield the results as they complete.

    Parameters
    ----------
    fn : callable
        A module-level (picklable) function of one task.
    tasks : iterable
        The tasks; ``serial`` and ``joblib`` consume it lazily (a task is
        taken when a worker is about to be free), ``dask`` submits them all
        at once.
    backend : {"serial", "joblib", "dask"}
    workers : int or None
        Worker processes (None: all cores). Ignored by ``serial`` and when
        joining an existing Dask cluster.
    scheduler : str or None
        Dask only: ``"local"``/None for a LocalCluster, or ``tcp://HOST:PORT``.

    Yields
    ------
    object
        ``fn(task)`` in completion order.
    """
    if backend == "serial":
        yield from _serial(fn, tasks)
    elif backend == "joblib":
        tasks = iter(tasks)
        first = next(tasks, _END)
        if first is not _END:  # start no worker pool for nothing
            yield from _joblib(fn, itertools.chain([first], tasks), workers)
    elif backend == "dask":
        tasks = list(tasks)
        if tasks:
            yield from _dask(fn, tasks, workers, scheduler)
    else:
        raise ValueError(f"The 'backend' argument of execute must be one of "
                         f"{', '.join(BACKENDS)}; got {backend!r}.")
