"""The one-page summary: client, date, alerts; one table of the clinical screens (score, band,
change and its Jacobson-Truax category, an arrow); research scales; details after. In print the
alerts head every page; in the terminal they come again at the end."""

from __future__ import annotations

import inspect
import re
import shutil
import subprocess

import pytest
from rich.console import Console

from psyscore.intake import compare, score_form
from psyscore.library import resolve_instruments
from psyscore.report import browser
from psyscore.report.intake_html import render_html
from psyscore.report.intake_terminal import render

INSTS = resolve_instruments(["program-intake"])  # research scales, PHQ-9, GAD-7, CSI-4


def _answers(**changes) -> dict:
    answers = {item.id: 1 for inst in INSTS for item in inst.items}
    answers["phq9_9"] = 2  # the critical item: an alert
    answers["phq9_10"] = None  # unscored item left blank
    answers.update(changes)
    return answers


def _result(with_previous: bool = True):
    now = score_form(
        INSTS, _answers(phq9_1=3, phq9_2=3), client_id="R1", date="2026-03-02", sex="male"
    )
    if with_previous:
        before = score_form(INSTS, _answers(), client_id="R1", date="2026-01-05", sex="male")
        before = before.to_dict()
        compare(now, before, INSTS)
    return now


def _text(html: str) -> str:
    body = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def test_html_summary_order_alerts_screens_research_then_details():
    text = _text(render_html(_result()))
    order = [
        "Client: R1",
        "CRITICAL ALERT",
        "Clinical screens",
        "PHQ-9 total (depression severity)",
        "Research scales",
        "MRNI-SF total",
        "Details",
        "Male Role Norms Inventory-Short Form (mrni-sf)",
    ]
    positions = [text.index(marker) for marker in order]
    assert positions == sorted(positions), list(zip(order, positions, strict=True))
    screens = text[text.index("Clinical screens") : text.index("Research scales")]
    assert "MRNI" not in screens and "GAD-7 total" in screens
    research = text[text.index("Research scales") : text.index("Details")]
    assert "PHQ-9" not in research and "CSI-4 total" in research


def test_screens_table_shows_change_category_and_an_arrow_from_the_definition():
    text = _text(render_html(_result()))
    screens = text[text.index("Clinical screens") : text.index("Research scales")]
    # PHQ-9 10 -> 14 (+4): reliable deterioration; lower is better, so up is worse
    assert "+4 since 2026-01-05: reliable deterioration \u2191 worse" in screens
    assert "0 since 2026-01-05: no reliable change \u2192 no change" in screens


def test_details_hold_an_item_table_with_answer_and_anchor():
    text = _text(render_html(_result()))
    details = text[text.index("Details") :]
    assert "9 phq9_9 2 More than half the days" in details
    assert "10 phq9_10 - (blank)" in details


def test_render_html_keeps_its_signature():
    assert list(inspect.signature(render_html).parameters) == ["result", "page_size"]


def test_terminal_summary_first_and_alerts_again_at_the_end():
    console = Console(width=120, record=True)
    render(console, _result())
    text = " ".join(console.export_text().split())
    assert text.index("Clinical screens") < text.index("Research scales") < text.index("Details")
    assert "reliable deterioration" in text and "\u2191 worse" in text
    last_alert = text.rindex("CRITICAL ALERT")
    assert last_alert > text.index("psyscore ") and last_alert > text.index("Details")
    assert text.count("review suicide risk the same day") == 2
    assert re.search(r"phq9_9 \W+ 2 \W+ More than half the days", text)  # the item table


@pytest.fixture(scope="module")
def chromium() -> str:
    found = browser.find_browser()
    if found is None:
        pytest.skip("no Chromium found: install chromium (Debian) or set PSYSCORE_CHROMIUM")
    return found


def test_printed_alert_is_on_every_page(chromium, tmp_path):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not installed (Debian poppler-utils): PDF text not checked")
    pdf = tmp_path / "report.pdf"
    browser.html_to_pdf(render_html(_result(), page_size="A4"), pdf, browser=chromium)
    whole = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    pages = [p for p in whole.split("\f") if p.strip()]
    assert len(pages) >= 3  # a real multi-page report
    for number, page in enumerate(pages, start=1):
        flat = " ".join(page.split())
        assert "CRITICAL ALERT: PHQ-9 phq9_9 (thoughts of death or self-harm)" in flat, number
    # the summary is page 1, the details start on page 2
    assert "Clinical screens" in pages[0] and "Details" not in pages[0]
    assert "Details" in pages[1]


def test_no_alert_no_running_header(chromium, tmp_path):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not installed (Debian poppler-utils): PDF text not checked")
    result = score_form(INSTS, {**_answers(), "phq9_9": 0}, client_id="R2", date="2026-03-02")
    assert not result.alerts
    pdf = tmp_path / "quiet.pdf"
    browser.html_to_pdf(render_html(result, page_size="A4"), pdf, browser=chromium)
    whole = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "CRITICAL" not in whole


def _screenshot_tool():
    import importlib.util

    from .conftest import ROOT

    spec = importlib.util.spec_from_file_location(
        "intake_screenshot", ROOT / "tools" / "intake_screenshot.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, ROOT


def test_a_change_within_error_is_not_emphasised_as_worse():
    tool, _ = _screenshot_tool()
    html = render_html(tool.sample_result())  # GAD-7 6 -> 7: no reliable change
    assert "\u2191 worse (not reliable)" in _text(html)
    assert re.search(r'class="arrow worse">\s*\u2191 worse<', html)  # PHQ-9: reliable


def test_readme_screenshot_is_made_by_the_committed_script(chromium, tmp_path):
    tool, root = _screenshot_tool()
    committed = root / "docs" / "img" / "intake-summary.png"
    assert committed.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "docs/img/intake-summary.png" in (root / "README.md").read_text(encoding="utf-8")
    out = tool.make_screenshot(tmp_path / "summary.png", browser=chromium)
    from PIL import Image

    with Image.open(out) as made, Image.open(committed) as shipped:
        assert made.size == shipped.size == (1000, 900)
