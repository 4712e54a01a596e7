"""FHIR R4 Questionnaire of a definition, validated with the `fhir.resources` models.

Each item becomes a `choice` question (linkId = item id) whose answer options are the scale's
codes and anchors as `valueCoding`; each score becomes a read-only `decimal` item (linkId = the
score's output column) so a LOINC code for the score has a place. The Questionnaire does not
compute the scores: psyscore does. Item texts are psyscore's paraphrases unless the licence allows
the wording. `fhir.resources` (the `fhir` extra) is imported only here, when a Questionnaire is
made; its R4B models validate it (Questionnaire did not change between R4 and R4B in the parts
written here).
"""

from __future__ import annotations

import json
import re

from ..columns import score_column
from ..errors import UsageError
from ..instrument import Instrument, Item

LOINC = "http://loinc.org"
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_STATUSES = {"draft", "active", "retired", "unknown"}
_ITEM_TYPES = {
    "group", "display", "boolean", "decimal", "integer", "date", "dateTime", "time", "string",
    "text", "url", "choice", "open-choice", "attachment", "reference", "quantity",
}  # fmt: skip
_PARAPHRASE_NOTE = (
    "Item texts are paraphrases written for psyscore, not the instrument's wording; use the "
    "licensed wording when the form is given to respondents."
)


def _coding(code: str | None, display: str | None = None) -> list[dict]:
    if code is None:
        return []
    coding = {"system": LOINC, "code": code}
    if display:
        coding["display"] = display
    return [coding]


def _code_text(code: float) -> str:
    value = float(code)
    return str(int(value)) if value.is_integer() else repr(value)


def _question(inst: Instrument, item: Item) -> dict:
    scale = inst.scale_of(item)
    verbatim = inst.licence.item_text_shipped and item.text
    question = {
        "linkId": item.id,
        "text": item.text if verbatim else item.label,
        "type": "choice",
        "answerOption": [
            {"valueCoding": {"code": _code_text(code), "display": label}}
            for code, label in scale.values.items()
        ],
    }
    if item.loinc:
        question["code"] = _coding(item.loinc)
    return question


def _score_item(inst: Instrument, name: str) -> dict:
    score = inst.scores[name]
    item = {
        "linkId": score_column(inst, name),
        "text": f"{score.label} (scored by psyscore, not by this form)",
        "type": "decimal",
        "readOnly": True,
    }
    if score.loinc:
        item["code"] = _coding(score.loinc)
    return item


def questionnaire(inst: Instrument) -> dict:
    """The Questionnaire as a JSON-ready dict, validated against the FHIR models."""
    resource_id = re.sub(r"[^A-Za-z0-9\-.]", "-", inst.id)[:64]
    if not _FHIR_ID.match(resource_id):
        raise UsageError(f"{inst.id}: cannot make a FHIR resource id from it")
    resource: dict = {
        "resourceType": "Questionnaire",
        "id": resource_id,
        "version": inst.version,
        "title": inst.name,
        "status": "draft",
        "description": inst.citation.strip()
        + ("" if inst.licence.item_text_shipped else "\n\n" + _PARAPHRASE_NOTE),
        "subjectType": ["Patient"],
    }
    if inst.loinc:
        resource["code"] = _coding(inst.loinc, inst.name)
    if inst.licence.note:
        resource["copyright"] = inst.licence.note.strip()
    resource["item"] = [_question(inst, item) for item in inst.items]
    resource["item"] += [_score_item(inst, name) for name in inst.scores]
    validate(resource)
    return resource


def validate(resource: dict) -> None:
    """Check `resource` against the fhir.resources Questionnaire model; refuse when invalid."""
    try:
        from fhir.resources.R4B.questionnaire import Questionnaire
    except ModuleNotFoundError:
        raise UsageError(
            "FHIR export needs the fhir.resources package to validate the Questionnaire: "
            "pip install 'psyscore[fhir]'"
        ) from None
    from pydantic import ValidationError

    try:
        Questionnaire.model_validate(resource)
    except ValidationError as exc:
        raise UsageError(f"the FHIR Questionnaire does not validate: {exc}") from None
    # the models check structure and types, not the codes of required bindings or invariants
    problems = []
    if resource.get("status") not in _STATUSES:
        problems.append(f"status {resource.get('status')!r} is not one of {sorted(_STATUSES)}")
    link_ids = [item.get("linkId") for item in resource.get("item", [])]
    repeated = sorted({i for i in link_ids if link_ids.count(i) > 1})
    if repeated:
        problems.append(f"linkId used twice (que-2): {', '.join(repeated)}")
    for item in resource.get("item", []):
        if item.get("type") not in _ITEM_TYPES:
            problems.append(f"item {item.get('linkId')}: type {item.get('type')!r} is not R4")
        if item.get("type") == "choice" and not item.get("answerOption"):
            problems.append(f"item {item.get('linkId')}: a choice item needs answer options")
    if problems:
        raise UsageError("the FHIR Questionnaire does not validate: " + "; ".join(problems))


def questionnaire_json(inst: Instrument) -> str:
    return json.dumps(questionnaire(inst), indent=2, ensure_ascii=False) + "\n"
