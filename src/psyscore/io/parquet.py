"""Parquet (pyarrow): typed columns in and out, psyscore's labels and notes in the schema metadata.

Parquet stores types, so nothing is guessed: text columns come back as text (pandas "string"),
integers as Int64, floating-point numbers as Float64, booleans as boolean, dates and times as
they are; nulls are missing. Types a scoring table cannot hold faithfully (nested lists and
structs, raw bytes, decimals) are refused, naming the column, rather than converted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..errors import DataError
from . import Table

# key of psyscore's own entry in the Parquet schema's key-value metadata
METADATA_KEY = b"psyscore"
# Table fields that round-trip through that entry (JSON-safe as they are)
_KEPT = ("labels", "notes", "formats", "measure", "file_label")


def read(path: Path) -> Table:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        arrow = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(
            f"{path}: not a readable Parquet file ({type(exc).__name__}); is it truncated or renamed?"
        ) from None
    names = [str(n) for n in arrow.column_names]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataError(
            f"{path}: duplicate column names: {', '.join(map(repr, repeated))}; "
            "rename them so each is unique"
        )
    columns = {name: _column(path, name, arrow.column(j)) for j, name in enumerate(names)}
    data = pd.DataFrame(columns, index=pd.RangeIndex(arrow.num_rows), copy=False)
    kept = _metadata(path, arrow.schema.metadata or {})
    table = Table(data=data, source=str(path))
    for name in _KEPT:
        if name in kept:
            setattr(table, name, kept[name])
    table.labels = {k: v for k, v in table.labels.items() if k in data.columns}
    return table


def _column(path: Path, name: str, chunked) -> pd.Series:
    """One Arrow column as the pandas dtype the other readers give (nullable, never guessed)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as t

    kind = chunked.type
    if t.is_dictionary(kind):
        chunked = chunked.cast(kind.value_type)
        kind = chunked.type
    if t.is_string(kind) or t.is_large_string(kind):
        return chunked.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get).astype("string")
    if t.is_integer(kind):
        if t.is_uint64(kind) and len(chunked) and (pc.max(chunked).as_py() or 0) >= 2**63:
            raise DataError(f"{path}: column {name!r} holds integers too large for psyscore")
        # straight to Int64: through float64 (what nulls otherwise force) digits past 2**53 go
        return chunked.to_pandas(types_mapper=lambda _: pd.Int64Dtype())
    if t.is_floating(kind):
        # NaN and null alike are missing, as an empty cell in CSV
        return chunked.to_pandas().astype("Float64")
    if t.is_boolean(kind):
        return chunked.to_pandas().astype("boolean")
    if t.is_null(kind):
        return pd.Series(pd.array([pd.NA] * len(chunked), dtype="Float64"))
    if t.is_temporal(kind):
        return chunked.to_pandas()
    raise DataError(
        f"{path}: column {name!r} has Parquet type {kind}, which psyscore cannot score or keep "
        "exactly; convert it to text or numbers first"
    )


def _metadata(path: Path, metadata: dict) -> dict:
    raw = metadata.get(METADATA_KEY)
    if raw is None:
        return {}
    try:
        kept = json.loads(raw)
    except ValueError:
        raise DataError(f"{path}: its psyscore metadata is not valid JSON") from None
    return kept if isinstance(kept, dict) else {}


def to_arrow(table: Table):
    """`table`'s data as an Arrow table, psyscore's metadata in its schema."""
    import pyarrow as pa

    try:
        arrow = pa.Table.from_pandas(table.data, preserve_index=False)
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise DataError(f"a column cannot be stored in Parquet ({type(exc).__name__})") from None
    kept = {name: getattr(table, name) for name in _KEPT}
    metadata = dict(arrow.schema.metadata or {})
    metadata[METADATA_KEY] = json.dumps(kept, ensure_ascii=False, default=str).encode()
    return arrow.replace_schema_metadata(metadata)


def write(table: Table, tmp: Path, suffix: str) -> list[str]:
    """Write the data with psyscore's metadata; value labels and missing ranges are not kept."""
    import pyarrow.parquet as pq

    pq.write_table(to_arrow(table), tmp)
    warnings = []
    if table.value_labels:
        warnings.append("Parquet has no value labels; they were not written")
    return warnings
