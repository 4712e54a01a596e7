"""Issue 10, "No silent wrong number": how the engine treats answers that are not what they seem.

Each test here failed on the engine before the fix: invalid answers scored as missing, shifted
codings let through, published anchor wordings not recognised, blank critical items reported as
denied, means stored rounded, a reset index, a silent norm fallback, prorated sums out of range.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from psyscore import load
from psyscore.batch import score_table
from psyscore.columns import output_columns
from psyscore.errors import DataError, DefinitionError, UsageError
from psyscore.instrument import ResponseScale, parse_definition
from psyscore.responses import FileMissing, resolve
from psyscore.scoring import score

from .conftest import DATA

TOY_TEXT = (DATA / "toy.yaml").read_text()


def k10_rows(rows: list[list[float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[f"k10_{i}" for i in range(1, 11)])


# ---- 1. invalid is not missing ---------------------------------------------------------------


def test_invalid_answer_means_no_score_no_band_no_norms(toy):
    table = pd.DataFrame(
        [
            {"toy_1": 3, "toy_2": 3, "toy_3": 33, "toy_4": 3},
            {"toy_1": 3, "toy_2": 3, "toy_3": None, "toy_4": 3},
        ]
    )
    result = score_table(table, [toy])
    out = result.table
    # row 1: an invalid answer; row 2: a blank, prorated as before
    assert math.isnan(out["toy_total"].iloc[0]) and out["toy_total"].iloc[1] == 12.0
    assert out["toy_total_status"].iloc[0] == "not scored: invalid answer in toy_3"
    assert out["toy_total_status"].iloc[1] == "prorated"
    assert pd.isna(out["toy_total_band"].iloc[0]) and pd.isna(out["toy_total_band_cut"].iloc[0])
    assert math.isnan(out["toy_total_z"].iloc[0]) and math.isnan(out["toy_total_t"].iloc[0])
    assert out["toy_part_status"].iloc[0] == "not scored: invalid answer in toy_3"
    # a composite of a score that is not scored is not scored, and says why
    assert math.isnan(out["toy_combo"].iloc[0])
    assert out["toy_combo_status"].iloc[0] == "not scored: invalid answer in toy_3"
    (problem,) = result.problems
    assert problem.kind == "out_of_range" and problem.value == "33"
    assert "treated as missing" not in problem.message
    assert "no score that uses toy_3 is given for this row" in problem.message


def test_status_categories_stay_bounded(toy):
    rows = [{"toy_1": v, "toy_2": 3, "toy_3": 3, "toy_4": 3} for v in (0, 6, 7, 8, 10, 33, "x")]
    out = score_table(pd.DataFrame(rows).astype(object), [toy]).table
    status = out["toy_total_status"]
    assert set(status) == {"not scored: invalid answer in toy_1"}
    # one category per count of answered items below the rule, plus one per item
    assert len(status.cat.categories) <= 2 + 3 + 4


def test_first_invalid_item_is_named(toy):
    rows = [{"toy_1": 3, "toy_2": 0, "toy_3": 3, "toy_4": 7}]
    out = score_table(pd.DataFrame(rows), [toy]).table
    assert out["toy_total_status"].iloc[0] == "not scored: invalid answer in toy_2"
    # toy_4 is not an item of part, so part names toy_2 too
    assert out["toy_part_status"].iloc[0] == "not scored: invalid answer in toy_2"


def test_invalid_as_missing_restores_proration_and_says_so(toy):
    table = pd.DataFrame([{"toy_1": 3, "toy_2": 3, "toy_3": 33, "toy_4": 3}])
    result = score_table(table, [toy], invalid_as_missing=True)
    assert result.table["toy_total"].tolist() == [12.0]
    assert result.table["toy_total_status"].tolist() == ["prorated"]
    assert any("--invalid-as-missing" in w and "1 invalid answer" in w for w in result.warnings)
    assert "treated as missing" in result.problems[0].message
    strict = score_table(table, [toy])
    assert not any("invalid-as-missing" in w for w in strict.warnings)


def test_declared_and_file_missing_codes_are_still_missing(toy):
    table = pd.DataFrame(
        [
            {"toy_1": 3, "toy_2": 3, "toy_3": -99, "toy_4": 3},
            {"toy_1": 3, "toy_2": 3, "toy_3": "Prefer not to say", "toy_4": 3},
            {"toy_1": 3, "toy_2": 3, "toy_3": 8, "toy_4": 3},  # SPSS user-missing 8
        ]
    ).astype(object)
    fm = FileMissing(values={"toy_3": {8: "skipped"}})
    result = score_table(table, [toy], file_missing=fm)
    assert result.problems == []
    assert result.table["toy_total_status"].tolist() == ["prorated"] * 3
    assert result.table["toy_total"].tolist() == [12.0] * 3


def test_k10_invalid_zero_names_the_item():
    rows = [[2, 2, 0, 2, 2, 2, 2, 2, 2, 5]]
    out = score_table(k10_rows(rows), [load("k10")]).table
    assert out["k10_total_status"].iloc[0] == "not scored: invalid answer in k10_3"
    assert pd.isna(out["k10_total_band"].iloc[0])


def test_cli_invalid_as_missing(tmp_path):
    from typer.testing import CliRunner

    from psyscore.cli import app

    data = tmp_path / "toy.csv"
    pd.DataFrame([{"toy_1": 3, "toy_2": 3, "toy_3": 33, "toy_4": 3}]).to_csv(data, index=False)
    toy = str(DATA / "toy.yaml")
    strict = tmp_path / "strict.csv"
    loose = tmp_path / "loose.csv"
    runner = CliRunner()
    r1 = runner.invoke(app, ["score", str(data), "-i", toy, "-o", str(strict)])
    r2 = runner.invoke(
        app, ["score", str(data), "-i", toy, "-o", str(loose), "--invalid-as-missing"]
    )
    assert r1.exit_code == 1 and r2.exit_code == 1, (r1.output, r2.output)
    assert pd.isna(pd.read_csv(strict)["toy_total"].iloc[0])
    assert pd.read_csv(loose)["toy_total"].iloc[0] == 12.0
    assert "invalid-as-missing" in r2.output


# ---- 2. codings shifted either way ------------------------------------------------------------


def test_k10_coded_0_4_stops_with_the_us_fix():
    rows = [[0, 1, 0, 2, 1, 0, 0, 1, 3, 0], [1, 1, 2, 0, 4, 1, 0, 0, 2, 1]]
    with pytest.raises(DataError) as err:
        score_table(k10_rows(rows), [load("k10")])
    text = str(err.value)
    assert "US 0-4 coding" in text and "-i k10-us" in text and "--map" in text
    assert "k10_1: {recode: &r1 {0: 1, 1: 2, 2: 3, 3: 4, 4: 5}}" in text
    # and the advice works as given: the same columns score with -i k10-us
    us = score_table(k10_rows(rows), [load("k10-us")]).table["k10us_total"]
    assert us.tolist() == [8.0, 12.0]


def test_k10_us_coded_1_5_stops_with_the_australian_fix():
    rows = [[1, 2, 1, 3, 2, 1, 1, 2, 4, 5], [2, 2, 3, 1, 5, 2, 1, 1, 3, 2]]
    data = k10_rows(rows).rename(columns=lambda c: c.replace("k10_", "k10us_"))
    with pytest.raises(DataError) as err:
        score_table(data, [load("k10-us")])
    assert "-i k10" in str(err.value)
    # k10 does not claim k10us_ columns (files holding both would be ambiguous): map them
    renamed = data.rename(columns=lambda c: c.replace("k10us_", "k10_"))
    assert score_table(renamed, [load("k10")]).table["k10_total"].tolist() == [22.0, 22.0]


@pytest.mark.parametrize(
    ("ref", "lo", "hi"), [("cmni-30", 1, 4), ("atspph-sf", 1, 4), ("mdrs-22", 1, 8)]
)
def test_plus_one_codings_are_caught_with_two_respondents(ref, lo, hi):
    inst = load(ref)
    rng = np.random.default_rng(3)
    data = pd.DataFrame({it.id: rng.integers(lo + 1, hi, 2).astype(float) for it in inst.items})
    data.iloc[0, 0] = hi  # the top shifted code occurs twice, the bottom code 0 never
    data.iloc[1, 1] = hi
    with pytest.raises(DataError, match="coding"):
        score_table(data, [inst])


def test_minus_one_with_labels_that_are_not_anchors():
    # Value labels in another language: they cannot confirm the codes, so the numbers decide
    rows = [[0, 1, 0, 2, 1, 0, 0, 1, 3, 0], [1, 1, 2, 0, 4, 1, 0, 0, 2, 1]]
    labels = {f"k10_{i}": {0: "nunca", 1: "poco", 4: "siempre"} for i in range(1, 11)}
    with pytest.raises(DataError, match="US 0-4 coding"):
        score_table(k10_rows(rows), [load("k10")], value_labels=labels)


def test_numbers_shifted_under_agreeing_labels_are_caught():
    rows = [[0, 1, 0, 2, 1, 0, 0, 1, 3, 0], [1, 1, 2, 0, 4, 1, 0, 0, 2, 1]]
    labels = {f"k10_{i}": {1: "None of the time", 5: "All of the time"} for i in range(1, 11)}
    with pytest.raises(DataError, match="US 0-4 coding"):
        score_table(k10_rows(rows), [load("k10")], value_labels=labels)


def test_labels_shifted_down_name_the_alternative_coding():
    rows = [[1, 1, 1, 2, 1, 1, 1, 1, 3, 1]]
    anchors = ["None of the time", "A little of the time", "Some of the time", "Most of the time"]
    labels = {f"k10_{i}": {c: a for c, a in enumerate(anchors)} for i in range(1, 11)}
    with pytest.raises(DataError) as err:
        score_table(k10_rows(rows), [load("k10")], value_labels=labels)
    assert "-i k10-us" in str(err.value)


@pytest.mark.parametrize(
    "rows",
    [
        [[1, 2, 1, 1, 2, 1, 1, 1, 2, 1]],  # one respondent, only low codes: evidence of nothing
        [[1, 2, 1, 1, 2, 0, 1, 1, 2, 1]],  # one 0: a typo, the row is not scored
        [[1, 2, 1, 1, 2, 0, 1, 1, 2, 5], [1, 0, 1, 1, 2, 1, 1, 1, 2, 1]],  # top code used
    ],
)
def test_no_false_alarm(rows):
    result = score_table(k10_rows(rows), [load("k10")])
    assert not any(p.kind == "recode_mismatch" for p in result.problems)


def test_invalid_hint_mentions_the_alternative_coding():
    rows = [[1, 2, 1, 1, 2, 0, 1, 1, 2, 1]]
    result = score_table(k10_rows(rows), [load("k10")])
    (problem,) = result.problems
    assert "k10-us" in problem.hint


def test_alternative_codings_are_declared():
    assert [(c.shift, c.use) for c in load("k10").alternative_codings] == [(-1, "k10-us")]
    assert [(c.shift, c.use) for c in load("k10-us").alternative_codings] == [(1, "k10")]
    for ref in ("cmni-30", "atspph-sf", "mdrs-22"):
        assert [c.shift for c in load(ref).alternative_codings] == [1]


def test_alternative_coding_shift_must_not_be_zero():
    bad = TOY_TEXT.replace(
        "missing_codes: {9: refused",
        "alternative_codings: [{shift: 0, name: same}]\nmissing_codes: {9: refused",
    )
    with pytest.raises(DefinitionError, match="shift"):
        parse_definition(bad, "x.yaml")


# ---- 3. published anchor wording -------------------------------------------------------------


def test_ssosh_and_tas20_published_anchor_wording():
    ssosh = load("ssosh")
    answers = {f"ssosh_{i}": "Agree & Disagree Equally" for i in range(1, 11)}
    out = score_table(pd.DataFrame([answers]), [ssosh])
    assert out.problems == [] and out.table["ssosh_total"].iloc[0] == 30
    tas = load("tas-20")
    answers = {f"tas20_{i}": "Neither Disagree nor Agree" for i in range(1, 21)}
    out = score_table(pd.DataFrame([answers]), [tas])
    assert out.problems == [] and out.table["tas20_total"].iloc[0] == 60


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Nearly every day.", 3),
        ("  more   than HALF the days ", 2),
        ("Several-days", 1),
        ("not at all!", 0),
    ],
)
def test_text_answers_ignore_punctuation_and_spacing(text, code):
    phq = load("phq-9")
    items, problems = resolve(phq, pd.DataFrame({"phq9_1": [text]}))
    assert [p for p in problems if p.kind != "missing_column"] == []
    assert items.codes[0, 0] == code


def test_curly_apostrophe_in_missing_text():
    phq = load("phq-9")
    items, problems = resolve(phq, pd.DataFrame({"phq9_1": ["Don\u2019t know"]}))
    assert [p for p in problems if p.kind != "missing_column"] == []
    assert items.reasons[items.reason[0, 0]] == "don't know"


def test_value_labels_with_published_wording_confirm_the_codes():
    ssosh = load("ssosh")
    data = pd.DataFrame({f"ssosh_{i}": [1, 3, 5] for i in range(1, 11)})
    labels = {
        c: {1: "Strongly Disagree", 2: "Disagree", 3: "Agree & Disagree Equally", 4: "Agree"}
        for c in data.columns
    }
    assert score_table(data, [ssosh], value_labels=labels).problems == []
    shifted = {c: {0: "Strongly Disagree", 2: "Agree & Disagree Equally"} for c in data.columns}
    with pytest.raises(DataError, match=r"ssosh_1: \{recode: &r1 \{0: 1, 2: 3\}\}"):
        score_table(data, [ssosh], value_labels=shifted)


def test_numbers_written_as_text_never_match_a_label_by_normalisation():
    mdrs = load("mdrs-22")  # anchors "1" .. "6" are labels of codes 1 .. 6
    items, problems = resolve(mdrs, pd.DataFrame({"mdrs22_1": ["-1", "1"]}))
    assert math.isnan(items.codes[0, 0]) and items.codes[1, 0] == 1
    assert [p.value for p in problems if p.kind == "unrecognised_answer"] == ["-1"]


@pytest.mark.parametrize(
    "scale",
    [
        {"values": {1: "Agree", 2: "agree."}},
        {"values": {1: "Agree and disagree", 2: "Agree & disagree"}},
        {"values": {1: "Agree", 2: "Disagree"}, "aliases": {"dis-agree": 1, "DISAGREE": 1}},
        {"values": {1: "Agree", 2: "Disagree"}, "missing": {"AGREE!": "refused"}},
    ],
)
def test_anchors_that_normalise_alike_are_refused(scale):
    with pytest.raises(ValueError, match="read the same"):
        ResponseScale.model_validate(scale)


# ---- 4. critical items are three-state -------------------------------------------------------


def test_critical_is_three_state_in_batch_output():
    phq = load("phq-9")
    base = {f"phq9_{i}": 1 for i in range(1, 9)}
    table = pd.DataFrame(
        [
            {**base, "phq9_9": 2},
            {**base, "phq9_9": 0},
            {**base, "phq9_9": None},
            {**base, "phq9_9": -99},
        ]
    )
    out = score_table(table, [phq]).table
    flags = out["phq9_critical"].tolist()
    assert flags[:2] == [1, 0] and all(pd.isna(f) for f in flags[2:])
    assert out["phq9_critical_unanswered"].tolist() == ["", "", "phq9_9", "phq9_9"]
    meta = output_columns(phq)
    assert "phq9_critical_unanswered" in meta
    assert "unanswered" in meta["phq9_critical"].label


def test_endorsed_beats_unanswered(toy):
    # toy has one critical item; several are handled the same way: any endorsed -> 1
    out = score_table(pd.DataFrame([{"toy_1": 3, "toy_4": 5}, {"toy_1": 3}]), [toy]).table
    assert out["toy_critical"].iloc[0] == 1 and pd.isna(out["toy_critical"].iloc[1])


def test_cli_summary_counts_endorsed_and_unanswered():
    from psyscore.cli.score import _summary

    phq = load("phq-9")
    base = {f"phq9_{i}": 1 for i in range(1, 9)}
    table = pd.DataFrame([{**base, "phq9_9": 2}, {**base, "phq9_9": None}, {**base, "phq9_9": 0}])
    (summary,) = _summary(score_table(table, [phq]), [phq])
    assert summary["critical_flags"] == 1 and summary["critical_unanswered"] == 1


# ---- 5. full precision -----------------------------------------------------------------------


def test_erq_means_are_stored_at_full_precision():
    erq = load("erq")
    answers = {f"erq_{i}": 4 for i in range(1, 11)}
    answers["erq_1"] = 5  # reappraisal: 1, 3, 5, 7, 8, 10 -> (5 + 4 * 5) / 6 = 4.1666...
    out = score_table(pd.DataFrame([answers]), [erq]).table
    assert out["erq_cognitive_reappraisal"].iloc[0] == pytest.approx(25 / 6, abs=1e-12)
    assert output_columns(erq)["erq_cognitive_reappraisal"].decimals == 2


def test_bands_use_the_full_value():
    text = TOY_TEXT.replace(
        "    rounding: 2\n",
        "    bands: [{name: lvl, bands: [{upto: 2.66, label: a}, {upto: 5, label: b}]}]\n",
        1,
    )
    inst = parse_definition(text, "x.yaml")
    # part = (2 + 4 + 2) / 3 = 2.6667: above 2.66 (rounding to 2.67 first would agree, 2.66 not)
    out = score(resolve(inst, pd.DataFrame([{"toy_1": 2, "toy_2": 2, "toy_3": 2}]))[0])
    assert out["toy_part"].iloc[0] == pytest.approx(8 / 3)
    assert out["toy_part_band"].iloc[0] == "b"


def test_only_published_rounding_rules_remain():
    from psyscore import library

    for ref in library.builtin_ids():
        inst = load(ref)
        if not hasattr(inst, "scores"):
            continue
        for name, spec in inst.scores.items():
            if spec.rounding is not None:
                # integer totals whose integer cut-offs assume them; never 1 or 2 decimals
                assert spec.rounding == 0 and spec.bands, (ref, name)


# ---- 6. the caller's index -------------------------------------------------------------------


def test_scores_keep_the_callers_index(toy):
    table = pd.DataFrame(
        [{"toy_1": v, "toy_2": 3, "toy_3": 3, "toy_4": 3} for v in (1, 2, 3, 4, 5)],
        index=[10, 11, 12, 13, 14],
    )
    subset = table[table["toy_1"] >= 3]
    result = score_table(subset, [toy])
    assert list(result.scores["toy-4"].index) == [12, 13, 14]
    assert list(result.table.index) == [12, 13, 14]
    assert list(result.items["toy-4"].reasons_frame().index) == [12, 13, 14]
    joined = subset.join(result.scores["toy-4"])
    assert joined["toy_total"].tolist() == [12.0, 13.0, 14.0]
    # repeated labels stay as they are, also with excluded rows
    repeated = table.set_axis([5, 5, 7, 7, 9])
    result = score_table(repeated, [toy], exclude=[None, "survey preview", None, None, None])
    assert list(result.scores["toy-4"].index) == [5, 5, 7, 7, 9]
    assert result.table["toy_total_status"].iloc[1] == "excluded: survey preview"


def test_range_of_a_rounded_score_is_rounded_too():
    # a complete mean over 1-5, 1-5 and 0-6 items spans 0.67-5.33; rounded to integers, 1-5
    text = """
id: mixed
name: mixed
construct: other
citation: test
licence: {status: public-domain}
key: {source: test, verified: true}
response_scales:
  five: {values: {1: low, 2: b, 3: c, 4: d, 5: high}}
  seven: {values: {0: none, 1: "1", 2: "2", 3: "3", 4: "4", 5: "5", 6: all}}
items:
  - {id: m_1, label: one, scale: five}
  - {id: m_2, label: two, scale: five}
  - {id: m_3, label: three, scale: seven}
scores:
  avg: {label: average, items: [m_1, m_2, m_3], method: mean, rounding: 0}
"""
    inst = parse_definition(text, "x.yaml")
    assert inst.score_range("avg") == (1.0, 5.0)
    out = score(resolve(inst, pd.DataFrame({"m_1": [1, 5], "m_2": [1, 5], "m_3": [0, 6]}))[0])
    assert out["mixed_avg"].tolist() == [1.0, 5.0]


# ---- 7. unknown norm group ------------------------------------------------------------------


def test_unknown_norm_group_is_an_error(toy):
    items, _ = resolve(toy, pd.DataFrame([{"toy_1": 3, "toy_2": 3, "toy_3": 3, "toy_4": 3}]))
    with pytest.raises(UsageError, match="test group"):
        score(items, norm_group="students")
    assert score(items, norm_group="TEST GROUP")["toy_total_z"].iloc[0] == 0.0
    with pytest.raises(UsageError, match="test group"):
        score_table(pd.DataFrame([{"toy_1": 3}]), [toy], norm_group="students")


# ---- 8. prorated scores stay in their range -------------------------------------------------

MIXED = (
    TOY_TEXT.replace(
        "  - {id: toy_3, label: third, scale: agree5}",
        "  - {id: toy_3, label: third, scale: wide}",
    )
    .replace(
        "response_scales:\n",
        "response_scales:\n  wide:\n    values: {0: none, 10: lots}\n",
    )
    .replace("upto: 20,", "upto: 25,")
)  # bands must cover the wider range (checked first)


def test_prorating_over_different_scales_is_refused():
    with pytest.raises(DefinitionError, match="same minimum and maximum"):
        parse_definition(MIXED, "x.yaml")


def test_prorated_and_composite_values_stay_in_range():
    from psyscore import library

    rng = np.random.default_rng(7)
    for ref in library.builtin_ids():
        inst = load(ref)
        if not hasattr(inst, "scores"):
            continue
        data = {}
        for it in inst.items:
            codes = np.array(sorted(inst.scale_of(it).values), dtype=float)
            col = codes[rng.integers(0, len(codes), 300)]
            col[rng.random(300) < 0.1] = np.nan
            data[it.id] = col
        out = score_table(pd.DataFrame(data), [inst]).table
        for name in inst.scores:
            lo, hi = inst.score_range(name)
            values = out[f"{inst.output_prefix}_{name}"].dropna()
            assert ((values >= lo - 1e-9) & (values <= hi + 1e-9)).all(), (ref, name)


def test_cli_stops_on_a_shifted_coding_and_writes_nothing(tmp_path):
    from typer.testing import CliRunner

    from psyscore.cli import app

    data = tmp_path / "k10.csv"
    k10_rows([[0, 1, 0, 2, 1, 0, 0, 1, 3, 0], [1, 1, 2, 0, 4, 1, 0, 0, 2, 1]]).to_csv(
        data, index=False
    )
    out = tmp_path / "scored.csv"
    result = CliRunner().invoke(app, ["score", str(data), "-i", "k10", "-o", str(out)])
    assert result.exit_code == 1
    assert "US 0-4 coding" in result.output and "k10-us" in result.output
    assert not out.exists()


def _builtin_anchors() -> list[tuple[str, str, str, float]]:
    from psyscore import library

    out = []
    for ref in library.builtin_ids():
        inst = load(ref)
        if not hasattr(inst, "items"):
            continue
        for item in inst.items:
            for code, label in inst.scale_of(item).values.items():
                if not label.strip().lstrip("-").replace(".", "").isdigit():
                    out.append((ref, item.id, label, float(code)))
    return out


ANCHORS = _builtin_anchors()


@given(
    st.sampled_from(ANCHORS),
    st.lists(st.booleans(), min_size=40, max_size=40),
    st.sampled_from(["", ".", "!", " ", "  ", "\u00a0"]),
)
@settings(max_examples=150)
def test_any_spelling_of_an_anchor_gives_its_code(anchor, upper, tail):
    ref, item_id, label, code = anchor
    spelled = "".join(c.upper() if u else c.lower() for c, u in zip(label, upper * 4, strict=False))
    spelled = "  " + spelled.replace(" and ", " & ").replace(" ", "   ") + tail
    items, problems = resolve(load(ref), pd.DataFrame({item_id: [spelled]}))
    j = items.instrument.item_ids.index(item_id)
    assert items.codes[0, j] == code, spelled


def test_a_recode_that_touches_a_user_missing_value_is_refused(toy):
    """User-missing declarations name the FILE's values; a --map recode of such a value (or onto
    one) is ambiguous, so it is refused, as the SPSS syntax refuses it: checked after the recode,
    a declared user-missing 4 recoded to 3 used to score as 3."""
    table = pd.DataFrame([{"toy_1": 3, "toy_2": 3, "toy_3": 4, "toy_4": 3}])
    declared = FileMissing(values={"toy_3": {4: "refused"}})
    with pytest.raises(UsageError, match=r"toy_3.*4 -> 3.*4 is a user-missing value"):
        score_table(table, [toy], file_missing=declared, recodes={"toy_3": {4: 3.0}})
    ranged = FileMissing(ranges={"toy_3": [(-9.0, 0.0, "user-missing")]})
    with pytest.raises(UsageError, match=r"toy_3.*1 -> 0.*-9 thru 0 is a user-missing value"):
        score_table(table, [toy], file_missing=ranged, recodes={"toy_3": {1: 0.0}})
    # a recode that leaves the declared values alone is fine, and the declaration still holds
    fine = score_table(table, [toy], file_missing=declared, recodes={"toy_3": {2: 1.0}})
    assert fine.table["toy_total_status"].iloc[0] == "prorated"


def test_excluding_a_row_leaves_the_columns_of_a_score_with_a_longer_name_alone():
    """Score `part` must not blank `part_b`'s count or cast its status to numbers."""
    text = TOY_TEXT.replace(
        "  combo:\n",
        "  part_b:\n    label: Toy part b\n    items: [toy_3, toy_4]\n    method: sum\n  combo:\n",
    )
    inst = parse_definition(text, "toy.yaml")
    table = pd.DataFrame([{"toy_1": 3, "toy_2": 3, "toy_3": 3, "toy_4": 3}] * 2)
    out = score_table(table, [inst], exclude=["survey preview", None]).table
    assert out["toy_part_b_n"].tolist() == [2, 2]
    assert out["toy_part_b_status"].tolist() == ["excluded: survey preview", "scored"]
    assert pd.isna(out["toy_part_b"].iloc[0]) and out["toy_part_b"].iloc[1] == 6
