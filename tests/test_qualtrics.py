"""Qualtrics exports (CSV/XLSX with three header rows, SPSS), mapping files with recodes, and the
checks that stop codes shifted by a survey tool from being scored."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from psyscore import load
from psyscore.batch import score_table
from psyscore.cli import app
from psyscore.cli.options import table_file_missing
from psyscore.errors import DataError, UsageError
from psyscore.io import read_table
from psyscore.io.qualtrics import response_exclusions
from psyscore.mapping import load_mapping, parse_mapping
from psyscore.responses import apply_recode

from .conftest import DATA, ROOT

SAMPLE = ROOT / "sample_data"
MAP = SAMPLE / "qualtrics_map.yaml"
PREVIEWS, SPAM = [5, 150, 300], [77, 333]  # 0-based data rows, from sample_data/generate.py
BUNDLE = ["mrni-sf", "erq", "atspph-sf", "phq-9", "gad-7", "csi-4"]


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def exports():
    return {
        kind: read_table(SAMPLE / f"qualtrics_export.{kind}") for kind in ("csv", "xlsx", "sav")
    }


def test_header_rows_are_dropped_and_question_text_kept(exports):
    for kind in ("csv", "xlsx"):
        table = exports[kind]
        assert len(table.data) == 405  # 400 respondents + 3 previews + 2 spam
        assert list(table.data.columns[:3]) == ["StartDate", "EndDate", "Status"]
        assert table.labels["Status"] == "Response Type"
        assert table.labels["GAD7_1"].startswith("Generalized Anxiety Disorder 7-item scale - ")
        assert table.row_numbers[0] == 4 and table.row_numbers[-1] == 408  # rows 2-3 are headers
        assert any("Qualtrics export" in n for n in table.notes)
    # numbers are numbers again once the text header rows are gone
    assert pd.api.types.is_integer_dtype(exports["csv"].data["PHQ9_1"].dtype)
    assert exports["csv"].data["PHQ9_1"].iloc[0] == exports["sav"].data["PHQ9_1"].iloc[0]


def test_previews_and_spam_are_found_in_every_format(exports):
    for kind, table in exports.items():
        found = response_exclusions(table.data, table.value_labels)
        reasons = pd.Series(found.reasons)
        assert found.counts == {"survey preview": 3, "spam": 2}, kind
        assert reasons[reasons.notna()].index.tolist() == sorted(PREVIEWS + SPAM)
        assert reasons[PREVIEWS].tolist() == ["survey preview"] * 3
        assert found.keep(previews=True).counts == {"spam": 2}
        assert found.keep(previews=True, spam=True).reasons is None


def test_not_qualtrics_means_no_exclusions():
    # a study's own "Status" column is not a Qualtrics response type without ResponseId
    data = pd.DataFrame({"Status": [1, 8], "phq9_1": [0, 1]})
    assert response_exclusions(data).reasons is None


def test_three_formats_score_identically(exports):
    mapping = load_mapping(MAP)
    insts = [load(i) for i in BUNDLE]
    totals = {}
    for kind, table in exports.items():
        result = score_table(
            table.data,
            insts,
            mapping=mapping.items,
            recodes=mapping.recodes,
            value_labels=table.value_labels,
        )
        totals[kind] = result.table[["phq9_total", "gad7_total", "mrnisf_total", "csi4_total"]]
    pd.testing.assert_frame_equal(totals["csv"], totals["sav"])
    pd.testing.assert_frame_equal(totals["csv"], totals["xlsx"])
    # recoded GAD-7 lies within 0-21, never shifted up by 7
    assert totals["csv"]["gad7_total"].max() <= 21 and totals["csv"]["gad7_total"].min() == 0


@pytest.mark.parametrize("kind", ["csv", "sav"])
def test_shifted_recode_values_stop_scoring(exports, kind):
    table = exports[kind]
    with pytest.raises(DataError) as err:
        score_table(table.data, [load("gad-7")], value_labels=table.value_labels)
    text = str(err.value)
    assert "GAD7_1" in text and "--map" in text
    assert "GAD7_1: {recode: &r1 {1: 0, 2: 1, 3: 2, 4: 3}}" in text
    assert "GAD7_7: {recode: *r1}" in text
    if kind == "sav":  # the value labels say exactly what is wrong
        assert "say 1 = 'Not at all', but gad-7 codes 'Not at all' as 0" in text


def test_score_cli_qualtrics_sav_to_sav(tmp_path):
    out = tmp_path / "scored.sav"
    refused = invoke("score", SAMPLE / "qualtrics_export.sav", "-i", "program-intake", "-o", out)
    assert refused.exit_code == 1 and not out.exists()
    assert "GAD7_2: {recode: *r1}" in refused.output

    done = invoke(
        "score", SAMPLE / "qualtrics_export.sav", "-i", "program-intake", "--map", MAP,
        "-o", out, "--json",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    payload = json.loads(done.stdout)
    assert payload["excluded"] == {"survey preview": 3, "spam": 2}
    back = read_table(out)
    assert len(back.data) == 405  # excluded rows are kept, unscored
    status = back.data["gad7_total_status"].map(back.value_labels["gad7_total_status"])
    assert status[PREVIEWS].tolist() == ["excluded: survey preview"] * 3
    assert status[SPAM].tolist() == ["excluded: spam"] * 2
    assert back.data["gad7_total"][PREVIEWS + SPAM].isna().all()
    assert back.data["gad7_total"].notna().sum() > 380
    assert back.labels["GAD7_1"].startswith("Generalized Anxiety Disorder")  # question text kept

    again = tmp_path / "with_previews.sav"
    kept = invoke(
        "score", SAMPLE / "qualtrics_export.sav", "-i", "gad-7", "--map", MAP, "-o", again,
        "--include-previews", "--include-spam", "--json",
    )  # fmt: skip
    assert kept.exit_code == 0 and json.loads(kept.stdout)["excluded"] == {}
    assert read_table(again).data["gad7_total"][PREVIEWS].notna().all()


def test_inspect_reports_recode_mismatch_and_exclusions():
    result = invoke("inspect", SAMPLE / "qualtrics_export.csv", "-i", "gad-7", "--json")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["excluded_by_default"] == {"survey preview": 3, "spam": 2}
    gad = next(r for r in payload["instruments"] if r["id"] == "gad-7")
    kinds = {p["kind"] for p in gad["problems"]}
    assert "recode_mismatch" in kinds
    fixed = invoke(
        "inspect", SAMPLE / "qualtrics_export.csv", "-i", "gad-7", "--map", MAP, "--json"
    )
    gad = next(r for r in json.loads(fixed.stdout)["instruments"] if r["id"] == "gad-7")
    assert gad["problems"] == []


def test_problem_rows_point_at_the_file_row(tmp_path):
    path = tmp_path / "q.csv"
    header = ",".join(["ResponseId", "Status"] + [f"GAD7_{i}" for i in range(1, 8)])
    questions = ",".join(["Response ID", "Response Type"] + [f"item {i}" for i in range(1, 8)])
    ids = ",".join(f'"{{""ImportId"":""QID{i}""}}"' for i in range(9))
    rows = ["R_1,0," + ",".join(["1"] * 7), "R_2,0," + ",".join(["2"] * 6 + ["7"])]
    path.write_text("\n".join([header, questions, ids, *rows]) + "\n", encoding="utf-8")
    result = invoke("score", path, "-i", "gad-7", "-o", tmp_path / "o.csv", "--json")
    problem = json.loads(result.stdout)["problems"][0]
    assert (problem["row"], problem["file_row"], problem["value"]) == (2, 5, "7")


def test_recode_is_applied_all_at_once_and_keeps_other_values():
    raw = pd.Series([0, 1, 2, -99, np.nan])
    # 1 -> 0 and 0 -> 5 at once: 1 becomes 0, it does not go on to become 5
    out = apply_recode(raw, {1: 0, 0: 5})
    assert out.tolist()[:4] == [5.0, 0.0, 2.0, -99.0] and np.isnan(out.iloc[4])
    text = apply_recode(pd.Series(["SA", " sa", "D", None]), {"SA": 3, "D": 1})
    assert text.tolist()[:3] == [3.0, 3.0, 1.0]


def test_recode_from_mapping_file_is_used_for_scoring():
    data = pd.DataFrame({f"Q{i}": [1, 4, 2] for i in range(1, 8)})
    mapping = parse_mapping(
        {f"Q{i}": {"item": f"gad7_{i}", "recode": {1: 0, 2: 1, 3: 2, 4: 3}} for i in range(1, 8)}
    )
    result = score_table(data, [load("gad-7")], mapping=mapping.items, recodes=mapping.recodes)
    assert result.table["gad7_total"].tolist() == [0.0, 21.0, 7.0]
    assert result.table["Q1"].tolist() == [1, 4, 2]  # the data itself is untouched


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"Q1": 3}, "entry 'Q1': give an item id"),
        ({"Q1": {"itme": "phq9_1"}}, "unknown key(s) itme"),
        ({"Q1": {"recode": {1: "zero"}}}, "recode target for 1 must be a number"),
        ({"Q1": {"recode": []}}, "'recode' must map file values to codes"),
        (["Q1"], "a mapping file is 'data column: item id' lines"),
    ],
)
def test_mapping_errors_name_the_entry(entry, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_mapping(entry, "map.yaml")


def test_value_labels_that_disagree_with_the_scale_are_caught():
    data = pd.DataFrame({f"phq9_{i}": [1, 2] for i in range(1, 10)})
    labels = {"phq9_1": {1: "Not at all", 2: "Several days", 3: "More than half the days"}}
    with pytest.raises(DataError, match="phq9_1: {recode: {1: 0, 2: 1, 3: 2}}"):
        score_table(data, [load("phq-9")], value_labels=labels)
    # labels that agree, or that are not anchors at all (99 = refused), are fine
    ok = {"phq9_1": {0: "Not at all", 1: "several days ", 99: "Refused"}}
    assert score_table(data, [load("phq-9")], value_labels=ok).table["phq9_total"].tolist() == [
        9.0,
        18.0,
    ]


def test_portable_file_keeps_labels_and_user_missing_codes(tmp_path):
    # made by GNU PSPP from tests/data/por/make_por.sps; 9 is declared user-missing ("Refused")
    table = read_table(DATA / "por" / "portable.por")
    assert table.data["PHQ9_1"].tolist() == [0.0, 3.0, 9.0]
    assert table.missing_ranges["PHQ9_1"] == [{"lo": 9.0, "hi": 9.0}]
    assert table.labels["PHQ9_1"] == "Little interest"
    assert table.value_labels["PHQ9_1"] == {
        0.0: "Not at all",
        3.0: "Nearly every day",
        9.0: "Refused",
    }
    # the 9 reaches the engine as missing with its reason, not as the answer 9
    result = invoke("score", DATA / "por" / "portable.por", "-i", "phq-9", "-o", tmp_path / "o.sav")
    assert "out_of_range" not in result.output
    items = score_table(table.data, [load("phq-9")], file_missing=table_file_missing(table)).items[
        "phq-9"
    ]
    assert items.reasons_frame()["phq9_1"].tolist() == ["answered", "answered", "refused"]


def test_excel_problem_rows_are_sheet_rows(tmp_path):
    import openpyxl

    path = tmp_path / "form.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Intake survey export"])  # a title row above the header
    sheet.append(["rid"] + [f"gad7_{i}" for i in range(1, 8)])
    sheet.append(["a"] + [1] * 7)
    sheet.append([None] * 8)  # a blank row, dropped
    sheet.append(["b"] + [1] * 6 + [9])
    book.save(path)
    result = invoke("score", path, "-i", "gad-7", "-o", tmp_path / "o.csv", "--json")
    problem = json.loads(result.stdout)["problems"][0]
    assert (problem["row"], problem["file_row"]) == (2, 5)


def test_reliability_leaves_out_previews_and_checks_recodes():
    args = ["reliability", SAMPLE / "qualtrics_export.csv", "-i", "gad-7", "--no-omega", "--json"]
    refused = invoke(*args)
    assert refused.exit_code == 1 and "GAD7_1: {recode: &r1" in refused.output
    payload = json.loads(invoke(*args, "--map", MAP).stdout)
    (score,) = payload["instruments"][0]["scores"]
    assert score["n"] == 400  # 405 rows less 3 previews and 2 spam
    everyone = json.loads(
        invoke(*args, "--map", MAP, "--include-previews", "--include-spam").stdout
    )
    assert everyone["instruments"][0]["scores"][0]["n"] == 405
