"""Faults say what happened, and exit codes agree with what was saved.

A full disk, a read-only folder, another writer, a closed or full stdout, a killed backup
and hostile options each get one clear line and an exit code that tells the truth about
what the database holds afterwards.  Real files and real processes: the installed ``crm``
for anything about stdout and signals, a real second connection for a lock, SQLite's own
page limit or a real small file system for a full disk.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import crm_bin, dump, query

CRM = crm_bin()


def run(
    *args: str,
    env: dict[str, str] | None = None,
    stdout: Any = subprocess.PIPE,
    preexec: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CRM, *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **(env or {})},
        preexec_fn=preexec,
        timeout=120,
    )


def commands(path: Path) -> int:
    return int(query(path, "SELECT count(*) FROM commands")[0][0])


def customers(path: Path) -> list[str]:
    return [r[0] for r in query(path, "SELECT name FROM customers ORDER BY id")]


# -- a full disk ------------------------------------------------------------------------


def test_full_disk_reports_sqlites_cause_not_a_failed_rollback(db_path: Path) -> None:
    """SQLite rolls back by itself on SQLITE_FULL; the ROLLBACK crm sent after it used to
    fail ("no transaction is active") and hide the real cause."""
    from crmcli.db import open_db
    from crmcli.errors import DatabaseError

    assert run("customer", "add", "An").returncode == 0
    before = dump(db_path)
    db = open_db(db_path, create=False)
    try:
        pages = db.scalar("PRAGMA page_count")
        db.conn.execute(f"PRAGMA max_page_count = {pages}")  # this file cannot grow: full
        with pytest.raises(DatabaseError) as caught, db.write(["crm", "customer", "edit"]):
            db.execute("UPDATE customers SET notes = ? WHERE id = 1", ("x" * 300_000,))
    finally:
        db.close()
    message = str(caught.value)
    assert "is full" in message and "database or disk is full" in message
    assert "rollback" not in message and "nothing was changed" in message
    assert dump(db_path) == before


def _mount_small_tmpfs(where: Path) -> bool:
    where.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", str(where)],
        capture_output=True,
    )
    return done.returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 4 MiB file system (tmpfs), where the system lets the tests mount one."""
    where = tmp_path / "small"
    if not _mount_small_tmpfs(where):
        pytest.skip("mounting a small tmpfs needs root and a system that allows it")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], capture_output=True)


def _fill(folder: Path, *, leave: int = 0) -> None:
    """Fill the file system, then free ``leave`` bytes again."""
    filler = folder / "filler"
    with contextlib.suppress(OSError), filler.open("wb") as fh:
        while True:
            fh.write(b"\0" * 4096)
            fh.flush()
    os.truncate(filler, max(0, filler.stat().st_size - leave))


def test_full_disk_on_a_real_file_system(small_disk: Path) -> None:
    db = small_disk / "crm.db"
    env = {"CRM_DB": str(db)}
    assert run("customer", "add", "An", env=env).returncode == 0
    before = dump(db)
    # Room to open the database (its -shm) but not for the new rows: SQLITE_FULL mid-write.
    _fill(small_disk, leave=48 * 1024)
    added = run("customer", "add", "Bình", "--note", "x" * 60_000, env=env)
    assert added.returncode == 1 and added.stdout == ""
    assert added.stderr.startswith(f"crm: error: the disk holding {db} is full")
    assert "database or disk is full" in added.stderr and "free some space" in added.stderr
    assert "rollback" not in added.stderr and "Traceback" not in added.stderr
    # No room at all: even opening fails, and the doctor says why.
    _fill(small_disk)
    doctor = run("doctor", env=env)
    assert doctor.returncode == 1
    assert "is full" in doctor.stderr and "damaged" not in doctor.stderr
    (small_disk / "filler").unlink()
    assert dump(db) == before  # nothing was written
    assert run("customer", "add", "Bình", env=env).returncode == 0  # space again: it works


# -- a read-only folder -----------------------------------------------------------------


@pytest.fixture
def read_only_folder() -> Iterator[tuple[Path, list[str]]]:
    """A database in a folder its user cannot write to, and the command line prefix that
    runs crm as that user.

    chmod does not stop root, and the tests may run as root: then crm runs as ``nobody``
    through ``setpriv`` (the folder belongs to root, mode 0755; the database file to
    nobody), otherwise the folder is made 0555.  The folder is made outside pytest's own
    temporary folder, which other users cannot enter."""
    folder = Path(tempfile.mkdtemp(prefix="crm-read-only-"))
    db = folder / "crm.db"
    try:
        assert run("customer", "add", "An", env={"CRM_DB": str(db)}).returncode == 0
        prefix: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("setpriv") is None:
                pytest.skip("running as root without setpriv to run crm as another user")
            prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            os.chmod(folder, 0o755)
            os.chown(db, 65534, 65534)
        else:
            os.chmod(folder, 0o555)
        yield db, prefix
    finally:
        os.chmod(folder, 0o755)
        shutil.rmtree(folder, ignore_errors=True)


def run_as(prefix: list[str], *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, CRM, *args],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


def test_doctor_tells_a_read_only_folder_from_a_damaged_file(
    read_only_folder: tuple[Path, list[str]],
) -> None:
    db, prefix = read_only_folder
    env = {"CRM_DB": str(db)}
    doctor = run_as(prefix, "doctor", env=env)
    assert doctor.returncode == 1
    assert f"the folder {db.parent} is read-only" in doctor.stderr
    assert "damaged" not in doctor.stderr and "Traceback" not in doctor.stderr
    added = run_as(prefix, "customer", "add", "Bình", env=env)
    assert added.returncode == 1 and "read-only" in added.stderr
    assert customers(db) == ["An"]


def test_doctor_still_calls_a_damaged_file_damaged(db_path: Path) -> None:
    assert run("customer", "add", "An").returncode == 0
    with db_path.open("r+b") as fh:  # the schema page's header: garbage
        fh.seek(100)
        fh.write(b"\xff" * 400)
    doctor = run("doctor")
    assert doctor.returncode == 1
    assert "damaged" in doctor.stderr or "malformed" in doctor.stderr + doctor.stdout
    assert "is full" not in doctor.stderr and "read-only" not in doctor.stderr


# -- another writer ---------------------------------------------------------------------


@contextlib.contextmanager
def writing(path: Path) -> Iterator[sqlite3.Connection]:
    """Another process's write in progress: a connection holding BEGIN IMMEDIATE."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def test_a_locked_database_says_who_how_long_and_to_retry(db_path: Path) -> None:
    assert run("customer", "add", "An").returncode == 0
    before = dump(db_path)
    with writing(db_path):
        added = run("customer", "add", "Bình", env={"CRM_BUSY_TIMEOUT": "0.2"})
        assert added.returncode == 1 and added.stdout == ""
        line = added.stderr
        assert line.count("\n") == 1, line
        assert "another crm command" in line and "is writing to" in line
        assert " s this one waited" in line  # how long it waited
        assert "run the command again" in line and "nothing was changed" in line
        assert dump(db_path) == before
    again = run("customer", "add", "Bình")
    assert again.returncode == 0 and customers(db_path) == ["An", "Bình"]


def test_doctor_waits_as_long_as_other_commands_and_names_a_writer(db_path: Path) -> None:
    from crmcli.core import safety
    from crmcli.db import BUSY_TIMEOUT_UNATTENDED_MS, busy_timeout_ms, open_db

    assert run("customer", "add", "An").returncode == 0
    assert busy_timeout_ms() == BUSY_TIMEOUT_UNATTENDED_MS  # pytest's stdin is no terminal
    checked = safety.open_for_check(db_path)
    opened = open_db(db_path, create=False)
    try:
        assert checked.scalar("PRAGMA busy_timeout") == opened.scalar("PRAGMA busy_timeout")
        assert checked.scalar("PRAGMA busy_timeout") == BUSY_TIMEOUT_UNATTENDED_MS
    finally:
        checked.close()
        opened.close()
    with writing(db_path):
        doctor = run("doctor", env={"CRM_BUSY_TIMEOUT": "0.2"})
    assert doctor.returncode == 1
    assert "another crm command" in doctor.stderr and "damaged" not in doctor.stderr


def test_busy_timeout_setting_is_checked(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from crmcli.db import busy_timeout_ms

    monkeypatch.setenv("CRM_BUSY_TIMEOUT", "2.5")
    assert busy_timeout_ms() == 2500
    bad = run("customer", "add", "An", env={"CRM_BUSY_TIMEOUT": "soon"})
    assert bad.returncode == 1 and bad.stdout == ""
    assert "CRM_BUSY_TIMEOUT='soon' is not a number of seconds" in bad.stderr
    assert not db_path.exists()


# -- the exit code agrees with what was saved -------------------------------------------


def _close_stdout() -> None:
    os.close(1)


def test_closed_stdout_after_saving_warns_and_exits_0(db_path: Path) -> None:
    added = run("customer", "add", "An", stdout=None, preexec=_close_stdout)
    assert added.returncode == 0, added.stderr
    assert "Traceback" not in added.stderr
    assert "crm: warning: the change was saved (as command 1)" in added.stderr
    assert "standard output is closed" in added.stderr
    assert customers(db_path) == ["An"]


def test_full_stdout_after_saving_warns_and_exits_0(db_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    with open("/dev/full", "w") as full:
        added = run("customer", "add", "An", stdout=full)
    assert added.returncode == 0, added.stderr
    assert "the change was saved" in added.stderr and "No space left" in added.stderr
    assert customers(db_path) == ["An"]


def test_vanished_pipe_reader_after_saving_warns_and_exits_0(db_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before crm writes
    try:
        added = run("customer", "add", "An", stdout=write_end)
    finally:
        os.close(write_end)
    assert added.returncode == 0, added.stderr
    assert "the change was saved" in added.stderr and "reading it has gone" in added.stderr
    assert customers(db_path) == ["An"]


def test_output_failure_of_a_read_command_is_exit_1(db_path: Path) -> None:
    assert run("customer", "add", "An").returncode == 0
    closed = run("customer", "list", stdout=None, preexec=_close_stdout)
    assert closed.returncode == 1
    assert closed.stderr == "crm: error: cannot write the output: standard output is closed\n"
    if Path("/dev/full").exists():
        with open("/dev/full", "w") as full:
            listed = run("customer", "list", stdout=full)
        assert listed.returncode == 1
        assert "cannot write the output: No space left on device" in listed.stderr
    assert commands(db_path) == 1


def test_demo_checks_its_format_before_writing(db_path: Path, crm: Any) -> None:
    result = crm("demo", "-f", "ids")
    assert result.exit_code == 2 and result.stdout == ""
    assert "-f ids" in result.stderr
    assert not db_path.exists()


# -- user input never ends in an internal error -----------------------------------------


@pytest.mark.parametrize("codec", ["rot13", "hex", "base64", "zlib", "idna", "bz2"])
def test_non_text_codecs_are_refused(db_path: Path, tmp_path: Path, crm: Any, codec: str) -> None:
    source = tmp_path / "people.csv"
    source.write_text("name\nAn\n")
    result = crm("customer", "import", str(source), "--encoding", codec)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (
        f"crm: error: {codec!r} is not a text encoding for files; use a name like utf-8, "
        "cp1252, latin-1, utf-16 or windows-1258\n"
    )
    assert not db_path.exists()


@pytest.mark.parametrize("codec", ["utf-16", "utf-32"])
def test_utf16_without_byte_order_mark_asks_for_the_order(
    db_path: Path, tmp_path: Path, crm: Any, codec: str
) -> None:
    source = tmp_path / "people.csv"
    source.write_bytes("name\nAn\n".encode(f"{codec}-le"))
    result = crm("customer", "import", str(source), "--encoding", codec)
    assert result.exit_code == 2 and result.stdout == ""
    assert "needs a byte order mark" in result.stderr and f"{codec}-le" in result.stderr
    with_order = crm("customer", "import", str(source), "--encoding", f"{codec}-le")
    assert with_order.exit_code == 0, with_order.stderr
    assert customers(db_path) == ["An"]


def test_deeply_nested_json_is_a_bad_row(db_path: Path, tmp_path: Path, crm: Any) -> None:
    array = tmp_path / "deep.json"
    array.write_text("[" * 100_000)
    result = crm("customer", "import", str(array))
    assert result.exit_code == 1 and "internal error" not in result.stderr
    assert "nested too deeply" in result.stderr
    lines = tmp_path / "deep.jsonl"
    lines.write_text('{"name": "An"}\n{"name": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    result = crm("customer", "import", str(lines))
    assert result.exit_code == 1 and "internal error" not in result.stderr
    assert "line 2: not valid JSON: arrays or objects nested too deeply" in result.stderr
    assert not db_path.exists() or customers(db_path) == []


@pytest.mark.parametrize("report", ["sales", "activity", "leads", "customers", "tickets"])
def test_reports_from_the_first_to_the_last_day_of_the_calendar(
    db_path: Path, crm: Any, report: str
) -> None:
    """The tests' zone is east of UTC: local 0001-01-01 00:00 has no UTC instant."""
    assert run("customer", "add", "An").returncode == 0
    assert run("customer", "log", "1", "--type", "call", "Gọi lại").returncode == 0
    result = crm("report", report, "--from", "0001-01-01", "--to", "9999-12-31", "-f", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert "internal error" not in result.stderr
    for line in result.stdout.splitlines():
        assert isinstance(json.loads(line), dict)


def test_ascii_only_stdout_prints_names_without_accents(db_path: Path) -> None:
    assert run("customer", "add", "Nguyễn Văn Đức", "--city", "Đà Nẵng").returncode == 0
    assert run("customer", "add", "Weiß Œuvrard 李").returncode == 0
    listed = run("customer", "list", "-f", "tsv", env={"PYTHONIOENCODING": "ascii"})
    assert listed.returncode == 0, listed.stderr
    assert "Nguyen Van Duc\t" in listed.stdout and "Da Nang" in listed.stdout
    assert "Weiss OEuvrard ?\t" in listed.stdout
    shown = run("customer", "show", "1", env={"PYTHONIOENCODING": "ascii"})
    assert shown.returncode == 0 and "Nguyen Van Duc" in shown.stdout
    added = run("customer", "add", "Trần Thị Bích", env={"PYTHONIOENCODING": "ascii"})
    assert added.returncode == 0 and "Added customer 3: Tran Thi Bich" in added.stderr
    assert customers(db_path)[2] == "Trần Thị Bích"  # stored as given


# -- no leftovers -----------------------------------------------------------------------


def test_next_backup_removes_what_a_killed_one_left(db_path: Path, tmp_path: Path) -> None:
    assert run("customer", "add", "An").returncode == 0
    folder = tmp_path / "backups"
    folder.mkdir()
    leftover = folder / ".crm-1.db.k1ll3d_x.tmp"  # as tempfile names it; a full copy inside
    shutil.copyfile(db_path, leftover)
    (folder / ".crm-1.db.k1ll3d_x.tmp-journal").write_bytes(b"")
    other = folder / ".notes.txt.tmp"  # not ours: left alone
    other.write_text("mine")
    done = run("backup", str(folder / "crm-1.db"))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in folder.iterdir()) == [".notes.txt.tmp", "crm-1.db"]


def test_backup_held_by_a_running_backup_is_not_removed(tmp_path: Path) -> None:
    import fcntl

    from crmcli.core.safety import stale_temporaries

    busy = tmp_path / ".b.db.running1.tmp"
    stale = tmp_path / ".b.db.stale123.tmp"
    busy.write_bytes(b"")
    stale.write_bytes(b"")
    fd = os.open(busy, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert stale_temporaries(tmp_path, "b.db") == [stale]
    finally:
        os.close(fd)


def test_terminated_backup_leaves_no_copy_behind(db_path: Path, tmp_path: Path) -> None:
    assert run("customer", "add", "An").returncode == 0
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE padding (x BLOB)")  # enough pages for the copy to take a while
    conn.executemany("INSERT INTO padding VALUES (randomblob(4000))", [()] * 15_000)
    conn.commit()
    conn.close()
    folder = tmp_path / "backups"
    folder.mkdir()
    proc = subprocess.Popen(
        [CRM, "backup", str(folder / "b.db")], stderr=subprocess.PIPE, text=True
    )
    while not glob.glob(str(folder / ".b.db.*.tmp")) and proc.poll() is None:
        time.sleep(0.001)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=120)
    assert "Traceback" not in err
    names = [p.name for p in folder.iterdir()]
    if proc.returncode == 0:  # it had finished: the backup itself, nothing else
        assert names == ["b.db"]
    else:
        assert names == [] and "interrupted" in err


def test_read_command_leaves_an_empty_file_alone(db_path: Path, crm: Any) -> None:
    db_path.write_bytes(b"")
    listed = crm("customer", "list")
    assert listed.exit_code == 1 and listed.stdout == ""
    assert "is an empty file, not a database yet" in listed.stderr
    assert db_path.stat().st_size == 0
    added = crm("customer", "add", "An")  # the first write makes it a database
    assert added.exit_code == 0 and customers(db_path) == ["An"]


def test_skip_bad_import_with_no_good_row_records_no_command(
    db_path: Path, tmp_path: Path, crm: Any
) -> None:
    assert crm("customer", "add", "An").exit_code == 0
    source = tmp_path / "bad.csv"
    source.write_text("name,email\nBình,not-an-email\n,\n")
    result = crm("customer", "import", str(source), "--skip-bad")
    assert result.exit_code == 1 and result.stdout == ""
    assert "Added 0, updated 0, unchanged 0, rejected 2" in result.stderr
    assert commands(db_path) == 1
    history = crm("history", "-f", "json")
    assert len({c["command_id"] for c in json.loads(history.stdout)}) == 1
