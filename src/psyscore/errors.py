"""Exceptions that the CLI turns into one clear line and an exit code (never a traceback).

Exit codes: 0 ok; 1 data problems; 2 usage error (nothing written); 3 not enough memory to
finish (nothing written; see `OutOfMemory`).
"""


class PsyscoreError(Exception):
    """Base class. `exit_code` follows the CLI contract: 1 data problem, 2 usage error,
    3 out of memory."""

    exit_code = 2


class UsageError(PsyscoreError):
    """The command was asked for something impossible (bad option, missing file, unknown id)."""

    exit_code = 2


class DefinitionError(UsageError):
    """An instrument definition is invalid; the message names file, field path and line."""


class DataError(PsyscoreError):
    """An input data file cannot be read or used as it is."""

    exit_code = 1


class OutOfMemory(PsyscoreError):
    """The command ran out of memory (Python's MemoryError): exit 3, nothing written.

    Its own code, so a script can tell "retry on a bigger machine or with a smaller file" from
    a problem in the data or the command.
    """

    exit_code = 3

    def __init__(self, doing: str = "finish this command") -> None:
        super().__init__(
            f"not enough memory to {doing}; nothing was written; try splitting the input into "
            "smaller files (by rows), scoring fewer instruments at once, or a machine with more "
            "memory"
        )
