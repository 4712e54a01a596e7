"""`psyscore users ...`: accounts of the clinician workspace (needed to serve beyond localhost)."""

from __future__ import annotations

import sys

import typer

from ..errors import UsageError
from .db import DB_OPTION, open_store
from .options import errors_to_exit

EPILOG = """Examples:

  psyscore users add alice

  printf '%s\\n' "$PASSWORD" | psyscore users add bob --password-stdin

  psyscore users list

Exit codes: 0 ok; 2 usage error (nothing changed)."""

app = typer.Typer(
    help="Accounts of the clinician workspace: passwords are stored as argon2 hashes.",
    no_args_is_help=True,
    epilog=EPILOG,
)


@app.command("add")
def add(
    name: str = typer.Argument(..., help="User name (A-Z a-z 0-9 . _ -).", show_default=False),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of standard input."
    ),
    db: str = DB_OPTION,
) -> None:
    """Add an account; the password is asked twice (not shown) unless --password-stdin."""
    from ..web.store import check_id

    with errors_to_exit():
        check_id(name, "user name")
        password = _read_password(password_stdin)
        with open_store(db) as store:
            store.add_user(name, password)
        typer.echo(f"added user {name}")


@app.command("remove")
def remove(
    name: str = typer.Argument(..., help="User name.", show_default=False),
    db: str = DB_OPTION,
) -> None:
    """Remove an account; the visits it entered stay, with its name in the audit trail."""
    with errors_to_exit():
        with open_store(db) as store:
            store.remove_user(name)
        typer.echo(f"removed user {name}")


@app.command("list")
def list_users(db: str = DB_OPTION) -> None:
    """The accounts, with the time each was added."""
    with errors_to_exit(), open_store(db) as store:
        found = store.list_users()
    if not found:
        typer.echo("no users (psyscore serve then only answers on this computer, 127.0.0.1)")
    for user in found:
        typer.echo(f"{user['name']}\t{user['created_at']}")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise UsageError("--password-stdin: standard input is empty")
        return line.rstrip("\r\n")
    import getpass

    first = getpass.getpass("Password: ")
    second = getpass.getpass("Password again: ")
    if first != second:
        raise UsageError("the two passwords differ; nothing changed")
    return first


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="users")
