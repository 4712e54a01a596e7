"""Readers and writers behind one small interface: `read_table(path)` and `write_table(table, path)`.

A `Table` carries the data plus the column metadata a data manager cares about (variable labels,
value labels, user-missing declarations, measurement levels, formats) so that it survives a round
trip. Format modules (`text`, `spss`) know nothing about instruments.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import shutil
import tempfile
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, UsageError


@dataclass
class Table:
    data: pd.DataFrame
    source: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    value_labels: dict[str, dict] = field(default_factory=dict)
    missing_ranges: dict[str, list] = field(default_factory=dict)  # pyreadstat's format
    measure: dict[str, str] = field(default_factory=dict)
    formats: dict[str, str] = field(default_factory=dict)
    display_width: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # 1-based row of each data row in the file as a spreadsheet shows it (header and skipped
    # rows counted); None where that is simply the data row (SPSS case numbers)
    row_numbers: np.ndarray | None = None
    # things the user must be told (printed as warnings by the CLI), unlike `notes`, which
    # document what was done and travel into the written file
    warnings: list[str] = field(default_factory=list)
    # SPSS file metadata, written back to .sav: the file label, the compression the input had
    # ("none", "rows", "zlib"; "" for other formats), the case weight variable (which no writer
    # can store), and what else the input had that cannot be written back (warned about)
    file_label: str = ""
    compression: str = ""
    weight: str | None = None
    unkept: list[str] = field(default_factory=list)


READERS = {
    ".csv": "text",
    ".tsv": "text",
    ".txt": "text",
    ".sav": "spss",
    ".zsav": "spss",
    ".por": "spss",
    ".xlsx": "excel",
    ".parquet": "parquet",
}
WRITERS = {
    ".csv": "text",
    ".tsv": "text",
    ".sav": "spss",
    ".zsav": "spss",
    ".xlsx": "excel",
    ".parquet": "parquet",
}


def _module(kind: str):
    if kind == "text":
        from . import text

        return text
    if kind == "excel":
        from . import excel

        return excel
    if kind == "parquet":
        from . import parquet

        return parquet
    from . import spss

    return spss


def read_table(path: str | Path, sheet: str | None = None) -> Table:
    """Read any supported file; `sheet` picks an Excel sheet by name (default: the first)."""
    path = Path(path)
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise UsageError(
            f"{path}: cannot read {path.suffix or 'files without an extension'}; "
            f"supported: {', '.join(sorted(READERS))}"
        )
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    if kind == "excel":
        from . import excel

        return excel.read(path, sheet=sheet)
    if sheet is not None:
        raise UsageError(f"{path}: --sheet applies to .xlsx workbooks only")
    return _module(kind).read(path)


def check_output(output: str | Path, inputs: list[str | Path], *, force: bool) -> Path:
    """Refuse to write over an input, or over an existing file unless forced (one target)."""
    return plan_outputs([output], inputs=inputs, force=force).data[0]


@dataclass
class OutputPlan:
    """Every file a command will write, checked together before any is written."""

    data: list[Path]
    problems: Path | None = None
    syntax: Path | None = None

    @property
    def all(self) -> list[Path]:
        return [*self.data, *(p for p in (self.problems, self.syntax) if p is not None)]


def plan_outputs(
    outputs: list[str | Path],
    *,
    problems: str | Path | None = None,
    syntax: str | Path | None = None,
    inputs: list[str | Path] = (),  # type: ignore[assignment]
    force: bool = False,
    suffixes: Collection[str] | None = None,
) -> OutputPlan:
    """Check every output target before anything is written.

    Each target must have a suffix its writer handles, be distinct from every other target and
    from every input (same file by resolved path), not exist unless `force`, and sit in an
    existing folder where a file can be created. Raises UsageError naming the first target that
    fails (exit 2: nothing written). `suffixes`: what the caller's own writers take (reports:
    .html, .pdf...) instead of the data formats.
    """
    plan = OutputPlan(
        data=[Path(o) for o in outputs],
        problems=Path(problems) if problems is not None else None,
        syntax=Path(syntax) if syntax is not None else None,
    )
    allowed = WRITERS if suffixes is None else suffixes
    for out in plan.data:
        if out.suffix.lower() not in allowed:
            raise UsageError(
                f"{out}: cannot write {out.suffix or 'files without an extension'}; "
                f"supported: {', '.join(sorted(allowed))}"
            )
    if plan.problems is not None and plan.problems.suffix.lower() != ".csv":
        raise UsageError(f"{plan.problems}: --problems writes CSV; name it *.csv")
    if plan.syntax is not None and plan.syntax.suffix.lower() != ".sps":
        raise UsageError(f"{plan.syntax}: --syntax writes SPSS syntax; name it *.sps")
    seen: dict[str, Path] = {}
    for out in plan.all:
        key = _same_file_key(out)
        if key in seen:
            raise UsageError(
                f"{out}: named twice as an output (also as {seen[key]}); the second would "
                "overwrite the first: give each output its own file"
            )
        seen[key] = out
    for src in inputs:
        if Path(src).exists() and _same_file_key(Path(src)) in seen:
            out = seen[_same_file_key(Path(src))]
            raise UsageError(f"{out}: refusing to overwrite the input file; choose another name")
    folders_checked: set[str] = set()
    for out in plan.all:
        if out.is_dir():
            raise UsageError(f"{out}: is a folder; give a file name")
        if out.exists() and not force:
            raise UsageError(f"{out}: already exists; use --force to replace it")
        folder = out.parent
        if not folder.is_dir():
            raise UsageError(f"{folder}: output folder does not exist")
        if str(folder.resolve()) not in folders_checked:
            _check_can_create(folder)
            folders_checked.add(str(folder.resolve()))
    return plan


def _same_file_key(path: Path) -> str:
    """One key per file: resolved (symlinks, ..), case-folded where the file system ignores case."""
    return os.path.normcase(str(path.resolve()))


def _check_can_create(folder: Path) -> None:
    """Create and remove an empty file there: the only test that holds for root, read-only
    mounts and network shares alike (os.access answers for permission bits only)."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".psyscore-", suffix=".probe", dir=folder)
    except OSError as exc:
        raise UsageError(
            f"{folder}: cannot create files in this folder ({exc.strerror or exc}); "
            "choose another output folder"
        ) from None
    os.close(fd)
    os.unlink(probe)


def _new_file_mode(path: Path) -> int:
    """What a plain open() would give a new file (the umask applied); a replaced file keeps its
    own mode. mkstemp makes 0600 files, which other people's tools then cannot read."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


# commands that write several files stage them all and rename them together at the end, so a
# failure (or Ctrl-C) while writing the last leaves none of them half-made or out of step
_STAGE: contextvars.ContextVar[list | None] = contextvars.ContextVar("psyscore_stage", default=None)


@contextlib.contextmanager
def staged_writes() -> Iterator[None]:
    """Inside, atomic_write leaves each finished file beside its target under a temporary name;
    on leaving without error all are renamed into place; on any error (or KeyboardInterrupt)
    every temporary is removed and no target is touched."""
    staged: list[tuple[Path, Path]] = []
    token = _STAGE.set(staged)
    try:
        yield
    except BaseException:
        _STAGE.reset(token)
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    _STAGE.reset(token)
    done = 0
    try:
        for tmp, path in staged:
            os.replace(tmp, path)
            done += 1
    except BaseException:
        for tmp, _ in staged[done:]:
            tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _temporaries_in(folder: Path) -> Iterator[None]:
    """Libraries' own temporary files (openpyxl's write-only sheets) go into a private folder
    beside the target, removed afterwards, never into the shared system temp folder."""
    private = Path(tempfile.mkdtemp(prefix=".psyscore-", suffix=".tmp", dir=folder))
    previous = tempfile.tempdir
    tempfile.tempdir = str(private)
    try:
        yield
    finally:
        tempfile.tempdir = previous
        shutil.rmtree(private, ignore_errors=True)


def atomic_write(path: Path, writer: Callable[[Path], None]) -> None:
    """Write to a temporary file beside `path`, then rename: readers never see half a file.

    The temporary is removed on any error, KeyboardInterrupt included; the new file gets the
    mode a plain open() would give it.
    """
    path = Path(path)
    mode = _new_file_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        with _temporaries_in(path.parent):
            writer(tmp_path)
        os.chmod(tmp_path, mode)
        staged = _STAGE.get()
        if staged is not None:
            staged.append((tmp_path, path))
        else:
            os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def check_fits(table: Table, path: str | Path) -> None:
    """Refuse, before anything is written, what the format of `path` cannot hold (text over
    a cell's limit): DataError naming the column and row. Cheap: vectorised over each column."""
    path = Path(path)
    kind = WRITERS.get(path.suffix.lower())
    if kind in {"spss", "excel"}:
        try:
            _module(kind).check_fits(table)
        except DataError as exc:
            raise DataError(f"{path}: {exc}") from None


def write_table(
    table: Table,
    path: str | Path,
    *,
    problems: list | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[str]:
    """Write `table`; `problems` (Problem records) become a "problems" sheet in an .xlsx.
    `progress` is called with the rows written so far, block by block, where the format's
    writer reports them (CSV/TSV; the others write in one call and do not).

    Returns warnings about what the file could not keep (e.g. an SPSS case weight).
    """
    path = Path(path)
    kind = WRITERS[path.suffix.lower()]
    suffix = path.suffix.lower()
    warnings: list[str] = []

    def writer(tmp: Path) -> None:
        if kind == "excel":
            from . import excel

            excel.write(table, tmp, suffix, problems=problems)
        elif kind == "text":
            from . import text

            text.write(table, tmp, suffix, progress=progress)
        else:
            warnings.extend(_module(kind).write(table, tmp, suffix) or [])

    check_fits(table, path)
    try:
        atomic_write(path, writer)
    except OSError as exc:
        raise DataError(f"{path}: could not write: {exc.strerror or exc}") from None
    except DataError as exc:
        if str(exc).startswith(str(path)):
            raise
        raise DataError(f"{path}: {exc}") from None
    return [f"{path.name}: {w}" for w in warnings]
