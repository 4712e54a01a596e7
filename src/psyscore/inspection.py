"""What is in a data file and how psyscore would read it: the model behind `psyscore inspect`.

Per column: type, non-missing count, label, value labels, user-missing codes. Per instrument
(given, or detected from column names): which items match which columns, which are unmapped or
ambiguous, and which answers are no codes of the scale (a shifted coding too). Unlike scoring,
nothing is refused: inspection reports what scoring would stop on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import UsageError
from .instrument import Bundle, Instrument
from .io import Table
from .library import builtin_entries
from .mapping import ColumnMap
from .responses import match_columns, resolve
from .survey import Survey


@dataclass
class Inspection:
    """The result of :func:`inspect_survey`; ``to_dict()`` is ``psyscore inspect --json``."""

    survey: Survey
    detected: list[Instrument]
    requested: list[Instrument]
    reports: list[dict] = field(default_factory=list)

    @property
    def columns(self) -> list[dict]:
        return column_summary(self.survey.table)

    @property
    def problem_count(self) -> int:
        return sum(
            len(r["ambiguous"]) + len(r["problems"]) + (1 if r["unmapped"] else 0)
            for r in self.reports
        )

    def to_dict(self) -> dict:
        survey = self.survey
        return {
            "input": None if survey.path is None else str(survey.path),
            "rows": survey.rows,
            "notes": survey.notes,
            "columns": self.columns,
            "detected": [i.id for i in self.detected],
            "excluded_by_default": survey.flagged.counts,
            "instruments": [
                {**r, "problems": [p.to_dict() for p in r["problems"]]} for r in self.reports
            ],
        }


def inspect_survey(survey: Survey, requested: list[Instrument]) -> Inspection:
    """Check `requested` and every built-in instrument detected from the column names."""
    columns = [str(c) for c in survey.data.columns]
    detected = _detect(columns)
    checks = list({i.id: i for i in [*requested, *detected]}.values())
    reports = [_check(inst, survey.table, survey.file_missing, survey.mapping) for inst in checks]
    for r in reports:
        r["problems"] = survey.locate(r["problems"])
    return Inspection(survey, detected, requested, reports)


def column_summary(table: Table) -> list[dict]:
    rows = []
    for name in table.data.columns:
        col = table.data[name]
        ranges = table.missing_ranges.get(name, [])
        rows.append(
            {
                "name": str(name),
                "dtype": str(col.dtype),
                "non_missing": int(col.notna().sum()),
                "label": table.labels.get(name, ""),
                "value_labels": len(table.value_labels.get(name, {})),
                "user_missing": [
                    _fmt(r["lo"]) if r["lo"] == r["hi"] else f"{_fmt(r['lo'])} thru {_fmt(r['hi'])}"
                    for r in ranges
                ],
            }
        )
    return rows


def _fmt(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _detect(columns: list[str]) -> list[Instrument]:
    """Built-in instruments with at least half of their items matching a column."""
    found = []
    for entry in builtin_entries():
        inst = entry.definition
        if isinstance(inst, Bundle):
            continue
        try:
            matched, _ = match_columns(inst, columns)
        except UsageError:
            # ambiguous columns still mean the instrument is there; report it below
            matched = _loose_matches(inst, columns)
        if len(matched) * 2 >= len(inst.items):
            found.append(inst)
    return found


def _loose_matches(inst: Instrument, columns: list[str]) -> dict[str, str]:
    """Items with a match when each column is tried on its own (ambiguity ignored)."""
    matched: dict[str, str] = {}
    for col in columns:
        try:
            one, _ = match_columns(inst, [col])
        except UsageError:
            continue
        for item, c in one.items():
            matched.setdefault(item, c)
    return matched


def _check(inst: Instrument, table: Table, file_missing, mapping: ColumnMap) -> dict:
    columns = [str(c) for c in table.data.columns]
    report: dict = {"id": inst.id, "items": len(inst.items), "ambiguous": [], "problems": []}
    inst_map = mapping.items_of(inst.item_ids)
    try:
        matched, _ = match_columns(inst, columns, inst_map)
    except UsageError:
        matched = {}
        loose = _loose_matches(inst, columns)
        # find every item that more than one column claims
        claims: dict[str, list[str]] = {}
        for col in columns:
            try:
                one, _ = match_columns(inst, [col])
            except UsageError:
                continue
            for item in one:
                claims.setdefault(item, []).append(col)
        for item, cols in claims.items():
            if len(cols) > 1:
                report["ambiguous"].append({"item": item, "columns": cols})
        ambiguous = {a["item"] for a in report["ambiguous"]}
        matched = {i: c for i, c in loose.items() if i not in ambiguous}
    report["matched"] = {i: matched[i] for i in inst.item_ids if i in matched}
    ambiguous = {a["item"] for a in report["ambiguous"]}
    report["unmapped"] = [i for i in inst.item_ids if i not in matched and i not in ambiguous]
    if not report["ambiguous"]:
        _, problems = resolve(
            inst,
            table.data,
            mapping=inst_map,
            file_missing=file_missing,
            recodes=mapping.recodes,
            value_labels=table.value_labels,
        )
        report["problems"] = [
            p
            for p in problems
            if p.kind in {"out_of_range", "unrecognised_answer", "recode_mismatch"}
        ]
    return report
