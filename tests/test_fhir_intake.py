"""`psyscore intake --fhir`: the result as a FHIR R4 Bundle that validates with the FHIR models."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from psyscore.cli import app
from psyscore.exchange.fhir import LOINC, SCORE_SYSTEM, intake_bundle, questionnaire
from psyscore.intake import score_form
from psyscore.library import resolve_instruments

runner = CliRunner()
INSTS = resolve_instruments(["phq-9", "gad-7"])
# PHQ-9 total 10 with item 9 endorsed (an alert); GAD-7 items 6-7 missing (not scored)
ANSWERS = {
    **{f"phq9_{i}": 1 for i in range(1, 9)},
    "phq9_9": 2,
    "phq9_10": 1,
    **{f"gad7_{i}": 2 for i in range(1, 7)},
    "gad7_6": None,
    "gad7_7": None,
}


def _bundle(**kw):
    result = score_form(INSTS, ANSWERS, client_id="C17", date="2026-03-02", **kw)
    return result, intake_bundle(result, INSTS)


def _models():
    from fhir.resources.R4B.bundle import Bundle
    from fhir.resources.R4B.observation import Observation
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    return Bundle, Observation, QuestionnaireResponse


def test_bundle_validates_and_holds_a_response_and_one_observation_per_score():
    Bundle, Observation, QuestionnaireResponse = _models()
    result, bundle = _bundle()
    Bundle.model_validate(bundle)
    assert bundle["type"] == "collection"
    resources = [e["resource"] for e in bundle["entry"]]
    responses = [r for r in resources if r["resourceType"] == "QuestionnaireResponse"]
    for r in responses:
        QuestionnaireResponse.model_validate(r)
    # the canonical is the one `instruments export --to fhir` writes, with its version
    assert [r["questionnaire"] for r in responses] == [
        f"{questionnaire(inst)['url']}|{inst.version}" for inst in INSTS
    ]
    phq_items = {i["linkId"]: i["answer"][0]["valueCoding"] for i in responses[0]["item"]}
    assert phq_items["phq9_9"]["code"] == "2"
    assert phq_items["phq9_9"]["display"] == "More than half the days"
    gad_linked = [i["linkId"] for i in responses[1]["item"]]
    assert "gad7_7" not in gad_linked  # unanswered: no empty answer
    scores = [r for r in resources if r["resourceType"] == "Observation" and "valueString" not in r]
    for r in scores:
        Observation.model_validate(r)
        assert r["status"] == "final"
    assert len(scores) == sum(len(i.scores) for i in result.instruments)
    urls = {e["resource"].get("questionnaire"): e["fullUrl"] for e in bundle["entry"]}
    phq_url = urls[f"{questionnaire(INSTS[0])['url']}|{INSTS[0].version}"]
    phq_total = next(
        r for r in scores if any(c["code"] == "phq9_total" for c in r["code"]["coding"])
    )
    assert phq_total["valueQuantity"]["value"] == 10.0
    assert phq_total["derivedFrom"] == [{"reference": phq_url}]
    codings = phq_total["code"]["coding"]
    assert {"system": LOINC, "code": "44261-6", "display": "Total"} in codings or any(
        c["system"] == LOINC and c["code"] == "44261-6" for c in codings
    )
    assert any(c["system"] == SCORE_SYSTEM for c in codings)
    assert phq_total["interpretation"][0]["text"] == "severity: moderate"
    assert phq_total["subject"]["identifier"]["value"] == "C17"


def test_only_codes_the_definition_lists_are_loinc():
    _, bundle = _bundle()
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] != "Observation" or "valueString" in resource:
            continue
        column = next(c["code"] for c in resource["code"]["coding"] if c["system"] == SCORE_SYSTEM)
        inst = next(i for i in INSTS if column.startswith(i.output_prefix + "_"))
        spec = inst.scores[column.removeprefix(inst.output_prefix + "_")]
        loinc = [c["code"] for c in resource["code"]["coding"] if c["system"] == LOINC]
        assert loinc == ([spec.loinc] if spec.loinc else [])


def test_a_score_not_computed_has_a_data_absent_reason_not_a_value():
    _, bundle = _bundle()
    gad = next(
        e["resource"]
        for e in bundle["entry"]
        if any(
            c.get("code") == "gad7_total" for c in e["resource"].get("code", {}).get("coding", [])
        )
    )
    assert "valueQuantity" not in gad
    assert gad["dataAbsentReason"]["text"].startswith("not scored")
    assert "interpretation" not in gad


def test_alerts_travel_as_observations():
    _, bundle = _bundle()
    alerts = [e["resource"] for e in bundle["entry"] if "valueString" in e["resource"]]
    assert len(alerts) == 1 and "phq9_9" in alerts[0]["code"]["text"]


def test_cli_writes_the_bundle_with_the_other_outputs(tmp_path):
    answers = tmp_path / "form.json"
    answers.write_text(json.dumps(ANSWERS))
    out = tmp_path / "visit.fhir.json"
    html = tmp_path / "visit.html"
    result = runner.invoke(
        app,
        ["intake", "-i", "phq-9", "-i", "gad-7", "--answers", str(answers), "--client-id", "C17"]
        + ["--fhir", str(out), "--html", str(html)],
    )
    assert result.exit_code == 0, result.output
    Bundle, _, _ = _models()
    Bundle.model_validate(json.loads(out.read_text()))
    assert html.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fhir", "{tmp}/out.xml"], "needs a .json name"),
        (["--fhir", "{tmp}/same.json", "--html", "{tmp}/same.json"], "same.json"),
        (["--fhir", "{tmp}/form.json"], "form.json"),  # the answers file itself
    ],
)
def test_cli_fhir_target_is_planned_before_anything_is_scored(tmp_path, args, message):
    answers = tmp_path / "form.json"
    answers.write_text(json.dumps(ANSWERS))
    before = sorted(p.name for p in tmp_path.iterdir())
    argv = ["intake", "-i", "phq-9", "-i", "gad-7", "--answers", str(answers)]
    argv += [a.format(tmp=tmp_path) for a in args]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_band_the_missing_items_leave_open_is_not_an_interpretation():
    # PHQ-9 with items 8-9 missing: prorated, severity band not settled, cut-off band settled
    answers = {f"phq9_{i}": 1 for i in range(1, 8)} | {"phq9_8": None, "phq9_9": None}
    result = score_form(INSTS[:1], answers, date="2026-03-02")
    total = result.instruments[0].scores[0]
    assert total.range is not None and not all(total.range.settled.values())
    bundle = intake_bundle(result, INSTS[:1])
    observation = next(
        e["resource"]
        for e in bundle["entry"]
        if any(
            c.get("code") == "phq9_total" for c in e["resource"].get("code", {}).get("coding", [])
        )
    )
    texts = [i["text"] for i in observation.get("interpretation", [])]
    settled = [name for name, done in total.range.settled.items() if done]
    assert [t.split(":")[0] for t in texts] == settled
