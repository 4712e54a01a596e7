"""Options shared by several commands, the consoles, and the error boundary."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator

import typer
from rich.console import Console
from rich.markup import escape

from ..errors import OutOfMemory, PsyscoreError
from ..io import Table
from ..jsonable import json_safe  # noqa: F401  (kept importable here for callers)
from ..responses import FileMissing


def _flags_show_no_type() -> None:
    """Drop the `<bool>` type column of on/off flags in rich `--help` (typer 0.2x prints it).

    A flag takes no value, so `--json <bool>` reads as if it wanted one (`--json true`). One
    override here covers every command's flags; options with a value keep their type.
    """
    option = getattr(typer.core, "TyperOption", None)
    shown = getattr(option, "display_type_rich", None)
    if shown is None or getattr(shown, "_psyscore_flags", False):
        return

    def display_type_rich(self, ctx):
        return None if getattr(self, "is_bool_flag", False) else shown(self, ctx)

    display_type_rich._psyscore_flags = True
    option.display_type_rich = display_type_rich


_flags_show_no_type()

out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False)

JSON = typer.Option(False, "--json", help="Print machine-readable JSON instead of tables.")
FORCE = typer.Option(False, "--force", help="Replace the output file if it exists.")
INSTRUMENT = typer.Option(
    ...,
    "--instrument",
    "-i",
    help="Built-in instrument or bundle id (see `psyscore instruments list`), or a path to a YAML "
    "definition. Repeat for several.",
)

MAP = typer.Option(
    None,
    "--map",
    help="YAML mapping file: data column -> item id, optionally with value recodes, e.g. "
    "'Q1: phq9_1' or 'GAD7_1: {recode: {1: 0, 2: 1, 3: 2, 4: 3}}'.",
)
INCLUDE_PREVIEWS = typer.Option(
    False,
    "--include-previews",
    help="Also score Qualtrics survey previews and test responses (excluded by default).",
)
INVALID_AS_MISSING = typer.Option(
    False,
    "--invalid-as-missing",
    help="Treat answers that are not answers (out of range, unrecognised text) as missing, "
    "prorating where the rule allows, instead of leaving the scores that use them unscored. "
    "The output notes record it.",
)
INCLUDE_SPAM = typer.Option(
    False,
    "--include-spam",
    help="Also score responses Qualtrics flagged as spam (excluded by default).",
)


def qualtrics_exclusions(table: Table, *, previews: bool, spam: bool):
    """Rows of a Qualtrics export not to score: previews, tests and spam unless let in."""
    from ..io.qualtrics import response_exclusions

    found = response_exclusions(table.data, table.value_labels)
    return found.keep(previews=previews, spam=spam)


def exclusion_note(counts: dict[str, int], column: str | None, done: str = "not scored") -> str:
    """See :func:`psyscore.survey.exclusion_note`."""
    from ..survey import exclusion_note as note

    return note(counts, column, done)


@contextlib.contextmanager
def about(path) -> Iterator[None]:
    """Name the input file in data errors raised inside (the engine does not know file names)."""
    from ..errors import DataError

    try:
        yield
    except DataError as exc:
        if str(exc).startswith(str(path)):
            raise
        raise DataError(f"{path}: {exc}") from None


@contextlib.contextmanager
def errors_to_exit() -> Iterator[None]:
    """Turn psyscore errors into one clear message and the documented exit code, no traceback.

    A MemoryError becomes OutOfMemory (exit 3); the writers have removed their temporaries by
    the time it arrives here, so nothing is left behind.
    """
    try:
        yield
    except PsyscoreError as exc:
        _exit_with(exc)
    except MemoryError:
        _exit_with(OutOfMemory())


def _exit_with(exc: PsyscoreError) -> None:
    err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    raise typer.Exit(exc.exit_code) from None


def print_json(payload: object) -> None:
    """Strict JSON on stdout: non-finite numbers (alpha = 1 gives signal/noise = inf) are null."""
    text = json.dumps(
        json_safe(payload), indent=2, default=str, ensure_ascii=False, allow_nan=False
    )
    sys.stdout.write(text + "\n")


def warn(message: str) -> None:
    from ..report.terminal import print_warning

    print_warning(err, message)


def table_file_missing(table: Table) -> FileMissing:
    """User-missing declarations from the file (SPSS): see :func:`psyscore.survey.file_missing_of`."""
    from ..survey import file_missing_of

    return file_missing_of(table)
