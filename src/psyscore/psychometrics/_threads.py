"""Thread helpers: BLAS thread limiting for small problems, and a row-chunk worker pool."""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

_CONTROLLER = None
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _forget_pool() -> None:  # a forked child has none of the parent's threads
    global _POOL, _POOL_LOCK
    _POOL, _POOL_LOCK = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def single_thread():
    """Limit BLAS to one thread: tiny k x k problems are much slower multi-threaded.

    Uses threadpoolctl when available (installed with scikit-learn, a pingouin dependency);
    otherwise a no-op. The controller (a scan of the loaded libraries) is created once.
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _CONTROLLER = False
        else:
            import scipy.optimize  # noqa: F401  (load scipy's own OpenBLAS before the scan)

            _CONTROLLER = ThreadpoolController()
    if _CONTROLLER is False:
        return contextlib.nullcontext()
    return _CONTROLLER.limit(limits=1, user_api="blas")


def cpu_count() -> int:
    """CPUs this process may run on (the affinity mask where the OS reports one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def n_workers(n_rows: int, min_rows: int, max_workers: int = 8) -> int:
    """How many threads to give ``n_rows`` rows: one per ``min_rows`` rows, at most one per CPU."""
    return max(1, min(cpu_count(), max_workers, n_rows // max(min_rows, 1)))


def parallel_map(fn, args: list) -> list:
    """``[fn(a) for a in args]`` on a shared thread pool (numpy and BLAS release the GIL).

    Run inside :func:`single_thread` so that the workers' BLAS calls do not each start their
    own threads. With one argument the call runs in the calling thread.
    """
    if len(args) <= 1:
        return [fn(a) for a in args]
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL._max_workers < len(args):  # noqa: SLF001
            _POOL = ThreadPoolExecutor(max_workers=len(args), thread_name_prefix="psyscore")
        pool = _POOL
    return list(pool.map(fn, args))
