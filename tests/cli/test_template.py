"""``crm template add|list|show|edit|delete|preview``: e-mail and SMS templates, their
fields, the sandbox, SMS length, undo, and bad input refused whole (fixed clock: Monday
2026-11-23 10:00, Asia/Ho_Chi_Minh)."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import dump, query

DUE_SUBJECT = "Hóa đơn {{ invoice.number }} — {{ customer.first_name }}"
DUE_BODY = "Chào {{ customer.name }},\ncòn {{ invoice.owed }} cho {{ deal.title }}, hạn {{ invoice.due_date }}. 👋"  # noqa: E501


def ok(result: Any) -> str:
    assert result.exit_code == 0, result.stderr
    return str(result.stdout)


def refused(crm: Any, db_path: Path, *args: str, code: int = 2, input: str | None = None) -> str:
    """A command that must fail: exit ``code``, one line on stderr, nothing on stdout, the
    database unchanged.  Returns the message."""
    before = dump(db_path)
    result = crm(*args, input=input)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("crm: error: ")
    assert dump(db_path) == before
    return str(result.stderr)


def add(crm: Any, name: str, *args: str, input: str | None = None) -> int:
    result = crm("template", "add", name, *args, input=input)
    assert result.exit_code == 0, result.stderr
    return int(result.stdout)


def shown(crm: Any, name: str) -> dict[str, Any]:
    return dict(json.loads(ok(crm("template", "show", name, "-f", "json"))))


@pytest.fixture
def shop(crm: Any) -> None:
    """Customer 1 An (e-mail, phone, birthday) with deal 1 (1,200.00 EUR, won) and invoice 1;
    customer 2 Bình with nothing; the seller's e-mail."""
    ok(crm("customer", "add", "Nguyễn Văn An", "--email", "an@example.vn", "--phone",
           "+84912345678", "--birthday", "1990-05-17"))  # fmt: skip
    ok(crm("customer", "add", "Trần Thị Bình"))
    ok(crm("deal", "add", "20 laptops", "-c", "1", "--amount", "1,200.00 EUR"))
    ok(crm("deal", "won", "1"))
    ok(crm("invoice", "create", "1"))
    ok(crm("config", "set", "seller_email", "shop@example.vn"))


@pytest.fixture
def due(crm: Any, shop: None) -> int:
    return add(crm, "due", "--channel", "email", "--kind", "transactional", "--subject",
               DUE_SUBJECT, "--body", DUE_BODY)  # fmt: skip


# -- add ------------------------------------------------------------------------------------


def test_add_prints_the_id_and_stores_the_template_as_written(crm, due) -> None:
    assert due == 1
    record = shown(crm, "due")
    assert record == {
        "id": 1, "name": "due", "channel": "email", "kind": "transactional",
        "subject": DUE_SUBJECT,
        "fields_used": ["customer.first_name", "customer.name", "deal.title",
                        "invoice.due_date", "invoice.number", "invoice.owed"],
        "body": DUE_BODY, "html": None,
        "created_at": "2026-11-23T03:00:00Z", "updated_at": "2026-11-23T03:00:00Z",
    }  # fmt: skip
    assert shown(crm, "1") == shown(crm, "DUE") == record  # by id, any case


def test_add_sms_says_its_length_as_written(crm) -> None:
    result = crm("template", "add", "sinh-nhật", "--channel", "sms", "--kind", "marketing",
                 "--body", "Chúc mừng sinh nhật {{ customer.first_name }} 🎂")  # fmt: skip
    assert (result.exit_code, result.stdout) == (0, "1\n")
    assert result.stderr == "SMS: 1 segment, UCS-2, 47 characters as written (fields change it)\n"
    result = crm("template", "add", "hi", "--channel", "sms", "--kind", "marketing",
                 "--body", "Hi {{ customer.first_name }}")  # fmt: skip
    assert result.stderr == "SMS: 1 segment, GSM-7, 28 characters as written (fields change it)\n"


def test_body_file_from_stdin_and_a_file_with_a_bom_nfc_normalised(crm, tmp_path) -> None:
    decomposed = unicodedata.normalize("NFD", "Chào {{ customer.first_name }}, cảm ơn 🙏")
    assert decomposed != unicodedata.normalize("NFC", decomposed)
    add(crm, "a", "--channel", "sms", "--kind", "transactional", "--body-file", "-",
        input=decomposed + "\n")  # fmt: skip
    assert shown(crm, "a")["body"] == "Chào {{ customer.first_name }}, cảm ơn 🙏"
    body = tmp_path / "body.txt"
    body.write_bytes(b"\xef\xbb\xbf" + "Kính gửi {{ customer.name }}\n".encode())
    html = tmp_path / "body.html"
    html.write_text("<p>Kính gửi {{ customer.name }}</p>", encoding="utf-8")
    add(crm, "b", "--channel", "email", "--kind", "transactional", "--subject", "Xin chào",
        "--body-file", str(body), "--html-file", str(html))  # fmt: skip
    record = shown(crm, "b")
    assert record["body"] == "Kính gửi {{ customer.name }}"
    assert record["html"] == "<p>Kính gửi {{ customer.name }}</p>"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--channel", "email", "--kind", "marketing", "--body", "Hi"],
         "an e-mail template needs a subject: give --subject TEXT"),
        (["--channel", "sms", "--kind", "marketing", "--subject", "Hi", "--body", "Hi"],
         "invalid --subject 'Hi': an SMS has no subject"),
        (["--channel", "fax", "--kind", "marketing", "--body", "Hi"],
         "invalid --channel 'fax': one of email, sms"),
        (["--channel", "sms", "--kind", "spam", "--body", "Hi"],
         "invalid kind 'spam': one of marketing, transactional"),
        (["--channel", "sms", "--kind", "marketing"],
         "give the text: --body TEXT or --body-file FILE"),
        (["--kind", "marketing", "--body", "Hi"],
         "give --channel (email or sms) and --kind (marketing or transactional)"),
        (["--channel", "sms", "--kind", "marketing", "--body", "Hi", "--body-file", "-"],
         "give --body or --body-file, not both"),
        (["--channel", "sms", "--kind", "marketing", "--body", "Hi {{ customer.name"],
         "invalid body 'Hi {{ customer.name': line 1: unexpected end of template, expected "
         "'end of print statement'."),
        (["--channel", "sms", "--kind", "marketing", "--body", "{% for x in y %}Hi"],
         "invalid body '{% for x in y %}Hi': line 1: Unexpected end of template. Jinja was "
         "looking for the following tags: 'endfor' or 'else'. The innermost block that needs "
         "to be closed is 'for'."),
        (["--channel", "email", "--kind", "marketing", "--subject", "{{ x", "--body", "Hi"],
         "invalid --subject '{{ x': line 1: unexpected end of template, expected 'end of "
         "print statement'."),
        (["--channel", "sms", "--kind", "marketing", "--body", "{{ ''.__class__ }}"],
         "invalid body \"{{ ''.__class__ }}\": not allowed in a template ('__class__')"),
        (["--channel", "sms", "--kind", "marketing", "--body",
          "{{ customer['__init__'].__globals__ }}"],
         "invalid body \"{{ customer['__init__'].__globals__ }}\": not allowed in a template "
         "('__globals__')"),
        (["--channel", "sms", "--kind", "marketing", "--body", "  "],
         "invalid body '  ': must not be empty"),
    ],
)  # fmt: skip
def test_bad_add_is_one_line_exit_2_and_nothing_written(crm, db_path, args, message) -> None:
    ok(crm("customer", "add", "An"))  # the database exists: "nothing written" is checked
    assert refused(crm, db_path, "template", "add", "x", *args) == f"crm: error: {message}\n"


def test_bad_names_and_files_are_refused(crm, db_path, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    add(crm, "Sinh nhật", "--channel", "sms", "--kind", "marketing", "--body", "Hi")
    assert refused(crm, db_path, "template", "add", "sinh NHẬT", "--channel", "sms", "--kind",
                   "marketing", "--body", "Hi") == (
        "crm: error: invalid name 'sinh NHẬT': template 1 has that name\n"
    )  # fmt: skip
    assert "must not be a number" in refused(
        crm, db_path, "template", "add", "42", "--channel", "sms", "--kind", "marketing",
        "--body", "Hi",
    )  # fmt: skip
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Chào".encode("latin-1", "replace") + b"\xe9")
    assert refused(crm, db_path, "template", "add", "x", "--channel", "sms", "--kind",
                   "marketing", "--body-file", latin1.name) == (
        "crm: error: invalid --body-file 'latin1.txt': not UTF-8 text (byte 3)\n"
    )  # fmt: skip
    assert refused(crm, db_path, "template", "add", "x", "--channel", "sms", "--kind",
                   "marketing", "--body-file", "nope.txt") == (
        "crm: error: invalid --body-file 'nope.txt': No such file or directory\n"
    )  # fmt: skip


# -- list and show ----------------------------------------------------------------------------


@pytest.fixture
def two(crm: Any, due: int) -> None:
    add(crm, "sinh-nhật", "--channel", "sms", "--kind", "marketing",
        "--body", "Chúc mừng sinh nhật {{ customer.first_name }} 🎂")  # fmt: skip


def test_list_in_every_format(crm, two) -> None:
    rows = json.loads(ok(crm("template", "list", "-f", "json")))
    assert [(r["id"], r["name"], r["channel"], r["kind"], r["fields_used"]) for r in rows] == [
        (1, "due", "email", "transactional", ["customer.first_name", "customer.name",
         "deal.title", "invoice.due_date", "invoice.number", "invoice.owed"]),
        (2, "sinh-nhật", "sms", "marketing", ["customer.first_name"]),
    ]  # fmt: skip
    assert rows[1]["body"] == "Chúc mừng sinh nhật {{ customer.first_name }} 🎂"
    lines = ok(crm("template", "list", "-f", "jsonl")).splitlines()
    assert [json.loads(line) for line in lines] == rows
    assert ok(crm("template", "list", "-f", "tsv")) == (
        "id\tname\tchannel\tkind\tsubject\tfields_used\n"
        f"1\tdue\temail\ttransactional\t{DUE_SUBJECT}\tcustomer.first_name,customer.name,"
        "deal.title,invoice.due_date,invoice.number,invoice.owed\n"
        "2\tsinh-nhật\tsms\tmarketing\t\tcustomer.first_name\n"
    )
    table = list(csv.reader(io.StringIO(ok(crm("template", "list", "-f", "csv")))))
    assert table[0] == ["id", "name", "channel", "kind", "subject", "fields_used"]
    assert table[2] == ["2", "sinh-nhật", "sms", "marketing", "", "customer.first_name"]
    assert ok(crm("template", "list", "-f", "ids")) == "1\n2\n"
    assert ok(crm("template", "list", "--channel", "SMS", "-f", "ids")) == "2\n"
    text = ok(crm("template", "list", "-f", "table"))
    assert "sinh-nhật" in text and "transactional" in text and "Fields used" in text


def test_list_of_none_and_show_in_every_format(crm, two) -> None:
    assert ok(crm("template", "list", "--channel", "email", "-f", "ids")) == "1\n"
    card = ok(crm("template", "show", "sinh-nhật", "-f", "table"))
    assert "Chúc mừng sinh nhật {{ customer.first_name }} 🎂" in card
    assert "customer.first_name" in card and "marketing" in card
    both = json.loads(ok(crm("template", "show", "due", "2", "-f", "json")))
    assert [r["name"] for r in both] == ["due", "sinh-nhật"]
    assert json.loads(ok(crm("template", "show", "2", "-f", "jsonl"))) == both[1]
    tsv = ok(crm("template", "show", "-", "-f", "tsv", input="sinh-nhật\n\n1\n")).splitlines()
    assert tsv[0].split("\t")[:6] == ["id", "name", "channel", "kind", "subject", "fields_used"]
    assert [line.split("\t")[1] for line in tsv[1:]] == ["sinh-nhật", "due"]
    rows = list(csv.reader(io.StringIO(ok(crm("template", "show", "1", "-f", "csv")))))
    assert rows[1][rows[0].index("body")] == DUE_BODY


def test_no_templates(crm) -> None:
    ok(crm("customer", "add", "An"))
    result = crm("template", "list", "-f", "table")
    assert (result.exit_code, result.stdout) == (0, "")
    assert "no templates" in result.stderr
    assert ok(crm("template", "list", "-f", "json")) == "[]\n"


@pytest.mark.parametrize(
    "args",
    [
        ["show", "nope"],
        ["show", "99"],
        ["edit", "nope", "--body", "Hi"],
        ["delete", "nope", "--yes"],
        ["delete", "due", "nope", "--yes"],
        ["preview", "nope", "-c", "1"],
    ],
)
def test_unknown_template_exit_1(crm, db_path, due, args) -> None:
    message = refused(crm, db_path, "template", *args, code=1)
    assert message in ("crm: error: no template nope\n", "crm: error: no template 99\n")


# -- preview ---------------------------------------------------------------------------------


def test_preview_email_with_customer_deal_and_invoice_fields(crm, due) -> None:
    result = crm("template", "preview", "due", "--customer", "1", "--deal", "1", "--invoice", "1")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "Subject: Hóa đơn INV-2026-0001 — An\n"
        "\n"
        "Chào Nguyễn Văn An,\n"
        "còn 1,200.00 EUR cho 20 laptops, hạn 2026-12-07. 👋\n"
    )
    assert result.stderr == ""
    data = json.loads(ok(crm("template", "preview", "due", "-c", "1", "--deal", "1",
                             "--invoice", "1", "-f", "json")))  # fmt: skip
    assert data == {
        "channel": "email", "kind": "transactional",
        "subject": "Hóa đơn INV-2026-0001 — An",
        "body": "Chào Nguyễn Văn An,\ncòn 1,200.00 EUR cho 20 laptops, hạn 2026-12-07. 👋",
        "html": None, "unsubscribe": None, "sms": None,
    }  # fmt: skip
    row = list(
        csv.reader(
            io.StringIO(
                ok(
                    crm(
                        "template",
                        "preview",
                        "due",
                        "-c",
                        "1",
                        "--deal",
                        "1",
                        "--invoice",
                        "1",
                        "-f",
                        "csv",
                    )
                )
            )
        )
    )
    assert row[1][:3] == ["email", "transactional", "Hóa đơn INV-2026-0001 — An"]  # fmt: skip


def test_preview_marketing_ends_with_the_unsubscribe_line(crm, shop, tmp_path) -> None:
    html = tmp_path / "news.html"
    html.write_text("<html><body><p>Xin chào {{ customer.first_name }}</p></body></html>")
    add(crm, "tin", "--channel", "email", "--kind", "marketing", "--subject",
        "Tin tháng {{ today[5:7] }}", "--body", "Xin chào {{ customer.first_name }}!",
        "--html-file", str(html))  # fmt: skip
    assert ok(crm("template", "preview", "tin", "-c", "1")) == (
        "Subject: Tin tháng 11\n\nXin chào An!\n\nTo stop receiving these e-mails, reply with "
        "'unsubscribe' or write to shop@example.vn.\n"
    )
    data = json.loads(ok(crm("template", "preview", "tin", "-c", "1", "-f", "json")))
    assert data["html"] == (
        "<html><body><p>Xin chào An</p><p>To stop receiving these e-mails, reply with "
        "&#x27;unsubscribe&#x27; or write to shop@example.vn.</p>\n</body></html>"
    )
    ok(crm("config", "unset", "seller_email"))
    assert ok(crm("template", "preview", "tin", "-c", "1")).endswith(
        "\n\nTo stop receiving these e-mails, reply with 'unsubscribe'.\n"
    )


def test_unsubscribe_line_is_the_one_sending_appends() -> None:
    from crmcli.core.outreach.templates import unsubscribe_line

    assert unsubscribe_line("email", "a@b.vn") == (
        "To stop receiving these e-mails, reply with 'unsubscribe' or write to a@b.vn."
    )
    assert unsubscribe_line("email", None) == (
        "To stop receiving these e-mails, reply with 'unsubscribe'."
    )
    assert unsubscribe_line("sms", "a@b.vn") == "Reply STOP to opt out"


def test_sms_segments_vietnamese_needs_ucs2_ascii_fits_gsm7(crm, shop) -> None:
    # 58 characters once filled in: one segment either way; the marketing STOP line (22 with
    # its line break) makes the Vietnamese one 80 characters, two UCS-2 segments (over 70),
    # while the English one stays one GSM-7 segment (up to 160).
    vietnamese = "Chúc mừng sinh nhật {{ customer.first_name }}! Giảm 20% cho mọi đơn hàng tuần này"
    ascii_ = "Happy birthday {{ customer.first_name }}! 20% off every order this week, see you"
    add(crm, "vi", "--channel", "sms", "--kind", "transactional", "--body", vietnamese)
    add(crm, "vi-m", "--channel", "sms", "--kind", "marketing", "--body", vietnamese)
    add(crm, "en-m", "--channel", "sms", "--kind", "marketing", "--body", ascii_)
    result = crm("template", "preview", "vi", "-c", "1")
    assert result.stdout == "Chúc mừng sinh nhật An! Giảm 20% cho mọi đơn hàng tuần này\n"
    assert result.stderr == "SMS: 1 segment, UCS-2, 58 characters\n"
    result = crm("template", "preview", "vi-m", "-c", "1")
    assert result.stdout == (
        "Chúc mừng sinh nhật An! Giảm 20% cho mọi đơn hàng tuần này\nReply STOP to opt out\n"
    )
    assert result.stderr == "SMS: 2 segments, UCS-2, 80 characters\n"
    result = crm("template", "preview", "en-m", "-c", "1")
    assert result.stderr == "SMS: 1 segment, GSM-7, 79 characters\n"
    sms = json.loads(ok(crm("template", "preview", "vi-m", "-c", "1", "-f", "json")))["sms"]
    assert sms == {"encoding": "UCS-2", "characters": 80, "units": 80, "segments": 2}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Xin chào {{ customer.company }}",
         'body: customer.company is empty for customer 1 (write {{ customer.company or "…" }})'),
        ("{{ customer.nickname }}", "body: no field customer.nickname (fields: customer.id, "
         "customer.name, customer.first_name, customer.family_name, customer.email, "
         "customer.phone, customer.company, customer.title, customer.address, customer.city, "
         "customer.country, customer.birthday, customer.age, customer.fields)"),
        ("{{ nickname }}", "body: no field 'nickname' (fields: customer, seller, today)"),
        ("Còn {{ invoice.owed }}", "template x uses invoice fields: give --invoice ID"),
        ("{{ reminder.text }}", "template x uses reminder fields: give --reminder ID"),
        ("{{ customer.name|attr('__class__') }}",
         "invalid body \"{{ customer.name|attr('__class__') }}\": not allowed in a template "
         "(access to attribute '__class__' of 'str' object is unsafe.)"),
    ],
)  # fmt: skip
def test_missing_fields_and_unsafe_access_at_preview(crm, db_path, shop, body, message) -> None:
    add(crm, "x", "--channel", "sms", "--kind", "transactional", "--body", body)
    assert refused(crm, db_path, "template", "preview", "x", "-c", "1") == (
        f"crm: error: {message}\n"
    )


def test_optional_fields_written_with_or_and_if(crm, shop) -> None:
    add(
        crm,
        "x",
        "--channel",
        "sms",
        "--kind",
        "transactional",
        "--body",
        "{{ customer.company or 'bạn' }}{% if customer.age %}, {{ customer.age }} tuổi{% endif %}",
    )
    assert ok(crm("template", "preview", "x", "-c", "1")) == "bạn, 36 tuổi\n"
    assert ok(crm("template", "preview", "x", "-c", "2")) == "bạn\n"


def test_linked_records_must_belong_to_the_customer(crm, db_path, due) -> None:
    assert refused(crm, db_path, "template", "preview", "due", "-c", "2", "--deal", "1",
                   "--invoice", "1") == (
        "crm: error: invalid --deal '1': not a deal of customer 2\n"
    )  # fmt: skip
    assert refused(crm, db_path, "template", "preview", "due", "-c", "1", "--deal", "1",
                   "--invoice", "9") == (
        "crm: error: invalid --invoice '9': not an invoice of customer 1\n"
    )  # fmt: skip
    assert refused(crm, db_path, "template", "preview", "due", "-c", "9", code=1) == (
        "crm: error: no customer 9\n"
    )
    assert "invalid --format 'ids'" in refused(
        crm, db_path, "template", "preview", "due", "-c", "1", "-f", "ids"
    )


def test_preview_with_a_reminder(crm, shop) -> None:
    ok(crm("remind", "add", "Gọi lại về hợp đồng", "--at", "tomorrow 9am", "-c", "1"))
    add(crm, "r", "--channel", "sms", "--kind", "transactional", "--body",
        "{{ reminder.text }}: {{ reminder.due }}")  # fmt: skip
    assert ok(crm("template", "preview", "r", "-c", "1", "--reminder", "1")) == (
        "Gọi lại về hợp đồng: 2026-11-24 09:00\n"
    )


# -- edit, delete, undo, history -----------------------------------------------------------


def test_edit_renames_and_changes_the_text(crm, db_path, due) -> None:
    result = crm("template", "edit", "due", "--name", "Nhắc nợ", "--body", "Còn {{ invoice.owed }}")
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == "Updated template 1: Nhắc nợ\n"
    record = shown(crm, "nhắc nợ")
    assert (record["body"], record["fields_used"]) == (
        "Còn {{ invoice.owed }}",
        ["customer.first_name", "invoice.number", "invoice.owed"],
    )
    result = crm("template", "edit", "1", "--body", "Còn {{ invoice.owed }}")
    assert result.stderr == "Template 1 (Nhắc nợ) unchanged\n"
    # E-mail to SMS: the subject must go.
    assert refused(crm, db_path, "template", "edit", "1", "--channel", "sms") == (
        "crm: error: invalid --subject 'Hóa đơn {{ invoice.number }} — {{ customer.first_name "
        "}}': an SMS has no subject (give --subject '' to drop it)\n"
    )
    result = crm("template", "edit", "1", "--channel", "sms", "--subject", "")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == (
        "Updated template 1: Nhắc nợ\nSMS: 1 segment, GSM-7, 22 characters as written "
        "(fields change it)\n"
    )
    assert shown(crm, "1")["subject"] is None
    assert refused(crm, db_path, "template", "edit", "1", "--body", "{{ x") == (
        "crm: error: invalid body '{{ x': line 1: unexpected end of template, expected 'end of "
        "print statement'.\n"
    )
    assert refused(crm, db_path, "template", "edit", "1") == (
        "crm: error: nothing to change: give --name, --channel, --kind, --subject, --body, "
        "--body-file or --html-file\n"
    )
    add(crm, "other", "--channel", "sms", "--kind", "marketing", "--body", "Hi")
    assert refused(crm, db_path, "template", "edit", "other", "--name", "NHẮC NỢ") == (
        "crm: error: invalid name 'NHẮC NỢ': template 1 has that name\n"
    )


def test_delete_asks_then_deletes_several(crm, db_path, two) -> None:
    assert refused(crm, db_path, "template", "delete", "due") == (
        "crm: error: Delete template 1 (due): refusing without --yes (not a terminal)\n"
    )
    result = crm("template", "delete", "due", "SINH-NHẬT", "--yes")
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == "Deleted 2 templates: 1, 2\n"
    assert ok(crm("template", "list", "-f", "ids")) == ""


def test_undo_of_add_edit_and_delete(crm, db_path, due) -> None:
    def rows() -> list[tuple[Any, ...]]:
        return query(db_path, "SELECT * FROM templates ORDER BY id")

    added = rows()
    ok(crm("template", "edit", "due", "--name", "nhắc", "--subject", "Nhắc {{ customer.name }}"))
    ok(crm("template", "delete", "nhắc", "--yes"))
    assert rows() == []
    result = crm("undo", "--yes")
    assert result.stderr.endswith(": 1 template restored\n")
    assert rows()[0][1] == "nhắc"
    result = crm("undo", "--yes")
    assert result.stderr.endswith(": 1 template changed back\n")
    assert rows() == added
    result = crm("undo", "--yes")
    assert result.stderr.endswith(": 1 template removed\n")
    assert rows() == []


def test_history_reads_well(crm, due) -> None:
    ok(crm("template", "edit", "due", "--name", "Nhắc nợ", "--kind", "marketing"))
    ok(crm("template", "delete", "Nhắc nợ", "--yes"))
    lines = json.loads(ok(crm("history", "-f", "json")))
    mine = [(h["record"], h["action"], h["changes"]) for h in lines if h["entity"] == "template"]
    assert mine == [
        ("template 1", "delete", "Nhắc nợ"),
        ("template 1", "update", "name: due → Nhắc nợ; kind: transactional → marketing"),
        ("template 1", "insert", "due"),
    ]


def test_html_part_escapes_fields_the_text_part_does_not(crm, tmp_path) -> None:
    ok(crm("customer", "add", "An <b>& Co</b>", "--email", "an@example.vn"))
    html = tmp_path / "t.html"
    html.write_text("<p>Chào {{ customer.name }}</p>", encoding="utf-8")
    add(crm, "t", "--channel", "email", "--kind", "transactional", "--subject",
        "Chào {{ customer.name }}", "--body", "Chào {{ customer.name }}",
        "--html-file", str(html))  # fmt: skip
    data = json.loads(ok(crm("template", "preview", "t", "-c", "1", "-f", "json")))
    assert data["html"] == "<p>Chào An &lt;b&gt;&amp; Co&lt;/b&gt;</p>"
    assert (data["subject"], data["body"]) == ("Chào An <b>& Co</b>", "Chào An <b>& Co</b>")


@pytest.mark.parametrize("width", [60, 80])
def test_list_and_show_fit_a_narrow_terminal(crm, two, monkeypatch, width) -> None:
    from rich.cells import cell_len

    monkeypatch.setenv("COLUMNS", str(width))
    for args in (["list"], ["show", "due", "sinh-nhật"]):
        text = ok(crm("template", *args, "-f", "table"))
        assert all(cell_len(line) <= width for line in text.splitlines()), text
        assert "sinh-nhật" in text and "due" in text


def test_ids_from_stdin_and_nothing_on_stdin(crm, two) -> None:
    ids = ok(crm("template", "list", "--channel", "sms", "-f", "ids"))
    assert ok(crm("template", "show", "-", "-f", "ids", input=ids)) == "2\n"
    result = crm("template", "delete", "-", "--yes", input="")
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == "no names on stdin: nothing to do\n"
    result = crm("template", "delete", "-", "--yes", input=ids + "sinh-nhật\n")
    assert result.stderr == "Deleted 1 template: 2\n"
    assert ok(crm("template", "list", "-f", "ids")) == "1\n"
