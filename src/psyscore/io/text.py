"""CSV/TSV: encoding detection (UTF-8 with or without BOM, then cp1252) and faithful round trips.

Every cell is read as text, with no guessing of missing values: `007`, `NA`, `null` and `None`
stay exactly that. A column becomes numeric only when each of its cells is the very text the
writer produces for that number (`3`, `-1`, `2.5`; not `007`, `1.50` or `1e3`), so writing the
table back gives the same bytes; every other column stays text (the scoring engine parses
answers written as text itself).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from . import Table, qualtrics

ENCODINGS = ("utf-8-sig", "cp1252")
HEAD = 1 << 22  # characters enough for any header row (Qualtrics question text included)
# the text pandas writes for an Int64 value: no sign but minus, no leading zeros, no spaces
_CANONICAL_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,14})")
_FLOAT_LIKE = re.compile(r"-?[0-9]+\.[0-9]+")


def _sep(path: Path) -> str:
    return "\t" if path.suffix.lower() == ".tsv" else ","


def read(path: Path) -> Table:
    sep = _sep(path)
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(f"{path}: the file is empty")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's "Unicode text" export: UTF-16 with a byte-order mark
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            raise DataError(
                f"{path}: starts like UTF-16 text but does not decode; save it as UTF-8 CSV"
            ) from None
        return _table(path, text[:HEAD], sep, "utf-16", [f"{path.name}: read as UTF-16"])
    if b"\x00" in raw[:4096]:
        raise DataError(
            f"{path}: looks like a binary file, not CSV text (is it .sav or .xlsx renamed?)"
        )
    for encoding in ENCODINGS:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        notes = [] if encoding == "utf-8-sig" else [f"{path.name}: read as {encoding} (not UTF-8)"]
        head = text[:HEAD]
        del text, raw  # pandas reads the file itself: do not hold two more copies meanwhile
        return _table(path, head, sep, encoding, notes)
    raise DataError(
        f"{path}: text encoding not recognised (tried UTF-8 and Windows-1252); save it as UTF-8"
    )


def _header(path: Path, text: str, sep: str) -> list[str]:
    """The header's cells as written (quote-aware, so a quoted delimiter is no new column)."""
    try:
        header = next(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=sep), None)
    except csv.Error:
        header = None
    if not header:
        raise DataError(f"{path}: no header row found")
    return header


def _check_duplicates(path: Path, names: list[str]) -> None:
    """pandas would silently rename repeated headers (a, a.1): refuse them, naming each one."""
    counts: dict[str, int] = {}
    for name in names:
        key = name.strip()
        counts[key] = counts.get(key, 0) + 1
    dup = [n for n, k in counts.items() if k > 1 and n]
    if dup:
        raise DataError(
            f"{path}: duplicate column names in the header: {', '.join(map(repr, dup))}; "
            "rename them so each is unique"
        )


def _table(path: Path, head: str, sep: str, encoding: str, notes: list[str]) -> Table:
    header = _header(path, head, sep)
    _check_duplicates(path, header)
    width = len(header)
    # one spare column: a row with one field too many (a trailing delimiter) lands there
    # instead of making pandas take the first column as the index and shift every other one
    cells = _parse(path, sep, encoding, width + 1)
    filled = (cells[width].to_numpy()[1:] != "").astype(bool)
    if filled.any():
        line = int(np.argmax(filled)) + 2
        raise DataError(
            f"{path}: line {line} has more fields than the header ({width}); check quoting and "
            "delimiters there"
        )
    if _ends_with_delimiter(head, sep):
        notes.append(
            f"{path.name}: the data rows end with an extra {'tab' if sep == chr(9) else 'comma'} "
            "(trailing delimiter); that empty last field was dropped"
        )
    warnings: list[str] = []
    names, keep = _column_names(path, header, cells, notes, warnings)
    # columns are taken one by one as views: no copy of the whole table of text
    columns = {name: cells[j].to_numpy()[1:] for name, j in zip(names, keep, strict=True)}
    del cells
    top = pd.DataFrame({name: values[:2] for name, values in columns.items()})
    extra = qualtrics.extra_header_rows(top)
    labels: dict[str, str] = {}
    if extra:
        labels = qualtrics.question_labels(top.iloc[0].to_dict())
        notes.append(
            f"{path.name}: Qualtrics export: skipped its question-text and ImportId header rows "
            "(question text kept as column labels)"
        )
    n = len(next(iter(columns.values()))) - extra if columns else 0
    index = pd.RangeIndex(n)
    data = pd.DataFrame(
        {name: _typed(columns.pop(name)[extra:], index) for name in list(columns)}, index=index
    )
    # a spreadsheet shows the header as row 1, so data row i is row i + 2 (+ skipped rows)
    rows = np.arange(len(data)) + 2 + extra
    table = Table(data=data, source=str(path), labels=labels, notes=notes, row_numbers=rows)
    table.warnings.extend(warnings)
    return table


def _ends_with_delimiter(text: str, sep: str) -> bool:
    lines = text.splitlines()
    data_lines = [line for line in lines[1:3] if line]
    return bool(data_lines) and all(line.endswith(sep) for line in data_lines)


def _column_names(
    path: Path, header: list[str], cells: pd.DataFrame, notes: list[str], warnings: list[str]
) -> tuple[list[str], list[int]]:
    """Names for the columns kept: an empty header cell over an empty column is dropped (a
    trailing delimiter on the header too); over data it is named column_N (N: 1-based position)."""
    names, keep = [], []
    taken = {h for h in header}
    for j, name in enumerate(header):
        if name.strip():
            names.append(name)
            keep.append(j)
            continue
        if not (cells.iloc[1:, j] != "").any():
            notes.append(f"{path.name}: dropped column {j + 1}: no header and no data")
            continue
        new = f"column_{j + 1}"
        if new in taken:
            raise DataError(
                f"{path}: column {j + 1} has data but no header, and the name {new!r} is taken; "
                "give that column a name"
            )
        warnings.append(f"{path.name}: column {j + 1} has data but no header; named it {new}")
        names.append(new)
        keep.append(j)
    return names, keep


def _parse(path: Path, sep: str, encoding: str, width: int) -> pd.DataFrame:
    kind = "TSV" if sep == "\t" else "CSV"
    try:
        return pd.read_csv(
            path,
            sep=sep,
            encoding=encoding,
            header=None,
            names=range(width),
            dtype=object,
            na_filter=False,  # "NA", "null", "None", "nan" are answers or ids, not missing
            skip_blank_lines=True,
        )
    except pd.errors.ParserError as exc:
        # pandas' message names the line and the field counts, never the cell contents
        found = re.search(r"line (\d+), saw (\d+)", str(exc))
        if found:
            raise DataError(
                f"{path}: line {found[1]} has {found[2]} fields, the header {width - 1}; check "
                "quoting and delimiters there"
            ) from None
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else "parse error"
        raise DataError(
            f"{path}: not a well-formed {kind} file: {detail}; check quoting and delimiters there"
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: no header row found") from None
    except UnicodeDecodeError:
        raise DataError(
            f"{path}: text encoding changes within the file; save it as UTF-8"
        ) from None


def _typed(cells: np.ndarray, index: pd.Index) -> pd.Series:
    """Numbers where the text is exactly what writing the number gives back, else the text.

    Works on the distinct values (a column of answers has a handful), so it stays fast.
    """
    codes, uniques = pd.factorize(cells, use_na_sentinel=True)
    text = pd.Series(uniques, dtype=object).astype(str)
    filled = text != ""
    values = text[filled]
    if len(values) and values.str.fullmatch(_CANONICAL_INT).all():
        # at most 15 digits: exact as a double too, so .sav and .xlsx keep every digit
        numbers = np.zeros(len(text) + 1, dtype="int64")
        numbers[np.flatnonzero(filled.to_numpy())] = values.astype("int64").to_numpy()
        missing = np.append(~filled.to_numpy(), True)
        return pd.Series(pd.arrays.IntegerArray(numbers[codes], missing[codes]), index=index)
    if len(values) and values.str.fullmatch(_FLOAT_LIKE).all():
        parsed = values.astype(float)
        if (parsed.map(repr) == values).all():
            numbers = np.full(len(text) + 1, np.nan)
            numbers[np.flatnonzero(filled.to_numpy())] = parsed.to_numpy()
            return pd.Series(pd.array(numbers[codes], dtype="Float64"), index=index)
    if not len(values):
        return pd.Series(pd.array(np.full(len(cells), np.nan), dtype="Float64"), index=index)
    # empty cells are missing (NA); every other cell is kept as the exact text
    out = np.array([*uniques.tolist(), None], dtype=object)
    out[np.flatnonzero(~filled.to_numpy())] = None
    return pd.Series(out[codes], index=index, dtype="string")


def write(table: Table, tmp: Path, suffix: str) -> None:
    table.data.to_csv(
        tmp,
        index=False,
        sep="\t" if suffix == ".tsv" else ",",
        encoding="utf-8",
        quoting=csv.QUOTE_MINIMAL,
    )
