"""The files `psyscore reliability` writes beside its terminal output: the standalone HTML report
(--html) and the APA 7 tables (--table .docx/.md/.tex), checked before anything is read and
written atomically with the usual permissions.

Both render the dict of :meth:`psyscore.survey.ReliabilityReport.to_dict`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import UsageError

HTML_SUFFIXES = {".html", ".htm"}
TABLE_SUFFIXES = {".docx", ".md", ".tex"}


def _check_target(path: Path, data: Path, option: str) -> None:
    if path.exists() and data.exists() and path.resolve() == data.resolve():
        raise UsageError(f"{path}: refusing to overwrite the input file; choose another {option}")
    if path.is_dir():
        raise UsageError(f"{path}: is a folder; give a file name for {option}")


def _check_new(path: Path, *, force: bool) -> None:
    if path.exists() and not force:
        raise UsageError(f"{path}: already exists; use --force to replace it")
    if not path.parent.exists():
        raise UsageError(f"{path.parent}: output folder does not exist")


def check_html_output(path: Path, data: Path, *, force: bool) -> None:
    """As `psyscore.io.check_output`, for the .html report: never the input, never an existing
    file without --force, and the folder must exist. Raises UsageError (exit 2)."""
    if path.suffix.lower() not in HTML_SUFFIXES:
        raise UsageError(f"{path}: --html writes HTML; name the report *.html")
    _check_target(path, data, "--html")
    _check_new(path, force=force)


def check_table_output(path: Path, data: Path, *, force: bool) -> None:
    """As :func:`check_html_output`, for --table (.docx, .md or .tex)."""
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise UsageError(f"{path}: --table writes .docx, .md or .tex; name the file so")
    _check_target(path, data, "--table")
    _check_new(path, force=force)


def plan_report_outputs(
    html: Path | None, table_out: Path | None, inputs: Sequence[Path | None], *, force: bool
) -> None:
    """--html and --table checked together with `psyscore.io.plan_outputs`, as `psyscore score`
    checks its outputs: distinct files, never an input, in a folder where files can be made."""
    from ..io import plan_outputs

    targets = [p for p in (html, table_out) if p is not None]
    if targets:
        plan_outputs(
            targets,
            inputs=[p for p in inputs if p is not None],
            force=force,
            suffixes={*HTML_SUFFIXES, *TABLE_SUFFIXES},
        )


def check_report_outputs(
    html: Path | None,
    table_out: Path | None,
    data: Path,
    *,
    map_file: Path | None = None,
    force: bool,
) -> None:
    """Every check of --html and --table, before anything is read (UsageError: exit 2)."""
    if html is not None:
        check_html_output(html, data, force=force)
    if table_out is not None:
        check_table_output(table_out, data, force=force)
    plan_report_outputs(html, table_out, [data, map_file], force=force)


def _write_shared(path: Path, write: Callable[[Path], None]) -> None:
    """`write` into a private temporary, renamed to `path` with the usual permissions (a report
    is for sharing; the temporary is 0600); an OS failure is a UsageError naming the file."""
    from ..io import atomic_write

    def writer(tmp: Path) -> None:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)

    try:
        atomic_write(path, writer)
    except OSError as exc:
        raise UsageError(f"{path}: could not write: {exc.strerror or exc}") from None


def write_reliability_html(path: Path, payload: dict, instruments: Sequence) -> None:
    """The standalone HTML report of `payload` (:func:`~.reliability_html.render_reliability_html`)."""
    from .reliability_html import render_reliability_html

    text = render_reliability_html(payload, list(instruments))
    _write_shared(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_reliability_tables(path: Path, payload: dict) -> None:
    """The APA 7 tables of `payload` as .docx, .md or .tex (by `path`'s suffix)."""
    from .apa_table import write_apa_tables

    _write_shared(path, lambda tmp: write_apa_tables(payload, tmp, kind=path.suffix.lower()))


def write_reliability_files(
    payload: dict, instruments: Sequence, *, html: Path | None, table_out: Path | None
) -> None:
    """--html and --table, renamed into place together: a failure writing one leaves neither."""
    from ..io import staged_writes

    with staged_writes():
        if html is not None:
            write_reliability_html(html, payload, instruments)
        if table_out is not None:
            write_reliability_tables(table_out, payload)
