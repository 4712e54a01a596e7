"""BLAS thread limiting for the small k x k computations."""

from __future__ import annotations

import contextlib

_CONTROLLER = None


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
