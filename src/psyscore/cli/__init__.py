"""The `psyscore` command line: one module per command, shared options in `options.py`."""

from __future__ import annotations

import importlib

import typer

from .. import __version__
from . import instruments, score

app = typer.Typer(
    name="psyscore",
    help="Score psychometric survey instruments (masculine norms, emotional competence, "
    "help-seeking, intake screens) from declarative definitions.",
    no_args_is_help=True,
    add_completion=False,
    # never print local variables in a traceback: they may hold respondent data
    pretty_exceptions_show_locals=False,
    rich_markup_mode="rich",
)
app.add_typer(instruments.app, name="instruments")
app.command(name="score", epilog=score.EPILOG)(score.score)

# Further commands live in their own modules, each exposing `register(app)`. Importing them only
# registers options: a module's heavy dependencies (pingouin, matplotlib) load when it runs.
for _name in ("inspect", "reliability", "intake", "retest"):
    try:
        _module = importlib.import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"{__name__}.{_name}":
            raise
        continue
    _module.register(app)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"psyscore {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """psyscore: scoring, reliability and SPSS round-trips for survey instruments."""


def main() -> None:
    app()
