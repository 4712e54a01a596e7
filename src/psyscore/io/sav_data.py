"""The data section of a .sav file, written with numpy instead of pyreadstat's row loop.

pyreadstat.write_sav spends nearly all of its time walking the rows and cells (narwhals'
`iter_rows`, then a `pd.isna` and a readstat call per cell; README "Speed"); readstat's C
writer itself is fast. So pyreadstat still writes the whole dictionary (every label, value
label, user-missing range, measure, format, width, document line: all its metadata code is
kept) from a one-row frame whose text columns hold their longest value, which gives the same
variable widths as the full data. The rows are then written here, replacing that one row,
byte for byte as readstat would write them (`readstat_sav_write.c`, `readstat_sav_compress.c`):

- a number is its little-endian double; a missing one (NaN) is SPSS's system-missing value;
- a text is its UTF-8 bytes up to the first NUL (readstat takes a C string), padded with
  spaces; a text over 255 bytes goes in 255-byte pieces, one every 256 bytes;
- a datetime64 (ns, us, ms) is seconds since 1582-10-14, computed as pyreadstat does;
- row ("bytecode") compression codes each 8-byte slot: 1-251 for a whole number from -99 to
  151, 255 system-missing, 254 eight spaces, 253 for the 8 bytes that follow the block of 8
  codes. Each row starts a new block; the file's last code is 252.

The one-row file's data must match this module's own encoding of that row, byte for byte,
before it is used: otherwise (and for any column type not listed above, .zsav, a big-endian
machine or an empty table) the caller lets pyreadstat write everything, as before.
"""

from __future__ import annotations

import struct
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.api.types import infer_dtype, is_object_dtype

SYSMIS = np.uint64(0xFFEFFFFFFFFFFFFF)  # -DBL_MAX, as readstat writes a missing number
EIGHT_SPACES = np.uint64(0x2020202020202020)
SPSS_EPOCH_SECONDS = 12219379200  # 1582-10-14 to 1970-01-01, pyreadstat's spss_offset_secs
_UNIT_FACTOR = {"ns": 1_000_000_000, "us": 1_000_000, "ms": 1_000}
_CHUNK_BYTES = 8 << 20  # rows are encoded this many bytes of row buffer at a time
_NCASES_RECORD = struct.pack("<4iqq", 7, 16, 8, 2, 1, 1)  # record 7.16 of a one-row file
_END_OF_DICTIONARY = struct.pack("<2i", 999, 0)


@dataclass
class _Column:
    """One variable's place in a row and its values."""

    kind: str  # "number", "string" or "datetime"
    offset: int  # byte offset in the row
    width: int  # storage bytes (a multiple of 8)
    values: np.ndarray  # float64 numbers / datetime seconds; texts: their UTF-8 bytes end to end
    starts: np.ndarray | None = None  # texts: where each one starts in `values` (n + 1 ends)
    text_bytes: int = 0  # texts: the longest one in bytes
    has_nul: bool = False  # texts: a NUL byte somewhere (readstat ends a text there)

    def texts(self, start: int, stop: int) -> np.ndarray:
        """Texts start..stop as (rows, text_bytes) uint8, cut at a NUL and padded with spaces."""
        ends = self.starts[start + 1 : stop + 1]
        begins = self.starts[start:stop]
        position = np.arange(self.text_bytes)
        inside = position < (ends - begins)[:, None]
        at = np.minimum(begins[:, None] + position, max(len(self.values) - 1, 0))
        fixed = np.where(inside, self.values[at], 0 if self.has_nul else 0x20).astype(np.uint8)
        if self.has_nul:
            fixed[np.logical_or.accumulate(fixed == 0, axis=1)] = 0x20
        return fixed


def write(pyreadstat, data: pd.DataFrame, tmp: Path, options: dict) -> bool:
    """Write `data` with its metadata `options` (pyreadstat.write_sav's keywords) to `tmp`.

    Returns False, having written nothing that counts, when this path does not apply; the
    caller then writes with pyreadstat as usual.
    """
    if sys.byteorder != "little" or options.get("compress") or not 0 < len(data) < 2**31:
        return False
    value_labels = options.get("variable_value_labels") or {}
    columns = _columns(data, value_labels)
    if columns is None:
        return False
    compressed = bool(options.get("row_compress"))
    pyreadstat.write_sav(_template(data, columns), str(tmp), **options)
    dictionary = _dictionary_of_template(tmp, columns, compressed)
    if dictionary is None:
        return False
    with open(tmp, "wb") as fh:
        # the case count: in the header and in record 7.16, which ends the dictionary
        fh.write(dictionary[:80] + struct.pack("<i", len(data)) + dictionary[84:])
        fh.write(struct.pack("<q", len(data)) + _END_OF_DICTIONARY)
        encoder = _Encoder(columns, min(len(data), max(1, _CHUNK_BYTES // _row_len(columns))))
        for start in range(0, len(data), encoder.capacity):
            stop = min(start + encoder.capacity, len(data))
            fh.write(encoder.encode(start, stop, compressed, last=stop == len(data)))
    return True


def _columns(data: pd.DataFrame, value_labels: dict) -> list[_Column] | None:
    """The row layout of `data`, or None if a column is of a type this module does not write."""
    columns: list[_Column] = []
    offset = 0
    for name, col in data.items():
        dtype = col.dtype
        if dtype == np.float64:
            column = _Column("number", offset, 8, col.to_numpy())
        elif (
            isinstance(dtype, np.dtype)
            and dtype.kind == "M"
            and np.datetime_data(dtype)[0] in _UNIT_FACTOR
        ):
            column = _Column("datetime", offset, 8, _spss_seconds(col.to_numpy()))
        elif is_object_dtype(dtype) and infer_dtype(col, skipna=False) == "string":
            column = _text_column(col, offset, value_labels.get(name) or {})
            if column is None:
                return None
        else:
            return None
        columns.append(column)
        offset += column.width
    return columns


def _text_column(col: pd.Series, offset: int, labels: dict) -> _Column | None:
    """A text variable: its UTF-8 bytes through Arrow (in C, not a Python loop per text)."""
    try:
        encoded = pa.array(col.to_numpy(), type=pa.large_string())
    except (pa.ArrowException, UnicodeError):
        return None  # e.g. a lone surrogate: pyreadstat's own write refuses it
    _, offsets, data = encoded.buffers()
    starts = np.frombuffer(offsets, dtype=np.int64)[encoded.offset : encoded.offset + len(col) + 1]
    values = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    longest = int(np.diff(starts).max(initial=0))
    # pyreadstat's width: the longest text in bytes, the longest value-label key in
    # characters, at least 1
    user_width = max([1, longest, *(len(str(k)) for k in labels)])
    has_nul = bool((values[starts[0] : starts[-1]] == 0).any())
    return _Column("string", offset, _storage_width(user_width), values, starts, longest, has_nul)


def _row_len(columns: list[_Column]) -> int:
    return sum(c.width for c in columns)


def _storage_width(user_width: int) -> int:
    """readstat's sav_variable_width: bytes a text variable takes in a row."""
    if user_width > 255:
        segments = (user_width + 251) // 252
        last = (user_width - (segments - 1) * 252 + 7) // 8 * 8
        return (segments - 1) * 256 + last
    return (user_width + 7) // 8 * 8


def _spss_seconds(stamps: np.ndarray) -> np.ndarray:
    """pyreadstat's vectorized_convert_datetime_to_number for .sav, in numpy (NaT -> NaN)."""
    factor = _UNIT_FACTOR[np.datetime_data(stamps.dtype)[0]]
    ticks = stamps.view(np.int64)
    whole = ticks // factor + SPSS_EPOCH_SECONDS
    seconds = whole.astype(np.float64) * 1 + (ticks % factor).astype(np.float64) / factor * 1
    seconds[ticks == np.iinfo(np.int64).min] = np.nan
    return seconds


def _template(data: pd.DataFrame, columns: list[_Column]) -> pd.DataFrame:
    """One row with the dtypes of `data` and, in each text column, its longest text."""
    template = data.iloc[:1].copy()
    for (name, _), column in zip(data.items(), columns, strict=True):
        if column.kind == "string":
            longest = data[name].iat[_longest(column)]
            template[name] = pd.Series([longest], index=template.index, dtype=object)
    return template


def _longest(column: _Column) -> int:
    return int(np.diff(column.starts).argmax())


def _dictionary_of_template(tmp: Path, columns: list[_Column], compressed: bool) -> bytes | None:
    """The dictionary pyreadstat wrote before its one row, checked against this module's own
    encoding of that row (None: it does not match; the caller falls back)."""
    raw = tmp.read_bytes()
    row_len = _row_len(columns)
    encoder = _Encoder([_template_column(c) for c in columns], 1)
    ours = encoder.encode(0, 1, compressed, last=True).tobytes()
    dictionary = raw[: len(raw) - len(ours)]
    tail = len(_NCASES_RECORD) + len(_END_OF_DICTIONARY)
    header_ok = (
        len(raw) > len(ours) + 176 + tail
        and struct.unpack_from("<3i", raw, 64) == (2, row_len // 8, 1 if compressed else 0)
        and struct.unpack_from("<i", raw, 80)[0] == 1
    )
    if not header_ok or raw[len(dictionary) :] != ours:
        return None
    if dictionary[-tail:] != _NCASES_RECORD + _END_OF_DICTIONARY:
        return None
    return dictionary[:-16]  # without the case count and the end record: write() adds them


def _template_column(column: _Column) -> _Column:
    """`column` as the template row has it: its first value, or its longest text."""
    if column.kind != "string":
        return replace(column, values=column.values[:1])
    at = _longest(column)
    starts = column.starts[at : at + 2]
    return replace(column, starts=starts)


class _Encoder:
    """Rows as readstat writes them, `capacity` rows at a time, in buffers kept between
    chunks (fresh memory for each chunk costs a page fault every 4 kB)."""

    def __init__(self, columns: list[_Column], capacity: int):
        self.columns, self.capacity = columns, capacity
        self.row_len = _row_len(columns)
        slots = self.row_len // 8
        self.blocks = slots // 8 + 1  # a new block of 8 codes after every 8th slot, even the last
        self.rows = np.empty((capacity, self.row_len), dtype=np.uint8)
        self.codes = np.zeros((capacity, self.blocks * 8), dtype=np.uint8)
        self.units = np.empty((capacity, self.blocks, 9), dtype=np.uint64)
        self.keep = np.ones((capacity, self.blocks, 9), dtype=bool)

    def encode(self, start: int, stop: int, compressed: bool, last: bool) -> np.ndarray:
        n = stop - start
        rows, codes = self.rows[:n], self.codes[:n]
        slots = rows.view(np.uint64)
        for column in self.columns:
            if column.kind == "string":
                self._put_texts(rows, codes if compressed else None, column, start, stop)
                continue
            numbers = column.values[start:stop]
            slot = column.offset // 8
            bits = np.where(np.isnan(numbers), SYSMIS, numbers.view(np.uint64))
            slots[:, slot] = bits
            if compressed:
                codes[:, slot] = _number_codes(numbers, bits)
        if not compressed:
            return rows
        return self._compress(n, last)

    @staticmethod
    def _put_texts(rows, codes, column: _Column, start: int, stop: int) -> None:
        rows[:, column.offset : column.offset + column.width] = 0x20
        if column.text_bytes:
            fixed = column.texts(start, stop)
            for piece in range(0, column.text_bytes, 255):  # over 255 bytes: a piece per 256
                width = min(255, column.text_bytes - piece)
                at = column.offset + piece // 255 * 256
                rows[:, at : at + width] = fixed[:, piece : piece + width]
        if codes is not None:
            first = column.offset // 8
            region = rows[:, column.offset : column.offset + column.width].view(np.uint64)
            codes[:, first : first + column.width // 8] = np.where(region == EIGHT_SPACES, 254, 253)

    def _compress(self, n: int, last: bool) -> np.ndarray:
        """readstat's sav_compress_row over n rows: each row as the fixed units [codes of
        block 0, slots 0-7, codes of block 1, slots 8-15, ...], a slot kept only where its
        code is 253 (its 8 bytes follow the block)."""
        slots = self.rows[:n].view(np.uint64)
        codes, units, keep = self.codes[:n], self.units[:n], self.keep[:n]
        width = slots.shape[1]
        full = width // 8
        if last:
            codes[n - 1, width] = 252
        units[:, :, 0] = codes.view(np.uint64)
        units[:, :full, 1:] = slots[:, : full * 8].reshape(n, full, 8)
        units[:, full, 1 : 1 + width - full * 8] = slots[:, full * 8 :]
        np.equal(codes.reshape(n, self.blocks, 8), 253, out=keep[:, :, 1:])
        compressed = units[keep]
        if last:
            codes[n - 1, width] = 0
        return compressed


def _number_codes(numbers: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """Compression codes of numbers: 1-251 for whole numbers -99..151, 255 for the
    system-missing bits (NaN and -DBL_MAX alike, as readstat compares the bits), else 253."""
    with np.errstate(invalid="ignore"):
        whole = numbers.astype(np.int16)  # wraps or is arbitrary outside -99..151: then unequal
    small = whole == numbers
    small &= whole > -100
    small &= whole < 152
    codes = (whole + 100).astype(np.uint8)
    codes[~small] = 253
    codes[bits == SYSMIS] = 255
    return codes
