"""A stored visit result (`IntakeResult.to_dict()`, the JSON of `psyscore intake --json`) back as
an `IntakeResult`, so the report renderer shows exactly what was stored, not a new scoring."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from .. import intake

# nested fields that hold another result dataclass (or a list of them)
NESTED: dict[type, dict[str, tuple[type, bool]]] = {
    intake.ScoreResult: {
        "norm": (intake.Norm, False),
        "range": (intake.Range, False),
        "change": (intake.Change, False),
        "change_from_first": (intake.Change, False),
    },
    intake.InstrumentResult: {
        "alerts": (intake.Alert, True),
        "scores": (intake.ScoreResult, True),
    },
    intake.IntakeResult: {"instruments": (intake.InstrumentResult, True)},
}
TUPLES = {"ci95", "t_ci95"}


def _build(cls: type, data: Mapping[str, Any]):
    known = {f.name for f in dataclasses.fields(cls)}
    nested = NESTED.get(cls, {})
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            continue
        if key in nested and value is not None:
            inner, many = nested[key]
            value = [_build(inner, v) for v in value] if many else _build(inner, value)
        elif key in TUPLES and isinstance(value, list):
            value = tuple(value)
        values[key] = value
    return cls(**values)


def intake_result(result: Mapping[str, Any]) -> intake.IntakeResult:
    data = dict(result)
    if "psyscore_version" in data:
        data["version"] = data.pop("psyscore_version")
    provenance = data.get("provenance") or {}
    data.setdefault("options", provenance.get("options", {}))
    data.setdefault("previous_dates", provenance.get("previous_dates", []))
    return _build(intake.IntakeResult, data)
