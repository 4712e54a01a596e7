"""Excel in and out: header detection, blank rows, round trip of a scored SPSS file, no formulas."""

from __future__ import annotations

import zipfile

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from psyscore.cli import app
from psyscore.errors import DataError, UsageError
from psyscore.io import Table, read_table, write_table

from .conftest import DATA, ROOT

runner = CliRunner()
SAMPLE_SAV = ROOT / "sample_data" / "intake_batch.sav"


def _workbook(path, rows, title="Sheet1", extra=None):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for row in rows:
        ws.append(row)
    for name, more in (extra or {}).items():
        other = wb.create_sheet(name)
        for row in more:
            other.append(row)
    wb.save(path)
    return path


def test_header_found_below_title_rows_and_blank_rows_dropped(tmp_path):
    path = _workbook(
        tmp_path / "in.xlsx",
        [
            ["Intake survey, spring wave"],
            [None],
            ["rid", "toy_1", "toy_2", "note"],
            ["a", 3, 4, "ok"],
            [None, None, None, None],
            ["b", 5, None, None],
        ],
    )
    table = read_table(path)
    assert list(table.data.columns) == ["rid", "toy_1", "toy_2", "note"]
    assert table.data["rid"].tolist() == ["a", "b"]
    assert str(table.data["toy_1"].dtype) == "Int64"
    assert table.data["toy_2"].tolist() == [4, pd.NA]
    assert table.notes == [
        "in.xlsx: skipped 2 title row(s) above the header",
        "in.xlsx: dropped 1 fully blank row(s) (sheet rows 5)",
    ]


def test_named_sheet_and_unknown_sheet(tmp_path):
    path = _workbook(
        tmp_path / "two.xlsx", [["readme text"]], extra={"Responses": [["rid", "x"], ["r1", 2]]}
    )
    assert read_table(path, sheet="Responses").data["x"].tolist() == [2]
    with pytest.raises(UsageError, match=r"no sheet named 'Data'; sheets: 'Sheet1', 'Responses'"):
        read_table(path, sheet="Data")
    with pytest.raises(UsageError, match=r"--sheet applies to .xlsx workbooks only"):
        read_table(DATA / "bad" / "cp1252.csv", sheet="Responses")


def test_duplicate_headers_in_xlsx_are_an_error(tmp_path):
    path = _workbook(tmp_path / "dup.xlsx", [["rid", "q1", "q1"], ["a", 1, 2]])
    with pytest.raises(DataError, match=r"duplicate column names in the header \(row 1\): 'q1'"):
        read_table(path)


def test_score_sav_to_xlsx_round_trip(tmp_path):
    out = tmp_path / "scored.xlsx"
    result = runner.invoke(app, ["score", str(SAMPLE_SAV), "-i", "phq-9", "-o", str(out)])
    assert result.exit_code == 1  # the two deliberate typos in the sample
    import pyreadstat

    raw, meta = pyreadstat.read_sav(str(SAMPLE_SAV), user_missing=True)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["data", "codebook", "problems"]
    ws = wb["data"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(ws.max_column)}401"
    header = [c.value for c in ws[1]]
    assert header[: raw.shape[1]] == list(raw.columns)
    assert ws["A1"].font.b is True
    assert header[raw.shape[1] :][:3] == ["phq9_total", "phq9_total_n", "phq9_total_status"]
    back = pd.read_excel(out, sheet_name="data", engine="openpyxl")
    assert back["respondent_id"].tolist() == raw["respondent_id"].tolist()  # row order kept
    for col in ("age", "phq9_1", "phq9_3", "atspph_2"):
        pd.testing.assert_series_equal(back[col], raw[col], check_names=False, check_dtype=False)
    assert back.loc[17, "phq9_3"] == 33  # typo kept as entered, never scored
    codebook = {r[0]: r for r in wb["codebook"].iter_rows(min_row=2, values_only=True)}
    assert len(codebook) == back.shape[1]
    assert codebook["phq9_1"][1] == meta.column_names_to_labels["phq9_1"]
    assert codebook["phq9_total_band"][2] == "ordinal"
    assert codebook["phq9_total_band"][3].startswith("1=minimal; 2=mild; 3=moderate")
    assert "99" in codebook["phq9_1"][4].split("; ")
    problems = list(wb["problems"].iter_rows(min_row=2, values_only=True))
    assert [(p[0], p[1], p[2], p[3]) for p in problems] == [
        ("intake_batch.sav", 18, "phq9_3", "33"),
        ("intake_batch.sav", 212, "phq9_6", "5"),
    ]
    # read back through psyscore: same rows, integer items
    again = read_table(out)
    assert again.data.shape == back.shape
    assert again.data["phq9_total"].tolist()[:5] == back["phq9_total"].tolist()[:5]


def test_formula_text_is_neutralised_but_numbers_are_not(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("rid,note,toy_1,toy_2,toy_3,toy_4\na,=1+1,3,3,3,3\nb,@SUM(A1),-1,+2,-3,4\n")
    out = tmp_path / "out.xlsx"
    result = runner.invoke(app, ["score", str(src), "-i", str(DATA / "toy.yaml"), "-o", str(out)])
    assert result.exit_code == 1  # -1 is out of range for toy_1
    ws = openpyxl.load_workbook(out)["data"]
    header = [c.value for c in ws[1]]
    note, toy1 = ws.cell(2, header.index("note") + 1), ws.cell(3, header.index("toy_1") + 1)
    assert (note.value, note.data_type, note.quotePrefix) == ("=1+1", "s", True)
    at = ws.cell(3, header.index("note") + 1)
    assert (at.value, at.data_type, at.quotePrefix) == ("@SUM(A1)", "s", True)
    assert (toy1.value, toy1.data_type) == (-1, "n")  # a number, not touched
    with zipfile.ZipFile(out) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet  # no formula anywhere


def test_write_table_without_problems_has_two_sheets_and_keeps_types(tmp_path):
    data = pd.DataFrame(
        {
            "id": ["x", "y"],
            "n": pd.array([1, None], dtype="Int64"),
            "v": [0.5, float("nan")],
            "band": pd.Categorical(["mild", None], categories=["minimal", "mild"], ordered=True),
        }
    )
    out = tmp_path / "t.xlsx"
    write_table(Table(data=data, labels={"v": "a value"}, value_labels={"n": {1.0: "one"}}), out)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["data", "codebook"]
    rows = list(wb["data"].iter_rows(values_only=True))
    assert rows == [("id", "n", "v", "band"), ("x", 1, 0.5, "mild"), ("y", None, None, None)]
    cb = list(wb["codebook"].iter_rows(min_row=2, values_only=True))
    assert [r[:4] for r in cb] == [
        ("id", None, "nominal", None),
        ("n", None, "scale", "1=one"),
        ("v", "a value", "scale", None),
        ("band", None, "ordinal", "1=minimal; 2=mild"),
    ]


def test_control_characters_name_column_and_row_not_the_value(tmp_path):
    data = pd.DataFrame({"note": ["fine", "bell\x07here"]})
    with pytest.raises(DataError) as exc:
        write_table(Table(data=data), tmp_path / "c.xlsx")
    assert "column 'note', row 2" in str(exc.value)
    assert "bell" not in str(exc.value)
    assert not (tmp_path / "c.xlsx").exists()
