"""Opening the database: location, file mode, pragmas, migrations, write transactions.

All SQL lives here and in ``core/``.  Every write command runs inside :meth:`Database.write`,
which opens ``BEGIN IMMEDIATE`` (a deferred transaction that reads and then writes fails with
"database is locked" when another process wrote in between, whatever the busy timeout) and
records the command so the audit triggers can tag every changed row with it.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from crmcli.errors import DatabaseError, NotFound

APPLICATION_ID = 0x43524D31  # "CRM1": marks the file as ours
SCHEMA_VERSION = 11  # len(migrations.MIGRATIONS); a test keeps them equal
BUSY_TIMEOUT_MS = 5_000
BUSY_TIMEOUT_UNATTENDED_MS = 60_000  # cron and scripts can afford to wait longer
BUSY_TIMEOUT_ENV = "CRM_BUSY_TIMEOUT"  # seconds to wait for another writer, overriding both
SQLITE_HEADER = b"SQLite format 3\x00"

# SQLite's primary result codes that say something about the file or the disk.
_SQLITE_PERM = 3
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_READONLY = 8
_SQLITE_IOERR = 10
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_CANTOPEN = 14
_SQLITE_NOTADB = 26


def default_path() -> Path:
    """``$CRM_DB``, else ``$XDG_DATA_HOME/crmcli/crm.db`` (``~/.local/share`` by default)."""
    env = os.environ.get("CRM_DB")
    if env is not None:
        return Path(env).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home).expanduser() / "crmcli" / "crm.db"


def resolve_path(option: str | None) -> Path:
    """The database path: ``--db`` wins over the environment."""
    if option is not None:
        if option in ("", ":memory:") or option.startswith("file:"):
            raise DatabaseError(
                f"--db {option!r} is not a file path; crmcli keeps its data in a file"
            )
        return Path(option).expanduser()
    path = default_path()
    if str(path) in ("", ".", ":memory:"):
        raise DatabaseError("CRM_DB is empty or ':memory:'; set it to a file path")
    return path


def busy_timeout_ms() -> int:
    """How long to wait for another process's write: ``$CRM_BUSY_TIMEOUT`` seconds when set,
    else 5 s at a terminal and 60 s off one (cron, scripts, pipes)."""
    env = os.environ.get(BUSY_TIMEOUT_ENV, "").strip()
    if env:
        try:
            seconds = float(env)
        except ValueError:
            seconds = -1.0
        if not 0 <= seconds <= 86_400:
            raise DatabaseError(
                f"{BUSY_TIMEOUT_ENV}={env!r} is not a number of seconds from 0 to 86400"
            )
        return round(seconds * 1000)
    unattended = not sys.stdin.isatty() if sys.stdin else True
    return BUSY_TIMEOUT_UNATTENDED_MS if unattended else BUSY_TIMEOUT_MS


def _primary_code(exc: BaseException) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def _disk_full(folder: Path) -> bool:
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 64 * 1024  # less than a few pages


def _read_only_folder(folder: Path) -> bool:
    return folder.is_dir() and not os.access(folder, os.W_OK)


def fault(exc: sqlite3.Error, path: Path, *, waited: float | None = None) -> DatabaseError | None:
    """The plain-words error for a fault of the file or the disk that SQLite reported as
    ``exc`` (a full disk, a read-only folder or file, another writer, a damaged file), or
    None when ``exc`` is something else.  ``waited``: seconds spent waiting for the lock."""
    code = _primary_code(exc)
    folder = path.parent
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
        held = f" through the {waited:.1f} s this one waited" if waited is not None else ""
        return DatabaseError(
            f"another crm command (or another program) is writing to {path}{held}; "
            "nothing was changed: run the command again when that one is done, it will "
            f"work then ({BUSY_TIMEOUT_ENV}=SECONDS waits longer)"
        )
    if code == _SQLITE_FULL or (code in (_SQLITE_IOERR, _SQLITE_CANTOPEN) and _disk_full(folder)):
        return DatabaseError(
            f"the disk holding {path} is full (SQLite: {exc}); nothing was changed: "
            "free some space and run the command again"
        )
    if code in (_SQLITE_READONLY, _SQLITE_CANTOPEN, _SQLITE_PERM, _SQLITE_IOERR):
        if _read_only_folder(folder):
            return DatabaseError(
                f"the folder {folder} is read-only, and SQLite needs to write its journal "
                f"files next to {path.name} (SQLite: {exc}); nothing was changed: make the "
                "folder writable, or copy the database somewhere writable"
            )
        if path.exists() and not os.access(path, os.W_OK):
            return DatabaseError(
                f"{path} is read-only (SQLite: {exc}); nothing was changed: make it "
                "writable (chmod u+w), or copy it somewhere writable"
            )
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return DatabaseError(
            f"{path} is damaged (SQLite: {exc}); nothing was changed: run crm doctor, and "
            "crm restore a backup if it says so"
        )
    return None


class Discard(Exception):
    """Raised inside :meth:`Database.write` to roll the command back quietly: it changed
    nothing, so nothing is recorded (no empty entry in ``crm history``)."""


class Database:
    """One open connection with crmcli's pragmas, migrated to the current schema."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self._in_write = False
        self._changes_at_start = 0
        self.saved: list[int] = []  # the commands (ids in ``commands``) this object committed

    # -- reading -------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        """Rows as dicts, streamed."""
        cur = self.conn.execute(sql, params)
        names = [d[0] for d in cur.description]
        for row in cur:
            yield dict(zip(names, row, strict=True))

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        return next(self.query(sql, params), None)

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def require(self, table: str, entity: str, ident: int) -> None:
        """Raise ``no <entity> <ident>`` unless ``table`` (a name from our code, never from
        the user) has the row ``id = ident``."""
        if self.scalar(f"SELECT 1 FROM {table} WHERE id = ?", (ident,)) is None:
            raise NotFound(entity, ident)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        self._require_write()
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        self._require_write()
        return self.conn.executemany(sql, rows)

    def _require_write(self) -> None:
        if not self._in_write:
            raise RuntimeError("writes must happen inside Database.write()")

    # -- writing -------------------------------------------------------------------------

    @contextmanager
    def write(
        self, command: Sequence[str] | None = None, *, resume: int | None = None
    ) -> Iterator[Database]:
        """One ``BEGIN IMMEDIATE … COMMIT`` for a whole command; rolled back on any error.
        ``resume``: a command this process committed earlier, continued in this transaction
        (a long run committing step by step, such as ``crm send``, stays one command for
        history and undo)."""
        import json

        from crmcli.dates import utc_now_iso

        if self._in_write:  # nested: part of the enclosing command
            yield self
            return
        argv = list(command) if command is not None else ["crm", *sys.argv[1:]]
        started = time.monotonic()
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            known = fault(exc, self.path, waited=time.monotonic() - started)
            raise known or DatabaseError(f"cannot start a write on {self.path}: {exc}") from exc
        self._in_write = True
        try:
            if resume is not None and resume in self.saved:
                command_id = resume
            else:
                cur = self.conn.execute(
                    "INSERT INTO commands (at, argv) VALUES (?, ?)",
                    (utc_now_iso(), json.dumps(argv, ensure_ascii=False)),
                )
                command_id = int(cur.lastrowid or 0)
            self.conn.execute("INSERT INTO active_command (command_id) VALUES (?)", (command_id,))
            self._changes_at_start = self.conn.total_changes
            yield self
            self.conn.execute("DELETE FROM active_command")
            self.conn.execute("COMMIT")
            if command_id not in self.saved:
                self.saved.append(command_id)
        except Discard:
            self._rollback()
        except sqlite3.Error as exc:
            # SQLite may have rolled back already (a full disk does): the error to report
            # is this one, not a failed ROLLBACK.
            self._rollback()
            known = fault(exc, self.path)
            if known is None:
                raise
            raise known from exc
        except BaseException:
            self._rollback()
            raise
        finally:
            self._in_write = False

    def _rollback(self) -> None:
        """Undo the open transaction, if SQLite has not already (a failed ROLLBACK must not
        hide the error that caused it; closing the connection discards what is left)."""
        if self.conn.in_transaction:
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    @property
    def changed(self) -> bool:
        """Inside :meth:`write`: whether the command has changed any row so far."""
        return self.conn.total_changes > self._changes_at_start

    # -- settings ------------------------------------------------------------------------

    def setting(self, key: str, default: str | None = None) -> str | None:
        value = self.scalar("SELECT value FROM settings WHERE key = ?", (key,))
        return default if value is None else str(value)

    def close(self) -> None:
        self.conn.close()


def open_db(path: Path, *, create: bool) -> Database:
    """Open (``create``: and make if missing) the crmcli database at ``path``."""
    if path.is_dir():
        raise DatabaseError(f"{path} is a folder, not a database file")
    busy_ms = busy_timeout_ms()  # a bad CRM_BUSY_TIMEOUT is refused before a file is made
    exists = path.exists()
    if not exists:
        if not create:
            raise DatabaseError(
                f"no database at {path}; add a record to create it "
                "(crm customer add NAME), run `crm demo`, or point --db / CRM_DB at your file"
            )
        _create_file(path)
    elif path.stat().st_size > 0:
        with path.open("rb") as fh:
            if fh.read(16) != SQLITE_HEADER:
                raise DatabaseError(f"{path} is not an SQLite database")
    elif not create:
        # An empty file (made by `touch`, or a copy that failed): a read command leaves it
        # as it is rather than making a database of it; the first write does.
        raise DatabaseError(
            f"{path} is an empty file, not a database yet; add a record to make it one "
            "(crm customer add NAME), or point --db / CRM_DB at your database"
        )
    started = time.monotonic()
    conn: sqlite3.Connection | None = None
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        _configure(conn, busy_ms)
        _check_ownership(conn, path)
        migrate(conn, path)
    except sqlite3.DatabaseError as exc:
        if conn is not None:
            conn.close()
        known = fault(exc, path, waited=time.monotonic() - started)
        raise known or DatabaseError(f"cannot open {path}: {exc}") from exc
    return Database(conn, path)


def _create_file(path: Path) -> None:
    """Make the folder and an empty file readable by its owner only (it holds personal data)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process made it just now
    except OSError as exc:
        raise DatabaseError(f"cannot create {path}: {exc.strerror}") from exc
    os.close(fd)
    os.chmod(path, 0o600)


def _configure(conn: sqlite3.Connection, busy_ms: int) -> None:
    conn.execute(f"PRAGMA busy_timeout = {busy_ms}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA secure_delete = ON")
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    if mode != "wal":
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")


def _check_ownership(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse a database of another program rather than adding our tables to it."""
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    if app_id == APPLICATION_ID:
        return
    if app_id != 0:
        raise DatabaseError(f"{path} belongs to another program (application_id {app_id:#x})")
    has_tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[
        0
    ]
    if has_tables:
        raise DatabaseError(f"{path} is an SQLite database of another program, not crmcli's")


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Apply the migrations this database has not had yet, all in one transaction."""
    current = schema_version(conn)
    latest = SCHEMA_VERSION
    if current > latest:
        raise DatabaseError(
            f"{path} was made by a newer crmcli (schema {current}; this version knows "
            f"{latest}); upgrade crmcli to use it"
        )
    if current == latest:
        return
    from crmcli.dates import utc_now_iso
    from crmcli.migrations import MIGRATIONS

    # Foreign keys off while migrating (the pragma cannot change inside a transaction):
    # SQLite's procedure for rebuilding a table drops the old one, which must not delete or
    # null what points at it.  Every key is checked before the commit instead.
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("PRAGMA legacy_alter_table = ON")
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Re-read under the write lock: another process may have migrated meanwhile.
        current = schema_version(conn)
        if current == 0:
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS migrations "
                "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
        for version in range(current + 1, latest + 1):
            step = MIGRATIONS[version - 1]
            step(conn)
            conn.execute(
                "INSERT INTO migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (version, step.__name__, utc_now_iso()),
            )
            conn.execute(f"PRAGMA user_version = {version}")
        broken = conn.execute("PRAGMA foreign_key_check").fetchone()
        if broken is not None:
            raise DatabaseError(
                f"the upgrade to schema {latest} would leave a broken link ({broken[0]} row "
                f"{broken[1]} to {broken[2]}); nothing was changed"
            )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the error that stopped the migration is the one to report
        raise
    finally:
        conn.execute("PRAGMA legacy_alter_table = OFF")
        conn.execute("PRAGMA foreign_keys = ON")
