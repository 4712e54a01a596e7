"""psyscore: score psychometric survey instruments from declarative definitions.

Python API (pure functions; DataFrames in, DataFrames out)::

    import psyscore
    inst = psyscore.load("phq-9")
    result = psyscore.score_table(df, [inst])      # result.table, result.problems
"""

from __future__ import annotations

__version__ = "0.1.0"

from .batch import BatchResult, score_table  # noqa: E402
from .library import load, resolve_instruments  # noqa: E402

__all__ = ["BatchResult", "__version__", "load", "resolve_instruments", "score_table"]
