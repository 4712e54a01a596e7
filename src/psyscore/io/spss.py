"""SPSS .sav/.zsav/.por through pyreadstat, keeping labels, value labels, user-missing
declarations, formats (dates stay dates), the file label and the compression.

What pyreadstat can read but not write (the case weight, multiple response sets, variable and
file attributes) is found in the file's dictionary and named in a warning when a .sav is
written, instead of vanishing. Variable names that SPSS does not accept (`Duration (in
seconds)`, `1st`, `id` beside `ID`) are renamed for .sav output only, each rename listed in
the file's document and the old name kept as the variable label.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import struct
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from . import Table, sav_data


def _read(pyreadstat, path: Path):
    if path.suffix.lower() == ".por":
        # read_por has no user_missing switch (portable files declare user-missing values as
        # .sav files do); the parser behind it has one. Fall back, and say so, if it moves.
        entry = getattr(getattr(pyreadstat, "pyreadstat", None), "parser_entry_point", None)
        try:
            data, meta = entry(str(path), parser_format="por", user_missing=True)
            meta.file_format = "por"
            return data, meta
        except TypeError:
            data, meta = pyreadstat.read_por(str(path))
            meta.notes = [
                *(getattr(meta, "notes", None) or []),
                f"{path.name}: this pyreadstat reads user-missing codes of portable files as "
                "plain missing, without their reason; export .sav to keep them",
            ]
            return data, meta
    # user_missing=True keeps "9 = refused" as the value 9 (with its declaration) instead of
    # turning it into NaN, so the engine can keep the reason.
    # One process: readstat decodes every row before the ones asked for, so splitting rows over
    # two processes (pyreadstat.read_file_multiprocessing) saved only 5% on 1M x 60, for twice
    # the CPU and a pickled copy of each half (benchmarks/bench_io.py, README "Speed").
    return pyreadstat.read_sav(str(path), user_missing=True)


def read(path: Path) -> Table:
    import pyreadstat

    header = _dictionary(path) if path.suffix.lower() in {".sav", ".zsav"} else None
    try:
        data, meta = _read(pyreadstat, path)
    except pyreadstat.ReadstatError as exc:
        raise DataError(
            f"{path}: not a readable SPSS file ({exc}); is it truncated or renamed?"
        ) from None
    except Exception as exc:  # pyreadstat raises plain exceptions for some corrupt files
        raise DataError(f"{path}: could not read SPSS file: {type(exc).__name__}") from None
    if header is not None:
        _check_complete(path, header, len(data))
    return _table(path, header, data, meta)


def _table(path: Path, header: SavHeader | None, data: pd.DataFrame, meta) -> Table:
    """The Table of `data` (the whole file, or its first chunk) with the file's metadata."""
    warnings = []
    if header is not None and header.cases < 0:
        warnings.append(
            f"{path.name}: the header does not state how many cases there are; read "
            f"{len(data)} to the end of the file (a file cut exactly between two cases "
            "cannot be told from a complete one: check the count)"
        )
    labels = {k: v for k, v in zip(meta.column_names, meta.column_labels, strict=False) if v}
    return Table(
        data=data,
        source=str(path),
        labels=labels,
        value_labels=dict(meta.variable_value_labels),
        missing_ranges=dict(meta.missing_ranges),
        measure={k: v for k, v in meta.variable_measure.items() if v and v != "unknown"},
        formats=dict(meta.original_variable_types),
        display_width=dict(meta.variable_display_width),
        notes=_notes(path, meta),
        file_label=meta.file_label or "",
        weight=_weight_name(header, list(meta.column_names)),
        compression=header.compression if header is not None else "",
        unkept=_unkept_on_read(path, header, meta),
        warnings=warnings,
    )


def _notes(path: Path, meta) -> list[str]:
    return list(getattr(meta, "notes", None) or [])


# ---- the dictionary: what pyreadstat does not report ------------------------------------------


@dataclass
class SavHeader:
    """The parts of a .sav file's header and dictionary that pyreadstat does not expose."""

    compression: str  # "none", "rows" (bytecode) or "zlib" (.zsav)
    cases: int  # -1: the header does not say
    case_size: int  # 8-byte slots per case
    weight_slot: int  # 1-based slot of the weight variable; 0: none
    slot_of_variable: list[int] = field(default_factory=list)  # first slot of each variable
    data_offset: int = 0
    attributes: set[str] = field(default_factory=set)  # "variable", "file"


_COMPRESSION = {0: "none", 1: "rows", 2: "zlib"}


def _dictionary(path: Path) -> SavHeader | None:
    """Walk the header records up to the data. None if the layout is not recognised (then
    pyreadstat's own reading decides)."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(1 << 20)
            while True:
                header = _walk(raw)
                if header is not None or len(raw) >= path.stat().st_size:
                    return header
                more = fh.read(len(raw))  # a long dictionary: read on (doubling)
                if not more:
                    return None
                raw += more
    except (OSError, struct.error, ValueError):
        return None


def _walk(raw: bytes) -> SavHeader | None:
    if len(raw) < 176 or raw[:4] not in (b"$FL2", b"$FL3"):
        raise ValueError("not a system file")
    order = "<" if struct.unpack_from("<i", raw, 64)[0] in (2, 3) else ">"

    def i32(at: int) -> int:
        return struct.unpack_from(order + "i", raw, at)[0]

    case_size, compression, weight, cases = (i32(68), i32(72), i32(76), i32(80))
    header = SavHeader(
        compression=_COMPRESSION.get(compression, str(compression)),
        cases=cases,
        case_size=case_size,
        weight_slot=weight,
    )
    pos, slot = 176, 0
    while pos + 4 <= len(raw):
        rec = i32(pos)
        if rec == 2:
            slot += 1
            kind, has_label, n_missing = i32(pos + 4), i32(pos + 8), i32(pos + 12)
            if kind != -1:  # -1: the continuation of a long string, not a variable
                header.slot_of_variable.append(slot)
            pos += 32
            if has_label:
                pos += 4 + (i32(pos) + 3) // 4 * 4
            pos += abs(n_missing) * 8
        elif rec == 3:
            count = i32(pos + 4)
            pos += 8
            for _ in range(count):
                length = raw[pos + 8]
                pos += 8 + (length + 1 + 7) // 8 * 8
            if i32(pos) != 4:
                raise ValueError("value labels without their variables")
            pos += 8 + 4 * i32(pos + 4)
        elif rec == 6:
            pos += 8 + 80 * i32(pos + 4)
        elif rec == 7:
            subtype, size, count = i32(pos + 4), i32(pos + 8), i32(pos + 12)
            if subtype == 18:
                header.attributes.add("variable")
            elif subtype == 17:
                header.attributes.add("file")
            pos += 16 + size * count
        elif rec == 999:
            header.data_offset = pos + 8
            return header
        else:
            raise ValueError(f"unknown record {rec}")
        if pos > len(raw):
            return None  # the dictionary goes on past what was read
    return None


def _weight_name(header: SavHeader | None, names: list[str]) -> str | None:
    if header is None or header.weight_slot <= 0:
        return None
    for name, slot in zip(names, header.slot_of_variable, strict=False):
        if slot == header.weight_slot:
            return name
    return f"variable at position {header.weight_slot}"


def _unkept_on_read(path: Path, header: SavHeader | None, meta) -> list[str]:
    """Warnings for a written .sav: what this input has that cannot be written back."""
    unkept = []
    sets = getattr(meta, "mr_sets", None) or {}
    if sets:
        names = [n if str(n).startswith("$") else f"${n}" for n in sets]  # as SPSS shows them
        unkept.append(
            f"{path.name}: its multiple response sets ({', '.join(names)}) are not "
            "stored in the written .sav (pyreadstat cannot write them); define them again there"
        )
    for what in sorted(header.attributes if header is not None else ()):
        unkept.append(
            f"{path.name}: its {what} attributes (custom attributes, e.g. from VARIABLE "
            f"ATTRIBUTE{'S' if what == 'file' else ''}) are not stored in the written .sav "
            "(pyreadstat can neither read nor write them)"
        )
    return unkept


def _check_complete(path: Path, header: SavHeader, rows: int) -> None:
    """A file whose header leaves the case count open is read to its end: make sure that end
    is not a cut (readstat returns the rows before a cut without a word)."""
    if header.cases >= 0 or header.compression == "zlib" or header.case_size <= 0:
        return  # readstat checks a stated count itself; zlib blocks carry their sizes
    size = path.stat().st_size
    if header.compression == "none":
        body = size - header.data_offset
        complete, partial = divmod(body, header.case_size * 8)
    else:
        complete, partial = _bytecode_cases(path, header)
    if partial or complete != rows:
        raise DataError(
            f"{path}: the file ends in the middle of a case (after {complete} complete cases; "
            "its header does not state how many there should be): it is truncated; copy or "
            "export it again"
        )


def _bytecode_cases(path: Path, header: SavHeader) -> tuple[int, int]:
    """(complete cases, slots of a partial last case) of a bytecode-compressed data section.

    Each block is 8 command bytes followed by 8 data bytes for every command 253; command 0 is
    padding, 252 ends the data, every other command fills one slot. Runs of blocks without a
    253 are consecutive, so the walk jumps from one 253 to the next: the first 253 byte after
    a block start is always a command (no data comes before it), which keeps this fast.
    """
    raw = path.read_bytes()
    pos, end, slots = header.data_offset, len(raw), 0
    while pos < end:
        hit = raw.find(b"\xfd", pos)
        run_end = end if hit < 0 else pos + (hit - pos) // 8 * 8  # the block holding that 253
        stop = raw.find(b"\xfc", pos, run_end)
        if stop >= 0:  # the end-of-data command inside the run of plain blocks
            return divmod(slots + (stop - pos) - raw.count(b"\x00", pos, stop), header.case_size)
        slots += (run_end - pos) - raw.count(b"\x00", pos, run_end)
        if run_end >= end:
            if (end - pos) % 8:  # a block of commands cut short: a valid file pads it to 8
                return divmod(slots, header.case_size)[0], 1
            break
        block = raw[run_end : run_end + 8]
        pos = run_end + 8
        if len(block) < 8:
            return divmod(slots, header.case_size)[0], 1
        stop = block.find(252)
        commands = block if stop < 0 else block[:stop]
        slots += len(commands) - commands.count(0)
        pos += 8 * commands.count(253)
        if stop >= 0:
            break
    if pos > end:  # the last block's data was cut off
        return divmod(slots, header.case_size)[0], 1
    return divmod(slots, header.case_size)


# ---- variable names ----------------------------------------------------------------------------

RESERVED = {"ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"}
MAX_NAME_BYTES = 64
MAX_STRING_BYTES = 32_767
MAX_LABEL_BYTES = 256  # a variable label, as readstat writes it
MAX_VALUE_LABEL_BYTES = 120
# a regular variable (not a #scratch or $system one): a letter or @ first, then letters, digits
# and _ . @ # $ (SPSS in Unicode mode counts any letter as a letter)
_NAME = re.compile(r"(?:[^\W\d_]|@)[\w.@#$]*")
_BAD_CHARS = re.compile(r"[^\w.@#$]+")


def valid_spss_name(name: str) -> bool:
    return (
        bool(_NAME.fullmatch(name))
        and not name.endswith(".")  # would read as the end of a command in syntax
        and name.upper() not in RESERVED
        and len(name.encode("utf-8")) <= MAX_NAME_BYTES
    )


def _cut(text: str, limit: int) -> str:
    """The longest prefix of `text` of at most `limit` UTF-8 bytes (never half a character)."""
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


def _name_base(name: str) -> str:
    """A valid name close to `name`: runs of other characters become one _, a name that does
    not start with a letter gets a v prefix, reserved words get v_."""
    base = _BAD_CHARS.sub("_", name).strip("_").rstrip(".")
    if not base:
        base = "v"
    elif base.upper() in RESERVED:
        base = f"v_{base}"
    elif not _NAME.fullmatch(base[0]):
        base = f"v{base}"
    return _cut(base, MAX_NAME_BYTES).rstrip(".")


def spss_names(columns: list[str]) -> dict[str, str]:
    """Valid, case-insensitively unique SPSS names for `columns`, deterministically.

    Names that are already valid (and first of their spelling ignoring case) are kept; every
    other column gets its cleaned name, with _2, _3 ... added when that is taken.
    Returns only the columns that change: {original: new}.
    """
    taken: set[str] = set()
    keep: set[int] = set()
    for j, name in enumerate(columns):
        if valid_spss_name(name) and name.upper() not in taken:
            taken.add(name.upper())
            keep.add(j)
    renames: dict[str, str] = {}
    for j, name in enumerate(columns):
        if j in keep:
            continue
        base = _name_base(name)
        new, n = base, 1
        while new.upper() in taken or not valid_spss_name(new):
            n += 1
            suffix = f"_{n}"
            new = _cut(base, MAX_NAME_BYTES - len(suffix)).rstrip(".") + suffix
        taken.add(new.upper())
        renames[name] = new
    return renames


def _renamed(table: Table, renames: dict[str, str]) -> Table:
    """The table under its SPSS names; a renamed column keeps its old name as its label."""
    if not renames:
        return table

    def keyed(d: dict) -> dict:
        return {renames.get(k, k): v for k, v in d.items()}

    labels = keyed(table.labels)
    for old, new in renames.items():
        labels.setdefault(new, old)
    note = "Renamed for SPSS (old -> new): " + "; ".join(f"{o} -> {n}" for o, n in renames.items())
    return dataclasses.replace(
        table,
        data=table.data.rename(columns=renames),
        labels=labels,
        value_labels=keyed(table.value_labels),
        missing_ranges=keyed(table.missing_ranges),
        measure=keyed(table.measure),
        formats=keyed(table.formats),
        display_width=keyed(table.display_width),
        notes=[*table.notes, note],
    )


# ---- writing -----------------------------------------------------------------------------------

_DATE_FORMATS = ("DATE", "ADATE", "EDATE", "SDATE", "JDATE", "QYR", "MOYR", "WKYR")
_DATETIME_FORMATS = ("DATETIME", "YMDHMS")
_TIME_FORMATS = ("TIME", "DTIME", "MTIME")
_DEFAULT_FORMAT = {"date": "DATE11", "datetime": "DATETIME20", "time": "TIME8"}


def _kind(col: pd.Series) -> str:
    """string, number, date, datetime or time: what the column is written as."""
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        return "datetime"
    if isinstance(col.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(col.dtype):
        return "number"
    if pd.api.types.is_numeric_dtype(col.dtype):
        return "number"
    return _object_kind(col) or "string"


def _object_kind(col: pd.Series) -> str | None:
    """date / datetime / time for an object column holding only such values (and blanks)."""
    if col.dtype != object:
        return None
    inferred = pd.api.types.infer_dtype(col, skipna=True)  # one pass in C
    if inferred == "date":
        # infer_dtype says "date" for dates mixed with datetimes too: written as dates, those
        # would lose their time of day
        types = set(col.dropna().map(type).unique())
        return "date" if types == {dt.date} else None
    return inferred if inferred in {"datetime", "time"} else None


def _format_fits(fmt: str, kind: str) -> bool:
    fmt = fmt.upper()
    if kind == "string":
        return fmt.startswith("A")
    if kind == "date":
        return fmt.startswith(_DATE_FORMATS) and not fmt.startswith("DATETIME")
    if kind == "datetime":
        return fmt.startswith(_DATETIME_FORMATS)
    if kind == "time":
        return fmt.startswith(_TIME_FORMATS)
    return not fmt.startswith(("A", *_DATE_FORMATS, *_DATETIME_FORMATS, *_TIME_FORMATS))


def _sav_safe(data: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, dict[float, str]], dict]:
    """pyreadstat wants plain numpy dtypes. Categoricals (bands, statuses) become numeric codes
    1..k with value labels, as SPSS users expect; nullable ints become floats; dates, times and
    datetimes stay dates (blanks as None, which pyreadstat writes as system-missing); any other
    column mixing types is written as its text."""
    out = {}
    category_labels: dict[str, dict[float, str]] = {}
    kinds: dict[str, str] = {}
    for name, col in data.items():
        kind = kinds[name] = _kind(col)
        if isinstance(col.dtype, pd.CategoricalDtype):
            codes = col.cat.codes.to_numpy().astype("float64") + 1.0
            codes[codes == 0] = np.nan
            out[name] = codes
            category_labels[name] = {float(i + 1): str(c) for i, c in enumerate(col.cat.categories)}
        elif kind in {"date", "time"} or (kind == "datetime" and col.dtype == object):
            out[name] = col.astype(object).where(col.notna(), None)
        elif kind == "datetime":
            out[name] = col
        elif kind == "string":
            text = col.astype(object).where(col.notna(), "")
            out[name] = text if pd.api.types.is_string_dtype(col.dtype) else text.map(str)
        elif pd.api.types.is_bool_dtype(col.dtype):
            out[name] = col.to_numpy(dtype="float64", na_value=np.nan)
        elif col.dtype == np.float64:
            out[name] = col  # already what SPSS stores: no copy
        else:
            # SPSS numerics are doubles; float64 also keeps value-label key types consistent
            out[name] = col.to_numpy(dtype="float64", na_value=np.nan)
    # copy=False: a second full copy of a million-row table is what made writing use 2.6x memory
    return pd.DataFrame(out, index=data.index, copy=False), category_labels, kinds


def check_fits(table: Table) -> None:
    """Refuse, before anything is written, what a .sav cannot hold: text over 32,767 bytes, and
    text holding a NUL character (readstat, like SPSS, ends the text there: "a\\x00b" would
    come back as "a")."""
    for name, col in table.data.items():
        if _kind(col) != "string" or isinstance(col.dtype, pd.CategoricalDtype):
            continue
        text = col.dropna().astype(str)
        nul = text[text.str.contains("\x00", regex=False)]
        if not nul.empty:
            row = table.data.index.get_loc(nul.index[0]) + 1
            raise DataError(
                f"column {name!r}, row {row}: the text holds a NUL character (\\x00), which a "
                f".sav cannot store (the text would end there; {len(nul)} cell(s)); remove it, "
                "or write .csv or .parquet"
            )
        # a character is at most 4 bytes: only cells over 8,191 characters need encoding
        long = text[text.str.len() > MAX_STRING_BYTES // 4]
        if long.empty:
            continue
        size = long.str.encode("utf-8").str.len()
        over = size[size > MAX_STRING_BYTES]
        if not over.empty:
            row = table.data.index.get_loc(over.index[0]) + 1
            raise DataError(
                f"column {name!r}, row {row}: {int(over.iloc[0])} bytes of text; an SPSS string "
                f"holds at most {MAX_STRING_BYTES} ({len(over)} cell(s) too long); shorten them "
                "or write .csv"
            )


def write(table: Table, tmp: Path, suffix: str) -> list[str]:
    """Write .sav/.zsav; returns warnings about what the file cannot keep."""
    import pyreadstat

    renames = spss_names([str(c) for c in table.data.columns])
    table = _renamed(table, renames)  # write_table has checked the text lengths (check_fits)
    data, category_labels, kinds = _sav_safe(table.data)
    names = set(data.columns)
    numeric = {c for c, k in kinds.items() if k == "number"}
    # value labels on a string variable must have string keys, on numeric ones numeric keys
    value_labels = {}
    for col, labels in table.value_labels.items():
        if col not in names or kinds[col] in {"date", "datetime", "time"}:
            continue
        if col in numeric:
            value_labels[col] = {float(k): v for k, v in labels.items() if _is_number(k)}
        else:
            value_labels[col] = {str(k): v for k, v in labels.items()}
    value_labels.update(category_labels)
    table, value_labels, cut_labels = _fit_labels(table, value_labels)
    formats = {c: f for c, f in table.formats.items() if c in names and _format_fits(f, kinds[c])}
    for c, kind in kinds.items():
        if kind in _DEFAULT_FORMAT and c not in formats:
            formats[c] = _DEFAULT_FORMAT[kind]
    try:
        _write(pyreadstat, data, tmp, table, value_labels, formats, suffix)
    except (pyreadstat.PyreadstatError, pyreadstat.ReadstatError) as exc:
        raise DataError(f"cannot write SPSS file: {exc}") from None
    warnings = _unkept(table, names) + cut_labels
    if renames:
        shown = "; ".join(f"{o} -> {n}" for o, n in list(renames.items())[:5])
        more = f" and {len(renames) - 5} more" if len(renames) > 5 else ""
        warnings.insert(
            0,
            f"{len(renames)} column name(s) are not valid SPSS names and were renamed "
            f"(all listed in the file's document; old names kept as labels): {shown}{more}",
        )
    return warnings


def _fit_labels(table: Table, value_labels: dict) -> tuple[Table, dict, list[str]]:
    """Cut labels to what a .sav holds, on whole characters, keeping the full texts.

    readstat would cut them itself, silently and possibly inside a character; here the columns
    are named in a warning and each full text goes into the file's document.
    """
    notes: list[str] = []
    shortened: list[str] = []  # column names, in order, once each
    labels = dict(table.labels)
    for col, text in table.labels.items():
        if text and len(str(text).encode("utf-8")) > MAX_LABEL_BYTES:
            labels[col] = _cut(str(text), MAX_LABEL_BYTES)
            notes.append(f"full label of {col}: {text}")
            shortened.append(col)
    fitted: dict = {}
    for col, mapping in value_labels.items():
        fitted[col] = {}
        for value, text in mapping.items():
            if text is not None and len(str(text).encode("utf-8")) > MAX_VALUE_LABEL_BYTES:
                fitted[col][value] = _cut(str(text), MAX_VALUE_LABEL_BYTES)
                shown = int(value) if isinstance(value, float) and value.is_integer() else value
                notes.append(f"full value label of {col} = {shown}: {text}")
                shortened.append(col)
            else:
                fitted[col][value] = text
    if not notes:
        return table, value_labels, []
    columns = list(dict.fromkeys(shortened))
    warning = (
        f"{len(notes)} label(s) longer than SPSS holds ({MAX_LABEL_BYTES} bytes for a variable "
        f"label, {MAX_VALUE_LABEL_BYTES} for a value label) were shortened, the full texts kept "
        f"in the file's document: {', '.join(columns[:10])}"
        + (f" and {len(columns) - 10} more" if len(columns) > 10 else "")
    )
    return replace(table, labels=labels, notes=[*table.notes, *notes]), fitted, [warning]


def _unkept(table: Table, names: set[str]) -> list[str]:
    """What the input file had that pyreadstat cannot write: say so, by name."""
    warnings = []
    if table.weight:
        warnings.append(
            f"the input's case weight ({table.weight}) is not stored in the written .sav "
            f"(pyreadstat cannot write it): run WEIGHT BY {table.weight}. there before weighted "
            "analyses"
        )
    warnings.extend(table.unkept)
    return warnings


def _write(pyreadstat, data, tmp, table, value_labels, formats, suffix) -> None:
    names = set(data.columns)
    options = dict(
        file_label=table.file_label or "",
        column_labels={c: table.labels.get(c) for c in data.columns},
        variable_value_labels=value_labels,
        missing_ranges={c: r for c, r in table.missing_ranges.items() if c in names},
        variable_measure={c: m for c, m in table.measure.items() if c in names},
        variable_format=formats or None,
        variable_display_width={c: w for c, w in table.display_width.items() if c in names} or None,
        note=_note_lines(table.notes) or None,
        compress=suffix == ".zsav",
        # a .sav keeps the row (bytecode) compression its input had, as SPSS writes by default
        row_compress=suffix == ".sav" and table.compression in {"rows", "zlib"},
    )
    if suffix == ".sav" and sav_data.write(pyreadstat, data, tmp, options):
        return
    pyreadstat.write_sav(data, str(tmp), **options)


def _note_lines(notes: list[str], width: int = 80) -> list[str]:
    """SPSS document lines hold at most 80 bytes: wrap long notes instead of failing."""
    import textwrap

    lines: list[str] = []
    for note in notes:
        for line in textwrap.wrap(note, width=width, break_long_words=True) or [""]:
            # the limit is in bytes: a line of accented letters may need cutting again
            while len(line.encode("utf-8")) > width:
                head = _cut(line, width)
                lines.append(head)
                line = line[len(head) :]
            lines.append(line)
    return lines


def _is_number(value: object) -> bool:
    try:
        float(value)  # type: ignore[arg-type]
        return True
    except (TypeError, ValueError):
        return False
