"""`psyscore intake` inputs get the checks `psyscore score` makes: value labels, user-missing codes,
--map with recodes, the shifted-code check; malformed --previous and answers files are clear errors;
a critical alert is printed whatever fails after scoring; --previous must be comparable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from psyscore.cli import app
from psyscore.errors import DataError
from psyscore.instrument import definition_hash
from psyscore.intake import score_form
from psyscore.io import Table, read_table, write_table
from psyscore.library import resolve_instruments

from .conftest import ROOT

runner = CliRunner()
QUALTRICS = ROOT / "sample_data" / "qualtrics_export.sav"
QUALTRICS_MAP = ROOT / "sample_data" / "qualtrics_map.yaml"
GAD = resolve_instruments(["gad-7"])
PHQ = resolve_instruments(["phq-9"])


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def _row_sav(path: Path, index: int) -> Path:
    full = read_table(QUALTRICS)
    row = Table(
        data=full.data.iloc[index : index + 1].reset_index(drop=True),
        labels=full.labels,
        value_labels=full.value_labels,
        missing_ranges=full.missing_ranges,
        measure=full.measure,
        formats=full.formats,
    )
    write_table(row, path)
    return path


@pytest.fixture(scope="module")
def one_row(tmp_path_factory) -> Path:
    """Row 1 of the Qualtrics export, as a .sav with its value labels (GAD-7 1 = 'Not at all').

    Its GAD-7 answers are 3, 2, 2, 2, 2, 2, 2: taken as codes that is 15 ("severe"), but the labels
    say 1 = Not at all, so the true codes are 2, 1, 1, 1, 1, 1, 1: 8 ("mild").
    """
    full = read_table(QUALTRICS)
    row = Table(
        data=full.data.iloc[:1].reset_index(drop=True),
        labels=full.labels,
        value_labels=full.value_labels,
        missing_ranges=full.missing_ranges,
        measure=full.measure,
        formats=full.formats,
    )
    path = tmp_path_factory.mktemp("intake") / "one_row.sav"
    write_table(row, path)
    assert list(full.data.loc[0, [f"GAD7_{i}" for i in range(1, 8)]]) == [3, 2, 2, 2, 2, 2, 2]
    return path


# ---- point 1: the same recode checks as `score` ------------------------------------------------


def test_score_refuses_the_labelled_row(one_row, tmp_path):
    result = invoke("score", one_row, "-i", "gad-7", "-o", tmp_path / "out.csv")
    assert result.exit_code == 1
    assert "do not match the definition's scale" in result.output


def test_intake_refuses_the_labelled_row_like_score(one_row):
    result = invoke("intake", "-i", "gad-7", "--answers", one_row, "--json")
    assert result.exit_code == 1, result.output
    assert result.stdout == ""  # no scores at all, least of all 15 "severe"
    assert "severe" not in result.output
    assert "do not match the definition's scale" in result.stderr
    assert str(one_row) in result.stderr  # names the file
    assert "GAD7_1: {recode:" in result.stderr  # and prints the mapping that fixes it


def test_intake_with_map_scores_the_true_codes(one_row):
    result = invoke("intake", "-i", "gad-7", "--answers", one_row, "--map", QUALTRICS_MAP, "--json")
    assert result.exit_code == 0, result.output
    total = json.loads(result.stdout)["instruments"][0]["scores"][0]
    assert (total["value"], total["bands"]["severity"]) == (8.0, "mild")


def test_intake_terminal_report_with_map(one_row):
    result = invoke("intake", "-i", "gad-7", "--answers", one_row, "--map", QUALTRICS_MAP)
    assert result.exit_code == 0, result.output
    assert "mild" in result.output and "severe" not in result.output


def test_score_form_api_checks_value_labels():
    labels = {f"GAD7_{i}": {1.0: "Not at all", 2.0: "Several days"} for i in range(1, 8)}
    answers = {f"GAD7_{i}": 2.0 for i in range(1, 8)}
    with pytest.raises(DataError, match="do not match"):
        score_form(GAD, answers, value_labels=labels)
    recodes = {c: {1: 0, 2: 1, 3: 2, 4: 3} for c in answers}
    result = score_form(GAD, answers, value_labels=labels, recodes=recodes)
    assert result.instruments[0].scores[0].value == 7.0


def test_map_renames_answer_keys(tmp_path):
    form = tmp_path / "form.yaml"
    form.write_text("".join(f"Q{i}: 1\n" for i in range(1, 8)))
    mapping = tmp_path / "map.yaml"
    mapping.write_text("".join(f"Q{i}: gad7_{i}\n" for i in range(1, 8)))
    result = invoke("intake", "-i", "gad-7", "--answers", form, "--map", mapping, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["instruments"][0]["scores"][0]["value"] == 7.0


def test_map_that_names_an_unknown_column_is_a_usage_error(tmp_path):
    form = tmp_path / "form.yaml"
    form.write_text("".join(f"gad7_{i}: 1\n" for i in range(1, 8)))
    mapping = tmp_path / "map.yaml"
    mapping.write_text("Q9: gad7_1\n")
    result = invoke("intake", "-i", "gad-7", "--answers", form, "--map", mapping)
    assert result.exit_code == 2
    assert "Q9" in result.output


# ---- point 4: malformed --previous and answers files are clear errors; alerts always shown ----

ITEM_9 = {**{f"phq9_{i}": 0 for i in range(1, 9)}, "phq9_9": 2}  # item 9 endorsed: critical


def _form(tmp_path: Path, answers: dict, name: str = "form.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(answers))
    return path


def _previous(tmp_path: Path, answers: dict | None = None, **changes) -> tuple[Path, dict]:
    payload = score_form(PHQ, answers or ITEM_9, date="2026-01-05").to_dict()
    payload = json.loads(json.dumps(payload))
    for dotted, value in changes.items():
        target = payload
        *path, last = dotted.split("__")
        for key in path:
            target = target[int(key)] if isinstance(target, list) else target[key]
        target[last] = value
    path = tmp_path / "previous.json"
    path.write_text(json.dumps(payload))
    return path, payload


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"instruments__0__scores__0__bands": "mild"}, "instruments[0].scores[0].bands"),
        ({"instruments": None}, "instruments"),
        ({"instruments__0__scores__0__value": True}, "instruments[0].scores[0].value"),
        ({"instruments__0__scores__0__value": "12"}, "instruments[0].scores[0].value"),
        ({"instruments__0__scores": {"total": 3}}, "instruments[0].scores"),
        ({"instruments__0__id": 7}, "instruments[0].id"),
        ({"instruments__0__definition_sha256": 5}, "instruments[0].definition_sha256"),
    ],
)
def test_malformed_previous_is_a_usage_error_naming_file_and_field(tmp_path, change, field):
    previous, _ = _previous(tmp_path, **change)
    result = invoke("intake", "-i", "phq-9", "--answers", _form(tmp_path, ITEM_9),
                    "--previous", previous)  # fmt: skip
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # a message, no traceback
    flat = " ".join(result.output.split())
    assert str(previous) in flat.replace(" ", "") or previous.name in flat
    assert field in flat


@pytest.mark.parametrize("bad", [[1, 2], {"a": {"b": 1}}])
def test_list_valued_answer_is_a_usage_error(tmp_path, bad):
    answers = dict(ITEM_9)
    answers["phq9_3"] = bad if isinstance(bad, list) else None
    if isinstance(bad, dict):
        answers = {"phq-9": {**ITEM_9, "phq9_3": bad}}
    form = tmp_path / "form.yaml"
    import yaml

    form.write_text(yaml.safe_dump(answers))
    result = invoke("intake", "-i", "phq-9", "--answers", form)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    flat = " ".join(result.output.split())
    assert "phq9_3" in flat and "one value" in flat


def test_alert_is_printed_before_an_error_after_scoring(tmp_path, monkeypatch):
    import psyscore.intake

    def broken(*args, **kwargs):
        from psyscore.errors import UsageError

        raise UsageError("comparison failed")

    monkeypatch.setattr(psyscore.intake, "compare", broken)
    previous, _ = _previous(tmp_path)
    result = invoke("intake", "-i", "phq-9", "--answers", _form(tmp_path, ITEM_9),
                    "--previous", previous, "--json")  # fmt: skip
    assert result.exit_code == 2
    assert "CRITICAL ALERT" in result.stderr
    assert result.stderr.index("CRITICAL ALERT") < result.stderr.index("comparison failed")


def test_alert_survives_a_crash_in_the_report(tmp_path, monkeypatch):
    import psyscore.report.intake_terminal as terminal

    def broken(console, result):
        raise RuntimeError("renderer bug")

    monkeypatch.setattr(terminal, "render", broken)
    result = invoke("intake", "-i", "phq-9", "--answers", _form(tmp_path, ITEM_9))
    assert isinstance(result.exception, RuntimeError)
    assert "CRITICAL ALERT" in result.stderr


def test_client_mismatch_is_refused_before_scoring(tmp_path):
    previous, _ = _previous(tmp_path, client_id="C7")
    result = invoke("intake", "-i", "phq-9", "--answers", _form(tmp_path, ITEM_9),
                    "--client-id", "C8", "--previous", previous)  # fmt: skip
    assert result.exit_code == 2 and "'C7'" in result.output


# ---- point 5: --previous must be comparable ----------------------------------------------------


def test_json_records_the_definition_hash():
    payload = score_form(PHQ, ITEM_9).to_dict()
    assert payload["instruments"][0]["definition_sha256"] == definition_hash(PHQ[0])


def test_previous_from_another_definition_is_not_compared(tmp_path):
    previous, payload = _previous(
        tmp_path, answers={f"phq9_{i}": 3 for i in range(1, 10)},
        instruments__0__definition_sha256="0" * 64,
    )  # fmt: skip
    result = invoke("intake", "-i", "phq-9", "--answers", _form(tmp_path, ITEM_9),
                    "--previous", previous, "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    total = json.loads(result.stdout)["instruments"][0]["scores"][0]
    assert total["value"] == 2.0  # the current score is still reported
    assert total["change"] is None  # 27 -> 2 is not a "reliable change": it is not comparable
    assert "different definition" in total["change_note"]
    assert "different definition" in result.stderr
    terminal = invoke("intake", "-i", "phq-9", "--answers", _form(tmp_path, ITEM_9),
                      "--previous", previous)  # fmt: skip
    assert "different definition" in " ".join(terminal.output.split())
    assert "reliable change" not in terminal.output


def test_previous_of_another_instrument_is_not_compared(tmp_path):
    gad = score_form(GAD, {f"gad7_{i}": 3 for i in range(1, 8)}).to_dict()
    previous = tmp_path / "previous.json"
    previous.write_text(json.dumps(gad))
    now = score_form(PHQ, ITEM_9)
    from psyscore.intake import compare

    compare(now, gad, PHQ)
    total = now.instruments[0].scores[0]
    assert total.change is None and "no phq-9" in total.change_note


def test_previous_with_the_same_definition_is_compared(tmp_path):
    previous, _ = _previous(tmp_path, answers={f"phq9_{i}": 3 for i in range(1, 10)})
    result = invoke("intake", "-i", "phq-9", "--answers", _form(tmp_path, ITEM_9),
                    "--previous", previous, "--json", "--sex", "male")  # fmt: skip
    total = json.loads(result.stdout)["instruments"][0]["scores"][0]
    assert total["change"]["difference"] == -25.0 and total["change"]["reliable"] is True
    assert total["change_note"] is None


def test_previous_without_a_hash_is_compared_with_a_caveat(tmp_path):
    previous, payload = _previous(tmp_path, answers={f"phq9_{i}": 3 for i in range(1, 10)})
    del payload["instruments"][0]["definition_sha256"]
    previous.write_text(json.dumps(payload))
    result = invoke("intake", "-i", "phq-9", "--answers", _form(tmp_path, ITEM_9),
                    "--previous", previous, "--json")  # fmt: skip
    total = json.loads(result.stdout)["instruments"][0]["scores"][0]
    assert total["change"]["difference"] == -25.0
    assert "hash" in total["change_note"]


def test_html_report_shows_why_there_is_no_change(tmp_path):
    from psyscore.intake import compare
    from psyscore.report.intake_html import render_html

    before = score_form(PHQ, ITEM_9).to_dict()
    before["instruments"][0]["definition_sha256"] = "f" * 64
    now = score_form(PHQ, ITEM_9)
    compare(now, before, PHQ)
    html = render_html(now)
    assert html.count("different definition") == 1  # once per instrument, not once per score


def test_an_intake_result_given_as_answers_is_scored_again(tmp_path):
    # issue 11: the JSON of `intake --json` re-scores the same form (tests/test_intake_ux.py)
    saved = score_form(PHQ, ITEM_9).to_dict()
    result_file = _form(tmp_path, saved, name="visit.json")
    result = invoke("intake", "-i", "phq-9", "--answers", result_file, "--json")
    assert result.exit_code == 0, result.output
    again = json.loads(result.stdout)
    assert again["instruments"][0]["answered"] == saved["instruments"][0]["answered"]


def test_malformed_answer_does_not_hide_an_endorsed_critical_item(tmp_path):
    form = _form(tmp_path, {**ITEM_9, "phq9_3": [1, 2]})
    result = invoke("intake", "-i", "phq-9", "--answers", form)
    assert result.exit_code == 2
    assert "CRITICAL ALERT" in result.stderr  # item 9 = 2 is still seen, before the error
    assert result.stderr.index("CRITICAL ALERT") < result.stderr.index("error:")
    assert "phq9_3 is a list" in " ".join(result.stderr.split())


def test_a_survey_preview_row_is_scored_with_a_warning(tmp_path):
    full = read_table(QUALTRICS)
    preview = int(full.data.index[full.data["Status"] == 1][0])
    path = _row_sav(tmp_path / "preview.sav", preview)
    result = invoke("intake", "-i", "gad-7", "--answers", path, "--map", QUALTRICS_MAP, "--json")
    assert result.exit_code == 0, result.output
    assert "survey preview" in " ".join(result.stderr.split())
    assert json.loads(result.stdout)["instruments"][0]["scores"][0]["value"] is not None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"instruments": None, "answers": {}}, None),  # null: take the instruments from options
        ({"instruments": "phq-9"}, "instruments"),
        ({"position": "3"}, "position"),
        ({"answers": {"phq-9": [1, 2]}}, "answers"),
        ({"answers": {"phq-9": {"phq9_1": [1]}}}, "answers.phq-9.phq9_1"),
    ],
)
def test_malformed_progress_file_is_a_usage_error(tmp_path, change, field):
    progress = tmp_path / "progress.json"
    state = {"psyscore_intake_progress": 1, "client_id": None, "date": "2026-01-05",
             "instruments": ["phq-9"], "position": 0, "answers": {}}  # fmt: skip
    state.update(change)
    progress.write_text(json.dumps(state))
    result = invoke("intake", "--resume", progress)
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2
    flat = " ".join(result.output.split())
    if field is None:
        assert "--instrument" in flat
    else:
        assert progress.name in flat and field in flat


def test_alias_bomb_in_an_answers_file_is_refused_at_once(tmp_path):
    import time

    bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        bomb.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    bomb.append("phq9_1: *a8")
    answers = tmp_path / "bomb.yaml"
    answers.write_text("\n".join(bomb) + "\n")
    from typer.testing import CliRunner

    from psyscore.cli import app

    start = time.perf_counter()
    result = CliRunner().invoke(app, ["intake", "-i", "phq-9", "--answers", str(answers), "--json"])
    assert time.perf_counter() - start < 5
    assert result.exit_code == 2
    assert "bomb.yaml" in result.output


# ---- one pipeline: intake reads and resolves as `score` does (issue 14) -----------------------


def test_a_yaml_form_with_an_unknown_map_item_names_the_map_file_and_line(tmp_path):
    """The map is checked against the instruments first, as by `score`: the typo is named in the
    map file, not reported as an answer that is no item."""
    form = tmp_path / "form.yaml"
    form.write_text("".join(f"Q{i}: 1\n" for i in range(1, 8)))
    mapping = tmp_path / "map.yaml"
    mapping.write_text("".join(f"Q{i}: gad7_{i}\n" for i in range(1, 7)) + "Q7: gad7_07\n")
    result = invoke("intake", "-i", "gad-7", "--answers", form, "--map", mapping, "--json")
    assert result.exit_code == 2, result.output
    assert f"{mapping}:7: entry 'Q7': gad7_07 is not an item of gad-7" in result.output
    assert result.stdout == ""


def test_score_form_takes_the_survey_psyscore_read_returns(one_row):
    import psyscore

    with pytest.raises(DataError, match="do not match") as refused:
        score_form(GAD, psyscore.read(one_row))
    assert str(refused.value).startswith(str(one_row))  # the file is named, as by `score`
    result = score_form(GAD, psyscore.read(one_row, map=QUALTRICS_MAP))
    total = result.instruments[0].scores[0]
    assert (total.value, total.bands["severity"]) == (8.0, "mild")


def test_score_form_refuses_a_second_mapping_beside_a_survey(one_row):
    import psyscore
    from psyscore.errors import UsageError

    with pytest.raises(UsageError, match="holds its own mapping"):
        score_form(GAD, psyscore.read(one_row), recodes={"GAD7_1": {1: 0}})
