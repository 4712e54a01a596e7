"""`psyscore intake` usability (issue 11): re-scoring a saved result, progress kept until the
result is out, `b` keeps an answer on Enter, `g N` jumps, outputs checked before anything."""

from __future__ import annotations

import errno
import json
import sys

from typer.testing import CliRunner

from psyscore.cli import app
from psyscore.cli import intake as intake_cli

runner = CliRunner()


def invoke(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def phq_form(path, *codes):
    path.write_text(
        "\n".join(f"phq9_{i}: {c}" for i, c in enumerate(codes, start=1)), encoding="utf-8"
    )
    return path


def saved_result(tmp_path, *codes):
    form = phq_form(tmp_path / "form.yaml", *codes)
    first = invoke("intake", "-i", "phq-9", "--client-id", "C1", "--answers", form, "--json")
    assert first.exit_code in (0, 1), first.output  # 1: an answer not understood
    out = tmp_path / "visit.json"
    out.write_text(first.stdout, encoding="utf-8")
    return out, json.loads(first.stdout)


# ---- 1: --answers takes the JSON of `intake --json` -------------------------------------------


def test_answers_rescores_intake_json_taking_instruments_from_it(tmp_path):
    saved, before = saved_result(tmp_path, 1, 2, 1, 2, 1, 1, 2, 1, "")
    again = invoke("intake", "--answers", saved, "--json")
    assert again.exit_code == 0, again.output
    after = json.loads(again.stdout)
    assert after["client_id"] == "C1"
    (inst,) = after["instruments"]
    assert inst["id"] == "phq-9"
    assert inst["answered"] == before["instruments"][0]["answered"]
    assert inst["answered"]["phq9_9"] == {"missing": "blank"}
    assert inst["scores"][0]["value"] == before["instruments"][0]["scores"][0]["value"]


def test_answers_intake_json_must_match_named_instruments(tmp_path):
    saved, _ = saved_result(tmp_path, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    same = invoke("intake", "-i", "phq-9", "--answers", saved, "--json")
    assert same.exit_code == 0, same.output
    other = invoke("intake", "-i", "gad-7", "--answers", saved)
    assert other.exit_code == 2
    assert "phq-9" in other.stderr and "gad-7" in other.stderr


def test_answers_intake_json_with_invalid_answer_is_refused_not_made_missing(tmp_path):
    saved, before = saved_result(tmp_path, 0, 0, 7, 0, 0, 0, 0, 0, 0)
    assert before["instruments"][0]["answered"]["phq9_3"] == {"missing": "invalid"}
    again = invoke("intake", "--answers", saved)
    assert again.exit_code == 2
    assert "phq9_3" in again.stderr


# ---- 2: the progress file outlives a result that could not be written -------------------------


class _FullDisk:
    """stdout on a full disk: writes are buffered, the flush fails (and gives the test runner
    its own stdout back)."""

    def __init__(self, real):
        self.real = real

    def write(self, text):
        pass

    def flush(self):
        sys.stdout = self.real
        raise OSError(errno.ENOSPC, "No space left on device")


def test_progress_kept_when_json_result_cannot_be_flushed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    progress = tmp_path / "p.json"
    real_print_json = intake_cli.print_json

    def print_json_to_full_disk(payload):
        sys.stdout = _FullDisk(sys.stdout)
        real_print_json(payload)

    monkeypatch.setattr(intake_cli, "print_json", print_json_to_full_disk)
    result = invoke(
        "intake", "-i", "phq-9", "--json", "--save-progress", progress, input="0\n" * 10 + "\n"
    )
    assert result.exit_code == 2
    assert "could not write the result" in result.stderr
    assert progress.exists()  # the answers are not lost with the result


# ---- 3: b keeps the previous answer on Enter; g N jumps -------------------------------------


def test_back_then_enter_keeps_previous_answer(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    typed = "2\nb\n\n" + "0\n" * 9 + "\n"  # Enter on the review screen
    result = invoke("intake", "-i", "phq-9", "--json", input=typed)
    assert result.exit_code == 0, result.output
    assert "no answer typed" not in result.stderr
    assert "current answer: 2 = More than half the days" in result.stderr
    answered = json.loads(result.stdout)["instruments"][0]["answered"]
    assert answered["phq9_1"] == {"code": 2.0, "anchor": "More than half the days"}
    assert all(answered[f"phq9_{i}"]["code"] == 0.0 for i in range(2, 10))


def test_go_to_item_number_and_help_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # answer items 1-4 with 0, go back to item 3 and change it to 3, Enter keeps item 4
    typed = "0\n0\n0\n0\ng 3\n3\n\n" + "0\n" * 6 + "\n"
    result = invoke("intake", "-i", "phq-9", "--json", input=typed)
    assert result.exit_code == 0, result.output
    said = " ".join(result.stderr.split())
    assert "g N = go to item N" in said and "Enter keeps" in said
    answered = json.loads(result.stdout)["instruments"][0]["answered"]
    assert answered["phq9_3"]["code"] == 3.0
    assert answered["phq9_4"]["code"] == 0.0  # Enter kept it
    assert all(answered[f"phq9_{i}"]["code"] == 0.0 for i in (1, 2, 5, 6, 7, 8, 9))


def test_go_to_out_of_range_item_is_refused_and_unasked_items_are_asked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # items 9-10 first; at the end of the form the unasked items 1-8 come, then 9-10 again
    # (Enter keeps them)
    typed = "g 99\ng 9\n1\n0\n" + "0\n" * 8 + "\n\n\n"
    result = invoke("intake", "-i", "phq-9", "--json", input=typed)
    assert result.exit_code == 0, result.output
    assert "1 to 10" in result.stderr
    assert "item 1 was not asked yet" in result.stderr
    answered = json.loads(result.stdout)["instruments"][0]["answered"]
    assert answered["phq9_9"]["code"] == 1.0
    assert all(answered[f"phq9_{i}"]["code"] == 0.0 for i in range(1, 9))


# ---- 4: every output checked before anything is asked; written together ----------------------

SAMPLE = __import__("pathlib").Path(__file__).parent.parent / "sample_data"


def test_intake_html_that_is_the_answers_file_is_refused_before_scoring(tmp_path):
    form = phq_form(tmp_path / "form.yaml", 0, 0, 0, 0, 0, 0, 0, 0, 0)
    link = tmp_path / "report.html"
    link.symlink_to(form)
    result = invoke("intake", "-i", "phq-9", "--answers", form, "--html", link, "--force")
    assert result.exit_code == 2
    assert "refusing to overwrite the input file" in " ".join(result.stderr.split())


def test_intake_html_that_is_the_progress_file_is_refused_before_anything_is_asked(tmp_path):
    progress = tmp_path / "p.html"
    result = invoke(
        "intake", "-i", "phq-9", "--save-progress", progress, "--html", progress, input="0\n"
    )
    assert result.exit_code == 2
    assert "named twice" in " ".join(result.stderr.split()) or "input" in result.stderr
    assert "answer:" not in result.output


def test_intake_failed_html_leaves_an_earlier_pdf_untouched(tmp_path, monkeypatch):
    from psyscore.report import browser, intake_html

    monkeypatch.setattr(browser, "require_browser", lambda *a, **k: "chromium")
    monkeypatch.setattr(browser, "html_to_pdf", lambda html, out, **k: out.write_bytes(b"%PDF-new"))

    def html_fails(result, path, page_size=None):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(intake_html, "write_html", html_fails)
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF-old")
    form = phq_form(tmp_path / "form.yaml", 0, 0, 0, 0, 0, 0, 0, 0, 0)
    args = ["--answers", form, "--pdf", pdf, "--html", tmp_path / "r.html", "--force"]
    result = invoke("intake", "-i", "phq-9", *args)
    assert result.exit_code == 2
    assert pdf.read_bytes() == b"%PDF-old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["form.yaml", "report.pdf"]


def test_reliability_failed_table_leaves_no_html(tmp_path, monkeypatch):
    from psyscore.report import apa_table

    def table_fails(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(apa_table, "write_apa_tables", table_fails)
    html, table = tmp_path / "r.html", tmp_path / "t.md"
    args = ["reliability", SAMPLE / "intake_batch.csv", "-i", "phq-9", "--no-omega"]
    result = invoke(*args, "--html", html, "--table", table)
    assert result.exit_code == 2, result.output
    assert list(tmp_path.iterdir()) == []  # neither the report nor a temporary


def test_reliability_html_that_is_the_table_file_is_refused_before_computing(tmp_path):
    html = tmp_path / "r.html"
    link = tmp_path / "t.md"
    link.symlink_to(html)
    args = ["reliability", SAMPLE / "intake_batch.csv", "-i", "phq-9", "--no-omega"]
    result = invoke(*args, "--html", html, "--table", link)
    assert result.exit_code == 2
    assert "named twice" in " ".join(result.stderr.split())


# ---- review screen before scoring -------------------------------------------------------------


def test_review_screen_before_scoring_changes_any_answer(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # all ten items 0; the review screen: change item 3 to 2, then item 9 (g 9) to 1, x is not
    # an item, Enter scores
    typed = "0\n" * 10 + "3\n2\ng 9\n1\nx\n\n"
    result = invoke("intake", "-i", "phq-9", "--json", input=typed)
    assert result.exit_code == 0, result.output
    said = " ".join(result.stderr.split())
    assert said.count("Review before scoring") == 4  # shown again after each change and x
    assert "Enter = score these answers" in said
    assert "x is not an item number" in said
    answered = json.loads(result.stdout)["instruments"][0]["answered"]
    assert answered["phq9_3"]["code"] == 2.0
    assert answered["phq9_9"]["code"] == 1.0
    assert answered["phq9_10"]["code"] == 0.0  # not asked again after the change
    assert json.loads(result.stdout)["instruments"][0]["scores"][0]["value"] == 3.0


def test_end_of_input_on_the_review_screen_keeps_the_answers(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    progress = tmp_path / "p.json"
    result = invoke("intake", "-i", "phq-9", "--save-progress", progress, input="1\n" * 10)
    assert result.exit_code == 130  # not scored without the clinician's Enter
    state = json.loads(progress.read_text())
    assert state["position"] == 10 and len(state["answers"]["phq-9"]) == 10
    # resumed: straight to the review screen
    again = invoke("intake", "--resume", progress, "--json", input="\n")
    assert again.exit_code == 0, again.output
    assert "Review before scoring" in again.stderr
    assert "Resuming at the review screen" in " ".join(again.stderr.split())
    assert json.loads(again.stdout)["instruments"][0]["scores"][0]["value"] == 9.0
    assert not progress.exists()
