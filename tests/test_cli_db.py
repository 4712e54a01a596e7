"""`psyscore db ...` and `psyscore users ...`, and the program export (`export-visits`).

The program export must be what `psyscore score` gives for the same answers (names, labels,
value labels, values), with client_id, visit_date and visit_number in front; PSPP must open the
.sav it writes (skipped without `pspp`).
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from typer.testing import CliRunner

pytest.importorskip("sqlalchemy")
pytest.importorskip("argon2")

from psyscore.cli import app
from psyscore.intake import score_form
from psyscore.library import resolve_instruments
from psyscore.web import store as store_module
from psyscore.web.program_export import program_table
from psyscore.web.store import Store

from .test_pspp_export import needs_pspp, run_pspp

runner = CliRunner()
PHQ9 = {f"phq9_{i}": 1 for i in range(1, 10)}
GAD7 = {f"gad7_{i}": 2 for i in range(1, 8)}


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch):
    monkeypatch.setattr(
        store_module,
        "PASSWORD_HASHER_OPTIONS",
        {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
    )


@pytest.fixture
def db(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("PSYSCORE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("PSYSCORE_DB", raising=False)
    return tmp_path / "w.db"


def invoke(*args: str, input: str | None = None):
    return runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)


def add_scored(store: Store, client: str, date: str, answers: dict, instruments: list[str]):
    result = score_form(resolve_instruments(instruments), answers).to_dict()
    return store.create_scored_visit(
        client, date=date, instruments=instruments, answers=answers, result=result, user="a"
    )


@pytest.fixture
def program(db) -> Path:
    """Five visits of three clients: three with PHQ-9 + GAD-7, one PHQ-9 only, one in progress,
    one deleted."""
    with Store.open(db) as store:
        add_scored(store, "c1", "2026-01-10", PHQ9 | GAD7, ["phq-9", "gad-7"])
        add_scored(store, "c1", "2026-03-10", PHQ9 | GAD7 | {"phq9_3": 3}, ["phq-9", "gad-7"])
        add_scored(store, "c2", "2026-02-01", PHQ9 | GAD7 | {"gad7_2": 0}, ["phq-9", "gad-7"])
        add_scored(store, "c3", "2026-02-15", PHQ9, ["phq-9"])
        store.create_visit("c3", date="2026-04-01", instruments=["phq-9"], user="a")
        gone = add_scored(store, "c2", "2026-01-05", PHQ9, ["phq-9"])
        store.delete_visit(gone, user="a")
    return db


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ---- users ------------------------------------------------------------------------------------


def test_users_add_list_remove(db):
    got = invoke("users", "add", "alice", "--password-stdin", "--db", db, input="correct horse\n")
    assert got.exit_code == 0, got.output
    with Store.open(db) as store:
        assert store.verify_user("alice", "correct horse")
        assert not store.verify_user("alice", "correct horse\n")
    assert "alice" in invoke("users", "list", "--db", db).output
    again = invoke("users", "add", "alice", "--password-stdin", "--db", db, input="another one\n")
    assert again.exit_code == 2 and "exists" in again.output
    assert invoke("users", "remove", "alice", "--db", db).exit_code == 0
    assert invoke("users", "remove", "alice", "--db", db).exit_code == 2
    assert "no users" in invoke("users", "list", "--db", db).output


def test_users_add_asks_twice(db, monkeypatch):
    answers = iter(["first password", "other password"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    got = invoke("users", "add", "bob", "--db", db)
    assert got.exit_code == 2 and "differ" in got.output
    answers = iter(["same password", "same password"])
    assert invoke("users", "add", "bob", "--db", db).exit_code == 0
    with Store.open(db) as store:
        assert store.verify_user("bob", "same password")


def test_users_bad_input(db):
    assert (
        invoke("users", "add", "a b", "--password-stdin", "--db", db, input="x" * 9).exit_code == 2
    )
    short = invoke("users", "add", "carol", "--password-stdin", "--db", db, input="short\n")
    assert short.exit_code == 2 and "at least 8" in short.output


def test_default_database_location(db, tmp_path):
    assert invoke("db", "upgrade").exit_code == 0
    assert (tmp_path / "data" / "workspace.db").exists()


# ---- backup, export, upgrade --------------------------------------------------------------------


def test_backup(program, tmp_path):
    copy = tmp_path / "copy.db"
    got = invoke("db", "backup", copy, "--db", program)
    assert got.exit_code == 0, got.output
    assert _mode(copy) == 0o600
    with Store.open(copy) as store:
        assert len(store.all_visits()) == 5
    again = invoke("db", "backup", copy, "--db", program)
    assert again.exit_code == 2 and "exists" in again.output


def test_export_everything(program, tmp_path):
    got = invoke("db", "export", "--db", program)
    assert got.exit_code == 0
    dump = json.loads(got.stdout)
    assert len(dump["visits"]) == 6 and sum(v["deleted"] for v in dump["visits"]) == 1
    target = tmp_path / "all.json"
    assert invoke("db", "export", "--db", program, "-o", target).exit_code == 0
    assert json.loads(target.read_text()) | {"exported_at": None} == dump | {"exported_at": None}
    assert _mode(target) == 0o600
    assert invoke("db", "export", "--db", program, "-o", target).exit_code == 2
    assert invoke("db", "export", "--db", program, "-o", target, "--force").exit_code == 0


def test_upgrade_prints_the_revision(db):
    got = invoke("db", "upgrade", "--db", db)
    assert got.exit_code == 0
    assert f"schema revision {store_module.head_revision()}" in got.output


def test_bad_database_url(tmp_path):
    got = invoke("db", "upgrade", "--db", "mysql://u:secret@h/x")
    assert got.exit_code == 2 and "secret" not in got.output
    assert invoke("db", "upgrade", "--db", tmp_path / "no" / "w.db").exit_code == 2


# ---- program export -----------------------------------------------------------------------------


def test_program_table_rows(program):
    with Store.open(program) as store:
        table = program_table(store)
        ranged = program_table(store, start="2026-02-01", end="2026-02-28")
    data = table.data
    assert list(data.columns[:3]) == ["client_id", "visit_date", "visit_number"]
    # scored, non-deleted visits by date; visit numbers count the deleted visit out
    assert data[["client_id", "visit_date"]].values.tolist() == [
        ["c1", "2026-01-10"],
        ["c2", "2026-02-01"],
        ["c3", "2026-02-15"],
        ["c1", "2026-03-10"],
    ]
    assert data["visit_number"].tolist() == [1, 1, 1, 2]
    # the PHQ-9-only visit has blanks in every GAD-7 column
    gad_columns = [c for c in data.columns if c.startswith("gad7_")]
    assert data.loc[2, gad_columns].isna().all()
    assert data.loc[0, "gad7_total"] == 14 and data.loc[3, "phq9_total"] == 11
    assert ranged.data["visit_date"].tolist() == ["2026-02-01", "2026-02-15"]
    assert ranged.data["visit_number"].tolist() == [1, 1]
    assert table.warnings == []


def test_export_matches_batch_scoring(program, tmp_path):
    """Names, labels, value labels and values as `psyscore score` writes them."""
    out = tmp_path / "program.sav"
    got = invoke("db", "export-visits", out, "--db", program, "--from", "2026-01-01")
    assert got.exit_code == 0, got.output
    assert _mode(out) == 0o600
    exported, meta = pyreadstat.read_sav(out)
    both = exported[exported["gad7_total"].notna()].reset_index(drop=True)
    items = [f"phq9_{i}" for i in range(1, 11)] + [f"gad7_{i}" for i in range(1, 8)]
    source = tmp_path / "answers.csv"
    both[["client_id", "visit_date", "visit_number", *items]].to_csv(source, index=False)
    batch_out = tmp_path / "batch.sav"
    batch = invoke("score", source, "-i", "phq-9", "-i", "gad-7", "-o", batch_out)
    assert batch.exit_code == 0, batch.output
    expected, expected_meta = pyreadstat.read_sav(batch_out)
    assert set(expected.columns) == set(exported.columns)
    for column in expected.columns:
        if column in items or column in ("client_id", "visit_date", "visit_number"):
            continue  # the export labels items from the definition; a CSV has no labels
        assert meta.column_names_to_labels[column] == expected_meta.column_names_to_labels[column]
        assert meta.variable_value_labels.get(column) == expected_meta.variable_value_labels.get(
            column
        ), column
        assert meta.variable_measure[column] == expected_meta.variable_measure[column], column
        pd.testing.assert_series_equal(
            both[column], expected[column], check_dtype=False, check_names=False
        )
    assert meta.column_names_to_labels["visit_number"].startswith("Visit number")
    assert meta.variable_value_labels["phq9_1"][0.0] == "Not at all"
    assert any("Scored by psyscore" in note for note in meta.notes)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_export_other_formats(program, tmp_path, suffix):
    from psyscore.io import read_table

    out = tmp_path / f"program{suffix}"
    assert invoke("db", "export-visits", out, "--db", program).exit_code == 0
    back = read_table(out).data
    assert len(back) == 4 and list(back.columns[:3]) == ["client_id", "visit_date", "visit_number"]
    if suffix == ".csv":  # codes written as codes: 1, not 1.0
        assert out.read_text().splitlines()[1].startswith("c1,2026-01-10,1,1,1,1,")
    assert np.allclose(pd.to_numeric(back["phq9_total"]), [9, 9, 9, 11])


def test_export_refuses_to_overwrite_and_bad_dates(program, tmp_path):
    out = tmp_path / "p.csv"
    assert invoke("db", "export-visits", out, "--db", program).exit_code == 0
    assert invoke("db", "export-visits", out, "--db", program).exit_code == 2
    assert invoke("db", "export-visits", out, "--db", program, "--force").exit_code == 0
    bad = invoke("db", "export-visits", tmp_path / "q.csv", "--db", program, "--from", "2026-13-01")
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output
    backwards = invoke(
        "db", "export-visits", tmp_path / "q.csv", "--db", program,
        "--from", "2026-03-01", "--to", "2026-01-01",
    )  # fmt: skip
    assert backwards.exit_code == 2 and not (tmp_path / "q.csv").exists()


def test_export_with_invalid_answers_exits_1(db, tmp_path):
    with Store.open(db) as store:
        add_scored(store, "c1", "2026-01-10", PHQ9 | {"phq9_2": 7}, ["phq-9"])
    got = invoke("db", "export-visits", tmp_path / "p.csv", "--db", db)
    assert got.exit_code == 1
    warning = " ".join(got.output.split()).split("warning:")[1].split("wrote")[0]
    assert "visit(s) 1" in warning
    assert "7" not in warning.replace("phq9_", "").replace("phq-9", "")  # never the answer


def test_export_warns_when_a_definition_changed(db, tmp_path):
    with Store.open(db) as store:
        result = score_form(resolve_instruments(["phq-9"]), PHQ9).to_dict()
        result["provenance"]["definitions"][0]["sha256"] = "0" * 12  # an older PHQ-9 definition
        store.create_scored_visit(
            "c1", date="2026-01-10", instruments=["phq-9"], answers=PHQ9, result=result, user="a"
        )
    got = invoke("db", "export-visits", tmp_path / "p.csv", "--db", db)
    assert got.exit_code == 0
    assert "visit(s) 1 were scored with another version" in " ".join(got.output.split())


def test_empty_export(db, tmp_path):
    got = invoke("db", "export-visits", tmp_path / "p.sav", "--db", db)
    assert got.exit_code == 0 and "0 visits" in got.output


@needs_pspp
def test_pspp_opens_the_program_export(program, tmp_path):
    out = tmp_path / "program.sav"
    assert invoke("db", "export-visits", out, "--db", program).exit_code == 0
    syntax = tmp_path / "open.sps"
    syntax.write_text(
        f"GET FILE='{out}'.\nDISPLAY DICTIONARY /VARIABLES=visit_number phq9_total gad7_total.\n"
        "DESCRIPTIVES /VARIABLES=phq9_total gad7_total.\n",
        encoding="utf-8",
    )
    text = run_pspp(tmp_path, syntax)
    assert "Visit number of this client" in text
    assert "PHQ-9 total" in text
    descriptives = {
        line.split('",')[0].strip('"'): line.split('",')[1]
        for line in text.splitlines()
        if line.startswith('"') and '",' in line
    }
    phq = next(v for k, v in descriptives.items() if k.startswith("PHQ-9 total"))
    gad = next(v for k, v in descriptives.items() if k.startswith("GAD-7 total"))
    assert phq.startswith("4,9.50,") and gad.startswith("3,13.33,")  # N and mean as psyscore


def test_anchor_texts_become_codes_and_invalid_text_stays(db):
    """An anchor text is its code (as scoring reads it); a text that is no answer keeps its
    column as text, every value as given: an invalid answer never becomes a blank."""
    with Store.open(db) as store:
        add_scored(store, "c1", "2026-01-01", PHQ9 | {"phq9_2": "Several days"}, ["phq-9"])
        add_scored(store, "c2", "2026-01-02", PHQ9 | {"phq9_3": "nope"}, ["phq-9"])
        add_scored(store, "c3", "2026-01-03", PHQ9 | {"phq9_3": 2}, ["phq-9"])
        export = program_table(store)
    data = export.data
    assert data["phq9_2"].tolist() == [1.0, 1.0, 1.0]
    assert data["phq9_3"].tolist() == ["1", "nope", "2"]
    assert "phq9_3" not in export.value_labels and export.value_labels["phq9_2"][1.0]
    assert data["phq9_total"].tolist()[0] == 9 and np.isnan(data["phq9_total"].tolist()[1])
    assert any("visit(s) 2" in w for w in export.warnings)


def test_unknown_instrument_named_with_its_visits(db, tmp_path):
    with Store.open(db) as store:
        store.create_scored_visit(
            "c1", date="2026-01-01", instruments=["no-such"], answers={}, result={}, user="a"
        )
    got = invoke("db", "export-visits", tmp_path / "p.csv", "--db", db)
    assert got.exit_code == 2 and "visit(s) 1" in got.output and "no-such" in got.output
