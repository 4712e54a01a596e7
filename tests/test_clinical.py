"""Issue 11: clinical meaning that is safe to act on.

Change since the last visit by the Jacobson & Truax (1991) categories, several earlier visits,
percentiles only where the norm supports them, the norm group chosen per client, no impossible
numbers, each band set's and cut-off's settledness with missing items, and provenance.
"""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from psyscore.batch import score_table
from psyscore.cli import app
from psyscore.columns import output_columns
from psyscore.errors import DefinitionError
from psyscore.instrument import definition_hash, load_definition
from psyscore.intake import compare, score_form
from psyscore.library import resolve_instruments
from psyscore.report.intake_html import render_html

from .conftest import ROOT

runner = CliRunner()
PHQ = resolve_instruments(["phq-9"])
GAD = resolve_instruments(["gad-7"])
CSI = resolve_instruments(["csi-4"])


def phq_total(total: int, missing: tuple[int, ...] = ()) -> dict:
    """PHQ-9 answers (items 1-9) that sum to `total`, filled from item 1 with 3s."""
    codes, left = [], total
    for _ in range(9):
        codes.append(min(3, left))
        left -= codes[-1]
    answers = {f"phq9_{i}": c for i, c in enumerate(codes, start=1)}
    for i in missing:
        answers[f"phq9_{i}"] = None
    return answers


def gad_total(total: int) -> dict:
    codes, left = [], total
    for _ in range(7):
        codes.append(min(3, left))
        left -= codes[-1]
    return {f"gad7_{i}": c for i, c in enumerate(codes, start=1)}


def total_of(result):
    return result.instruments[0].scores[0]


def changed(insts, before_answers, now_answers, **kw):
    before = score_form(insts, before_answers, date="2026-01-05", **kw).to_dict()
    now = score_form(insts, now_answers, date="2026-03-02", **kw)
    compare(now, before, insts)
    return now


def variant(tmp_path, base: str, edit) -> list:
    """A copy of a built-in definition with `edit(data)` applied, loaded from a file."""
    data = yaml.safe_load((ROOT / "instruments" / f"{base}.yaml").read_text(encoding="utf-8"))
    data["id"] = f"{base}-variant"
    edit(data)
    path = tmp_path / f"{base}-variant.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return [load_definition(path)]


# ---- 1. change since the last visit -------------------------------------------------------------


def test_built_ins_declare_which_direction_is_better():
    expected = {"phq-9": "lower", "gad-7": "lower", "k10": "lower", "k10-us": "lower"}
    expected |= {"csi-4": "higher", "k6": "lower", "who-5": "higher", "brs": "higher"}
    for inst_id, better in expected.items():
        (inst,) = resolve_instruments([inst_id])
        assert {s.better for s in inst.scores.values()} == {better}, inst_id


def test_phq_9_to_10_is_no_reliable_change_never_clinically_significant():
    # RCI = 1 / (sqrt(2) * 3.5 * sqrt(.11)) = 0.61: not reliable, whatever the band crossed
    now = changed(PHQ, phq_total(9), phq_total(10), sex="male")
    change = total_of(now).change
    assert change.rci == 0.61
    assert change.category == "no reliable change"
    assert "clinically significant" not in change.text
    assert "no reliable change" in change.text
    assert "1.96" in change.criterion and "Jacobson" in change.criterion
    assert change.reliability == {
        "coefficient": "alpha",
        "value": 0.89,
        "source": "Kroenke et al. (2001), primary care sample",
        "sd": 3.5,
        "sd_source": "German general population, men",
    }
    payload = now.to_dict()["instruments"][0]["scores"][0]["change"]
    assert payload["category"] == "no reliable change"
    assert payload["criterion"] == change.criterion
    assert payload["reliability"]["value"] == 0.89


@pytest.mark.parametrize(
    "before, after, category",
    [
        (18, 12, "reliable improvement"),  # -6, |RCI| 3.65, still >= 10
        (18, 5, "recovered"),  # reliable improvement from >= 10 to below 10
        (5, 18, "reliable deterioration"),
        (12, 14, "no reliable change"),
    ],
)
def test_jacobson_truax_categories(before, after, category):
    change = total_of(changed(PHQ, phq_total(before), phq_total(after), sex="male")).change
    assert change.category == category
    if category == "recovered":
        assert "crosses the cut-off" in change.text and ">= 10" in change.text


def test_csi_4_change_without_reliability_is_not_assessable():
    before = {f"csi4_{i}": c for i, c in enumerate([5, 3, 3, 3], start=1)}  # 14
    now = {f"csi4_{i}": c for i, c in enumerate([3, 3, 2, 2], start=1)}  # 10
    change = total_of(changed(CSI, before, now)).change
    assert (change.previous, change.current) == (14.0, 10.0)
    assert change.category == "not assessable"
    assert "clinically significant" not in change.text
    assert "not assessable" in change.text
    assert change.reliability is None


def test_direction_not_declared_is_not_assessable(tmp_path):
    def drop_better(data):
        data["scores"]["total"].pop("better", None)

    insts = variant(tmp_path, "phq-9", drop_better)
    change = total_of(changed(insts, phq_total(18), phq_total(5), sex="male")).change
    assert change.category == "not assessable"
    assert "direction not declared" in change.text


# ---- 2. several earlier visits ------------------------------------------------------------------


def _visit(tmp_path, name, total, date):
    form = tmp_path / f"{name}.yaml"
    form.write_text(yaml.safe_dump(phq_total(total)))
    res = runner.invoke(
        app,
        [
            "intake",
            "-i",
            "phq-9",
            "--answers",
            str(form),
            "--json",
            "--date",
            date,
            "--sex",
            "male",
        ],
    )
    assert res.exit_code == 0, res.output
    out = tmp_path / f"{name}.json"
    out.write_text(res.stdout)
    return out


def test_several_previous_visits_give_trajectory_and_change_from_first_and_last(tmp_path):
    first = _visit(tmp_path, "v1", 20, "2026-01-05")
    second = _visit(tmp_path, "v2", 12, "2026-02-02")
    form = tmp_path / "now.yaml"
    form.write_text(yaml.safe_dump(phq_total(11)))
    res = runner.invoke(
        app,
        ["intake", "-i", "phq-9", "--answers", str(form), "--json", "--date", "2026-03-02",
         "--sex", "male", "--previous", str(second), "--previous", str(first)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    total = json.loads(res.stdout)["instruments"][0]["scores"][0]
    assert [(v["date"], v["value"]) for v in total["trajectory"]] == [
        ("2026-01-05", 20.0),
        ("2026-02-02", 12.0),
        ("2026-03-02", 11.0),
    ]
    assert total["change"]["previous_date"] == "2026-02-02"
    assert total["change"]["category"] == "no reliable change"
    assert total["change_from_first"]["previous_date"] == "2026-01-05"
    assert total["change_from_first"]["category"] == "reliable improvement"
    text = runner.invoke(
        app,
        ["intake", "-i", "phq-9", "--answers", str(form), "--date", "2026-03-02",
         "--sex", "male", "--previous", str(first), "--previous", str(second)],
    ).output  # fmt: skip
    assert "20 (2026-01-05) -> 12 (2026-02-02) -> 11 (2026-03-02)" in text
    assert "since 2026-01-05" in text and "since 2026-02-02" in text


def test_previous_visit_after_this_form_is_a_usage_error(tmp_path):
    later = _visit(tmp_path, "v9", 20, "2026-05-05")
    form = tmp_path / "now.yaml"
    form.write_text(yaml.safe_dump(phq_total(11)))
    res = runner.invoke(
        app,
        ["intake", "-i", "phq-9", "--answers", str(form), "--date", "2026-03-02",
         "--previous", str(later)],
    )  # fmt: skip
    assert res.exit_code == 2
    assert "2026-05-05" in res.output and "after" in res.output


# ---- 3. percentiles ------------------------------------------------------------------------------


def test_gad_7_skewed_norm_gives_no_percentile_and_says_why():
    # the normal approximation said 98.9 for 10; Lowe et al. (2008) report about 5% at or above 10
    norm = total_of(score_form(GAD, gad_total(10), sex="male")).norm
    assert norm.percentile is None
    assert norm.percentile_method == "none"
    assert "skewed" in norm.percentile_note
    assert norm.t == 72.8  # a linear T is still a linear transform of the raw score


def test_phq_9_skewed_norm_gives_no_percentile():
    norm = total_of(score_form(PHQ, phq_total(10), sex="male")).norm
    assert norm.percentile is None and norm.percentile_method == "none"


def test_batch_pct_follows_the_same_rule():
    table = pd.DataFrame([gad_total(10), gad_total(3)])
    result = score_table(table, GAD)
    assert result.table["gad7_total_pct"].isna().all()
    assert result.table["gad7_total_t"].notna().all()
    label = output_columns(GAD[0])["gad7_total_pct"].label
    assert "no percentile" in label and "normal approx" not in label


def _with_table(data):
    group = data["scores"]["total"]["norms"][0]
    group["table"] = {
        "percentiles": {0: 30.0, 1: 45.0, 2: 60.0, 10: 94.4},
        "source": "made-up test table",
        "page": "p. 1",
    }


def test_percentile_table_is_used_exactly_and_named(tmp_path):
    insts = variant(tmp_path, "phq-9", _with_table)
    norm = total_of(score_form(insts, phq_total(10), sex="male")).norm
    assert (norm.percentile, norm.percentile_method) == (94.4, "table")
    assert "made-up test table" in norm.percentile_note and "p. 1" in norm.percentile_note
    # a score the table does not list gets no percentile (never interpolated)
    norm5 = total_of(score_form(insts, phq_total(5), sex="male")).norm
    assert norm5.percentile is None and "not in the table" in norm5.percentile_note
    batch = score_table(pd.DataFrame([phq_total(10), phq_total(5)]), insts)
    pct = batch.table["phq9_total_pct"]
    assert pct.iloc[0] == 94.4 and math.isnan(pct.iloc[1])
    label = output_columns(insts[0])["phq9_total_pct"].label
    assert "table" in label


def test_normal_approximation_only_where_declared(tmp_path):
    def normal(data):
        for g in data["scores"]["total"]["norms"]:
            g["distribution"] = "normal"

    insts = variant(tmp_path, "gad-7", normal)
    norm = total_of(score_form(insts, gad_total(10), sex="male")).norm
    assert (norm.percentile, norm.percentile_method) == (98.9, "normal-approximation")
    batch = score_table(pd.DataFrame([gad_total(10)]), insts)
    assert batch.table["gad7_total_pct"].iloc[0] == 98.9
    assert "normal approx" in output_columns(insts[0])["gad7_total_pct"].label


# ---- 4. norm group per person --------------------------------------------------------------------


def test_norm_group_is_chosen_by_sex():
    women = total_of(score_form(GAD, gad_total(10), sex="female")).norm
    men = total_of(score_form(GAD, gad_total(10), sex="male")).norm
    assert women.group == "German general population, women"
    assert men.group == "German general population, men"
    assert women.t == round(50 + 10 * (10 - 3.2) / 3.5, 1)
    phq_women = total_of(score_form(PHQ, phq_total(10), sex="female")).norm
    assert phq_women.group == "German general population, women"


def test_no_sex_given_means_no_standard_score_and_a_note():
    total = total_of(score_form(GAD, gad_total(10)))
    assert total.norm is None
    assert "--sex" in total.reliability_note


def test_client_outside_every_age_range_gets_no_standard_score(tmp_path):
    def ages(data):
        for g in data["scores"]["total"]["norms"]:
            g["age"] = [18, 65]

    insts = variant(tmp_path, "gad-7", ages)
    inside = total_of(score_form(insts, gad_total(10), sex="male", age=40))
    assert inside.norm is not None
    outside = total_of(score_form(insts, gad_total(10), sex="male", age=70))
    assert outside.norm is None and "70" in outside.reliability_note


def test_age_range_must_be_min_to_max(tmp_path):
    def backwards(data):
        data["scores"]["total"]["norms"][0]["age"] = [65, 18]

    with pytest.raises(DefinitionError, match=r"age \[65.0, 18.0\] is not a range"):
        variant(tmp_path, "gad-7", backwards)


def test_cli_sex_and_age_choose_the_group_and_the_report_names_it(tmp_path):
    form = tmp_path / "g.yaml"
    form.write_text(yaml.safe_dump(gad_total(10)))
    res = runner.invoke(
        app, ["intake", "-i", "gad-7", "--answers", str(form), "--sex", "female", "--json"]
    )
    assert res.exit_code == 0, res.output
    norm = json.loads(res.stdout)["instruments"][0]["scores"][0]["norm"]
    assert norm["group"] == "German general population, women"
    bad = runner.invoke(app, ["intake", "-i", "gad-7", "--answers", str(form), "--sex", "x"])
    assert bad.exit_code == 2


# ---- 5. impossible numbers -----------------------------------------------------------------------


def test_ci_is_truncated_to_the_score_range_and_says_so():
    low = total_of(score_form(PHQ, phq_total(0), sex="male")).norm
    assert low.ci95 == (0.0, 2.28)
    assert low.ci_truncated is True
    high = total_of(score_form(PHQ, phq_total(27), sex="male")).norm
    assert high.ci95 == (24.72, 27.0)
    middle = total_of(score_form(PHQ, phq_total(12), sex="male")).norm
    assert middle.ci95 == (9.72, 14.28) and middle.ci_truncated is False


def test_standard_score_beyond_the_norm_is_flagged_not_extrapolated():
    # PHQ-9 27 vs men: z = 6.94, T would be 119.4
    norm = total_of(score_form(PHQ, phq_total(27), sex="male")).norm
    assert norm.t is None and norm.z is None and norm.t_ci95 is None
    assert norm.beyond == "above"
    assert "beyond" in norm.note


# ---- 6. settled decisions ------------------------------------------------------------------------


def test_each_band_set_reports_whether_it_is_settled():
    # 2+2+2+1+_+1+2+_+1 = 11 of 7 answered -> 11-17: severity open, the >= 10 cut-off is met anyway
    answers = {f"phq9_{i}": c for i, c in enumerate([2, 2, 2, 1, None, 1, 2, None, 1], start=1)}
    rng = total_of(score_form(PHQ, answers)).range
    assert rng.settled == {"severity": False, "cutoff": True}
    assert "severity band not determined (moderate or moderately severe)" in rng.text
    assert "cutoff band settled: at or above cut-off (>= 10) whatever the 2 missing items" in (
        rng.text
    )


# ---- 7. provenance -------------------------------------------------------------------------------


def test_json_and_html_carry_provenance():
    result = score_form(PHQ + GAD, phq_total(10) | gad_total(4), sex="female", age=40)
    prov = result.to_dict()["provenance"]
    assert prov["psyscore_version"]
    assert prov["definitions"] == [
        {"id": i.id, "version": i.version, "sha256": definition_hash(i)} for i in PHQ + GAD
    ]
    assert prov["options"]["sex"] == "female" and prov["options"]["age"] == 40
    assert prov["norm_groups"]["phq9_total"] == "German general population, women"
    html = render_html(result)
    assert definition_hash(PHQ[0]) in html and "German general population, women" in html
    assert "sex: female" in html


def test_percentile_table_values_are_checked(tmp_path):
    def bad(data):
        data["scores"]["total"]["norms"][0]["table"] = {
            "percentiles": {0: 50.0, 1: 40.0},
            "source": "x",
            "page": "1",
        }

    with pytest.raises(DefinitionError, match="percentile table decreases"):
        variant(tmp_path, "phq-9", bad)


# ---- invariants ----------------------------------------------------------------------------------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@given(
    before=st.integers(0, 27),
    after=st.integers(0, 27),
    sex=st.sampled_from(["male", "female"]),
)
def test_change_and_interval_invariants(before, after, sex):
    now = changed(PHQ, phq_total(before), phq_total(after), sex=sex)
    total = total_of(now)
    change = total.change
    assert change.category in (
        "recovered",
        "reliable improvement",
        "no reliable change",
        "reliable deterioration",
    )
    assert "clinically significant" not in change.text
    assert (change.category == "no reliable change") == (not change.reliable)
    if change.category == "recovered":
        assert before >= 10 > after
    low, high = total.norm.ci95
    assert 0 <= low <= after <= high <= 27
    if total.norm.t is not None:
        assert abs(total.norm.z) <= 4
