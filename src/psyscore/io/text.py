"""CSV/TSV: encoding detection (UTF-8 with or without BOM, then cp1252) and faithful writing."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from ..errors import DataError
from . import Table

ENCODINGS = ("utf-8-sig", "cp1252")


def _sep(path: Path) -> str:
    return "\t" if path.suffix.lower() == ".tsv" else ","


def read(path: Path) -> Table:
    sep = _sep(path)
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(f"{path}: the file is empty")
    if b"\x00" in raw[:4096]:
        raise DataError(
            f"{path}: looks like a binary file, not CSV text (is it .sav or .xlsx renamed?)"
        )
    for encoding in ENCODINGS:
        try:
            raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        try:
            # nullable dtypes keep integer columns with blanks as integers, so 3 is written back as 3
            data = pd.read_csv(path, sep=sep, encoding=encoding, dtype_backend="numpy_nullable")
        except pd.errors.ParserError as exc:
            raise DataError(
                f"{path}: not a well-formed {'TSV' if sep == chr(9) else 'CSV'} file: {exc}"
            ) from None
        except pd.errors.EmptyDataError:
            raise DataError(f"{path}: no header row found") from None
        notes = [] if encoding == "utf-8-sig" else [f"{path.name}: read as {encoding} (not UTF-8)"]
        return Table(data=data, source=str(path), notes=notes)
    raise DataError(
        f"{path}: text encoding not recognised (tried UTF-8 and Windows-1252); save it as UTF-8"
    )


def write(table: Table, tmp: Path, suffix: str) -> None:
    table.data.to_csv(
        tmp,
        index=False,
        sep="\t" if suffix == ".tsv" else ",",
        encoding="utf-8",
        quoting=csv.QUOTE_MINIMAL,
    )
