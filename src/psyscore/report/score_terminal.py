"""`psyscore score` in the terminal: the score summary, critical-item alerts, problems, outputs.

Renders from :meth:`psyscore.survey.ScoredSurvey.summary` (or the same rows of a chunked run,
``psyscore.streaming``): per instrument and score, counts scored / prorated / not scored, M, SD.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from .problems import print_problems
from .terminal import print_warnings

if TYPE_CHECKING:
    from ..problems import Problem
    from ..survey import ScoredSurvey

SUMMARY_COLUMNS = ("column", "scored", "prorated", "not scored", "mean", "sd")


def score_summary_table(summary: Sequence[dict]) -> Table:
    """One row per score column: scored, prorated, not scored, M and SD (two decimals)."""
    table = Table(title="Scores", title_justify="left")
    for col in SUMMARY_COLUMNS:
        table.add_column(col, justify="left" if col == "column" else "right")
    for inst in summary:
        for s in inst["scores"]:
            table.add_row(
                s["column"],
                str(s["scored"]),
                str(s["prorated"]),
                str(s["not_scored"]),
                "" if s["mean"] is None else f"{s['mean']:.2f}",
                "" if s["sd"] is None else f"{s['sd']:.2f}",
            )
    return table


def critical_alerts(summary: Sequence[dict]) -> list[str]:
    """An ALERT line (rich markup) per instrument with a critical item endorsed or unanswered."""
    alerts = []
    for inst in summary:
        endorsed, unanswered = inst["critical_flags"], inst["critical_unanswered"]
        if endorsed or unanswered:
            alerts.append(
                f"[bold red]ALERT:[/] critical items of {inst['id']}: {endorsed} respondent(s) "
                f"endorsed, {unanswered} with the critical item unanswered: see columns "
                f"{inst['critical_column']} and {inst['critical_unanswered_column']}"
            )
    return alerts


def print_score_summary(
    out: Console, summary: Sequence[dict], *, err: Console | None = None
) -> None:
    """The summary table on `out`, then the critical-item alerts on `err` (default: `out`)."""
    out.print(score_summary_table(summary))
    for alert in critical_alerts(summary):
        (err or out).print(alert, highlight=False)


def print_score_report(
    out: Console,
    err: Console,
    *,
    summary: Sequence[dict],
    problems: Sequence[Problem],
    warnings: Sequence[str],
    rows: int,
    columns: int,
    targets: Sequence[Path],
) -> None:
    """What `psyscore score` prints: warnings (on `err`), the summary, alerts (on `err`), the
    problem table, and the files written with the table's shape."""
    print_warnings(err, warnings)
    print_score_summary(out, summary, err=err)
    print_problems(out, list(problems))
    out.print(f"wrote {', '.join(map(str, targets))} ({rows} rows, {columns} columns)")


def print_scored_survey(
    out: Console, err: Console, result: ScoredSurvey, targets: Sequence[Path]
) -> None:
    """:func:`print_score_report` of a :class:`~psyscore.survey.ScoredSurvey` written to
    `targets`."""
    print_score_report(
        out,
        err,
        summary=result.summary(),
        problems=result.problems,
        warnings=result.warnings,
        rows=len(result.table),
        columns=result.table.shape[1],
        targets=targets,
    )
