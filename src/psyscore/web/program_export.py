"""The program's visits as one scored table: what a pre/post evaluation reads into SPSS.

One row per scored, non-deleted visit: ``client_id``, ``visit_date``, ``visit_number``, then for
each instrument its item answers and every score column. The scores are made again from the
stored answers by the batch path (`psyscore.batch.score_table`, with the metadata of
`psyscore score`), so the export is exactly what `psyscore score` gives for the same answers. A
visit without an instrument has blanks in its columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..instrument import Instrument, definition_hash
from ..io import Table
from .store import Store, StoreError, Visit

ID_COLUMNS = ("client_id", "visit_date", "visit_number")
ID_LABELS = {
    "client_id": "Client id",
    "visit_date": "Visit date (YYYY-MM-DD)",
    "visit_number": "Visit number of this client (1 = first visit)",
}


def program_table(store: Store, *, start: str | None = None, end: str | None = None) -> Table:
    """Every scored, non-deleted visit with a date in [start, end] (inclusive) as one table.

    Visit numbers count all of a client's visits, not only those in the range. `warnings` of
    the table say which visits have answers that could not be scored and which were scored
    with another version of a definition than the one that scores them now.
    """
    return program_export(store, start=start, end=end).table


@dataclass
class ProgramExport:
    table: Table
    # visits whose stored answers are not valid answers (their scores are blank): exit 1
    problems: list[str] = field(default_factory=list)
    # visits scored with another version of a definition than the one that scores them now
    notes: list[str] = field(default_factory=list)


def program_export(
    store: Store, *, start: str | None = None, end: str | None = None
) -> ProgramExport:
    """`program_table` with its problems and notes apart (the CLI exits 1 on problems only)."""
    if start and end and start > end:
        raise StoreError(f"--from {start} is after --to {end}")
    visits = store.all_visits(start=start, end=end, status="scored")
    visits.sort(key=lambda v: (v.date, v.client_id, v.visit_id))
    sets = _instrument_sets(visits)
    instruments = list({i.id: i for insts in sets.values() for i in insts}.values())
    base = pd.DataFrame(
        {
            "client_id": pd.Series([v.client_id for v in visits], dtype=object),
            "visit_date": pd.Series([v.date for v in visits], dtype=object),
            "visit_number": pd.Series([v.visit_number for v in visits], dtype="float64"),
        }
    )
    table = Table(
        data=base,
        source=store.describe(),
        labels=dict(ID_LABELS),
        measure={"client_id": "nominal", "visit_date": "nominal", "visit_number": "ordinal"},
        formats={"visit_number": "F8.0"},
    )
    parts = [table]
    problems: list[str] = []
    notes: list[str] = []
    for inst in instruments:
        rows = [n for n, v in enumerate(visits) if inst.id in {i.id for i in sets[_key(v)]}]
        chosen = [visits[n] for n in rows]
        part, result = _score_instrument(inst, chosen, store.describe())
        part.data.index = pd.Index(rows)
        parts.append(part)
        problems.extend(_problem_notes(inst, chosen, result.problems))
        notes.extend(_definition_notes(inst, chosen))
    combined = _combine(parts, len(visits), instruments, store.describe(), problems + notes)
    return ProgramExport(combined, problems, notes)


def _key(visit: Visit) -> tuple[str, ...]:
    return tuple(visit.instruments)


def _instrument_sets(visits: Sequence[Visit]) -> dict[tuple[str, ...], list[Instrument]]:
    from ..errors import UsageError
    from ..library import resolve_instruments

    sets: dict[tuple[str, ...], list[Instrument]] = {}
    for visit in visits:
        key = _key(visit)
        if key not in sets:
            try:
                sets[key] = resolve_instruments(list(key))
            except UsageError as exc:
                using = [str(v.visit_id) for v in visits if _key(v) == key][:20]
                raise StoreError(
                    f"visit(s) {', '.join(using)} use instruments {', '.join(key)}, which cannot "
                    f"be loaded: {exc}"
                ) from None
    return sets


def _answers_frame(inst: Instrument, visits: Sequence[Visit]) -> pd.DataFrame:
    """The answers of `inst` (one row per visit, one column per item, in definition order),
    however each visit's answers were keyed (item id or an accepted spelling)."""
    from ..intake import matched_items

    columns: dict[str, list[Any]] = {item: [] for item in inst.item_ids}
    matched: dict[frozenset, dict[str, str]] = {}
    for visit in visits:
        keys = frozenset(visit.answers)
        if keys not in matched:
            matched[keys] = matched_items(inst, sorted(keys))
        found = matched[keys]
        for item in inst.item_ids:
            column = found.get(item)
            columns[item].append(visit.answers.get(column) if column is not None else None)
    by_id = {item.id: item for item in inst.items}
    return pd.DataFrame(
        {item: _column(inst, by_id[item], values) for item, values in columns.items()}
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _column(inst: Instrument, item, values: list[Any]) -> pd.Series:
    """The item's answers as codes (as a .sav holds them): anchor texts ("Several days") become
    their codes, as scoring reads them. If any text is not an anchor (an invalid answer, a
    declared missing text), the whole column stays text, every value as it was given: nothing
    is turned into a blank."""
    from ..intake import check_answer

    codes: list[float] = []
    for value in values:
        if value is None:
            codes.append(np.nan)
        elif _is_number(value):
            codes.append(float(value))
        else:
            kind, code = check_answer(inst, item, str(value))
            if kind != "answer":
                return pd.Series([None if v is None else _text(v) for v in values], dtype=object)
            codes.append(float(code))
    return pd.Series(codes, dtype="float64")


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _item_metadata(inst: Instrument) -> tuple[dict, dict, dict, dict]:
    """Item columns labelled from the definition: its short label, its anchors as value labels,
    codes shown without decimals where the scale's codes are whole numbers."""
    labels, value_labels, measure, formats = {}, {}, {}, {}
    for item in inst.items:
        labels[item.id] = f"{inst.id.upper()} {item.id}: {item.label}"
        scale = inst.response_scales[item.scale]
        value_labels[item.id] = {float(code): text for code, text in scale.values.items()}
        measure[item.id] = "ordinal"
        whole = all(float(code).is_integer() for code in scale.values)
        formats[item.id] = "F8.0" if whole else "F8.2"
    return labels, value_labels, measure, formats


def _score_instrument(inst: Instrument, visits: Sequence[Visit], source: str):
    from ..batch import score_table
    from ..cli.score import _output_table

    answers = _answers_frame(inst, visits)
    labels, value_labels, measure, formats = _item_metadata(inst)
    for column in answers.columns:  # codes' labels and formats do not fit a column kept as text
        if answers[column].dtype == object:
            value_labels.pop(column, None)
            formats.pop(column, None)
            measure[column] = "nominal"
    result = score_table(answers, [inst], replace_scores=True)
    scored = _output_table(
        Table(
            data=answers, labels=labels, value_labels=value_labels, measure=measure, formats=formats
        ),
        result,
        [inst],
        Path(source),
    )
    return scored, result


def _problem_notes(inst: Instrument, visits: Sequence[Visit], problems) -> list[str]:
    """Which visits have answers that are not answers (by visit id, never the values)."""
    rows = sorted({p.row for p in problems if p.row is not None})
    if not rows and not problems:
        return []
    if not rows:
        return [f"{inst.id}: {len(problems)} problem(s) scoring the stored answers"]
    ids = ", ".join(str(visits[r - 1].visit_id) for r in rows[:20])
    more = f" and {len(rows) - 20} more" if len(rows) > 20 else ""
    return [
        f"{inst.id}: answers that are not answers in visit(s) {ids}{more}; the scores that "
        "use them are left blank (see their _status columns)"
    ]


def _definition_notes(inst: Instrument, visits: Sequence[Visit]) -> list[str]:
    notes = []
    current = definition_hash(inst)
    changed = [
        v.visit_id
        for v in visits
        if (stored := _stored_hash(v.result, inst.id)) is not None and stored != current
    ]
    if changed:
        notes.append(
            f"{inst.id}: visit(s) {', '.join(map(str, changed[:20]))} were scored with another "
            "version of its definition; this export scores them with the current one"
        )
    return notes


def _stored_hash(result: Mapping[str, Any] | None, instrument_id: str) -> str | None:
    definitions = ((result or {}).get("provenance") or {}).get("definitions") or []
    for d in definitions:
        if isinstance(d, Mapping) and d.get("id") == instrument_id:
            return d.get("sha256")
    return None


def _combine(
    parts: list[Table], n_rows: int, instruments, source: str, warnings: list[str]
) -> Table:
    index = pd.RangeIndex(n_rows)
    columns: dict[str, pd.Series] = {}
    out = Table(data=pd.DataFrame(index=index), source=source)
    for part in parts:
        for name in part.data.columns:
            if name in columns:
                raise StoreError(f"column {name} comes from two instruments; export them apart")
            columns[name] = part.data[name].reindex(index)
        for meta in ("labels", "value_labels", "measure", "formats"):
            getattr(out, meta).update(getattr(part, meta))
    out.data = pd.DataFrame(columns, index=index)
    stamp = "; ".join(f"{i.id} v{i.version} sha256:{definition_hash(i)}" for i in instruments)
    from .. import __version__

    out.notes = [f"Scored by psyscore {__version__} from the clinician workspace: {stamp}"]
    out.warnings = warnings
    return out
