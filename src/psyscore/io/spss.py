"""SPSS .sav/.zsav through pyreadstat, keeping labels, value labels and user-missing declarations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from . import Table


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

    try:
        data, meta = _read(pyreadstat, path)
    except pyreadstat.ReadstatError as exc:
        raise DataError(
            f"{path}: not a readable SPSS file ({exc}); is it truncated or renamed?"
        ) from None
    except Exception as exc:  # pyreadstat raises plain exceptions for some corrupt files
        raise DataError(f"{path}: could not read SPSS file: {type(exc).__name__}") from None
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
    )


def _notes(path: Path, meta) -> list[str]:
    return list(getattr(meta, "notes", None) or [])


def _sav_safe(data: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, dict[float, str]]]:
    """pyreadstat wants plain numpy dtypes. Categoricals (bands, statuses) become numeric codes
    1..k with value labels, as SPSS users expect; nullable ints become floats."""
    out = {}
    category_labels: dict[str, dict[float, str]] = {}
    for name, col in data.items():
        if isinstance(col.dtype, pd.CategoricalDtype):
            codes = col.cat.codes.to_numpy().astype("float64") + 1.0
            codes[codes == 0] = np.nan
            out[name] = codes
            category_labels[name] = {float(i + 1): str(c) for i, c in enumerate(col.cat.categories)}
        elif pd.api.types.is_string_dtype(col.dtype):
            out[name] = col.astype(object).where(col.notna(), "").astype(str)
        elif pd.api.types.is_bool_dtype(col.dtype):
            out[name] = col.astype("float64")
        elif col.dtype == np.float64:
            out[name] = col  # already what SPSS stores: no copy
        elif pd.api.types.is_numeric_dtype(col.dtype):
            # SPSS numerics are doubles; float64 also keeps value-label key types consistent
            out[name] = col.to_numpy(dtype="float64", na_value=np.nan)
        else:
            out[name] = col
    # copy=False: a second full copy of a million-row table is what made writing use 2.6x memory
    return pd.DataFrame(out, index=data.index, copy=False), category_labels


def write(table: Table, tmp: Path, suffix: str) -> None:
    import pyreadstat

    data, category_labels = _sav_safe(table.data)
    names = set(data.columns)
    numeric = {c for c in data.columns if pd.api.types.is_numeric_dtype(data[c].dtype)}
    # value labels on a string variable must have string keys, on numeric ones numeric keys
    value_labels = {}
    for col, labels in table.value_labels.items():
        if col not in names:
            continue
        if col in numeric:
            value_labels[col] = {float(k): v for k, v in labels.items() if _is_number(k)}
        else:
            value_labels[col] = {str(k): v for k, v in labels.items()}
    value_labels.update(category_labels)
    formats = {
        c: f for c, f in table.formats.items() if c in names and _format_fits(f, c in numeric)
    }
    try:
        _write(pyreadstat, data, tmp, table, value_labels, formats, suffix)
    except (pyreadstat.PyreadstatError, pyreadstat.ReadstatError) as exc:
        raise DataError(f"cannot write SPSS file: {exc}") from None


def _write(pyreadstat, data, tmp, table, value_labels, formats, suffix) -> None:
    names = set(data.columns)
    pyreadstat.write_sav(
        data,
        str(tmp),
        column_labels={c: table.labels.get(c) for c in data.columns},
        variable_value_labels=value_labels,
        missing_ranges={c: r for c, r in table.missing_ranges.items() if c in names},
        variable_measure={c: m for c, m in table.measure.items() if c in names},
        variable_format=formats or None,
        variable_display_width={c: w for c, w in table.display_width.items() if c in names} or None,
        note=_note_lines(table.notes) or None,
        compress=suffix == ".zsav",
    )


def _note_lines(notes: list[str], width: int = 80) -> list[str]:
    """SPSS document lines hold at most 80 bytes: wrap long notes instead of failing."""
    import textwrap

    lines: list[str] = []
    for note in notes:
        lines.extend(textwrap.wrap(note, width=width, break_long_words=True) or [""])
    return lines


def _is_number(value: object) -> bool:
    try:
        float(value)  # type: ignore[arg-type]
        return True
    except (TypeError, ValueError):
        return False


def _format_fits(fmt: str, numeric: bool) -> bool:
    return fmt.upper().startswith("A") != numeric
