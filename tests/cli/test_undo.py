"""``crm undo``: every command that writes can be undone, exactly.

The central test walks the command tree of ``crmcli.cli.app``: every command is either in
WRITERS (with how to run it on the fixture) or in READ_ONLY (and proven not to write), so a
new command without undo coverage fails here.  Each writer runs on a rich database, then
``crm undo --yes``; every table (but the command log and the audit trail) and the search
index must be exactly as before.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import FIXED_NOW, TZ, dump, query

# number_sequences: the document counters, not audited on purpose (a number is never reused).
BOOKKEEPING = {
    "commands",
    "audit",
    "active_command",
    "migrations",
    "number_sequences",
    "search_paused",
}

# The rich fixture: customers with tags, interactions and a cadence, leads with tags and
# status history, deals with items and stage history (one won), a ticket thread, reminders
# (one recurring), a custom stage, settings.  Ids below refer to these rows.
FIXTURE: list[list[str]] = [
    ["config", "set", "country", "VN"],
    ["config", "set", "stale_lead_days", "21"],
    ["customer", "add", "Nguyễn Văn An", "--email", "an@example.vn", "--phone", "0912 345 678",
     "--company", "Huế Coffee", "--city", "Huế", "--tag", "vip", "--tag", "khách-quen",
     "--field", "size=L", "--note", "Thích cà phê [bold]sữa[/bold] 🚀"],
    ["customer", "add", "Trần Thị Bình", "--email", "binh@example.vn", "--tag", "vip",
     "--company", "Đà Nẵng Tech"],
    ["customer", "add", "Lê Đức", "--company", "Huế Coffee", "--email", "duc@example.vn",
     "--tag", "lead"],
    ["customer", "log", "1", "--type", "call", "Hỏi báo giá 20 laptop"],
    ["customer", "log", "1", "Gửi email xác nhận"],
    ["customer", "log", "3", "--type", "meeting", "Gặp ở Huế", "--next", "friday 9am"],
    ["customer", "edit", "1", "--cadence", "30d"],
    ["segment", "add", "Khách VIP Huế", "--tag", "vip", "--city", "huế"],
    ["lead", "add", "Võ Minh Tuấn", "--email", "tuan@example.vn", "--source", "event",
     "--score", "60", "--tag", "hot"],
    ["lead", "log", "1", "--type", "call", "Quan tâm phần mềm ERP"],
    ["lead", "status", "1", "contacted"],
    ["lead", "add", "Phạm Hoa", "--email", "binh@example.vn", "--source", "web"],
    ["deal", "add", "20 laptops", "-c", "1", "--amount", "450.000.000 VND", "--close",
     "2026-12-15"],
    ["deal", "item", "add", "1", "Laptop X1", "--qty", "20", "--price", "22.000.000 VND"],
    ["deal", "item", "add", "1", "Bảo hành", "--qty", "1", "--price", "10.000.000 VND"],
    ["deal", "move", "1", "qualified"],
    ["deal", "move", "1", "proposal"],
    ["deal", "add", "Support plan", "-c", "2", "--amount", "1200"],
    ["deal", "won", "2"],
    # Deal 2 (1,200.00 USD, won) in two invoices of 600.00; 500.00 paid on the first.
    ["invoice", "create", "2", "--installments", "2", "--every", "month"],
    ["payment", "add", "1", "500", "--method", "chuyển khoản"],
    ["deal", "stages", "add", "demo", "--probability", "40", "--after", "qualified"],
    ["ticket", "open", "1", "Laptop không khởi động", "--priority", "high"],
    ["ticket", "comment", "1", "Đã hỏi số serial"],
    ["ticket", "open", "2", "Hóa đơn sai"],
    ["ticket", "resolve", "2", "--note", "Đã sửa"],
    ["template", "add", "nhắc-nợ", "--channel", "email", "--kind", "transactional",
     "--subject", "Hóa đơn {{ invoice.number }}",
     "--body", "Chào {{ customer.first_name }} 👋, còn {{ invoice.owed }}."],
    ["template", "add", "tin", "--channel", "sms", "--kind", "transactional",
     "--body", "Chào {{ customer.first_name }}"],
    ["config", "set", "sms_command", "true"],  # accepts every SMS
    ["remind", "add", "Gọi lại cho An", "--at", "tomorrow 9am", "-c", "1"],
    ["remind", "add", "Báo cáo tuần", "--at", "monday 9am", "--every", "weekly"],
]  # fmt: skip

# The rich fixture plus quotes: quote 1 (open) of deal 1, and deal 3 with an item, unquoted.
QUOTES_FIXTURE: list[list[str]] = [
    *FIXTURE,
    ["quote", "create", "1", "--note", "Giá đã gồm VAT"],
    ["deal", "add", "Máy chủ", "-c", "3", "--amount", "0 VND"],
    ["deal", "item", "add", "3", "Máy chủ Dell", "--qty", "1", "--price", "80.000.000 VND"],
]  # fmt: skip

CUSTOMERS_CSV = (
    "name,email,city,tags\n"
    "Đặng Thu Hà,ha@example.vn,Hà Nội,mới\n"
    "Nguyễn Văn An,an@example.vn,Sài Gòn,\n"
    'Bùi Minh,minh@example.vn,,"vip,mới"\n'
)
LEADS_CSV = "name,email,source\nHồ Lan,lan@example.vn,web\nĐỗ Khoa,khoa@example.vn,event\n"
# A mailbox: one message from customer 1 and lead 2's shared address (binh@ is customer 2
# and lead 2), one from a stranger (a new lead with --new-leads).
MBOX = (
    "From an@example.vn Mon Nov 23 09:00:00 2026\n"
    "From: =?utf-8?b?Tmd1eeG7hW4gVsSDbiBBbg==?= <an@example.vn>\n"
    "To: shop@example.vn, Binh <binh@example.vn>\nSubject: =?utf-8?q?B=C3=A1o_gi=C3=A1?=\n"
    "Date: Mon, 23 Nov 2026 09:00:00 +0700\nMessage-ID: <m1@example.vn>\n\n"
    "Anh gửi lại báo giá.\n\n"
    "From lan@example.org Mon Nov 23 10:00:00 2026\n"
    "From: Lan <lan@example.org>\nTo: shop@example.vn\nSubject: Hi\n"
    "Date: Mon, 23 Nov 2026 10:00:00 +0700\nMessage-ID: <m2@example.org>\n\nPrice?\n"
)
DEALS_CSV = "Deal Name,customer_id,Amount,Deal Stage\nMáy chủ,1,5000,new\nBảo trì,2,300,proposal\n"

# Every command that writes, with one or more ways to run it on the fixture.
# "{customers}", "{leads}", "{deals}" stand for CSV files, "{backup}" for a new file.
WRITERS: dict[str, list[list[str]]] = {
    "segment add": [["segment", "add", "Mở", "--open-deals", "--consent", "email=yes"]],
    "segment edit": [["segment", "edit", "khách vip huế", "--age", "30-", "--clear", "city",
                      "--name", "VIP"]],
    "segment delete": [["segment", "delete", "1", "--yes"]],
    "customer add": [["customer", "add", "Đặng Thu Hà", "--email", "ha@example.vn",
                      "--tag", "mới", "--note", "[red]x[/red] 👋"]],
    "customer edit": [
        ["customer", "edit", "1", "--name", "An Nguyễn", "--add-tag", "gold", "--remove-tag",
         "vip", "--field", "size=M", "--unset", "phone", "--cadence", "2w"],
        ["customer", "edit", "2", "--city", "Đà Nẵng"],
        ["customer", "edit", "1", "2", "--consent", "email=yes", "--consent", "sms=no",
         "--consent-source", "phiếu đăng ký"],
    ],
    "customer unsubscribe": [["customer", "unsubscribe", "1", "--channel", "sms"]],
    "customer nps": [["customer", "nps", "1", "9", "--comment", "Rất hài lòng 👍"]],
    "customer delete": [["customer", "delete", "1", "--yes"]],
    "customer log": [["customer", "log", "1", "--type", "call", "Gọi lại", "--next",
                      "tomorrow 10am"]],
    "customer merge": [["customer", "merge", "1", "3", "--yes"],
                       ["customer", "merge", "3", "1", "--yes"]],
    "customer import": [["customer", "import", "{customers}", "--match", "email"]],
    "lead add": [["lead", "add", "Hồ Lan", "--email", "lan@example.vn", "--tag", "event"]],
    "lead edit": [["lead", "edit", "1", "--score", "80", "--add-tag", "vip", "--remove-tag",
                   "hot", "--company", "Huế Coffee"]],
    "lead delete": [["lead", "delete", "1", "--yes"]],
    "lead log": [["lead", "log", "1", "--type", "email", "Gửi báo giá", "--next", "in 3 days"]],
    "lead status": [["lead", "status", "1", "lost", "--reason", "Chọn nhà cung cấp khác"]],
    "lead convert": [
        ["lead", "convert", "1", "--deal", "ERP 20 seats", "--amount", "120.000.000 VND"],
        ["lead", "convert", "2"],  # same e-mail as customer 2: linked, fields filled
    ],
    "lead import": [["lead", "import", "{leads}"]],
    "deal import": [["deal", "import", "{deals}"]],
    "deal add": [["deal", "add", "Máy chiếu", "-c", "2", "--amount", "15.000.000 VND"]],
    "deal edit": [["deal", "edit", "1", "--title", "25 laptops", "--close", "2026-12-31",
                   "--note", "Giao trước Tết"]],
    "deal delete": [["deal", "delete", "1", "--yes"]],
    "deal move": [["deal", "move", "1", "negotiation"]],
    "deal won": [["deal", "won", "1", "--contract-end", "2027-12-31"]],
    "deal lost": [["deal", "lost", "1", "--reason", "Giá cao"]],
    "deal paid": [["deal", "paid", "2"]],
    "deal stages add": [["deal", "stages", "add", "pilot", "--probability", "60"]],
    "deal stages rename": [["deal", "stages", "rename", "proposal", "quote"]],
    "deal stages edit": [["deal", "stages", "edit", "proposal", "--probability", "45"]],
    "deal stages move": [["deal", "stages", "move", "negotiation", "--before", "proposal"]],
    "deal stages remove": [["deal", "stages", "remove", "proposal", "--to", "negotiation"],
                           ["deal", "stages", "remove", "demo"]],
    "deal item add": [["deal", "item", "add", "1", "Chuột", "--qty", "20", "--price",
                       "200.000 VND"]],
    "deal item remove": [["deal", "item", "remove", "2"]],
    "deal item edit": [
        ["deal", "item", "edit", "1", "--discount", "5%", "--tax", "10%", "--unit", "cái",
         "--supplier", "Phong Vũ", "--delivery", "2026-12-01"],
        ["deal", "item", "edit", "1", "2", "--price", "1.000.000 VND", "--unset", "unit"],
    ],
    "deal item delivered": [["deal", "item", "delivered", "1", "2", "--at", "yesterday"]],
    "ticket open": [["ticket", "open", "2", "Máy in kẹt giấy", "--priority", "urgent"]],
    "ticket comment": [["ticket", "comment", "1", "Khách gửi ảnh lỗi 📷"]],
    "ticket escalate": [["ticket", "escalate", "1", "--note", "cần kỹ sư"]],
    "ticket pending": [["ticket", "pending", "1"]],
    "ticket resolve": [["ticket", "resolve", "1", "--note", "Thay nguồn"]],
    "ticket close": [["ticket", "close", "2", "--satisfaction", "5"]],
    "ticket reopen": [["ticket", "reopen", "2", "--note", "Lỗi lại"]],
    "ticket edit": [["ticket", "edit", "1", "--priority", "urgent", "--due", "today 17:00"]],
    "ticket delete": [["ticket", "delete", "1", "--yes"]],
    "interaction edit": [
        ["interaction", "edit", "1", "--body", "Hỏi báo giá 30 laptop", "--type", "meeting",
         "--at", "yesterday 15:00"],
        ["interaction", "edit", "2", "4", "--type", "email"],
    ],
    "interaction delete": [["interaction", "delete", "3", "--yes"]],
    "remind add": [["remind", "add", "Gửi hợp đồng", "--at", "in 2 days", "--deal", "1"]],
    "remind done": [["remind", "done", "2"], ["remind", "done", "3"]],  # one-off, weekly
    "remind snooze": [["remind", "snooze", "2", "2h"]],
    "remind delete": [["remind", "delete", "3", "--yes"]],
    "config set": [["config", "set", "currency", "VND"], ["config", "set", "country", "US"]],
    "config unset": [["config", "unset", "country"]],
    "quote create": [["quote", "create", "3", "--valid-until", "in 10 days"]],
    "quote accept": [["quote", "accept", "Q-2026-0001"]],  # the deal is won
    "quote decline": [["quote", "decline", "1", "--reason", "Giá cao"]],
    "invoice create": [
        ["invoice", "create", "1", "--amount", "100.000.000 VND", "--note", "Đợt 1"],
        ["invoice", "create", "1", "--installments", "3", "--every", "2 weeks"],
    ],
    "invoice void": [["invoice", "void", "2", "--reason", "Xuất nhầm"]],
    "payment add": [["payment", "add", "1", "100"],  # settles invoice 1: paid
                    ["payment", "add", "INV-2026-0002", "50", "--at", "today 9am"]],
    "payment delete": [["payment", "delete", "1", "--yes"]],
    "template add": [["template", "add", "sinh-nhật", "--channel", "sms", "--kind",
                      "marketing", "--body", "Chúc mừng sinh nhật {{ customer.first_name }} 🎂"]],
    "template edit": [
        ["template", "edit", "nhắc-nợ", "--name", "Nhắc nợ", "--body", "Còn {{ invoice.owed }}"],
        ["template", "edit", "1", "--channel", "sms", "--subject", ""],
    ],
    "template delete": [["template", "delete", "nhắc-nợ", "--yes"]],
    # An SMS through a command that accepts it (`true`): the message's interaction and its
    # send-log row are one command each, undone like any other.
    "send": [["send", "tin", "--customer", "1"]],
    "mail import": [["mail", "import", "{mbox}", "--me", "shop@example.vn", "--new-leads"]],
    "demo": [["demo", "-f", "tsv"]],  # on a database with settings only: it refuses others
}  # fmt: skip
EMPTY_FIXTURE = {"demo"}

# Every command that must not write, with a way to run it.
READ_ONLY: dict[str, list[str]] = {
    "customer list": ["customer", "list", "--search", "an"],
    "segment list": ["segment", "list", "-f", "json"],
    "segment show": ["segment", "show", "Khách VIP Huế", "-f", "json"],
    "customer show": ["customer", "show", "1", "-f", "json"],
    "customer dupes": ["customer", "dupes"],
    "customer export": ["customer", "export", "-f", "csv"],
    "lead list": ["lead", "list"],
    "lead show": ["lead", "show", "1", "-f", "json"],
    "deal list": ["deal", "list"],
    "deal show": ["deal", "show", "1", "-f", "json"],
    "deal pipeline": ["deal", "pipeline", "-f", "tsv"],
    "deal stages": ["deal", "stages"],
    "deal item list": ["deal", "item", "list", "1"],
    "ticket list": ["ticket", "list"],
    "ticket show": ["ticket", "show", "1", "-f", "json"],
    "remind due": ["remind", "due"],
    "today": ["today", "-f", "json"],
    "interaction list": ["interaction", "list", "--search", "bao gia"],
    "interaction show": ["interaction", "show", "1", "2", "-f", "json"],
    "remind export": ["remind", "export", "--ics", "-"],
    "remind list": ["remind", "list", "--all"],
    "config list": ["config", "list"],
    "template list": ["template", "list", "-f", "json"],
    "template show": ["template", "show", "nhắc-nợ", "-f", "json"],
    "template preview": ["template", "preview", "nhắc-nợ", "-c", "2", "--invoice", "1"],
    "config get": ["config", "get", "country"],
    "completion": ["completion", "bash"],
    "history": ["history", "--limit", "0", "-f", "json"],
    "report pipeline": ["report", "pipeline"],
    "report forecast": ["report", "forecast"],
    "report sales": ["report", "sales"],
    "report leads": ["report", "leads"],
    "report customers": ["report", "customers"],
    "report tickets": ["report", "tickets"],
    "report activity": ["report", "activity"],
    "report receivables": ["report", "receivables", "-f", "json"],
    "report campaigns": ["report", "campaigns", "-f", "json"],
    "customer export-person": ["customer", "export-person", "1"],
    "quote list": ["quote", "list", "--status", "open,expired"],
    "quote show": ["quote", "show", "Q-2026-0001", "-f", "json"],
    "quote pdf": ["quote", "pdf", "1", "-o", "{pdf}"],
    "invoice list": ["invoice", "list", "-f", "json"],
    "invoice show": ["invoice", "show", "1", "INV-2026-0002", "-f", "json"],
    "payment list": ["payment", "list", "--customer", "2"],
    "backup": ["backup", "{backup}"],
    "doctor": ["doctor"],
}
# Commands that write but are not undone, and why.
NOT_UNDONE = {
    "customer forget": "erases a person for good: undo passes over it, never across it",
    "lead forget": "erases a person for good: undo passes over it, never across it",
    "restore": "replaces the whole file with a backup; the file it replaced is kept aside",
}
SPECIAL = {"undo"}  # tested on its own below

# What the search finds must not change either (the index is compared row by row too).
SEARCHES = [("customer", "nguyen"), ("customer", "huế"), ("customer", "laptop"), ("lead", "erp")]


def command_paths() -> Iterator[str]:
    """Every command of the CLI app (and every group that runs on its own, like
    `crm deal stages`), as 'group command'."""
    import typer

    from crmcli.cli import app

    def walk(command: Any, path: list[str]) -> Iterator[str]:
        ctx = typer.Context(command)
        if not hasattr(command, "list_commands"):
            yield " ".join(path)
            return
        if path and getattr(command, "invoke_without_command", False):
            yield " ".join(path)
        for name in command.list_commands(ctx):
            yield from walk(command.get_command(ctx, name), [*path, name])

    yield from walk(typer.main.get_command(app), [])


def invoke(db: Path, args: list[str], input: str | None = None) -> Any:
    """Run crm in-process on ``db``, with sys.argv as a shell would set it (the command log
    records it)."""
    from crmcli.cli import app

    saved = sys.argv
    sys.argv = ["crm", *args]
    try:
        return CliRunner().invoke(
            app, ["--db", str(db), *args], input=input, catch_exceptions=False
        )
    finally:
        sys.argv = saved


def build(path: Path, commands: list[list[str]]) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRM_NOW", FIXED_NOW)
        mp.setenv("TZ", TZ)
        mp.setenv("COLUMNS", "200")
        time.tzset()
        for args in commands:
            result = invoke(path, args)
            assert result.exit_code == 0, (args, result.stderr)
    time.tzset()
    assert not Path(f"{path}-wal").exists()  # closed cleanly: the file alone is the database
    return path


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("undo-fixtures")
    return {
        "rich": build(folder / "rich.db", FIXTURE),
        "empty": build(folder / "empty.db", FIXTURE[:2]),
        "quotes": build(folder / "quotes.db", QUOTES_FIXTURE),
    }


def tables(path: Path) -> list[tuple[object, ...]]:
    """Every row of every table but the command log and the audit trail."""
    return [row for row in dump(path) if row[0] not in BOOKKEEPING]


def search_index(path: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return [
            (name, *row)
            for name in ("customers_fts", "leads_fts")
            for row in conn.execute(f"SELECT rowid, * FROM {name} ORDER BY rowid")
        ]
    finally:
        conn.close()


def searches(path: Path) -> list[str]:
    found = []
    for group, term in SEARCHES:
        result = invoke(path, [group, "list", "--search", term, "-f", "ids"])
        assert result.exit_code == 0, result.stderr
        found.append(f"{group} {term}: {result.stdout.split()}")
    return found


def last_command(path: Path) -> tuple[Any, ...]:
    return query(path, "SELECT id, argv, undone_by FROM commands ORDER BY id DESC LIMIT 1")[0]


@pytest.fixture
def rich_db(templates: dict[str, Path], db_path: Path) -> Path:
    shutil.copyfile(templates["rich"], db_path)
    return db_path


def files(tmp_path: Path) -> dict[str, str]:
    made = {"backup": str(tmp_path / "backup.db"), "pdf": str(tmp_path / "quote.pdf")}
    for name, text in (("customers", CUSTOMERS_CSV), ("leads", LEADS_CSV), ("deals", DEALS_CSV)):
        path = tmp_path / f"{name}.csv"
        path.write_text(text, encoding="utf-8")
        made[name] = str(path)
    (tmp_path / "inbox.mbox").write_text(MBOX, encoding="utf-8")
    made["mbox"] = str(tmp_path / "inbox.mbox")
    return made


# -- the command tree ---------------------------------------------------------------------


def test_every_command_is_classified_as_writing_or_read_only() -> None:
    tree = set(command_paths())
    known = set(WRITERS) | set(READ_ONLY) | set(NOT_UNDONE) | SPECIAL
    unclassified = sorted(tree - known)
    assert not unclassified, (
        f"commands with no undo coverage: {unclassified}; add each to WRITERS (with how to "
        "run it) or to READ_ONLY in tests/cli/test_undo.py"
    )
    assert sorted(known - tree) == [], "WRITERS/READ_ONLY name commands that do not exist"
    assert not set(WRITERS) & set(READ_ONLY)


@pytest.mark.parametrize("name", sorted(READ_ONLY))
def test_read_only_commands_do_not_write(
    name: str, rich_db: Path, templates: dict[str, Path], tmp_path: Path
) -> None:
    if name == "quote pdf":
        pytest.importorskip("crmcli.core.money.quote_doc")  # the renderer
    if name.startswith("quote "):
        shutil.copyfile(templates["quotes"], rich_db)
    before = dump(rich_db)
    result = invoke(rich_db, [a.format(**files(tmp_path)) for a in READ_ONLY[name]])
    assert result.exit_code in (0, 1), result.stderr  # remind due: 1 when nothing is due
    assert "error" not in result.stderr
    assert dump(rich_db) == before  # not even a command row


WRITER_CASES = [
    pytest.param(name, i, id=f"{name}-{i}" if len(variants) > 1 else name)
    for name, variants in sorted(WRITERS.items())
    for i in range(len(variants))
]


@pytest.mark.parametrize(("name", "variant"), WRITER_CASES)
def test_every_writing_command_is_undone_exactly(
    name: str, variant: int, templates: dict[str, Path], db_path: Path, tmp_path: Path
) -> None:
    kind = "empty" if name in EMPTY_FIXTURE else "quotes" if name.startswith("quote ") else "rich"
    template = templates[kind]
    shutil.copyfile(template, db_path)
    args = [a.format(**files(tmp_path)) for a in WRITERS[name][variant]]
    before, index, found = tables(db_path), search_index(db_path), searches(db_path)

    ran = invoke(db_path, args)
    assert ran.exit_code == 0, ran.stderr
    command_id, argv, _ = last_command(db_path)
    assert json.loads(argv) == ["crm", *args]
    changed = query(db_path, "SELECT count(*) FROM audit WHERE command_id = ?", (command_id,))
    assert changed[0][0] > 0, f"{args} changed nothing: choose a run that writes"
    assert tables(db_path) != before

    undone = invoke(db_path, ["undo", "--yes"])
    assert undone.exit_code == 0, undone.stderr
    assert undone.stdout == ""
    assert undone.stderr.startswith(f"Undid `crm {' '.join(args[:2])}")

    assert tables(db_path) == before
    assert search_index(db_path) == index
    assert searches(db_path) == found
    undo_id = last_command(db_path)[0]
    assert query(db_path, "SELECT undone_by FROM commands WHERE id = ?", (command_id,)) == [
        (undo_id,)
    ]
    # The database is sound: no dangling references, FTS intact.
    assert query(db_path, "PRAGMA foreign_key_check") == []
    assert query(db_path, "PRAGMA integrity_check") == [("ok",)]


# -- undo on its own ----------------------------------------------------------------------

Run = Callable[..., Any]


@pytest.fixture
def run(rich_db: Path) -> Run:
    def call(*args: str, input: str | None = None) -> Any:
        return invoke(rich_db, list(args), input=input)

    return call


def test_undo_says_what_it_restored(run: Run, rich_db: Path) -> None:
    assert run("customer", "delete", "1", "--yes").exit_code == 0
    result = run("undo", "--yes")
    assert result.exit_code == 0
    assert result.stderr == (
        "Undid `crm customer delete 1 --yes` (2026-11-23 10:00): 1 customer, 1 deal, "
        "2 interactions, 2 tags, 2 line items, 3 stage changes, 1 ticket, 2 ticket events, "
        "1 reminder restored\n"
    )
    # Same ids and uids as before.
    assert query(rich_db, "SELECT id, name FROM customers WHERE id = 1") == [(1, "Nguyễn Văn An")]


def test_the_undo_is_a_command_with_its_own_audit_rows(run: Run, rich_db: Path) -> None:
    run("customer", "edit", "2", "--name", "Bình Trần")
    edit_id = last_command(rich_db)[0]
    run("undo", "--yes")
    undo_id, argv, _ = last_command(rich_db)
    assert json.loads(argv) == ["crm", "undo", "--yes"]
    rows = query(
        rich_db, "SELECT table_name, row_id, action, before, after FROM audit WHERE command_id = ?",
        (undo_id,),
    )  # fmt: skip
    assert [r[:3] for r in rows] == [("customers", 2, "update")]
    assert json.loads(rows[0][3])["name"] == "Bình Trần"
    assert json.loads(rows[0][4])["name"] == "Trần Thị Bình"
    assert query(rich_db, "SELECT undone_by FROM commands WHERE id = ?", (edit_id,)) == [(undo_id,)]


def test_undo_twice_undoes_the_command_before(run: Run, rich_db: Path) -> None:
    before = tables(rich_db)
    run("customer", "edit", "2", "--city", "Đà Nẵng")
    middle = tables(rich_db)
    run("customer", "log", "2", "Đã gọi")
    first = run("undo", "--yes")
    assert "Undid `crm customer log 2" in first.stderr
    assert tables(rich_db) == middle
    second = run("undo", "--yes")
    assert "Undid `crm customer edit 2 --city" in second.stderr
    assert tables(rich_db) == before
    # The fixture's commands come next, one by one.
    third = run("undo", "--yes")
    assert "Undid `crm remind add 'Báo cáo tuần'" in third.stderr


def test_undo_steps_reverts_several_commands_in_one_transaction(run: Run, rich_db: Path) -> None:
    before = tables(rich_db)
    run("customer", "edit", "1", "--name", "An 1")
    run("customer", "edit", "1", "--name", "An 2")  # the same row, three times
    run("customer", "delete", "1", "--yes")
    commands = query(rich_db, "SELECT count(*) FROM commands")[0][0]
    result = run("undo", "--steps", "3", "--yes")
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert [line.split("`")[1] for line in lines] == [
        "crm customer delete 1 --yes",
        "crm customer edit 1 --name 'An 2'",
        "crm customer edit 1 --name 'An 1'",
    ]
    assert tables(rich_db) == before
    # One undo command marks all three.
    assert query(rich_db, "SELECT count(*) FROM commands")[0][0] == commands + 1
    undo_id = last_command(rich_db)[0]
    assert query(rich_db, "SELECT count(*) FROM commands WHERE undone_by = ?", (undo_id,)) == [(3,)]


def test_undo_steps_more_than_there_are_is_refused(tmp_path: Path, db_path: Path) -> None:
    invoke(db_path, ["customer", "add", "An"])
    before = dump(db_path)
    result = invoke(db_path, ["undo", "--steps", "2", "--yes"])
    assert result.exit_code == 1
    assert "--steps 2: only 1 command can be undone" in result.stderr
    assert dump(db_path) == before


def test_nothing_to_undo(db_path: Path) -> None:
    invoke(db_path, ["config", "set", "country", "VN"])
    assert invoke(db_path, ["undo", "--yes"]).exit_code == 0
    before = dump(db_path)
    result = invoke(db_path, ["undo", "--yes"])
    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        "",
        "crm: error: nothing to undo\n",
    )
    assert dump(db_path) == before


def test_undo_without_a_database(db_path: Path) -> None:
    result = invoke(db_path, ["undo", "--yes"])
    assert result.exit_code == 1 and "no database at" in result.stderr
    assert not db_path.exists()


def test_commands_that_changed_nothing_are_skipped(run: Run, rich_db: Path) -> None:
    run("customer", "edit", "2", "--city", "Vinh")
    assert "already" in run("deal", "move", "1", "proposal").stderr  # a command, no change
    result = run("undo", "--yes")
    assert "Undid `crm customer edit 2 --city Vinh`" in result.stderr


def test_refused_when_a_later_command_changed_the_same_rows(run: Run, rich_db: Path) -> None:
    run("customer", "edit", "2", "--city", "Vinh")
    edit_id = last_command(rich_db)[0]
    run("customer", "edit", "2", "--company", "Vinh Co")
    later_id = last_command(rich_db)[0]
    before = dump(rich_db)
    result = run("undo", "--command", str(edit_id), "--yes")
    assert result.exit_code == 1
    assert result.stderr == (
        f"crm: error: cannot undo `crm customer edit 2 --city Vinh` (command {edit_id}): "
        f"customer 2 was changed later by `crm customer edit 2 --company 'Vinh Co'` "
        f"(command {later_id}); undo that first (crm undo --command {later_id})\n"
    )
    assert dump(rich_db) == before
    # Once the later one is undone, the earlier one can be.
    assert run("undo", "--command", str(later_id), "--yes").exit_code == 0
    assert run("undo", "--command", str(edit_id), "--yes").exit_code == 0


def test_refused_when_a_later_row_depends_on_a_row_it_would_remove(run: Run, rich_db: Path) -> None:
    """Undoing an add while a later command logged an interaction with the new customer
    would delete that interaction too (a cascade): refused."""
    run("customer", "add", "Hà")
    add_id = last_command(rich_db)[0]
    new_id = query(rich_db, "SELECT max(id) FROM customers")[0][0]
    run("customer", "log", str(new_id), "Đã gọi")
    before = dump(rich_db)
    result = run("undo", "--command", str(add_id), "--yes")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"crm: error: cannot undo `crm customer add 'Hà'` (command {add_id}): it would also "
        "delete interaction"
    )
    assert dump(rich_db) == before


def test_refused_when_the_rows_were_changed_outside_crm(run: Run, rich_db: Path) -> None:
    run("customer", "edit", "2", "--city", "Vinh")
    conn = sqlite3.connect(rich_db)
    with conn:
        conn.execute("UPDATE customers SET city = 'Huế' WHERE id = 2")  # audited, no command
    conn.close()
    before = dump(rich_db)
    result = run("undo", "--yes")
    assert result.exit_code == 1
    assert "customer 2 was changed later outside crm" in result.stderr
    assert dump(rich_db) == before


def test_writes_outside_crm_are_never_undone(db_path: Path) -> None:
    invoke(db_path, ["customer", "add", "An"])
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute(
            "INSERT INTO customers (uid, name, fields, created_at, updated_at) "
            "VALUES ('u-1', 'Outside', '{}', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"
        )
    conn.close()
    result = invoke(db_path, ["undo", "--yes"])
    assert result.exit_code == 0
    assert "Undid `crm customer add An`" in result.stderr
    assert query(db_path, "SELECT name FROM customers") == [("Outside",)]
    assert invoke(db_path, ["undo", "--yes"]).stderr == "crm: error: nothing to undo\n"


def test_undo_command_checks(run: Run, rich_db: Path) -> None:
    assert run("undo", "--command", "999", "--yes").stderr == "crm: error: no command 999\n"
    run("customer", "edit", "2", "--city", "Vinh")
    edit_id = last_command(rich_db)[0]
    run("undo", "--yes")
    undo_id = last_command(rich_db)[0]
    again = run("undo", "--command", str(edit_id), "--yes")
    assert again.exit_code == 1
    assert f"was already undone by command {undo_id}" in again.stderr
    redo = run("undo", "--command", str(undo_id), "--yes")
    assert redo.exit_code == 1 and "is an undo" in redo.stderr
    both = run("undo", "--command", "1", "--steps", "2", "--yes")
    assert both.exit_code == 2 and "--steps or --command" in both.stderr
    zero = run("undo", "--steps", "0", "--yes")
    assert zero.exit_code == 2


def test_undo_of_an_older_independent_command(run: Run, rich_db: Path) -> None:
    """--command reverts one older command when nothing later touched its rows: the
    customer deleted an hour ago comes back, later unrelated work stays."""
    run("customer", "delete", "3", "--yes")
    delete_id = last_command(rich_db)[0]
    run("customer", "edit", "2", "--city", "Vinh")
    result = run("undo", "--command", str(delete_id), "--yes")
    assert result.exit_code == 0, result.stderr
    assert query(rich_db, "SELECT name FROM customers WHERE id = 3") == [("Lê Đức",)]
    assert query(rich_db, "SELECT city FROM customers WHERE id = 2") == [("Vinh",)]
    # The next plain undo takes the edit, then skips the delete (already undone).
    assert "Undid `crm customer edit 2" in run("undo", "--yes").stderr
    assert "Undid `crm remind add 'Báo cáo tuần'" in run("undo", "--yes").stderr


def test_dry_run_changes_nothing(run: Run, rich_db: Path) -> None:
    run("customer", "merge", "1", "3", "--yes")
    before = dump(rich_db)
    result = run("undo", "--dry-run")
    assert result.exit_code == 0
    assert result.stderr.startswith("Would undo `crm customer merge 1 3 --yes` (2026-11-23 10:00)")
    assert "1 customer" in result.stderr and "restored" in result.stderr
    assert result.stderr.endswith("Nothing changed (dry run).\n")
    assert dump(rich_db) == before


def test_off_a_terminal_undo_needs_yes(run: Run, rich_db: Path) -> None:
    run("customer", "delete", "2", "--yes")
    before = dump(rich_db)
    result = run("undo")
    assert result.exit_code == 2
    assert "To undo: `crm customer delete 2 --yes`" in result.stderr
    assert "refusing without --yes (not a terminal)" in result.stderr
    assert dump(rich_db) == before


def test_on_a_terminal_undo_asks(run: Run, rich_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Like delete and merge, undo asks (options.confirm: on a terminal a question, off it
    --yes); the plan is shown first, and the prompt comes before the transaction."""
    import typer

    from crmcli.cli import history

    run("customer", "delete", "2", "--yes")
    before = dump(rich_db)
    asked: list[str] = []

    def no(question: str, *, yes: bool) -> None:
        asked.append(question)
        assert not yes
        raise typer.Exit(1)

    monkeypatch.setattr(history, "confirm", no)
    result = run("undo")
    assert result.exit_code == 1
    assert asked == ["Undo `crm customer delete 2 --yes`?"]
    assert dump(rich_db) == before
    monkeypatch.setattr(history, "confirm", lambda question, *, yes: None)
    assert run("undo").exit_code == 0
    assert query(rich_db, "SELECT count(*) FROM customers WHERE id = 2") == [(1,)]


def test_undo_of_a_merge_restores_both_customers(run: Run, rich_db: Path) -> None:
    before, index = tables(rich_db), search_index(rich_db)
    assert run("customer", "merge", "1", "3", "--yes").exit_code == 0
    assert query(rich_db, "SELECT count(*) FROM customers WHERE id = 3") == [(0,)]
    result = run("undo", "--yes")
    # Customer 3's reminder moved to customer 1 with the merge: it moves back.
    assert result.stderr == (
        "Undid `crm customer merge 1 3 --yes` (2026-11-23 10:00): 1 customer, 1 tag "
        "restored; 1 tag removed; 1 customer, 1 interaction, 1 reminder changed back\n"
    )
    assert tables(rich_db) == before and search_index(rich_db) == index
    shown = json.loads(run("customer", "show", "3", "-f", "json").stdout)
    assert [i["body"] for i in shown["interactions"]] == ["Gặp ở Huế"]


def test_undo_of_a_lead_conversion(run: Run, rich_db: Path) -> None:
    before, index = tables(rich_db), search_index(rich_db)
    converted = run("lead", "convert", "1", "--deal", "ERP", "--amount", "1000")
    assert converted.exit_code == 0
    assert converted.stdout == "customer 4\ndeal 3\n"
    result = run("undo", "--yes")
    assert result.exit_code == 0
    assert "1 customer, 1 deal" in result.stderr and "removed" in result.stderr
    assert "1 lead, 1 interaction changed back" in result.stderr
    assert tables(rich_db) == before and search_index(rich_db) == index
    lead = json.loads(run("lead", "show", "1", "-f", "json").stdout)
    assert lead["status"] == "contacted" and lead["customer_id"] is None


def test_undo_of_config_changes(run: Run, rich_db: Path) -> None:
    run("config", "set", "currency", "VND")
    run("config", "set", "country", "US")
    run("config", "unset", "stale_lead_days")
    assert run("undo", "--steps", "3", "--yes").exit_code == 0
    assert run("config", "get", "currency").stdout == "USD\n"
    assert run("config", "get", "country").stdout == "VN\n"
    assert run("config", "get", "stale_lead_days").stdout == "21\n"


def test_undo_of_an_import_of_5000_rows_is_set_based(
    rich_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = "".join(
        f"Khách {i},k{i}@example.vn,{'Huế' if i % 2 else 'Hà Nội'},{'vip' if i % 3 else ''}\n"
        for i in range(5000)
    )
    source = tmp_path / "many.csv"
    source.write_text("name,email,city,tags\n" + rows, encoding="utf-8")
    before, index = tables(rich_db), search_index(rich_db)
    imported = invoke(rich_db, ["customer", "import", str(source)])
    assert imported.exit_code == 0, imported.stderr
    assert query(rich_db, "SELECT count(*) FROM customers")[0][0] == 5003

    # The statements the undo runs, with their bound values (triggers show as the statement
    # that fired them): set-based, a handful per table; one per row would be thousands.
    from crmcli import db as dbmod

    statements: set[str] = set()
    real_open = dbmod.open_db

    def traced(path: Path, *, create: bool) -> Any:
        database = real_open(path, create=create)
        database.conn.set_trace_callback(statements.add)
        return database

    monkeypatch.setattr(dbmod, "open_db", traced)
    started = time.perf_counter()
    result = invoke(rich_db, ["undo", "--yes"])
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.stderr
    assert "5000 customers, 3333 tags removed" in result.stderr
    assert len(statements) < 100, sorted(statements)[:20]
    print(f"undo of 5000 imported customers: {elapsed:.2f} s, {len(statements)} statements")
    assert tables(rich_db) == before and search_index(rich_db) == index


# -- the schema keeps undo possible -------------------------------------------------------


def test_every_table_is_audited_with_every_column(rich_db: Path) -> None:
    """Undo restores rows from the audit images: every table but the bookkeeping and the
    search index has the three triggers, their images carry every column, and undo knows
    the table (its entity and its place among parents and children)."""
    import re

    from crmcli.core.history import TABLES
    from crmcli.text import CUSTOMER_SORT_KEYS, LEAD_SORT_KEYS

    names = [
        r[0]
        for r in query(
            rich_db,
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' "
            "AND name NOT GLOB '*_fts*'",
        )
    ]
    triggers = dict(query(rich_db, "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))
    audited = sorted(set(names) - BOOKKEEPING)
    assert audited == sorted(TABLES)
    # The sort keys are derived from the text: undo computes them again instead.
    derived = {"customers": set(CUSTOMER_SORT_KEYS), "leads": set(LEAD_SORT_KEYS)}
    for name in audited:
        columns = [
            r[1]
            for r in query(rich_db, f"PRAGMA table_info({name})")
            if r[1] not in derived.get(name, ())
        ]
        for action, alias in (("insert", "new"), ("update", "old"), ("delete", "old")):
            sql = triggers[f"{name}_audit_{action}"]
            for image in re.findall(r"json_object\(([^)]*)\)", sql):
                imaged = re.findall(r"'(\w+)', (?:old|new)\.(\w+)", image)
                assert [a for a, _ in imaged] == [b for _, b in imaged]
                assert sorted(a for a, _ in imaged) == sorted(columns), (name, action)
            assert f"{alias}." in sql
    fts = [n for n in triggers if "_fts" in n.split("_audit_")[0] and "_audit_" in n]
    assert fts == []  # the search index follows the base tables through their triggers


def test_undo_never_crosses_a_forget(run: Run, rich_db: Path) -> None:
    """A command that wrote rows of a person forgotten later is refused, before anything
    changes, naming the forget; commands about others, older or newer, are undone."""
    run("customer", "edit", "2", "--title", "Giám đốc")
    edit_2 = last_command(rich_db)[0]
    run("customer", "edit", "1", "--city", "Vinh")
    edit_1 = last_command(rich_db)[0]
    forgot = run("customer", "forget", "2", "--yes")
    assert forgot.exit_code == 0, forgot.stderr
    forget_id = last_command(rich_db)[0]
    run("customer", "edit", "3", "--city", "Huế")
    kept = query(rich_db, "SELECT id, amount, stage_id FROM deals WHERE customer_id = 2")
    assert kept and query(rich_db, "SELECT id FROM tickets WHERE customer_id = 2")
    before = dump(rich_db)
    refusal = (
        f"crm: error: cannot undo command {edit_2} (customer edit 2 --title '(forgotten)'): "
        f"customer 2 was forgotten later by command {forget_id}; nothing was undone\n"
    )
    # Many steps at once: refused as a whole, nothing undone.
    result = run("undo", "--steps", "15", "--yes")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == refusal
    assert dump(rich_db) == before
    # The one command by its id; an older command of the fixture that made their rows.
    result = run("undo", "--command", str(edit_2), "--yes")
    assert (result.exit_code, result.stderr) == (1, refusal)
    fixture_add = query(rich_db, "SELECT min(command_id) FROM audit WHERE table_name = "
                        "'customers' AND row_id = 2")[0][0]  # fmt: skip
    result = run("undo", "--command", str(fixture_add), "--yes", "--dry-run")
    assert result.exit_code == 1
    assert f"customer 2 was forgotten later by command {forget_id}" in result.stderr
    assert dump(rich_db) == before
    # After the forget, then before it: other people's commands are undone as usual.
    after = run("undo", "--yes")
    assert after.exit_code == 0, after.stderr
    assert after.stderr.startswith("Undid `crm customer edit 3 --city")
    older = run("undo", "--yes")
    assert older.exit_code == 0, older.stderr
    undid, left = older.stderr.splitlines()
    assert undid.startswith("Undid `crm customer edit 1 --city Vinh`")
    assert left == (
        f"Left `crm customer forget 2` (command {forget_id}) as it is: it cannot be undone"
    )
    assert query(rich_db, "SELECT undone_by IS NOT NULL FROM commands WHERE id = ?",
                 (edit_1,)) == [(1,)]  # fmt: skip
    # Next in line is the forgotten person's edit: refused, and nothing comes back.
    again = run("undo", "--yes")
    assert (again.exit_code, again.stderr) == (1, refusal)
    assert query(rich_db, "SELECT id, amount, stage_id FROM deals WHERE customer_id = 2") == kept
    assert "Trần Thị Bình" not in repr(dump(rich_db))
    refused = run("undo", "--command", str(forget_id), "--yes")
    assert refused.exit_code == 1
    assert "cannot be undone: forgetting erases the data for good" in refused.stderr


def test_a_lead_forget_blocks_undo_of_its_commands(run: Run, rich_db: Path) -> None:
    run("lead", "edit", "2", "--company", "Hoa Sen")
    edit = last_command(rich_db)[0]
    assert run("lead", "forget", "2", "--yes").exit_code == 0
    forget_id = last_command(rich_db)[0]
    before = dump(rich_db)
    result = run("undo", "--yes")
    assert result.exit_code == 1
    assert result.stderr == (
        f"crm: error: cannot undo command {edit} (lead edit 2 --company '(forgotten)'): "
        f"lead 2 was forgotten later by command {forget_id}; nothing was undone\n"
    )
    assert dump(rich_db) == before


def test_refused_when_a_restored_row_would_point_at_a_row_deleted_later(
    run: Run, rich_db: Path
) -> None:
    """Deal 2 comes back only with its customer: customer 2 was deleted later (with no row
    in common), so the foreign key check at the commit refuses it."""
    run("deal", "delete", "2", "--yes")
    delete_id = last_command(rich_db)[0]
    run("customer", "delete", "2", "--yes")
    before = dump(rich_db)
    result = run("undo", "--command", str(delete_id), "--yes")
    assert result.exit_code == 1
    assert result.stderr == (
        f"crm: error: cannot undo `crm deal delete 2 --yes` (command {delete_id}): the rows it "
        "would restore clash with later changes (FOREIGN KEY constraint failed); nothing was "
        "changed\n"
    )
    assert dump(rich_db) == before


def test_refused_when_another_process_wrote_after_the_plan(rich_db: Path) -> None:
    """The plan shown before the question is checked again inside the transaction."""
    from crmcli.core import history
    from crmcli.db import open_db

    invoke(rich_db, ["customer", "edit", "2", "--city", "Vinh"])
    db = open_db(rich_db, create=False)
    try:
        shown = [s.command_id for s in history.plan(db)]
        invoke(rich_db, ["customer", "edit", "1", "--city", "Vinh"])  # meanwhile
        before = dump(rich_db)
        with pytest.raises(history.UndoRefused, match="the history changed"):
            history.undo(db, expected=shown)
        assert dump(rich_db) == before
    finally:
        db.close()


def test_a_command_recorded_without_arguments_is_still_undoable(crm, db_path) -> None:
    """argv as short as ["crm"] (e.g. a command run through an embedding program) must not
    look irreversible: the forget check compares missing elements as NULL."""
    from crmcli.db import open_db

    assert crm("customer", "add", "Nguyễn Văn An").exit_code == 0
    database = open_db(db_path, create=False)
    try:
        with database.write(["crm"]):
            database.execute("INSERT INTO settings (key, value) VALUES ('currency', 'VND')")
    finally:
        database.close()
    result = crm("undo", "--yes")
    assert result.exit_code == 0, result.stderr
    assert crm("config", "get", "currency").stdout == "USD\n"
