"""CSV/TSV: encoding detection (UTF-8 with or without BOM, then cp1252) and faithful writing."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from . import Table, qualtrics

ENCODINGS = ("utf-8-sig", "cp1252")


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
        _check_header(path, text, sep)
        return _table(path, sep, "utf-16", [f"{path.name}: read as UTF-16"])
    if b"\x00" in raw[:4096]:
        raise DataError(
            f"{path}: looks like a binary file, not CSV text (is it .sav or .xlsx renamed?)"
        )
    for encoding in ENCODINGS:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        _check_header(path, text, sep)
        notes = [] if encoding == "utf-8-sig" else [f"{path.name}: read as {encoding} (not UTF-8)"]
        return _table(path, sep, encoding, notes)
    raise DataError(
        f"{path}: text encoding not recognised (tried UTF-8 and Windows-1252); save it as UTF-8"
    )


def _table(path: Path, sep: str, encoding: str, notes: list[str]) -> Table:
    head = _parse(path, sep, encoding, nrows=2, dtype=str)
    extra = qualtrics.extra_header_rows(head)
    labels: dict[str, str] = {}
    if extra:
        labels = qualtrics.question_labels(head.iloc[0].to_dict())
        data = _parse(path, sep, encoding, skiprows=[1, 2])
        notes.append(
            f"{path.name}: Qualtrics export: skipped its question-text and ImportId header rows "
            "(question text kept as column labels)"
        )
    else:
        data = _parse(path, sep, encoding)
    # a spreadsheet shows the header as row 1, so data row i is row i + 2 (+ skipped rows)
    rows = np.arange(len(data)) + 2 + extra
    return Table(data=data, source=str(path), labels=labels, notes=notes, row_numbers=rows)


def _check_header(path: Path, text: str, sep: str) -> None:
    """pandas silently renames repeated headers (a, a.1): refuse them, naming each one."""
    first = next(iter(text.lstrip("\ufeff").splitlines()), "")
    try:
        header = next(csv.reader([first], delimiter=sep))
    except (csv.Error, StopIteration):
        return
    counts: dict[str, int] = {}
    for name in header:
        key = name.strip()
        counts[key] = counts.get(key, 0) + 1
    dup = [n for n, k in counts.items() if k > 1 and n]
    if dup:
        raise DataError(
            f"{path}: duplicate column names in the header: {', '.join(map(repr, dup))}; "
            "rename them so each is unique"
        )


def _parse(path: Path, sep: str, encoding: str, **options) -> pd.DataFrame:
    kind = "TSV" if sep == "\t" else "CSV"
    try:
        # nullable dtypes keep integer columns with blanks as integers, so 3 is written back as 3
        return pd.read_csv(
            path, sep=sep, encoding=encoding, dtype_backend="numpy_nullable", **options
        )
    except pd.errors.ParserError as exc:
        # pandas' message names the line and the field counts, never the cell contents
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


def write(table: Table, tmp: Path, suffix: str) -> None:
    table.data.to_csv(
        tmp,
        index=False,
        sep="\t" if suffix == ".tsv" else ",",
        encoding="utf-8",
        quoting=csv.QUOTE_MINIMAL,
    )
