"""The definition format: clear errors, generated schema, built-in library health."""

from __future__ import annotations

import json

import pytest

from psyscore import library
from psyscore.errors import DefinitionError
from psyscore.examples import check_examples
from psyscore.instrument import Bundle, json_schema, parse_definition

from .conftest import DATA, ROOT

GOOD = (DATA / "toy.yaml").read_text()


def test_error_names_file_field_and_line():
    broken = GOOD.replace(
        "  - {id: toy_2, label: second (reversed), scale: agree5, reverse: true}",
        "  - {id: toy_2, label: second (reversed), scale: agree5, reverse: maybe}",
    )
    with pytest.raises(DefinitionError) as exc:
        parse_definition(broken, "my.yaml")
    # toy_2 is on line 18 of the fixture
    assert "my.yaml:18: items[1].reverse: Input should be a valid boolean" in str(exc.value)


def test_unknown_scale_reference_is_explained():
    broken = GOOD.replace(
        "{id: toy_3, label: third, scale: agree5}", "{id: toy_3, label: third, scale: agree7}"
    )
    with pytest.raises(
        DefinitionError, match="item toy_3 uses scale 'agree7'; declared scales: \\['agree5'\\]"
    ):
        parse_definition(broken, "x.yaml")


def test_sum_with_missing_tolerance_is_refused():
    broken = GOOD.replace("method: prorated_sum", "method: sum")
    with pytest.raises(DefinitionError, match="method 'sum' cannot tolerate missing items"):
        parse_definition(broken, "x.yaml")


def test_unverified_key_must_say_what_is_uncertain():
    broken = GOOD.replace("verified: true}", "verified: false}")
    with pytest.raises(DefinitionError, match="must list what is uncertain"):
        parse_definition(broken, "x.yaml")


def test_unverified_key_produces_warnings():
    text = GOOD.replace("verified: true}", "verified: false, uncertain: [item 2 direction]}")
    inst = parse_definition(text, "x.yaml")
    assert inst.warnings == ["toy-4: scoring key not verified: item 2 direction"]


def test_yaml_syntax_error_names_line():
    with pytest.raises(DefinitionError, match=r"bad.yaml:2: not valid YAML"):
        parse_definition("id: x\n\tname: tab-indented\n", "bad.yaml")


def test_schema_file_is_current():
    committed = json.loads((ROOT / "instruments" / "schema.json").read_text())
    assert committed == json.loads(json.dumps(json_schema())), (
        "instruments/schema.json is stale: run `psyscore instruments schema -o instruments/schema.json`"
    )


BUILTINS = library.builtin_ids()


@pytest.mark.parametrize("ref", BUILTINS)
def test_builtin_definition_passes_its_golden_examples(ref):
    defn = library.load(ref)
    if isinstance(defn, Bundle):
        assert all(library.load(m) for m in defn.instruments)
        return
    assert len(defn.examples) >= 3, "every built-in needs at least three golden examples"
    assert check_examples(defn) == []


@pytest.mark.parametrize("ref", BUILTINS)
def test_builtin_ships_no_verbatim_item_text_unless_licensed(ref):
    defn = library.load(ref)
    if isinstance(defn, Bundle) or defn.licence.item_text_shipped:
        return
    assert all(item.text is None for item in defn.items)


@pytest.mark.parametrize("ref", BUILTINS)
def test_builtin_examples_include_missing_answers(ref):
    defn = library.load(ref)
    if isinstance(defn, Bundle):
        return
    assert any(
        len(ex.answers) < len(defn.item_ids) or any(v is None for v in ex.answers.values())
        for ex in defn.examples
    ), "at least one golden example must have missing answers"


def test_generated_docs_are_current(tmp_path):
    from typer.testing import CliRunner

    from psyscore.cli import app

    result = CliRunner().invoke(app, ["instruments", "docs", "-o", str(tmp_path)])
    assert result.exit_code == 0
    committed = ROOT / "docs" / "instruments"
    for page in sorted(tmp_path.glob("*.md")):
        assert (committed / page.name).read_text() == page.read_text(), (
            f"docs/instruments/{page.name} is stale: run `psyscore instruments docs -o docs/instruments`"
        )
    assert sorted(p.name for p in committed.glob("*.md")) == sorted(
        p.name for p in tmp_path.glob("*.md")
    )


def test_missing_rule_needing_more_items_than_the_score_has_is_refused(tmp_path):
    from psyscore.instrument import load_definition

    text = (DATA / "toy.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    # a rule that could never be met would score nobody while calling them "scored"
    bad.write_text(text.replace("missing: {max_missing: 1}", "missing: {min_answered: 9}", 1))
    with pytest.raises(DefinitionError, match="needs 9 answered items, but the score has only 4"):
        load_definition(bad)
