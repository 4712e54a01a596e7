"""Excel .xlsx: read with calamine (fast, no formulas run), write with openpyxl.

Reading finds the header row (title rows above it are skipped), drops fully blank rows and columns
with a note, and refuses duplicate column names. Writing produces a "data" sheet (bold frozen
header, autofilter), a "codebook" sheet and, when given, a "problems" sheet. Text that a
spreadsheet would take for a formula (=, +, -, @ first) is written as an explicit string with
Excel's quote prefix, so nothing is ever evaluated; numbers such as -1 stay numbers.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pandas as pd

from ..errors import DataError, UsageError
from . import Table, qualtrics

FORMULA_START = ("=", "+", "-", "@")
MAX_ROWS = 1_048_576
MAX_COLS = 16_384
MAX_TEXT = 32_767
HEADER_SCAN_ROWS = 30

_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0"


# ---- reading -----------------------------------------------------------------------------------


def _sniff(path: Path) -> None:
    """Catch files that only carry an .xlsx name before the reader gives a cryptic error."""
    with path.open("rb") as fh:
        head = fh.read(512)
    if not head.strip():
        raise DataError(f"{path}: the file is empty")
    if head.startswith(_ZIP):
        return
    if head.startswith(_OLE):
        raise DataError(
            f"{path}: is an old-style .xls or a password-protected workbook, not .xlsx; "
            "open it in Excel, remove any password and save as .xlsx"
        )
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<table", b"<?xml", b"<")):
        raise DataError(
            f"{path}: is an HTML/XML page saved with an .xlsx name (a web export?), not an Excel "
            "workbook; open it in Excel and save as .xlsx, or export CSV"
        )
    raise DataError(
        f"{path}: is not an Excel .xlsx workbook (no zip signature); is it truncated or renamed?"
    )


def _blank(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _find_header(raw: pd.DataFrame) -> int:
    """First row whose cells are mostly (more than half) non-empty strings."""
    width = raw.shape[1]
    for i in range(min(len(raw), HEADER_SCAN_ROWS)):
        row = raw.iloc[i].tolist()
        text = sum(1 for v in row if isinstance(v, str) and v.strip())
        if text * 2 > width:
            return i
    raise DataError(
        f"no header row found in the first {HEADER_SCAN_ROWS} rows (a row of column names, "
        "mostly text); put the column names in one row above the data"
    )


_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_CACHED = re.compile(rb"<(?:\w+:)?v>[^<]")
_REF = re.compile(rb'\sr="([A-Z]+[0-9]+)"')
_TEXT_RESULT = re.compile(rb'\st="(?:str|s|inlineStr)"')


def _sheet_xml(archive: zipfile.ZipFile, sheet_name: str) -> str | None:
    """The zip member holding `sheet_name`, by the workbook's relationships."""
    ns = {
        "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    }
    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target") for r in rels}
    for node in book.iter(f"{{{ns['m']}}}sheet"):
        if node.get("name") == sheet_name:
            target = targets.get(node.get(f"{{{ns['r']}}}id"), "")
            target = target.lstrip("/")
            return target if target.startswith("xl/") else f"xl/{target}"
    return None


def _has_formula(archive: zipfile.ZipFile, member: str, chunk: int = 1 << 24) -> bool:
    """Whether the sheet has any formula, streamed: most sheets have none, and holding a large
    sheet's whole XML in memory only to find that out is not worth it."""
    tail = b""
    with archive.open(member) as fh:
        while block := fh.read(chunk):
            text = tail + block
            # bytes.find is several times faster than the regex; the regex only confirms
            if (b"<f" in text or b":f" in text) and _FORMULA.search(text):
                return True
            tail = block[-16:]  # a tag split between two blocks is still found
    return False


def uncached_formulas(path: Path, sheet_name: str) -> tuple[int, str | None]:
    """(count, first cell) of formula cells with no saved result in `sheet_name`.

    Programs that write workbooks without calculating them (openpyxl, pandas, many exports)
    leave formulas without a stored value; every reader, calamine included, sees those cells
    as empty. Only sheets that contain formulas at all are scanned cell by cell.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            member = _sheet_xml(archive, sheet_name)
            if member is None:
                return 0, None
            if not _has_formula(archive, member):
                return 0, None
            xml = archive.read(member)
    except (KeyError, OSError, zipfile.BadZipFile, ElementTree.ParseError):
        return 0, None
    count, first = 0, None
    for found in _FORMULA.finditer(xml):
        end = xml.find(b"</c>", found.end())
        cell = xml[found.start() : end if end >= 0 else len(xml)]
        if _CACHED.search(cell):
            continue
        start = xml.rfind(b"<c ", 0, found.start())
        opening = xml[start : xml.find(b">", start) + 1] if start >= 0 else b""
        if _TEXT_RESULT.search(opening) and b"<v" in cell:
            continue  # a formula whose saved result is the empty text (=IF(A1="","",A1))
        count += 1
        if first is None:
            ref = _REF.search(opening)
            first = ref.group(1).decode() if ref else None
    return count, first


def read(path: Path, sheet: str | None = None) -> Table:
    _sniff(path)
    try:
        import python_calamine

        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
        names = list(workbook.sheet_names)
    except Exception as exc:
        raise DataError(
            f"{path}: not a readable .xlsx workbook ({type(exc).__name__}); is it truncated or "
            "damaged? Open and re-save it in Excel"
        ) from None
    if not names:
        raise DataError(f"{path}: the workbook has no sheets")
    if sheet is not None and sheet not in names:
        raise UsageError(f"{path}: no sheet named {sheet!r}; sheets: {', '.join(map(repr, names))}")
    sheet_name = sheet if sheet is not None else names[0]
    where = f"{path} (sheet {sheet_name!r})"
    try:
        raw = pd.read_excel(path, sheet_name=sheet_name, header=None, engine="calamine")
    except Exception as exc:
        raise DataError(
            f"{where}: could not read the sheet ({type(exc).__name__}); open and re-save it in Excel"
        ) from None
    missing, first = uncached_formulas(path, sheet_name)
    if missing:
        raise DataError(
            f"{where}: {missing} formula cell(s) have no saved value (first: "
            f"{first or 'unknown'}), so they would read as empty; the workbook was saved by a "
            "program that does not calculate formulas: open it in Excel or LibreOffice and "
            "save it again, or paste the values"
        )
    notes: list[str] = []
    # fully blank columns (no header, no data) are formatting leftovers
    keep = [j for j in range(raw.shape[1]) if not all(_blank(v) for v in raw.iloc[:, j])]
    if not keep:
        raise DataError(
            f"{where}: the sheet is empty; choose the sheet with the data with --sheet "
            f"(sheets: {', '.join(map(repr, names))})"
        )
    if len(keep) < raw.shape[1]:
        raw = raw.iloc[:, keep]
    try:
        header_row = _find_header(raw)
    except DataError as exc:
        raise DataError(f"{where}: {exc}") from None
    if header_row:
        notes.append(f"{path.name}: skipped {header_row} title row(s) above the header")
    header = [
        None if _blank(v) else str(v).strip() if not isinstance(v, float) else _num_name(v)
        for v in raw.iloc[header_row].tolist()
    ]
    columns = []
    for j, name in enumerate(header):
        if name is None:
            name = f"column_{_col_letter(keep[j])}"
            notes.append(f"{path.name}: column {_col_letter(keep[j])} has no header; named {name}")
        columns.append(name)
    seen: dict[str, int] = {}
    for name in columns:
        seen[name] = seen.get(name, 0) + 1
    dup = [n for n, k in seen.items() if k > 1]
    if dup:
        raise DataError(
            f"{where}: duplicate column names in the header (row {header_row + 1}): "
            f"{', '.join(map(repr, dup))}; rename them so each is unique"
        )
    body = raw.iloc[header_row + 1 :].reset_index(drop=True)
    body.columns = columns
    # the sheet row (1-based, as Excel shows it) of every body row, kept through the drops below
    sheet_rows = np.arange(len(body)) + header_row + 2
    labels: dict[str, str] = {}
    extra = qualtrics.extra_header_rows(body.head(2))
    if extra:
        labels = qualtrics.question_labels(body.iloc[0].to_dict())
        body, sheet_rows = body.iloc[extra:].reset_index(drop=True), sheet_rows[extra:]
        notes.append(
            f"{path.name}: Qualtrics export: skipped its question-text and ImportId header rows "
            "(question text kept as column labels)"
        )
    blank_rows = body.isna().all(axis=1).to_numpy()
    if blank_rows.any():
        dropped = sheet_rows[blank_rows].tolist()
        shown = ", ".join(map(str, dropped[:10])) + (" ..." if len(dropped) > 10 else "")
        notes.append(f"{path.name}: dropped {len(dropped)} fully blank row(s) (sheet rows {shown})")
        body, sheet_rows = body.loc[~blank_rows].reset_index(drop=True), sheet_rows[~blank_rows]
    data = pd.DataFrame({c: _column(body[c]) for c in body.columns}, index=body.index)
    return Table(data=data, source=str(path), labels=labels, notes=notes, row_numbers=sheet_rows)


def _num_name(value: float) -> str:
    return str(int(value)) if value.is_integer() else str(value)


def _col_letter(j: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(j + 1)


def _column(col: pd.Series) -> pd.Series:
    """Typed like the CSV reader: integer columns with blanks stay integers, text stays text;
    a column mixing numbers and text stays as it is (answers such as 3 and "Refused")."""
    values = col.dropna()
    if values.empty:
        return col.astype("Float64")
    kinds = {type(v) for v in values}
    if kinds <= {int, float}:
        floats = values.astype(float)
        whole = np.all(np.isfinite(floats)) and np.all(floats == np.floor(floats))
        if whole and np.all(np.abs(floats) < 2**53):
            return col.astype("Float64").astype("Int64")
        return col.astype("Float64")
    if kinds <= {bool}:
        return col.astype("boolean")
    if kinds <= {str}:
        return col.astype("string")
    if kinds <= {dt.datetime, pd.Timestamp}:
        return pd.to_datetime(col)
    return col.astype(object)


# ---- writing -----------------------------------------------------------------------------------


def _safe_text(ws, value: str):
    """A string cell that can never run as a formula."""
    from openpyxl.cell import WriteOnlyCell

    if len(value) > MAX_TEXT:
        value = value[:MAX_TEXT]
    if value.startswith(FORMULA_START):
        cell = WriteOnlyCell(ws, value)
        cell.data_type = "s"
        cell.quotePrefix = True
        return cell
    return value


def check_fits(table: Table) -> None:
    """Refuse, before anything is written, text longer than an Excel cell holds (32,767
    characters): a cut cell would be a silently changed value."""
    for name, col in table.data.items():
        if pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_datetime64_any_dtype(
            col.dtype
        ):
            continue
        labels = isinstance(col.dtype, pd.CategoricalDtype)
        if labels:
            col = pd.Series(col.cat.categories.astype(str))
        text = col.dropna()
        if pd.api.types.is_string_dtype(text.dtype):
            lengths = text.astype(str).str.len()
        else:  # a column mixing numbers and text: only its text cells can be long
            lengths = text.map(lambda v: len(v) if isinstance(v, str) else 0)
        over = lengths[lengths > MAX_TEXT]
        if not over.empty:
            where = (
                "a category label"
                if labels
                else f"row {table.data.index.get_loc(over.index[0]) + 1}"
            )
            raise DataError(
                f"column {name!r}, {where}: {int(over.iloc[0])} characters of text; an Excel "
                f"cell holds at most {MAX_TEXT} ({len(over)} cell(s) too long); shorten them or "
                "write .csv"
            )


def _check_text(data: pd.DataFrame, names: list[str]) -> None:
    """Excel cannot store most control characters: name the first such cell (never its text)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    for name, (_, col) in zip(names, data.items(), strict=True):
        if pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_datetime64_any_dtype(
            col.dtype
        ):
            continue
        labels = isinstance(col.dtype, pd.CategoricalDtype)
        if labels:
            col = pd.Series(col.cat.categories.astype(str))
        text = col.dropna().astype(str)
        bad = text.str.contains(ILLEGAL_CHARACTERS_RE.pattern, regex=True)
        if bad.any():
            where = "a category label" if labels else f"row {data.index.get_loc(bad.idxmax()) + 1}"
            raise DataError(
                f"column {name!r}, {where}: the text holds control characters that Excel "
                "cannot store; clean that cell, or write .csv or .sav instead"
            )


def _cells(ws, col: pd.Series) -> list:
    """Python values for one column: numbers stay numbers, text is neutralised, NA is empty."""
    dtype = col.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        col = col.astype(object)
        dtype = col.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return [None if v is pd.NA or v is None else bool(v) for v in col.astype(object)]
    if pd.api.types.is_integer_dtype(dtype):
        arr = col.to_numpy(dtype=object, na_value=None)
        return [None if v is None else int(v) for v in arr]
    if pd.api.types.is_float_dtype(dtype):
        arr = col.to_numpy(dtype="float64", na_value=np.nan)
        return [None if not math.isfinite(v) else v for v in arr.tolist()]
    if pd.api.types.is_datetime64_any_dtype(dtype):
        if getattr(dtype, "tz", None) is not None:
            col = col.dt.tz_localize(None)
        return [None if pd.isna(v) else v.to_pydatetime() for v in col]
    out = []
    for v in col.to_numpy(dtype=object):
        if v is None or v is pd.NA or v is pd.NaT:
            out.append(None)
        elif isinstance(v, str):
            out.append(_safe_text(ws, v))
        elif isinstance(v, float) and not math.isfinite(v):
            out.append(None)
        elif isinstance(v, bool | int | float | dt.datetime | dt.date):
            out.append(v)
        elif isinstance(v, np.generic):
            item = v.item()
            out.append(None if isinstance(item, float) and not math.isfinite(item) else item)
        else:
            out.append(_safe_text(ws, str(v)))
    return out


def _header(ws, names: list[str]) -> list:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    bold = Font(bold=True)
    cells = []
    for name in names:
        value = _safe_text(ws, str(name))
        cell = value if not isinstance(value, str) else WriteOnlyCell(ws, value)
        cell.font = bold
        cells.append(cell)
    return cells


def _finish(ws, n_rows: int, n_cols: int, widths: list[int] | None = None) -> None:
    from openpyxl.utils import get_column_letter

    ws.freeze_panes = "A2"
    if n_cols:
        ws.auto_filter.ref = f"A1:{get_column_letter(n_cols)}{max(n_rows + 1, 1)}"
    for j, w in enumerate(widths or []):
        ws.column_dimensions[get_column_letter(j + 1)].width = w


def _label_text(labels: dict) -> str:
    return "; ".join(f"{_key(k)}={v}" for k, v in labels.items())


def _key(k: object) -> str:
    if isinstance(k, float) and k.is_integer():
        return str(int(k))
    return str(k)


def _missing_text(ranges: list) -> str:
    parts = []
    for r in ranges:
        lo, hi = r.get("lo"), r.get("hi")
        parts.append(_key(lo) if lo == hi else f"{_key(lo)} thru {_key(hi)}")
    return "; ".join(parts)


def _measure(table: Table, name: str, col: pd.Series) -> str:
    if name in table.measure:
        return table.measure[name]
    if isinstance(col.dtype, pd.CategoricalDtype):
        return "ordinal" if col.cat.ordered else "nominal"
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        return "scale"
    return "nominal"


def write(table: Table, tmp: Path, suffix: str, problems: list | None = None) -> None:
    from openpyxl import Workbook

    data = table.data
    n, k = data.shape
    if n + 1 > MAX_ROWS or k > MAX_COLS:
        raise DataError(
            f"{n} rows x {k} columns does not fit an Excel sheet (max {MAX_ROWS - 1} rows, "
            f"{MAX_COLS} columns); write .sav or .csv instead"
        )
    names = [str(c) for c in data.columns]
    if data.columns.duplicated().any():
        raise DataError("duplicate column names cannot be written to .xlsx; rename them first")
    _check_text(data, names)
    wb = Workbook(write_only=True)

    ws = wb.create_sheet("data")
    _finish(ws, n, k, [min(max(len(c), 8) + 2, 40) for c in names])
    ws.append(_header(ws, names))
    columns = [_cells(ws, data.iloc[:, j]) for j in range(k)]
    for row in zip(*columns, strict=True):
        ws.append(row)
    del columns

    cb = wb.create_sheet("codebook")
    head = ["name", "label", "measure", "value labels", "user-missing", "type"]
    _finish(cb, k, len(head), [24, 60, 10, 60, 20, 10])
    cb.append(_header(cb, head))
    for name, col_name in zip(names, data.columns, strict=True):
        col = data[col_name]
        labels = dict(table.value_labels.get(col_name, {}))
        if not labels and isinstance(col.dtype, pd.CategoricalDtype):
            # the codes a .sav of the same table uses for this column
            labels = {i + 1: str(c) for i, c in enumerate(col.cat.categories)}
        row = [
            name,
            table.labels.get(col_name, ""),
            _measure(table, col_name, col),
            _label_text(labels),
            _missing_text(table.missing_ranges.get(col_name, [])),
            str(col.dtype),
        ]
        cb.append([_safe_text(cb, v) if isinstance(v, str) else v for v in row])

    if problems:
        ps = wb.create_sheet("problems")
        fields = ["file", "row", "column", "value", "instrument", "kind", "message", "hint"]
        _finish(ps, len(problems), len(fields), [18, 8, 16, 12, 12, 20, 60, 60])
        ps.append(_header(ps, fields))
        for p in problems:
            record = p.to_dict() if hasattr(p, "to_dict") else dict(p)
            ps.append(
                [
                    _safe_text(ps, str(v)) if isinstance(v, str) else v
                    for v in (record.get(f) for f in fields)
                ]
            )
    try:
        wb.save(str(tmp))
    except UsageError:
        raise
    except (ValueError, TypeError) as exc:
        raise DataError(f"cannot write Excel file: {exc}") from None
