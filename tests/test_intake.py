"""`psyscore intake`: one form, alerts first, ranges for missing items, norms, change, interactive."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from psyscore.cli import app
from psyscore.intake import compare, score_form
from psyscore.library import resolve_instruments

from .conftest import ROOT

runner = CliRunner()
PHQ = resolve_instruments(["phq-9"])
SAMPLE_FORM = ROOT / "sample_data" / "intake_form_single.csv"


def phq(*codes):
    return {f"phq9_{i}": c for i, c in enumerate(codes, start=1)}


def invoke(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


# ---- pure logic -------------------------------------------------------------------------------


def test_item_9_endorsed_gives_alert_first_with_label_and_anchor():
    # 1+2+1+2+1+1+2+1+1 = 12 -> moderate; item 9 = 1 ("Several days") fires the critical rule
    result = score_form(PHQ, phq(1, 2, 1, 2, 1, 1, 2, 1, 1))
    (alert,) = result.alerts
    assert (alert.item, alert.label, alert.code, alert.anchor, alert.kind) == (
        "phq9_9",
        "thoughts of death or self-harm",
        1.0,
        "Several days",
        "endorsed",
    )
    assert alert.message.startswith("Item 9 endorsed")
    payload = result.to_dict()
    assert list(payload)[:6] == [
        "psyscore_intake",
        "psyscore_version",
        "client_id",
        "date",
        "previous_date",
        "note",
    ]
    assert list(payload)[6] == "alerts"  # before the instruments and their scores
    total = result.instruments[0].scores[0]
    assert (total.value, total.status, total.n, total.k) == (12.0, "scored", 9, 9)
    assert total.bands == {"severity": "moderate", "cutoff": "at or above cut-off (>= 10)"}
    assert total.range is None
    assert "not a diagnosis" in result.note


def test_unanswered_critical_item_is_an_alert_too():
    result = score_form(PHQ, phq(0, 0, 0, 0, 0, 0, 0, 0, None))
    (alert,) = result.alerts
    assert alert.kind == "unanswered" and alert.item == "phq9_9"
    assert "ask it directly" in alert.message


def test_two_missing_gives_exact_range_and_undetermined_band():
    # answered 2+2+2+1+1+2+1 = 11 over 7 items: prorated 11 * 9 / 7 = 14.14 -> 14 (moderate).
    # The two missing items could be 0..3 each: the full sum lies in 11..17, i.e. moderate (10-14)
    # or moderately severe (15-19): the band is not settled; the >= 10 cut-off is.
    result = score_form(PHQ, phq(2, 2, 2, 1, None, 1, 2, None, 1))
    total = result.instruments[0].scores[0]
    assert (total.value, total.status, total.n) == (14.0, "prorated", 7)
    rng = total.range
    assert (rng.low, rng.high) == (11.0, 17.0)
    assert rng.missing_items == ["phq9_5", "phq9_8"]
    assert rng.text == (
        "PHQ-9 total 11-17 with 2 items missing: severity band not determined "
        "(moderate or moderately severe); cutoff band settled: at or above cut-off (>= 10) "
        "whatever the 2 missing items"
    )
    assert rng.settled == {"severity": False, "cutoff": True}
    assert rng.possible["severity"] == ["moderate", "moderately severe"]


def test_range_over_three_bands():
    # answered sum 9 over 7: range 9..15 = mild (5-9), moderate (10-14), moderately severe (15-19)
    total = score_form(PHQ, phq(2, 2, 1, 1, None, 1, 2, None, 0)).instruments[0].scores[0]
    assert total.value == 12.0  # 9 * 9 / 7 = 11.57 -> 12, as the definition's golden example
    assert total.range.text == (
        "PHQ-9 total 9-15 with 2 items missing: severity band not determined "
        "(mild, moderate or moderately severe); cutoff band not determined "
        "(below cut-off or at or above cut-off (>= 10))"
    )


def test_settled_band():
    # eight answered zeros, item 3 missing: the sum lies in 0..3, minimal (0-4) either way
    total = score_form(PHQ, phq(0, 0, None, 0, 0, 0, 0, 0, 0)).instruments[0].scores[0]
    assert (total.value, total.range.low, total.range.high) == (0.0, 0.0, 3.0)
    assert total.range.text == (
        "PHQ-9 total 0-3 with 1 item missing: severity band settled: minimal whatever the "
        "missing item; cutoff band settled: below cut-off whatever the missing item"
    )
    assert total.range.settled == {"severity": True, "cutoff": True}


def test_range_respects_reverse_keying_and_rounding():
    # ATSPPH-SF, 0-3, reverse items 2, 4, 8, 9, 10. All raw answers 0, item 2 (reverse) missing:
    # keyed 4, 8, 9, 10 -> 3 each = 12 over 9 answered -> prorated 12 * 10 / 9 = 13.333...
    # (stored unrounded). Item 2 keyed could be 0 (raw 3) or 3 (raw 0): total 12..15.
    insts = resolve_instruments(["atspph-sf"])
    answers = {f"atspph_{i}": 0 for i in range(1, 11)} | {"atspph_2": None}
    scores = {s.name: s for s in score_form(insts, answers).instruments[0].scores}
    total = scores["total"]
    assert total.value == pytest.approx(120 / 9)
    assert (total.range.low, total.range.high) == (12.0, 15.0)
    assert total.range.text == "ATSPPH-SF total 12-15 with 1 item missing"
    assert total.norm is None and total.reliability_note == "no published norms in the definition"
    # value/need: 4 answered reverse items keyed 3 -> 12 * 5 / 4 = 15.00; range 12.00..15.00
    assert scores["value_need"].value == 15.0
    assert (scores["value_need"].range.low, scores["value_need"].range.high) == (12.0, 15.0)
    assert scores["openness"].range is None


def test_t_score_percentile_and_sem_ci():
    # PHQ-9 total 12 vs German men (mean 2.7, SD 3.5), alpha .89:
    # z = (12 - 2.7) / 3.5 = 2.657 -> 2.66; T = 50 + 26.571 = 76.6; percentile = Phi(2.657) = 99.6
    # SEM = 3.5 * sqrt(0.11) = 1.16082 -> 1.161; 1.96 * SEM = 2.2752 -> CI 9.72 .. 14.28
    # in T units: 1.96 * 1.16082 / 3.5 * 10 = 6.500 -> 76.571 +/- 6.500 = 70.1 .. 83.1
    # (issue 11: no percentile, the norm is skewed and no published table is shipped)
    form = score_form(PHQ, phq(1, 2, 1, 2, 1, 1, 2, 1, 1), sex="male")
    norm = form.instruments[0].scores[0].norm
    assert (norm.z, norm.t, norm.percentile) == (2.66, 76.6, None)
    assert norm.sem == 1.161
    assert norm.ci95 == (9.72, 14.28)
    assert norm.t_ci95 == (70.1, 83.1)
    assert norm.group == "German general population, men"


def test_rci_against_previous_result():
    # visit 1: 2*9 = 18 (moderately severe); visit 2: 12 (moderate). diff -6.
    # RCI = -6 / (sqrt(2) * 1.16082) = -6 / 1.64165 = -3.65 -> reliable (|RCI| > 1.96);
    # smallest reliable difference 1.96 * 1.64165 = 3.22; the band changed: clinically significant.
    before = score_form(PHQ, phq(*[2] * 9), date="2026-01-05", sex="male").to_dict()
    now = score_form(PHQ, phq(1, 2, 1, 2, 1, 1, 2, 1, 1), date="2026-03-02", sex="male")
    compare(now, before, PHQ)
    change = now.instruments[0].scores[0].change
    assert (change.previous, change.current, change.difference) == (18.0, 12.0, -6.0)
    assert change.rci == -3.65
    assert change.reliable is True
    assert change.reliable_threshold == 3.22
    assert (change.previous_band, change.current_band, change.band_changed) == (
        "moderately severe",
        "moderate",
        True,
    )
    assert change.category == "reliable improvement"
    assert change.criterion.startswith("Jacobson & Truax (1991)")
    assert now.previous_date == "2026-01-05"


def test_small_change_is_not_reliable():
    # 12 -> 14: RCI = 2 / 1.64165 = 1.22 -> not reliable, same band (moderate)
    before = score_form(PHQ, phq(1, 2, 1, 2, 1, 1, 2, 1, 1), sex="male").to_dict()
    now = score_form(PHQ, phq(2, 2, 2, 2, 1, 1, 2, 1, 1), sex="male")
    compare(now, before, PHQ)
    change = now.instruments[0].scores[0].change
    assert (change.difference, change.rci, change.reliable, change.band_changed) == (
        2.0,
        1.22,
        False,
        False,
    )


# ---- command line -----------------------------------------------------------------------------


def test_answers_yaml_json_output_and_exit_code(tmp_path):
    form = tmp_path / "form.yaml"
    form.write_text(
        "phq9_1: 1\nphq9_2: More than half the days\nphq9_3: 1\nphq9_4: 2\nphq9_5: 1\n"
        "phq9_6: 1\nphq9_7: 2\nphq9_8: 1\nphq9_9: several days\n"
    )
    result = invoke("intake", "-i", "phq-9", "--answers", form, "--json", "--client-id", "C1")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["client_id"] == "C1"
    assert payload["alerts"][0]["item"] == "phq9_9"
    assert payload["instruments"][0]["scores"][0]["value"] == 12.0
    assert "CRITICAL ALERT" in result.stderr  # unmissable even when stdout is redirected
    assert list(tmp_path.iterdir()) == [form]  # nothing else written


def test_unrecognised_answer_is_a_problem_exit_1(tmp_path):
    form = tmp_path / "form.json"
    form.write_text(json.dumps(phq(0, 0, 0, 0, 0, 0, 0, 0, 7)))
    result = invoke("intake", "-i", "phq-9", "--answers", form, "--json")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    (problem,) = payload["instruments"][0]["problems"]
    assert problem["kind"] == "unrecognised_answer" and problem["column"] == "phq9_9"
    # the 7 is not scored: item 9 counts as missing, and that is itself an alert
    assert payload["alerts"][0]["kind"] == "unanswered"


def test_unknown_answer_key_is_a_usage_error(tmp_path):
    form = tmp_path / "form.yaml"
    form.write_text("phq9_1: 1\nphq9_99: 2\n")
    result = invoke("intake", "-i", "phq-9", "--answers", form)
    assert result.exit_code == 2
    assert "phq9_99 is not an item" in result.output


def test_one_row_csv_with_bundle_terminal_report():
    result = invoke("intake", "--answers", SAMPLE_FORM, "--bundle", "program-intake")
    assert result.exit_code == 0, result.output
    # PHQ-9 R0001: 1+0+1+1+0+0+1+0+0 = 4 -> minimal; no critical alert
    assert "CRITICAL ALERT" not in result.output
    assert "not a diagnosis" in result.output
    assert "scoring key not verified" in result.output


def test_json_round_trip_into_previous(tmp_path):
    visit1 = tmp_path / "visit1.json"
    first = invoke(
        "intake", "-i", "phq-9", "--answers", _form(tmp_path, phq(*[2] * 9)), "--json",
        "--client-id", "C7", "--date", "2026-01-05",
    )  # fmt: skip
    visit1.write_text(first.stdout)
    second = invoke(
        "intake", "-i", "phq-9", "--answers", _form(tmp_path, phq(1, 2, 1, 2, 1, 1, 2, 1, 1)),
        "--json", "--client-id", "C7", "--date", "2026-03-02", "--previous", visit1,
        "--sex", "male",
    )  # fmt: skip
    assert second.exit_code == 0, second.output
    change = json.loads(second.stdout)["instruments"][0]["scores"][0]["change"]
    assert (change["difference"], change["rci"], change["reliable"]) == (-6.0, -3.65, True)
    assert change["previous_date"] == "2026-01-05"
    other = invoke(
        "intake", "-i", "phq-9", "--answers", _form(tmp_path, phq(*[0] * 9)),
        "--client-id", "C8", "--previous", visit1,
    )  # fmt: skip
    assert other.exit_code == 2 and "'C7'" in other.output


def test_html_report_has_alert_and_disclaimer(tmp_path):
    html = tmp_path / "report.html"
    result = invoke(
        "intake", "-i", "phq-9", "--answers", _form(tmp_path, phq(2, 2, 2, 1, None, 1, 2, None, 1)),
        "--html", html, "--client-id", "C<9>",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = html.read_text(encoding="utf-8")
    assert "CRITICAL ALERT" in text
    assert "thoughts of death or self-harm" in text and "review suicide risk the same day" in text
    assert "not a diagnosis" in text
    assert "PHQ-9 total 11-17 with 2 items missing: severity band not determined" in text
    assert "C&lt;9&gt;" in text  # escaped
    assert "@page" in text and "@media print" in text
    assert "http://" not in text.replace("http-equiv", "") and "https://" not in text
    assert text.index("CRITICAL ALERT") < text.index("<table>")
    again = invoke(
        "intake", "-i", "phq-9", "--answers", _form(tmp_path, phq(*[0] * 9)), "--html", html
    )
    assert again.exit_code == 2 and "--force" in again.output


def _form(tmp_path, answers):
    path = tmp_path / f"form{len(list(tmp_path.iterdir()))}.json"
    path.write_text(json.dumps(answers))
    return path


# ---- interactive ------------------------------------------------------------------------------

# x (invalid) -> 2; b goes back to item 1 -> 1; item 2 "several days" -> 1; item 3 skipped;
# r reviews, then item 4 = 3; items 5-8 = 0; item 9 = 1; item 10 (unscored) = 0.
# Total: 1 + 1 + 3 + 1 = 6 over 8 answered -> 6 * 9 / 8 = 6.75 -> 7 (mild); range 6..9, mild.
# Enter on the review screen scores.
INTERACTIVE = "x\n2\nb\n1\nseveral days\ns\nr\n3\n0\n0\n0\n0\n1\n0\n\n"


def test_interactive_skip_back_invalid_review(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    progress = tmp_path / "p.json"
    result = invoke(
        "intake", "-i", "phq-9", "--json", "--save-progress", progress, input=INTERACTIVE
    )
    assert result.exit_code == 0, result.output
    assert "x is not an answer here. Allowed:" in result.stderr
    assert "Allowed: 0=Not at all, 1=Several days" in result.stderr
    assert "Answers so far" in result.stderr
    assert "CRITICAL: Item 9 endorsed" in result.stderr  # said at once, while filling in
    assert "current answer: 2 = More than half the days" in result.stderr  # after b
    payload = json.loads(result.stdout)
    inst = payload["instruments"][0]
    assert inst["answered"]["phq9_1"] == {"code": 1.0, "anchor": "Several days"}
    assert inst["answered"]["phq9_3"] == {"missing": "blank"}
    total = inst["scores"][0]
    assert (total["value"], total["n"], total["status"]) == (7.0, 8, "prorated")
    assert total["range"]["text"] == (
        "PHQ-9 total 6-9 with 1 item missing: severity band settled: mild whatever the missing "
        "item; cutoff band settled: below cut-off whatever the missing item"
    )
    assert payload["alerts"][0]["item"] == "phq9_9"
    assert not progress.exists()  # deleted on completion
    assert list(tmp_path.iterdir()) == []


def test_interrupt_then_resume(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # three answers, then end of input (as Ctrl-C): saved to the default progress file
    first = invoke("intake", "-i", "phq-9", "--client-id", "C 3", input="3\n3\nnearly every day\n")
    assert first.exit_code == 130
    saved = tmp_path / ".psyscore-intake-C_3.json"
    state = json.loads(saved.read_text())
    assert state["position"] == 3
    assert state["answers"] == {"phq-9": {"phq9_1": 3, "phq9_2": 3, "phq9_3": 3}}
    assert f"--resume {saved.name}" in first.output
    # starting afresh would overwrite it: refused
    again = invoke("intake", "-i", "phq-9", "--client-id", "C 3", input="0\n")
    assert again.exit_code == 2 and "--resume" in again.output
    # resume: instruments and client come from the file; items 4-9 = 3, item 10 = 0: 9 * 3 = 27
    rest = invoke("intake", "--resume", saved, "--json", input="3\n3\n3\n3\n3\n3\n0\n\n")
    assert rest.exit_code == 0, rest.output
    payload = json.loads(rest.stdout)
    assert payload["client_id"] == "C 3"
    total = payload["instruments"][0]["scores"][0]
    assert (total["value"], total["bands"]["severity"]) == (27.0, "severe")
    assert not saved.exists()


@pytest.mark.parametrize("args", [["--answers", "x.yaml"], []])
def test_needs_instruments(args):
    result = invoke("intake", *args)
    assert result.exit_code == 2
    assert "--instrument" in result.output


def test_one_row_sav_keeps_user_missing_reason(tmp_path):
    import pandas as pd
    import pyreadstat

    df = pd.DataFrame({f"phq9_{i}": [0.0] for i in range(1, 10)})
    df["phq9_9"] = 99.0  # declared user-missing "Refused" in the file: never scored as 99
    path = tmp_path / "one.sav"
    pyreadstat.write_sav(
        df,
        str(path),
        missing_ranges={"phq9_9": [99]},
        variable_value_labels={"phq9_9": {99.0: "Refused"}},
    )
    result = invoke("intake", "-i", "phq-9", "--answers", path, "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["instruments"][0]["answered"]["phq9_9"] == {"missing": "refused"}
    (alert,) = payload["alerts"]
    assert alert["kind"] == "unanswered" and "(refused)" in alert["message"]
    # eight zeros, item 9 missing: 0 * 9 / 8 = 0; range 0..3, minimal either way
    total = payload["instruments"][0]["scores"][0]
    assert (total["value"], total["range"]["high"]) == (0.0, 3.0)
