"""crm send: through a real SMTP server on 127.0.0.1 (tests/smtp_server.py), read back with
Python's email package; SMS through a script; consent, resuming, retries, failures."""

from __future__ import annotations

import os
import signal
import subprocess
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import add, crm_bin, dump, query

NOW = "2026-11-23T10:00:00"  # the fixed clock of tests/conftest.py
CAMPAIGN = "birthday 2026-11-23"


def template(db_path: Path, name: str, *, channel: str = "email", kind: str = "marketing",
             subject: str | None = "Chúc mừng sinh nhật {{ customer.first_name }} 🎂",
             body: str = "Chào {{ customer.name }},\nChúc bạn một ngày thật vui!\n",
             html: str | None = None) -> None:  # fmt: skip
    from crmcli.db import open_db

    db = open_db(db_path, create=True)
    with db.write(["crm", "template", "add", name]):
        db.execute(
            "INSERT INTO templates (name, channel, kind, subject, body, html, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (name, channel, kind, subject, body, html, NOW, NOW),
        )
    db.close()


def consent(db_path: Path, customer_id: int, status: str, channel: str = "email") -> None:
    from crmcli.core.outreach import consent as core
    from crmcli.db import open_db

    db = open_db(db_path, create=False)
    with db.write(["crm", "customer", "edit"]):
        core.set_status(db, customer_id, channel, status, source="signed form", at=NOW + "Z")
    db.close()


def sends(db_path: Path) -> list[tuple[Any, ...]]:
    return query(db_path, "SELECT customer_id, ref, status, reason, attempts FROM sends "
                          "ORDER BY customer_id, ref")  # fmt: skip


def to_addresses(smtp: Any) -> list[str]:
    return sorted(parseaddr(str(m["To"]))[1] for m in smtp.messages())


@pytest.fixture
def people(crm: Any, db_path: Path, smtp: Any) -> dict[str, int]:
    """Four customers: consent yes (Vietnamese name), unknown, opted out, no e-mail."""
    ids = {
        "an": add(crm, "Nguyễn Văn An", "--email", "an@example.com", "--birthday", "1990-11-23"),
        "hoa": add(crm, "Lê Thị Hoa", "--email", "hoa@example.com", "--birthday", "1985-11-23"),
        "binh": add(crm, "Trần Bình", "--email", "binh@example.com"),
        "cuong": add(crm, "Phạm Cường", "--phone", "+84912345678", "--birthday", "2000-11-25"),
    }
    consent(db_path, ids["an"], "yes")
    consent(db_path, ids["binh"], "no")
    template(db_path, "birthday")
    return ids


def all_of(people: dict[str, int]) -> list[str]:
    return [a for i in people.values() for a in ("--customer", str(i))]


def test_marketing_goes_only_with_consent_as_proper_mime(
    crm: Any, db_path: Path, smtp: Any, people: dict[str, int]
) -> None:
    result = crm("send", "birthday", *all_of(people))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == (
        "Sent 1, skipped 3 (1 no consent, 1 opted out, 1 no address), failed 0 — "
        f"campaign {CAMPAIGN}\n"
    )
    [msg] = smtp.messages()
    assert str(msg["Subject"]) == "Chúc mừng sinh nhật An 🎂"
    raw = smtp.received[0][2].decode("ascii")  # 7-bit on the wire: RFC 2047 headers
    assert "Subject: =?utf-8?" in raw
    assert msg["To"].addresses[0].display_name == "Nguyễn Văn An"
    assert msg["To"].addresses[0].addr_spec == "an@example.com"
    assert msg["From"].addresses[0].display_name == "Cửa hàng Ánh Dương"
    assert smtp.received[0][0] == "shop@anhduong.vn"  # the envelope sender
    assert msg["Date"].datetime.isoformat().startswith("2026-11-23T10:00:00")
    assert str(msg["Message-ID"]).endswith("@anhduong.vn>")
    assert str(msg["List-Unsubscribe"]) == "<mailto:shop@anhduong.vn?subject=unsubscribe>"
    assert msg["List-Unsubscribe-Post"] is None
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == "utf-8"
    text = msg.get_content()
    assert text.startswith("Chào Nguyễn Văn An,\nChúc bạn một ngày thật vui!\n")
    assert "To stop receiving these e-mails, reply with 'unsubscribe'" in text
    assert sends(db_path) == [
        (people["an"], "", "sent", None, 1),
        (people["hoa"], "", "skipped", "no consent", 0),
        (people["binh"], "", "skipped", "opted out", 0),
        (people["cuong"], "", "skipped", "no address", 0),
    ]
    # The message is an interaction of the customer, in the campaign, with its Message-ID.
    [(kind, body, campaign, mid)] = query(
        db_path,
        "SELECT i.type, i.body, c.name, s.message_id FROM interactions i "
        "JOIN campaigns c ON c.id = i.campaign_id JOIN sends s ON s.interaction_id = i.id",
    )
    assert (kind, campaign, mid) == ("email", CAMPAIGN, str(msg["Message-ID"]))
    assert body.startswith("Chúc mừng sinh nhật An 🎂\n\nChào Nguyễn Văn An,")
    shown = crm("customer", "show", str(people["an"]), "-f", "json")
    assert '"last_contacted": "2026-11-23T03:00:00Z"' in shown.stdout


def test_a_rerun_sends_nothing_twice_and_says_nothing(
    crm: Any, db_path: Path, smtp: Any, people: dict[str, int]
) -> None:
    assert crm("send", "birthday", *all_of(people)).exit_code == 0
    before = dump(db_path)
    again = crm("send", "birthday", *all_of(people), "--verbose")
    assert (again.exit_code, again.stdout, again.stderr) == (0, "", "")
    assert len(smtp.messages()) == 1
    assert dump(db_path) == before
    # Consent given since: the rerun sends to Hoa only.
    consent(db_path, people["hoa"], "yes")
    third = crm("send", "birthday", *all_of(people))
    assert third.exit_code == 0, third.stderr
    assert third.stderr.startswith("Sent 1, skipped 2 (1 opted out, 1 no address), failed 0")
    assert third.stderr.rstrip().endswith("1 sent before — campaign birthday 2026-11-23")
    assert to_addresses(smtp) == ["an@example.com", "hoa@example.com"]


def test_verbose_lists_the_skipped(
    crm: Any, db_path: Path, smtp: Any, people: dict[str, int]
) -> None:
    result = crm("send", "birthday", *all_of(people), "-v")
    assert result.exit_code == 0
    assert result.stderr.splitlines()[:3] == [
        f"skipped: #{people['hoa']} Lê Thị Hoa: no consent",
        f"skipped: #{people['binh']} Trần Bình: opted out",
        f"skipped: #{people['cuong']} Phạm Cường: no address",
    ]


def test_transactional_goes_unless_opted_out_without_unsubscribe(
    crm: Any, db_path: Path, smtp: Any, people: dict[str, int]
) -> None:
    crm("customer", "edit", str(people["an"]), "--name", "Nguyễn Văn An & Co <VIP>")
    template(db_path, "thanks", kind="transactional", subject="Cảm ơn {{ customer.first_name }}",
             body="Cảm ơn bạn.", html="<p>Cảm ơn <b>{{ customer.name }}</b></p>")  # fmt: skip
    result = crm("send", "thanks", *all_of(people))
    assert result.exit_code == 0, result.stderr
    assert to_addresses(smtp) == ["an@example.com", "hoa@example.com"]
    for msg in smtp.messages():
        assert msg["List-Unsubscribe"] is None
        assert msg.get_content_type() == "multipart/alternative"
        plain = msg.get_body(("plain",))
        html = msg.get_body(("html",))
        assert plain is not None and html is not None
        assert plain.get_content() == "Cảm ơn bạn.\n"
        assert "unsubscribe" not in html.get_content()
    [html_an] = [m.get_body(("html",)) for m in smtp.messages() if "an@" in str(m["To"])]
    assert html_an is not None
    assert "<p>Cảm ơn <b>Nguyễn Văn An &amp; Co &lt;VIP&gt;</b></p>" in html_an.get_content()
    assert result.stderr.startswith("Sent 2, skipped 2 (1 opted out, 1 no address)")


def test_a_missing_field_stops_the_run_before_anything(
    crm: Any, db_path: Path, smtp: Any, people: dict[str, int]
) -> None:
    consent(db_path, people["hoa"], "yes")
    crm("customer", "edit", str(people["an"]), "--company", "Công ty An")
    template(db_path, "offer", subject="Ưu đãi cho {{ customer.company }}", body="Xin chào")
    before = dump(db_path)
    result = crm("send", "offer", *all_of(people))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "customer.company is empty for customer 2" in result.stderr
    assert smtp.messages() == []
    assert dump(db_path) == before


def test_a_temporary_failure_is_retried(crm: Any, db_path: Path, smtp: Any) -> None:
    template(db_path, "note", kind="transactional", subject="Hi", body="Hello")
    cid = add(crm, "Tạm Thời", "--email", "temp@example.com")
    result = crm("send", "note", "--customer", str(cid))
    assert result.exit_code == 0, result.stderr
    assert to_addresses(smtp) == ["temp@example.com"]
    assert sends(db_path) == [(cid, "", "sent", None, 2)]


def test_a_permanent_failure_is_recorded_and_the_run_goes_on(
    crm: Any, db_path: Path, smtp: Any
) -> None:
    template(db_path, "note", kind="transactional", subject="Hi", body="Hello")
    bad = add(crm, "Bad Box", "--email", "reject@example.com")
    good = add(crm, "Good Box", "--email", "good@example.com")
    result = crm("send", "note", "--customer", str(bad), "--customer", str(good))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"failed: #{bad} Bad Box reject@example.com: 550 5.1.1 mailbox unavailable",
        "Sent 1, skipped 0, failed 1 — campaign note 2026-11-23",
    ]
    assert to_addresses(smtp) == ["good@example.com"]
    assert sends(db_path) == [
        (bad, "", "failed", "550 5.1.1 mailbox unavailable", 1),
        (good, "", "sent", None, 1),
    ]
    assert query(db_path, "SELECT count(*) FROM interactions WHERE customer_id = ?", (bad,)) == [
        (0,)
    ]


def test_a_refused_login_is_one_line_and_nothing_logged(
    crm: Any, db_path: Path, smtp: Any, people: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert crm("config", "set", "smtp_user", "seller").exit_code == 0
    monkeypatch.setenv("CRM_SMTP_PASSWORD", "wrong")
    before = dump(db_path)
    result = crm("send", "birthday", *all_of(people))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("crm: error: the SMTP server 127.0.0.1:")
    assert "refused the login of seller: 535" in result.stderr
    assert result.stderr.count("\n") == 1
    assert smtp.messages() == []
    assert dump(db_path) == before
    monkeypatch.setenv("CRM_SMTP_PASSWORD", "secret")
    ok = crm("send", "birthday", *all_of(people))
    assert ok.exit_code == 0, ok.stderr
    assert to_addresses(smtp) == ["an@example.com"]


def test_a_refused_connection_is_one_line(
    crm: Any, db_path: Path, smtp: Any, people: dict[str, int]
) -> None:
    from tests.smtp_server import free_port

    crm("config", "set", "smtp_port", str(free_port()))
    before = dump(db_path)
    result = crm("send", "birthday", *all_of(people))
    assert result.exit_code == 1
    assert "cannot reach the SMTP server 127.0.0.1:" in result.stderr
    assert result.stderr.count("\n") == 1
    assert dump(db_path) == before


def test_the_password_file_must_be_private(
    crm: Any, db_path: Path, smtp: Any, people: dict[str, int], tmp_path: Path
) -> None:
    secret = tmp_path / "smtp-password"
    secret.write_text("secret\n")
    secret.chmod(0o644)
    crm("config", "set", "smtp_user", "seller")
    assert crm("config", "set", "smtp_password_file", str(secret)).exit_code == 0
    result = crm("send", "birthday", *all_of(people))
    assert result.exit_code == 2
    assert "may be read by others (mode 644); chmod 600" in result.stderr
    assert smtp.messages() == []
    secret.chmod(0o600)
    ok = crm("send", "birthday", *all_of(people))
    assert ok.exit_code == 0, ok.stderr
    assert len(smtp.messages()) == 1
    # The password is nowhere in the database.
    assert all("secret" not in repr(row) for row in dump(db_path))


def test_a_campaign_of_another_template_is_refused(
    crm: Any, db_path: Path, smtp: Any, people: dict[str, int]
) -> None:
    template(db_path, "other", subject="x", body="y")
    assert crm("send", "birthday", *all_of(people), "--campaign", "Tết").exit_code == 0
    before = dump(db_path)
    result = crm("send", "other", *all_of(people), "--campaign", "Tết")
    assert result.exit_code == 2
    assert result.stderr == (
        "crm: error: campaign 'Tết' sends template 'birthday', not 'other'; "
        "give another --campaign\n"
    )
    assert dump(db_path) == before


def test_birthdays_today_and_this_week(
    crm: Any, db_path: Path, smtp: Any, people: dict[str, int]
) -> None:
    consent(db_path, people["hoa"], "yes")
    result = crm("send", "birthday", "--birthdays", "today", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        f"#{people['an']} Nguyễn Văn An\tan@example.com\tChúc mừng sinh nhật An 🎂\n"
        f"#{people['hoa']} Lê Thị Hoa\thoa@example.com\tChúc mừng sinh nhật Hoa 🎂\n"
    )
    week = crm("send", "birthday", "--birthdays", "week", "--dry-run", "-v")
    assert f"#{people['cuong']} Phạm Cường: no address" in week.stderr
    assert week.stderr.endswith(
        "Would send 2, skipped 1 (1 no address) — campaign birthday 2026-11-23 "
        "(dry run: nothing sent, nothing written)\n"
    )
    sent = crm("send", "birthday", "--birthdays", "today")
    assert sent.exit_code == 0
    assert to_addresses(smtp) == ["an@example.com", "hoa@example.com"]


def test_cron_is_silent_when_nobody_is_due(crm: Any, db_path: Path, smtp: Any) -> None:
    template(db_path, "birthday")
    add(crm, "Không Sinh Nhật", "--email", "x@example.com", "--birthday", "1990-01-01")
    before = dump(db_path)
    result = crm("send", "birthday", "--birthdays", "today")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert dump(db_path) == before


def test_dry_run_writes_nothing_and_eml_files(
    crm: Any, db_path: Path, smtp: Any, people: dict[str, int], tmp_path: Path
) -> None:
    from email import message_from_bytes, policy

    consent(db_path, people["hoa"], "yes")
    before = dump(db_path)
    out = tmp_path / "out"
    result = crm("send", "birthday", *all_of(people), "--dry-run", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 2
    assert dump(db_path) == before
    assert smtp.messages() == []
    files = sorted(out.iterdir())
    assert [f.name for f in files] == [
        f"00001-customer-{people['an']}.eml",
        f"00002-customer-{people['hoa']}.eml",
    ]
    assert all(f.stat().st_mode & 0o777 == 0o600 for f in files)
    msg = message_from_bytes(files[1].read_bytes(), policy=policy.default)
    assert str(msg["Subject"]) == "Chúc mừng sinh nhật Hoa 🎂"
    assert msg["List-Unsubscribe"] is not None


def test_ids_from_stdin_and_limit_then_resume(
    crm: Any, db_path: Path, smtp: Any, people: dict[str, int]
) -> None:
    template(db_path, "note", kind="transactional", subject="Hi {{ customer.first_name }}",
             body="Hello")  # fmt: skip
    ids = "\n".join(str(i) for i in people.values()) + "\n"
    first = crm("send", "note", "-", "--limit", "1", input=ids)
    assert first.exit_code == 0, first.stderr
    assert to_addresses(smtp) == ["an@example.com"]
    rest = crm("send", "note", "-", input=ids)
    assert rest.exit_code == 0, rest.stderr
    assert to_addresses(smtp) == ["an@example.com", "hoa@example.com"]


def test_overdue_invoices_one_message_each(crm: Any, db_path: Path, smtp: Any) -> None:
    template(db_path, "reminder", kind="transactional",
             subject="Hóa đơn {{ invoice.number }} quá hạn",
             body="{{ deal.title }}: còn nợ {{ invoice.owed }}, "
                  "hạn {{ invoice.due_date }}.")  # fmt: skip
    cid = add(crm, "Đỗ Minh", "--email", "minh@example.com")
    deal = crm("deal", "add", "Máy in", "--customer", str(cid), "--amount", "3.000.000 VND")
    assert deal.exit_code == 0, deal.stderr
    did = deal.stdout.strip()
    for due in ("2026-11-01", "2026-11-10", "2026-12-30"):
        made = crm("invoice", "create", did, "--amount", "1.000.000", "--issued", "2026-10-20",
                   "--due", due)  # fmt: skip
        assert made.exit_code == 0, made.stderr
    result = crm("send", "reminder", "--invoices", "overdue")
    assert result.exit_code == 0, result.stderr
    subjects = sorted(str(m["Subject"]) for m in smtp.messages())
    assert subjects == ["Hóa đơn INV-2026-0001 quá hạn", "Hóa đơn INV-2026-0002 quá hạn"]
    bodies = sorted(m.get_content() for m in smtp.messages())
    assert bodies == [
        "Máy in: còn nợ 1,000,000 VND, hạn 2026-11-01.\n",
        "Máy in: còn nợ 1,000,000 VND, hạn 2026-11-10.\n",
    ], bodies
    assert [r[1] for r in sends(db_path)] == ["invoice:1", "invoice:2"]
    again = crm("send", "reminder", "--invoices", "overdue")
    assert (again.exit_code, again.stderr) == (0, "")
    assert len(smtp.messages()) == 2


def test_recipients_are_given_once(crm: Any, smtp: Any) -> None:
    result = crm("send", "birthday", "--birthdays", "today", "--customer", "1")
    assert result.exit_code == 2
    assert "give the recipients once" in result.stderr
    assert crm("send", "birthday").exit_code == 2
    assert crm("send", "birthday", "--birthdays", "month").exit_code == 2


def test_an_unknown_template_or_customer_exits_1(crm: Any, db_path: Path, smtp: Any) -> None:
    template_missing = crm("send", "nope", "--customer", "1")
    assert (template_missing.exit_code, template_missing.stderr) == (
        1,
        "crm: error: no template nope\n",
    )


def test_sms_through_the_configured_command(crm: Any, db_path: Path, tmp_path: Path) -> None:
    log = tmp_path / "sms.log"
    script = tmp_path / "sms-gw"
    script.write_text(
        "#!/bin/sh\n"
        'case "$2" in *fail*) echo "gateway: number barred" >&2; exit 3;; esac\n'
        f'printf "%s|%s\\n" "$2" "$4" >> {log}\n'
    )
    script.chmod(0o755)
    crm("config", "set", "sms_command", f"{script} --to {{number}} --text {{text}}")
    template(db_path, "sms-hi", channel="sms", subject=None,
             body="Chào {{ customer.first_name }}, chúc mừng sinh nhật!")  # fmt: skip
    a = add(crm, "Vũ Lan", "--phone", "+84911111111")
    b = add(crm, "Vũ Hà", "--phone", "+84922222222")
    c = add(crm, "No Phone", "--email", "np@example.com")
    for cid in (a, b, c):
        consent(db_path, cid, "yes", "sms")
    crm("customer", "edit", str(b), "--phone", "+84933333333")
    result = crm("send", "sms-hi", "--customer", str(a), "--customer", str(b), "--customer", str(c))
    assert result.exit_code == 0, result.stderr
    assert log.read_text(encoding="utf-8") == (
        "+84911111111|Chào Lan, chúc mừng sinh nhật!\n\nReply STOP to opt out\n"
        "+84933333333|Chào Hà, chúc mừng sinh nhật!\n\nReply STOP to opt out\n"
    )
    assert result.stderr.startswith("Sent 2, skipped 1 (1 no phone), failed 0")
    assert query(db_path, "SELECT type, campaign_id IS NOT NULL FROM interactions") == [
        ("sms", 1), ("sms", 1),
    ]  # fmt: skip
    # A failing command: its stderr is the reason; the exit code 1.
    crm("config", "set", "sms_command", f"{script} --to fail --text {{text}}")
    failed = crm("send", "sms-hi", "--customer", str(a), "--campaign", "again")
    assert failed.exit_code == 1
    assert "gateway: number barred" in failed.stderr
    assert query(db_path, "SELECT reason FROM sends WHERE status = 'failed'") == [
        ("gateway: number barred",)
    ]


def test_a_run_killed_half_way_sends_nothing_twice(db_path: Path, smtp: Any, crm: Any) -> None:
    """kill -9 while the run waits for its next slot (send_rate 60: one a second), then
    rerun: every customer gets exactly one message."""
    template(db_path, "note", kind="transactional", subject="Hi", body="Hello")
    ids = [add(crm, f"Khách {n}", "--email", f"k{n}@example.com") for n in range(5)]
    crm("config", "set", "send_rate", "60")
    env = {**os.environ, "CRM_DB": str(db_path)}
    proc = subprocess.Popen(
        [crm_bin(), "send", "note", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=env, text=True,
    )  # fmt: skip
    assert proc.stdin is not None
    proc.stdin.write("\n".join(map(str, ids)) + "\n")
    proc.stdin.close()
    from tests.smtp_server import wait_for

    def sent() -> int:
        return int(query(db_path, "SELECT count(*) FROM sends WHERE status = 'sent'")[0][0])

    # The second message recorded: the run waits for its next slot, a second away.
    assert wait_for(lambda: sent() >= 2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = sent()
    assert 2 <= done < 5
    assert len(smtp.received) == done
    crm("config", "set", "send_rate", "100000")
    rerun = subprocess.run(
        [crm_bin(), "send", "note", "-"], input="\n".join(map(str, ids)) + "\n",
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stderr == (
        f"Sent {5 - done}, skipped 0, failed 0, {done} sent before — campaign note 2026-11-23\n"
    )
    assert to_addresses(smtp) == sorted(f"k{n}@example.com" for n in range(5))
    assert query(db_path, "SELECT count(*) FROM interactions") == [(5,)]


def test_ctrl_c_says_what_was_sent_and_a_rerun_sends_the_rest(
    db_path: Path, smtp: Any, crm: Any
) -> None:
    """Ctrl-C while the run waits for its next slot: the summary says what went out, the
    exit code is 0 (the records are saved), and a rerun sends the others once."""
    template(db_path, "note", kind="transactional", subject="Hi", body="Hello")
    ids = [add(crm, f"Khách {n}", "--email", f"k{n}@example.com") for n in range(4)]
    crm("config", "set", "send_rate", "60")
    env = {**os.environ, "CRM_DB": str(db_path)}
    args = [crm_bin(), "send", "note", *(f"--customer={i}" for i in ids)]
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, env=env, text=True)
    from tests.smtp_server import wait_for

    assert wait_for(lambda: query(db_path, "SELECT count(*) FROM sends")[0][0] >= 1)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    done = query(db_path, "SELECT count(*) FROM sends WHERE status = 'sent'")[0][0]
    assert 1 <= done < 4
    assert proc.returncode == 0, err
    assert err.startswith(f"Sent {done}, skipped 0, failed 0 — campaign note 2026-11-23 "
                          "(interrupted: run it again to send the rest)\n")  # fmt: skip
    assert "interrupted after the change was saved" in err
    assert len(smtp.received) == done
    crm("config", "set", "send_rate", "100000")
    rerun = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60)
    assert rerun.returncode == 0, rerun.stderr
    assert to_addresses(smtp) == sorted(f"k{n}@example.com" for n in range(4))
