"""The progress bar: on a terminal only, never with --json; counts rows whether shown or not."""

from __future__ import annotations

import io

from rich.console import Console

from psyscore.cli.progress import RowProgress, estimate_rows, row_progress, shown


def _console(terminal: bool) -> Console:
    return Console(file=io.StringIO(), force_terminal=terminal, width=100)


def test_not_shown_when_stderr_is_no_terminal_or_with_json():
    assert not shown(_console(False), quiet=False)
    assert not shown(_console(True), quiet=True)  # --json
    assert shown(_console(True), quiet=False)


def test_hidden_bar_still_counts_and_writes_nothing():
    console = _console(False)
    with row_progress("scoring x.csv", console, quiet=False) as bar:
        bar.start(None)
        bar.advance(5)
        bar.advance(7)
    assert bar.rows == 12
    assert console.file.getvalue() == ""


def test_bar_on_a_terminal_shows_rows_and_rate():
    console = _console(True)
    with row_progress("scoring x.csv", console, quiet=False) as bar:
        bar.start(100)
        bar.advance(40)
        bar._progress.refresh()
        shown_text = console.file.getvalue()
    assert "scoring x.csv" in shown_text and "40/100" in shown_text and "rows/s" in shown_text
    assert isinstance(bar, RowProgress) and bar.rows == 40


def test_a_low_estimate_grows_with_the_rows():
    console = _console(True)
    with row_progress("reading", console, quiet=False) as bar:
        bar.start(10)
        bar.advance(25)
        task = bar._progress.tasks[0]
        assert task.total == 25 and task.completed == 25


def test_row_estimate_of_a_csv(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n" + "1,2\n" * 1000)
    assert 900 <= estimate_rows(path) <= 1100
    assert estimate_rows(tmp_path / "x.sav") is None


def test_score_in_memory_shows_the_rows_written_on_a_terminal(tmp_path, monkeypatch):
    """In memory too, the CSV output is written with the bar (rows, rows/s), never with --json."""
    from typer.testing import CliRunner

    import psyscore.cli.score as score_cli
    from psyscore.cli import app
    from psyscore.io import csv_write

    from .conftest import DATA

    data = tmp_path / "d.csv"
    data.write_text("id,toy_1,toy_2,toy_3,toy_4\n" + "".join(f"r{i},1,2,3,4\n" for i in range(50)))
    monkeypatch.setattr(csv_write, "CELLS_PER_BLOCK", 60)  # several blocks
    for as_json in (False, True):
        terminal = _console(True)
        monkeypatch.setattr(score_cli, "err", terminal)
        args = ["score", str(data), "-i", str(DATA / "toy.yaml"), "-o", str(tmp_path / "o.csv")]
        result = CliRunner().invoke(app, [*args, "--force", *(["--json"] if as_json else [])])
        assert result.exit_code == 0, result.output
        drawn = terminal.file.getvalue()
        if as_json:
            assert drawn == ""
        else:
            assert "writing o.csv" in drawn and "rows/s" in drawn
