"""The command line, through typer's CliRunner and one real subprocess of the installed script."""

from __future__ import annotations

import json
import shutil
import subprocess

import pandas as pd
import pyreadstat
import pytest
from typer.testing import CliRunner

from psyscore.cli import app

from .conftest import DATA, ROOT

runner = CliRunner()
SAMPLE_CSV = ROOT / "sample_data" / "intake_batch.csv"
SAMPLE_SAV = ROOT / "sample_data" / "intake_batch.sav"


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def small_csv(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("rid,site,toy_1,toy_2,toy_3,toy_4\na,x,3,3,3,3\nb,y,5,1,,4\na,z,3,3,33,3\n")
    return path


def test_score_keeps_every_input_row_and_column_in_order(small_csv, tmp_path):
    out = tmp_path / "out.csv"
    result = invoke("score", small_csv, "-i", DATA / "toy.yaml", "-o", out, "--id-column", "rid")
    assert result.exit_code == 1  # the duplicate id and the 33 are data problems
    scored = pd.read_csv(out, keep_default_na=False)
    assert list(scored.columns[:6]) == ["rid", "site", "toy_1", "toy_2", "toy_3", "toy_4"]
    assert scored["rid"].tolist() == ["a", "b", "a"]
    assert scored["toy_3"].astype(str).tolist() == ["3", "", "33"]  # input values untouched
    # row 1: 12; row 2: keyed 5,5,-,4 -> 14/3*4 = 18.7; row 3: 33 is invalid -> not scored
    assert scored["toy_total"].tolist() == ["12.0", "18.7", ""]
    assert scored["toy_total_status"].tolist() == [
        "scored",
        "prorated",
        "not scored: invalid answer in toy_3",
    ]
    assert "duplicate_id" in result.output and "out_of_range" in result.output


def test_score_json_lists_problems_with_row_column_value(small_csv, tmp_path):
    result = invoke("score", small_csv, "-i", DATA / "toy.yaml", "-o", tmp_path / "o.csv", "--json")
    payload = json.loads(result.stdout)
    assert result.exit_code == 1
    assert payload["outputs"] == [str(tmp_path / "o.csv")]
    assert payload["problems"] == [
        {
            "kind": "out_of_range",
            "message": "'33' is not an answer to toy_3; no score that uses toy_3 is given "
            "for this row",
            "hint": "allowed: 1=Strongly disagree, 2=Disagree, 3=Neutral, 4=Agree, 5=Strongly agree",
            "column": "toy_3",
            "row": 3,
            "value": "33",
            "instrument": "toy-4",
            "file": "in.csv",
            "file_row": 4,  # line 4 of the CSV: the header is line 1
        }
    ]
    total = payload["instruments"][0]["scores"][1]
    assert (total["score"], total["scored"], total["prorated"], total["not_scored"]) == (
        "total",
        1,
        1,
        1,
    )


def test_clean_data_exits_zero(tmp_path):
    path = tmp_path / "clean.csv"
    path.write_text("toy_1,toy_2,toy_3,toy_4\n1,5,1,1\n")
    result = invoke("score", path, "-i", DATA / "toy.yaml", "-o", tmp_path / "o.csv")
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "o.csv")["toy_total"].tolist() == [4.0]


def test_refuses_to_overwrite_input_or_existing_output(small_csv, tmp_path):
    before = small_csv.read_bytes()
    result = invoke("score", small_csv, "-i", DATA / "toy.yaml", "-o", small_csv, "--force")
    assert result.exit_code == 2
    assert "refusing to overwrite the input file" in result.output
    assert small_csv.read_bytes() == before
    existing = tmp_path / "exists.csv"
    existing.write_text("keep me")
    result = invoke("score", small_csv, "-i", DATA / "toy.yaml", "-o", existing)
    assert result.exit_code == 2
    assert "already exists; use --force" in result.output
    assert existing.read_text() == "keep me"


def test_usage_errors_exit_two_without_traceback(small_csv, tmp_path):
    result = invoke("score", small_csv, "-i", "no-such-scale", "-o", tmp_path / "o.csv")
    assert result.exit_code == 2
    assert "unknown instrument 'no-such-scale'" in result.output
    assert "Traceback" not in result.output
    result = invoke("score", tmp_path / "missing.csv", "-i", "phq-9", "-o", tmp_path / "o.csv")
    assert result.exit_code == 2
    assert "missing.csv: no such file" in result.output


def test_no_matching_columns_is_a_usage_error(small_csv, tmp_path):
    result = invoke("score", small_csv, "-i", "phq-9", "-o", tmp_path / "o.csv")
    assert result.exit_code == 2
    assert "no column of the data matches an item of phq-9" in result.output
    assert not (tmp_path / "o.csv").exists()


def test_mapping_file(tmp_path):
    data = tmp_path / "q.csv"
    data.write_text("Q1,Q2,Q3,Q4\n2,4,2,2\n")
    mapping = tmp_path / "map.yaml"
    mapping.write_text("Q1: toy_1\nQ2: toy_2\nQ3: toy_3\nQ4: toy_4\n")
    result = invoke(
        "score", data, "-i", DATA / "toy.yaml", "-o", tmp_path / "o.csv", "--map", mapping
    )
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "o.csv")["toy_total"].tolist() == [8.0]


def test_sample_sav_to_sav_keeps_metadata_and_user_missing(tmp_path):
    out = tmp_path / "scored.sav"
    result = invoke("score", SAMPLE_SAV, "-i", "phq-9", "-o", out)
    assert result.exit_code == 1  # the sample has two deliberate typos
    data, meta = pyreadstat.read_sav(str(out), user_missing=True)
    src, src_meta = pyreadstat.read_sav(str(SAMPLE_SAV), user_missing=True)
    assert list(data.columns[: src.shape[1]]) == list(src.columns)
    pd.testing.assert_frame_equal(data[src.columns], src, check_dtype=False)
    assert meta.column_names_to_labels["phq9_total"] == (
        "PHQ-9 total (depression severity) (prorated sum of 9 items, range 0-27)"
    )
    assert meta.variable_value_labels["phq9_total_band"] == {
        1.0: "minimal",
        2.0: "mild",
        3.0: "moderate",
        4.0: "moderately severe",
        5.0: "severe",
    }
    assert meta.variable_measure["phq9_total"] == "scale"
    assert meta.variable_measure["phq9_total_band"] == "ordinal"
    assert meta.missing_ranges["phq9_1"] == src_meta.missing_ranges["phq9_1"]
    assert any("Scored by psyscore" in n for n in meta.notes)
    # 99 is declared user-missing (refused) in the file: it is never scored as an answer
    refused = src["phq9_1"] == 99
    assert refused.any()
    assert (data.loc[refused, "phq9_total_n"] < 9).all()


def test_instruments_list_json():
    result = invoke("instruments", "list", "--json")
    rows = {r["id"]: r for r in json.loads(result.stdout)}
    assert rows["phq-9"]["items"] == 10 and rows["phq-9"]["verified"] is True
    assert rows["phq-9"]["scores"] == ["total"]


def test_instruments_show_prints_scoring_sheet():
    from psyscore.library import load
    from psyscore.report.scoresheet import scoresheet_markdown

    sheet = scoresheet_markdown(load("phq-9"))
    assert "0-4 minimal; 5-9 mild; 10-14 moderate; 15-19 moderately severe; 20-27 severe" in sheet
    assert "at least 7 of 9 items answered" in sheet
    result = invoke("instruments", "show", "phq-9")
    assert result.exit_code == 0
    assert "Patient Health Questionnaire-9 (phq-9)" in result.output


def test_validate_reports_failing_example(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (DATA / "toy.yaml").read_text().replace("total: 12, total_band", "total: 13, total_band")
    )
    result = invoke("instruments", "validate", bad)
    assert result.exit_code == 2
    assert "total expected 13, engine gave 12.0" in result.output
    assert invoke("instruments", "validate", DATA / "toy.yaml").exit_code == 0


@pytest.mark.skipif(shutil.which("psyscore") is None, reason="console script not installed")
def test_installed_console_script_scores_sample(tmp_path):
    out = tmp_path / "scored.csv"
    proc = subprocess.run(
        ["psyscore", "score", str(SAMPLE_CSV), "-i", "phq-9", "-o", str(out), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr  # two deliberate typos in the sample
    payload = json.loads(proc.stdout)
    assert [(p["row"], p["column"], p["value"]) for p in payload["problems"]] == [
        (18, "phq9_3", "33"),
        (212, "phq9_6", "5"),
    ]
    assert len(pd.read_csv(out)) == 400
