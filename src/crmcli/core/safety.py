"""Keeping the data safe: online backups, restores, and the doctor's checks and repairs.

A backup is a page-by-page copy through SQLite's online backup API, taken from one read
snapshot while other processes go on writing, checked with ``PRAGMA integrity_check`` and
only then renamed into place.  A restore copies a checked backup *into* the live database
through the same API, so processes that have it open see one ordinary commit.  The doctor
reads; with ``fix`` it repairs only what can be rebuilt from the data itself (the search
indexes, a stale ``active_command`` row, file modes) and never deletes a record.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from crmcli.db import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    SQLITE_HEADER,
    Database,
    busy_timeout_ms,
    fault,
)
from crmcli.errors import CrmError, DatabaseError

BACKUP_STEP_PAGES = 1024  # 4 MiB a step with 4 KiB pages: the GIL and progress between steps
COUNTED = ("customers", "leads", "deals", "tickets", "reminders", "interactions")
DETAILS_MAX = 10  # problems listed per check; the rest are counted
FILE_MODE = 0o600
RESTORE_BUSY_MS = 60_000


# -- opening files -----------------------------------------------------------------------


def _check_file(path: Path, what: str) -> None:
    if not path.exists():
        raise DatabaseError(f"no {what} at {path}")
    if not path.is_file():
        raise DatabaseError(f"{path} is not a file")
    try:
        with path.open("rb") as fh:
            head = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise DatabaseError(f"cannot read {path}: {exc.strerror}") from None
    if head != SQLITE_HEADER:
        raise DatabaseError(f"{path} is not an SQLite database")


def _connect(
    path: Path, *, read_only: bool = False, busy_ms: int | None = None
) -> sqlite3.Connection:
    """A connection with crmcli's safety pragmas and no change to the file's journal mode;
    it waits for another writer as long as other commands do (``busy_ms``: longer)."""
    if busy_ms is None:
        busy_ms = busy_timeout_ms()
    try:
        if read_only:
            uri = path.resolve().as_uri() + "?mode=ro"
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        else:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {busy_ms}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA secure_delete = ON")
    except sqlite3.DatabaseError as exc:
        raise fault(exc, path) or DatabaseError(f"cannot open {path}: {exc}") from None
    return conn


def _read_only(path: Path) -> bool:
    """Open a file we only read read-write when we may: SQLite then removes the ``-wal`` and
    ``-shm`` it makes for a WAL-mode file on close (read-only, it leaves them behind)."""
    return not os.access(path, os.W_OK)


def _identify(conn: sqlite3.Connection, path: Path) -> int:
    """The schema version of a crmcli database; anything else is refused."""
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        # A full disk or a read-only folder is not a damaged file: say which it is.
        raise fault(exc, path) or DatabaseError(f"{path} is damaged: {exc}") from None
    if app_id != APPLICATION_ID:
        raise DatabaseError(f"{path} is not a crmcli database")
    if version > SCHEMA_VERSION:
        raise DatabaseError(
            f"{path} was made by a newer crmcli (schema {version}; this version knows "
            f"{SCHEMA_VERSION}); upgrade crmcli to use it"
        )
    return version


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone()
    return row is not None


def _counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {
        table: int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        for table in COUNTED
        if _has_table(conn, table)
    }


def _integrity(conn: sqlite3.Connection, limit: int = DETAILS_MAX) -> list[str]:
    """``PRAGMA integrity_check``'s complaints (empty: the file is sound)."""
    try:
        rows = [r[0] for r in conn.execute(f"PRAGMA integrity_check({limit})")]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    return [] if rows == ["ok"] else rows


# -- backup ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Copy:
    """A checked database file: where, how big, its schema version and what it holds."""

    path: Path
    size: int
    schema_version: int
    counts: dict[str, int]


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and a.samefile(b)
    except OSError:
        return False


def _refuse_live_file(live: Path, other: Path, verb: str) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        if _same_file(Path(f"{live}{suffix}"), other) or (
            not other.exists() and other.resolve() == Path(f"{live}{suffix}").resolve()
        ):
            raise CrmError(f"cannot {verb} the live database's own file {other}")


def backup(source: Path, target: Path, *, force: bool = False) -> Copy:
    """Copy the database at ``source`` to ``target`` (see :func:`copy_database`), refusing
    to write over the database itself."""
    _check_file(source, "database")
    _refuse_live_file(source, target, "back up onto")
    conn = _connect(source)
    try:
        _identify(conn, source)
        return copy_database(conn, target, force=force)
    finally:
        conn.close()


def copy_database(
    conn: sqlite3.Connection, target: Path, *, force: bool = False, verify: bool = True
) -> Copy:
    """A consistent, standalone copy of ``conn``'s database at ``target``, mode 0600.

    The copy is read from one snapshot: a read transaction stays open on ``conn`` for the
    whole copy, so writers in other processes go on (WAL: readers do not block them) and the
    backup never has to start over because the source changed between two steps.  It goes
    to a temporary file in the target's folder, is switched to a rollback journal (one file,
    no ``-wal`` needed to read it), checked (``verify``: integrity_check) and then renamed.
    """
    from crmcli.io.tabular import check_target, fsync_path, place

    folder = check_target(target, force=force)
    with _temporary(folder, target.name) as tmp:
        dest = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.execute("BEGIN")
            try:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the snapshot
                # The progress callback lets signal handlers run between steps.
                conn.backup(dest, pages=BACKUP_STEP_PAGES, progress=_between_steps)
            finally:
                conn.execute("COMMIT")
            dest.execute("PRAGMA journal_mode = DELETE")
            version = _identify(dest, target)
            if verify:
                problems = _integrity(dest)
                if problems:
                    raise DatabaseError(
                        f"the copy failed its integrity check, {target} was not written: "
                        + "; ".join(problems)
                    )
            counts = _counts(dest)
        finally:
            dest.close()
        fsync_path(tmp)
        place(tmp, target, force=force)
    fsync_path(folder)
    return Copy(target, target.stat().st_size, version, counts)


_TEMP_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")  # tempfile's random part


def _between_steps(status: int, remaining: int, total: int) -> None:
    """Called by the backup between steps: Python runs pending signal handlers here."""


@contextmanager
def _temporary(folder: Path, name: str) -> Iterator[Path]:
    """A new empty file (mode 0600) in ``folder``; gone afterwards unless renamed away.

    The file is locked (``flock``) while it is in use, so the next backup to the same name
    can tell the leftover of a killed one (a hidden full copy of the database) from the
    file of a backup running now, and removes the leftover first."""
    import fcntl

    _remove_stale(folder, name)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise CrmError(f"cannot write in {folder}: {exc.strerror}") from None
    tmp = Path(tmp_name)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.fchmod(fd, FILE_MODE)
        yield tmp
    finally:
        for leftover in (tmp, Path(f"{tmp}-journal")):
            with suppress(FileNotFoundError):
                leftover.unlink()
        os.close(fd)


def stale_temporaries(folder: Path, name: str) -> list[Path]:
    """The temporary files of our own naming (``.NAME.XXXXXXXX.tmp``) for ``name`` in
    ``folder`` that no running backup holds: what a killed backup left behind."""
    import fcntl
    import stat

    prefix = f".{name}."
    found = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        middle = entry.name[len(prefix) : -len(".tmp")]
        if not (
            entry.name.startswith(prefix)
            and entry.name.endswith(".tmp")
            and len(middle) == 8
            and set(middle) <= _TEMP_CHARS
        ):
            continue
        try:
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a backup running now holds it
            found.append(Path(entry.path))
        finally:
            os.close(fd)
    return found


def _remove_stale(folder: Path, name: str) -> None:
    for path in stale_temporaries(folder, name):
        for leftover in (path, Path(f"{path}-journal")):
            with suppress(OSError):
                leftover.unlink()


# -- restore -----------------------------------------------------------------------------


def inspect(path: Path) -> Copy:
    """Check that ``path`` is a sound crmcli database this version can use (an older schema
    is fine: it is upgraded when next opened) and say what it holds."""
    _check_file(path, "backup")
    conn = _connect(path, read_only=_read_only(path))
    try:
        version = _identify(conn, path)
        problems = _integrity(conn)
        if problems:
            raise DatabaseError(f"{path} is damaged: {'; '.join(problems)}")
        try:
            counts = _counts(conn)
        except sqlite3.DatabaseError as exc:
            raise DatabaseError(f"{path} is damaged: {exc}") from None
    finally:
        conn.close()
    return Copy(path, path.stat().st_size, version, counts)


@dataclass(frozen=True)
class Restored:
    backup: Copy
    aside: Path | None  # the database that was replaced, kept here


def _aside_path(live: Path) -> Path:
    from datetime import UTC

    from crmcli.clock import now_local

    stamp = now_local().astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    candidate = live.with_name(f"{live.name}.before-restore-{stamp}")
    n = 1
    while candidate.exists():
        n += 1
        candidate = live.with_name(f"{live.name}.before-restore-{stamp}-{n}")
    return candidate


def restore(live: Path, source: Path) -> Restored:
    """Replace the database at ``live`` with the backup at ``source``.

    The current database is first copied aside (``crm.db.before-restore-<UTC time>``, mode
    0600).  The backup is then copied *into* the live database through SQLite's backup API,
    one write transaction under the database's own locks.  That is the safe way: other
    processes holding the file open see one ordinary commit and their ``-wal``/``-shm`` stay
    consistent.  Renaming a new file over the old one would leave them writing to the
    unlinked old file, or pair the new file with the old file's WAL, which corrupts it.
    """
    checked = inspect(source)
    if _same_file(live, source):
        raise CrmError(f"{source} is the live database itself")
    _refuse_live_file(live, source, "restore from")
    aside: Path | None = None
    if live.exists() and live.stat().st_size > 0:
        _check_file(live, "database")
        conn = _connect(live, busy_ms=RESTORE_BUSY_MS)
        try:
            _own_or_damaged(conn, live)
            aside = _aside_path(live)
            try:
                copy_database(conn, aside, verify=False)
            except sqlite3.DatabaseError:  # damaged beyond the backup API: keep its bytes
                _raw_copy(live, aside)
        finally:
            conn.close()
    elif not live.exists():
        live.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(live, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        os.close(fd)
    src = _connect(source, read_only=_read_only(source))
    dest = _connect(live, busy_ms=RESTORE_BUSY_MS)
    try:
        src.execute("BEGIN")
        src.execute("SELECT count(*) FROM sqlite_master").fetchone()
        try:
            src.backup(dest)  # one step: one write transaction on the live database
        except sqlite3.OperationalError as exc:
            raise DatabaseError(f"cannot restore into {live}: {exc}; nothing was changed") from None
        finally:
            src.execute("COMMIT")
    finally:
        src.close()
        dest.close()
    from crmcli.db import open_db

    open_db(live, create=False).close()  # WAL mode, and an older schema upgraded now
    return Restored(checked, aside)


def _own_or_damaged(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse to replace another program's database; a damaged crmcli one may be replaced."""
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.DatabaseError:
        return
    if app_id != APPLICATION_ID and (app_id != 0 or tables):
        raise DatabaseError(f"{path} is not a crmcli database; not replacing it")


def _raw_copy(live: Path, aside: Path) -> None:
    import shutil

    for suffix in ("", "-wal"):
        src = Path(f"{live}{suffix}")
        if src.exists():
            dst = Path(f"{aside}{suffix}")
            fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            with os.fdopen(fd, "wb") as out, src.open("rb") as inp:
                shutil.copyfileobj(inp, out)


# -- doctor ------------------------------------------------------------------------------


@dataclass
class Check:
    """One line of the doctor's report."""

    name: str
    problems: list[str] = field(default_factory=list)
    note: str = ""  # said when all is well
    fixable: bool = False
    fixed: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def status(self) -> str:
        if self.problems:
            return "problem"
        return "fixed" if self.fixed else "ok"

    def row(self) -> dict[str, str]:
        details = "; ".join(self.problems) if self.problems else self.note
        if self.problems and self.fixable:
            details += " (crm doctor --fix repairs it)"
        return {"check": self.name, "status": self.status, "details": details}


def open_for_check(path: Path) -> Database:
    """Open a crmcli database as it is: no migration, no change of journal mode."""
    _check_file(path, "database")
    conn = _connect(path)
    try:
        _identify(conn, path)
    except BaseException:
        conn.close()
        raise
    return Database(conn, path)


def _listed(items: list[str], total: int | None = None) -> str:
    total = len(items) if total is None else total
    shown = ", ".join(items[:DETAILS_MAX])
    return shown + (f" and {total - DETAILS_MAX} more" if total > DETAILS_MAX else "")


def check_integrity(db: Database) -> Check:
    check = Check("integrity", note="the file's pages and indexes are sound")
    check.problems = _integrity(db.conn)
    return check


def check_foreign_keys(db: Database) -> Check:
    check = Check("foreign keys", note="every link points at an existing record")
    groups: dict[tuple[str, str], list[str]] = {}
    for table, rowid, parent, _fkid in db.conn.execute("PRAGMA foreign_key_check"):
        groups.setdefault((table, parent), []).append(str(rowid))
    for (table, parent), rowids in sorted(groups.items()):
        n = len(rowids)
        known = [r for r in rowids if r != "None"]  # WITHOUT ROWID tables have none
        which = f" ({_listed(known)})" if known else ""
        check.problems.append(
            f"{n} {table} row{'s' if n != 1 else ''}{which} point{'s' if n == 1 else ''} "
            f"at missing {parent}"
        )
    return check


# The search indexes: table, base table, the columns the triggers write.
FTS_INDEXES = (
    ("customers_fts", "customers", ("name", "email", "phone", "company", "city", "notes")),
    ("leads_fts", "leads", ("name", "email", "phone", "company", "notes")),
    ("interactions_fts", "interactions", ("body",)),
)


def _fts_rebuild_sql(fts: str) -> tuple[str, str]:
    """Empty the index, then fill it from the base rows with the triggers' own expressions."""
    from crmcli.migrations import search_rebuild

    return search_rebuild(fts)


def check_search_index(db: Database, fts: str, base: str) -> Check:
    check = Check(f"search index {base}", fixable=True)
    if not _has_table(db.conn, fts):
        check.note = "not in this schema version"
        return check
    try:
        # FTS5's own check that the index matches the text it holds.  It is an INSERT that
        # writes nothing; it takes the write lock for a moment.
        db.conn.execute(f"INSERT INTO {fts} ({fts}) VALUES ('integrity-check')")
    except sqlite3.OperationalError as exc:
        if "readonly" not in str(exc):
            raise
        check.note = "(FTS5's own check needs a writable file) "
    except sqlite3.DatabaseError as exc:
        check.problems.append(f"the index is damaged: {exc}")
    missing = [
        str(r[0])
        for r in db.conn.execute(
            f"SELECT id FROM {base} WHERE id NOT IN (SELECT rowid FROM {fts}) ORDER BY id"
        )
    ]
    if missing:
        check.problems.append(f"{len(missing)} {base} not in the index: {_listed(missing)}")
    extra = [
        str(r[0])
        for r in db.conn.execute(
            f"SELECT rowid FROM {fts} WHERE rowid NOT IN (SELECT id FROM {base}) ORDER BY rowid"
        )
    ]
    if extra:
        check.problems.append(f"{len(extra)} index rows without their {base}: {_listed(extra)}")
    # A pause is only ever inside one command's transaction (core/search_index.py): one
    # committed means the interactions written since were not indexed.
    if _has_table(db.conn, "search_paused") and db.scalar("SELECT 1 FROM search_paused"):
        check.problems.append(
            "the index of interactions is paused: what was logged since is not indexed"
        )
    if not check.problems:
        count = db.scalar(f"SELECT count(*) FROM {base}")
        check.note = f"{check.note}{count} {base} indexed"
    return check


# Links that no foreign key guards: (description, SQL counting the offenders, listing ids).
_ORPHANS = (
    (
        "interactions belong to neither a customer nor a lead",
        "interactions",
        "SELECT id FROM interactions WHERE customer_id IS NULL AND lead_id IS NULL",
    ),
    (
        "audit rows point at missing commands",
        "audit",
        "SELECT id FROM audit WHERE command_id IS NOT NULL "
        "AND command_id NOT IN (SELECT id FROM commands)",
    ),
    (
        "reminders are linked to records that no longer exist",
        "reminders",
        "SELECT id FROM reminders WHERE "
        "(customer_id IS NOT NULL AND customer_id NOT IN (SELECT id FROM customers)) "
        "OR (lead_id IS NOT NULL AND lead_id NOT IN (SELECT id FROM leads)) "
        "OR (deal_id IS NOT NULL AND deal_id NOT IN (SELECT id FROM deals)) "
        "OR (ticket_id IS NOT NULL AND ticket_id NOT IN (SELECT id FROM tickets)) "
        "OR (interaction_id IS NOT NULL AND interaction_id NOT IN (SELECT id FROM interactions))",
    ),
    (
        "leads are linked to customers or deals that no longer exist",
        "leads",
        "SELECT id FROM leads WHERE "
        "(customer_id IS NOT NULL AND customer_id NOT IN (SELECT id FROM customers)) "
        "OR (deal_id IS NOT NULL AND deal_id NOT IN (SELECT id FROM deals))",
    ),
    (
        "tickets belong to customers that no longer exist",
        "tickets",
        "SELECT id FROM tickets WHERE customer_id NOT IN (SELECT id FROM customers)",
    ),
)


def check_orphans(db: Database) -> Check:
    check = Check("orphans", note="no records left without what they belong to")
    for description, table, sql in _ORPHANS:
        if not _has_table(db.conn, table) or (
            table == "reminders" and not _has_table(db.conn, "tickets")
        ):
            continue
        try:
            ids = [str(r[0]) for r in db.conn.execute(sql + " ORDER BY id")]
        except sqlite3.OperationalError:  # an older schema without the linked table
            continue
        if ids:
            check.problems.append(f"{len(ids)} {description}: {table} {_listed(ids)}")
    outside = db.scalar("SELECT count(*) FROM audit WHERE command_id IS NULL")
    if outside and not check.problems:
        check.note += f" ({outside} audit rows record changes made outside crm)"
    return check


def check_schema(db: Database) -> Check:
    from crmcli.migrations import MIGRATIONS

    check = Check("schema version")
    version = int(db.scalar("PRAGMA user_version"))
    recorded: list[tuple[int, str]] = []
    if _has_table(db.conn, "migrations"):
        recorded = [
            (int(v), str(n))
            for v, n in db.conn.execute("SELECT version, name FROM migrations ORDER BY version")
        ]
    expected = [(i, fn.__name__) for i, fn in enumerate(MIGRATIONS[:version], start=1)]
    if recorded != expected:
        have = ", ".join(f"{v} {n}" for v, n in recorded) or "none"
        check.problems.append(f"user_version is {version} but the migrations table records: {have}")
    elif version < SCHEMA_VERSION:
        check.note = f"{version} (upgraded to {SCHEMA_VERSION} when crm next writes)"
    else:
        check.note = f"{version}, up to date"
    return check


def check_active_command(db: Database) -> Check:
    check = Check("active command", note="no command left marked as running", fixable=True)
    if not _has_table(db.conn, "active_command"):
        return check
    # A committed row is always stale: each write removes its own before it commits, and an
    # open write is invisible to this read.
    ids = [str(r[0]) for r in db.conn.execute("SELECT command_id FROM active_command")]
    if ids:
        check.problems.append(
            f"a finished command is still marked as running (command {', '.join(ids)}); "
            "later changes would be recorded under it"
        )
    return check


def _related_files(path: Path) -> list[Path]:
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


def check_file_mode(db: Database) -> Check:
    check = Check("file mode", note="readable by its owner only (0600)", fixable=True)
    for p in _related_files(db.path):
        mode = p.stat().st_mode & 0o777
        if mode != FILE_MODE:
            check.problems.append(f"{p.name} has mode {mode:04o}, not 0600")
    return check


FREE_SPACE_MIN = 256 * 1024  # less than this and a write soon fails with "disk is full"


def check_free_space(db: Database) -> Check:
    """The disk holding the database has room for the next writes (a full disk is not a
    damaged file: the doctor says which it is)."""
    stats = os.statvfs(db.path.parent)
    free = stats.f_bavail * stats.f_frsize
    check = Check("free space", note=f"{free // 1024:,} KiB free on the disk holding the database")
    if free < FREE_SPACE_MIN:
        check.problems.append(
            f"the disk holding {db.path} is full ({free // 1024:,} KiB free): crm cannot save "
            "changes until some space is freed (the file itself is sound)"
        )
    return check


def diagnose(db: Database) -> list[Check]:
    """Every check, in order; each one's failure to run is itself a problem."""
    steps: list[tuple[str, Callable[[], Check]]] = [
        ("integrity", lambda: check_integrity(db)),
        ("foreign keys", lambda: check_foreign_keys(db)),
    ]
    for fts, base, _columns in FTS_INDEXES:
        steps.append((f"search index {base}", partial(check_search_index, db, fts, base)))
    steps += [
        ("orphans", lambda: check_orphans(db)),
        ("schema version", lambda: check_schema(db)),
        ("active command", lambda: check_active_command(db)),
        ("file mode", lambda: check_file_mode(db)),
        ("free space", lambda: check_free_space(db)),
    ]
    checks = []
    for name, run in steps:
        started = time.monotonic()
        try:
            checks.append(run())
        except sqlite3.DatabaseError as exc:
            known = fault(exc, db.path, waited=time.monotonic() - started)
            checks.append(Check(name, problems=[f"could not check: {known or exc}"]))
    return checks


def repair(db: Database, checks: list[Check]) -> list[Check]:
    """Fix what is safe to fix, in one write transaction (plus file modes), then check
    again.  Returns the new checks, those repaired marked ``fixed``."""
    broken = {c.name for c in checks if c.problems and c.fixable}
    if not broken:
        return checks
    indexes = [fts for fts, base, _ in FTS_INDEXES if f"search index {base}" in broken]
    if indexes or "active command" in broken:
        with db.write(["crm", "doctor", "--fix"]):
            # Our own row is the newest; the stale one would tag our changes otherwise.
            db.execute(
                "DELETE FROM active_command WHERE rowid <> (SELECT max(rowid) FROM active_command)"
            )
            for fts in indexes:
                for sql in _fts_rebuild_sql(fts):
                    db.execute(sql)
            if indexes and _has_table(db.conn, "search_paused"):
                db.execute("DELETE FROM search_paused")
    if "file mode" in broken:
        for p in _related_files(db.path):
            os.chmod(p, FILE_MODE)
    after = diagnose(db)
    for check in after:
        check.fixed = check.name in broken and check.ok
    return after
