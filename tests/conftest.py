"""Shared fixtures: every test gets its own database path, a fixed clock and a fixed zone."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

FIXED_NOW = "2026-11-23T10:00:00"  # local time, a Monday
TZ = "Asia/Ho_Chi_Minh"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point crmcli at a temp folder so no test touches a real database."""
    db = tmp_path / "crm.db"
    monkeypatch.setenv("CRM_DB", str(db))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("CRM_NOW", FIXED_NOW)
    monkeypatch.setenv("TZ", TZ)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    time.tzset()
    yield db
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def db_path(isolated: Path) -> Path:
    return isolated


class Crm:
    """Run ``crm`` in-process; stdout and stderr apart."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None) -> object:
        from crmcli.cli import app

        return self.runner.invoke(app, list(args), input=input, catch_exceptions=False)


@pytest.fixture
def crm() -> Crm:
    return Crm()


def dump(path: Path) -> list[tuple[object, ...]]:
    """Every row of every table (not the audit trail's command log): to prove nothing changed."""
    if not path.exists():
        return []
    conn = sqlite3.connect(path)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT GLOB '*_fts*' ORDER BY name"
            )
        ]
        return [(t, *row) for t in tables for row in conn.execute(f"SELECT * FROM {t}")]
    finally:
        conn.close()


def query(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The rows of one query on the database at ``path`` (its own connection, closed)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


FIXTURES = Path(__file__).parent / "fixtures" / "import"


def add(crm: Any, *args: str) -> int:
    """``crm customer add …`` in-process; the new id."""
    result = crm("customer", "add", *args)
    assert result.exit_code == 0, result.stderr
    return int(result.stdout)


def exported(crm: Any, *args: str) -> list[dict[str, Any]]:
    """Every customer as ``crm … customer export -f json`` gives them (``args``: before
    the group, e.g. ``--db PATH``)."""
    import json

    result = crm(*args, "customer", "export", "-f", "json")
    assert result.exit_code == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def by_name(crm: Any) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in exported(crm)}


def imported(crm: Any, name: str, *args: str) -> Any:
    """``crm customer import`` of a file of tests/fixtures/import/, which must succeed."""
    result = crm("customer", "import", str(FIXTURES / name), *args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    return result


def crm_bin() -> str:
    """The installed ``crm`` next to this interpreter."""
    import sys

    candidate = Path(sys.executable).parent / "crm"
    return str(candidate) if candidate.exists() else "crm"


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[Any]:
    """One real SMTP server on 127.0.0.1 for the whole test session (tests/smtp_server.py)."""
    from tests import smtp_server as server

    handler = server.Handler()
    controller = server.start(handler)
    controller.handler_obj = handler
    yield controller
    controller.stop()


@pytest.fixture
def smtp(smtp_server: Any, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The session's SMTP server, emptied, and the settings of a database that sends to it
    (fast retries: CRM_SEND_BACKOFF)."""
    handler = smtp_server.handler_obj
    handler.clear()
    monkeypatch.setenv("CRM_SEND_BACKOFF", "0.01")
    monkeypatch.delenv("CRM_SMTP_PASSWORD", raising=False)
    from crmcli.core import settings
    from crmcli.db import open_db

    db = open_db(db_path, create=True)
    with db.write(["crm", "config", "set"]):
        for key, value in (
            ("smtp_host", "127.0.0.1"), ("smtp_port", str(smtp_server.port)),
            ("smtp_security", "none"), ("mail_from", "Cửa hàng Ánh Dương <shop@anhduong.vn>"),
            ("seller_email", "shop@anhduong.vn"), ("send_rate", "100000"),
        ):  # fmt: skip
            settings.set_value(db, key, value)
    db.close()
    handler.port = smtp_server.port
    return handler


@pytest.fixture(scope="session")
def imap_server() -> Iterator[Any]:
    """One real IMAP server (Dovecot) on 127.0.0.1 for the whole test session
    (tests/imap_server.py); skipped where Dovecot is not installed."""
    from tests import imap_server as server

    why = server.missing()
    if why:
        pytest.skip(why)
    running = server.Server().start()
    yield running
    running.stop()
