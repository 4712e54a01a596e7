"""`psyscore inspect DATA`: what is in a data file and how psyscore would read it. Writes nothing."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table as RichTable

from ..inspection import column_summary
from ..instrument import Instrument
from ..io import Table, read_table
from ..library import builtin_instruments, resolve_instruments
from ..mapping import load_mapping
from ..report.problems import print_problems
from .options import JSON, MAP, errors_to_exit, exclusion_note, out, print_json

EPILOG = """Examples:

  psyscore inspect survey.sav

  psyscore inspect export.xlsx --sheet Responses -i phq-9 --json

  psyscore inspect sample_data/qualtrics_export.sav --map sample_data/qualtrics_map.yaml

Exit codes: 0 clean; 1 problems found (ambiguous or unmapped items, codes outside the scale);
2 usage error. Nothing is written."""


def inspect(
    data: Path = typer.Argument(
        ...,
        help="Data file: .csv, .tsv, .sav, .zsav, .por or .xlsx (Qualtrics exports too).",
        show_default=False,
    ),
    instrument: list[str] = typer.Option(
        None,
        "--instrument",
        "-i",
        help="Also check this instrument or bundle (default: those detected). Repeat for several.",
    ),
    sheet: str = typer.Option(None, "--sheet", help="Sheet of an .xlsx workbook to read."),
    map_file: Path = MAP,
    as_json: bool = JSON,
) -> None:
    """Show DATA's columns, which instruments it holds, and how each item would be read."""
    from ..inspection import inspect_survey
    from ..survey import Survey

    with errors_to_exit():
        requested = resolve_instruments(instrument) if instrument else []
        mapping = load_mapping(map_file)
        mapping.check_against([*requested, *builtin_instruments()])  # detection comes later
        survey = Survey.from_table(read_table(data, sheet=sheet), path=data, map=mapping)
        found = inspect_survey(survey, requested)
    if as_json:
        print_json({**found.to_dict(), "input": str(data)})
    else:
        _print(data, survey.table, found.detected, requested, found.reports)
        flagged = survey.flagged
        if flagged.counts:
            out.print(escape(exclusion_note(flagged.counts, flagged.column)))
    raise typer.Exit(1 if found.problem_count else 0)


def _instruments_line(detected: list[Instrument], requested: list[Instrument]) -> str:
    """Which instruments are checked and why; 'none' only when there is truly nothing to check."""
    found = ", ".join(i.id for i in detected)
    if not requested:
        return "detected instruments: " + (found or "none (give one with -i)")
    given = ", ".join(i.id for i in requested)
    also = [i.id for i in detected if i.id not in {r.id for r in requested}]
    line = f"instruments checked: {given} (given with -i)"
    return line + (f"; also detected from column names: {', '.join(also)}" if also else "")


def _print(
    data: Path,
    table: Table,
    detected: list[Instrument],
    requested: list[Instrument],
    reports: list[dict],
) -> None:
    out.print(
        f"[bold]{escape(str(data))}[/]: {len(table.data)} rows, {table.data.shape[1]} columns"
    )
    for note in table.notes:
        out.print(f"note: {escape(note)}")
    cols = RichTable(title="Columns", title_justify="left")
    for name in ("column", "type", "non-missing", "label", "value labels", "user-missing"):
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
    out.print(cols)
    out.print(_instruments_line(detected, requested))
    for r in reports:
        out.print(
            f"\n[bold]{r['id']}[/]: {len(r['matched'])} of {r['items']} items matched to columns"
        )
        pairs = [f"{i} <- {c}" if i != c else i for i, c in r["matched"].items()]
        if pairs:
            out.print("  matched: " + escape(", ".join(pairs)))
        if r["unmapped"]:
            out.print("  [yellow]unmapped:[/] " + ", ".join(r["unmapped"]) + " (use --map)")
        for a in r["ambiguous"]:
            out.print(
                f"  [red]ambiguous:[/] {a['item']} matches {escape(', '.join(a['columns']))}; "
                "rename all but one or use --map"
            )
        if r["problems"]:
            print_problems(out, r["problems"])
        elif not r["ambiguous"]:
            out.print("  all answers are codes of the scale or declared missing")


def register(app: typer.Typer) -> None:
    app.command(name="inspect", epilog=EPILOG)(inspect)
