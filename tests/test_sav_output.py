""".sav output: valid unique SPSS names, and the input's metadata kept (or named in a warning)."""

from __future__ import annotations

import datetime as dt
import json
import struct

import pandas as pd
import pyreadstat
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from psyscore.cli import app
from psyscore.io import Table, read_table, write_table
from psyscore.io.spss import MAX_NAME_BYTES, _dictionary, spss_names, valid_spss_name

from .conftest import ROOT

runner = CliRunner()
ITEMS = [f"phq9_{i}" for i in range(1, 10)]


# ---- names ---------------------------------------------------------------------------------------


def test_the_qualtrics_sample_writes_sav_and_csv(tmp_path):
    sav, csv = tmp_path / "out.sav", tmp_path / "out.csv"
    args = ["score", str(ROOT / "sample_data" / "qualtrics_export.csv"), "-i", "program-intake"]
    args += ["--map", str(ROOT / "sample_data" / "qualtrics_map.yaml"), "-o", str(sav)]
    args += ["-o", str(csv), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 1), result.output
    data, meta = pyreadstat.read_sav(str(sav))
    assert "Duration_in_seconds" in data.columns and "Duration (in seconds)" not in data.columns
    assert meta.column_names_to_labels["Duration_in_seconds"] == "Duration (in seconds)"
    assert any("Duration (in seconds) -> Duration_in_seconds" in n for n in meta.notes)
    assert "Duration (in seconds)" in pd.read_csv(csv, nrows=1).columns  # CSV keeps the name
    warnings = json.loads(result.stdout)["warnings"]
    assert any("renamed" in w and "Duration (in seconds)" in w for w in warnings)


def test_awkward_names_become_valid_unique_names_with_the_old_name_as_label(tmp_path):
    long = "x" * 70
    frame = pd.DataFrame(
        {"id": ["a"], "ID": ["b"], "1st": [1.0], "ALL": [2.0], "with": [3.0], long: [4.0],
         "ok.name": [5.0], "é é": [6.0], "#tmp": [7.0], "$sys": [8.0], "end.": [9.0]}
    )  # fmt: skip
    out = tmp_path / "o.sav"
    warnings = write_table(Table(data=frame, labels={"1st": "first visit"}), out)
    data, meta = pyreadstat.read_sav(str(out))
    names = list(data.columns)
    assert names[:2] == ["id", "ID_2"] and names[2:5] == ["v1st", "v_ALL", "v_with"]
    assert all(valid_spss_name(n) for n in names)
    assert len({n.upper() for n in names}) == len(names)
    assert "ok.name" in names  # already valid: kept
    labels = meta.column_names_to_labels
    assert labels["v1st"] == "first visit"  # an existing label is kept
    assert labels["ID_2"] == "ID" and labels[names[5]] == long
    assert len(names[5].encode()) <= MAX_NAME_BYTES
    assert data["ID_2"].tolist() == ["b"] and data["v1st"].tolist() == [1.0]
    note = " ".join(meta.notes)
    for old in ["ID", "1st", "ALL", "with", "é é", "#tmp", "$sys", "end."]:
        assert f"{old} ->" in note
    assert "renamed" in warnings[0]


_names = st.lists(
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=80),
    min_size=1,
    max_size=8,
    unique=True,
)


@given(_names)
def test_renamed_names_are_always_valid_unique_and_deterministic(columns):
    renames = spss_names(columns)
    final = [renames.get(c, c) for c in columns]
    assert all(valid_spss_name(n) for n in final)
    assert len({n.upper() for n in final}) == len(final)
    assert spss_names(columns) == renames
    assert all(not valid_spss_name(c) or c.upper() in {f.upper() for f in final} for c in columns)


# ---- metadata ----------------------------------------------------------------------------------


def _source_sav(path, *, row_compress=True):
    frame = pd.DataFrame(
        {
            "rid": ["007", "NA"],
            "visit": [dt.date(2024, 3, 1), None],
            "stamp": [dt.datetime(2024, 3, 1, 9, 30, 5), dt.datetime(2024, 3, 2, 10, 0, 0)],
            "clock": [dt.time(9, 30), None],
            "w": [1.5, 0.5],
            **{item: [1.0, 9.0] for item in ITEMS},
        }
    )
    frame["clock"] = frame["clock"].astype(object)
    pyreadstat.write_sav(
        frame,
        str(path),
        file_label="Spring wave",
        column_labels={"rid": "Respondent", "w": "Weight"},
        variable_format={"visit": "ADATE10", "stamp": "DATETIME20", "clock": "TIME5", "w": "F6.3"},
        missing_ranges={"phq9_1": [9]},
        variable_value_labels={"phq9_1": {0.0: "Not at all", 9.0: "Refused"}},
        variable_display_width={"rid": 12},
        variable_measure={"w": "scale", "phq9_1": "ordinal"},
        note=["collected on paper"],
        row_compress=row_compress,
    )
    return path


def test_sav_round_trip_keeps_dates_label_formats_and_compression(tmp_path):
    src = _source_sav(tmp_path / "in.sav")
    out = tmp_path / "out.sav"
    write_table(read_table(src), out)
    data, meta = pyreadstat.read_sav(str(out), user_missing=True)
    assert meta.file_label == "Spring wave"
    assert data["visit"].tolist()[0] == dt.date(2024, 3, 1) and pd.isna(data["visit"][1])
    assert data["stamp"].tolist()[0] == pd.Timestamp(2024, 3, 1, 9, 30, 5)
    assert data["clock"].tolist()[0] == dt.time(9, 30)
    types = meta.original_variable_types
    assert (types["visit"], types["stamp"], types["clock"], types["w"]) == (
        "ADATE10", "DATETIME20", "TIME5", "F6.3"
    )  # fmt: skip
    assert data["rid"].tolist() == ["007", "NA"]
    assert meta.missing_ranges["phq9_1"] == [{"lo": 9.0, "hi": 9.0}]
    assert meta.variable_value_labels["phq9_1"] == {0.0: "Not at all", 9.0: "Refused"}
    assert meta.variable_display_width["rid"] == 12
    assert meta.variable_measure["phq9_1"] == "ordinal"
    assert "collected on paper" in meta.notes
    assert _dictionary(out).compression == "rows"


def test_zsav_is_zlib_compressed(tmp_path):
    src = _source_sav(tmp_path / "in.sav", row_compress=False)
    write_table(read_table(src), tmp_path / "out.zsav")
    assert _dictionary(tmp_path / "out.zsav").compression == "zlib"
    back, _ = pyreadstat.read_sav(str(tmp_path / "out.zsav"))
    assert back["visit"][0] == dt.date(2024, 3, 1)


def _set_weight(path, slot: int) -> None:
    """pyreadstat cannot write a case weight: set it in the header (1-based variable slot)."""
    raw = bytearray(path.read_bytes())
    struct.pack_into("<i", raw, 76, slot)
    path.write_bytes(bytes(raw))


def _add_record7(path, subtype: int, text: bytes) -> None:
    """Insert an extension record (7/subtype) before the dictionary's end: multiple response
    sets (7) or variable attributes (18), which pyreadstat cannot write."""
    raw = path.read_bytes()
    end = _dictionary(path).data_offset - 8
    record = struct.pack("<iiii", 7, subtype, 1, len(text)) + text
    path.write_bytes(raw[:end] + record + raw[end:])


def test_weight_mr_sets_and_attributes_are_named_in_warnings(tmp_path):
    src = _source_sav(tmp_path / "in.sav")
    _set_weight(src, 5)  # slots: rid (one 8-byte slot), visit, stamp, clock, w
    _add_record7(src, 7, b"$pair=C 4 Pair phq9_1 phq9_2 \n")
    _add_record7(src, 18, b"phq9_1:Source('paper'\n)")
    table = read_table(src)
    assert table.weight == "w"
    out = tmp_path / "out.sav"
    result = runner.invoke(
        app, ["score", str(src), "-i", "phq-9", "-o", str(out), "--json"], catch_exceptions=False
    )
    warnings = " | ".join(json.loads(result.stdout)["warnings"])
    assert "case weight (w)" in warnings and "WEIGHT BY w" in warnings
    assert "multiple response sets ($pair)" in warnings
    assert "variable attributes" in warnings
    assert out.exists()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_other_formats_keep_the_original_names(tmp_path, suffix):
    frame = pd.DataFrame({"Duration (in seconds)": [3], **{i: [1] for i in ITEMS}})
    src = tmp_path / "in.csv"
    frame.to_csv(src, index=False)
    out = tmp_path / f"out{suffix}"
    assert runner.invoke(app, ["score", str(src), "-i", "phq-9", "-o", str(out)]).exit_code == 0
    back = pd.read_csv(out) if suffix == ".csv" else pd.read_excel(out, engine="openpyxl")
    assert back.columns[0] == "Duration (in seconds)"


def test_dates_mixed_with_datetimes_are_not_cut_to_dates(tmp_path):
    mixed = pd.Series([dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 13, 45)], dtype=object)
    out = tmp_path / "o.sav"
    write_table(Table(data=pd.DataFrame({"when": mixed})), out)
    back, meta = pyreadstat.read_sav(str(out))
    assert meta.readstat_variable_types["when"] == "string"
    assert back["when"].tolist() == ["2024-01-02", "2024-01-02 13:45:00"]


def test_labels_longer_than_spss_holds_are_cut_on_a_character_and_said(tmp_path):
    """SPSS keeps 256 bytes of a variable label and 120 of a value label; readstat cut longer
    ones silently (mid-character for accented text). Now: cut on a whole character, a warning
    names the columns, and the full texts are kept in the file's document."""
    import pyreadstat

    from psyscore.io import Table, write_table

    long_label = "Skala " + "é" * 200  # 406 bytes
    table = Table(
        data=pd.DataFrame({"a": [1.0, 2.0], "b": [1.0, 2.0]}),
        labels={"a": long_label, "b": "short"},
        value_labels={"a": {1: "ü" * 70, 2: "fine"}},
    )
    out = tmp_path / "long.sav"
    warnings = write_table(table, out)
    _, meta = pyreadstat.read_sav(str(out))
    label = dict(zip(meta.column_names, meta.column_labels, strict=True))["a"]
    assert long_label.startswith(label) and len(label.encode()) <= 256
    assert meta.variable_value_labels["a"][1.0] == "ü" * 60
    said = " ".join(warnings)
    assert "a" in said and "label" in said and "document" in said
    document = " ".join(meta.notes)
    assert "é" * 20 in document and "ü" * 20 in document
