"""`psyscore inspect DATA`: what is in a data file and how psyscore would read it. Writes nothing."""

from __future__ import annotations

from pathlib import Path

import typer

from ..io import read_table
from ..library import builtin_instruments, resolve_instruments
from ..mapping import load_mapping
from ..report.inspect_terminal import print_inspection
from .options import JSON, MAP, errors_to_exit, out, print_json

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
        print_inspection(out, found, str(data))
    raise typer.Exit(1 if found.problem_count else 0)


def register(app: typer.Typer) -> None:
    app.command(name="inspect", epilog=EPILOG)(inspect)
