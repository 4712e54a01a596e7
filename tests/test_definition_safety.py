"""Hostile or careless definitions (issue 10): refused fast, with one clear line naming field and line."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from psyscore import library
from psyscore.cli import app
from psyscore.errors import DefinitionError
from psyscore.instrument import Bundle, Instrument, load_definition, parse_definition
from psyscore.yamlsafe import load_yaml

from .conftest import DATA

GOOD = (DATA / "toy.yaml").read_text()


def billion_laughs(levels: int = 9) -> str:
    """Nine levels of nine aliases each: about 10^9 values from twelve short lines."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def _refused_quickly(text: str, match: str) -> DefinitionError:
    start = time.perf_counter()
    with pytest.raises(DefinitionError, match=match) as exc:
        parse_definition(text, "bomb.yaml")
    assert time.perf_counter() - start < 0.5
    return exc.value


# ---- 1. alias bombs --------------------------------------------------------------------------


def test_alias_bomb_in_a_definition_is_refused_at_once():
    text = GOOD.replace("notes", "x-notes") + "\n" + billion_laughs().replace("l0:", "notes:", 1)
    error = _refused_quickly(text, r"bomb\.yaml:\d+: aliases expand this file")
    assert "alias bomb" in str(error)


def test_alias_bomb_as_the_whole_definition_is_refused_at_once():
    _refused_quickly(billion_laughs(), "aliases expand this file")


def test_alias_bomb_through_merge_keys_is_refused():
    lines = ["m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9, j: 10}"]
    for i in range(1, 9):
        members = ", ".join(f"k{j}: *m{i - 1}" for j in range(10))
        lines.append(f"m{i}: &m{i} {{{members}}}")
    _refused_quickly("\n".join(lines) + "\n", "aliases expand this file")


def test_recursive_alias_is_refused():
    _refused_quickly("id: x\nloop: &me [1, *me]\n", "bomb.yaml:2: an alias refers to the list")


def test_deep_nesting_is_one_line_not_a_recursion_error():
    _refused_quickly("id: x\nitems: " + "[" * 150 + "]" * 150 + "\n", "nested|YAML")


def test_a_few_anchors_and_aliases_still_work():
    text = GOOD.replace("  agree5:\n    values:", "  agree5: &agree\n    values:", 1).replace(
        "items:\n", "  agree5_again: *agree\nitems:\n", 1
    )
    inst = parse_definition(text, "ok.yaml")
    assert inst.response_scales["agree5_again"] == inst.response_scales["agree5"]


# ---- 2. duplicate keys ----------------------------------------------------------------------


def test_duplicate_score_is_refused_with_both_lines():
    text = GOOD.replace("  combo:\n", "  total:\n    label: again\n    items: [toy_1]\n  combo:\n")
    with pytest.raises(DefinitionError) as exc:
        parse_definition(text, "dup.yaml")
    message = str(exc.value)
    assert "dup.yaml:41: duplicate key 'total' (lines 28 and 41)" in message


def test_duplicate_flag_in_a_flow_mapping_is_refused():
    text = GOOD.replace(
        "scale: agree5, reverse: true}", "scale: agree5, reverse: true, reverse: false}"
    )
    with pytest.raises(
        DefinitionError, match=r"dup.yaml:18: duplicate key 'reverse' \(lines 18 and 18\)"
    ):
        parse_definition(text, "dup.yaml")


def test_numeric_keys_that_are_equal_are_duplicates():
    text = GOOD.replace("{1: Strongly disagree,", "{1: Strongly disagree, 1.0: Also one,")
    with pytest.raises(DefinitionError, match="duplicate key '1.0'"):
        parse_definition(text, "dup.yaml")


def test_merge_key_overridden_by_an_explicit_key_is_not_a_duplicate():
    text = GOOD.replace(
        "  - {id: toy_3, label: third, scale: agree5}",
        "  - &third {id: toy_3, label: third, scale: agree5}",
    ).replace("scores:\n", "  - {<<: *third, id: toy_5}\nscores:\n", 1)
    inst = parse_definition(text, "merge.yaml")
    assert inst.item_ids[-1] == "toy_5"


# ---- 3. bands and norms that cannot be right --------------------------------------------------


@pytest.mark.parametrize("bound", [".inf", ".nan", "-.inf"])
def test_non_finite_band_bound_is_refused(bound):
    text = GOOD.replace("{upto: 14, label: middle}", f"{{upto: {bound}, label: middle}}")
    with pytest.raises(
        DefinitionError, match=r"x.yaml:36: scores.total.bands\[0\].bands\[1\].upto"
    ):
        parse_definition(text, "x.yaml")


def test_bands_that_stop_below_the_score_maximum_are_refused():
    text = GOOD.replace("{upto: 20, label: high}", "{upto: 18, label: high}")
    with pytest.raises(DefinitionError) as exc:
        parse_definition(text, "x.yaml")
    message = str(exc.value)
    assert "x.yaml:36:" in message
    assert "scores.total.bands[0]" in message
    assert "ends at 18" in message and "20" in message


def test_bands_may_reach_beyond_the_maximum():
    parse_definition(GOOD.replace("{upto: 20, label: high}", "{upto: 99, label: high}"), "x.yaml")


@pytest.mark.parametrize(
    "norm, field",
    [
        ("mean: .nan, sd: 4", "mean"),
        ("mean: .inf, sd: 4", "mean"),
        ("mean: 12, sd: .inf", "sd"),
        ("mean: 12, sd: .nan", "sd"),
        ("mean: 12, sd: 5.0e-324", "sd"),
        ("mean: 12, sd: 1.0e-310", "sd"),
    ],
)
def test_norms_that_give_infinite_z_are_refused(norm, field):
    text = GOOD.replace("mean: 12, sd: 4", norm)
    with pytest.raises(DefinitionError, match=rf"x.yaml:40: scores.total.norms\[0\].{field}"):
        parse_definition(text, "x.yaml")


def test_norm_sd_so_small_that_z_overflows_on_the_score_range_is_refused():
    text = GOOD.replace("mean: 12, sd: 4", "mean: 12, sd: 1.0e-307")
    with pytest.raises(DefinitionError, match=r"x.yaml:40: scores.total.norms\[0\].*infinite"):
        parse_definition(text, "x.yaml")


@pytest.mark.parametrize("code", [".nan", ".inf"])
def test_non_finite_answer_code_is_refused(code):
    text = GOOD.replace("{1: Strongly disagree,", f"{{{code}: Odd, 1: Strongly disagree,")
    with pytest.raises(DefinitionError, match="response_scales.agree5.values.*finite"):
        parse_definition(text, "x.yaml")


@pytest.mark.parametrize("ref", library.builtin_ids())
def test_every_builtin_still_validates(ref):
    path = library.builtin_dir() / f"{ref}.yaml"
    assert isinstance(load_definition(path), Instrument | Bundle)


# ---- 4. item ids that one data column would match alike -----------------------------------


def test_item_ids_that_normalise_alike_are_refused():
    text = GOOD.replace("id: toy_1,", "id: q-1,").replace("id: toy_2,", "id: q_1,")
    text = text.replace("toy_1", "q-1").replace("toy_2", "q_1")
    with pytest.raises(DefinitionError) as exc:
        parse_definition(text, "x.yaml")
    message = str(exc.value)
    assert "q-1" in message and "q_1" in message and "x.yaml:18:" in message


# ---- 5. not a definition at all --------------------------------------------------------------


def _one_line(output: str) -> str:
    """The terminal output with rich's line wrapping undone."""
    return " ".join(output.split())


def _validate(*args: str):
    return CliRunner().invoke(app, ["instruments", "validate", *args])


@pytest.mark.parametrize(
    "content, message",
    [
        ("?\n", "top-level keys must be field names such as id, name, items and scores, not None"),
        ("", "is empty"),
        ("- a\n- b\n", "a definition must be a YAML mapping"),
        ("just text\n", "a definition must be a YAML mapping"),
        ("1: one\n2: two\n", "top-level keys must be field names"),
        ("id: x\n? [a, b]\n: c\n", "x.yaml:2: not valid YAML"),
        ("id: x\nname: " + "9" * 5000 + "\n", "x.yaml:2: a number with 5000 characters"),
        ("id: x\nwhen: 2001-13-45\n", "a value cannot be read"),
        ("id: x\n\x00\n", "not valid YAML"),
    ],
)
def test_hostile_definition_is_one_clear_error(tmp_path, content, message):
    path = tmp_path / "x.yaml"
    path.write_text(content, encoding="utf-8")
    result = _validate(str(path))
    assert result.exit_code == 2, result.output
    assert message in _one_line(result.output)
    assert "Traceback" not in result.output


def test_binary_file_is_one_clear_error(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_bytes(bytes(range(128, 256)) * 4)
    result = _validate(str(path))
    assert result.exit_code == 2 and "not UTF-8 text" in _one_line(result.output)


def test_folder_is_one_clear_error(tmp_path):
    folder = tmp_path / "defs.yaml"
    folder.mkdir()
    result = _validate(str(folder))
    assert result.exit_code == 2
    assert "is a folder" in _one_line(result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_folder_given_to_library_load_is_a_usage_error(tmp_path):
    from psyscore.errors import UsageError

    with pytest.raises(UsageError, match="is a folder"):
        library.load(tmp_path)


def test_alias_bomb_does_not_hang_the_cli(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(billion_laughs(), encoding="utf-8")
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from psyscore.cli import main; main()",
            "instruments",
            "validate",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "aliases expand this file" in proc.stdout
    assert time.perf_counter() - start < 30


# ---- 6. cross-reference errors point at the entry; misspelt fields get a suggestion -------------


def test_unknown_scale_points_at_the_item_line():
    text = GOOD.replace(
        "{id: toy_3, label: third, scale: agree5}", "{id: toy_3, label: third, scale: agree7}"
    )
    with pytest.raises(DefinitionError, match=r"x.yaml:19: items\[2\].scale: .*agree7"):
        parse_definition(text, "x.yaml")


def test_unknown_item_in_a_score_points_at_the_score_line():
    text = GOOD.replace("items: [toy_1, toy_2, toy_3]\n", "items: [toy_1, toy_2, toy_9]\n", 1)
    with pytest.raises(
        DefinitionError, match=r"x.yaml:24: scores.part.items\[2\]: .*toy_9.*did you mean"
    ):
        parse_definition(text, "x.yaml")


def test_unknown_member_score_points_at_the_composite_line():
    text = GOOD.replace("scores: [part, total]", "scores: [part, totl]")
    with pytest.raises(DefinitionError, match=r"x.yaml:43: scores.combo.scores\[1\]: .*'totl'"):
        parse_definition(text, "x.yaml")


def test_example_answering_unknown_item_points_at_the_example():
    text = GOOD.replace("answers: {toy_1: 3,", "answers: {toy_9: 3, toy_1: 3,", 1)
    with pytest.raises(DefinitionError, match=r"x.yaml:\d\d: examples\[0\].answers.*toy_9"):
        parse_definition(text, "x.yaml")


def test_misspelt_field_suggests_the_right_name():
    text = GOOD.replace("missing: {min_answered: 2}", "missing: {min_answerd: 2}")
    with pytest.raises(DefinitionError) as exc:
        parse_definition(text, "x.yaml")
    message = str(exc.value)
    assert "x.yaml:26: scores.part.missing.min_answerd" in message
    assert "did you mean min_answered?" in message
    assert "max_missing" in message  # the allowed names are listed


def test_misspelt_top_level_field_suggests_the_right_name():
    text = GOOD.replace("column_prefixes:", "column_prefix:")
    with pytest.raises(DefinitionError, match="did you mean column_prefixes"):
        parse_definition(text, "x.yaml")


# ---- 7. validate warns about a definition without golden examples -------------------------------


def test_validate_warns_but_passes_without_golden_examples(tmp_path):
    text = GOOD.split("examples:")[0]
    path = tmp_path / "noex.yaml"
    path.write_text(text, encoding="utf-8")
    result = _validate(str(path))
    assert result.exit_code == 0, result.output
    assert "warning" in result.output and "no golden examples" in _one_line(result.output)
    assert "examples:" in result.output  # says how to add one


def test_nesting_stacked_through_aliases_is_refused():
    lines = ["a0: &a0 " + "[" * 40 + "1" + "]" * 40]
    for i in range(1, 6):
        lines.append(f"a{i}: &a{i} " + "[" * 30 + f"*a{i - 1}" + "]" * 30)
    _refused_quickly("\n".join(lines) + "\n", "nested more than 100 levels")


# ---- the safe loader reads ordinary YAML exactly as PyYAML does ------------------------------


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
_documents = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)


@given(_documents)
def test_load_yaml_agrees_with_pyyaml_on_ordinary_documents(document):
    text = yaml.safe_dump(document, allow_unicode=True)
    assert load_yaml(text)[0] == yaml.safe_load(text)
