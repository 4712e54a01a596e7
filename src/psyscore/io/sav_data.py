"""The data section of a .sav file, written with numpy instead of pyreadstat's row loop.

pyreadstat.write_sav spends nearly all of its time walking the rows in Python (narwhals'
`iter_rows` plus a `pd.isna` per cell: 11 of its 12 s on 1,000,000 x 60); readstat's C
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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SYSMIS = np.uint64(0xFFEFFFFFFFFFFFFF)  # -DBL_MAX, as readstat writes a missing number
EIGHT_SPACES = np.uint64(0x2020202020202020)
SPSS_EPOCH_SECONDS = 12219379200  # 1582-10-14 to 1970-01-01, pyreadstat's spss_offset_secs
_UNIT_FACTOR = {"ns": 1_000_000_000, "us": 1_000_000, "ms": 1_000}
_CHUNK_BYTES = 32 << 20  # rows are encoded this many bytes of row buffer at a time
_NCASES_RECORD = struct.pack("<4iqq", 7, 16, 8, 2, 1, 1)  # record 7.16 of a one-row file
_END_OF_DICTIONARY = struct.pack("<2i", 999, 0)


@dataclass
class _Column:
    """One variable's place in a row and how its values become bytes."""

    kind: str  # "number", "string" or "datetime"
    offset: int  # byte offset in the row
    width: int  # storage bytes (a multiple of 8)
    values: np.ndarray | list  # float64 numbers / datetime seconds, or encoded texts (bytes)
    text_bytes: int = 0  # longest text in bytes (strings)


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
        row_len = sum(c.width for c in columns)
        step = max(1, _CHUNK_BYTES // row_len)
        for start in range(0, len(data), step):
            stop = min(start + step, len(data))
            rows = _rows(columns, start, stop, row_len)
            fh.write(_compress(rows, columns, stop == len(data)) if compressed else rows)
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
        elif dtype == object and pd.api.types.infer_dtype(col, skipna=False) == "string":
            texts = [value.encode("utf-8") for value in col.to_numpy()]
            longest = max(map(len, texts), default=0)
            # pyreadstat's width: the longest text in bytes, the longest value-label key in
            # characters, at least 1
            keys = value_labels.get(name) or {}
            user_width = max([1, longest, *(len(str(k)) for k in keys)])
            column = _Column("string", offset, _storage_width(user_width), texts, longest)
        else:
            return None
        columns.append(column)
        offset += column.width
    return columns


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
            lengths = np.fromiter(map(len, column.values), dtype=np.int64, count=len(data))
            longest = data[name].iat[int(lengths.argmax())]
            template[name] = pd.Series([longest], index=template.index, dtype=object)
    return template


def _dictionary_of_template(tmp: Path, columns: list[_Column], compressed: bool) -> bytes | None:
    """The dictionary pyreadstat wrote before its one row, checked against this module's own
    encoding of that row (None: it does not match; the caller falls back)."""
    raw = tmp.read_bytes()
    template_columns = [_template_column(c) for c in columns]
    row_len = sum(c.width for c in columns)
    row = _rows(template_columns, 0, 1, row_len)
    ours = (_compress(row, columns, True) if compressed else row).tobytes()
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
        return _Column(column.kind, column.offset, column.width, column.values[:1])
    longest = max(column.values, key=len)
    return _Column("string", column.offset, column.width, [longest], column.text_bytes)


def _rows(columns: list[_Column], start: int, stop: int, row_len: int) -> np.ndarray:
    """Rows start..stop as readstat lays them out uncompressed: (rows, row_len) uint8."""
    rows = np.full((stop - start, row_len), 0x20, dtype=np.uint8)
    slots = rows.view(np.uint64)
    for column in columns:
        if column.kind == "string":
            _put_texts(rows, column, column.values[start:stop])
            continue
        numbers = np.ascontiguousarray(column.values[start:stop], dtype=np.float64)
        slots[:, column.offset // 8] = np.where(np.isnan(numbers), SYSMIS, numbers.view(np.uint64))
    return rows


def _put_texts(rows: np.ndarray, column: _Column, texts: list[bytes]) -> None:
    if column.text_bytes == 0:
        return  # every text is empty: spaces already
    # NUL-padded fixed width; bytes from the first NUL on become spaces, as readstat's
    # strlen() and space padding make them
    fixed = np.array(texts, dtype=f"S{column.text_bytes}").view(np.uint8)
    fixed = fixed.reshape(len(texts), column.text_bytes)
    after_nul = np.logical_or.accumulate(fixed == 0, axis=1)
    fixed[after_nul] = 0x20
    for piece in range(0, column.text_bytes, 255):  # texts over 255 bytes: one piece per 256
        width = min(255, column.text_bytes - piece)
        at = column.offset + piece // 255 * 256
        rows[:, at : at + width] = fixed[:, piece : piece + width]


def _compress(rows: np.ndarray, columns: list[_Column], last: bool) -> np.ndarray:
    """readstat's sav_compress_row over many rows at once: the bytes, as uint64 words."""
    slots = rows.view(np.uint64)
    n, width = slots.shape
    numeric = np.zeros(width, dtype=bool)
    for column in columns:
        if column.kind != "string":
            numeric[column.offset // 8] = True
    values = slots.view(np.float64)
    with np.errstate(invalid="ignore"):
        small = (values > -100) & (values < 152) & (values == np.trunc(values))
    number_codes = np.where(
        slots == SYSMIS, 255, np.where(small, values + 100, 253).astype(np.uint8)
    ).astype(np.uint8)
    text_codes = np.where(slots == EIGHT_SPACES, 254, 253).astype(np.uint8)
    codes = np.where(numeric, number_codes, text_codes)
    blocks = width // 8 + 1  # a new block of 8 codes after every 8th slot, even the last
    commands = np.zeros((n, blocks * 8), dtype=np.uint8)
    commands[:, :width] = codes
    if last:
        commands[-1, width] = 252
    # each row as fixed units [block 0 codes, slots 0-7, block 1 codes, slots 8-15, ...]; a
    # slot is kept only where its code is 253 (its bytes follow the block)
    slot_at = np.arange(width) // 8 * 9 + 1 + np.arange(width) % 8
    block_at = np.arange(blocks) * 9
    units = np.empty((n, blocks + width), dtype=np.uint64)
    units[:, block_at] = commands.view(np.uint64)
    units[:, slot_at] = slots
    keep = np.ones((n, blocks + width), dtype=bool)
    keep[:, slot_at] = codes == 253
    return units[keep]
