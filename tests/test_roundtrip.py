"""Columns that are not items come out exactly as they went in (CSV -> CSV, and as text in
.sav/.xlsx); rows never shift against their ids."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pyreadstat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from psyscore.cli import app
from psyscore.io import read_table

runner = CliRunner()
ITEMS = [f"phq9_{i}" for i in range(1, 10)]


def _score(path, *outputs, extra=()):
    args = ["score", str(path), "-i", "phq-9", "--json", *extra]
    for o in outputs:
        args += ["-o", str(o)]
    return runner.invoke(app, args)


def _csv_columns(path) -> dict[str, list[str]]:
    """Every column of a CSV as the exact text of its cells."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    return {name: [r[j] for r in rows[1:]] for j, name in enumerate(rows[0])}


AWKWARD_IDS = ["007", "NA", "null", "None", "nan", "0012", "+1", "1.50", "1e3", " 5", "N/A"]


def _awkward_csv(path, trailing: str = "") -> None:
    lines = ["id,note," + ",".join(ITEMS)]
    for i, rid in enumerate(AWKWARD_IDS):
        answers = ["3" if (i == 0 and j == 8) else "0" for j in range(9)]
        lines.append(f"{rid},{AWKWARD_IDS[-1 - i]}," + ",".join(answers) + trailing)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_ids_and_text_come_back_byte_for_byte_in_csv(tmp_path):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    _awkward_csv(src)
    result = _score(src, out)
    assert result.exit_code == 0, result.output
    back = _csv_columns(out)
    assert back["id"] == AWKWARD_IDS
    assert back["note"] == AWKWARD_IDS[::-1]
    # numeric outputs are numbers: the total is written as a number, not as text
    assert float(back["phq9_total"][0]) == 3.0
    assert back["phq9_1"] == ["0"] * len(AWKWARD_IDS)


def test_ids_stay_text_in_sav_and_xlsx(tmp_path):
    src = tmp_path / "in.csv"
    _awkward_csv(src)
    result = _score(src, tmp_path / "o.sav", tmp_path / "o.xlsx")
    assert result.exit_code == 0, result.output
    sav, meta = pyreadstat.read_sav(str(tmp_path / "o.sav"))
    assert sav["id"].tolist() == AWKWARD_IDS
    assert meta.readstat_variable_types["id"] == "string"
    assert meta.readstat_variable_types["phq9_total"] == "double"
    xlsx = pd.read_excel(
        tmp_path / "o.xlsx", sheet_name="data", engine="openpyxl", dtype=object, na_filter=False
    )
    assert xlsx["id"].tolist() == AWKWARD_IDS


def test_trailing_delimiter_does_not_shift_columns(tmp_path):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    _awkward_csv(src, trailing=",")
    result = _score(src, out)
    assert result.exit_code == 0, result.output
    back = _csv_columns(out)
    assert back["id"] == AWKWARD_IDS  # not lost into an index
    assert "Unnamed: 0" not in back and "" not in back
    # the item-9 alert stays with the respondent who gave it
    critical = back["phq9_critical"]
    assert critical[0] in {"1", "True"} and set(critical[1:]) <= {"0", "False"}
    assert any("trailing delimiter" in n for n in read_table(src).notes)


def test_a_row_with_one_field_too_many_is_an_error_naming_the_line(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("id," + ",".join(ITEMS) + "\nA," + ",".join("0" * 9) + "\nB,"
                   + ",".join("0" * 9) + ",7\n")  # fmt: skip
    result = runner.invoke(app, ["score", str(src), "-i", "phq-9", "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 1
    assert "line 3 has more fields than the header" in result.output
    assert not (tmp_path / "o.csv").exists()


def test_empty_header_cell_is_named_by_position_with_a_warning(tmp_path):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text("id,," + ",".join(ITEMS) + "\nA,x," + ",".join("0" * 9) + "\n")
    table = read_table(src)
    assert list(table.data.columns[:2]) == ["id", "column_2"]
    assert "Unnamed: 1" not in table.data.columns
    assert table.warnings == ["in.csv: column 2 has data but no header; named it column_2"]
    result = _score(src, out)
    assert "column 2 has data but no header" in json.loads(result.stdout)["warnings"][0]
    assert _csv_columns(out)["column_2"] == ["x"]


def test_numbers_become_numbers_only_when_their_text_comes_back_the_same():
    text = "a,b,c,d,e\n1,1.5,007,1,x\n-2,0.25,8,2.5,\n,,,,NA\n"
    data = read_table_from_text(text).data
    assert str(data["a"].dtype) == "Int64" and data["a"].isna().tolist() == [False, False, True]
    assert str(data["b"].dtype) == "Float64"
    assert data["c"].tolist() == ["007", "8", pd.NA]  # a leading zero keeps the column text
    assert data["d"].tolist() == ["1", "2.5", pd.NA]  # 1 would come back as 1.0
    assert data["e"].tolist() == ["x", pd.NA, "NA"]


def read_table_from_text(text: str, tmp=None):
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp())
    path = folder / "t.csv"
    path.write_text(text, encoding="utf-8")
    return read_table(path)


_cell = st.one_of(
    st.sampled_from([*AWKWARD_IDS, "", "NULL", "#N/A", "-0", "1.0", "TRUE", "0x1F", "  "]),
    st.from_regex(r"-?[0-9]{1,17}(\.[0-9]{0,4})?", fullmatch=True),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\r\n"),
        max_size=8,
    ),
)


@settings(max_examples=80)
@given(st.lists(st.tuples(_cell, _cell), min_size=1, max_size=6))
def test_any_text_column_round_trips_csv_exactly(tmp_path_factory, rows):
    folder = tmp_path_factory.mktemp("rt")
    src, out = folder / "in.csv", folder / "out.csv"
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["rid", "comment", *ITEMS])
    for rid, comment in rows:
        writer.writerow([rid, comment, *["1"] * 9])
    src.write_text(buf.getvalue(), encoding="utf-8")
    result = _score(src, out)
    assert result.exit_code in (0, 1), result.output
    back = _csv_columns(out)
    assert back["rid"] == [r for r, _ in rows]
    assert back["comment"] == [c for _, c in rows]


@pytest.mark.parametrize("sep, suffix", [("\t", ".tsv"), (",", ".csv")])
def test_tsv_and_csv_round_trip_text_ids(tmp_path, sep, suffix):
    src, out = tmp_path / f"in{suffix}", tmp_path / f"out{suffix}"
    src.write_text(sep.join(["id", *ITEMS]) + "\n" + sep.join(["007", *"0" * 9]) + "\n")
    assert _score(src, out).exit_code == 0
    assert out.read_text().splitlines()[1].split(sep)[0] == "007"


def test_columns_typed_over_all_chunks_keep_their_text(tmp_path, monkeypatch):
    from psyscore.io import text

    monkeypatch.setattr(text, "CHUNK_ROWS", 2)
    src = tmp_path / "in.csv"
    # a: ints, then text in a later chunk; b: empty first, ints later; c: ints then floats
    rows = ["a,b,c", "1,,1", "2,,2", "3,4,2.5", "x,5,3", "007,,"]
    src.write_text("\n".join(rows) + "\n")
    data = read_table(src).data
    assert data["a"].tolist() == ["1", "2", "3", "x", "007"]
    assert str(data["b"].dtype) == "Int64" and data["b"].tolist()[2:4] == [4, 5]
    assert data["c"].tolist() == ["1", "2", "2.5", "3", pd.NA]
    src.write_text("\n".join([*rows, "1,2,3,4"]) + "\n")
    with pytest.raises(Exception, match="line 7 has more fields than the header"):
        read_table(src)
    src.write_text("\n".join([*rows, "1,2,3,,"]) + "\n")
    with pytest.raises(Exception, match="line 7 has 5 fields, the header 3"):
        read_table(src)
