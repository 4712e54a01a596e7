"""FHIR R4 Questionnaire export: valid for every built-in, items and codes as in the definition."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from psyscore import library
from psyscore.cli import app
from psyscore.columns import score_column
from psyscore.errors import UsageError
from psyscore.exchange.fhir import LOINC, questionnaire, validate
from psyscore.instrument import Instrument

BUILTINS = library.builtin_instruments()
runner = CliRunner()


@pytest.mark.parametrize("inst", BUILTINS, ids=lambda i: i.id)
def test_every_builtin_gives_a_valid_questionnaire(inst: Instrument):
    from fhir.resources.R4B.questionnaire import Questionnaire

    resource = questionnaire(inst)  # validates, or raises
    model = Questionnaire.model_validate(resource)
    assert model.status == "draft"
    questions = [i for i in resource["item"] if i["type"] == "choice"]
    assert [q["linkId"] for q in questions] == inst.item_ids
    for item, question in zip(inst.items, questions, strict=True):
        options = [o["valueCoding"] for o in question["answerOption"]]
        scale = inst.scale_of(item)
        assert [float(o["code"]) for o in options] == [float(c) for c in scale.values]
        assert [o["display"] for o in options] == list(scale.values.values())
        if not inst.licence.item_text_shipped:
            assert question["text"] == item.label  # a paraphrase, never the licensed wording
    scores = [i for i in resource["item"] if i["type"] != "choice"]
    assert [s["linkId"] for s in scores] == [score_column(inst, n) for n in inst.scores]
    assert all(s["readOnly"] for s in scores)


@pytest.mark.parametrize(
    ("ref", "panel", "total"), [("phq-9", "44249-1", "44261-6"), ("gad-7", "69737-5", "70274-6")]
)
def test_loinc_codes_are_carried(ref, panel, total):
    resource = questionnaire(library.load(ref))
    assert resource["code"][0] == {
        "system": LOINC,
        "code": panel,
        "display": library.load(ref).name,
    }
    total_item = next(i for i in resource["item"] if i["linkId"].endswith("_total"))
    assert total_item["code"] == [{"system": LOINC, "code": total}]


def test_a_mistyped_loinc_code_is_refused_by_the_definition():
    from psyscore.errors import DefinitionError
    from psyscore.instrument import parse_definition

    text = (library.builtin_dir() / "phq-9.yaml").read_text().replace("44261-6", "44261-5")
    with pytest.raises(DefinitionError, match="check digit"):
        parse_definition(text)


def test_validation_refuses_what_the_models_accept_but_r4_does_not():
    with pytest.raises(UsageError, match="status"):
        validate({"resourceType": "Questionnaire", "status": "bogus"})
    with pytest.raises(UsageError, match="linkId used twice"):
        validate(
            {
                "resourceType": "Questionnaire",
                "status": "draft",
                "item": [{"linkId": "a", "type": "display"}, {"linkId": "a", "type": "display"}],
            }
        )
    with pytest.raises(UsageError, match="does not validate"):
        validate({"resourceType": "Questionnaire", "status": "draft", "itemz": []})


def test_cli_writes_the_questionnaire(tmp_path):
    path = tmp_path / "q.json"
    result = runner.invoke(app, ["instruments", "export", "phq-9", "--to", "fhir", "-o", str(path)])
    assert result.exit_code == 0, result.output
    assert json.loads(path.read_text())["resourceType"] == "Questionnaire"
    bundle = runner.invoke(app, ["instruments", "export", "program-intake", "--to", "fhir"])
    assert bundle.exit_code == 2 and "bundle" in bundle.output


def test_unset_optional_fields_leave_the_hash_alone():
    """Intake compares definition hashes across visits: a field added to the format later (loinc,
    better, ...) must not change the hash of a definition that does not use it."""
    from psyscore.instrument import definition_hash, parse_definition

    text = (library.builtin_dir() / "k10.yaml").read_text()
    plain = parse_definition(text)
    spelled_out = parse_definition(text + "loinc: null\n")
    assert (
        definition_hash(plain)
        == definition_hash(spelled_out)
        == definition_hash(library.load("k10"))
    )
    with_code = parse_definition(text + "loinc: 44249-1\n")
    assert definition_hash(with_code) != definition_hash(plain)
