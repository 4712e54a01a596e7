"""The terminal renderers in report/ draw from result objects, on any console.

Each command prints through a public ``psyscore.report.*_terminal`` function; called directly on
the result of the Python API they draw exactly what the command prints for the same file, and
the --json payloads come from the result objects.
"""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

import psyscore
from psyscore.cli import app
from psyscore.cli import options as cli_options
from psyscore.io import read_table
from psyscore.jsonable import json_safe
from psyscore.report.inspect_terminal import instruments_line, print_inspection
from psyscore.report.reliability_terminal import (
    print_instrument,
    print_intercorrelations,
    print_reliability_report,
)
from psyscore.report.retest_terminal import print_retest, retest_payload
from psyscore.report.score_terminal import (
    critical_alerts,
    print_score_summary,
    print_scored_survey,
)

from .conftest import ROOT

runner = CliRunner()
SAMPLE = ROOT / "sample_data" / "intake_batch.csv"
RETEST = ROOT / "tests" / "reference" / "data"


def recording_consoles() -> tuple[Console, Console]:
    """Consoles as the command line's (`cli.options.out` / `err`), recording instead of printing;
    as wide as the command's console is in this process, so both wrap alike."""
    width = cli_options.out.width
    out = Console(file=io.StringIO(), width=width, highlight=False, soft_wrap=False, record=True)
    err = Console(file=io.StringIO(), width=width, highlight=False, record=True)
    return out, err


def invoke(*args) -> object:
    return runner.invoke(app, [str(a) for a in args])


def assert_same_output(result, out: Console, err: Console) -> None:
    assert out.export_text(clear=False) == result.stdout
    assert err.export_text(clear=False) == result.stderr


def test_reliability_report_renders_as_the_command_prints():
    cli = invoke("reliability", SAMPLE, "-i", "phq-9", "-i", "gad-7")
    assert cli.exit_code == 1, cli.output  # the sample's deliberate typo in phq9_3
    report = psyscore.read(SAMPLE).reliability(["phq-9", "gad-7"])
    out, err = recording_consoles()
    print_reliability_report(out, err, report)
    assert_same_output(cli, out, err)
    text = out.export_text(clear=False)
    assert "phq-9: reliability" in text and "Scale intercorrelations" in text
    assert "data problem(s)" in text


def test_reliability_json_is_the_reports_dict():
    cli = invoke("reliability", SAMPLE, "-i", "gad-7", "--no-omega", "--json")
    report = psyscore.read(SAMPLE).reliability("gad-7", omega=False)
    assert json.loads(cli.stdout) == json.loads(json.dumps(json_safe(report.to_dict())))


def test_score_renders_as_the_command_prints(tmp_path):
    target = tmp_path / "scored.csv"
    cli = invoke("score", SAMPLE, "-i", "phq-9", "-i", "gad-7", "-o", target)
    assert cli.exit_code == 1, cli.output
    scored = psyscore.read(SAMPLE).score(["phq-9", "gad-7"])
    out, err = recording_consoles()
    print_scored_survey(out, err, scored, [target])
    assert_same_output(cli, out, err)
    words = " ".join(out.export_text(clear=False).split())
    assert words.endswith(f"wrote {target} (400 rows, {scored.table.shape[1]} columns)")


def test_score_json_payload_is_the_results_dict(tmp_path):
    target = tmp_path / "scored.csv"
    cli = invoke("score", SAMPLE, "-i", "gad-7", "-o", target, "--json")
    scored = psyscore.read(SAMPLE).score("gad-7")
    payload = scored.to_dict(outputs=[target])
    assert list(payload)[:2] == ["input", "outputs"]
    assert json.loads(cli.stdout) == json.loads(json.dumps(json_safe(payload)))
    # without outputs, the dict of the result alone (as before)
    assert "input" not in scored.to_dict() and scored.to_dict()["rows"] == 400


def test_score_json_of_a_dataframe_has_no_input_file():
    df = pd.DataFrame({f"gad7_{i}": [0, 3] for i in range(1, 8)})
    payload = psyscore.read(df).score("gad-7").to_dict(outputs=["x.csv"])
    assert payload["input"] is None and payload["outputs"] == ["x.csv"]


def test_critical_alerts_go_to_the_error_console_or_else_to_out():
    df = pd.DataFrame({f"phq9_{i}": [0, 3] for i in range(1, 10)})
    summary = psyscore.read(df).score("phq-9").summary()
    alerts = critical_alerts(summary)
    assert len(alerts) == 1 and "critical items of phq-9: 1 respondent(s) endorsed" in alerts[0]
    out, err = recording_consoles()
    print_score_summary(out, summary, err=err)
    assert "ALERT: critical items of phq-9" in err.export_text(clear=False)
    assert "ALERT" not in out.export_text(clear=False) and "phq9_total" in out.export_text(
        clear=False
    )
    alone, _ = recording_consoles()
    print_score_summary(alone, summary)
    assert "ALERT: critical items of phq-9" in alone.export_text(clear=False)


def test_retest_renders_as_the_command_prints():
    from psyscore.retest_table import Wave, retest_two

    w1, w2 = RETEST / "retest_wave1.csv", RETEST / "retest_wave2.csv"
    cli = invoke("retest", w1, w2, "-i", "phq-9", "--id-column", "respondent_id")
    result = retest_two(
        Wave(read_table(w1).data, w1.name, "1"),
        Wave(read_table(w2).data, w2.name, "2"),
        psyscore.survey.as_instruments("phq-9"),
        id_column="respondent_id",
    )
    payload = retest_payload(result, [w1, w2], "wave1")
    out, err = recording_consoles()
    print_retest(out, err, payload, result.problems)
    assert_same_output(cli, out, err)
    json_cli = invoke("retest", w1, w2, "-i", "phq-9", "--id-column", "respondent_id", "--json")
    assert json.loads(json_cli.stdout) == json.loads(json.dumps(json_safe(payload)))


def test_inspect_renders_as_the_command_prints():
    from psyscore.inspection import inspect_survey

    cli = invoke("inspect", SAMPLE, "-i", "gad-7")
    survey = psyscore.read(SAMPLE)
    requested = survey.instruments("gad-7")
    found = inspect_survey(survey, requested)
    out, _ = recording_consoles()
    print_inspection(out, found)
    assert out.export_text(clear=False) == cli.stdout
    assert instruments_line([], []) == "detected instruments: none (give one with -i)"


def test_inspection_of_a_dataframe_is_named_so():
    from psyscore.inspection import inspect_survey

    survey = psyscore.read(pd.DataFrame({"gad7_1": [1, 2]}))
    out, _ = recording_consoles()
    print_inspection(out, inspect_survey(survey, []))
    assert out.export_text(clear=False).startswith("DataFrame: 2 rows, 1 columns")


def test_group_labels_and_by_columns_are_never_markup():
    """A --by value is data: '[red]x[/]' prints as typed, not as red x."""
    inst = {
        "instrument": "toy",
        "prefix": "toy",
        "scores": [
            {
                "score": "toy_total",
                "by": "[b]site",
                "n": 10,
                "n_items": 3,
                "alpha": 0.8,
                "apa": "Cronbach's alpha = .80",
                "groups": [
                    {"group": "[red]x[/]", "n": 4, "n_items": 3, "warnings": [{"code": "small_n"}]}
                ],
            }
        ],
    }
    out, _ = recording_consoles()
    print_instrument(out, inst)
    text = out.export_text(clear=False)
    assert "[b]site = [red]x[/]" in text
    assert "[b]site = [red]x[/] (n = 4): small_n (messages in --json)" in text


def test_no_intercorrelations_print_nothing():
    out, _ = recording_consoles()
    print_intercorrelations(out, None)
    print_intercorrelations(out, {}, overlap=True)
    assert out.export_text(clear=False) == ""


@pytest.mark.parametrize("renderer", [print_reliability_report, print_scored_survey])
def test_renderers_write_only_to_the_consoles_given(renderer, capsys):
    survey = psyscore.read(SAMPLE)
    out, err = recording_consoles()
    if renderer is print_reliability_report:
        renderer(out, err, survey.reliability("gad-7", omega=False))
    else:
        renderer(out, err, survey.score("gad-7"), ["scored.csv"])
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert out.export_text(clear=False)


def test_the_renderers_import_neither_the_command_line_nor_typer():
    """The guard of test_survey_api covers every module outside cli/; the renderers moved out of
    cli/ must also not need typer (a notebook or the web app can use them)."""
    import ast

    report = ROOT / "src" / "psyscore" / "report"
    moved = sorted(report.glob("*_terminal.py")) + [
        report / "terminal.py",
        report / "reliability_files.py",
    ]
    names = {p.stem for p in moved}
    assert {
        "score_terminal",
        "reliability_terminal",
        "retest_terminal",
        "inspect_terminal",
    } <= names
    for path in moved:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            else:
                continue
            for module in modules:
                assert module.split(".")[0] not in {"typer", "click"}, (path.name, module)
                assert "cli" not in module.split("."), (path.name, module)
