"""One pipeline: `score`, `reliability` and `intake --answers FILE` refuse the same bad file with
the same problem, and the Python API (`psyscore.read(...).score / .reliability`) agrees with them.

Each case is a one-row file (intake scores one form) with a fault that must not become a silent
wrong number: a shifted coding, value labels of another coding, an invalid answer, a recode into
an invalid code, a user-missing code recoded to an answer, an unknown item in the map.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import psyscore
from psyscore.cli import app
from psyscore.errors import DataError, UsageError

runner = CliRunner()
GAD = [f"gad7_{i}" for i in range(1, 8)]


def _csv(path: Path, row: dict) -> Path:
    pd.DataFrame([row]).to_csv(path, index=False)
    return path


def _sav(path: Path, row: dict, **meta) -> Path:
    import pyreadstat

    pyreadstat.write_sav(pd.DataFrame([row], dtype=float), str(path), **meta)
    return path


def shifted(tmp: Path) -> tuple[Path, Path | None]:
    # 1-4 where GAD-7 codes 0-3: two 4s out of the scale, no 0 anywhere
    return _csv(tmp / "shifted.csv", dict(zip(GAD, [1, 2, 3, 4, 4, 1, 2], strict=True))), None


def labelled_other_coding(tmp: Path) -> tuple[Path, Path | None]:
    # the numbers fit 0-3, but the file's value labels say 1 = Not at all (Qualtrics' default)
    labels = {
        1: "Not at all",
        2: "Several days",
        3: "More than half the days",
        4: "Nearly every day",
    }
    row = dict(zip(GAD, [1, 2, 3, 1, 2, 3, 1], strict=True))
    return _sav(tmp / "labels.sav", row, variable_value_labels={c: labels for c in GAD}), None


def invalid_answer(tmp: Path) -> tuple[Path, Path | None]:
    return _csv(tmp / "invalid.csv", dict(zip(GAD, [1, 2, 3, 0, 33, 1, 2], strict=True))), None


def unrecognised_text(tmp: Path) -> tuple[Path, Path | None]:
    row = dict(zip(GAD, ["1", "2", "sometimes", "0", "1", "1", "2"], strict=True))
    return _csv(tmp / "text.csv", row), None


def recode_into_invalid(tmp: Path) -> tuple[Path, Path | None]:
    data = _csv(tmp / "recoded.csv", dict(zip(GAD, [1, 2, 3, 0, 1, 1, 2], strict=True)))
    mapping = tmp / "map.yaml"
    mapping.write_text("gad7_2: {recode: {2: 7}}\n", encoding="utf-8")
    return data, mapping


def user_missing_recoded(tmp: Path) -> tuple[Path, Path | None]:
    # 9 = refused is declared user-missing in the file; a recode turns 9 into 5: whether that is
    # an answer depends on which is applied first, so every path refuses it
    row = dict(zip(GAD, [1, 2, 3, 0, 9, 1, 2], strict=True))
    data = _sav(
        tmp / "user_missing.sav",
        row,
        variable_value_labels={c: {9: "Refused"} for c in GAD},
        missing_ranges={c: [9] for c in GAD},
    )
    mapping = tmp / "map.yaml"
    mapping.write_text("gad7_5: {recode: {9: 5}}\n", encoding="utf-8")
    return data, mapping


def unknown_item_in_map(tmp: Path) -> tuple[Path, Path | None]:
    data = _csv(tmp / "ok.csv", dict(zip(GAD, [1, 2, 3, 0, 1, 1, 2], strict=True)))
    mapping = tmp / "map.yaml"
    mapping.write_text("Q9: gad7_09\n", encoding="utf-8")
    return data, mapping


def _run(command: str, data: Path, mapping: Path | None, tmp: Path):
    extra = ["--map", str(mapping)] if mapping else []
    if command == "score":
        args = ["score", str(data), "-i", "gad-7", "-o", str(tmp / "out.csv"), "--force"]
    elif command == "reliability":
        args = ["reliability", str(data), "-i", "gad-7", "--no-omega"]
    else:
        args = ["intake", "-i", "gad-7", "--answers", str(data)]
    return runner.invoke(app, [*args, *extra, "--json"])


def _problems(command: str, stdout: str) -> set[tuple]:
    payload = json.loads(stdout)
    if command == "intake":
        found = [p for inst in payload["instruments"] for p in inst.get("problems", [])]
    else:
        found = payload["problems"]
    # the message words the consequence (unscored vs treated as missing); the fault is the same
    return {(p["kind"], p.get("column"), p.get("value")) for p in found}


def _outcome(command: str, data: Path, mapping: Path | None, tmp: Path):
    result = _run(command, data, mapping, tmp)
    if result.stdout.strip().startswith("{"):
        return result.exit_code, _problems(command, result.stdout)
    # a refusal: one error line (the snippet of a fixing map file may follow)
    return result.exit_code, result.output.strip()


REFUSED = [shifted, labelled_other_coding, unknown_item_in_map, user_missing_recoded]
REPORTED = [invalid_answer, unrecognised_text, recode_into_invalid]


@pytest.mark.parametrize("case", [unknown_item_in_map], ids=lambda c: c.__name__)
def test_score_and_reliability_name_the_map_file_alike(case, tmp_path):
    data, mapping = case(tmp_path)
    score = _outcome("score", data, mapping, tmp_path)
    assert score == _outcome("reliability", data, mapping, tmp_path)
    assert score[0] == 2 and f"{mapping}:1: entry 'Q9'" in score[1]


@pytest.mark.parametrize("case", REFUSED + REPORTED, ids=lambda c: c.__name__)
def test_score_reliability_and_intake_refuse_the_same_bad_file(case, tmp_path):
    data, mapping = case(tmp_path)
    outcomes = {c: _outcome(c, data, mapping, tmp_path) for c in ("score", "reliability", "intake")}
    assert outcomes["score"] == outcomes["reliability"] == outcomes["intake"], outcomes
    code, what = outcomes["score"]
    if case in REFUSED:
        assert code in (1, 2) and "error:" in what
        assert not (tmp_path / "out.csv").exists()  # refused before anything is written
    else:
        assert code == 1 and what  # scored or analysed, with the problem named


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.__name__)
def test_the_python_api_refuses_what_the_commands_refuse(case, tmp_path):
    data, mapping = case(tmp_path)
    cli = runner.invoke(
        app,
        ["reliability", str(data), "-i", "gad-7", "--no-omega"]
        + (["--map", str(mapping)] if mapping else []),
    )
    error = DataError if cli.exit_code == 1 else UsageError
    for job in ("score", "reliability", "resolve"):
        with pytest.raises(error) as raised:
            getattr(psyscore.read(data, map=mapping), job)("gad-7")
        assert str(raised.value).splitlines()[0] in cli.output.replace("error: ", "", 1)


@pytest.mark.parametrize("case", REPORTED, ids=lambda c: c.__name__)
def test_the_python_api_reports_what_the_commands_report(case, tmp_path):
    data, mapping = case(tmp_path)
    _, cli_problems = _outcome("score", data, mapping, tmp_path)
    survey = psyscore.read(data, map=mapping)
    for result in (survey.score("gad-7"), survey.reliability("gad-7", omega=False)):
        assert {(p.kind, p.column, p.value) for p in result.problems} == cli_problems
        assert all(p.file == data.name and p.row == 1 for p in result.problems)


def test_retest_refuses_value_labels_of_another_coding_as_score_does(tmp_path):
    """A .sav whose labels say 1 = Not at all is refused by retest too, not scored 0-3."""
    import pyreadstat

    labels = {
        1: "Not at all",
        2: "Several days",
        3: "More than half the days",
        4: "Nearly every day",
    }
    files = []
    for wave in (1, 2):
        rows = [
            {"id": i, **{c: (i + j + wave) % 3 + 1 for j, c in enumerate(GAD)}} for i in range(6)
        ]
        path = tmp_path / f"wave{wave}.sav"
        pyreadstat.write_sav(
            pd.DataFrame(rows, dtype=float),
            str(path),
            variable_value_labels={c: labels for c in GAD},
        )
        files.append(path)
    score = runner.invoke(
        app, ["score", str(files[0]), "-i", "gad-7", "-o", str(tmp_path / "o.csv")]
    )
    retest = runner.invoke(
        app, ["retest", *map(str, files), "-i", "gad-7", "--id-column", "id", "--json"]
    )
    assert score.exit_code == 1 and "do not match the definition's scale" in score.output
    assert retest.exit_code == 1, retest.output
    assert "do not match the definition's scale" in retest.output
    assert "error: wave1.sav: " in retest.output  # the file that holds them is named
