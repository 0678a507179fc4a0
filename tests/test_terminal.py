"""Every table, card, board and report as a person sees it: the installed ``crm`` in a real
pseudo-terminal at 60, 80 and 120 columns (no COLUMNS/LINES: the width comes from the
terminal), on a database filled by ``crm demo``.

No line may be wider than the terminal, no amount, date, time, phone or id may be split
across lines, and no name may be folded one letter per line (SPEC 6b).  The commands are
found in the Typer app, so a new ``list``, ``show``, report or board joins by itself.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import select
import struct
import subprocess
import termios
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXED_NOW, crm_bin

CRM = crm_bin()
WIDTHS = (60, 80, 120)
READS = {"list", "show", "pipeline", "due", "dupes", "history", "today"}  # commands that print
NAME_SEEN = 8  # this much of every name is on the screen (then maybe "…")
IDS_SHOWN = 3  # `show` of several records: one card after another
_ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_RULES = "│┃║|"  # the vertical lines of a table
_MONEY = frozenset({"amount", "weighted", "total", "unit_price", "won_value", "avg_won",
                    "price", "value", "balance", "avg_order_value", "avg_per_customer", "owed",
                    "current", "days_1_30", "days_31_60", "days_61_90", "over_90", "invoiced",
                    "receivables", "collected"})  # fmt: skip


def commands() -> list[tuple[str, ...]]:
    """Every command that prints records on a terminal: lists, shows, boards, reports."""
    import typer.main

    from crmcli.cli import app

    found: list[tuple[str, ...]] = [("deal", "stages")]  # a bare group that lists

    def walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        names = getattr(command, "list_commands", None)
        if names is None:
            if any(p.name == "fmt" for p in command.params) and (
                path[-1] in READS or path[0] == "report"
            ):
                yield path
            return
        for name in names(None):
            yield from walk(command.get_command(None, name), (*path, name))

    found += walk(typer.main.get_command(app), ())
    return found


def arguments(path: tuple[str, ...]) -> list[tuple[str, str]]:
    """The required arguments of a command: (name, how many)."""
    import typer.main

    from crmcli.cli import app

    command: Any = typer.main.get_command(app)
    for name in path:
        command = command.get_command(None, name)
    if not hasattr(command, "params"):
        return []
    return [
        (p.name, "many" if p.nargs == -1 else "one")
        for p in command.params
        if p.param_type_name == "argument" and p.required
    ]


COMMANDS = commands()


def base_env(db: Path) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "CRM_DB": str(db),
        "CRM_NOW": FIXED_NOW,
        "TZ": "UTC",  # times on the terminal read the same as in JSON
        "LANG": "C.UTF-8",
        "TERM": "xterm-256color",
    }
    return env


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("terminal") / "demo.db"
    done = subprocess.run(
        [CRM, "demo", "-f", "tsv"], capture_output=True, text=True, env=base_env(db), timeout=120
    )
    assert done.returncode == 0, done.stderr
    segment = subprocess.run(
        [CRM, "segment", "add", "Khách có deal mở", "--open-deals"],
        capture_output=True, text=True, env=base_env(db), timeout=60,
    )  # fmt: skip
    assert segment.returncode == 0, segment.stderr
    return db


@pytest.fixture
def env(demo_db: Path) -> dict[str, str]:
    return base_env(demo_db)


_cache: dict[tuple[str, ...], Any] = {}


def plain(env: dict[str, str], *args: str) -> str:
    """Run crm off a terminal; its stdout (cached: the demo database is not changed)."""
    if args not in _cache:
        done = subprocess.run([CRM, *args], capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 0, (args, done.stderr)
        _cache[args] = done.stdout
    return str(_cache[args])


def argv(path: tuple[str, ...], env: dict[str, str]) -> list[str] | None:
    """The command with ids from the demo for its arguments (``customer_ids`` -> the first
    customers' ids); None when the demo has no such record."""
    args = list(path)
    for name, count in arguments(path):
        entity = name.removesuffix("_ids").removesuffix("_id")
        if path[0] == "segment":  # NAME: a segment's name or id
            entity = "segment"
        ids = plain(env, entity, "list", "-f", "ids").split()
        if not ids:
            return None
        args += ids[:IDS_SHOWN] if count == "many" else ids[:1]
    return args


def in_pty(args: list[str], width: int, env: dict[str, str]) -> tuple[int, list[str], str]:
    """Run crm with stdout and stderr on pseudo-terminals ``width`` columns wide: its exit
    code, the lines of stdout (escape sequences removed) and stderr (messages: sentences
    the terminal wraps itself, not tables)."""
    masters, slaves = [], []
    for _ in range(2):
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, width, 0, 0))
        masters.append(master)
        slaves.append(slave)
    proc = subprocess.Popen(
        [CRM, *args], stdin=slaves[0], stdout=slaves[0], stderr=slaves[1], env=env,
        close_fds=True,
    )  # fmt: skip
    for slave in slaves:
        os.close(slave)
    read: dict[int, list[bytes]] = {m: [] for m in masters}
    open_ = set(masters)
    deadline = time.monotonic() + 60
    try:
        while open_ and time.monotonic() < deadline:
            ready, _, _ = select.select(list(open_), [], [], 1.0)
            for master in ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError as error:  # the other end closed: Linux says EIO
                    if error.errno != errno.EIO:
                        raise
                    chunk = b""
                if chunk:
                    read[master].append(chunk)
                else:
                    open_.discard(master)
    finally:
        for master in masters:
            os.close(master)
    code = proc.wait(timeout=30)
    out, err = (
        _ANSI.sub("", b"".join(read[m]).decode("utf-8")).replace("\r\n", "\n").replace("\r", "")
        for m in masters
    )
    return code, out.split("\n"), err


def cells(line: str) -> list[tuple[int, str]]:
    """A line cut at its table rules: (position in cells, text) of each piece."""
    from rich.cells import cell_len

    pieces: list[tuple[int, str]] = []
    start, current = 0, ""
    for char in line:
        if char in _RULES:
            pieces.append((start, current))
            start, current = start + cell_len(current) + 1, ""
        else:
            current += char
    pieces.append((start, current))
    return pieces


def tokens(value: Any, key: str = "", record: dict[str, Any] | None = None) -> Iterator[str]:
    """The values from a command's JSON that must never be split on a terminal: dates,
    times (as shown: local, to the minute), amounts in their currency, phones, uids.
    (Short numeric ids are left out: two rows' ids read together, 12 over 1, look like 121.)"""
    import phonenumbers

    from crmcli.money import format_money

    if isinstance(value, dict):
        for k, v in value.items():
            yield from tokens(v, k, value)
    elif isinstance(value, list):
        for item in value:
            yield from tokens(item, key, record)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int) and key in _MONEY and record and record.get("currency"):
        whole = format_money(value, record["currency"])
        yield whole
        yield whole.rsplit(" ", 1)[0]  # a report names the currency in a column of its own
    elif isinstance(value, str):
        if _DATE.match(value):
            yield value
        elif _INSTANT.match(value):
            yield value[:10] + " " + value[11:16]
        elif key.endswith("phone") and value.startswith("+"):
            yield phonenumbers.format_number(
                phonenumbers.parse(value), phonenumbers.PhoneNumberFormat.INTERNATIONAL
            )
        elif key == "uid":
            yield value


def names(value: Any) -> Iterator[str]:
    """The name (else title, else subject) of every record in a command's JSON and in its
    lists of records: what a person finds a record by."""
    if isinstance(value, list):
        for item in value:
            yield from names(item)
    elif isinstance(value, dict):
        key = next((k for k in ("name", "title", "subject") if value.get(k)), None)
        if key is not None and isinstance(value[key], str):
            yield value[key]
        for item in value.values():
            if isinstance(item, list):
                yield from names(item)


def split_tokens(lines: list[str], wanted: set[str]) -> list[str]:
    """The tokens that a line break cuts: whole in two neighbouring lines' same cell read
    together, in neither alone."""
    broken = []
    for above, below in zip(lines, lines[1:], strict=False):
        top, bottom = cells(above), cells(below)
        if [p for p, _ in top] != [p for p, _ in bottom]:  # not the same table: whole lines
            top, bottom = [(0, above)], [(0, below)]
        for (_, a), (_, b) in zip(top, bottom, strict=True):
            a, b = a.strip(), b.strip()
            if not a or not b:
                continue
            for joined in (a + b, f"{a} {b}"):
                broken += [t for t in wanted if t in joined and t not in a and t not in b]
    return sorted(set(broken))


def letter_per_line(lines: list[str]) -> list[str]:
    """Cells that hold one letter on three lines running (a name folded a letter a line)."""
    found = []
    for first, second, third in zip(lines, lines[1:], lines[2:], strict=False):
        rows = [cells(first), cells(second), cells(third)]
        if not (len(rows[0]) == len(rows[1]) == len(rows[2]) > 1):
            continue
        for n in range(len(rows[0])):
            texts = [row[n][1].strip() for row in rows]
            if all(len(t) == 1 and t.isalpha() for t in texts):
                found.append("".join(texts))
    return found


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_holds_at_every_width(path: tuple[str, ...], width: int, env: dict[str, str]) -> None:
    from rich.cells import cell_len

    args = argv(path, env)
    if args is None:
        pytest.skip(f"the demo has no record for `crm {' '.join(path)}`")
    code, lines, messages = in_pty(args, width, env)
    assert code == 0, "\n".join(lines) + messages
    assert "Traceback" not in messages
    assert any(line.strip() for line in lines) or messages.strip(), "nothing shown"
    wide = [line for line in lines if cell_len(line) > width]
    assert not wide, f"wider than {width} columns:\n" + "\n".join(wide)
    document = json.loads(plain(env, *args, "-f", "json") or "null")
    text = "\n".join(lines)
    unseen = [n for n in names(document) if n[:NAME_SEEN] not in text]
    assert not unseen, f"names not shown: {unseen}\n{text}"
    broken = split_tokens(lines, set(tokens(document)))
    assert not broken, f"split across lines: {broken}\n" + "\n".join(lines)
    folded = letter_per_line(lines)
    assert not folded, f"one letter a line: {folded}\n" + "\n".join(lines)


def test_the_commands_are_found() -> None:
    names = {" ".join(p) for p in COMMANDS}
    every = {"customer list", "customer show", "lead list", "lead show", "deal list",
             "deal show", "deal pipeline", "ticket list", "ticket show", "remind list",
             "remind due", "history", "deal stages", "config list"}  # fmt: skip
    assert every <= names
    assert {n for n in names if n.startswith("report ")} == {
        "report pipeline", "report forecast", "report sales", "report leads",
        "report customers", "report tickets", "report activity", "report receivables",
        "report campaigns",
    }  # fmt: skip


def test_the_checks_see_a_split_amount_and_a_folded_name() -> None:
    """The checks above would catch what the terminal showed before (rich's own shrinking)."""
    split = [
        "│  1 │ ERP       │ 465,000,00 │ 2026-12- │",
        "│    │ module    │ 0 VND      │ 14       │",
    ]
    assert split_tokens(split, {"465,000,000 VND", "2026-12-14"}) == [
        "2026-12-14", "465,000,000 VND",
    ]  # fmt: skip
    folded = ["│  1 │ N │ x │", "│    │ g │   │", "│    │ u │   │"]
    assert letter_per_line(folded) == ["Ngu"]
    whole = ["│  1 │ ERP module, 2… │ 465,000,000 VND │ 2026-12-14 │"]
    assert split_tokens(whole, {"465,000,000 VND", "2026-12-14"}) == []
    wrapped = ["┏━━━━━━┳━━━━━━┓", "┃      ┃ Days ┃", "┃ Name ┃ won  ┃", "┡━━━━━━╇━━━━━━┩"]
    assert header_lines(wrapped) == [wrapped[1:3]]


def header_lines(lines: list[str]) -> list[list[str]]:
    """The heading rows of every boxed table: the lines between its top and its rule."""
    found, current = [], None
    for line in lines:
        if line.lstrip().startswith("┏"):
            current = []
        elif line.lstrip().startswith("┡"):
            found.append(current or [])
            current = None
        elif current is not None:
            current.append(line)
    return found


@pytest.mark.parametrize("path", [p for p in COMMANDS if p[0] == "report"], ids=" ".join)
def test_report_headings_fit_one_line_at_100_columns(
    path: tuple[str, ...], env: dict[str, str]
) -> None:
    code, lines, messages = in_pty(list(path), 100, env)
    assert code == 0, messages
    for heading in header_lines(lines):
        assert len(heading) == 1, "\n".join(lines)


def test_deal_and_customer_cards_read_as_people_write(env: dict[str, str]) -> None:
    """Weighted value in the deal's currency, probability in %, phones spaced; tsv keeps
    minor units and E.164."""
    import phonenumbers

    from crmcli.money import format_money

    deals = json.loads(plain(env, "deal", "list", "-f", "json"))
    deal = next(d for d in deals if d["weighted"] and d["currency"] != "VND")
    _, card, _ = in_pty(["deal", "show", str(deal["id"])], 80, env)
    weighted = format_money(deal["weighted"], deal["currency"])
    assert any(line.split() == ["Weighted", *weighted.split()] for line in card), card
    assert any(line.split() == ["Probability", str(deal["probability"]), "%"] for line in card)
    assert f"\t{deal['weighted']}\t" in plain(env, "deal", "show", str(deal["id"]), "-f", "tsv")
    people = json.loads(plain(env, "customer", "list", "-f", "json"))
    person = next(p for p in people if p["phone"])
    _, card, _ = in_pty(["customer", "show", str(person["id"])], 80, env)
    spaced = phonenumbers.format_number(
        phonenumbers.parse(person["phone"]), phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    assert " " in spaced and any(line.split() == ["Phone", *spaced.split()] for line in card)
    assert f"\t{person['phone']}\t" in plain(env, "customer", "list", "-f", "tsv")


def test_a_column_kind_comes_from_its_name_or_its_values() -> None:
    from crmcli import render

    named = {
        "id": render.ID, "customer_id": render.ID, "happened_at": render.TIME,
        "close_date": render.DATE, "birthday": render.DATE, "amount": render.MONEY,
        "weighted": render.MONEY, "balance": render.MONEY, "probability": render.PERCENT,
        "win_rate_pct": render.PERCENT, "status": render.CODE, "stage": render.CODE,
        "type": render.CODE, "priority": render.CODE, "currency": render.CODE,
        "phone": render.PHONE, "name": render.TEXT, "body": render.TEXT,
    }  # fmt: skip
    assert {name: render.column_kind(name) for name in named} == named
    assert render.column_kind("score", [60, None, 45]) == render.NUMBER
    assert render.column_kind("vip", [True, False]) == render.CODE
    assert render.column_kind("note", ["a", 3]) == render.TEXT


def test_a_new_table_holds_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """A table nobody declared anything for (a new command's): the time and the amount
    stay whole or go whole, the body is cut with "…", columns go from the right, the id
    and the first text stay; a wide terminal shows everything."""
    import io

    from rich.cells import cell_len

    from crmcli.render import emit

    rows = [{"id": 7, "happened_at": "2026-11-20T02:00:00Z", "customer": "Nguyễn Văn An",
             "amount": 465000000, "currency": "VND", "type": "meeting",
             "body": "Demo of the new ERP module; wants a quote " * 3,
             "channel_note": "via the reseller"}]  # fmt: skip
    columns = ("id", "happened_at", "customer", "amount", "type", "body", "channel_note")

    def shown(width: int) -> str:
        monkeypatch.setenv("COLUMNS", str(width))
        out = io.StringIO()
        assert emit(rows, columns, "table", out=out) == 1
        assert max(cell_len(line) for line in out.getvalue().splitlines()) <= width
        return out.getvalue()

    narrow = shown(60)
    assert "2026-11-20 09:00" in narrow and "465,000,000 VND" in narrow
    assert "Nguyễn Văn An" in narrow and "│  7 │" in narrow
    assert "Type" not in narrow and "Body" not in narrow and "Channel" not in narrow
    middle = shown(100)
    assert "│ Demo of the" in middle and "…" in middle and "Channel note" in middle
    wide = shown(250)
    assert "wants a quote Demo of the new ERP module" in wide and "…" not in wide


def test_declared_priorities_and_kinds_win(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from crmcli.render import emit

    rows = [{"id": 1, "name": "Anna Schmidt", "city": "Berlin", "email": "anna@example.de",
             "tags": ["print"], "value": "DMY"}]  # fmt: skip
    monkeypatch.setenv("COLUMNS", "36")
    out = io.StringIO()
    emit(rows, ("id", "name", "city", "email", "tags"), "table", out=out, drop=("email", "city"))
    assert "print" in out.getvalue() and "Berlin" not in out.getvalue()
    assert "anna@" not in out.getvalue() and "Anna Schmidt" in out.getvalue()
    out = io.StringIO()
    emit(rows, ("id", "value"), "table", out=out, kinds={"value": "text"})
    assert "│ DMY   │" in out.getvalue()  # left-aligned text, not a right-aligned amount


@pytest.fixture(scope="session")
def owing_db(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo with invoices on its won deals, some partly paid, in every age."""
    import shutil

    from crmcli.core.money import invoices
    from crmcli.db import open_db

    db = tmp_path_factory.mktemp("owing") / "owing.db"
    shutil.copy(demo_db, db)
    conn = open_db(db, create=False)
    try:
        won = conn.query(
            "SELECT d.id, d.amount FROM deals d JOIN stages s ON s.id = d.stage_id "
            "WHERE s.kind = 'won' AND d.amount > 0 ORDER BY d.id"
        )
        with conn.write(["test", "invoices"]):
            for n, deal in enumerate(won):
                due = f"2026-{(n % 11) + 1:02d}-15"
                number = invoices.create(conn, deal["id"], deal["amount"], due,
                                         issued_on=f"2026-{(n % 11) + 1:02d}-01")  # fmt: skip
                if n % 3:
                    invoices.add_payment(conn, number, deal["amount"] // 3,
                                         at=f"2026-{(n % 11) + 1:02d}-20T03:00:00Z")  # fmt: skip
    finally:
        conn.close()
    return db


@pytest.mark.parametrize("width", WIDTHS)
def test_receivables_with_invoices_hold_at_every_width(owing_db: Path, width: int) -> None:
    from rich.cells import cell_len

    env = base_env(owing_db)
    args = ["report", "receivables"]
    code, lines, messages = in_pty(args, width, env)
    assert code == 0, "\n".join(lines) + messages
    done = subprocess.run([CRM, *args, "-f", "json"], capture_output=True, text=True, env=env,
                          timeout=60, check=True)  # fmt: skip
    document = json.loads(done.stdout)  # not `plain`: its cache holds the demo's report
    assert document["ageing"] and document["customers"] and document["collected"]
    assert not [line for line in lines if cell_len(line) > width]
    text = "\n".join(lines)
    assert "Owed at 2026-11-23 by days past due" in text and "█" in text
    broken = split_tokens(lines, set(tokens(document)))
    assert not broken, f"split across lines: {broken}\n{text}"
    assert not letter_per_line(lines), text
    if width >= 80:
        for heading in header_lines(lines):
            assert len(heading) == 1, text
