"""What every terminal renderer shares: warning lines on the error console.

Each command's renderer (``report/*_terminal.py``) takes the consoles it prints to, so the same
function draws the command line's output, a test's recording console or a notebook's.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.markup import escape


def print_warning(console: Console, message: str) -> None:
    """One ``warning: ...`` line; the message is text, never rich markup (it may name data)."""
    console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False, soft_wrap=True)


def print_warnings(console: Console, messages: Iterable[str]) -> None:
    for message in messages:
        print_warning(console, message)
