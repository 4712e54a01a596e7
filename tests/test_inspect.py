"""`psyscore inspect`: columns, detected instruments, item mapping, codes outside the scale."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from psyscore.cli import app

from .conftest import ROOT

runner = CliRunner()
SAMPLE_SAV = ROOT / "sample_data" / "intake_batch.sav"


def _json(*args):
    result = runner.invoke(app, ["inspect", *map(str, args), "--json"])
    return result, json.loads(result.stdout) if result.stdout.strip().startswith("{") else None


def test_sample_sav_detects_instruments_and_the_two_typos(tmp_path):
    before = set(tmp_path.iterdir())
    result, payload = _json(SAMPLE_SAV)
    assert result.exit_code == 1
    assert {"phq-9", "gad-7", "csi-4", "erq", "mrni-sf", "atspph-sf"} <= set(payload["detected"])
    assert payload["rows"] == 400
    cols = {c["name"]: c for c in payload["columns"]}
    assert cols["phq9_1"]["label"].startswith("PHQ-9")
    assert cols["phq9_1"]["value_labels"] == 6  # 4 answers + 2 missing codes
    assert cols["phq9_1"]["user_missing"] == ["99", "-99"]
    phq = next(r for r in payload["instruments"] if r["id"] == "phq-9")
    assert phq["matched"]["phq9_3"] == "phq9_3"
    assert phq["unmapped"] == [] and phq["ambiguous"] == []
    assert [(p["row"], p["column"], p["value"]) for p in phq["problems"]] == [
        (18, "phq9_3", "33"),
        (212, "phq9_6", "5"),
    ]
    gad = next(r for r in payload["instruments"] if r["id"] == "gad-7")
    assert gad["problems"] == []
    assert set(tmp_path.iterdir()) == before  # nothing written


def test_clean_file_exits_0_and_prints_mapping(tmp_path):
    path = tmp_path / "clean.csv"
    items = ",".join(f"GAD7_{i:02d}" for i in range(1, 8))
    path.write_text(f"rid,{items}\na,{','.join(['1'] * 7)}\nb,{','.join(['3'] * 7)}\n")
    result = runner.invoke(app, ["inspect", str(path)])
    assert result.exit_code == 0, result.output
    assert "detected instruments: gad-7" in result.output
    assert "gad7_1 <- GAD7_01" in result.output
    assert "gad-7: 7 of 7 items matched to columns" in result.output


def test_ambiguous_and_unmapped_items_are_reported(tmp_path):
    path = tmp_path / "amb.csv"
    path.write_text("rid,PHQ9_01,phq_9_1,phq9_2,phq9_3\na,1,2,0,3\n")
    result, payload = _json(path, "-i", "phq-9")
    assert result.exit_code == 1
    (phq,) = payload["instruments"]
    assert phq["ambiguous"] == [{"item": "phq9_1", "columns": ["PHQ9_01", "phq_9_1"]}]
    assert phq["matched"] == {"phq9_2": "phq9_2", "phq9_3": "phq9_3"}
    assert phq["unmapped"] == [f"phq9_{i}" for i in range(4, 11)]
    text = runner.invoke(app, ["inspect", str(path), "-i", "phq-9"]).output
    assert "ambiguous: phq9_1 matches PHQ9_01, phq_9_1" in text


def test_usage_errors_exit_2(tmp_path):
    result = runner.invoke(app, ["inspect", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2
    assert "no such file" in result.output and "Traceback" not in result.output
    path = tmp_path / "x.csv"
    path.write_text("a\n1\n")
    result = runner.invoke(app, ["inspect", str(path), "-i", "no-such-scale"])
    assert result.exit_code == 2
    assert "unknown instrument 'no-such-scale'" in result.output
