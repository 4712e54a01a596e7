"""Scoring a visit for the web app: the same path as `psyscore intake`.

`score_visit` checks the answers the way `psyscore intake --answers` checks a file (every key an
item of the instruments asked for, each value one answer), scores them with
`psyscore.intake.score_form` and attaches the change since the client's earlier scored visits
with `psyscore.intake.compare`. The result is `IntakeResult.to_dict()`: the JSON of
`psyscore intake --json`.

Answers that are not understood are never stored as missing: `VisitRejected` carries the same
problem records the CLI reports (exit 1 there, 422 here), and nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import PsyscoreError
from ..instrument import Instrument, Item
from .store import NotFound, Store, Visit

SCALAR = (str, int, float, type(None))
SEXES = ("male", "female")


class VisitRejected(PsyscoreError):
    """The request cannot be scored; nothing was stored.

    `problems` are problem records as `psyscore intake --json` reports them (kind, message, hint,
    column, value, instrument); empty when the request itself is wrong (unknown instrument,
    unknown item, malformed body) and `str(self)` says why.
    """

    def __init__(self, message: str, problems: Sequence[Mapping[str, Any]] = ()) -> None:
        super().__init__(message)
        self.problems = [dict(p) for p in problems]


@dataclass
class FormItem:
    """One item of a visit's form: where it is and what can be answered."""

    position: int  # 0-based over the whole form
    instrument: Instrument
    item: Item
    number: int  # 1-based within its instrument
    anchors: list[tuple[Any, str]] = field(default_factory=list)  # (code, label)


def resolve(refs: Sequence[str]) -> list[Instrument]:
    """Instruments of the ids/bundles `refs`, built-in only (a web request never names a file)."""
    from ..errors import UsageError
    from ..library import builtin_ids, resolve_instruments

    if not refs or not all(isinstance(r, str) and r.strip() for r in refs):
        raise VisitRejected("instruments: give a non-empty list of instrument or bundle ids")
    known = set(builtin_ids())
    for ref in refs:
        squashed = {k.replace("-", ""): k for k in known}
        if ref.lower() not in known and ref.lower().replace("-", "") not in squashed:
            raise VisitRejected(f"unknown instrument {ref!r}; built-in: {', '.join(sorted(known))}")
    try:
        return resolve_instruments(list(refs))
    except UsageError as exc:
        raise VisitRejected(str(exc)) from None


def form_items(instruments: Sequence[Instrument]) -> list[FormItem]:
    """Every item of the form, in order, with its anchors."""
    out: list[FormItem] = []
    for inst in instruments:
        for number, item in enumerate(inst.items, start=1):
            anchors = [
                (int(c) if float(c).is_integer() else c, label)
                for c, label in inst.scale_of(item).values.items()
            ]
            out.append(FormItem(len(out), inst, item, number, anchors))
    return out


def check_answers(instruments: Sequence[Instrument], answers: object) -> dict[str, Any]:
    """`answers` if every key is an item of `instruments` and every value one answer.

    The checks of `psyscore intake --answers`: a key that is no item of the instruments asked
    for, an instrument none of whose items is answered, or a value that is not one answer
    (a list, an object, true/false) is refused rather than dropped.
    """
    from ..intake import matched_items

    if not isinstance(answers, Mapping):
        raise VisitRejected("answers: give an object mapping item id to answer")
    wrong = [
        str(k)
        for k, v in answers.items()
        if not isinstance(v, SCALAR) or isinstance(v, bool) or not isinstance(k, str)
    ]
    if wrong:
        raise VisitRejected(
            f"answers: {', '.join(wrong[:8])}: an answer is one value (the code or the answer "
            "text); null for an unanswered item"
        )
    columns = list(answers)
    used: set[str] = set()
    for inst in instruments:
        found = matched_items(inst, columns)
        if not found:
            raise VisitRejected(
                f"answers: no answer matches an item of {inst.id} (expected names like "
                f"{', '.join(inst.item_ids[:3])})"
            )
        used.update(found.values())
    unknown = [c for c in columns if c not in used]
    if unknown:
        raise VisitRejected(
            f"answers: {', '.join(unknown[:8])} {'is' if len(unknown) == 1 else 'are'} not an "
            "item of the instruments asked for"
        )
    return dict(answers)


def check_one_answer(instruments: Sequence[Instrument], item_id: str, value: str | None):
    """The code to store for one answer typed or clicked in the form (None = skipped).

    Raises VisitRejected for an item not in the form or a value its scale does not allow.
    """
    from ..intake import check_answer

    for inst in instruments:
        for item in inst.items:
            if item.id == item_id:
                if value is None:
                    return None
                kind, code = check_answer(inst, item, str(value))
                if kind != "answer":
                    allowed = code if kind == "invalid" else "one of the answers shown"
                    raise VisitRejected(
                        f"{item_id}: not an answer here; allowed: {allowed}",
                        [
                            {
                                "kind": "invalid_answer",
                                "message": f"{item_id}: not an answer of its scale",
                                "hint": f"allowed: {allowed}",
                                "column": item_id,
                                "instrument": inst.id,
                            }
                        ],
                    )
                return code
    raise VisitRejected(f"{item_id}: not an item of this visit's instruments")


def check_norm_options(sex: object, age: object) -> tuple[str | None, float | None]:
    """The client's sex and age as `score_form` takes them (they choose the norm group)."""
    if sex in (None, ""):
        sex = None
    elif not isinstance(sex, str) or sex.strip().lower() not in SEXES:
        raise VisitRejected(f"sex {sex!r}: choose male or female (or leave it out)")
    else:
        sex = sex.strip().lower()
    if age in (None, ""):
        age = None
    else:
        try:
            age = float(age)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise VisitRejected(f"age {age!r}: give the age in years (0-130)") from None
        if isinstance(age, bool) or not 0 <= age <= 130:
            raise VisitRejected(f"age {age!r}: give the age in years (0-130)")
    return sex, age


def earlier_results(store: Store, client_id: str, date: str, *, before: int | None = None):
    """Results of the client's scored visits before this one, oldest first.

    A visit is earlier when its date is earlier, or on the same date when it was entered first
    (`before` is this visit's id; None: a new visit, so every visit on that date is earlier).
    """
    try:
        visits = store.list_visits(client_id)
    except NotFound:
        return []
    out = []
    for v in visits:
        if v.result is None or v.visit_id == before:
            continue
        if v.date < date or (v.date == date and (before is None or v.visit_id < before)):
            out.append(v.result)
    return out


def score_visit(
    store: Store,
    client_id: str,
    *,
    date: str,
    refs: Sequence[str],
    answers: Mapping[str, Any],
    sex: str | None = None,
    age: float | None = None,
    visit_id: int | None = None,
) -> dict[str, Any]:
    """Score one visit's answers and compare with the client's earlier visits.

    Returns the JSON of `psyscore intake --json`; raises VisitRejected (nothing stored) when an
    answer is not understood or the codes disagree with a scale.
    """
    from ..errors import DataError, UsageError
    from ..intake import compare, score_form

    instruments = resolve(refs)
    answers = check_answers(instruments, answers)
    options = {"instruments": list(refs), "source": "psyscore serve"}
    try:
        result = score_form(
            instruments,
            answers,
            client_id=client_id,
            date=date,
            sex=sex,
            age=age,
            options=options,
        )
    except (DataError, UsageError) as exc:
        raise VisitRejected(str(exc)) from None
    if result.problems:
        raise VisitRejected("some answers are not understood; nothing was stored", result.problems)
    previous = earlier_results(store, client_id, date, before=visit_id)
    if previous:
        try:
            compare(result, previous, instruments)
        except UsageError as exc:
            raise VisitRejected(f"the earlier visits cannot be compared: {exc}") from None
    from ..jsonable import json_safe

    return json_safe(result.to_dict())


def score_table(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per score of a stored result: what the visits list and the API show."""
    rows = []
    for inst in result.get("instruments", []):
        for sc in inst.get("scores", []):
            change = sc.get("change") or {}
            # with one earlier visit, the previous visit is the first one
            first = sc.get("change_from_first") or change
            rows.append(
                {
                    "instrument": inst.get("id"),
                    "column": sc.get("column"),
                    "label": sc.get("label"),
                    "value": sc.get("value"),
                    "display": sc.get("display"),
                    "bands": sc.get("bands") or {},
                    "change": change.get("category") if change else None,
                    "difference": change.get("difference") if change else None,
                    "change_from_first": first.get("category") if first else None,
                    "difference_from_first": first.get("difference") if first else None,
                }
            )
    return rows


def visit_summary(visit: Visit, report_url: str) -> dict[str, Any]:
    """A visit as `GET /api/clients/{id}/visits` lists it."""
    result = visit.result or {}
    return {
        "visit_id": visit.visit_id,
        "date": visit.date,
        "visit_number": visit.visit_number,
        "status": visit.status,
        "instruments": list(visit.instruments),
        "alerts": result.get("alerts", []),
        "scores": score_table(result) if visit.result else [],
        "report_url": report_url if visit.result else None,
    }


def rescore_later(store: Store, client_id: str, date: str, visit_id: int | None, *, user: str):
    """Score again every scored visit of the client after (`date`, `visit_id`), oldest first.

    Their stored change since the previous and the first visit depends on the earlier visits:
    after one of those is added, changed or deleted, a stale change would be a wrong number.
    A visit that can no longer be scored (its definition changed) keeps its result; the ids of
    such visits are returned.
    """
    try:
        found = store.list_visits(client_id)
    except NotFound:
        return []
    key = (date, visit_id if visit_id is not None else -1)
    failed = []
    for v in found:
        if v.result is None or (v.date, v.visit_id) <= key:
            continue
        options = v.result.get("options") or (v.result.get("provenance") or {}).get("options", {})
        try:
            result = score_visit(
                store,
                client_id,
                date=v.date,
                refs=v.instruments,
                answers=v.answers,
                sex=options.get("sex"),
                age=options.get("age"),
                visit_id=v.visit_id,
            )
        except VisitRejected:
            failed.append(v.visit_id)
            continue
        store.update_result(v.visit_id, result=result, user=user)
    return failed
