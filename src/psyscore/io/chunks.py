"""Read a table in chunks of rows, and write one chunk after another.

The counterpart of `read_table` / `write_table` for files larger than memory. Every chunk holds
the cells the in-memory reader gives for those rows, with the same dtypes: a CSV column's type
depends on all its cells (`003` anywhere makes the whole column text), so the text reader first
assumes the types the first chunk shows and, should a later chunk change one, tells the caller
(`KindsChanged`) with the types of the whole file, to start again with them. Formats that store
their types (SPSS, Parquet) need no such care.

Only formats that can be appended to are written in chunks: CSV, TSV and Parquet. A .sav is
written by pyreadstat in one call and an .xlsx sheet holds 1,048,576 rows at most.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, UsageError
from . import READERS, Table, _new_file_mode

CHUNK_ROWS_HELP = (
    "Read, score and write DATA in chunks of N rows, so memory stays bounded whatever its size "
    "(.csv, .tsv, .sav, .zsav and .parquet in; .csv, .tsv and .parquet out). Results are the "
    "in-memory ones. Default: files over 1 GB are read in chunks of about 16 MB of the file "
    "(10,000 to 1,000,000 rows); 0 reads any file whole."
)
CHUNK_READERS = {".csv", ".tsv", ".txt", ".sav", ".zsav", ".parquet"}
CHUNK_WRITERS = {".csv", ".tsv", ".parquet"}

# files above this size are read in chunks when --chunk-rows is not given
AUTO_CHUNK_BYTES = 1 << 30
# a chunk holds about this much of the file: with the typed columns, the scores and the item
# matrices, a few hundred MB of memory
CHUNK_BYTES = 16 << 20
MIN_CHUNK_ROWS, MAX_CHUNK_ROWS = 10_000, 1_000_000


@dataclass
class Chunk:
    """Rows `start` .. `start + len(data) - 1` (0-based) of the file's data."""

    data: pd.DataFrame
    start: int


class KindsChanged(Exception):
    """A later chunk of a CSV file changed a column's type: read again with `kinds`."""

    def __init__(self, kinds: list[str]):
        super().__init__("column types changed")
        self.kinds = kinds


@dataclass
class ChunkedTable:
    """What the file says about itself (`meta`: a Table whose data is the first chunk's empty
    frame) and its rows, chunk by chunk (iterate once)."""

    meta: Table
    chunks: Iterator[Chunk]
    total_rows: int | None = None  # when the file states it (SPSS, Parquet)
    # file row of data row r (1-based) is r + file_row_offset (text files); None: no such rows
    file_row_offset: int | None = None
    finish: list = field(default_factory=list)  # checks to run once every chunk was read
    # text files with blank lines between rows: those lines, which the rows after them count
    blank_lines: object | None = None

    def file_row(self, row: int) -> int | None:
        """The row a spreadsheet shows for data row `row` (1-based), or None (no file rows)."""
        if self.file_row_offset is None:
            return None
        if self.blank_lines is None:
            return row + self.file_row_offset
        record = row + self.file_row_offset - 1  # the header is record 0
        return int(self.blank_lines.rows(np.array([record]))[0])


def chunk_rows_for(
    data: Path, chunk_rows: int | None, *, outputs=(), needs_all_rows: bool = False
) -> int | None:
    """The chunk size to use: the one asked for, or the default for a large file; None: whole.

    The default applies only where chunks can do the job (the input format, every output
    format, no option that needs every row); otherwise the file is read whole, as before.
    """
    if chunk_rows is not None:
        if chunk_rows < 0:
            raise UsageError(f"--chunk-rows must be a positive number of rows, not {chunk_rows}")
        return chunk_rows or None
    if needs_all_rows or not data.is_file() or data.suffix.lower() not in CHUNK_READERS:
        return None
    if any(Path(o).suffix.lower() not in CHUNK_WRITERS for o in outputs):
        return None
    return default_chunk_rows(data)


def default_chunk_rows(path: Path) -> int | None:
    """Rows per chunk for a file over AUTO_CHUNK_BYTES (about CHUNK_BYTES of it), else None."""
    size = path.stat().st_size
    if size <= AUTO_CHUNK_BYTES:
        return None
    return rows_for_bytes(path, CHUNK_BYTES)


def rows_for_bytes(path: Path, wanted: int) -> int:
    """How many rows hold about `wanted` bytes of the file (clamped to 10,000-1,000,000)."""
    size = path.stat().st_size
    rows = _row_count_hint(path)
    if rows:
        per_row = size / rows
    else:  # text: the length of the first lines
        with open(path, "rb") as fh:
            head = fh.read(1 << 20)
        lines = head.count(b"\n") or 1
        per_row = max(len(head) / lines, 1.0)
    return int(min(max(wanted / per_row, MIN_CHUNK_ROWS), MAX_CHUNK_ROWS))


def _row_count_hint(path: Path) -> int | None:
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows or None
        if suffix in {".sav", ".zsav"}:
            from .spss import _dictionary

            header = _dictionary(path)
            return header.cases if header is not None and header.cases > 0 else None
    except Exception:  # only a hint: the reader reports a broken file properly
        return None
    return None


def check_chunk_input(path: Path, sheet: str | None = None) -> None:
    """UsageError (exit 2) for an input that cannot be read in chunks."""
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise UsageError(
            f"{path}: cannot read {suffix or 'files without an extension'}; "
            f"supported: {', '.join(sorted(READERS))}"
        )
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    if suffix not in CHUNK_READERS:
        raise UsageError(
            f"{path}: {suffix} files cannot be read in chunks (--chunk-rows); convert it to "
            ".csv or .parquet, or leave out --chunk-rows to read it whole"
        )
    if sheet is not None:
        raise UsageError(f"{path}: --sheet applies to .xlsx workbooks only")


def check_chunk_outputs(outputs: list[Path]) -> None:
    """UsageError (exit 2, before anything is read) for outputs that cannot be appended to."""
    for out in outputs:
        suffix = out.suffix.lower()
        if suffix in CHUNK_WRITERS:
            continue
        if suffix in {".sav", ".zsav"}:
            why = "pyreadstat writes a .sav file in one call, so it cannot be written in chunks"
        elif suffix == ".xlsx":
            why = "an .xlsx sheet holds 1,048,576 rows at most and is written in one piece"
        else:
            why = f"{suffix} cannot be written in chunks"
        raise UsageError(
            f"{out}: {why}; write .parquet or .csv instead (e.g. -o {out.with_suffix('.parquet')}) "
            "and convert afterwards, or leave out --chunk-rows to score the file in memory"
        )


def read_chunks(path: Path, chunk_rows: int, kinds: list[str] | None = None) -> ChunkedTable:
    """The file in chunks of at most `chunk_rows` rows (see the module docstring)."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _parquet_chunks(path, chunk_rows)
    if suffix in {".sav", ".zsav"}:
        return _spss_chunks(path, chunk_rows)
    return _text_chunks(path, chunk_rows, kinds)


# ---- CSV / TSV --------------------------------------------------------------------------------


def _text_chunks(path: Path, chunk_rows: int, kinds: list[str] | None) -> ChunkedTable:
    from . import qualtrics
    from . import text as T

    sep = T._sep(path)
    encoding, notes = T.detect_encoding(path)
    head = T.read_head(path, encoding)
    header = T._header(path, head, sep)
    T._check_duplicates(path, header)
    width = len(header)
    # pandas' parser, not pyarrow's (text._arrow_cells): a pyarrow pass over the file left the
    # chunked scoring of a 200 MB file short of address space under an 800 MB cap
    # (tests/test_streaming.py::test_memory_stays_bounded_by_the_chunk), where pandas' fits
    # the parser reads at least a few rows at a time: the Qualtrics header rows sit in the first
    parsed = T._parse(path, sep, encoding, width + 1, max(chunk_rows, 1024))
    first = next(parsed, None)
    if first is None:
        raise DataError(f"{path}: no header row found")
    top = [first[j].to_numpy()[1:3] for j in range(width)]
    extra = qualtrics.extra_header_rows(pd.DataFrame(dict(enumerate(top))))

    def pieces() -> Iterator[tuple[pd.DataFrame, int]]:
        """(text cells, rows of the parser's chunk before them) slices of chunk_rows rows."""
        yield from _slices(path, encoding, first, width, 1 + extra, chunk_rows, 0)
        for k, block in enumerate(parsed, start=1):
            yield from _slices(path, encoding, block, width, 0, chunk_rows, k)

    stream = pieces()
    seen: list[set[str]] = [set() for _ in range(width)]
    cells, columns = _first_piece(stream, width, seen)
    used = list(kinds) if kinds is not None else [T.merge_kinds(s) for s in seen]
    if T._ends_with_delimiter(head, sep):
        notes.append(
            f"{path.name}: the data rows end with an extra {'tab' if sep == chr(9) else 'comma'} "
            "(trailing delimiter); that empty last field was dropped"
        )
    warnings: list[str] = []
    names, keep = T._column_names(path, header, [k == "empty" for k in used], notes, warnings)
    labels: dict[str, str] = {}
    if extra:
        labels = qualtrics.question_labels({n: top[j][0] for n, j in zip(names, keep, strict=True)})
        notes.append(
            f"{path.name}: Qualtrics export: skipped its question-text and ImportId header rows "
            "(question text kept as column labels)"
        )

    def frame(columns: list, start: int, rows: int) -> pd.DataFrame:
        index = pd.RangeIndex(start, start + rows)
        return pd.DataFrame(
            {n: columns[j].series(index, used[j]) for n, j in zip(names, keep, strict=True)},
            index=index,
            copy=False,
        )

    def chunks() -> Iterator[Chunk]:
        start = 0
        current: list | None = columns
        rows = cells
        while current is not None:
            if kinds is None and [T.merge_kinds(s) for s in seen] != used:
                _scan_kinds(stream, width, seen)  # the rest of the file, types only
                raise KindsChanged([T.merge_kinds(s) for s in seen])
            if kinds is not None and any(
                T.merge_kinds(s | {k}) != k for s, k in zip(seen, kinds, strict=True)
            ):
                raise DataError(f"{path}: the file changed while it was read; read it again")
            yield Chunk(frame(current, start, rows), start)
            start += rows
            rows, current = _next_piece(stream, width, seen)

    meta = Table(
        data=frame([T._TextColumn() for _ in range(width)], 0, 0),
        source=str(path),
        labels=labels,
        notes=notes,
        warnings=warnings,
    )
    blanks = T.blank_lines(path, encoding, sep)
    return ChunkedTable(meta, chunks(), None, 1 + extra, blank_lines=blanks)


def _slices(
    path: Path, encoding: str, block: pd.DataFrame, width: int, skip: int, chunk_rows: int, k: int
):
    """The data rows of one parser chunk in slices; rows with a field too many are refused."""
    from . import text as T

    T.check_spare_column(path, encoding, T._sep(path), block, width, k)
    for at in range(skip, len(block), chunk_rows):
        yield block.iloc[at : at + chunk_rows]


def _columns_of(piece: pd.DataFrame, width: int, seen: list[set[str]]) -> list:
    from . import text as T

    columns = []
    for j in range(width):
        column = T._TextColumn()
        column.add(piece[j].to_numpy())
        seen[j] |= column.kinds
        columns.append(column)
    return columns


def _first_piece(stream, width: int, seen: list[set[str]]) -> tuple[int, list]:
    """The first slice (an empty one for a file of only a header)."""
    rows, columns = _next_piece(stream, width, seen)
    if columns is None:
        from . import text as T

        return 0, [T._TextColumn() for _ in range(width)]
    return rows, columns


def _next_piece(stream, width: int, seen: list[set[str]]) -> tuple[int, list | None]:
    piece = next(stream, None)
    if piece is None:
        return 0, None
    return len(piece), _columns_of(piece, width, seen)


def _scan_kinds(stream, width: int, seen: list[set[str]]) -> None:
    from . import text as T

    for piece in stream:
        for j in range(width):
            codes, uniques = pd.factorize(piece[j].to_numpy(), use_na_sentinel=True)
            seen[j].add(T._kind_of(np.asarray(uniques, dtype=object)))


# ---- SPSS -------------------------------------------------------------------------------------


def _spss_chunks(path: Path, chunk_rows: int) -> ChunkedTable:
    import pyreadstat

    from . import spss

    header = spss._dictionary(path)
    reader = pyreadstat.read_file_in_chunks(
        pyreadstat.read_sav, str(path), chunksize=chunk_rows, user_missing=True
    )
    try:
        data, meta = next(reader)
    except StopIteration:  # pragma: no cover - pyreadstat yields one empty chunk at least
        raise DataError(f"{path}: not a readable SPSS file") from None
    except pyreadstat.ReadstatError as exc:
        raise DataError(
            f"{path}: not a readable SPSS file ({exc}); is it truncated or renamed?"
        ) from None
    except Exception as exc:
        raise DataError(f"{path}: could not read SPSS file: {type(exc).__name__}") from None
    table = spss._table(path, header, data.iloc[:0], meta)
    total = meta.number_rows if (meta.number_rows or 0) >= 0 else None

    def chunks() -> Iterator[Chunk]:
        start, part = 0, data
        while True:
            part.index = pd.RangeIndex(start, start + len(part))
            yield Chunk(part, start)
            start += len(part)
            try:
                part, _ = next(reader)
            except StopIteration:
                break
            except Exception as exc:
                raise DataError(
                    f"{path}: could not read SPSS file after row {start}: {type(exc).__name__}"
                ) from None
        if header is not None:
            spss._check_complete(path, header, start)
            if header.cases < 0:  # the warning counted the first chunk's (empty) frame
                table.warnings[:] = [
                    w.replace("; read 0 to the end", f"; read {start} to the end")
                    for w in table.warnings
                ]

    return ChunkedTable(table, chunks(), total, None)


# ---- Parquet ----------------------------------------------------------------------------------


def _parquet_chunks(path: Path, chunk_rows: int) -> ChunkedTable:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from . import parquet as P

    try:
        source = pq.ParquetFile(path)
        schema = source.schema_arrow
    except (pa.ArrowException, OSError) as exc:
        raise DataError(
            f"{path}: not a readable Parquet file ({type(exc).__name__}); is it truncated or renamed?"
        ) from None
    names = [str(n) for n in schema.names]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataError(
            f"{path}: duplicate column names: {', '.join(map(repr, repeated))}; "
            "rename them so each is unique"
        )

    def frame(arrow, start: int) -> pd.DataFrame:
        columns = {name: P._column(path, name, arrow.column(j)) for j, name in enumerate(names)}
        data = pd.DataFrame(columns, copy=False)
        data.index = pd.RangeIndex(start, start + arrow.num_rows)
        return data

    kept = P._metadata(path, schema.metadata or {})
    empty = frame(schema.empty_table(), 0)
    table = Table(data=empty, source=str(path))
    for name in P._KEPT:
        if name in kept:
            setattr(table, name, kept[name])
    table.labels = {k: v for k, v in table.labels.items() if k in empty.columns}

    def chunks() -> Iterator[Chunk]:
        start = 0
        try:
            for batch in source.iter_batches(batch_size=chunk_rows):
                arrow = pa.Table.from_batches([batch])
                yield Chunk(frame(arrow, start), start)
                start += arrow.num_rows
        except (pa.ArrowException, OSError) as exc:
            raise DataError(
                f"{path}: could not read the Parquet file after row {start} "
                f"({type(exc).__name__}); is it truncated?"
            ) from None

    return ChunkedTable(table, chunks(), source.metadata.num_rows, None)


# ---- writers ----------------------------------------------------------------------------------


def staged_file(path: Path) -> Path:
    """A new temporary beside `path`, registered with the enclosing `staged_writes()`: renamed
    into place when it ends without error, removed on any error."""
    from . import _STAGE

    stage = _STAGE.get()
    if stage is None:  # pragma: no cover - a programming error
        raise RuntimeError("staged_file needs an enclosing staged_writes()")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, _new_file_mode(path))
    stage.append((Path(tmp), path))
    return Path(tmp)


class ChunkWriter:
    """Appends tables chunk after chunk to a staged temporary of `path` (CSV, TSV, Parquet)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.suffix = self.path.suffix.lower()
        self.tmp = staged_file(self.path)
        self.rows = 0
        self._parquet = None
        self._schema = None
        self._kept: bytes | None = None
        self.warnings: list[str] = []  # what the file could not keep, as write_table words it
        self.whole: set[str] | None = None  # CSV: F*.0 columns written as integers

    def write(self, table: Table, keep_float: set[str]) -> set[str]:
        """Append `table`'s rows; returns the F*.0 columns that hold a non-whole number here
        (the caller decides whether earlier chunks were written right)."""
        try:
            if self.suffix == ".parquet":
                self._write_parquet(table)
                return set()
            return self._write_text(table, keep_float)
        except OSError as exc:
            raise DataError(f"{self.path}: could not write: {exc.strerror or exc}") from None

    def _write_text(self, table: Table, keep_float: set[str]) -> set[str]:
        from . import text as T

        data, whole = T._codes_as_integers(table, keep_float=keep_float, report=True)
        not_whole = {
            name
            for name, fmt in table.formats.items()
            if name in data.columns
            and str(fmt).upper().endswith(".0")
            and pd.api.types.is_float_dtype(table.data[name].dtype)
            and name not in whole
        }
        T.write_frame(data, self.tmp, self.suffix, header=self.rows == 0, append=self.rows > 0)
        self.rows += len(data)
        return not_whole

    def _write_parquet(self, table: Table) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from . import parquet as P

        arrow = P.to_arrow(table)
        if self._parquet is None:
            # psyscore's entry goes in at the end (add_note may still change the notes)
            metadata = dict(arrow.schema.metadata or {})
            if hasattr(pq.ParquetWriter, "add_key_value_metadata"):
                self._kept = metadata.pop(P.METADATA_KEY, None)
            arrow = arrow.replace_schema_metadata(metadata)
            self._schema = arrow.schema
            self._parquet = pq.ParquetWriter(self.tmp, self._schema)
            if table.value_labels:
                self.warnings.append(
                    f"{self.path.name}: Parquet has no value labels; they were not written"
                )
        arrow = arrow.replace_schema_metadata(self._schema.metadata)
        if arrow.schema != self._schema:
            try:
                arrow = arrow.cast(self._schema)
            except (pa.ArrowException, ValueError, TypeError):
                changed = [
                    f.name for f, g in zip(arrow.schema, self._schema, strict=False) if f != g
                ]
                raise DataError(
                    f"column {changed[0] if changed else '?'} changes type after row "
                    f"{self.rows} (e.g. empty, then text), which one Parquet file cannot hold; "
                    "write .csv, or leave out --chunk-rows"
                ) from None
        self._parquet.write_table(arrow)
        self.rows += arrow.num_rows

    def discard(self) -> None:
        """Remove the temporary (a pass that must start again) and its place in the stage."""
        from . import _STAGE

        self.close()
        stage = _STAGE.get()
        if stage is not None:
            stage[:] = [(t, p) for t, p in stage if t != self.tmp]
        self.tmp.unlink(missing_ok=True)

    def add_note(self, note: str) -> None:
        """A note for the written file (Parquet keeps notes; CSV has no place for them)."""
        import json

        if self._parquet is not None and self._kept is not None:
            kept = json.loads(self._kept)
            kept["notes"] = [*kept.get("notes", []), note]
            self._kept = json.dumps(kept, ensure_ascii=False, default=str).encode()

    def close(self) -> None:
        if self._parquet is not None:
            from . import parquet as P

            if self._kept is not None:
                self._parquet.add_key_value_metadata({P.METADATA_KEY: self._kept})
            self._parquet.close()
            self._parquet = None
