"""CSV/TSV text of a DataFrame, column by column with pyarrow: the very bytes `DataFrame.to_csv`
writes (``index=False``, UTF-8, minimal quoting), several times faster (issue #14).

pandas turns every cell into a Python object and hands rows to the csv module one by one. Here
each column of a block of rows becomes an Arrow string array the way pandas would format it,
cells that need quotes get them, the columns are joined into lines and the lines' bytes are
written in one go. What pandas writes is the reference: a column whose text cannot be made
exactly (dates, categories that are not text, objects that are not text, ...) sends the whole frame to `to_csv`.

How pandas formats each dtype (``pandas.core.indexes.base.get_values_for_csv``):

- float64: ``values.astype(str)``, numpy's shortest repr (``57.0``, ``1e-05``, ``-0.0``,
  ``inf``); NaN is written empty.
- Float64: the same text of each value; a missing value is empty, a NaN that is not missing
  is ``nan``.
- int*, uint*, Int*, UInt*: the integer's digits; bool, boolean: ``True``/``False``.
- text (object of str, the str and string dtypes): as is; missing (None, NaN, NA) empty.

The csv module quotes a field holding the delimiter, the quote character or a character of the
line terminator (which ones exactly depends on the Python version, so they are found by asking
it, see `_quoting_rules`), doubles the quotes inside, and writes a line whose only field is empty
as ``""``.
"""

from __future__ import annotations

import csv
import functools
import io
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# cells formatted at a time (rows x columns): bounds the memory of the Arrow text of a block
CELLS_PER_BLOCK = 1 << 21
TEXT = pa.large_string()
# every character the text of a number or a bool can hold
_NUMBER_CHARS = frozenset("0123456789+-.einfaTrueFals")


class _CannotRender(Exception):
    """A column whose text this module cannot make exactly as pandas does."""


def write_csv(
    data: pd.DataFrame,
    path: Path,
    *,
    sep: str,
    header: bool = True,
    append: bool = False,
    progress: Callable[[int], None] | None = None,
) -> bool:
    """Write `data` as `data.to_csv(path, index=False, header=header, mode='a' if append else
    'w', sep=sep, encoding='utf-8', quoting=csv.QUOTE_MINIMAL)` would, byte for byte.

    `progress` is called with the number of rows of each block written (column-wise only;
    `to_csv` reports the whole frame once, at the end).

    Returns
    -------
    bool
        True when written column-wise; False when the frame went to `to_csv` (a dtype or label
        this module does not render).
    """
    terminator = os.linesep  # pandas' default line terminator
    rules = _quoting_rules(sep, terminator)
    formats = _column_formats(data) if rules is not None else None
    if formats is None or not _labels_are_text(data.columns) or _compressed(path):
        _to_csv(data, path, sep=sep, header=header, append=append)
        if progress is not None:
            progress(len(data))
        return False
    with open(path, "ab" if append else "wb") as fh:
        start = os.fstat(fh.fileno()).st_size if append else 0
        try:
            if header:
                fh.write(_header_line(list(data.columns), rules, sep, terminator))
            rows = max(1, CELLS_PER_BLOCK // len(formats))
            for begin in range(0, len(data), rows):
                stop = min(begin + rows, len(data))
                cells = [fmt(begin, stop) for fmt in formats]
                _write_lines(fh, _lines(cells, data, rules, sep, terminator))
                if progress is not None:
                    progress(stop - begin)
        except OSError:
            raise  # the disk, not the data: to_csv would fail the same way
        except Exception:
            # a block this module cannot render after all (an object column holding a number
            # further down, text that is no valid Unicode): cut off what this call wrote and
            # let to_csv write the frame (and raise what it raises)
            fh.truncate(start)
            fallback = True
        else:
            fallback = False
    if fallback:
        _to_csv(data, path, sep=sep, header=header, append=append)
        if progress is not None:
            progress(len(data))
        return False
    return True


def _compressed(path) -> bool:
    """A name to_csv would compress by (or no file name at all): left to to_csv."""
    if not isinstance(path, (str, os.PathLike)):
        return True
    name = os.fspath(path).lower()
    return name.endswith((".gz", ".bz2", ".zip", ".xz", ".zst", ".tar", ".tgz", ".tbz", ".txz"))


def _to_csv(data: pd.DataFrame, path: Path, *, sep: str, header: bool, append: bool) -> None:
    data.to_csv(
        path,
        index=False,
        header=header,
        mode="a" if append else "w",
        sep=sep,
        encoding="utf-8",
        # to_csv cannot be told to quote a lone \r (see `_quoting_rules`): where the text holds
        # one, every text cell is quoted, so that cell comes back as it went in
        quoting=csv.QUOTE_NONNUMERIC if _holds_carriage_return(data) else csv.QUOTE_MINIMAL,
    )


def _holds_carriage_return(data: pd.DataFrame) -> bool:
    if any(isinstance(c, str) and "\r" in c for c in data.columns):
        return True
    for j in range(data.shape[1]):
        column = data.iloc[:, j]
        text = column.dtype == object or isinstance(column.dtype, pd.StringDtype)
        if text and column.map(lambda v: isinstance(v, str) and "\r" in v).any():
            return True
    return False


def _header_line(labels: list[str], rules: str, sep: str, terminator: str) -> bytes:
    """The header as the csv module writes it, a label with a lone \r quoted too."""
    if not any("\r" in label for label in labels):
        return _csv_line(labels, sep, terminator).encode("utf-8")
    cells = [
        '"' + label.replace('"', '""') + '"' if any(c in label for c in rules) else label
        for label in labels
    ]
    return (sep.join(cells) + terminator).encode("utf-8")


# --- the csv module's rules --------------------------------------------------------------------


def _csv_line(fields: list, sep: str, terminator: str) -> str:
    """One line as pandas' csv writer writes it."""
    out = io.StringIO()
    writer = csv.writer(
        out,
        lineterminator=terminator,
        delimiter=sep,
        quoting=csv.QUOTE_MINIMAL,
        doublequote=True,
        escapechar=None,
        quotechar='"',
    )
    writer.writerow(fields)
    return out.getvalue()


@functools.cache
def _quoting_rules(sep: str, terminator: str) -> str | None:
    """The characters that make the csv module quote a field, found by asking it (Python 3.11
    quotes \\n but not a lone \\r with the terminator \\n; later versions may quote both).

    None when it does anything else this module does not copy (then `to_csv` writes).
    """
    candidates = [chr(c) for c in range(128)] + ["\x85", "\u2028", "\u2029", "\ufeff"]
    specials = []
    for char in candidates:
        field = f"a{char}b"
        line = _csv_line([field, "x"], sep, terminator)
        if line == f"{field}{sep}x{terminator}":
            continue
        if line != '"' + field.replace('"', '""') + f'"{sep}x{terminator}':
            return None
        specials.append(char)
        alone = '"' + char.replace('"', '""') + f'"{sep}x{terminator}'
        if _csv_line([char, "x"], sep, terminator) != alone:
            return None
    expected = {
        ("",): f'""{terminator}',  # a line of one empty field
        ("", ""): f"{sep}{terminator}",
        (" a ", "b"): f" a {sep}b{terminator}",
    }
    if any(_csv_line(list(fields), sep, terminator) != line for fields, line in expected.items()):
        return None
    if sep not in specials or '"' not in specials:
        return None
    if "\r" not in specials:
        # Python 3.11's csv module leaves a lone \r unquoted with the terminator \n, and every
        # CSV reader (pandas, pyarrow, Excel, psyscore) then ends the row there: the text would
        # not come back as it went in. psyscore quotes it (the one place it differs from to_csv).
        specials.append("\r")
    return "".join(specials)


# --- columns -----------------------------------------------------------------------------------

Format = Callable[[int, int], pa.Array]


def _labels_are_text(columns: pd.Index) -> bool:
    """Column labels pandas writes as they are: text, one level."""
    return not isinstance(columns, pd.MultiIndex) and all(type(c) is str for c in columns)


def _column_formats(data: pd.DataFrame) -> list[Format] | None:
    """For each column, how to make its cells' text for rows [begin, stop); None when a column
    has a dtype this module does not render (or there are no columns)."""
    if data.shape[1] == 0:
        return None
    formats = []
    for j in range(data.shape[1]):
        fmt = _column_format(data.iloc[:, j].array)
        if fmt is None:
            return None
        formats.append(fmt)
    return formats


def _column_format(values) -> Format | None:
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype):  # before numpy's: StringArray is a NumpyExtensionArray
        return lambda b, e: _string_cells(values[b:e])
    if isinstance(values, pd.arrays.NumpyExtensionArray):
        array = values.to_numpy()
        dtype = array.dtype
        if dtype.kind in "iu":
            return lambda b, e: _integer_cells(array[b:e], None)
        if dtype.kind == "b":
            return lambda b, e: _bool_cells(array[b:e], None)
        if dtype == np.float64:
            return lambda b, e: _float64_block(array[b:e], np.isnan(array[b:e]))
        if dtype.kind == "f":  # float32, float16: numpy's own text, as pandas writes it
            return lambda b, e: _numpy_float_cells(array[b:e])
        if dtype.kind == "O" and _object_column_may_be_text(array):
            return lambda b, e: _object_cells(array[b:e])
        return None
    if isinstance(values, pd.Categorical):
        return _categorical_format(values)
    if isinstance(values, pd.arrays.IntegerArray):
        return lambda b, e: _integer_cells(
            values[b:e].to_numpy(dtype=dtype.numpy_dtype, na_value=0), values[b:e].isna()
        )
    if isinstance(values, pd.arrays.BooleanArray):
        return lambda b, e: _bool_cells(
            values[b:e].to_numpy(dtype=bool, na_value=False), values[b:e].isna()
        )
    if isinstance(values, pd.arrays.FloatingArray) and dtype == pd.Float64Dtype():
        return lambda b, e: _float64_block(
            values[b:e].to_numpy(dtype="float64", na_value=np.nan), values[b:e].isna()
        )
    return None


def _categorical_format(values: pd.Categorical) -> Format | None:
    """Categories of text (the score status columns): pandas writes each cell's category as
    it is, a missing one empty. Categories of anything else go to to_csv."""
    categories = values.categories
    if pd.api.types.infer_dtype(categories, skipna=False) not in {"string", "empty"}:
        return None
    texts = pa.array(list(categories), type=TEXT)
    codes = values.codes

    def cells(begin: int, stop: int) -> pa.Array:
        block = codes[begin:stop].astype(np.int64)
        return texts.take(pa.array(block, mask=block < 0))  # code -1: missing, null

    return cells


def _object_column_may_be_text(array: np.ndarray) -> bool:
    """One quick look (each block is checked exactly when it is formatted)."""
    return pd.api.types.infer_dtype(array, skipna=True) in {"string", "empty"}


def _object_cells(block: np.ndarray) -> pa.Array:
    """str cells as they are; what pandas counts as missing (None, NaN, NA, NaT) empty."""
    missing = pd.isna(block)
    if pd.api.types.infer_dtype(block[~missing], skipna=False) not in {"string", "empty"}:
        raise _CannotRender("an object column holds something that is not text")
    cells = block.copy()
    cells[missing] = None
    return pa.array(cells, type=TEXT, from_pandas=False)


def _string_cells(values) -> pa.Array:
    """The str and string dtypes (Python or Arrow storage): missing cells null."""
    cells = pa.array(values)  # zero-copy for Arrow storage
    if isinstance(cells, pa.ChunkedArray):
        cells = cells.combine_chunks()
    return pc.cast(cells, TEXT)


@dataclass
class _Coded:
    """A column of few distinct texts: cell i is ``texts[codes[i]]`` (``texts[0]`` is the
    empty text of a missing cell). Neighbouring coded columns are joined through one small
    dictionary of their combined texts (`_combined`), so the lines are joined from far fewer
    cells: survey answers are mostly codes 1 to 5."""

    codes: np.ndarray
    texts: pa.Array

    def cells(self) -> pa.Array:
        return self.texts.take(pa.array(self.codes))


Cells = pa.Array | _Coded
FEW_VALUES = 256  # integer columns spanning at most this many values are coded


def _integer_cells(values: np.ndarray, missing: np.ndarray | None) -> Cells:
    """An integer's digits (Arrow writes them as Python does); missing cells empty."""
    known = values if missing is None else values[~missing]
    if len(known):
        low, high = known.min(), known.max()
        if int(high) - int(low) < FEW_VALUES:
            # modular arithmetic in the column's own dtype; the difference read unsigned is
            # exact (int8 -128..127 spans 255), and so is low + i, a value of the column
            unsigned = np.dtype(f"u{values.dtype.itemsize}")
            codes = (values - low).view(unsigned).astype(np.int64) + 1
            span = np.arange(int(high) - int(low) + 1).astype(values.dtype) + low
            if missing is not None:
                codes[missing] = 0
            texts = pa.concat_arrays([pa.array([""], TEXT), pc.cast(pa.array(span), TEXT)])
            return _Coded(codes, texts)
    return pc.cast(pa.array(values, mask=missing), TEXT)


_BOOL_TEXTS = pa.array(["", "False", "True"], TEXT)


def _bool_cells(flags: np.ndarray, missing: np.ndarray | None) -> Cells:
    codes = flags.astype(np.int64) + 1
    if missing is not None:
        codes[missing] = 0
    return _Coded(codes, _BOOL_TEXTS)


def _float64_block(values: np.ndarray, missing: np.ndarray) -> Cells:
    """`_float64_cells`, coded when every value is a whole number of a small span (sums of
    answers, codes stored as doubles); `missing` cells empty."""
    missing = np.asarray(missing)
    known = values[~missing]
    if len(known) and np.isfinite(known).all():
        low, high = float(known.min()), float(known.max())  # Python floats: no overflow warning
        if (
            high - low < FEW_VALUES
            and (known == np.trunc(known)).all()
            and not (np.signbit(known) & (known == 0)).any()  # -0.0 is written `-0.0`
        ):
            span = low + np.arange(int(high - low) + 1, dtype=np.float64)
            # low + i is exact where it is a value of the column (the difference is exact)
            codes = np.where(missing, 0, values - low).astype(np.int64) + 1
            codes[missing] = 0
            texts = pa.concat_arrays([pa.array([""], TEXT), _float64_cells(span, None)])
            return _Coded(codes, texts)
    return _float64_cells(values, missing)


def _numpy_float_cells(values: np.ndarray) -> pa.Array:
    missing = np.isnan(values)
    return pc.if_else(pa.array(missing), pa.scalar(None, TEXT), _numpy_text(values))


def _numpy_text(values: np.ndarray) -> pa.Array:
    """numpy's ``str`` of each value (pyarrow 16 makes no large_string of numpy text)."""
    return pa.array(values.astype(str), type=pa.string()).cast(TEXT)


# Arrow writes a float64 with the shortest digits that read back as it (as Python and numpy do)
# but in its own layout: fixed notation only for magnitudes in [1e-6, 1e10), no `.0` on whole
# numbers, one-digit exponents (`1e-7`). Python uses fixed notation in [1e-4, 1e16) and
# exponents of two digits at least (`1e-07`). So Arrow's text is used where the two layouts
# agree, whole numbers are written from their integer, and numpy writes the rest.
_FIXED = (1e-4, 1e10)  # Python and Arrow both write fixed notation here
_SCIENTIFIC = (1e-6, 1e16)  # below the first and from the second, both write exponents


def _float64_cells(values: np.ndarray, missing: np.ndarray | None) -> pa.Array:
    """numpy's ``str`` of each float64 (what pandas writes); `missing` cells null.

    A NaN that is not `missing` is written ``nan``, as pandas writes it in a Float64 column.
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    keep = np.ones(len(values), dtype=bool) if missing is None else ~np.asarray(missing)
    magnitude = np.abs(values)
    with np.errstate(invalid="ignore"):
        # |v| < 1e16: Python writes every digit of the integer and `.0` (inf, NaN: False)
        whole = keep & (magnitude < 1e16) & (values == np.trunc(values))
        fixed = keep & ~whole & (magnitude >= _FIXED[0]) & (magnitude < _FIXED[1])
        scientific = (
            keep
            & ~whole
            & np.isfinite(values)
            & ((magnitude < _SCIENTIFIC[0]) | (magnitude >= _SCIENTIFIC[1]))
        )
    pieces: list[tuple[np.ndarray, pa.Array]] = []  # (cells, their text)
    if whole.any():
        integers = pc.cast(pa.array(values[whole].astype(np.int64)), TEXT)
        texts = pc.binary_join_element_wise(integers, pa.scalar(".0", TEXT), pa.scalar("", TEXT))
        negative_zero = (values[whole] == 0) & np.signbit(values[whole])
        if negative_zero.any():  # the integer 0 has no sign
            texts = _replace(texts, negative_zero, pa.array(["-0.0"] * negative_zero.sum(), TEXT))
        pieces.append((whole, texts))
    by_numpy = keep & ~whole
    by_arrow = fixed | scientific
    if by_arrow.any():
        texts, good = _arrow_float_text(values[by_arrow], scientific[by_arrow])
        used = by_arrow.copy()
        used[by_arrow] = good
        pieces.append((used, texts if good.all() else texts.filter(pa.array(good))))
        by_numpy &= ~used
    if by_numpy.any():  # inf, NaN written, magnitudes where the layouts differ
        pieces.append((by_numpy, _numpy_text(values[by_numpy])))
    if len(pieces) == 1 and pieces[0][0].all():
        return pieces[0][1]  # one kind of number, none missing
    cells = pa.nulls(len(values), TEXT)  # the missing cells stay null
    for where, texts in pieces:
        cells = _replace(cells, where, texts)
    return cells


def _arrow_float_text(values: np.ndarray, scientific: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """Arrow's text of finite non-whole `values` in Python's layout, and which of them are
    certainly right: the layout expected (exponent or not) and the text reads back as the
    very same double. The others are left to numpy."""
    texts = pc.cast(pa.array(values), TEXT)
    if scientific.any():
        # `1e-7` -> `1e-07`: Python writes two exponent digits at least
        padded = pc.replace_substring_regex(texts, pattern=r"e([-+])(\d)$", replacement=r"e\10\2")
        texts = pc.if_else(pa.array(scientific), padded, texts)
    has_exponent = pc.match_substring(texts, "e").to_numpy(zero_copy_only=False)
    reads_back = pc.cast(texts, pa.float64()).to_numpy(zero_copy_only=False)
    good = (has_exponent == scientific) & (reads_back == values)
    return texts, good


def _replace(cells: pa.Array, where: np.ndarray, replacements: pa.Array) -> pa.Array:
    return pc.replace_with_mask(cells, pa.array(where), replacements)


# --- lines -------------------------------------------------------------------------------------


def _lines(
    cells: list[Cells], data: pd.DataFrame, specials: str, sep: str, terminator: str
) -> pa.Array:
    """The block's lines: cells quoted where the csv module quotes them, joined by `sep`."""
    quote_numbers = bool(_NUMBER_CHARS & set(specials))  # never for `,` or tab
    for j, column in enumerate(cells):
        if quote_numbers or not _is_numeric(data.dtypes.iloc[j]):
            cells[j] = _quoted(column.cells() if isinstance(column, _Coded) else column, specials)
    if data.shape[1] == 1:
        # a line holding one empty field is written `""` (an empty line would be no row)
        only = cells[0].cells() if isinstance(cells[0], _Coded) else cells[0]
        only = pc.fill_null(only, pa.scalar("", TEXT))
        only = pc.if_else(pc.equal(only, ""), pa.scalar('""', TEXT), only)
        return _ended(only, terminator)
    cells = _combined(cells, sep)
    # the terminator goes on the last column only: no second pass over the whole lines
    cells[-1] = _ended(pc.fill_null(cells[-1], pa.scalar("", TEXT)), terminator)
    return pc.binary_join_element_wise(
        *cells, pa.scalar(sep, TEXT), null_handling="replace", null_replacement=""
    )


def _ended(column: pa.Array, terminator: str) -> pa.Array:
    return pc.binary_join_element_wise(column, pa.scalar("", TEXT), pa.scalar(terminator, TEXT))


MAX_COMBINED = 1 << 14  # texts in the dictionary of coded columns joined together


def _combined(cells: list[Cells], sep: str) -> list[pa.Array]:
    """The cells as text, each run of neighbouring coded columns joined into one column of
    ``a<sep>b<sep>c`` through the dictionary of their combinations."""
    out: list[pa.Array] = []
    run: list[_Coded] = []
    for column in [*cells, None]:
        if isinstance(column, _Coded) and (
            not run or math.prod(len(c.texts) for c in run) * len(column.texts) <= MAX_COMBINED
        ):
            run.append(column)
            continue
        if len(run) == 1:
            out.append(run[0].cells())
        elif run:
            out.append(_joined_run(run, sep))
        run = [column] if isinstance(column, _Coded) else []
        if isinstance(column, pa.Array):
            out.append(column)
    return out


def _joined_run(run: list[_Coded], sep: str) -> pa.Array:
    sizes = [len(c.texts) for c in run]
    code = np.zeros(len(run[0].codes), dtype=np.int64)
    for column, size in zip(run, sizes, strict=True):
        code = code * size + column.codes
    every = np.indices(sizes).reshape(len(run), -1)  # row-major: the order of `code`
    texts = [column.texts.take(pa.array(every[k])) for k, column in enumerate(run)]
    dictionary = pc.binary_join_element_wise(*texts, pa.scalar(sep, TEXT))
    return dictionary.take(pa.array(code))


def _is_numeric(dtype) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)


def _quoted(column: pa.Array, specials: str) -> pa.Array:
    """Cells holding a special character in quotes, their quotes doubled."""
    needs = _needs_quotes(column, specials)
    if needs is None:
        return column
    chosen = pa.array(needs)
    doubled = pc.replace_substring(column.filter(chosen), '"', '""')
    quote = pa.scalar('"', TEXT)
    quoted = pc.binary_join_element_wise(quote, doubled, quote, pa.scalar("", TEXT))
    return pc.replace_with_mask(column, chosen, quoted)


def _needs_quotes(column: pa.Array, specials: str) -> np.ndarray | None:
    """Which cells hold a special character (None: no cell does).

    The specials are ASCII, and in UTF-8 an ASCII byte is always that character (every byte
    of a longer character is 0x80 or above), so the bytes of all cells are searched at once.
    """
    if not specials.isascii():
        needs = pc.match_substring_regex(
            column, "[" + "".join(f"\\x{{{ord(c):x}}}" for c in specials) + "]"
        )
        needs = pc.fill_null(needs, False).to_numpy(zero_copy_only=False)
        return needs if needs.any() else None
    column = column.cast(TEXT)
    if len(column) == 0 or column.buffers()[2] is None:
        return None
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int64)
    offsets = offsets[column.offset : column.offset + len(column) + 1]
    data = np.frombuffer(column.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    special = np.zeros(len(data), dtype=bool)
    for char in specials.encode("ascii"):
        special |= data == char
    if not special.any():
        return None
    # specials in each cell: the running count at its end minus that at its start (a null
    # cell has no bytes, so none)
    running = np.concatenate([[0], np.cumsum(special, dtype=np.int64)])
    starts = offsets - offsets[0]
    return running[starts[1:]] > running[starts[:-1]]


def _write_lines(fh, lines: pa.Array) -> None:
    """The lines' UTF-8 bytes, straight from the Arrow buffer."""
    if len(lines) == 0:
        return
    lines = lines.cast(TEXT)
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
    first, last = offsets[lines.offset], offsets[lines.offset + len(lines)]
    fh.write(memoryview(lines.buffers()[2])[first:last])
