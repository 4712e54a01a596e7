"""`psyscore db ...`: the clinician workspace database (backup, export, program export, upgrade).

`DB_OPTION` (``--db``) is shared with `psyscore users` and `psyscore serve`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer

from .options import FORCE, errors_to_exit, warn

DB_OPTION = typer.Option(
    None,
    "--db",
    envvar="PSYSCORE_DB",
    help="Workspace database: a SQLite file path, sqlite:///PATH or postgresql://USER@HOST/DB. "
    "Default: workspace.db in the psyscore data folder ($PSYSCORE_DATA_DIR, else "
    "$XDG_DATA_HOME/psyscore, else ~/.local/share/psyscore).",
    show_default=False,
)

EPILOG = """Examples:

  psyscore db backup ~/backups/workspace-2026-12-01.db

  psyscore db export -o everything.json

  psyscore db export-visits program.sav --from 2026-01-01 --to 2026-06-30

  psyscore db upgrade --db postgresql://psyscore@dbhost/program

Exit codes: 0 ok; 1 data problems (exported, but some answers could not be scored); 2 usage error (nothing written)."""

app = typer.Typer(
    help="The clinician workspace database: backup, export, program export, schema upgrade.",
    no_args_is_help=True,
    epilog=EPILOG,
)


def open_store(db: str | None):
    """The workspace `db` (None: the default file), migrated to this psyscore's schema."""
    from ..web.store import Store

    return Store.open(db)


@app.command("backup")
def backup(
    path: Path = typer.Argument(
        ..., help="The new file for the copy (never overwritten).", show_default=False
    ),
    db: str = DB_OPTION,
) -> None:
    """A consistent copy of a SQLite workspace, safe while serving.

    The copy is readable by its owner only (0600) and never overwrites a file. For PostgreSQL use pg_dump.
    """
    with errors_to_exit(), open_store(db) as store:
        store.backup(path)
        typer.echo(f"backed up {store.describe()} to {path}")


@app.command("export")
def export(
    output: Path = typer.Option(
        None, "--output", "-o", help="JSON file to write (default: standard output)."
    ),
    db: str = DB_OPTION,
    force: bool = FORCE,
) -> None:
    """Everything in the workspace as JSON (no password hashes).

    Clients, visits (deleted ones too) with their answers and results, the audit trail and the user names.
    """
    from .options import json_safe

    with errors_to_exit():
        if output is not None:
            _check_new_file(output, force=force)
        with open_store(db) as store:
            payload = store.export_all()
        text = json.dumps(json_safe(payload), indent=2, ensure_ascii=False, allow_nan=False)
        if output is None:
            sys.stdout.write(text + "\n")
            return
        _write_private(output, text + "\n")
        typer.echo(f"wrote {output} ({len(payload['visits'])} visits)", err=True)


@app.command("export-visits")
def export_visits(
    output: Path = typer.Argument(
        ...,
        help="Output file: .sav (with labels), .zsav, .xlsx, .csv, .tsv or .parquet.",
        show_default=False,
    ),
    start: str = typer.Option(None, "--from", help="First visit date (YYYY-MM-DD), inclusive."),
    end: str = typer.Option(None, "--to", help="Last visit date (YYYY-MM-DD), inclusive."),
    db: str = DB_OPTION,
    force: bool = FORCE,
) -> None:
    """The program's scored visits as one table, for SPSS, Excel or R.

    One row per visit: client_id, visit_date, visit_number, the answers and every score column, with the names and labels `psyscore score` gives them.
    """
    from ..io import check_output, write_table
    from ..web.program_export import program_export
    from ..web.store import check_date

    with errors_to_exit():
        for value in (start, end):
            if value is not None:
                check_date(value)
        target = check_output(output, [], force=force)
        with open_store(db) as store:
            export = program_export(store, start=start, end=end)
        table, problems = export.table, export.problems
        written = write_table(table, target)
        os.chmod(target, 0o600)  # clinical data: readable by its owner only
    for w in table.warnings + written:
        warn(w)
    n = len(table.data)
    typer.echo(f"wrote {target} ({n} visit{'s' if n != 1 else ''}, {table.data.shape[1]} columns)")
    raise typer.Exit(1 if problems else 0)


@app.command("upgrade")
def upgrade(db: str = DB_OPTION) -> None:
    """Migrate the workspace to this psyscore's schema and print its revision.

    Every command (and `psyscore serve`) also migrates on open; this does only that.
    """
    with errors_to_exit(), open_store(db) as store:
        typer.echo(f"{store.describe()}: schema revision {store.revision()}")


def _check_new_file(path: Path, *, force: bool) -> None:
    from ..errors import UsageError

    if path.exists() and not force:
        raise UsageError(f"{path} exists; use --force to replace it")
    if not path.parent.is_dir():
        raise UsageError(f"cannot write {path}: the folder {path.parent} does not exist")


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path` readable by its owner only, replacing it in one step."""
    tmp = path.with_name(f".{path.name}.psyscore-tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="db")
