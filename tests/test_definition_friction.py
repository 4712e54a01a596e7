"""Issue 13, "writing your own definition": the friction points a definition author meets."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from psyscore.cli import app
from psyscore.errors import DefinitionError
from psyscore.instrument import json_schema, parse_definition

from .conftest import DATA

runner = CliRunner()

MINIMAL = """
id: mini
name: Mini scale
construct: other
citation: test
licence: {status: public-domain}
key: {source: test, verified: true}
missing_codes: {9: refused}
response_scales:
  s: {values: {0: none, 1: some}, aliases: {S: 1}}
items:
  - {id: m_1, label: one, scale: s}
  - {id: m_2, label: two, scale: s}
scores:
  total: {label: Total, items: [m_1, m_2]}
examples:
"""


def _definition(example: str) -> str:
    return MINIMAL + example


# ---- 1. the default missing rule is documented and shown --------------------------------------


def test_schema_documents_the_default_missing_rule():
    schema = json_schema()
    described = schema["$defs"]["Score"]["properties"]["missing"].get("description", "")
    assert "every item" in described and "min_answered" in described
    assert "every item" in schema["$defs"]["MissingRule"]["description"]


def test_show_prints_the_default_missing_rule(tmp_path):
    path = tmp_path / "mini.yaml"
    path.write_text(_definition("  - {name: zeros, answers: {m_1: 0, m_2: 0}, expect: {total: 0}}"))
    result = runner.invoke(app, ["instruments", "show", str(path)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "every item must be answered (default" in text


def test_show_prints_a_declared_rule_without_default():
    text = " ".join(
        runner.invoke(app, ["instruments", "show", str(DATA / "toy.yaml")]).output.split()
    )
    assert "at least 2 of 3 items answered" in text
    assert "(default" not in text.split("Toy part")[1].split("Toy total")[0]


# ---- 2. golden examples must use answers the scale accepts ------------------------------------


def test_example_answer_outside_the_scale_is_refused():
    with pytest.raises(DefinitionError, match=r"m_2.*5.*not an answer"):
        parse_definition(
            _definition("  - {name: typo, answers: {m_1: 0, m_2: 5}, expect: {total: 5}}")
        )


def test_example_text_answer_not_an_anchor_is_refused():
    with pytest.raises(DefinitionError, match="maybe"):
        parse_definition(
            _definition("  - {name: t, answers: {m_1: maybe, m_2: 0}, expect: {total: null}}")
        )


@pytest.mark.parametrize("answer", ["0", "some", "SOME.", "S", 9, "null"])
def test_example_answers_the_scale_accepts_pass(answer):
    value = "null" if answer == "null" else repr(answer) if isinstance(answer, str) else answer
    parse_definition(
        _definition(f"  - {{name: ok, answers: {{m_1: {value}, m_2: 0}}, expect: {{}}}}")
    )


def test_invalid_on_purpose_allows_an_out_of_scale_answer():
    defn = parse_definition(
        _definition(
            "  - {name: seven is invalid, invalid_on_purpose: true, answers: {m_1: 7, m_2: 0},"
            " expect: {total: null}}"
        )
    )
    assert defn.examples[0].invalid_on_purpose


def test_invalid_on_purpose_without_an_invalid_answer_is_refused():
    with pytest.raises(DefinitionError, match="invalid_on_purpose"):
        parse_definition(
            _definition(
                "  - {name: x, invalid_on_purpose: true, answers: {m_1: 1, m_2: 0},"
                " expect: {total: 1}}"
            )
        )


def test_all_builtins_validate():
    result = runner.invoke(app, ["instruments", "validate"])
    assert result.exit_code == 0, result.output


# ---- 3. the schema carries help for editors ---------------------------------------------------


@pytest.mark.parametrize(
    ("model", "field"),
    [
        ("Score", "method"),
        ("Score", "missing"),
        ("Score", "items"),
        ("Item", "reverse"),
        ("Item", "scale"),
        ("Instrument", "scores"),
        ("Instrument", "examples"),
        ("Instrument", "items"),
        ("Instrument", "response_scales"),
    ],
)
def test_schema_fields_have_descriptions(model, field):
    schema = json_schema()
    owner = schema if model == "Instrument" else schema["$defs"][model]
    assert owner["properties"][field].get("description"), f"{model}.{field}"


# ---- 4. inspect -i does not say "none" ---------------------------------------------------------


def test_inspect_with_instrument_does_not_claim_none(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("a,b\n1,2\n")
    text = runner.invoke(app, ["inspect", str(data), "-i", str(DATA / "toy.yaml")]).output
    assert "detected instruments: none" not in text
    assert "toy-4" in text


# ---- 5. --help shows boolean flags without a metavar ------------------------------------------


def test_help_has_no_bool_metavar():
    text = runner.invoke(app, ["score", "--help"], terminal_width=200).output
    assert "--json" in text
    assert not re.search(r"<bool>|BOOLEAN", text)


def test_the_flag_leaves_the_hash_of_definitions_without_it_alone():
    """definition_hash leaves nulls out: an unset invalid_on_purpose must not change it."""
    defn = parse_definition(_definition("  - {name: z, answers: {m_1: 0, m_2: 0}, expect: {}}"))
    dumped = defn.model_dump(mode="json", exclude_none=True)
    assert "invalid_on_purpose" not in dumped["examples"][0]
