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
from collections.abc import Collection, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from . import Table, qualtrics

ENCODINGS = ("utf-8-sig", "cp1252")
CHUNK_ROWS = 200_000
SAMPLE = 200  # distinct values looked at before a column with many is checked in full
HEAD = 1 << 22  # characters enough for any header row (Qualtrics question text included)
# the text pandas writes for an Int64 value: no sign but minus, no leading zeros, no spaces
_CANONICAL_INT = re.compile(r"0|-?[1-9][0-9]{0,14}")  # "-0" would come back as "0"
_FLOAT_LIKE = re.compile(r"-?[0-9]+\.[0-9]+")


def _sep(path: Path) -> str:
    return "\t" if path.suffix.lower() == ".tsv" else ","


def read(path: Path) -> Table:
    sep = _sep(path)
    encoding, notes = detect_encoding(path)
    return _table(path, read_head(path, encoding), sep, encoding, notes)


# bytes decoded at a time to find the encoding: the whole file is never held as bytes or text
_BLOCK = 1 << 24


def detect_encoding(path: Path) -> tuple[str, list[str]]:
    """The text encoding of the whole file (UTF-8 with or without BOM, UTF-16 with a BOM, else
    cp1252), read block by block, and the note to give when it is not UTF-8.

    Raises DataError for an empty file, a binary file or one that no encoding decodes.
    """
    import codecs

    with open(path, "rb") as fh:
        start = fh.read(4096)
        if start.startswith((b"\xff\xfe", b"\xfe\xff")):
            # Excel's "Unicode text" export: UTF-16 with a byte-order mark
            if not _decodes(fh, start, codecs.getincrementaldecoder("utf-16")()):
                raise DataError(
                    f"{path}: starts like UTF-16 text but does not decode; save it as UTF-8 CSV"
                )
            return "utf-16", [f"{path.name}: read as UTF-16"]
        if not start.strip() and not _has_content(fh):
            raise DataError(f"{path}: the file is empty")
        if b"\x00" in start:
            raise DataError(
                f"{path}: looks like a binary file, not CSV text (is it .sav or .xlsx renamed?)"
            )
        for encoding in ENCODINGS:
            fh.seek(len(start))
            if _decodes(fh, start, codecs.getincrementaldecoder(encoding)()):
                notes = (
                    []
                    if encoding == "utf-8-sig"
                    else [f"{path.name}: read as {encoding} (not UTF-8)"]
                )
                return encoding, notes
    raise DataError(
        f"{path}: text encoding not recognised (tried UTF-8 and Windows-1252); save it as UTF-8"
    )


def _has_content(fh) -> bool:
    """Whether anything but whitespace follows (a file of 4 KB of blanks and then data)."""
    while block := fh.read(_BLOCK):
        if block.strip():
            return True
    return False


def _decodes(fh, start: bytes, decoder) -> bool:
    try:
        decoder.decode(start)
        while block := fh.read(_BLOCK):
            decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def read_head(path: Path, encoding: str) -> str:
    """The first HEAD characters: enough for the header rows, without reading the rest."""
    with open(path, encoding=encoding, newline="") as fh:
        return fh.read(HEAD)


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
    columns = [_TextColumn() for _ in range(width)]
    top: list[np.ndarray] = []
    extra = 0
    # one spare column: a row with one field too many (a trailing delimiter) lands there
    # instead of making pandas take the first column as the index and shift every other one
    for k, chunk in enumerate(_parse(path, sep, encoding, width + 1)):
        start = 0
        if k == 0:  # row 0 is the header; a Qualtrics export has two more header rows
            top = [chunk[j].to_numpy()[1:3] for j in range(width)]
            extra = qualtrics.extra_header_rows(pd.DataFrame(dict(enumerate(top))))
            start = 1 + extra
        filled = (chunk[width].to_numpy()[(1 if k == 0 else 0) :] != "").astype(bool)
        if filled.any():
            line = int(chunk.index[(1 if k == 0 else 0) + int(np.argmax(filled))]) + 1
            raise DataError(
                f"{path}: line {line} has more fields than the header ({width}); check quoting "
                "and delimiters there"
            )
        for j in range(width):
            columns[j].add(chunk[j].to_numpy()[start:])
        del chunk
    if _ends_with_delimiter(head, sep):
        notes.append(
            f"{path.name}: the data rows end with an extra {'tab' if sep == chr(9) else 'comma'} "
            "(trailing delimiter); that empty last field was dropped"
        )
    warnings: list[str] = []
    blank = [c.blank for c in columns]
    names, keep = _column_names(path, header, blank, notes, warnings)
    labels: dict[str, str] = {}
    if extra:
        labels = qualtrics.question_labels({n: top[j][0] for n, j in zip(names, keep, strict=True)})
        notes.append(
            f"{path.name}: Qualtrics export: skipped its question-text and ImportId header rows "
            "(question text kept as column labels)"
        )
    n = columns[0].rows if columns else 0
    index = pd.RangeIndex(n)
    data = pd.DataFrame(
        {name: columns[j].series(index) for name, j in zip(names, keep, strict=True)},
        index=index,
        copy=False,  # the columns are new: a second copy of the table is only memory and time
    )
    # a spreadsheet shows the header as row 1, so data row i is row i + 2 (+ skipped rows)
    rows = np.arange(len(data)) + 2 + extra
    table = Table(data=data, source=str(path), labels=labels, notes=notes, row_numbers=rows)
    table.warnings.extend(warnings)
    return table


def _ends_with_delimiter(text: str, sep: str) -> bool:
    reader = io.StringIO(text)  # the first three lines only, not every line of the head
    lines = [reader.readline().rstrip("\r\n") for _ in range(3)]
    data_lines = [line for line in lines[1:3] if line]
    return bool(data_lines) and all(line.endswith(sep) for line in data_lines)


def _column_names(
    path: Path, header: list[str], blank: list[bool], notes: list[str], warnings: list[str]
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
        if blank[j]:
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


def _parse(
    path: Path, sep: str, encoding: str, width: int, chunk_rows: int = CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    """The file as chunks of text cells (the header is row 0 of the first chunk)."""
    kind = "TSV" if sep == "\t" else "CSV"
    try:
        yield from pd.read_csv(
            path,
            sep=sep,
            encoding=encoding,
            header=None,
            names=range(width),
            dtype=object,
            na_filter=False,  # "NA", "null", "None", "nan" are answers or ids, not missing
            skip_blank_lines=True,
            # chunks: only one chunk of text is held at a time; each column keeps its
            # distinct values and small codes (see _TextColumn)
            chunksize=chunk_rows,
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


class _TextColumn:
    """One column's cells, gathered chunk by chunk as (codes, distinct texts), then typed.

    The column becomes Int64 or Float64 only when every distinct text in every chunk is what
    writing that number gives back (so CSV -> CSV is byte-for-byte); empty cells are missing;
    anything else keeps the exact text (pandas "string", empty cells NA).
    """

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, np.ndarray]] = []
        self.kinds: set[str] = set()
        self.rows = 0

    def add(self, cells: np.ndarray) -> None:
        codes, uniques = pd.factorize(cells, use_na_sentinel=True)
        if len(uniques) < 2**31:
            codes = codes.astype(np.int32)
        self.parts.append((codes, np.asarray(uniques, dtype=object)))
        self.kinds.add(_kind_of(uniques))
        self.rows += len(cells)

    @property
    def blank(self) -> bool:
        return self.kinds <= {"empty"}

    @property
    def kind(self) -> str:
        """What the column is read as: empty, int, float or text (see `merge_kinds`)."""
        return merge_kinds(self.kinds)

    def series(self, index: pd.Index, kind: str | None = None) -> pd.Series:
        """The column typed by its own cells, or as `kind` (that of the whole file, when this
        holds only a chunk of it), so that every chunk of a column gets the same dtype."""
        kind = self.kind if kind is None else kind
        if kind == "int":
            values = np.zeros(self.rows, dtype="int64")
            missing = np.zeros(self.rows, dtype=bool)
        elif kind in {"float", "empty"}:
            values = np.full(self.rows, np.nan)
        else:
            values = np.empty(self.rows, dtype=object)
        at = 0
        for codes, uniques in self.parts:
            filled = uniques != ""
            if kind == "int":
                table = np.zeros(len(uniques), dtype="int64")
                table[filled] = uniques[filled].astype("int64")
                values[at : at + len(codes)] = table[codes]
                missing[at : at + len(codes)] = ~filled[codes]
            elif kind == "float":
                table = np.full(len(uniques), np.nan)
                table[filled] = uniques[filled].astype(float)
                values[at : at + len(codes)] = table[codes]
            elif kind == "text":
                table = uniques.copy()
                table[~filled] = None
                values[at : at + len(codes)] = table[codes]
            at += len(codes)
        self.parts = []
        if kind == "int":
            return pd.Series(pd.arrays.IntegerArray(values, missing), index=index)
        if kind in {"float", "empty"}:
            return pd.Series(pd.array(values, dtype="Float64"), index=index)
        return pd.Series(values, index=index, dtype="string")


def merge_kinds(kinds) -> str:
    """The kind of a column from those of its chunks: one kind stays, mixed ones are text.

    Each chunk's kind depends only on its set of distinct cells, so the result is the same
    however the file is cut into chunks.
    """
    kinds = set(kinds) - {"empty"}
    return kinds.pop() if len(kinds) == 1 else ("empty" if not kinds else "text")


def _kind_of(uniques: np.ndarray) -> str:
    """empty, int, float or text: what a chunk's distinct texts can be read as, exactly."""
    if len(uniques) <= FEW:
        return _kind_of_few(uniques)
    sample = uniques[:SAMPLE]
    if len(uniques) > SAMPLE and not all(
        (v == "" or _CANONICAL_INT.fullmatch(v) or _FLOAT_LIKE.fullmatch(v)) for v in sample
    ):
        return "text"  # ids, names, free text: one look at a few distinct values is enough
    text = pd.Series(uniques, dtype=object)
    values = text[text != ""]
    if not len(values):
        return "empty"
    # at most 15 digits: exact as a double too, so .sav and .xlsx keep every digit
    if values.str.fullmatch(_CANONICAL_INT).all():
        return "int"
    if values.str.fullmatch(_FLOAT_LIKE).all() and (values.astype(float).map(repr) == values).all():
        return "float"
    return "text"


FEW = 64  # distinct values checked one by one: quicker than building Series for them


def _kind_of_few(uniques: np.ndarray) -> str:
    """`_kind_of` for a few distinct texts (small chunks, code columns), value by value."""
    values = [v for v in uniques.tolist() if v != ""]
    if not values:
        return "empty"
    if all(_CANONICAL_INT.fullmatch(v) for v in values):
        return "int"
    if all(_FLOAT_LIKE.fullmatch(v) and repr(float(v)) == v for v in values):
        return "float"
    return "text"


def _codes_as_integers(
    table: Table, *, keep_float: Collection[str] = (), report: bool = False
) -> pd.DataFrame | tuple[pd.DataFrame, set[str]]:
    """Numeric columns whose declared format has no decimals (SPSS F8.0: codes, flags, integer
    totals) and that hold only whole numbers are written `1`, not `1.0`. Columns read from a text
    file carry no format, so what came in as text goes out exactly as it came.

    `keep_float`: columns never converted (written in chunks: a later chunk holds a non-whole
    number). With `report`, also the names of the columns converted.
    """
    data = table.data
    whole = {}
    for name, fmt in table.formats.items():
        if name not in data.columns or not str(fmt).upper().endswith(".0") or name in keep_float:
            continue
        column = data[name]
        if not pd.api.types.is_float_dtype(column.dtype):
            continue
        values = column.to_numpy(dtype=float)
        known = values[~np.isnan(values)]
        if np.all(np.isfinite(known) & (known == np.round(known)) & (np.abs(known) < 2**53)):
            whole[name] = column.astype("Int64")
    if whole:
        data = data.copy(deep=False)  # the caller's frame is not changed
        for name, column in whole.items():
            data[name] = column
    return (data, set(whole)) if report else data


def write(table: Table, tmp: Path, suffix: str) -> None:
    write_frame(_codes_as_integers(table), tmp, suffix)


def write_frame(
    data: pd.DataFrame, tmp: Path, suffix: str, *, header: bool = True, append: bool = False
) -> None:
    """The CSV/TSV text of `data` (its rows appended to `tmp` with `append`): the bytes
    `DataFrame.to_csv` writes, made column-wise with pyarrow (see `csv_write`)."""
    from .csv_write import write_csv

    write_csv(data, tmp, sep="\t" if suffix == ".tsv" else ",", header=header, append=append)
