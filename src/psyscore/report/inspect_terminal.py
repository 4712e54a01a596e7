"""`psyscore inspect` in the terminal: the file's columns, which instruments are checked and why,
and per instrument which items match which columns, what is unmapped or ambiguous, and the
answers that are no codes of the scale.

Renders a :class:`psyscore.inspection.Inspection` (whose ``to_dict()`` is ``--json``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .problems import print_problems

if TYPE_CHECKING:
    from ..inspection import Inspection
    from ..instrument import Instrument
    from ..io import Table as DataTable

COLUMN_HEADERS = ("column", "type", "non-missing", "label", "value labels", "user-missing")


def instruments_line(detected: Sequence[Instrument], requested: Sequence[Instrument]) -> str:
    """Which instruments are checked and why; 'none' only when there is truly nothing to check."""
    found = ", ".join(i.id for i in detected)
    if not requested:
        return "detected instruments: " + (found or "none (give one with -i)")
    given = ", ".join(i.id for i in requested)
    also = [i.id for i in detected if i.id not in {r.id for r in requested}]
    line = f"instruments checked: {given} (given with -i)"
    return line + (f"; also detected from column names: {', '.join(also)}" if also else "")


def columns_table(table: DataTable) -> Table:
    """One row per column of the data: type, non-missing count, label, value labels, user-missing
    codes (names and labels are data: never rich markup)."""
    from ..inspection import column_summary

    cols = Table(title="Columns", title_justify="left")
    for name in COLUMN_HEADERS:
        cols.add_column(
            name, justify="right" if name in {"non-missing", "value labels"} else "left"
        )
    for c in column_summary(table):
        cols.add_row(
            escape(c["name"]),
            c["dtype"],
            str(c["non_missing"]),
            escape(c["label"]),
            str(c["value_labels"]) if c["value_labels"] else "",
            escape(", ".join(c["user_missing"])),
        )
    return cols


def print_instrument_check(console: Console, report: dict) -> None:
    """One instrument's entry of the inspection: matched, unmapped and ambiguous items, problems."""
    r = report
    console.print(
        f"\n[bold]{r['id']}[/]: {len(r['matched'])} of {r['items']} items matched to columns"
    )
    pairs = [f"{i} <- {c}" if i != c else i for i, c in r["matched"].items()]
    if pairs:
        console.print("  matched: " + escape(", ".join(pairs)))
    if r["unmapped"]:
        console.print("  [yellow]unmapped:[/] " + ", ".join(r["unmapped"]) + " (use --map)")
    for a in r["ambiguous"]:
        console.print(
            f"  [red]ambiguous:[/] {a['item']} matches {escape(', '.join(a['columns']))}; "
            "rename all but one or use --map"
        )
    if r["problems"]:
        print_problems(console, r["problems"])
    elif not r["ambiguous"]:
        console.print("  all answers are codes of the scale or declared missing")


def print_inspection(console: Console, found: Inspection, source: str | None = None) -> None:
    """What `psyscore inspect` prints for `found`; `source` names the data (default: the file
    the survey was read from)."""
    from ..survey import exclusion_note

    survey = found.survey
    table = survey.table
    if source is None:
        source = "DataFrame" if survey.path is None else str(survey.path)
    console.print(
        f"[bold]{escape(source)}[/]: {len(table.data)} rows, {table.data.shape[1]} columns"
    )
    for note in table.notes:
        console.print(f"note: {escape(note)}")
    console.print(columns_table(table))
    console.print(instruments_line(found.detected, found.requested))
    for r in found.reports:
        print_instrument_check(console, r)
    flagged = survey.flagged
    if flagged.counts:
        console.print(escape(exclusion_note(flagged.counts, flagged.column)))
