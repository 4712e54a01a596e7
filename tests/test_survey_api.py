"""The Python API: `psyscore.read(path | DataFrame) -> Survey`, `.resolve`, `.score`, `.reliability`.

The API is the pipeline the commands use, so its results are those of the commands: the same
table, the same problems (file and rows), the same SPSS metadata in `output_table()` as in the
`.sav` that `psyscore score` writes, the same reliability JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import psyscore
from psyscore.cli import app
from psyscore.errors import UsageError
from psyscore.io import Table, read_table

from .conftest import ROOT

runner = CliRunner()
SAV = ROOT / "sample_data" / "intake_batch.sav"
CSV = ROOT / "sample_data" / "intake_batch.csv"
QUALTRICS = ROOT / "sample_data" / "qualtrics_export.sav"
QMAP = ROOT / "sample_data" / "qualtrics_map.yaml"


def test_read_once_keeps_what_the_file_said():
    survey = psyscore.read(SAV)
    assert isinstance(survey, psyscore.Survey)
    assert survey.rows == 400 and survey.name == "intake_batch.sav" and survey.path == SAV
    assert survey.labels["respondent_id"] == "Respondent ID"
    table = read_table(SAV)
    assert survey.value_labels == table.value_labels and survey.notes == table.notes
    assert survey.table.measure == table.measure and survey.table.formats == table.formats


def test_score_keeps_the_callers_index_and_reports_problems_with_rows():
    df = pd.read_csv(CSV)
    df.index = pd.Index([f"r{i}" for i in range(len(df))], name="respondent")
    scored = psyscore.read(df).score("phq-9")
    assert scored.table.index.equals(df.index)
    assert list(scored.table.columns[: df.shape[1]]) == list(df.columns)
    assert {(p.row, p.column) for p in scored.problems} == {(18, "phq9_3"), (212, "phq9_6")}
    assert scored.table.loc["r17", "phq9_total_status"] == "not scored: invalid answer in phq9_3"
    assert all(not p.file for p in scored.problems)  # a DataFrame has no file name


@pytest.mark.parametrize(
    "definitions",
    [
        "phq-9",
        ["phq-9", "gad-7"],
        lambda: psyscore.load("phq-9"),
        lambda: [psyscore.load("gad-7"), "phq-9"],
        lambda: ROOT / "instruments" / "phq-9.yaml",
        lambda: str(ROOT / "instruments" / "phq-9.yaml"),
    ],
    ids=["id", "ids", "instrument", "mixed", "path", "path-text"],
)
def test_score_accepts_ids_paths_instruments(definitions):
    if callable(definitions):
        definitions = definitions()
    scored = psyscore.read(SAV).score(definitions)
    assert "phq9_total" in scored.table.columns
    expected = psyscore.score_table(read_table(SAV).data, [psyscore.load("phq-9")]).table
    pd.testing.assert_series_equal(scored.table["phq9_total"], expected["phq9_total"])


def test_bundles_expand_as_with_dash_i():
    by_id = psyscore.read(SAV).score("program-intake")
    by_object = psyscore.read(SAV).score(psyscore.load("program-intake"))
    assert [i.id for i in by_id.instruments] == [i.id for i in by_object.instruments]
    assert [i.id for i in by_id.instruments][:2] == ["mrni-sf", "erq"]
    pd.testing.assert_frame_equal(by_id.table, by_object.table)


def test_not_an_instrument_is_a_usage_error():
    with pytest.raises(UsageError, match="not an instrument"):
        psyscore.read(SAV).score(42)
    with pytest.raises(UsageError, match="sheet= applies to .xlsx"):
        psyscore.read(pd.DataFrame({"a": [1]}), sheet="x")


def test_output_table_is_what_score_writes(tmp_path):
    out = tmp_path / "scored.sav"
    result = runner.invoke(app, ["score", str(SAV), "-i", "program-intake", "-o", str(out)])
    assert result.exit_code == 1, result.output  # the sample's two typos
    written = read_table(out)
    table = psyscore.read(SAV).score("program-intake").output_table()
    assert isinstance(table, Table)
    assert list(table.data.columns) == list(written.data.columns)
    for col in ("phq9_total", "phq9_total_band", "phq9_total_status", "gad7_total_z"):
        assert table.labels[col] == written.labels[col]
        assert table.measure[col] == written.measure[col]
        assert table.formats[col] == written.formats[col]
    for col in set(table.value_labels) & set(written.value_labels):
        assert table.value_labels[col] == written.value_labels[col], col
    assert table.value_labels["phq9_critical"] == written.value_labels["phq9_critical"]
    assert any(n.startswith("Scored by psyscore") and "phq-9 v" in n for n in table.notes)
    assert table.file_label == written.file_label


def test_qualtrics_previews_are_kept_unscored_and_let_in_on_request():
    survey = psyscore.read(QUALTRICS, map=QMAP)
    scored = survey.score("gad-7")
    status = scored.table["gad7_total_status"].astype(str)
    assert (status == "excluded: survey preview").sum() == 3
    assert (status == "excluded: spam").sum() == 2
    assert any("--include-previews" in w for w in scored.warnings)
    all_in = psyscore.read(QUALTRICS, map=QMAP, previews=True, spam=True).score("gad-7")
    assert not all_in.table["gad7_total_status"].astype(str).str.startswith("excluded").any()


def test_map_accepts_a_file_or_its_content():
    from_file = psyscore.read(QUALTRICS, map=QMAP).score("gad-7").table
    content = {f"GAD7_{i}": {"recode": {1: 0, 2: 1, 3: 2, 4: 3}} for i in range(1, 8)}
    from_dict = psyscore.read(QUALTRICS, map=content).score("gad-7").table
    pd.testing.assert_frame_equal(from_file, from_dict)


def test_resolve_is_the_step_score_uses():
    survey = psyscore.read(SAV)
    resolved = survey.resolve(["phq-9", "gad-7"])
    assert set(resolved.items) == {"phq-9", "gad-7"}
    scored = survey.score(["phq-9", "gad-7"])
    assert [p.column for p in survey.locate(resolved.all_problems)] == [
        p.column for p in scored.problems
    ]
    np.testing.assert_array_equal(resolved.items["phq-9"].codes, scored.batch.items["phq-9"].codes)


def test_reliability_equals_the_engine_and_the_command():
    survey = psyscore.read(SAV)
    report = survey.reliability(["phq-9", "gad-7"], omega=False)
    summary, _ = psyscore.reliability(read_table(SAV).data, psyscore.load("gad-7"), omega=False)
    ours = report.summary.set_index("score").loc["gad7_total", "alpha"]
    assert ours == pytest.approx(summary.set_index("score").loc["gad7_total", "alpha"], abs=1e-12)
    result = runner.invoke(
        app, ["reliability", str(SAV), "-i", "phq-9", "-i", "gad-7", "--no-omega", "--json"]
    )
    assert json.loads(result.stdout) == json.loads(json.dumps(_json_safe(report.to_dict())))
    assert {p.column for p in report.problems} == {"phq9_3", "phq9_6"}


def _json_safe(payload):
    from psyscore.cli.options import json_safe

    return json.loads(json.dumps(json_safe(payload), default=str))


def test_a_chunk_keeps_its_rows_in_the_whole_file():
    """A Survey of one chunk (rows 201-400 of the file) reports problems at their file rows."""
    whole = read_table(CSV)
    chunk = Table(
        whole.data.iloc[200:].reset_index(drop=True),
        row_numbers=None if whole.row_numbers is None else whole.row_numbers[200:],
    )
    scored = psyscore.Survey.from_table(chunk, path=CSV, row_offset=200).score("phq-9")
    [problem] = scored.problems
    assert (problem.row, problem.column, problem.file) == (212, "phq9_6", CSV.name)
    full = psyscore.read(CSV).score("phq-9").problems
    assert problem == next(p for p in full if p.row == 212)


def test_chunk_of_a_survey_keeps_its_map_and_choices():
    survey = psyscore.read(QUALTRICS, map=QMAP, spam=True)
    whole = survey.score("gad-7")
    part = survey.chunk(survey.data.iloc[100:].reset_index(drop=True), row_offset=100)
    assert part.mapping == survey.mapping and part.spam and part.name == survey.name
    assert part.value_labels == survey.value_labels  # the file's metadata, for every chunk
    scored = part.score("gad-7").table
    expected = whole.table.iloc[100:].reset_index(drop=True)
    pd.testing.assert_series_equal(scored["gad7_total"], expected["gad7_total"])
    assert part.rows == survey.rows - 100


def test_a_chunk_keeps_the_files_user_missing_codes(tmp_path):
    import pyreadstat

    rows = [{f"gad7_{i}": (r + i) % 4 for i in range(1, 8)} for r in range(8)]
    rows[6]["gad7_2"] = 9  # refused, declared user-missing in the file
    path = tmp_path / "um.sav"
    pyreadstat.write_sav(pd.DataFrame(rows, dtype=float), str(path), missing_ranges={"gad7_2": [9]})
    survey = psyscore.read(path)
    part = survey.chunk(survey.data.iloc[4:].reset_index(drop=True), row_offset=4)
    scored = part.score("gad-7")
    assert scored.problems == []  # 9 is missing (refused), not an invalid answer
    assert scored.table["gad7_total_n"].tolist() == [7, 7, 6, 7]


def test_py_typed_ships_with_the_package():
    import importlib.resources

    # hatchling puts every file under src/psyscore into the wheel (no MANIFEST to forget)
    assert importlib.resources.files("psyscore").joinpath("py.typed").is_file()


def test_import_psyscore_stays_light():
    code = "import sys, psyscore; psyscore.read; print('pandas' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    code = "import sys, psyscore; print('pandas' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False"


def test_reports_and_the_library_never_import_the_command_line():
    """report/ renders results; the pipeline is a library: neither imports cli/ (nor typer)."""
    import ast

    src = ROOT / "src" / "psyscore"
    library = [p for p in src.rglob("*.py") if "cli" not in p.relative_to(src).parts]
    library = [p for p in library if p.name not in {"__main__.py"}]
    offenders = []
    for path in library:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                if name.split(".")[0] == "cli" or ".cli" in f".{name}" and "psyscore" in name:
                    offenders.append(f"{path.relative_to(src)}: {name}")
                if node.__class__ is ast.ImportFrom and node.level and name.startswith("cli"):
                    offenders.append(f"{path.relative_to(src)}: {name}")
    assert offenders == []


def test_reprs_summarise_without_answers():
    answers = {f"gad7_{i}": [3, 2, (i % 3), 1] for i in range(1, 8)}
    df = pd.DataFrame(answers, index=["secret-id", "x", "y", "z"])
    df["note"] = "private remark"
    survey = psyscore.read(df)
    texts = [repr(survey), repr(survey.score("gad-7")), repr(survey.reliability("gad-7"))]
    assert texts[0] == "<Survey DataFrame: 4 rows x 8 columns>"
    assert all("secret-id" not in t and "private" not in t for t in texts), texts
