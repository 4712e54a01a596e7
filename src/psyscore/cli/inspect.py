"""`psyscore inspect DATA`: what is in a data file and how psyscore would read it. Writes nothing."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table as RichTable

from ..errors import UsageError
from ..instrument import Bundle, Instrument
from ..io import Table, read_table
from ..library import builtin_entries, builtin_instruments, resolve_instruments
from ..mapping import ColumnMap, load_mapping
from ..problems import with_file
from ..report.problems import print_problems
from ..responses import match_columns, resolve
from .options import JSON, MAP, errors_to_exit, exclusion_note, out, print_json

EPILOG = """Examples:

  psyscore inspect survey.sav

  psyscore inspect export.xlsx --sheet Responses -i phq-9 --json

  psyscore inspect sample_data/qualtrics_export.sav --map sample_data/qualtrics_map.yaml

Exit codes: 0 clean; 1 problems found (ambiguous or unmapped items, codes outside the scale);
2 usage error. Nothing is written."""


def _columns(table: Table) -> list[dict]:
    rows = []
    for name in table.data.columns:
        col = table.data[name]
        ranges = table.missing_ranges.get(name, [])
        rows.append(
            {
                "name": str(name),
                "dtype": str(col.dtype),
                "non_missing": int(col.notna().sum()),
                "label": table.labels.get(name, ""),
                "value_labels": len(table.value_labels.get(name, {})),
                "user_missing": [
                    _fmt(r["lo"]) if r["lo"] == r["hi"] else f"{_fmt(r['lo'])} thru {_fmt(r['hi'])}"
                    for r in ranges
                ],
            }
        )
    return rows


def _fmt(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _detect(columns: list[str]) -> list[Instrument]:
    """Built-in instruments with at least half of their items matching a column."""
    found = []
    for entry in builtin_entries():
        inst = entry.definition
        if isinstance(inst, Bundle):
            continue
        try:
            matched, _ = match_columns(inst, columns)
        except UsageError:
            # ambiguous columns still mean the instrument is there; report it below
            matched = _loose_matches(inst, columns)
        if len(matched) * 2 >= len(inst.items):
            found.append(inst)
    return found


def _loose_matches(inst: Instrument, columns: list[str]) -> dict[str, str]:
    """Items with a match when each column is tried on its own (ambiguity ignored)."""
    matched: dict[str, str] = {}
    for col in columns:
        try:
            one, _ = match_columns(inst, [col])
        except UsageError:
            continue
        for item, c in one.items():
            matched.setdefault(item, c)
    return matched


def _check(inst: Instrument, table: Table, file_missing, mapping: ColumnMap) -> dict:
    columns = [str(c) for c in table.data.columns]
    report: dict = {"id": inst.id, "items": len(inst.items), "ambiguous": [], "problems": []}
    inst_map = mapping.items_of(inst.item_ids)
    try:
        matched, _ = match_columns(inst, columns, inst_map)
    except UsageError:
        matched = {}
        loose = _loose_matches(inst, columns)
        # find every item that more than one column claims
        claims: dict[str, list[str]] = {}
        for col in columns:
            try:
                one, _ = match_columns(inst, [col])
            except UsageError:
                continue
            for item in one:
                claims.setdefault(item, []).append(col)
        for item, cols in claims.items():
            if len(cols) > 1:
                report["ambiguous"].append({"item": item, "columns": cols})
        ambiguous = {a["item"] for a in report["ambiguous"]}
        matched = {i: c for i, c in loose.items() if i not in ambiguous}
    report["matched"] = {i: matched[i] for i in inst.item_ids if i in matched}
    ambiguous = {a["item"] for a in report["ambiguous"]}
    report["unmapped"] = [i for i in inst.item_ids if i not in matched and i not in ambiguous]
    if not report["ambiguous"]:
        _, problems = resolve(
            inst,
            table.data,
            mapping=inst_map,
            file_missing=file_missing,
            recodes=mapping.recodes,
            value_labels=table.value_labels,
        )
        report["problems"] = [
            p
            for p in problems
            if p.kind in {"out_of_range", "unrecognised_answer", "recode_mismatch"}
        ]
    return report


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
    from ..io.qualtrics import response_exclusions
    from .options import table_file_missing

    with errors_to_exit():
        requested = resolve_instruments(instrument) if instrument else []
        mapping = load_mapping(map_file)
        mapping.check_against([*requested, *builtin_instruments()])  # detection comes later
        table = read_table(data, sheet=sheet)
        columns = [str(c) for c in table.data.columns]
        detected = _detect(columns)
        checks = list({i.id: i for i in [*requested, *detected]}.values())
        file_missing = table_file_missing(table)
        reports = [_check(inst, table, file_missing, mapping) for inst in checks]
        excluded = response_exclusions(table.data, table.value_labels)
        for r in reports:
            r["problems"] = with_file(r["problems"], data.name, table.row_numbers)
    n_problems = sum(
        len(r["ambiguous"]) + len(r["problems"]) + (1 if r["unmapped"] else 0) for r in reports
    )
    if as_json:
        print_json(
            {
                "input": str(data),
                "rows": len(table.data),
                "notes": table.notes,
                "columns": _columns(table),
                "detected": [i.id for i in detected],
                "excluded_by_default": excluded.counts,
                "instruments": [
                    {**r, "problems": [p.to_dict() for p in r["problems"]]} for r in reports
                ],
            }
        )
    else:
        _print(data, table, detected, requested, reports)
        if excluded.counts:
            out.print(escape(exclusion_note(excluded.counts, excluded.column)))
    raise typer.Exit(1 if n_problems else 0)


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
    for c in _columns(table):
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
