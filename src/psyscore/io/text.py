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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
    cells = _arrow_cells(path, sep, encoding, width) or _pandas_cells(path, sep, encoding, width)
    top, extra, columns, blanks = cells
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
    # a spreadsheet shows the header as row 1, so data row i is row i + 2 (+ skipped rows, and
    # + the blank lines above it, which the parsers skip but a spreadsheet shows as rows)
    records = 1 + extra + len(data)
    rows = file_rows(path, encoding, sep, records, warnings, blanks)[1 + extra :]
    table = Table(data=data, source=str(path), labels=labels, notes=notes, row_numbers=rows)
    table.warnings.extend(warnings)
    return table


# the two rows under the header, how many of them are Qualtrics header rows, the data columns,
# and whether lines of spaces may be among the blank lines the parser skipped (see file_rows)
Cells = tuple[list[np.ndarray], int, list["_TextColumn"], bool]


def _pandas_cells(path: Path, sep: str, encoding: str, width: int) -> Cells:
    """The cells as pandas' parser reads them: any encoding, rows short of fields (padded), a
    trailing delimiter (the spare column)."""
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
        check_spare_column(path, encoding, sep, chunk, width, k)
        for j in range(width):
            columns[j].add(chunk[j].to_numpy()[start:])
        del chunk
    return top, extra, columns, True


def check_spare_column(
    path: Path, encoding: str, sep: str, block: pd.DataFrame, width: int, k: int
) -> None:
    """DataError naming the first row of parser chunk `k` with a field in the spare column."""
    filled = (block[width].to_numpy()[(1 if k == 0 else 0) :] != "").astype(bool)
    if filled.any():
        record = int(block.index[(1 if k == 0 else 0) + int(np.argmax(filled))])
        line = file_row(path, encoding, sep, record)
        raise DataError(
            f"{path}: line {line} has more fields than the header ({width}); check quoting "
            "and delimiters there"
        )


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
        if "out of memory" in str(exc):  # the tokenizer's: the file is not at fault
            raise MemoryError(str(exc)) from None
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


# ---- file rows: the blank lines the parsers skip ----------------------------------------------

# a line end, then a line of only blanks (spaces and tabs; spaces only in TSV, where a tab is a
# field) and its own line end: pandas skips such lines, a spreadsheet shows them as rows
_BLANK_LINE = {
    ",": r"(?:\r\n|\n|\r(?!\n))[ \t]*[\r\n]",
    "\t": r"(?:\r\n|\n|\r(?!\n)) *[\r\n]",
}
_LINE_SPACE = " \t\r\n"


def file_rows(
    path: Path,
    encoding: str,
    sep: str,
    records: int,
    warnings: list[str] | None = None,
    spaces: bool = True,
) -> np.ndarray:
    """The 1-based row a spreadsheet shows for each of the first `records` records the parser
    gave (the header is record 0): record k is row k + 1 unless blank lines come before it.

    `spaces`: whether a line of spaces may be among them (False: only empty lines)."""
    at = np.arange(records)
    blanks = (
        None
        if _one_line_each(path, encoding, records)
        else blank_lines(path, encoding, sep, spaces)
    )
    if blanks is None:
        return at + 1
    if blanks.records != records:  # the csv module read the file differently from the parser
        if warnings is not None:
            warnings.append(
                f"{path.name}: has blank lines between its rows; the row numbers given in "
                "messages count the rows without them (remove the blank lines to match)"
            )
        return at + 1
    return blanks.rows(at)


def file_row(path: Path, encoding: str, sep: str, record: int) -> int:
    """The row a spreadsheet shows for record `record` (0: the header), as `file_rows`."""
    blanks = blank_lines(path, encoding, sep)
    return record + 1 if blanks is None else int(blanks.rows(np.array([record]))[0])


def _one_line_each(path: Path, encoding: str, records: int) -> bool:
    """Whether the file has one line break per record (none after the last, or one): then no
    line is blank and no cell holds a line break. Quicker than looking for blank lines.

    A lone carriage return (a line end for pandas too) would make the count unsure: no."""
    if encoding not in {"utf-8-sig", "cp1252"}:
        return False
    breaks = returns = pairs = 0
    last = b""
    with open(path, "rb") as fh:
        while block := fh.read(_BLOCK):
            breaks += block.count(b"\n")
            returns += block.count(b"\r")
            pairs += block.count(b"\r\n")  # one cut between blocks only makes the answer no
            last = block[-1:]
    return returns == pairs and breaks == (records if last == b"\n" else records - 1)


@dataclass
class BlankLines:
    """Where the blank lines the parser skips are, among the records it keeps."""

    before: np.ndarray  # per blank line, how many kept records come before it (sorted)
    records: int | None  # how many records the scan kept (None: the csv module could not read)

    def rows(self, records: np.ndarray) -> np.ndarray:
        """The 1-based file row of kept records (0-based, the header is 0)."""
        return records + 1 + np.searchsorted(self.before, records, side="right")


def blank_lines(path: Path, encoding: str, sep: str, spaces: bool = True) -> BlankLines | None:
    """The blank lines (see _BLANK_LINE) before some row, or None when there is none (nearly
    every file: a quick search tells; only then is the file read record by record)."""
    if not _has_inner_blank_line(path, encoding, sep, spaces):
        return None
    space = " \t" if sep == "," else " "
    before: list[int] = []
    kept = 0
    try:
        with open(path, encoding=encoding, newline="") as fh:
            for cells in csv.reader(fh, delimiter=sep, strict=False):
                # [] is an empty line; [""] a quoted empty field (a record); ["  "] blanks
                if not cells or (len(cells) == 1 and cells[0] and not cells[0].strip(space)):
                    before.append(kept)
                else:
                    kept += 1
    except (csv.Error, UnicodeDecodeError):
        return BlankLines(np.array(before, dtype=np.int64), None)
    return BlankLines(np.array(before, dtype=np.int64), kept)


def _has_inner_blank_line(path: Path, encoding: str, sep: str, spaces: bool = True) -> bool:
    """Whether a blank line (see _BLANK_LINE) comes before some row; blank lines at the end of
    the file change no row number. Fast: a search of the raw text, no parsing (a blank line
    inside a quoted field counts here; `blank_lines` then reads the file properly)."""
    binary = encoding in {"utf-8-sig", "cp1252"}  # line ends and blanks are single bytes
    pattern = re.compile(_BLANK_LINE[sep].encode() if binary else _BLANK_LINE[sep])
    space = _LINE_SPACE.encode() if binary else _LINE_SPACE
    # where a blank line must start: two line ends in a row, or a line starting with a blank
    # (rare in data; only then is the slower pattern searched)
    starts = [a + b for a in "\r\n" for b in ("\r\n \t" if spaces else "\r\n") if a + b != "\r\n"]
    if binary:
        starts = [start.encode() for start in starts]
    carry = b"" if binary else ""
    with open(path, "rb") if binary else open(path, encoding=encoding, newline="") as fh:
        while block := fh.read(_BLOCK):
            buffer = carry + block
            body = buffer.rstrip(space)
            # the trailing line ends and blanks go with the next block: a blank line there is
            # inside the file only if something follows it
            carry = buffer[len(body) :]
            if any(start in body for start in starts) and pattern.search(body):
                return True
    return False


# ---- the fast reader: pyarrow ------------------------------------------------------------------


def _arrow_cells(path: Path, sep: str, encoding: str, width: int) -> Cells | None:
    """`_pandas_cells` by pyarrow's parser, or None wherever it could differ from pandas: a
    text encoding other than UTF-8, one column (pandas skips a line of blanks there), any row
    with another number of fields than the header (short rows, a trailing delimiter, too many
    fields: pandas pads, catches or refuses those as the reader always did), or anything else
    pyarrow refuses."""
    if encoding != "utf-8-sig" or width < 2:
        return None
    try:
        import pyarrow as pa
        import pyarrow.csv as arrow_csv
    except ImportError:  # pragma: no cover - a main dependency
        return None
    names = [f"f{j}" for j in range(width)]
    try:
        arrow = arrow_csv.read_csv(
            path,
            read_options=arrow_csv.ReadOptions(column_names=names),  # the header is row 0
            parse_options=_arrow_parse_options(sep),
            convert_options=_arrow_convert_options(names),
        )
    except MemoryError:  # pyarrow's too: out of memory is no reason to try pandas
        raise
    except (pa.ArrowException, OSError, ValueError):
        return None
    if arrow.num_columns != width or arrow.num_rows == 0:
        return None
    top = [arrow.column(j).slice(1, 2).to_numpy(zero_copy_only=False) for j in range(width)]
    extra = qualtrics.extra_header_rows(pd.DataFrame(dict(enumerate(top))))
    parsed = [arrow.column(j) for j in range(width)]
    del arrow

    def column(j: int) -> _ArrowColumn:
        # one array from the first data row: pyarrow 16's if_else reads a sliced chunked array
        # wrong (wrong text, no error), and encoding one array is twice as fast; the parser's
        # chunks go as soon as it is made, so the table is not held twice
        cells = parsed[j].slice(1 + extra).combine_chunks()
        parsed[j] = None
        return _ArrowColumn(cells)

    # pyarrow's kernels let go of the GIL: the columns are encoded side by side, on pyarrow's
    # own number of cores
    with ThreadPoolExecutor(max_workers=max(1, min(pa.cpu_count(), width))) as pool:
        columns = list(pool.map(column, range(width)))
    # a line of spaces is a row of one field: pyarrow refused it above
    return top, extra, columns, False


def _arrow_parse_options(sep: str):
    import pyarrow.csv as arrow_csv

    return arrow_csv.ParseOptions(
        delimiter=sep,
        quote_char='"',
        double_quote=True,
        escape_char=False,
        newlines_in_values=True,  # a quoted line break is in the cell, never a new row
        ignore_empty_lines=True,  # as pandas; `file_rows` counts them
        invalid_row_handler=_refuse_row,
    )


def _refuse_row(row) -> str:
    """Any row with another number of fields than the header ends the fast read (pandas then
    reads the file as before, with its own handling and messages); the row is never logged."""
    return "error"


def _arrow_convert_options(names: list[str]):
    import pyarrow as pa
    import pyarrow.csv as arrow_csv

    return arrow_csv.ConvertOptions(
        column_types={name: pa.string() for name in names},
        check_utf8=False,  # detect_encoding decoded the whole file as UTF-8 already
        # every cell is text: no missing values guessed, an empty cell is ""
        null_values=[],
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )


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


class _ArrowColumn(_TextColumn):
    """A `_TextColumn` of a pyarrow string column: the same distinct texts, kind and series,
    found by pyarrow (a text column becomes pandas "string" without a Python object per cell)."""

    def __init__(self, cells) -> None:
        import pyarrow.compute as pc

        super().__init__()
        self.rows = len(cells)
        self.cells = cells
        # the distinct texts of the first rows already make most text columns text (ids, names,
        # free text: a value no number writes, or ints and floats mixed), without encoding all
        if _kind_of(_uniques(cells.slice(0, _FIRST_ROWS))) == "text":
            self.kinds.add("text")
            return
        encoded = pc.dictionary_encode(cells)  # distinct texts in first-seen order, as factorize
        uniques = np.asarray(encoded.dictionary.to_numpy(zero_copy_only=False), dtype=object)
        self.parts.append((encoded.indices.to_numpy(zero_copy_only=False), uniques))
        self.kinds.add(_kind_of(uniques))
        if self.kind != "text":
            self.cells = None  # the codes say it all: the texts need not be held to the end

    def series(self, index: pd.Index, kind: str | None = None) -> pd.Series:
        kind = self.kind if kind is None else kind
        if kind == "int" and self.parts:  # one part: each value taken once, no array to fill
            (codes, uniques), self.parts, self.cells = self.parts[0], [], None
            filled = uniques != ""
            table = np.zeros(len(uniques), dtype="int64")
            table[filled] = uniques[filled].astype("int64")
            return pd.Series(pd.arrays.IntegerArray(table[codes], ~filled[codes]), index=index)
        if kind != "text" or self.cells is None:
            return super().series(index, kind)
        import pyarrow as pa
        import pyarrow.compute as pc

        cells, self.cells, self.parts = self.cells, None, []
        text = pc.if_else(pc.equal(cells, ""), pa.scalar(None, pa.string()), cells)
        return pd.Series(pd.array(text, dtype="string"), index=index)


_FIRST_ROWS = 4096  # rows whose distinct texts are judged before a column is encoded whole


def _uniques(cells) -> np.ndarray:
    import pyarrow.compute as pc

    return np.asarray(pc.unique(cells).to_numpy(zero_copy_only=False), dtype=object)


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


def write(table: Table, tmp: Path, suffix: str, *, progress=None) -> None:
    write_frame(_codes_as_integers(table), tmp, suffix, progress=progress)


def write_frame(
    data: pd.DataFrame,
    tmp: Path,
    suffix: str,
    *,
    header: bool = True,
    append: bool = False,
    progress=None,
) -> None:
    """The CSV/TSV text of `data` (its rows appended to `tmp` with `append`): the bytes
    `DataFrame.to_csv` writes, made column-wise with pyarrow (see `csv_write`). `progress`:
    called with the rows of each block written."""
    from .csv_write import write_csv

    sep = "\t" if suffix == ".tsv" else ","
    write_csv(data, tmp, sep=sep, header=header, append=append, progress=progress)
