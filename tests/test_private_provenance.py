"""`private` provenance (citation, licence, key source) for a lab's own scale."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

import psyscore
from psyscore.cli import app
from psyscore.instrument import parse_definition

runner = CliRunner()

PRIVATE = """
id: lab-scale
name: Our lab's wellbeing scale
construct: other
citation: private
licence: {status: private}
key: {source: private, verified: true}
response_scales:
  s: {values: {1: low, 2: mid, 3: high}}
items:
  - {id: w_1, label: one, scale: s}
  - {id: w_2, label: two, scale: s}
scores:
  total: {label: Total, items: [w_1, w_2]}
examples:
  - {name: twos, answers: {w_1: 2, w_2: 2}, expect: {total: 4}}
"""


@pytest.fixture
def private_file(tmp_path):
    path = tmp_path / "lab.yaml"
    path.write_text(PRIVATE, encoding="utf-8")
    return path


def test_validate_accepts_private_provenance(private_file):
    result = runner.invoke(app, ["instruments", "validate", str(private_file)])
    assert result.exit_code == 0, result.output
    assert "ok" in result.output


def test_private_definition_is_marked_not_independently_verified():
    inst = parse_definition(PRIVATE, "lab.yaml")
    assert inst.private_provenance == ["citation", "licence", "key source"]
    assert not inst.independently_verified
    assert len(inst.warnings) == 1
    assert "not independently verified" in inst.warnings[0]


def test_only_some_fields_private():
    text = PRIVATE.replace("citation: private", "citation: Smith (2020), in press")
    inst = parse_definition(text.replace("{status: private}", "{status: free-to-use}"), "x.yaml")
    assert inst.private_provenance == ["key source"]
    assert not inst.independently_verified


def test_published_definition_is_not_private():
    inst = psyscore.load("phq-9")
    assert inst.private_provenance == []
    assert inst.independently_verified
    assert inst.warnings == []


def test_show_prints_private(private_file):
    result = runner.invoke(app, ["instruments", "show", str(private_file)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Citation: private" in text
    assert "Licence: private" in text
    assert "not independently verified" in text
    assert "Private definition: citation, licence, key source given as private" in text


def test_scoring_warns_every_time(private_file, tmp_path):
    data = tmp_path / "d.csv"
    pd.DataFrame({"w_1": [1, 2], "w_2": [3, 2]}).to_csv(data, index=False)
    out = tmp_path / "scored.csv"
    result = runner.invoke(app, ["score", str(data), "-i", str(private_file), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "not independently verified" in result.output


def test_reliability_html_marks_the_key_private(private_file, tmp_path):
    data = tmp_path / "d.csv"
    pd.DataFrame({"w_1": [1, 2, 3, 2, 1] * 8, "w_2": [1, 3, 3, 2, 2] * 8}).to_csv(data, index=False)
    report = tmp_path / "r.html"
    result = runner.invoke(
        app, ["reliability", str(data), "-i", str(private_file), "--html", str(report)]
    )
    assert result.exit_code == 0, result.output
    html = report.read_text(encoding="utf-8")
    assert "private (citation, licence, key source): not independently verified" in html
