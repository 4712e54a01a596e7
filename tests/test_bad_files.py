"""Bad input files: one clear line naming the file and the fault, exit 1 or 2, never a traceback."""

from __future__ import annotations

import importlib.util

import pandas as pd
import pytest
from typer.testing import CliRunner

from psyscore.cli import app
from psyscore.io import read_table

from .conftest import DATA

runner = CliRunner()
_spec = importlib.util.spec_from_file_location("make_bad_files", DATA / "bad" / "make_bad_files.py")
make_bad_files = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_bad_files)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_bad_files.make(tmp_path_factory.mktemp("bad"))


def _score(path, out):
    return runner.invoke(app, ["score", str(path), "-i", "phq-9", "-o", str(out)])


@pytest.mark.parametrize(
    "name", [n for n in make_bad_files.BAD if n != "free_text.csv"], ids=lambda n: n
)
def test_unreadable_file_gives_one_line_naming_file_and_fault(corpus, tmp_path, name):
    result = _score(corpus[name], tmp_path / "out.csv")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {corpus[name]}")
    assert make_bad_files.BAD[name] in lines[0]
    assert not (tmp_path / "out.csv").exists()


def test_duplicate_csv_headers_are_named(corpus, tmp_path):
    result = _score(corpus["duplicate_columns.csv"], tmp_path / "o.csv")
    assert "duplicate column names in the header: 'phq9_1'" in result.output


def test_free_text_where_codes_belong_is_reported_per_cell(corpus, tmp_path):
    out = tmp_path / "o.csv"
    result = runner.invoke(
        app, ["score", str(corpus["free_text.csv"]), "-i", "phq-9", "-o", str(out), "--json"]
    )
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    import json

    payload = json.loads(result.stdout)
    kinds = {p["kind"] for p in payload["problems"]}
    assert kinds == {"unrecognised_answer"}
    assert len(payload["problems"]) == 5 * 9  # every answer cell of 5 rows x 9 items
    assert payload["problems"][0]["file"] == "free_text.csv"
    scored = pd.read_csv(out)
    assert scored["phq9_total"].isna().all()
    # text where codes belong is invalid, not missing: the status names the first such item
    assert scored["phq9_total_status"].tolist() == ["not scored: invalid answer in phq9_1"] * 5


@pytest.mark.parametrize("name", list(make_bad_files.GOOD), ids=lambda n: n)
def test_awkward_encodings_read_with_the_text_decoded(corpus, tmp_path, name):
    table = read_table(corpus[name])
    assert table.data["name"].tolist() == [make_bad_files.GOOD[name], "José Núñez"]
    assert table.notes == [
        f"{name}: read as {'cp1252 (not UTF-8)' if name == 'cp1252.csv' else 'UTF-16'}"
    ]
    result = _score(corpus[name], tmp_path / "o.csv")
    assert result.exit_code == 0
    assert pd.read_csv(tmp_path / "o.csv")["phq9_total"].tolist() == [9, 0]


def test_committed_corpus_matches_the_generator_list():
    folder = DATA / "bad"
    names = {p.name for p in folder.iterdir() if p.suffix in {".sav", ".xlsx", ".csv"}}
    assert names == set(make_bad_files.BAD) | set(make_bad_files.GOOD)


def test_sav_without_a_case_count_reads_to_its_end_with_a_warning(tmp_path):
    import pyreadstat

    full = tmp_path / "full.sav"
    pyreadstat.write_sav(make_bad_files._phq_frame(40), str(full), row_compress=True)
    raw = bytearray(full.read_bytes())
    raw[80:84] = (-1).to_bytes(4, "little", signed=True)
    full.write_bytes(bytes(raw))
    table = read_table(full)
    assert len(table.data) == 40
    assert table.warnings and "read 40 to the end of the file" in table.warnings[0]
    for cut in range(len(raw) - 200, len(raw) - 1, 37):  # cuts anywhere in the last cases
        (tmp_path / "cut.sav").write_bytes(bytes(raw[:cut]))
        try:
            n = len(read_table(tmp_path / "cut.sav").data)
        except Exception as exc:  # noqa: BLE001 - the only acceptable failure is a clear one
            message = str(exc)
            assert "ends in the middle of a case" in message or "not a readable" in message
        else:  # a cut exactly between cases: every case read is complete, and it is said
            assert n < 40


def test_formulas_with_saved_values_read_normally(tmp_path):
    import zipfile

    path = tmp_path / "cached.xlsx"
    make_bad_files.make(tmp_path / "bad")
    source = tmp_path / "bad" / "uncached_formulas.xlsx"
    # give every formula a stored result, as Excel does on saving
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(path, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                # openpyxl writes an empty value as <v/>, <v /> or <v></v> depending on version
                for empty in (b"<v />", b"<v/>", b"<v></v>"):
                    data = data.replace(empty, b"<v>2</v>")
            zout.writestr(item, data)
    table = read_table(path)
    assert table.data.loc[1, "phq9_9"] == 2


def test_formulas_whose_saved_result_is_empty_text_are_not_flagged(tmp_path):
    import re
    import zipfile

    make_bad_files.make(tmp_path / "bad")
    source = tmp_path / "bad" / "uncached_formulas.xlsx"
    path = tmp_path / "empty_text.xlsx"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(path, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                data = re.sub(rb'<c r="(\w+)"( t="\w+")?><f>', rb'<c r="\1" t="str"><f>', data)
                data = data.replace(b"<v />", b"<v></v>")
            zout.writestr(item, data)
    table = read_table(path)
    assert pd.isna(table.data.loc[1, "phq9_9"])
