"""psyscore: score psychometric survey instruments from declarative definitions.

Python API (pure functions; DataFrames in, DataFrames out)::

    import psyscore
    inst = psyscore.load("phq-9")
    result = psyscore.score_table(df, [inst])      # result.table, result.problems
    summary, items = psyscore.reliability(df, inst)  # tidy DataFrames, numbers as R psych
    report = psyscore.reliability_report(df, inst)  # the same, plus report.problems

`reliability` refuses shifted codes (DataError) as the command does, and warns with a
`DataProblemWarning` (records in `.problems`) when answers were not valid and count as missing.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .batch import BatchResult, score_table  # noqa: E402
from .library import load, resolve_instruments  # noqa: E402

__all__ = [
    "BatchResult",
    "__version__",
    "load",
    "DataProblemWarning",
    "reliability",
    "reliability_report",
    "resolve_instruments",
    "score_table",
]


def __getattr__(name: str):
    # reliability pulls in more of scipy; load it only when asked for
    if name in {"reliability", "reliability_report", "DataProblemWarning"}:
        from .psychometrics import instruments

        return getattr(instruments, name)
    raise AttributeError(f"module 'psyscore' has no attribute {name!r}")
