"""A per-score `reverse:` list (psych's -A1 keys): an item reversed in one score, forward in another."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import psyscore
from psyscore.cli import app
from psyscore.errors import DefinitionError
from psyscore.instrument import json_schema, parse_definition
from psyscore.psychometrics import analyse_scale

from .conftest import DATA

DEFINITION = DATA / "per_score_reverse.yaml"
runner = CliRunner()

BASE = """
id: mini
name: Mini scale
construct: other
citation: test
licence: {status: public-domain}
key: {source: test, verified: true}
response_scales:
  s: {values: {1: low, 2: mid, 3: high}}
items:
  - {id: m_1, label: one, scale: s}
  - {id: m_2, label: two, scale: s}
  - {id: m_3, label: three, scale: s}
scores:
"""


@pytest.fixture(scope="module")
def inst():
    return psyscore.load(str(DEFINITION))


def test_golden_examples_key_each_score_by_its_own_list():
    result = runner.invoke(app, ["instruments", "validate", str(DEFINITION)])
    assert result.exit_code == 0, result.output
    assert "2 examples pass" in result.output


def test_batch_scores_use_the_score_keys(inst):
    df = pd.DataFrame({"q1": [1, 5, 2], "q2": [3, 4, 2], "q3": [3, 4, 1], "q4": [2, 5, 4]})
    table = psyscore.score_table(df, [inst]).table
    # a = (6 - q1) + q2 + q3; b = q1 + (6 - q4); c = q2 + q4 (q4 forward here)
    np.testing.assert_array_equal(table["psk_a"], [11, 9, 7])
    np.testing.assert_array_equal(table["psk_b"], [5, 6, 4])
    np.testing.assert_array_equal(table["psk_c"], [5, 9, 6])
    np.testing.assert_array_equal(table["psk_ab"], [16, 15, 11])
    assert inst.reversed_items("a") == ["q1"]
    assert inst.reversed_items("b") == ["q4"]
    assert inst.reversed_items("c") == []
    assert inst.keys_differ_between_scores


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # c's two items are uncorrelated
def test_reliability_keys_items_per_score(inst):
    rng = np.random.default_rng(5)
    latent = rng.normal(size=400)
    raw = {f"q{i}": np.clip(np.round(3 + latent + rng.normal(size=400)), 1, 5) for i in (2, 3)}
    raw["q1"] = np.clip(np.round(3 - latent + rng.normal(size=400)), 1, 5)  # a reversed item
    raw["q4"] = np.clip(np.round(3 + rng.normal(size=400)), 1, 5)
    df = pd.DataFrame(raw)
    summary, items = psyscore.reliability(df, inst)
    alpha = summary.set_index("score")["alpha"]
    keyed_a = df[["q1", "q2", "q3"]].assign(q1=6 - df["q1"])
    assert alpha["psk_a"] == pytest.approx(analyse_scale(keyed_a).summary["alpha"], abs=1e-12)
    keyed_b = df[["q1", "q4"]].assign(q4=6 - df["q4"])
    assert alpha["psk_b"] == pytest.approx(analyse_scale(keyed_b).summary["alpha"], abs=1e-12)
    assert alpha["psk_c"] == pytest.approx(
        analyse_scale(df[["q2", "q4"]]).summary["alpha"], abs=1e-12
    )
    # q1 keyed as in a: no "may be mis-keyed" warning there
    a_items = items[items["score"] == "psk_a"].set_index("item")
    assert a_items.loc["q1", "r_drop"] > 0


def test_show_prints_the_keys_of_each_score():
    result = runner.invoke(app, ["instruments", "show", str(DEFINITION)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "in a only" in text  # q1 in the item table
    assert "reverse-keyed in this score: q1" in text
    assert "reverse-keyed in this score: none" in text


def test_a_listed_item_must_be_one_of_the_score_items():
    text = BASE + "  t: {label: T, items: [m_1, m_2], reverse: [m_3]}\n"
    with pytest.raises(DefinitionError) as exc:
        parse_definition(text, "mini.yaml")
    message = str(exc.value)
    assert "scores.t.reverse" in message or "reverse" in message
    assert "'m_3', which is not one of its items (m_1, m_2)" in message
    assert "mini.yaml:" in message


def test_a_misspelt_listed_item_gets_a_suggestion():
    text = BASE + "  t: {label: T, items: [m_1, m_2], reverse: [m_22]}\n"
    with pytest.raises(DefinitionError, match="did you mean m_2"):
        parse_definition(text, "mini.yaml")


def test_reverse_on_a_composite_or_twice_is_refused():
    composite = (
        BASE
        + "  t: {label: T, items: [m_1, m_2]}\n"
        + "  u: {label: U, scores: [t], reverse: [m_1]}\n"
    )
    with pytest.raises(DefinitionError, match="belongs to a score of items"):
        parse_definition(composite, "mini.yaml")
    twice = BASE + "  t: {label: T, items: [m_1, m_2], reverse: [m_1, m_1]}\n"
    with pytest.raises(DefinitionError, match="same item twice"):
        parse_definition(twice, "mini.yaml")


def test_schema_describes_the_reverse_list():
    schema = json_schema()
    field = schema["$defs"]["Score"]["properties"]["reverse"]
    assert "-A1" in field["description"]


def test_spss_syntax_keys_each_score_by_its_own_list(tmp_path, inst):
    from psyscore.io.sps_syntax import spss_syntax

    text = spss_syntax([inst], {"per-score-keys": ["q1", "q2", "q3", "q4"]}, source_name="x")
    compact = " ".join(text.split())
    assert "COMPUTE #psk_k1 = (1 + 5) - " in compact  # q1 reversed (for a)
    lines = text.splitlines()
    assert "COMPUTE psk_a = MEAN.2(#psk_k1, #psk_i2, #psk_i3) * 3." in lines
    assert "COMPUTE psk_b = MEAN.1(#psk_i1, #psk_k4) * 2." in lines
    c_lines = [line for line in lines if line.startswith("COMPUTE psk_c ")]
    assert c_lines and all("#psk_k4" not in line for line in c_lines)


def test_intake_range_with_a_missing_item_follows_each_score_keys(inst):
    from psyscore.intake import score_form

    result = score_form([inst], {"q1": None, "q2": 3, "q3": 3, "q4": 2})
    scores = {s.name: s for s in result.instruments[0].scores}
    # q1 missing: a (q1 reversed) is prorated; the range comes from its own keys
    assert (scores["a"].range.low, scores["a"].range.high) == (7, 11)  # (6 - q1) + 6
    assert (scores["b"].range.low, scores["b"].range.high) == (5, 9)  # q1 + (6 - 2)
    # a + b keys q1 both ways: no single answer bounds it, so no range rather than a wrong one
    assert scores["ab"].range is None


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_overlap_correction_uses_signed_keys_as_psych_score_overlap(tmp_path):
    """An item shared with opposite keys counts -1 in psych::scoreOverlap's key overlap."""
    import json

    rng = np.random.default_rng(11)
    latent = rng.normal(size=300)
    raw = pd.DataFrame(
        {
            "q1": np.clip(np.round(3 - latent + rng.normal(size=300)), 1, 5),
            "q2": np.clip(np.round(3 + latent + rng.normal(size=300)), 1, 5),
            "q3": np.clip(np.round(3 + latent + rng.normal(size=300)), 1, 5),
            "q4": np.clip(np.round(3 + 0.5 * latent + rng.normal(size=300)), 1, 5),
        }
    )
    data = tmp_path / "d.csv"
    raw.to_csv(data, index=False)
    result = runner.invoke(app, ["reliability", str(data), "-i", str(DEFINITION), "--json"])
    assert result.exit_code == 0, result.output
    overlap = json.loads(result.stdout)["overlap"]
    assert overlap["scores"] == ["psk_a", "psk_b", "psk_c"]
    # psych::scoreOverlap(keys, cor(raw)) by hand: signed keys on the raw items
    K = np.array([[-1, 1, 0], [1, 0, 1], [1, 0, 0], [0, -1, 1]], dtype=float)
    R = raw.corr().to_numpy()
    S = K.T @ R @ K
    var, k = np.diag(S), np.abs(K).sum(axis=0)
    alpha = (var - k) / var * k / (k - 1)
    av_r = alpha / (k - alpha * (k - 1))
    shared = K.T @ K
    adjusted = S - shared + shared * np.sqrt(np.outer(av_r, av_r))
    np.fill_diagonal(adjusted, var)
    expected = adjusted / np.sqrt(np.outer(var, var))
    np.testing.assert_allclose(np.array(overlap["cor"]), expected, atol=1e-12)
    assert overlap["shared_items"][0][1] == -1  # q1: -1 in a, +1 in b


def test_redcap_calc_fields_key_each_score_by_its_own_list(inst):
    from psyscore.exchange.redcap import calc_expression

    fields = {i: i for i in ("q1", "q2", "q3", "q4")}
    a = calc_expression(inst, "a", fields, {})
    b = calc_expression(inst, "b", fields, {})
    assert "(6-[q1])" in a and "(6-[q1])" not in b
    assert "(6-[q4])" in b
    assert "(6-[q4])" not in calc_expression(inst, "c", fields, {})
