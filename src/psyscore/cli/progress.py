"""A progress bar on stderr for long reads, scoring and writes: rows done, rows/s, time left.

Shown only on a terminal, never with --json or --quiet (stdout must stay pure JSON, and a log
file must not fill with bar redraws). Where the file does not state its row count (CSV), the
total is estimated from the file size and the length of its first lines.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RowsPerSecond(ProgressColumn):
    """Rows per second, as rich's own speed column shows bytes."""

    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        if speed is None:
            return Text("? rows/s", style="progress.data.speed")
        return Text(f"{speed:,.0f} rows/s", style="progress.data.speed")


class RowProgress:
    """What the chunked commands call: start(total), advance(rows), restart()."""

    def __init__(self, progress: Progress | None, what: str, estimate: int | None = None):
        self._progress = progress
        self._what = what
        self._estimate = estimate
        self._task = None
        self.rows = 0

    def start(self, total: int | None) -> None:
        self.rows = 0
        if self._progress is None:
            return
        total = total if total is not None else self._estimate
        if self._task is None:
            self._task = self._progress.add_task(self._what, total=total)
        else:
            self._progress.reset(self._task, total=total, description=self._what)

    def advance(self, rows: int) -> None:
        self.rows += rows
        if self._progress is None or self._task is None:
            return
        task = self._progress.tasks[self._task]
        if task.total is not None and self.rows > task.total:  # an estimate that fell short
            self._progress.update(self._task, total=self.rows)
        self._progress.advance(self._task, rows)

    def restart(self) -> None:
        """A column's type changed in a later chunk: the file is read again from the start."""
        self._what = f"{self._what} (again: a later chunk changed a column's type)"
        self.start(None)


def shown(console: Console, *, quiet: bool) -> bool:
    return not quiet and console.is_terminal


@contextlib.contextmanager
def row_progress(
    what: str, console: Console, *, quiet: bool, path: Path | None = None
) -> Iterator[RowProgress]:
    """A RowProgress drawing on `console` (stderr) when `shown`, else one that only counts."""
    if not shown(console, quiet=quiet):
        yield RowProgress(None, what)
        return
    estimate = estimate_rows(path) if path is not None else None
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        RowsPerSecond(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    with bar:
        yield RowProgress(bar, what, estimate)


def estimate_rows(path: Path) -> int | None:
    """Rows of a text file, estimated from its size and its first MB (None for other files)."""
    if path.suffix.lower() not in {".csv", ".tsv", ".txt"}:
        return None
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(1 << 20)
    except OSError:
        return None
    lines = head.count(b"\n")
    if not lines:
        return None
    return max(int(size / (len(head) / lines)) - 1, 1)
