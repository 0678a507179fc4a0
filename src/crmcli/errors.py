"""Errors the user can cause, each with its exit code.

One handler (``crmcli.cli.run``) turns them into one line on stderr; nothing else
prints tracebacks for user mistakes.
"""

from __future__ import annotations

# Exit codes, named once.
EXIT_OK = 0
EXIT_FAILURE = 1  # the command could not do its job (unknown id, locked database, bad row ...)
EXIT_USAGE = 2  # the command line or a value on it is wrong
EXIT_INTERRUPTED = 130  # Ctrl-C


class CrmError(Exception):
    """A failure explained to the user in one line."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(CrmError):
    """A bad value on the command line (exit 2)."""

    exit_code = EXIT_USAGE


class InvalidValue(UsageError):
    """A value that does not parse or validate, e.g. a bad date or e-mail.

    ``field`` names the option or column; the message says what is wrong.
    """

    def __init__(self, field: str | None, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        shown = _short(value)
        where = f"{field} {shown}" if field else shown
        super().__init__(f"invalid {where}: {reason}")

    def with_field(self, field: str) -> InvalidValue:
        """The same error, naming the field it came from."""
        return InvalidValue(field, self.value, self.reason)


class Unreadable(Exception):
    """Inside a parser (dates, money): why a text cannot be read.  The parser's public
    function turns it into :class:`InvalidValue`, adding the field and the text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotFound(CrmError):
    """An id that names no record: ``no customer 42``."""

    def __init__(self, entity: str, ident: object) -> None:
        self.entity = entity
        self.ident = ident
        super().__init__(f"no {entity} {ident}")


class DatabaseError(CrmError):
    """The database file is missing, foreign, too new, locked or damaged."""


def _short(value: object, limit: int = 60) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…'"
    return text
