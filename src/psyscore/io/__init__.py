"""Readers and writers behind one small interface: `read_table(path)` and `write_table(table, path)`.

A `Table` carries the data plus the column metadata a data manager cares about (variable labels,
value labels, user-missing declarations, measurement levels, formats) so that it survives a round
trip. Format modules (`text`, `spss`) know nothing about instruments.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, UsageError


@dataclass
class Table:
    data: pd.DataFrame
    source: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    value_labels: dict[str, dict] = field(default_factory=dict)
    missing_ranges: dict[str, list] = field(default_factory=dict)  # pyreadstat's format
    measure: dict[str, str] = field(default_factory=dict)
    formats: dict[str, str] = field(default_factory=dict)
    display_width: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # 1-based row of each data row in the file as a spreadsheet shows it (header and skipped
    # rows counted); None where that is simply the data row (SPSS case numbers)
    row_numbers: np.ndarray | None = None
    # things the user must be told (printed as warnings by the CLI), unlike `notes`, which
    # document what was done and travel into the written file
    warnings: list[str] = field(default_factory=list)


READERS = {
    ".csv": "text",
    ".tsv": "text",
    ".txt": "text",
    ".sav": "spss",
    ".zsav": "spss",
    ".por": "spss",
    ".xlsx": "excel",
}
WRITERS = {".csv": "text", ".tsv": "text", ".sav": "spss", ".zsav": "spss", ".xlsx": "excel"}


def _module(kind: str):
    if kind == "text":
        from . import text

        return text
    if kind == "excel":
        from . import excel

        return excel
    from . import spss

    return spss


def read_table(path: str | Path, sheet: str | None = None) -> Table:
    """Read any supported file; `sheet` picks an Excel sheet by name (default: the first)."""
    path = Path(path)
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise UsageError(
            f"{path}: cannot read {path.suffix or 'files without an extension'}; "
            f"supported: {', '.join(sorted(READERS))}"
        )
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    if kind == "excel":
        from . import excel

        return excel.read(path, sheet=sheet)
    if sheet is not None:
        raise UsageError(f"{path}: --sheet applies to .xlsx workbooks only")
    return _module(kind).read(path)


def check_output(output: str | Path, inputs: list[str | Path], *, force: bool) -> Path:
    """Refuse to write over an input, or over an existing file unless forced."""
    out = Path(output)
    if out.suffix.lower() not in WRITERS:
        raise UsageError(
            f"{out}: cannot write {out.suffix or 'files without an extension'}; "
            f"supported: {', '.join(sorted(WRITERS))}"
        )
    for src in inputs:
        if out.exists() and Path(src).exists() and out.resolve() == Path(src).resolve():
            raise UsageError(f"{out}: refusing to overwrite the input file; choose another -o")
    if out.exists() and not force:
        raise UsageError(f"{out}: already exists; use --force to replace it")
    if not out.parent.exists():
        raise UsageError(f"{out.parent}: output folder does not exist")
    return out


def atomic_write(path: Path, writer: Callable[[Path], None]) -> None:
    """Write to a temporary file beside `path`, then rename: readers never see half a file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        writer(tmp_path)
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_table(table: Table, path: str | Path, *, problems: list | None = None) -> None:
    """Write `table`; `problems` (Problem records) become a "problems" sheet in an .xlsx."""
    path = Path(path)
    kind = WRITERS[path.suffix.lower()]
    suffix = path.suffix.lower()

    def writer(tmp: Path) -> None:
        if kind == "excel":
            from . import excel

            excel.write(table, tmp, suffix, problems=problems)
        else:
            _module(kind).write(table, tmp, suffix)

    try:
        atomic_write(path, writer)
    except OSError as exc:
        raise DataError(f"{path}: could not write: {exc.strerror or exc}") from None
