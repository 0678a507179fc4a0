"""Indexing the interactions of a bulk import without the trigger's SQL folding.

Since schema 11 each interaction has its own row in ``interactions_fts``, written by a trigger
with the SQL folding of :func:`crmcli.text.sql_fold`, plain SQL that any ``sqlite3`` can run.
On long text that folding is slow (its guard for the rarer letters is a GLOB over the whole
body: about 90 ns a byte), which an import of a mailbox (hundreds of megabytes of text) feels.
:func:`self_indexed` pauses the trigger for the rest of the command's transaction (a row in
``search_paused``) and hands the block a function that indexes an interaction with
:func:`crmcli.text.fold_for_search`, the same folding in Python (tests/test_text_folding.py)
at a tenth of the cost.  A failed command rolls the pause back with everything else; a pause
ever committed is reported by ``crm doctor`` and undone by ``--fix``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from crmcli.db import Database

FLUSH_CHARS = 4_000_000  # text held before it is written to the index (memory stays flat)


@contextmanager
def self_indexed(db: Database) -> Iterator[Callable[[int, str], None]]:
    """Inside ``db.write()``: interactions written in the block are not indexed by their
    trigger; the block calls the yielded ``index(interaction_id, body)`` for each one.  Rows
    are written to the index in batches (one ``executemany``: half the cost of one statement
    a row, bench/mail.py), the last batch when the block ends."""
    from crmcli.text import fold_for_search

    outer = db.scalar("SELECT 1 FROM search_paused") is not None
    if not outer:
        db.execute("INSERT INTO search_paused (id) VALUES (1)")
    pending: list[tuple[int, str]] = []
    size = 0

    def flush() -> None:
        nonlocal size
        db.executemany("INSERT INTO interactions_fts (rowid, body) VALUES (?, ?)", pending)
        pending.clear()
        size = 0

    def index(interaction_id: int, body: str) -> None:
        nonlocal size
        pending.append((interaction_id, fold_for_search(body)))
        size += len(body)
        if size >= FLUSH_CHARS:
            flush()

    yield index
    flush()
    if not outer:
        db.execute("DELETE FROM search_paused")
