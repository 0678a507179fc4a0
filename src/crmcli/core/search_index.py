"""The search index while a command adds many interactions.

A customer's or lead's row in the search index holds the text of all its interactions, and a
trigger rebuilds that row on every interaction added, changed or deleted (so the index is
right whoever writes).  Adding n interactions to one record one by one so costs O(n²): 2,000
e-mails to one customer took minutes.  :func:`deferred` pauses those triggers for the rest of
the command's transaction (a row in ``search_paused``, schema 10) and re-indexes each record
the command touched once at its end: linear, and the same index.  A failed command rolls the
pause back with everything else.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from crmcli.db import Database

CHUNK = 500  # ids re-indexed per statement


class Touched:
    """The customers and leads whose interactions the command changes."""

    __slots__ = ("customers", "leads")

    def __init__(self) -> None:
        self.customers: set[int] = set()
        self.leads: set[int] = set()


@contextmanager
def deferred(db: Database) -> Iterator[Touched]:
    """Inside ``db.write()``: interactions written in the block do not re-index their
    record one by one; the records added to the yielded :class:`Touched` are re-indexed
    once when the block ends.  Inside another such block, the outer one stays paused."""
    if db.scalar("SELECT 1 FROM sqlite_master WHERE name = 'search_paused'") is None:
        yield Touched()  # a file read at an older schema: the triggers index row by row
        return
    outer = db.scalar("SELECT 1 FROM search_paused") is not None
    if not outer:
        db.execute("INSERT INTO search_paused (id) VALUES (1)")
    touched = Touched()
    yield touched
    reindex(db, "customers", touched.customers)
    reindex(db, "leads", touched.leads)
    if not outer:
        db.execute("DELETE FROM search_paused")


def reindex(db: Database, table: str, ids: Iterable[int]) -> None:
    """Rebuild the search index rows of ``ids`` of ``table`` (customers or leads) as the
    triggers write them: the record's own columns from the ``<table>_search_doc`` view, its
    interactions' text joined in their order and folded by :func:`crmcli.text.fold_for_search`
    (what the view's SQL folding gives, tested in tests/test_text_folding.py, at a fifth of
    its cost on the long text of a mailbox)."""
    from crmcli.migrations import CUSTOMER_SEARCHED, LEAD_SEARCHED
    from crmcli.text import fold_for_search

    columns = CUSTOMER_SEARCHED if table == "customers" else LEAD_SEARCHED
    link = "customer_id" if table == "customers" else "lead_id"
    fts, view = f"{table}_fts", f"{table}_search_doc"
    names = ", ".join(("rowid", *columns, "activity"))
    values = ", ".join("?" * (len(columns) + 2))
    ordered = sorted(ids)
    insert = f"INSERT INTO {fts} ({names}) VALUES ({values})"
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        marks = ", ".join("?" * len(chunk))
        own = {
            row[0]: row
            for row in db.conn.execute(
                f"SELECT id, {', '.join(columns)} FROM {view} WHERE id IN ({marks})", chunk
            )
        }
        db.execute(f"DELETE FROM {fts} WHERE rowid IN ({marks})", chunk)
        # One record's text in memory at a time, however many the chunk holds.
        current: int | None = None
        parts: list[str] = []
        for owner, body in db.conn.execute(
            f"SELECT {link}, body FROM interactions WHERE {link} IN ({marks}) "
            f"ORDER BY {link}, happened_at, id",
            chunk,
        ):
            if owner != current:
                if current is not None and current in own:
                    db.execute(insert, (*own.pop(current), fold_for_search(" ".join(parts))))
                current, parts = owner, []
            parts.append(body)
        if current is not None and current in own:
            db.execute(insert, (*own.pop(current), fold_for_search(" ".join(parts))))
        db.executemany(insert, [(*row, "") for row in own.values()])  # no interactions
