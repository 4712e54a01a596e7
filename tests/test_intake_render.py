"""The intake report in a real browser (headless Chromium): on screen, as DOM, and printed to PDF.

Tests that need Chromium skip with a reason when none is installed (CI installs Debian `chromium`);
the PDF text checks also need `pdftotext` (Debian `poppler-utils`). The error paths of `--pdf`
(no browser, a browser that fails, hangs or prints nothing) use small fake browsers and always run.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from psyscore.cli import app
from psyscore.intake import score_form
from psyscore.library import resolve_instruments
from psyscore.report import browser as browser_mod
from psyscore.report.intake_html import css_string, render_html

runner = CliRunner()
PHQ = resolve_instruments(["phq-9"])
# item 9 answered 2 fires the critical rule; total 8 x 1 + 2 = 10 -> moderate
ANSWERS = {f"phq9_{i}": c for i, c in enumerate([1, 1, 1, 1, 1, 1, 1, 1, 2], start=1)}
ALERT = (
    "CRITICAL ALERT"
    "PHQ-9 phq9_9 (thoughts of death or self-harm): answer 2 = More than half the days. "
    "Item 9 endorsed (thoughts of death or self-harm): review suicide risk the same day."
)
A4 = (594.96, 841.92)  # points, as Chromium writes them
LETTER = (612.0, 792.0)


@pytest.fixture(scope="module")
def chromium() -> str:
    found = browser_mod.find_browser()
    if found is None:
        pytest.skip("no Chromium found: install chromium (Debian) or set PSYSCORE_CHROMIUM")
    return found


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    """A temp folder of its own, to show that a run leaves nothing behind."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _report_html(**kw) -> str:
    result = score_form(PHQ, ANSWERS, client_id="C017", date="2026-02-02")
    return render_html(result, **kw)


def _form(tmp_path: Path) -> Path:
    path = tmp_path / "form.yaml"
    path.write_text("".join(f"{k}: {v}\n" for k, v in ANSWERS.items()))
    return path


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


class _Text(HTMLParser):
    """Visible text of a page in document order, and the text of the role=alert elements."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []
        self.alerts: list[str] = []
        self._skip = 0
        self._alert_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script", "title"):
            self._skip += 1
        if self._alert_depth:
            self._alert_depth += 1
        elif dict(attrs).get("role") == "alert":
            self._alert_depth = 1
            self.alerts.append("")

    def handle_endtag(self, tag):
        if tag in ("style", "script", "title"):
            self._skip -= 1
        if self._alert_depth:
            self._alert_depth -= 1

    def handle_data(self, data):
        if self._skip:
            return
        self.chunks.append(data)
        if self._alert_depth:
            self.alerts[-1] += data

    @property
    def text(self) -> str:
        return re.sub(r"\s+", " ", "".join(self.chunks))


def _pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))


def _media_boxes(data: bytes) -> set[tuple[float, float]]:
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    return {(round(float(w), 2), round(float(h), 2)) for w, h in boxes}


# ---- on screen ----------------------------------------------------------------------------------


def test_screen_rendering_is_not_blank_and_the_alert_is_red_at_the_top(chromium, tmp_path):
    from PIL import Image  # matplotlib, a dependency, requires Pillow

    png = tmp_path / "report.png"
    browser_mod.html_to_png(_report_html(), png, width=1000, height=1400, browser=chromium)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(png) as im:
        assert im.size == (1000, 1400)
        px = np.asarray(im.convert("RGB")).astype(int)
    white = (px == 255).all(axis=2)
    # text, tables and the alert box cover about 11% of the window; a blank page covers 0%
    assert 0.04 < 1 - white.mean() < 0.4
    assert len(np.unique(px.reshape(-1, 3), axis=0)) > 100  # anti-aliased text, not a flat fill
    # the alert's border and tag (#b00000) are drawn, and above everything else but the title
    red = (np.abs(px[..., 0] - 0xB0) <= 12) & (px[..., 1] <= 12) & (px[..., 2] <= 12)
    rows = np.nonzero(red)[0]
    assert red.sum() > 3000
    assert rows.min() < 150 and rows.max() < 300
    pink = (px[..., 0] == 0xFF) & (px[..., 1] == 0xEC) & (px[..., 2] == 0xEC)  # alert background
    assert pink.sum() > 20000


def test_dom_has_the_alert_text_before_the_scores(chromium):
    dom = browser_mod.dump_dom(_report_html(), browser=chromium)
    page = _Text()
    page.feed(dom)
    assert [re.sub(r"\s+", " ", a).strip() for a in page.alerts] == [ALERT]
    text = page.text
    assert text.index("CRITICAL ALERT") < text.index("Patient Health Questionnaire-9 (phq-9)")
    assert "Client: C017 · Date: 2026-02-02" in text
    assert (
        "PHQ-9 total (depression severity) 10 scored 9 of 9 moderate; at or above cut-off" in text
    )
    assert "Screening result, not a diagnosis" in text


# ---- printed ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("paper", "size"), [(None, A4), ("a4", A4), ("letter", LETTER)])
def test_cli_pdf_is_a_summary_page_and_details_on_the_paper_asked_for(
    chromium, tmp_path, private_tmp, paper, size, monkeypatch
):
    monkeypatch.setenv(browser_mod.ENV_VAR, chromium)
    pdf = tmp_path / "out" / "report.pdf"
    pdf.parent.mkdir()
    extra = ["--paper", paper] if paper else []
    result = invoke(
        "intake", "-i", "phq-9", "--answers", _form(tmp_path), "--client-id", "C017",
        "--date", "2026-02-02", "--pdf", pdf, *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"wrote {pdf}" in result.output.replace("\n", "")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    assert b"%%EOF" in data[-64:]
    assert _pdf_pages(data) == 2  # the summary page, then the details
    assert _media_boxes(data) == {size}
    assert os.listdir(pdf.parent) == ["report.pdf"]  # no temporary file beside it
    assert os.listdir(private_tmp) == []  # page, profile and browser output all removed


def test_pdf_text_has_alert_first_and_a_footer_on_the_page(chromium, tmp_path):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not installed (Debian poppler-utils): PDF text not checked")
    pdf = tmp_path / "report.pdf"
    browser_mod.html_to_pdf(_report_html(page_size="A4"), pdf, browser=chromium)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = re.sub(r"\s+", " ", text)
    assert "CRITICAL ALERT PHQ-9 phq9_9 (thoughts of death or self-harm): answer 2 =" in flat
    assert "review suicide risk the same day." in flat
    assert flat.index("CRITICAL ALERT") < flat.index("Patient Health Questionnaire-9 (phq-9)")
    assert "Intake report - client C017 - 2026-02-02 - screening result, not a diagnosis" in flat
    assert "page 2 of 2" in flat
    assert "Screening result, not a diagnosis" in flat


def test_long_report_breaks_between_blocks_not_inside_tables(chromium, tmp_path):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not installed (Debian poppler-utils): PDF text not checked")
    insts = resolve_instruments(["program-intake"])
    answers = {item.id: 1 for inst in insts for item in inst.items}
    result = score_form(insts, answers, client_id="R1", date="2026-02-02")
    pdf = tmp_path / "bundle.pdf"
    browser_mod.html_to_pdf(render_html(result, page_size="letter"), pdf, browser=chromium)
    data = pdf.read_bytes()
    pages = _pdf_pages(data)
    assert 2 <= pages <= 7 and _media_boxes(data) == {LETTER}
    texts = [
        subprocess.run(
            ["pdftotext", "-f", str(p), "-l", str(p), "-layout", str(pdf), "-"],
            capture_output=True, text=True, check=True,
        ).stdout
        for p in range(1, pages + 1)
    ]  # fmt: skip
    for p, page in enumerate(texts, start=1):
        assert f"page {p} of {pages}" in page
        assert "client R1" in page
    # every score table stays whole: its header row and all its score rows on one page
    for inst in result.instruments:
        labels = [" ".join(s.label.split()[:2]) for s in inst.scores]  # cells wrap after that
        on = [p for p, page in enumerate(texts) if labels[0] in page]
        assert on, inst.id
        assert all(label in texts[on[0]] for label in labels), inst.id


# ---- --pdf errors: no real browser needed -------------------------------------------------------


def _fake_browser(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "fake-chromium"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


PRINTS_PDF = """\
log="$FAKE_LOG"
printf '%s\\n' "$@" > "$log"
echo "HOME=$HOME" >> "$log"
for a in "$@"; do
  case "$a" in
    --print-to-pdf=*) out="${a#--print-to-pdf=}" ;;
    file://*) page="${a#file://}" ;;
    --user-data-dir=*) profile="$a" ;;
  esac
done
cp "$page" "$log.html"
printf '%%PDF-1.4 fake\\n%%%%EOF\\n' > "$out"
"""


def test_pdf_with_no_browser_is_a_usage_error_before_anything_is_asked(tmp_path, monkeypatch):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv(browser_mod.ENV_VAR, raising=False)
    progress = tmp_path / "progress.json"
    pdf = tmp_path / "report.pdf"
    result = runner.invoke(
        app,
        ["intake", "-i", "phq-9", "--pdf", str(pdf), "--save-progress", str(progress)],
        input="1\n" * 10,
    )
    assert result.exit_code == 2
    out = re.sub(r"\s+", " ", result.output)
    assert "--pdf needs headless Chromium and none was found" in out
    assert "Install chromium" in out and "write the report with --html and print it" in out
    assert "item 1 of" not in out  # nothing was asked
    assert not pdf.exists() and not progress.exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("report.txt", "report.txt: the PDF report needs a .pdf name"),
        ("missing/report.pdf", "missing: output folder does not exist"),
    ],
)
def test_pdf_path_is_checked_first(tmp_path, name, message):
    result = invoke("intake", "-i", "phq-9", "--answers", _form(tmp_path), "--pdf", tmp_path / name)
    assert result.exit_code == 2
    assert message in re.sub(r"\s+", " ", result.output)


def test_pdf_is_not_replaced_without_force(tmp_path, monkeypatch, private_tmp):
    monkeypatch.setenv(browser_mod.ENV_VAR, str(_fake_browser(tmp_path, PRINTS_PDF)))
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "log"))
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"old")
    result = invoke("intake", "-i", "phq-9", "--answers", _form(tmp_path), "--pdf", pdf)
    assert result.exit_code == 2 and "already exists; use --force" in result.output
    assert pdf.read_bytes() == b"old"
    forced = invoke("intake", "-i", "phq-9", "--answers", _form(tmp_path), "--pdf", pdf, "--force")
    assert forced.exit_code == 0, forced.output
    assert pdf.read_bytes() == b"%PDF-1.4 fake\n%%EOF\n"


def test_browser_gets_a_fresh_private_profile_and_home(tmp_path, monkeypatch, private_tmp):
    monkeypatch.setenv(browser_mod.ENV_VAR, str(_fake_browser(tmp_path, PRINTS_PDF)))
    log = tmp_path / "log"
    monkeypatch.setenv("FAKE_LOG", str(log))
    pdf, html = tmp_path / "r.pdf", tmp_path / "r.html"
    result = invoke(
        "intake", "-i", "phq-9", "--answers", _form(tmp_path), "--client-id", "C017",
        "--pdf", pdf, "--html", html, "--paper", "Letter",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    args = log.read_text().splitlines()
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-pdf-header-footer",
    ):  # fmt: skip
        assert flag in args
    (profile,) = [a.split("=", 1)[1] for a in args if a.startswith("--user-data-dir=")]
    (home,) = [a.split("=", 1)[1] for a in args if a.startswith("HOME=")]
    work = Path(profile).parent
    assert work.parent == private_tmp and work.name.startswith("psyscore-browser-")
    assert Path(home).parent == work
    assert args[-2] == (work / "report.html").as_uri()  # the last argument; HOME logged after
    assert not work.exists()  # page, profile and home removed after the run
    assert os.listdir(private_tmp) == []
    printed = (tmp_path / "log.html").read_text(encoding="utf-8")
    assert "@page {\n    size: letter;" in printed and "CRITICAL ALERT" in printed
    # the --html file is the same report, with the same paper size
    assert html.read_text(encoding="utf-8") == printed
    assert pdf.read_bytes().startswith(b"%PDF-1.4 fake")


def test_hanging_browser_is_stopped_with_its_children(tmp_path, monkeypatch, private_tmp):
    child_pid = tmp_path / "child.pid"
    fake = _fake_browser(tmp_path, f"sleep 60 &\necho $! > {child_pid}\nwait\n")
    monkeypatch.setenv(browser_mod.ENV_VAR, str(fake))
    monkeypatch.setattr(browser_mod, "TIMEOUT", 1.0)
    pdf = tmp_path / "report.pdf"
    start = time.monotonic()
    result = invoke("intake", "-i", "phq-9", "--answers", _form(tmp_path), "--pdf", pdf)
    assert time.monotonic() - start < 15
    assert result.exit_code == 2
    out = re.sub(r"\s+", " ", result.output)
    assert "could not write the PDF: fake-chromium did not print to PDF within 1 s" in out
    # the report is not printed after an error, but the critical alert still is
    assert "CRITICAL ALERT" in out and "PHQ-9 phq9_9 (thoughts of death or self-harm)" in out
    assert not pdf.exists() and sorted(os.listdir(tmp_path)) == [
        "child.pid", "fake-chromium", "form.yaml", "tmp",
    ]  # fmt: skip
    assert os.listdir(private_tmp) == []
    _wait_gone(int(child_pid.read_text()))


def test_helper_in_a_session_of_its_own_is_stopped_too(tmp_path, private_tmp):
    # like Chromium's crash handler: it calls setsid(), so the process group kill misses it, and it
    # names the run's private folder on its command line
    helper_pid = tmp_path / "helper.pid"
    helper = (
        "import os, sys, time; os.setsid(); "
        "open(sys.argv[1] + '.tmp', 'w').write(str(os.getpid())); "
        "os.rename(sys.argv[1] + '.tmp', sys.argv[1]); time.sleep(60)"
    )
    body = PRINTS_PDF.replace('log="$FAKE_LOG"', f'log="{tmp_path / "log"}"') + (
        f'"{sys.executable}" -c "{helper}" "{helper_pid}" "$profile" </dev/null >/dev/null 2>&1 &\n'
        f'while [ ! -e "{helper_pid}" ]; do sleep 0.05; done\n'  # exit once it has left the group
    )
    fake = _fake_browser(tmp_path, body)
    pdf = tmp_path / "report.pdf"
    browser_mod.html_to_pdf("<p>x</p>", pdf, browser=str(fake))
    assert pdf.read_bytes().startswith(b"%PDF-1.4 fake")
    pid = int(helper_pid.read_text())
    _wait_gone(pid)
    assert os.listdir(private_tmp) == []


def _wait_gone(pid: int) -> None:
    for _ in range(50):  # killed, and reaped by init
        if not Path(f"/proc/{pid}").exists() or "Z" in _proc_state(pid):
            return
        time.sleep(0.1)
    pytest.fail(f"the browser's helper process {pid} outlived the run")


def _proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return "Z"


def test_failing_browser_error_quotes_no_browser_output(tmp_path, monkeypatch, private_tmp):
    fake = _fake_browser(tmp_path, "echo 'phq9_9=2 More than half the days' >&2\nexit 3\n")
    monkeypatch.setenv(browser_mod.ENV_VAR, str(fake))
    pdf = tmp_path / "report.pdf"
    result = invoke("intake", "-i", "phq-9", "--answers", _form(tmp_path), "--pdf", pdf)
    assert result.exit_code == 2
    error = next(line for line in result.output.splitlines() if line.startswith("error:"))
    assert "fake-chromium could not print to PDF (exit code 3); nothing was written" in error
    assert "phq9_9=2" not in result.output
    assert not pdf.exists() and os.listdir(private_tmp) == []
    with pytest.raises(browser_mod.BrowserError) as info:
        browser_mod.html_to_pdf("<p>x</p>", pdf, browser=str(fake))
    assert info.value.detail == "phq9_9=2 More than half the days"  # kept for debugging only


def test_browser_that_prints_nothing_is_an_error(tmp_path, monkeypatch, private_tmp):
    monkeypatch.setenv(browser_mod.ENV_VAR, str(_fake_browser(tmp_path, "exit 0\n")))
    pdf, html = tmp_path / "report.pdf", tmp_path / "report.html"
    result = invoke(
        "intake", "-i", "phq-9", "--answers", _form(tmp_path), "--pdf", pdf, "--html", html
    )
    assert result.exit_code == 2
    assert "the browser did not produce a PDF; nothing was written" in result.output
    assert not pdf.exists() and not html.exists()
    assert os.listdir(private_tmp) == []


def test_browser_override_must_be_executable(tmp_path, monkeypatch):
    monkeypatch.setenv(browser_mod.ENV_VAR, str(tmp_path / "no-such-browser"))
    result = invoke(
        "intake", "-i", "phq-9", "--answers", _form(tmp_path), "--pdf", tmp_path / "r.pdf"
    )
    assert result.exit_code == 2
    assert "$PSYSCORE_CHROMIUM is set to" in result.output
    assert "not an executable file or a command on PATH" in result.output


def test_find_browser_order(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("google-chrome", "chromium-browser"):
        _fake_browser(tmp_path, "exit 0\n").rename(bin_dir / name)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv(browser_mod.ENV_VAR, raising=False)
    assert browser_mod.find_browser() == str(bin_dir / "chromium-browser")
    monkeypatch.setenv(browser_mod.ENV_VAR, "google-chrome")  # a command name works too
    assert browser_mod.find_browser() == str(bin_dir / "google-chrome")
    monkeypatch.setenv(browser_mod.ENV_VAR, "")  # empty: not set
    assert browser_mod.find_browser() == str(bin_dir / "chromium-browser")


def test_css_string_cannot_break_out_of_the_style_sheet():
    assert css_string("C017") == '"C017"'
    assert css_string('a</style>"b') == '"a\\3c \\2f style\\3e \\22 b"'
    html = render_html(score_form(PHQ, ANSWERS, client_id='X</style><b>"'))
    style = html[html.index("<style>") : html.index("</style>")]
    assert "<b>" not in style and "</" not in style
    assert "X&lt;/style&gt;&lt;b&gt;&#34;" in html  # in the body, HTML-escaped
    assert html.count("</style>") == 1
