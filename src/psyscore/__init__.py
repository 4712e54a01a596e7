"""psyscore: score psychometric survey instruments from declarative definitions.

Python API: read once, then score or analyse through the same checks as the command line::

    import psyscore
    survey = psyscore.read("survey.sav", map="map.yaml")  # or psyscore.read(df)
    scored = survey.score("program-intake")   # .table (your index kept), .problems, .warnings
    scored.output_table()                     # the SPSS-ready Table: labels, value labels, formats
    report = survey.reliability("phq-9")      # .summary, .items, .problems, .to_dict()

The engine underneath is pure functions, DataFrames in and out (one chunk or partition at a time)::

    inst = psyscore.load("phq-9")
    result = psyscore.score_table(df, [inst])      # result.table, result.problems
    summary, items = psyscore.reliability(df, inst)  # tidy DataFrames, numbers as R psych
    report = psyscore.reliability_report(df, inst)  # the same, plus report.problems

`reliability` refuses shifted codes (DataError) as the command does, and warns with a
`DataProblemWarning` (records in `.problems`) when answers were not valid and count as missing.
"""

from __future__ import annotations

__version__ = "0.1.0"

# The API loads on first use (PEP 562): `psyscore --version` and `python -m psyscore --help`
# then start without pandas and scipy.
_LAZY = {
    "read": "survey",
    "Survey": "survey",
    "ScoredSurvey": "survey",
    "ReliabilityReport": "survey",
    "ReliabilityOptions": "psychometrics.options",
    "BatchResult": "batch",
    "score_table": "batch",
    "load": "library",
    "resolve_instruments": "library",
    "reliability": "psychometrics.instruments",
    "reliability_report": "psychometrics.instruments",
    "DataProblemWarning": "psychometrics.instruments",
}

__all__ = [
    "BatchResult",
    "ReliabilityOptions",
    "ReliabilityReport",
    "ScoredSurvey",
    "Survey",
    "read",
    "__version__",
    "load",
    "DataProblemWarning",
    "reliability",
    "reliability_report",
    "resolve_instruments",
    "score_table",
]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'psyscore' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
