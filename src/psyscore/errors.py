"""Exceptions that the CLI turns into one clear line and an exit code (never a traceback)."""


class PsyscoreError(Exception):
    """Base class. `exit_code` follows the CLI contract: 1 data problem, 2 usage error."""

    exit_code = 2


class UsageError(PsyscoreError):
    """The command was asked for something impossible (bad option, missing file, unknown id)."""

    exit_code = 2


class DefinitionError(UsageError):
    """An instrument definition is invalid; the message names file, field path and line."""


class DataError(PsyscoreError):
    """An input data file cannot be read or used as it is."""

    exit_code = 1
