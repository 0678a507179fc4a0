"""Document numbers from a pattern such as ``Q-{year}-{seq:04d}``: one counter per pattern
and period, never going back (a number once given is not given again, even after undo)."""

from __future__ import annotations

import string
from datetime import date

from crmcli.db import Database
from crmcli.errors import InvalidValue

FIELDS = ("year", "month", "seq")


def check_pattern(pattern: str, *, field: str) -> str:
    """A pattern with ``{seq}`` (optionally formatted, ``{seq:04d}``) and optionally
    ``{year}`` and ``{month}``; anything else is refused."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None]
        sample = pattern.format(year=2026, month=12, seq=7)
    except (ValueError, IndexError, KeyError) as exc:
        raise InvalidValue(field, pattern, f"not a pattern ({exc})") from None
    unknown = sorted(set(names) - set(FIELDS))
    if unknown:
        raise InvalidValue(field, pattern, f"unknown field {{{unknown[0]}}}; use {{year}}, "
                           "{month} and {seq}")  # fmt: skip
    if "seq" not in names:
        raise InvalidValue(field, pattern, "needs {seq}, e.g. Q-{year}-{seq:04d}")
    if not 1 <= len(sample) <= 50 or any(c.isspace() and c != " " for c in sample):
        raise InvalidValue(field, pattern, "makes numbers of 1 to 50 characters on one line")
    return pattern


def next_number(db: Database, kind: str, pattern: str, on: date, *, table: str) -> str:
    """The next free number of ``pattern`` on day ``on``; ``table`` is where numbers of this
    kind live (a number already there, imported or typed, is skipped)."""
    key = f"{kind}:" + pattern.format(year=on.year, month=on.month, seq=0)
    last = db.scalar("SELECT last FROM number_sequences WHERE key = ?", (key,)) or 0
    while True:
        last += 1
        number = pattern.format(year=on.year, month=on.month, seq=last)
        if db.scalar(f"SELECT 1 FROM {table} WHERE number = ? LIMIT 1", (number,)) is None:
            break
    db.execute(
        "INSERT INTO number_sequences (key, last) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET last = excluded.last",
        (key, last),
    )
    return number
