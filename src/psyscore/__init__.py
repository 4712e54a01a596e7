"""psyscore: score psychometric survey instruments from declarative definitions.

Python API (pure functions; DataFrames in, DataFrames out)::

    import psyscore
    inst = psyscore.load("phq-9")
    result = psyscore.score_table(df, [inst])      # result.table, result.problems
    summary, items = psyscore.reliability(df, inst)  # tidy DataFrames, numbers as R psych
"""

from __future__ import annotations

__version__ = "0.1.0"

from .batch import BatchResult, score_table  # noqa: E402
from .library import load, resolve_instruments  # noqa: E402

__all__ = [
    "BatchResult",
    "__version__",
    "load",
    "reliability",
    "resolve_instruments",
    "score_table",
]


def __getattr__(name: str):
    # reliability pulls in more of scipy; load it only when asked for
    if name == "reliability":
        from .psychometrics.instruments import reliability

        return reliability
    raise AttributeError(f"module 'psyscore' has no attribute {name!r}")
