"""The `psyscore` command line: one module per command, shared options in `options.py`.

`app` is built on first use (PEP 562 `__getattr__`): the command modules import pandas, and
`psyscore --version` should answer without loading it.
"""

from __future__ import annotations

import importlib
import os
import sys

# Arrow's own allocator (mimalloc/jemalloc) reserves far more address space than it uses, so a
# command under an address-space cap (`ulimit -v`, as on many clusters) ran out of it in the
# CSV reader and writer with a chunk's worth of data; the system allocator does not. Set before
# pyarrow is imported (pandas imports it), and only for the command, never for a notebook.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

import typer  # noqa: E402

from .. import __version__  # noqa: E402

# Further commands live in their own modules, each exposing `register(app)`. Importing them only
# registers options: a module's heavy dependencies (pingouin, matplotlib) load when it runs.
_REGISTERED = ("inspect", "reliability", "intake", "retest", "db", "users", "serve")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"psyscore {__version__}")
        raise typer.Exit()


def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """psyscore: scoring, reliability and SPSS round-trips for survey instruments."""


def _build_app() -> typer.Typer:
    from . import instruments, score

    built = typer.Typer(
        name="psyscore",
        help="Score psychometric survey instruments (masculine norms, emotional competence, "
        "help-seeking, intake screens) from declarative definitions.",
        no_args_is_help=True,
        add_completion=False,
        # never print local variables in a traceback: they may hold respondent data
        pretty_exceptions_show_locals=False,
        rich_markup_mode="rich",
    )
    built.add_typer(instruments.app, name="instruments")
    built.command(name="score", epilog=score.EPILOG)(score.score)
    for name in _REGISTERED:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        module.register(built)
    built.callback()(_root)
    return built


def __getattr__(name: str):
    if name == "app":
        built = _build_app()
        globals()["app"] = built  # one app per process; later look-ups skip this function
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    # `psyscore --version` (typer would print the version before any command anyway): answer
    # before the command modules, and with them pandas, are imported
    if sys.argv[1:2] == ["--version"]:
        typer.echo(f"psyscore {__version__}")
        raise SystemExit(0)
    __getattr__("app")()
