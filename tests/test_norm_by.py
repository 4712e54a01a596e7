"""Batch `--norm-by`: each row's norm group from its sex and age columns, as intake picks it.

The definitions are copies of PHQ-9 with norm groups written here, so the tests do not depend on
the norms the built-in definition ships (those change as published tables are entered).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from psyscore.batch import score_table
from psyscore.cli import app
from psyscore.columns import output_columns
from psyscore.errors import DataError, UsageError
from psyscore.instrument import load_definition
from psyscore.intake import score_form, select_norm_group
from psyscore.norms import covering_group

from .conftest import ROOT

runner = CliRunner()

MEN = {"group": "men", "mean": 2.0, "sd": 3.0, "source": "test", "sex": "male"}
WOMEN = {"group": "women", "mean": 4.0, "sd": 4.0, "source": "test", "sex": "female"}
YOUNG_WOMEN = {**WOMEN, "group": "young women", "mean": 5.0, "age": [18, 29]}
OLDER_WOMEN = {**WOMEN, "group": "older women", "mean": 3.0, "age": [30, 99]}


def phq_with_norms(tmp_path, *groups) -> list:
    data = yaml.safe_load((ROOT / "instruments" / "phq-9.yaml").read_text(encoding="utf-8"))
    data["id"] = "phq-9-norm-by"
    data["scores"]["total"]["norms"] = [dict(g) for g in groups]
    path = tmp_path / "phq-9-norm-by.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return [load_definition(path)]


def rows(*totals: int) -> pd.DataFrame:
    """PHQ-9 answers (items 1-9) summing to each total, one row each."""
    out = []
    for total in totals:
        codes, left = [], total
        for _ in range(9):
            codes.append(min(3, left))
            left -= codes[-1]
        out.append({f"phq9_{i}": c for i, c in enumerate(codes, start=1)})
    return pd.DataFrame(out)


def test_each_row_is_compared_with_its_own_sex(tmp_path):
    insts = phq_with_norms(tmp_path, MEN, WOMEN)
    table = rows(10, 10, 10).assign(gender=["male", "Female", None])
    result = score_table(table, insts, norm_by="sex=gender").table
    assert list(result["phq9_total_t"].iloc[:2]) == [
        round(50 + 10 * (10 - 2) / 3, 1),
        round(50 + 10 * (10 - 4) / 4, 1),
    ]
    assert list(result["phq9_total_norm_group"].astype(str)) == [
        "men [male]",
        "women [female]",
        "none: sex not known",
    ]
    # unknown sex: no standard score at all, never the men's norm
    assert result[["phq9_total_z", "phq9_total_t"]].iloc[2].isna().all()


def test_rows_without_a_group_are_named_in_a_note(tmp_path):
    insts = phq_with_norms(tmp_path, MEN, WOMEN)
    table = rows(10, 10, 10).assign(gender=["m", "diverse", None])
    batch = score_table(table, insts, norm_by={"sex": "gender"})
    said = " ".join(batch.warnings)
    assert "--norm-by sex=gender: m = male; diverse: no norm group" in said
    assert "2 scored row(s) have no norm group" in said and "rows 2, 3" in said
    group = batch.table["phq9_total_norm_group"].astype(str)
    assert group.iloc[1] == "none: no norm group for this sex and age"


def test_numeric_sex_codes_need_value_labels(tmp_path):
    insts = phq_with_norms(tmp_path, MEN, WOMEN)
    table = rows(10, 10).assign(gender=[1, 2])
    with pytest.raises(DataError, match=r"the codes 1, 2 do not say which sex"):
        score_table(table, insts, norm_by="sex=gender")
    labels = {"gender": {1.0: "Female", 2.0: "Male"}}  # this survey codes women 1
    batch = score_table(table, insts, norm_by="sex=gender", value_labels=labels)
    assert list(batch.table["phq9_total_norm_group"].astype(str)) == [
        "women [female]",
        "men [male]",
    ]
    assert "1 (Female) = female" in " ".join(batch.warnings)


def test_age_picks_the_age_group_and_outside_gets_none(tmp_path):
    insts = phq_with_norms(tmp_path, MEN, YOUNG_WOMEN, OLDER_WOMEN)
    table = rows(10, 10, 10, 10).assign(sex=["f", "f", "f", "f"], age=[20, 45, 15, None])
    out = score_table(table, insts, norm_by="sex=sex,age=age").table
    assert list(out["phq9_total_norm_group"].astype(str)) == [
        "young women [female, age 18-29]",
        "older women [female, age 30-99]",
        "none: no norm group for this sex and age",
        "none: age not known",
    ]
    assert out["phq9_total_z"].iloc[0] == 1.25 and out["phq9_total_z"].iloc[1] == 1.75
    assert out["phq9_total_z"].iloc[2:].isna().all()


def test_ages_that_are_not_years_are_refused(tmp_path):
    insts = phq_with_norms(tmp_path, MEN, YOUNG_WOMEN)
    table = rows(1, 2).assign(sex=["f", "m"], age=["forty", 30])
    with pytest.raises(DataError, match=r"'forty' \(row 1\) is not an age in years"):
        score_table(table, insts, norm_by="sex=sex,age=age")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("sex", "WHO=COLUMN"),
        ("height=h", "by sex and age only"),
        ("sex=nope", "no column 'nope'"),
    ],
)
def test_norm_by_usage_errors(tmp_path, spec, message):
    insts = phq_with_norms(tmp_path, MEN, WOMEN)
    with pytest.raises(UsageError, match=message):
        score_table(rows(1).assign(gender=["m"]), insts, norm_by=spec)


def test_batch_and_intake_pick_the_same_group(tmp_path):
    insts = phq_with_norms(tmp_path, MEN, YOUNG_WOMEN, OLDER_WOMEN)
    spec = insts[0].scores["total"]
    cases = [("male", 40.0), ("female", 20.0), ("female", 50.0), ("female", 10.0), (None, 20.0)]
    sexes = np.array([s for s, _ in cases], dtype=object)
    ages = np.array([a for _, a in cases])
    batch = covering_group(spec.norms, sexes, ages)
    for (sex, age), index in zip(cases, batch, strict=True):
        group, _ = select_norm_group(spec, sex, age)
        assert group is (None if index < 0 else spec.norms[index])
        one = score_form(insts, rows(10).iloc[0].to_dict(), sex=sex, age=age)
        norm = one.instruments[0].scores[0].norm
        assert (norm.group if norm else None) == (group.group if group else None)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["male", "female", None]),
            st.one_of(st.none(), st.floats(0, 120, allow_nan=False)),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_covering_group_matches_the_scalar_rule(cases):
    from psyscore.instrument import NormGroup

    groups = [NormGroup(**MEN), NormGroup(**YOUNG_WOMEN), NormGroup(**OLDER_WOMEN)]
    sexes = np.array([s for s, _ in cases], dtype=object)
    ages = np.array([math.nan if a is None else a for _, a in cases])
    chosen = covering_group(groups, sexes, ages)
    for (sex, age), index in zip(cases, chosen, strict=True):
        expected = next((i for i, g in enumerate(groups) if g.covers(sex, age)), -1)
        assert index == expected


def test_column_labels_name_the_group_actually_used(tmp_path):
    insts = phq_with_norms(tmp_path, MEN, WOMEN)
    assert "vs men" in output_columns(insts[0])["phq9_total_t"].label
    assert "vs women" in output_columns(insts[0], norm_group="women")["phq9_total_t"].label
    by_row = output_columns(insts[0], norm_by={"sex": "gender"})
    assert "the row's norm group (by sex (gender)" in by_row["phq9_total_z"].label
    assert "phq9_total_norm_group" in by_row


def test_standard_scores_beyond_the_norm_are_flagged_not_extrapolated(tmp_path):
    insts = phq_with_norms(tmp_path, MEN, WOMEN)  # men: mean 2, sd 3: 27 is z = 8.3
    batch = score_table(rows(27, 10), insts, norm_group="men")
    t = batch.table["phq9_total_t"]
    assert math.isnan(t.iloc[0]) and t.iloc[1] == round(50 + 10 * 8 / 3, 1)
    said = " ".join(batch.warnings)
    assert "1 row(s) beyond the range the norm supports (|z| > 4)" in said and "row 1)" in said


def test_score_cli_norm_by_writes_the_group_column(tmp_path):
    insts = phq_with_norms(tmp_path, MEN, WOMEN)
    data = tmp_path / "data.csv"
    rows(10, 10).assign(gender=["female", "male"]).to_csv(data, index=False)
    out = tmp_path / "scored.csv"
    definition = tmp_path / "phq-9-norm-by.yaml"
    result = runner.invoke(
        app,
        ["score", str(data), "-i", str(definition), "-o", str(out), "--norm-by", "sex=gender"],
    )
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out)
    assert list(scored["phq9_total_norm_group"]) == ["women [female]", "men [male]"]
    assert insts  # the definition the CLI read


def test_scores_a_percentile_table_does_not_list_are_flagged(tmp_path):
    table = {"percentiles": {0: 30.0, 1: 45.0, 10: 94.4}, "source": "made-up", "page": "p. 1"}
    insts = phq_with_norms(tmp_path, {**MEN, "table": table}, WOMEN)
    batch = score_table(rows(10, 5, 1), insts, norm_group="men")
    assert list(batch.table["phq9_total_pct"].fillna(-1)) == [94.4, -1, 45.0]
    said = " ".join(batch.warnings)
    assert "1 row(s) with a score the percentile table does not list" in said and "row 2)" in said
