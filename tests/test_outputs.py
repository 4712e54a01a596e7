"""Every output target is checked before anything is written; outputs appear together or not at
all, never as temporaries holding answers in the shared temp folder; modes follow the umask."""

from __future__ import annotations

import os
import stat
import tempfile

import pandas as pd
import pytest
from typer.testing import CliRunner

from psyscore.cli import app
from psyscore.errors import UsageError
from psyscore.io import Table, atomic_write, plan_outputs, staged_writes, write_table

runner = CliRunner()
ITEMS = [f"phq9_{i}" for i in range(1, 10)]


@pytest.fixture
def data_csv(tmp_path):
    path = tmp_path / "in.csv"
    rows = ["rid," + ",".join(ITEMS), "A," + ",".join("1" * 9), "B," + ",".join("5" * 9)]
    path.write_text("\n".join(rows) + "\n")
    return path


def _score(data, *args):
    return runner.invoke(app, ["score", str(data), "-i", "phq-9", *map(str, args)])


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


def test_problems_on_the_same_path_as_the_output_is_refused(data_csv, tmp_path):
    out = tmp_path / "out.csv"
    result = _score(data_csv, "-o", out, "--problems", tmp_path / "." / "out.csv")
    assert result.exit_code == 2
    assert "named twice as an output" in result.output
    assert not out.exists()


def test_two_outputs_on_one_file_are_refused(data_csv, tmp_path):
    result = _score(data_csv, "-o", tmp_path / "a.csv", "-o", tmp_path / "sub" / ".." / "a.csv")
    assert result.exit_code == 2 and "named twice" in result.output


@pytest.mark.parametrize("option", ["--problems", "--syntax"])
def test_an_unwritable_side_output_stops_before_the_main_output_is_written(
    data_csv, tmp_path, option
):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    side = blocker / ("p.csv" if option == "--problems" else "s.sps")
    out = tmp_path / "out.csv"
    result = _score(data_csv, "-o", out, option, side)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert str(blocker) in result.output
    assert not out.exists()


def test_a_folder_where_files_cannot_be_created_is_refused_before_writing(tmp_path, monkeypatch):
    real = tempfile.mkstemp

    def refuse(*args, **kwargs):
        if kwargs.get("dir") and str(kwargs["dir"]).endswith("locked"):
            raise PermissionError(13, "Permission denied")
        return real(*args, **kwargs)

    (tmp_path / "locked").mkdir()
    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(UsageError, match="cannot create files in this folder"):
        plan_outputs([tmp_path / "ok.csv"], problems=tmp_path / "locked" / "p.csv")


def test_plan_outputs_checks_suffixes_inputs_and_existing_files(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("a\n1\n")
    with pytest.raises(UsageError, match="cannot write .txt"):
        plan_outputs([tmp_path / "o.txt"])
    with pytest.raises(UsageError, match="name it \\*.csv"):
        plan_outputs([tmp_path / "o.csv"], problems=tmp_path / "p.xlsx")
    with pytest.raises(UsageError, match="overwrite the input"):
        plan_outputs([src], inputs=[src], force=True)
    with pytest.raises(UsageError, match="already exists"):
        plan_outputs([tmp_path / "o.csv"], problems=src)
    plan = plan_outputs([tmp_path / "o.csv"], problems=src, syntax=tmp_path / "s.sps", force=True)
    assert plan.all == [tmp_path / "o.csv", src, tmp_path / "s.sps"]
    assert _files(tmp_path) == ["in.csv"]  # the writability probe leaves nothing


def test_new_outputs_follow_the_umask(data_csv, tmp_path):
    old = os.umask(0o022)
    try:
        out = tmp_path / "out.csv"
        _score(data_csv, "-o", out, "-o", tmp_path / "o.sav", "--problems", tmp_path / "p.csv")
    finally:
        os.umask(old)
    for name in ["out.csv", "o.sav", "p.csv"]:
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name


def test_a_replaced_output_keeps_its_mode(tmp_path):
    out = tmp_path / "o.csv"
    out.write_text("old")
    os.chmod(out, 0o640)
    write_table(Table(data=pd.DataFrame({"a": [1]})), out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o640


def test_text_over_the_cell_limit_is_refused_before_any_output_is_written(data_csv, tmp_path):
    long = "y" * 33_000
    data_csv.write_text(data_csv.read_text().replace("A,", f"{long},", 1))
    for suffix in [".xlsx", ".sav"]:
        outs = [tmp_path / "first.csv", tmp_path / f"o{suffix}"]
        result = _score(data_csv, "-o", outs[0], "-o", outs[1])
        assert result.exit_code == 1
        assert "column 'rid', row 1" in result.output
        assert _files(tmp_path) == ["in.csv"], suffix  # not even the CSV listed first


def test_a_failing_output_leaves_no_output_and_no_temporary(tmp_path):
    table = Table(data=pd.DataFrame({"a": [1, 2]}))
    with pytest.raises(KeyboardInterrupt), staged_writes():
        write_table(table, tmp_path / "one.csv")
        write_table(table, tmp_path / "two.xlsx")

        def interrupted(tmp):
            tmp.write_text("half")
            raise KeyboardInterrupt

        atomic_write(tmp_path / "three.csv", interrupted)
    assert _files(tmp_path) == []


def test_xlsx_temporaries_stay_beside_the_target_and_are_removed(tmp_path, monkeypatch):
    shared = tmp_path / "shared_tmp"
    shared.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(shared))
    made = []
    from openpyxl.worksheet import _writer

    real = _writer.create_temporary_file

    def spy(suffix=""):
        name = real(suffix)
        made.append(name)
        return name

    monkeypatch.setattr(_writer, "create_temporary_file", spy)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    write_table(Table(data=pd.DataFrame({"rid": ["secret"], "x": [1]})), out_dir / "o.xlsx")
    assert made and all(os.path.dirname(os.path.dirname(m)) == str(out_dir) for m in made)
    assert _files(shared) == []
    assert _files(out_dir) == ["o.xlsx"]
    assert tempfile.tempdir == str(shared)  # restored
