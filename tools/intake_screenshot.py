"""Make docs/img/intake-summary.png, the README's picture of the intake summary page.

    .venv/bin/python tools/intake_screenshot.py [OUT.png]

The answers are made up (a fictional client "C017", no respondent data): PHQ-9, GAD-7 and the
SSOSH at a second visit, with PHQ-9 item 9 endorsed so the alert shows, compared with a first
visit so the change column, its Jacobson-Truax category and the arrow show. Needs Chromium
(`psyscore.report.browser`); tests/test_intake_summary.py runs it into a temporary folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "docs" / "img" / "intake-summary.png"


def sample_result():
    """The made-up client's second visit, compared with the first."""
    from psyscore.intake import compare, score_form
    from psyscore.library import resolve_instruments

    instruments = resolve_instruments(["phq-9", "gad-7", "ssosh"])

    def visit(phq: list[int], gad: list[int], ssosh: int) -> dict:
        answers = {f"phq9_{i}": code for i, code in enumerate(phq, start=1)}
        answers.update({f"gad7_{i}": code for i, code in enumerate(gad, start=1)})
        answers.update({item.id: ssosh for item in instruments[2].items})
        return answers

    first = score_form(
        instruments,
        visit([1, 1, 1, 1, 0, 1, 1, 0, 0, 1], [1, 1, 1, 1, 0, 1, 1], 3),
        client_id="C017",
        date="2026-01-12",
        sex="male",
        age=34,
    )
    second = score_form(
        instruments,
        visit([2, 2, 2, 2, 1, 2, 2, 1, 1, 2], [1, 1, 1, 1, 1, 1, 1], 3),
        client_id="C017",
        date="2026-02-09",
        sex="male",
        age=34,
    )
    compare(second, first.to_dict(), instruments)
    return second


def make_screenshot(out: Path = DEFAULT_OUT, browser: str | None = None) -> Path:
    from psyscore.report.browser import html_to_png
    from psyscore.report.intake_html import render_html

    html_to_png(render_html(sample_result()), out, width=1000, height=900, browser=browser)
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    print(make_screenshot(target))
