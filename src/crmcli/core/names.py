"""The parts of customers' names (family, given, additional, prefix, suffix) as an import
stored them, for the vCard export to write back (see :func:`crmcli.io.vcard.name_parts`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from crmcli.db import Database
from crmcli.migrations import NAME_PART_COLUMNS

_PARTS_SQL = f"SELECT {', '.join(NAME_PART_COLUMNS)} FROM customers WHERE id = ?"


def with_name_parts(db: Database, rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Each customer row with ``name_parts``: ``{"family": …, "given": …, "additional": …,
    "prefix": …, "suffix": …}``, or ``None`` when no parts were stored (streamed: one
    primary-key lookup per row)."""
    for row in rows:
        found = db.conn.execute(_PARTS_SQL, (row["id"],)).fetchone()
        if found is not None and any(found):
            keys = (c.removeprefix("name_") for c in NAME_PART_COLUMNS)
            row["name_parts"] = {k: v or "" for k, v in zip(keys, found, strict=True)}
        else:
            row["name_parts"] = None
        yield row
