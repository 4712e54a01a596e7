"""Data problems as structured records (file, row, column, value, kind, message, hint).

Problems are collected, never raised: a batch with a typo in one cell still gets scored, the cell is
treated as missing, and the user gets a table of exactly what to fix. Exit code 1 when any were found.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Problem:
    kind: str
    message: str
    hint: str = ""
    column: str | None = None
    row: int | None = None  # 1-based data row (the header is not counted)
    value: str | None = None
    instrument: str | None = None
    file: str | None = None
    # the row a spreadsheet or text editor shows (header and skipped rows counted): differs from
    # `row` in Excel sheets with title or blank rows and in Qualtrics exports
    file_row: int | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in (None, "")}


# Per column and kind we keep at most this many cell-level records (plus one summary record),
# so a column that is wrong on every one of a million rows cannot flood memory or the terminal.
MAX_CELL_RECORDS = 200


def cell_problems(
    mask: np.ndarray,
    values: np.ndarray,
    *,
    kind: str,
    column: str,
    instrument: str,
    message: str,
    hint: str,
) -> list[Problem]:
    """One record per flagged cell (capped), with the 1-based row number and the offending value."""
    rows = np.flatnonzero(mask)
    out = [
        Problem(
            kind=kind,
            message=message.format(value=_show(values[r])),
            hint=hint,
            column=column,
            row=int(r) + 1,
            value=_show(values[r]),
            instrument=instrument,
        )
        for r in rows[:MAX_CELL_RECORDS]
    ]
    if len(rows) > MAX_CELL_RECORDS:
        out.append(
            Problem(
                kind=kind,
                message=f"{len(rows) - MAX_CELL_RECORDS} more cells like this in this column",
                hint=hint,
                column=column,
                instrument=instrument,
            )
        )
    return out


def _show(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def with_file(problems: list[Problem], file: str, row_numbers=None) -> list[Problem]:
    """Name the file in each problem and, given each data row's row in the file, that row too."""
    from dataclasses import replace

    out = []
    for p in problems:
        changes: dict = {}
        if not p.file:
            changes["file"] = file
        if row_numbers is not None and p.row is not None and p.file_row is None:
            changes["file_row"] = int(row_numbers[p.row - 1])
        out.append(replace(p, **changes) if changes else p)
    return out
