"""crm customer export-person, crm customer forget, crm lead forget."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import crm_bin, dump

NAME = "Phạm Thị Hồng Nhung"
EMAIL = "nhung.pham@example.vn"
OLD_EMAIL = "hongnhung@example.vn"
PHONE_TYPED = "+84 913 999 111"
PHONE = "+84913999111"
NOTE = "Thích hoa sen trắng"
BODY = "Gọi cho chị Nhung về hợp đồng bảo trì"
SUBJECT = "Nhung không đăng nhập được"
COMMENT = "Đã gửi lại mật khẩu cho Nhung"
REMINDER = "Gửi quà sinh nhật chị Nhung"
FIELD = "zalo-nhung-8899"
DUPE_NAME = "Phạm Hồng Nhung"
DUPE_EMAIL = "nhung.ph.work@example.vn"
INVOICE_NOTE = "Hóa đơn bảo trì cho chị Nhung"
PAYMENT_NOTE = "Nhung chuyển khoản từ Vietcombank"
SECRETS = (NAME, EMAIL, OLD_EMAIL, PHONE, PHONE_TYPED, NOTE, BODY, SUBJECT, COMMENT, REMINDER,
           FIELD, DUPE_NAME, DUPE_EMAIL, INVOICE_NOTE, PAYMENT_NOTE)  # fmt: skip


def ok(result) -> str:
    assert result.exit_code == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def person(crm, db_path: Path) -> dict[str, int]:
    """A customer with everything a person can have, among the demo customers."""
    ok(crm("demo", "-f", "tsv"))
    lead = int(ok(crm("lead", "add", NAME, "--email", OLD_EMAIL, "--source", "event")))
    ok(crm("lead", "log", str(lead), "--type", "call", "Gặp Nhung ở hội chợ"))
    converted = ok(crm("lead", "convert", str(lead), "--deal", "Bảo trì cho Nhung",
                       "--amount", "1200"))  # fmt: skip
    cid = int(converted.splitlines()[0].split()[1])
    deal = int(converted.splitlines()[1].split()[1])
    ok(crm("customer", "edit", str(cid), "--email", EMAIL, "--phone", PHONE_TYPED,
           "--note", NOTE, "--field", f"zalo={FIELD}", "--add-tag", "vip",
           "--birthday", "1990-05-17", "--city", "Đà Nẵng"))  # fmt: skip
    ok(crm("customer", "log", str(cid), "--type", "call", BODY, "--next", "tomorrow 9am"))
    ok(crm("deal", "item", "add", str(deal), "Gói bảo trì", "--qty", "2", "--price", "600"))
    ok(crm("deal", "move", str(deal), "proposal"))
    invoice = int(ok(crm("invoice", "create", str(deal), "--amount", "400",
                         "--note", INVOICE_NOTE)))  # fmt: skip
    ok(crm("payment", "add", str(invoice), "150", "--note", PAYMENT_NOTE))
    ticket = int(ok(crm("ticket", "open", str(cid), SUBJECT, "--priority", "high")))
    ok(crm("ticket", "comment", str(ticket), COMMENT))
    ok(crm("remind", "add", REMINDER, "--at", "next monday", "--customer", str(cid)))
    # A duplicate, merged into the customer: the same person.
    dupe = int(ok(crm("customer", "add", DUPE_NAME, "--email", DUPE_EMAIL)))
    ok(crm("customer", "log", str(dupe), "Nhung hỏi giá"))
    ok(crm("customer", "merge", str(cid), str(dupe), "--yes"))
    return {"customer": cid, "lead": lead, "deal": deal, "ticket": ticket, "dupe": dupe}


def raw_bytes(db_path: Path) -> bytes:
    data = db_path.read_bytes()
    wal = Path(f"{db_path}-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


def others(db_path: Path, cid: int) -> list[tuple]:
    """Every customer row but the forgotten one, with tags."""
    conn = sqlite3.connect(db_path)
    try:
        rows = conn.execute("SELECT * FROM customers WHERE id <> ? ORDER BY id", (cid,)).fetchall()
        tags = conn.execute(
            "SELECT * FROM customer_tags WHERE customer_id <> ? ORDER BY 1, 2", (cid,)
        ).fetchall()
        return rows + tags
    finally:
        conn.close()


def test_export_person_holds_everything(crm, person, tmp_path: Path) -> None:
    cid = person["customer"]
    doc = json.loads(ok(crm("customer", "export-person", str(cid))))
    assert doc["format"] == "crmcli person export"
    customer = doc["customer"]
    assert (customer["name"], customer["email"], customer["phone"]) == (NAME, EMAIL, PHONE)
    assert customer["tags"] == ["vip"] and customer["fields"]["zalo"] == FIELD
    assert customer["fields"]["email_2"] == DUPE_EMAIL  # kept by the merge
    assert doc["merged_customer_ids"] == [person["dupe"]]
    bodies = {i["body"] for i in doc["interactions"]}
    assert {BODY, "Gặp Nhung ở hội chợ", "Nhung hỏi giá"} <= bodies
    (deal,) = doc["deals"]
    assert deal["id"] == person["deal"] and deal["stage"] == "proposal"
    assert deal["items"][0]["product"] == "Gói bảo trì"
    assert [h["to_stage"] for h in deal["stage_history"]][-1] == "proposal"
    (invoice,) = doc["invoices"]
    assert (invoice["deal_id"], invoice["amount"], invoice["note"]) == (deal["id"], 40000,
                                                                        INVOICE_NOTE)  # fmt: skip
    assert [(p["amount"], p["note"]) for p in invoice["payments"]] == [(15000, PAYMENT_NOTE)]
    (ticket,) = doc["tickets"]
    assert ticket["subject"] == SUBJECT
    assert COMMENT in [e["body"] for e in ticket["events"]]
    texts = {r["text"] for r in doc["reminders"]}
    assert REMINDER in texts and any(t.startswith("Follow up") for t in texts)
    (lead,) = doc["leads"]
    assert lead["id"] == person["lead"] and lead["email"] == OLD_EMAIL
    assert lead["status_changes"][-1]["to_status"] == "converted"
    history = doc["history"]
    tables = {h["table"] for h in history}
    assert {"customers", "customer_tags", "leads", "interactions", "deals", "deal_items",
            "tickets", "ticket_events", "reminders", "invoices", "payments"} <= tables  # fmt: skip
    added = [h for h in history if h["table"] == "customers" and h["action"] == "insert"]
    assert {h["after"]["name"] for h in added} >= {NAME, DUPE_NAME}
    assert all(h["command"][0] == "crm" for h in history if h["command"])
    # To a file: 0600, atomic, never over an existing file without --force.
    out = tmp_path / "nhung.json"
    result = crm("customer", "export-person", str(cid), "-o", str(out))
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(out.read_text("utf-8"))["customer"]["name"] == NAME
    assert out.stat().st_mode & 0o777 == 0o600
    again = crm("customer", "export-person", str(cid), "-o", str(out))
    assert again.exit_code == 1 and "--force" in again.stderr
    assert crm("customer", "export-person", str(cid), "-o", str(out), "--force").exit_code == 0
    missing = crm("customer", "export-person", "999")
    assert (missing.exit_code, missing.stderr) == (1, "crm: error: no customer 999\n")


def test_forget_erases_every_byte_and_keeps_the_figures(crm, person, db_path: Path) -> None:
    cid = person["customer"]
    assert all(s.encode() in raw_bytes(db_path) for s in (NAME, EMAIL, PHONE, NOTE))
    pipeline = ok(crm("deal", "pipeline", "-f", "json"))
    deals_before = json.loads(ok(crm("deal", "list", "-f", "json")))
    invoices_before = json.loads(ok(crm("invoice", "list", "-f", "json")))
    others_before = others(db_path, cid)
    counts_before = table_counts(db_path)

    refused = crm("customer", "forget", str(cid))  # not a terminal, no --yes
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    assert "cannot be undone" in refused.stderr
    assert others(db_path, cid) == others_before and NAME.encode() in raw_bytes(db_path)

    result = crm("customer", "forget", str(cid), "--yes")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert f"Forgot customer {cid}" in result.stderr

    data = raw_bytes(db_path)
    for secret in SECRETS:
        assert secret.encode("utf-8") not in data, secret
    # Other people, the figures and the number of records are as they were.
    assert others(db_path, cid) == others_before
    assert ok(crm("deal", "pipeline", "-f", "json")) == pipeline
    deals_after = json.loads(ok(crm("deal", "list", "-f", "json")))
    strip = ("title", "updated_at", "customer", "customer_uid", "customer_email")
    assert [{k: v for k, v in d.items() if k not in strip} for d in deals_after] == [
        {k: v for k, v in d.items() if k not in strip} for d in deals_before
    ]
    # Invoices keep their figures, dates and statuses; number, note and names are erased.
    invoices_after = json.loads(ok(crm("invoice", "list", "-f", "json")))
    strip = ("number", "note", "updated_at", "customer", "deal")
    assert [{k: v for k, v in i.items() if k not in strip} for i in invoices_after] == [
        {k: v for k, v in i.items() if k not in strip} for i in invoices_before
    ]
    assert shown_owes(crm, cid) == [{"currency": "USD", "amount": 25000}]
    counts_after = table_counts(db_path)
    assert counts_after.pop("customer_tags") == counts_before.pop("customer_tags") - 1
    audit_before, audit_after = counts_before.pop("audit"), counts_after.pop("audit")
    assert audit_after > 0 and audit_before > 0
    assert counts_after.pop("commands") == counts_before.pop("commands") + 1
    assert counts_after == counts_before
    shown = json.loads(ok(crm("customer", "show", str(cid), "-f", "json")))
    assert shown["name"] == f"forgotten customer {cid}"
    assert (shown["email"], shown["phone"], shown["notes"], shown["tags"]) == (None, None, None, [])
    assert (shown["city"], shown["country"], shown["source"], shown["birthday"]) == (None,) * 4
    assert shown["interactions"] and all(i["body"] == "" for i in shown["interactions"])
    assert shown["deals"][0]["title"] == f"forgotten deal {person['deal']}"
    assert shown["tickets"][0]["subject"] == f"forgotten ticket {person['ticket']}"
    assert ok(crm("customer", "list", "--search", "nhung", "-f", "ids")) == ""
    assert ok(crm("lead", "list", "--search", "nhung", "-f", "ids")) == ""
    assert crm("doctor").exit_code == 0
    # The forget itself is recorded, without personal data.
    conn = sqlite3.connect(db_path)
    argv = conn.execute("SELECT argv FROM commands ORDER BY id DESC LIMIT 1").fetchone()[0]
    conn.close()
    assert json.loads(argv) == ["crm", "customer", "forget", str(cid)]


def shown_owes(crm, cid: int) -> list[dict[str, object]]:
    return list(json.loads(ok(crm("customer", "show", str(cid), "-f", "json")))["owes"])


def table_counts(db_path: Path) -> dict[str, int]:
    conn = sqlite3.connect(db_path)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT GLOB '*_fts*'"
        )]  # fmt: skip
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    finally:
        conn.close()


def test_forget_unknown_and_mentions_elsewhere(crm, db_path: Path) -> None:
    ok(crm("customer", "add", "Khách khác"))
    missing = crm("customer", "forget", "42", "--yes")
    assert (missing.exit_code, missing.stderr) == (1, "crm: error: no customer 42\n")
    cid = ok(crm("customer", "add", NAME, "--email", EMAIL))
    other = ok(crm("customer", "add", "Lê Văn Tám", "--note", f"Bạn của {NAME}"))
    before = others(db_path, int(cid))
    result = crm("customer", "forget", cid, "--yes")
    assert result.exit_code == 0, result.stderr
    # Another customer's note is theirs: left alone, but the user is told.
    assert f"customer {other}" in result.stderr and "Still mentioned" in result.stderr
    assert others(db_path, int(cid)) == before
    assert EMAIL.encode() not in raw_bytes(db_path)


def test_lead_forget(crm, db_path: Path) -> None:
    keep = ok(crm("lead", "add", "Đỗ Minh Khang", "--email", "khang@example.vn"))
    lid = ok(crm("lead", "add", NAME, "--email", EMAIL, "--phone", PHONE_TYPED,
                 "--source", "web", "--score", "70", "--tag", "hot", "--note", NOTE))  # fmt: skip
    ok(crm("lead", "log", lid, BODY, "--next", "friday 10am"))
    ok(crm("lead", "status", lid, "qualified"))
    before = json.loads(ok(crm("lead", "show", keep, "-f", "json")))
    result = crm("lead", "forget", lid)
    assert result.exit_code == 2 and "cannot be undone" in result.stderr
    result = crm("lead", "forget", lid, "--yes")
    assert result.exit_code == 0, result.stderr
    data = raw_bytes(db_path)
    for secret in (NAME, EMAIL, PHONE, PHONE_TYPED, NOTE, BODY):
        assert secret.encode() not in data, secret
    shown = json.loads(ok(crm("lead", "show", lid, "-f", "json")))
    assert shown["name"] == f"forgotten lead {lid}"
    assert (shown["status"], shown["source"], shown["score"]) == ("qualified", "web", 70)
    assert shown["email"] is None and shown["tags"] == []
    assert json.loads(ok(crm("lead", "show", keep, "-f", "json"))) == before
    assert crm("lead", "forget", "99", "--yes").exit_code == 1
    assert crm("doctor").exit_code == 0


def test_forget_a_converted_lead_points_at_its_customer(crm, db_path: Path) -> None:
    lid = ok(crm("lead", "add", NAME, "--email", EMAIL))
    cid = ok(crm("lead", "convert", lid)).split()[1]
    result = crm("lead", "forget", lid, "--yes")
    assert result.exit_code == 0, result.stderr
    assert f"crm customer forget {cid}" in result.stderr
    assert ok(crm("customer", "show", cid, "-f", "json"))  # the customer is kept


def test_redact_argv() -> None:
    from crmcli.core.privacy import REDACTED, redact_argv

    r = REDACTED
    assert redact_argv(["crm", "customer", "add", NAME, "--email", EMAIL, "--tag=vip"]) == [
        "crm", "customer", "add", r, "--email", r, f"--tag={r}"
    ]  # fmt: skip
    assert redact_argv(["crm", "--db", "/x/crm.db", "customer", "log", "7", "an"]) == [
        "crm", "--db", "/x/crm.db", "customer", "log", "7", r
    ]  # fmt: skip
    assert redact_argv(["crm", "deal", "item", "add", "3", "Gói", "--qty", "2"]) == [
        "crm", "deal", "item", "add", "3", r, "--qty", "2"
    ]  # fmt: skip


def test_forget_as_a_process(db_path: Path) -> None:
    """The installed crm: the -wal a process leaves behind holds nothing either."""
    crm = crm_bin()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([crm, *args], capture_output=True, text=True, timeout=60)

    cid = run("customer", "add", NAME, "--email", EMAIL, "--phone", PHONE_TYPED).stdout.strip()
    run("customer", "log", cid, BODY)
    run("customer", "add", "Ngô Bảo Châu")
    result = run("customer", "forget", cid, "--yes")
    assert result.returncode == 0, result.stderr
    data = raw_bytes(db_path)
    for secret in (NAME, EMAIL, PHONE, PHONE_TYPED, BODY):
        assert secret.encode() not in data, secret
    assert "Ngô Bảo Châu" in run("customer", "list", "-f", "tsv").stdout
    assert dump(db_path)


CONSENT_SOURCE = "Nhung ký phiếu đồng ý tại hội chợ"
NPS_COMMENT = "Nhung rất hài lòng với dịch vụ"
SEND_ADDRESS = "nhung.khuyenmai@example.vn"


@pytest.fixture
def reached(crm, person, db_path: Path) -> dict[str, int]:
    """The person with consent given and withdrawn, a recommendation score, and a campaign
    message in the send log (written as the send command writes it)."""
    from crmcli.db import open_db

    cid = person["customer"]
    ok(crm("customer", "edit", str(cid), "--consent", "email=yes", "--consent-source",
           CONSENT_SOURCE, "--consent", "sms=yes"))  # fmt: skip
    ok(crm("customer", "unsubscribe", EMAIL, "--source", f"{CONSENT_SOURCE} (hủy)"))
    score = int(ok(crm("customer", "nps", str(cid), "9", "--comment", NPS_COMMENT)))
    db = open_db(db_path, create=False)
    try:
        with db.write(["crm", "send", "tet"]):
            campaign = db.execute(
                "INSERT INTO campaigns (uid, name, channel, kind, created_at) "
                "VALUES ('c-1', 'Tết 2027', 'email', 'marketing', '2026-11-20T00:00:00Z')"
            ).lastrowid
            message = db.execute(
                "INSERT INTO interactions (uid, customer_id, type, body, happened_at, "
                "created_at, campaign_id) VALUES ('i-1', ?, 'email', 'Chúc mừng năm mới', "
                "'2026-11-20T01:00:00Z', '2026-11-20T01:00:00Z', ?)",
                (cid, campaign),
            ).lastrowid
            send = db.execute(
                "INSERT INTO sends (campaign_id, customer_id, channel, address, status, "
                "message_id, interaction_id, attempts, at) VALUES (?, ?, 'email', ?, 'sent', "
                "'<m1@crm>', ?, 1, '2026-11-20T01:00:00Z')",
                (campaign, cid, SEND_ADDRESS, message),
            ).lastrowid
    finally:
        db.close()
    return {**person, "score": score, "campaign": int(campaign or 0), "send": int(send or 0)}


def test_export_person_holds_consent_scores_and_messages(crm, reached) -> None:
    doc = json.loads(ok(crm("customer", "export-person", str(reached["customer"]))))
    consents = {c["channel"]: c for c in doc["consents"]}
    assert consents["email"]["status"] == "no"
    assert consents["email"]["source"] == f"{CONSENT_SOURCE} (hủy)"
    assert consents["sms"]["status"] == "yes"
    # when and how consent changed: given, then withdrawn
    changes = [h for h in doc["history"] if h["table"] == "consents"]
    email = [h for h in changes if (h["after"] or h["before"])["channel"] == "email"]
    assert [h["action"] for h in email] == ["insert", "update"]
    assert email[0]["after"]["source"] == CONSENT_SOURCE
    assert [(s["id"], s["score"], s["comment"]) for s in doc["nps_scores"]] == [
        (reached["score"], 9, NPS_COMMENT)
    ]
    (send,) = doc["sends"]
    assert (send["id"], send["campaign"], send["address"], send["status"]) == (
        reached["send"], "Tết 2027", SEND_ADDRESS, "sent",
    )  # fmt: skip


def test_forget_erases_consent_source_scores_comments_and_send_addresses(
    crm, reached, db_path: Path
) -> None:
    cid = reached["customer"]
    assert all(s.encode() in raw_bytes(db_path) for s in (CONSENT_SOURCE, NPS_COMMENT,
                                                          SEND_ADDRESS))  # fmt: skip
    result = crm("customer", "forget", str(cid), "--yes")
    assert result.exit_code == 0, result.stderr
    data = raw_bytes(db_path)
    for secret in (CONSENT_SOURCE, NPS_COMMENT, SEND_ADDRESS, EMAIL):
        assert secret.encode("utf-8") not in data, secret
    doc = json.loads(ok(crm("customer", "export-person", str(cid))))
    assert all(not c["source"] or CONSENT_SOURCE not in c["source"] for c in doc["consents"])
    assert [s["score"] for s in doc["nps_scores"]] == [9]  # the figure stays
    assert all(s["comment"] != NPS_COMMENT for s in doc["nps_scores"])
    assert all(s["address"] != SEND_ADDRESS for s in doc["sends"])
    history = ok(crm("history", "--entity", "customer", "--id", str(cid), "-f", "json"))
    assert CONSENT_SOURCE not in history and NPS_COMMENT not in history
