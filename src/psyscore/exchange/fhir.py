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


# psyscore owns no web domain: its canonical URLs and code systems are URNs, which FHIR accepts
# as `uri`/`canonical` and which cannot collide with anyone's real address.
CANONICAL_BASE = "urn:psyscore:Questionnaire:"
SCORE_SYSTEM = "urn:psyscore:score"  # code = the score's output column, e.g. phq9_total
CLIENT_SYSTEM = "urn:psyscore:client-id"
ANSWER_SYSTEM = "urn:psyscore:answer:"  # + instrument id: the scale's codes
_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"


def _resource_id(inst: Instrument) -> str:
    resource_id = re.sub(r"[^A-Za-z0-9\-.]", "-", inst.id)[:64]
    if not _FHIR_ID.match(resource_id):
        raise UsageError(f"{inst.id}: cannot make a FHIR resource id from it")
    return resource_id


def canonical_url(inst: Instrument) -> str:
    """The Questionnaire's canonical URL; a QuestionnaireResponse cites it with `|version`."""
    return CANONICAL_BASE + _resource_id(inst)


def questionnaire(inst: Instrument) -> dict:
    """The Questionnaire as a JSON-ready dict, validated against the FHIR models."""
    resource_id = _resource_id(inst)
    resource: dict = {
        "resourceType": "Questionnaire",
        "id": resource_id,
        "url": canonical_url(inst),
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


# ---- an intake result as a Bundle: QuestionnaireResponse + one Observation per score ----------


def intake_bundle(result, instruments) -> dict:
    """`psyscore intake --fhir`: a `collection` Bundle, validated with the FHIR models.

    Per instrument a QuestionnaireResponse (the answered items with their codes and anchors,
    `questionnaire` = the canonical `instruments export --to fhir` writes, with its version) and
    per score an Observation (status final, value, the score's LOINC code where the definition
    lists one and always psyscore's own code, interpretation = its band(s), `derivedFrom` the
    QuestionnaireResponse). A score that could not be computed has a `dataAbsentReason` with its
    status instead of a value; critical alerts are Observations too, so they travel with it.
    """
    import uuid

    by_id = {inst.id: inst for inst in instruments}
    subject = _subject(result.client_id)
    entries: list[dict] = []
    for inst_result in result.instruments:
        inst = by_id[inst_result.id]
        response_url = f"urn:uuid:{uuid.uuid4()}"
        response = _questionnaire_response(inst, inst_result, result, subject)
        entries.append({"fullUrl": response_url, "resource": response})
        for score in inst_result.scores:
            observation = _score_observation(inst, score, result, subject, response_url)
            entries.append({"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": observation})
        for alert in inst_result.alerts:
            observation = _alert_observation(inst, alert, result, subject, response_url)
            entries.append({"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": observation})
    # no Bundle.timestamp: it is an instant (with a time of day), and the form has only a date
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    validate_bundle(bundle)
    return bundle


def _subject(client_id: str | None) -> dict | None:
    if not client_id:
        return None
    return {"identifier": {"system": CLIENT_SYSTEM, "value": client_id}, "display": client_id}


def _with_subject_and_date(resource: dict, result, subject, date_field: str) -> dict:
    if subject is not None:
        resource["subject"] = subject
    if result.date:
        resource[date_field] = result.date
    return resource


def _questionnaire_response(inst: Instrument, inst_result, result, subject) -> dict:
    items = []
    for item in inst.items:
        given = inst_result.answered.get(item.id, {})
        if given.get("code") is None:
            continue  # unanswered: R4 leaves the item out rather than give an empty answer
        coding = {"system": ANSWER_SYSTEM + inst.id, "code": _code_text(given["code"])}
        if given.get("anchor"):
            coding["display"] = given["anchor"]
        items.append({"linkId": item.id, "text": item.label, "answer": [{"valueCoding": coding}]})
    response = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{canonical_url(inst)}|{inst.version}",
        "status": "completed",
        "item": items,
    }
    return _with_subject_and_date(response, result, subject, "authored")


def _score_code(inst: Instrument, score) -> dict:
    codings = []
    spec = inst.scores[score.name]
    if spec.loinc:
        codings += _coding(spec.loinc, score.label)
    codings.append({"system": SCORE_SYSTEM, "code": score.column, "display": score.label})
    return {"coding": codings, "text": score.label}


def _score_observation(inst: Instrument, score, result, subject, response_url: str) -> dict:
    observation: dict = {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": _CATEGORY, "code": "survey", "display": "Survey"}]}],
        "code": _score_code(inst, score),
        "derivedFrom": [{"reference": response_url}],
    }
    if score.value is None:
        observation["dataAbsentReason"] = {
            "coding": [{"system": _ABSENT, "code": "unknown", "display": "Unknown"}],
            "text": score.status,
        }
    else:
        observation["valueQuantity"] = {"value": score.value}
    # a band the missing items leave open is not an interpretation: only settled ones go in
    bands = [
        (name, label)
        for name, label in score.bands.items()
        if label and (score.range is None or score.range.settled.get(name, True))
    ]
    if bands:
        observation["interpretation"] = [{"text": f"{name}: {label}"} for name, label in bands]
    notes = [f"status: {score.status} ({score.n} of {score.k} items answered)"]
    if score.range is not None:
        notes.append(score.range.text)
    if score.norm is not None and score.norm.t is not None:
        notes.append(f"T {score.norm.t:g} vs {score.norm.group}")
    notes.append(result.note)
    observation["note"] = [{"text": "; ".join(notes)}]
    return _with_subject_and_date(observation, result, subject, "effectiveDateTime")


def _alert_observation(inst: Instrument, alert, result, subject, response_url: str) -> dict:
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": _CATEGORY, "code": "survey", "display": "Survey"}]}],
        "code": {
            "coding": [
                {
                    "system": "urn:psyscore:alert",
                    "code": f"{inst.output_prefix}_critical_{alert.item}",
                    "display": f"critical item {alert.item}",
                }
            ],
            "text": f"CRITICAL: {inst.id.upper()} {alert.item} ({alert.label})",
        },
        "valueString": alert.message,
        "derivedFrom": [{"reference": response_url}],
    }
    return _with_subject_and_date(observation, result, subject, "effectiveDateTime")


def validate_bundle(bundle: dict) -> None:
    """Check the Bundle and every resource in it against the fhir.resources models."""
    try:
        from fhir.resources.R4B.bundle import Bundle
    except ModuleNotFoundError:
        raise UsageError(
            "--fhir needs the fhir.resources package to validate the Bundle: "
            "pip install 'psyscore[fhir]'"
        ) from None
    from pydantic import ValidationError

    try:
        Bundle.model_validate(bundle)
    except ValidationError as exc:
        raise UsageError(f"the FHIR Bundle does not validate: {exc}") from None


def require_fhir() -> None:
    """UsageError now (before a form is asked) when --fhir could not validate its output."""
    try:
        import fhir.resources.R4B.bundle  # noqa: F401
    except ModuleNotFoundError:
        raise UsageError(
            "--fhir needs the fhir.resources package: pip install 'psyscore[fhir]'"
        ) from None


def intake_bundle_json(result, instruments) -> str:
    return json.dumps(intake_bundle(result, instruments), indent=2, ensure_ascii=False) + "\n"
