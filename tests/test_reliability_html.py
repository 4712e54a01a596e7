"""The HTML reliability report: per-group rows (--by), the intercorrelation table, a screenshot.

Run as a script to refresh the README's screenshot (needs Chromium):

    python -m tests.test_reliability_html      # writes docs/img/reliability-report.png
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from psyscore.cli import app
from psyscore.report.apa_table import apa_tables
from psyscore.report.browser import find_browser

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "intake_batch.sav"
INSTRUMENTS = ["-i", "phq-9", "-i", "gad-7", "-i", "csi-4"]  # three scores: a short report
SCREENSHOT = ROOT / "docs" / "img" / "reliability-report.png"


def _report(tmp_path: Path, *extra: str) -> tuple[str, dict]:
    html = tmp_path / "report.html"
    args = ["reliability", str(SAMPLE), *INSTRUMENTS, *extra]
    written = CliRunner().invoke(app, [*args, "--html", str(html), "--force"])
    assert written.exit_code in (0, 1), written.output
    as_json = CliRunner().invoke(app, [*args, "--json"])
    return html.read_text(encoding="utf-8"), json.loads(as_json.stdout)


@pytest.fixture(scope="module")
def by_site(tmp_path_factory):
    return _report(tmp_path_factory.mktemp("by"), "--by", "site")


def test_summary_table_has_a_row_per_group_with_its_n(by_site):
    html, payload = by_site
    for inst in payload["instruments"]:
        for score in inst["scores"]:
            assert score["groups"], "the sample has sites"
            for g in score["groups"]:
                label = f"site = {'(no value)' if g['group'] is None else g['group']}"
                row = re.search(
                    rf'<tr class="group" data-score="{score["score"]}" data-group="{re.escape(label)}">'
                    r"(.*?)</tr>",
                    html,
                    re.S,
                )
                assert row, (score["score"], label)
                cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
                assert cells[1] == f"{g['n']:,}"
                assert cells[2] == str(g["n_items"])


def test_intercorrelation_table_as_in_the_apa_tables(by_site):
    html, payload = by_site
    expected = apa_tables(payload)[-1]
    assert expected.title == "Intercorrelations of the Scores"
    table = re.search(r'<table class="intercorrelations">(.*?)</table>', html, re.S)
    assert table
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)
    body = [re.findall(r"<td[^>]*>(.*?)</td>", r, re.S) for r in rows[1:]]
    unescape = {"&#39;": "'", "&amp;": "&"}
    cleaned = [
        [re.sub("|".join(unescape), lambda m: unescape[m.group(0)], c) for c in row] for row in body
    ]
    assert cleaned == expected.rows
    assert "corrected for attenuation" in html


def test_tables_are_numbered_in_order(by_site):
    html, _ = by_site
    numbers = [int(n) for n in re.findall(r'<p class="table-number">Table (\d+)</p>', html)]
    assert numbers == list(range(1, len(numbers) + 1))
    titles = re.findall(r'<p class="table-title">(.*?)</p>', html)
    assert titles[:2] == ["Reliability of the Scores", "Intercorrelations of the Scores"]


def test_without_by_there_are_no_group_rows(tmp_path):
    html, _ = _report(tmp_path, "--no-omega")
    assert 'class="group"' not in html


def test_polychoric_statistics_are_in_the_report(tmp_path):
    bfi = ROOT / "tests" / "reference" / "data"
    html = tmp_path / "ordinal.html"
    result = CliRunner().invoke(
        app,
        [
            "reliability", str(bfi / "bfi25.csv"), "-i", str(bfi / "bfi-ac.yaml"),
            "--correlations", "polychoric", "--no-omega", "--html", str(html),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = html.read_text(encoding="utf-8")
    assert "ordinal alpha (polychoric) .76" in text  # psych: 0.759 (agreeableness)


def write_screenshot(out: Path, tmp: Path) -> None:
    """Screenshot of the top of the report (summary with groups and intercorrelations)."""
    from psyscore.report.browser import html_to_png

    html, _ = _report(tmp, "--by", "site")
    html_to_png(html, out, width=1100, height=1000)


@pytest.mark.skipif(find_browser() is None, reason="needs Chromium for the screenshot")
def test_screenshot_of_the_report(tmp_path):
    out = tmp_path / "reliability-report.png"
    write_screenshot(out, tmp_path)
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG")
    width = int.from_bytes(data[16:20], "big")
    assert width == 1100
    assert SCREENSHOT.exists(), "docs/img/reliability-report.png is shown in the README"


if __name__ == "__main__":  # refresh the README screenshot
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        write_screenshot(SCREENSHOT, Path(tmp))
    print(f"wrote {SCREENSHOT}", file=sys.stderr)
