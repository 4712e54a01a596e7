"""Problems as a terminal table or JSON, and as a CSV file for fixing data in bulk."""

from __future__ import annotations

import csv
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ..problems import Problem

FIELDS = ["file", "row", "file_row", "column", "value", "kind", "message", "hint"]


def problems_table(problems: list[Problem], limit: int = 30) -> Table:
    files = sorted({p.file for p in problems if p.file})
    title = f"{len(problems)} data problem(s)" + (f" in {', '.join(files)}" if files else "")
    table = Table(title=title, title_justify="left", show_lines=False)
    # the file's own row numbers are shown only where they differ from header + data row
    file_rows = any(p.file_row is not None and p.file_row != (p.row or 0) + 1 for p in problems)
    names = ("row", "file row", "column", "value", "kind", "message")
    for name in names if file_rows else [n for n in names if n != "file row"]:
        table.add_column(name, overflow="fold", no_wrap=name in {"row", "file row", "kind"})
    for p in problems[:limit]:
        cells = [str(p.row or ""), str(p.file_row or "")] if file_rows else [str(p.row or "")]
        table.add_row(*cells, p.column or "", p.value or "", p.kind, p.message)
    return table


def print_problems(console: Console, problems: list[Problem], limit: int = 30) -> None:
    """The table, then each distinct fix once (not repeated on every row)."""
    if not problems:
        return
    console.print(problems_table(problems, limit))
    if len(problems) > limit:
        console.print(
            f"... and {len(problems) - limit} more: use --problems FILE.csv or --json for all"
        )
    hints: dict[str, list[str]] = {}
    for p in problems:
        if p.hint:
            hints.setdefault(p.hint, [])
            if p.column and p.column not in hints[p.hint]:
                hints[p.hint].append(p.column)
    for hint, columns in hints.items():
        where = f"{', '.join(columns[:6])}{' ...' if len(columns) > 6 else ''}: " if columns else ""
        console.print(f"  fix {where}{hint}", markup=False, highlight=False)


def write_problems_csv(problems: list[Problem], path: Path) -> None:
    """All problems as CSV (UTF-8), written atomically; an OS failure is a clear DataError."""
    from ..errors import DataError
    from ..io import atomic_write

    def writer(tmp: Path) -> None:
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=FIELDS + ["instrument"])
            w.writeheader()
            for p in problems:
                d = p.to_dict()
                w.writerow({k: d.get(k, "") for k in FIELDS + ["instrument"]})

    try:
        atomic_write(path, writer)
    except OSError as exc:
        raise DataError(f"{path}: could not write: {exc.strerror or exc}") from None
