"""The search index while a command adds, moves or removes many interactions.

Up to schema 10 a customer's or lead's row in the search index held the text of all its
interactions, and a trigger rebuilt that row on every interaction written: n interactions added
to one record one by one cost O(n²), so such commands paused the triggers (a row in
``search_paused``) and re-indexed each record they touched once at their end.  Since schema 11
each interaction has its own row in ``interactions_fts``, which its triggers keep in step one
row at a time, and moving an interaction to another record (a merge, a lead converted) changes
nothing in any index: there is nothing left to defer.  :func:`deferred` stays for its callers,
which still name the records they touch; it no longer pauses anything.  ``search_paused`` still
stops the interactions' triggers if a row is ever in it (``crm doctor`` reports it and
``--fix`` rebuilds the indexes).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from crmcli.db import Database


class Touched:
    """The customers and leads whose interactions the command changes."""

    __slots__ = ("customers", "leads")

    def __init__(self) -> None:
        self.customers: set[int] = set()
        self.leads: set[int] = set()


@contextmanager
def deferred(db: Database) -> Iterator[Touched]:
    """Inside ``db.write()``: a block that writes many interactions.  Each one is indexed
    as it is written, at a cost that does not depend on the record's history, so the block
    needs nothing more; the yielded :class:`Touched` is kept for the callers' bookkeeping."""
    del db  # the triggers index row by row
    yield Touched()
