"""crm mail import: mbox files and Maildir folders written by Python's ``mailbox`` module and
by hand (odd encodings as real mail has them), matched to customers and leads, imported once.

The clock is CRM_NOW (2026-11-23 10:00, Asia/Ho_Chi_Minh) from tests/conftest.py.
"""

from __future__ import annotations

import json
import mailbox
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from unicodedata import normalize

import pytest

from crmcli.core.mail.reading import decode_bytes, html_to_text, parse, trim
from tests.conftest import add, dump, query

ME = "shop@anhduong.vn"


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return result


def message(
    frm: str, to: str, subject: str, body: str, date: str, mid: str | None = None,
    **headers: str,
) -> EmailMessage:  # fmt: skip
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Date"] = frm, to, subject, date
    if mid:
        msg["Message-ID"] = mid
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def mbox(path: Path, *messages: Any) -> Path:
    box = mailbox.mbox(str(path))
    for msg in messages:
        box.add(msg)
    box.flush()
    box.close()
    return path


def timeline(db_path: Path) -> list[tuple[Any, ...]]:
    return query(
        db_path,
        "SELECT customer_id, lead_id, type, direction, happened_at, body, message_key "
        "FROM interactions WHERE message_key IS NOT NULL ORDER BY happened_at, id",
    )


@pytest.fixture
def people(crm: Any) -> dict[str, int]:
    ok(crm("config", "set", "mail_from", f"Cửa hàng Ánh Dương <{ME}>"))
    return {
        "an": add(crm, "Nguyễn Văn An", "--email", "An.Nguyen@SaigonTech.vn"),
        "binh": add(
            crm,
            "Trần Thị Bình",
            "--email",
            "binh@hanoifoods.vn",
            "--field",
            "email_work=binh.tran@work.example",
        ),  # fmt: skip
    }


def test_a_conversation_lands_on_each_customer_in_and_out(
    crm: Any, db_path: Path, tmp_path: Path, people: dict[str, int]
) -> None:
    box = mbox(
        tmp_path / "inbox.mbox",
        message("Nguyễn Văn An <an.nguyen@saigontech.vn>", f"Shop <{ME}>", "Báo giá ERP",
                "Chào chị,\nEm cần báo giá 20 máy.\n\nOn Mon, 1 Dec 2026, Shop <shop@anhduong.vn> "
                "wrote:\n> Dear An\n> the old quote\n-- \nAn Nguyen\nSaigon Tech\n",
                "Tue, 17 Nov 2026 09:15:00 +0700", "<a1@saigontech.vn>"),
        message(f"Shop <{ME}>", "an.nguyen@saigontech.vn, Bình <BINH.TRAN@work.example>",
                "Re: Báo giá ERP", "Gửi anh chị báo giá mới.\n",
                "Tue, 17 Nov 2026 11:00:00 +0700", "<o1@anhduong.vn>"),
        message("Someone <someone@elsewhere.example>", ME, "Hello", "Not a customer.\n",
                "Tue, 17 Nov 2026 12:00:00 +0000", "<x1@elsewhere.example>"),
    )  # fmt: skip
    result = ok(crm("mail", "import", str(box)))
    assert result.stderr == (
        "Imported 2 of 3 messages: 3 interactions on 2 customers and 0 leads; 1 not matched\n"
    )
    an, binh = people["an"], people["binh"]
    assert timeline(db_path) == [
        (an, None, "email", "in", "2026-11-17T02:15:00Z",
         "Báo giá ERP\n\nChào chị,\nEm cần báo giá 20 máy.", "a1@saigontech.vn"),
        (an, None, "email", "out", "2026-11-17T04:00:00Z",
         "Re: Báo giá ERP\n\nGửi anh chị báo giá mới.", "o1@anhduong.vn"),
        (binh, None, "email", "out", "2026-11-17T04:00:00Z",
         "Re: Báo giá ERP\n\nGửi anh chị báo giá mới.", "o1@anhduong.vn"),
    ]  # fmt: skip
    shown = json.loads(ok(crm("customer", "show", str(an), "-f", "json")).stdout)
    assert shown["last_contacted"] == "2026-11-17T04:00:00Z"
    assert [i["direction"] for i in shown["interactions"][:2]] == ["out", "in"]
    # The same mailbox again: nothing added, nothing said (cron).
    before = dump(db_path)
    again = ok(crm("mail", "import", str(box)))
    assert again.stderr == "" and again.stdout == ""
    assert dump(db_path) == before
    # A message more: only it is added.
    box2 = mbox(box, message("an.nguyen@saigontech.vn", ME, "Cảm ơn", "Đã nhận.\n",
                             "Wed, 18 Nov 2026 08:00:00 +0700", "<a2@saigontech.vn>"))  # fmt: skip
    later = ok(crm("mail", "import", str(box2)))
    assert later.stderr.startswith("Imported 1 of 4 messages: 1 interaction on 1 customer")
    assert "3 imported before" not in later.stderr  # two matched before, one never
    assert "2 imported before" in later.stderr
    assert len(timeline(db_path)) == 4


def test_undo_takes_the_whole_import_back(
    crm: Any, db_path: Path, tmp_path: Path, people: dict[str, int]
) -> None:
    box = mbox(tmp_path / "a.mbox",
               message("an.nguyen@saigontech.vn", ME, "A", "a\n", "Mon, 16 Nov 2026 09:00 +0700",
                       "<u1@x>"),
               message("binh@hanoifoods.vn", ME, "B", "b\n", "Mon, 16 Nov 2026 10:00 +0700",
                       "<u2@x>"))  # fmt: skip
    ok(crm("mail", "import", str(box)))
    assert len(timeline(db_path)) == 2
    undone = ok(crm("undo", "--yes"))
    assert "2 interactions removed" in undone.stdout + undone.stderr
    assert timeline(db_path) == []
    assert query(db_path, "SELECT count(*) FROM interactions") == [(0,)]


def test_forget_and_export_person_cover_imported_mail(
    crm: Any, db_path: Path, tmp_path: Path, people: dict[str, int]
) -> None:
    box = mbox(tmp_path / "a.mbox",
               message("an.nguyen@saigontech.vn", ME, "Riêng tư", "Số tài khoản của tôi\n",
                       "Mon, 16 Nov 2026 09:00 +0700", "<p1@x>"))  # fmt: skip
    ok(crm("mail", "import", str(box)))
    person = json.loads(ok(crm("customer", "export-person", str(people["an"]))).stdout)
    mails = [i for i in person["interactions"] if i.get("message_key") == "p1@x"]
    assert mails and mails[0]["direction"] == "in" and "Số tài khoản" in mails[0]["body"]
    ok(crm("customer", "forget", str(people["an"]), "--yes"))
    assert query(db_path, "SELECT count(*) FROM interactions WHERE body LIKE '%tài khoản%'") == [
        (0,)
    ]


def test_a_maildir_folder_and_new_leads_from_personal_mail_only(
    crm: Any, db_path: Path, tmp_path: Path, people: dict[str, int]
) -> None:
    folder = tmp_path / "Maildir"
    box = mailbox.Maildir(str(folder), create=True)
    date = "Mon, 16 Nov 2026 09:00:00 +0700"
    for msg in (
        message("Lan Phạm <lan.pham@example.org>", ME, "Hỏi giá", "Cho tôi hỏi giá máy POS?\n",
                date, "<l1@example.org>"),
        message("News <news@shop.example>", ME, "Sale", "50% off\n", date, "<n1@shop.example>",
                List_Id="<news.shop.example>"),
        message("Bulk <bulk@shop.example>", ME, "Sale", "x\n", date, "<n2@x>", Precedence="bulk"),
        message("Away <away@example.org>", ME, "Out of office", "x\n", date, "<n3@x>",
                Auto_Submitted="auto-replied"),
        message("Bank <no-reply@bank.example>", ME, "Statement", "x\n", date, "<n4@x>"),
        message("Lan Phạm <lan.pham@example.org>", ME, "Thêm", "Và máy in?\n",
                "Mon, 16 Nov 2026 10:00:00 +0700", "<l2@example.org>"),
    ):  # fmt: skip
        box.add(msg)
    box.close()
    result = ok(crm("mail", "import", str(folder), "--new-leads"))
    assert "1 new lead" in result.stderr and "4 not matched" in result.stderr
    leads = json.loads(ok(crm("lead", "list", "-f", "json")).stdout)
    assert [(ld["name"], ld["email"], ld["source"], ld["status"]) for ld in leads] == [
        ("Lan Phạm", "lan.pham@example.org", "email", "contacted")
    ]
    lead_id = leads[0]["id"]
    assert [(r[1], r[3]) for r in timeline(db_path)] == [(lead_id, "in"), (lead_id, "in")]
    # Again: no second lead, nothing added.
    again = ok(crm("mail", "import", str(folder), "--new-leads"))
    assert again.stderr == ""
    assert len(json.loads(ok(crm("lead", "list", "-f", "json")).stdout)) == 1


def test_dry_run_lists_and_writes_nothing(
    crm: Any, db_path: Path, tmp_path: Path, people: dict[str, int]
) -> None:
    box = mbox(tmp_path / "a.mbox",
               message("an.nguyen@saigontech.vn", ME, "Một", "x\n", "Mon, 16 Nov 2026 09:00 +0700",
                       "<d1@x>"),
               message("stranger@example.org", ME, "Hai", "y\n", "Mon, 16 Nov 2026 10:00 +0700",
                       "<d2@x>"))  # fmt: skip
    before = dump(db_path)
    result = ok(crm("mail", "import", str(box), "--dry-run", "--new-leads", "-f", "tsv"))
    assert result.stdout.splitlines() == [
        "at\tdirection\trecords\tfrom\tsubject",
        f"2026-11-16T02:00:00Z\tin\tcustomer {people['an']}\tan.nguyen@saigontech.vn\tMột",
        "2026-11-16T03:00:00Z\tin\tnew lead\tstranger@example.org\tHai",
    ]
    assert result.stderr.endswith("(dry run: nothing written)\n")
    assert dump(db_path) == before


def test_since_leaves_older_mail_out(
    crm: Any, db_path: Path, tmp_path: Path, people: dict[str, int]
) -> None:
    box = mbox(tmp_path / "a.mbox",
               message("an.nguyen@saigontech.vn", ME, "Old", "x\n", "Mon, 2 Feb 2026 09:00 +0700",
                       "<s1@x>"),
               message("an.nguyen@saigontech.vn", ME, "New", "y\n", "Mon, 16 Nov 2026 09:00 +0700",
                       "<s2@x>"))  # fmt: skip
    result = ok(crm("mail", "import", str(box), "--since", "30 days ago"))
    assert "1 older than --since" in result.stderr
    assert [r[6] for r in timeline(db_path)] == ["s2@x"]


# Messages as real mail has them, written byte by byte.
RAW = {
    "windows-1258": (
        b"From: =?windows-1258?Q?Nguy=EAn_V=E3n_An?= <an.nguyen@saigontech.vn>\r\n"
        b"To: shop@anhduong.vn\r\nSubject: =?windows-1258?Q?Ba=D2o_gia=EC?=\r\n"
        b"Date: Mon, 16 Nov 2026 09:00:00 +0700\r\nMessage-ID: <w1@x>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=windows-1258\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\nCa\xd2m \xf5n\r\n"
    ),
    "iso-8859-1 quoted-printable": (
        b"From: =?iso-8859-1?q?J=FCrgen?= <an.nguyen@saigontech.vn>\r\nTo: shop@anhduong.vn\r\n"
        b"Subject: =?iso-8859-1?q?Gr=FC=DFe?=\r\nDate: Mon, 16 Nov 2026 09:00:00 +0100\r\n"
        b"Message-ID: <i1@x>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\nSch=F6ne Gr=FC=DFe aus M=FCnchen\r\n"
    ),
    "base64 utf-8": (
        b"From: an.nguyen@saigontech.vn\r\nTo: shop@anhduong.vn\r\nSubject: =?UTF-8?B?"
        + __import__("base64").b64encode("Cảm ơn 🎉".encode())
        + b"?=\r\n"
        b"Date: Mon, 16 Nov 2026 09:00:00 -0000\r\nMessage-ID: <b1@x>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + __import__("base64").encodebytes("Đã nhận hàng 🎉\n".encode())
        + b"\r\n"
    ),
    "utf-8 undeclared": (
        b"From: an.nguyen@saigontech.vn\r\nTo: shop@anhduong.vn\r\nSubject: plain\r\n"
        b"Date: Mon, 16 Nov 2026 09:00:00 +0700\r\nMessage-ID: <u1@x>\r\n\r\n"
        + "Tiếng Việt không khai báo\r\n".encode()
    ),
    "html only, with an attachment": (
        b"From: an.nguyen@saigontech.vn\r\nTo: shop@anhduong.vn\r\nSubject: HTML\r\n"
        b"Date: Mon, 16 Nov 2026 09:00:00 +0700\r\nMessage-ID: <h1@x>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        + "<html><head><style>p{}</style></head><body><p>Xin ch&agrave;o</p>"
        "<p>Đơn <b>số 7</b></p><script>x()</script></body></html>\r\n".encode()
        + b"--b\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="=?utf-8?q?h=C3=B3a_=C4=91=C6=A1n.pdf?="\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + __import__("base64").encodebytes(b"%PDF" + b"0" * 2044)
        + b"--b--\r\n"
    ),
}
EXPECTED = {
    "windows-1258": ("Bảo giá", "Cảm ơn"),
    "iso-8859-1 quoted-printable": ("Grüße", "Schöne Grüße aus München"),
    "base64 utf-8": ("Cảm ơn 🎉", "Đã nhận hàng 🎉"),
    "utf-8 undeclared": ("plain", "Tiếng Việt không khai báo"),
    "html only, with an attachment": (
        "HTML",
        "Xin chào\n\nĐơn số 7\n\nAttachments: hóa đơn.pdf (2 KB)",
    ),
}


@pytest.mark.parametrize("name", sorted(RAW))
def test_charsets_and_encodings_as_real_mail_has_them(
    crm: Any, db_path: Path, tmp_path: Path, people: dict[str, int], name: str
) -> None:
    box = tmp_path / "odd.mbox"
    box.write_bytes(b"From x Mon Nov 16 09:00:00 2026\n" + RAW[name].replace(b"\r\n", b"\n"))
    ok(crm("mail", "import", str(box)))
    ((body,),) = query(db_path, "SELECT body FROM interactions WHERE message_key IS NOT NULL")
    subject, text = EXPECTED[name]
    assert body == f"{subject}\n\n{text}"


def test_an_unreadable_message_is_reported_and_skipped(
    crm: Any, db_path: Path, tmp_path: Path, people: dict[str, int]
) -> None:
    box = tmp_path / "mixed.mbox"
    box.write_bytes(
        b"From x Mon Nov 16 09:00:00 2026\nFrom: an.nguyen@saigontech.vn\nTo: shop@anhduong.vn\n"
        b"Subject: no date\n\nbody\n\n"
        b"From x Mon Nov 16 09:00:00 2026\nFrom: an.nguyen@saigontech.vn\nTo: shop@anhduong.vn\n"
        b"Subject: fine\nDate: Mon, 16 Nov 2026 09:00:00 +0700\nMessage-ID: <f1@x>\n\nbody\n"
    )
    result = ok(crm("mail", "import", str(box)))
    assert result.stderr.splitlines() == [
        "unreadable, skipped: message 1: no readable Date header (--verbose lists them)",
        "Imported 1 of 2 messages: 1 interaction on 1 customer and 0 leads; 1 unreadable (skipped)",
    ]
    # Nothing readable at all: an error, nothing written.
    only = tmp_path / "bad.mbox"
    only.write_bytes(b"From x Mon Nov 16 09:00:00 2026\nFrom: a@b.c\nSubject: x\n\nbody\n")
    before = dump(db_path)
    bad = crm("mail", "import", str(only))
    assert bad.exit_code == 1
    assert bad.stderr == (
        f"crm: error: {only}: no message could be read (message 1: no readable Date header)\n"
    )
    assert dump(db_path) == before


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.mbox", "no such file or folder"),
        (lambda p: (p / "notes.txt").write_text("hello") and p / "notes.txt",
         "not an mbox file (it does not start with 'From ')"),
        (lambda p: (p / "folder").mkdir() or p / "folder",
         "a folder, but not a Maildir (no cur/ and new/ inside)"),
    ],
    ids=["missing", "not mbox", "not maildir"],
)  # fmt: skip
def test_a_source_that_is_not_a_mailbox_is_one_line(
    crm: Any, db_path: Path, tmp_path: Path, people: dict[str, int], make: Any, message: str
) -> None:
    path = make(tmp_path)
    before = dump(db_path)
    result = crm("mail", "import", str(path))
    assert result.exit_code == 2
    assert result.stderr == f"crm: error: {path}: {message}\n"
    assert dump(db_path) == before


def test_without_an_address_of_its_own_it_asks_for_one(crm: Any, tmp_path: Path) -> None:
    add(crm, "An", "--email", "an@example.vn")
    box = mbox(
        tmp_path / "a.mbox",
        message("an@example.vn", "x@y.z", "A", "a\n", "Mon, 16 Nov 2026 09:00 +0700"),
    )
    result = crm("mail", "import", str(box))
    assert result.exit_code == 2
    assert "give --me ADDRESS" in result.stderr
    ok(crm("mail", "import", str(box), "--me", "X@Y.Z"))


def test_mail_crm_sent_is_not_imported_twice(
    crm: Any, db_path: Path, tmp_path: Path, smtp: Any
) -> None:
    """A message ``crm send`` sent is already in the timeline: importing the Sent folder
    that holds it adds nothing for that customer."""
    an = add(crm, "An", "--email", "an@example.vn")
    ok(crm("template", "add", "note", "--channel", "email", "--kind", "transactional",
           "--subject", "Hi", "--body", "Hello"))  # fmt: skip
    ok(crm("send", "note", "--customer", str(an)))
    ((sent_id,),) = query(db_path, "SELECT message_id FROM sends")
    raw = smtp.received[0][2]
    box = tmp_path / "sent.mbox"
    box.write_bytes(b"From shop Mon Nov 23 10:00:00 2026\n" + raw.replace(b"\r\n", b"\n"))
    assert parse(raw, "x").key == sent_id.strip("<>")
    result = ok(crm("mail", "import", str(box)))
    assert result.stderr == ""
    assert query(db_path, "SELECT count(*) FROM interactions") == [(1,)]


# -- the reading alone ---------------------------------------------------------------------


def test_trim_cuts_quotes_attributions_and_signatures() -> None:
    text = (
        "Vâng, em đồng ý.\n\nVào 1 thg 12, 2026 lúc 10:00, An <an@x.vn> đã viết:\n> Chị xem nhé\n"
    )
    assert trim(text) == ("Vâng, em đồng ý.", True)
    wrapped = "Yes.\n\nOn Mon, Dec 1, 2026 at 10:00 AM An Nguyen <\nan@x.vn> wrote:\n> old\n"
    assert trim(wrapped) == ("Yes.", True)
    outlook = "Noted.\n\n-----Original Message-----\nFrom: An\nSent: Monday\n\nold text\n"
    assert trim(outlook) == ("Noted.", True)
    inline = "> question one\nanswer one\n> question two\nanswer two\n"
    assert trim(inline) == ("answer one\nanswer two", True)
    assert trim("> only a quote\n") == ("> only a quote", False)
    assert trim("Plain.\n") == ("Plain.", False)


def test_html_to_text_and_charset_fallbacks() -> None:
    assert html_to_text("<p>A&nbsp;&amp; B</p><br><div>C</div>") == "A & B\n\nC"
    assert decode_bytes("Việt".encode(), None) == "Việt"
    assert normalize("NFC", decode_bytes(b"Vi\xea\xf2t", "windows-1258")) == "Việt"
    assert decode_bytes(b"caf\xe9", "no-such-charset") == "café"


# -- web-form notifications ------------------------------------------------------------------

CF7 = (
    "From: Ánh Dương website <wordpress@anhduong.vn>\nTo: shop@anhduong.vn\n"
    "Subject: =?utf-8?q?Li=C3=AAn_h=E1=BB=87_m=E1=BB=9Bi_t=E1=BB=AB_website?=\n"
    "Date: {date}\nMessage-ID: <{mid}>\nContent-Type: text/plain; charset=utf-8\n\n"
    "Họ tên: {name}\nEmail: {email}\nSố điện thoại: {phone}\nCông ty: Quán Sen\n"
    "Lời nhắn:\nCho mình hỏi giá 2 máy in hoá đơn.\nGiao trước Tết được không?\n\n"
    "Ngân sách: 10 triệu\n\n-- \nThis e-mail was sent from a contact form on Ánh Dương\n"
)


def form_box(path: Path, *submissions: dict[str, str]) -> Path:
    parts = []
    for n, fields in enumerate(submissions, 1):
        values = {"date": "Mon, 16 Nov 2026 09:00:00 +0700", "mid": f"form{n}@anhduong.vn",
                  "name": "Lê Hồng Nhung", "email": "Nhung@Cafe-Sen.vn",
                  "phone": "0903 123 456", **fields}  # fmt: skip
        parts.append("From wordpress Mon Nov 16 09:00:00 2026\n" + CF7.format(**values) + "\n")
    path.write_text("".join(parts), encoding="utf-8")
    return path


def test_a_web_form_becomes_a_lead_with_its_fields(
    crm: Any, db_path: Path, tmp_path: Path, people: dict[str, int]
) -> None:
    ok(crm("config", "set", "country", "VN"))
    box = form_box(tmp_path / "forms.mbox", {})
    result = ok(crm("mail", "import", str(box), "--forms", "Liên hệ mới*"))
    assert result.stderr.startswith("Imported 1 of 1 message: 1 interaction on 0 customers "
                                    "and 1 lead; 1 web-form submission; 1 new lead")  # fmt: skip
    (lead,) = json.loads(ok(crm("lead", "list", "-f", "json")).stdout)
    assert (lead["name"], lead["email"], lead["phone"], lead["company"], lead["source"]) == (
        "Lê Hồng Nhung", "nhung@cafe-sen.vn", "+84903123456", "Quán Sen", "web"
    )  # fmt: skip
    assert [r[5] for r in timeline(db_path)] == [
        "Web form: Liên hệ mới từ website\n\nCho mình hỏi giá 2 máy in hoá đơn.\n"
        "Giao trước Tết được không?\n\nNgân sách: 10 triệu"
    ]
    # Again, and with the setting instead of --forms: no second lead, nothing added.
    ok(crm("config", "set", "mail_forms", "Liên hệ mới* | New contact*"))
    again = ok(crm("mail", "import", str(box)))
    assert again.stderr == ""
    assert len(json.loads(ok(crm("lead", "list", "-f", "json")).stdout)) == 1


def test_a_form_from_a_known_email_or_phone_is_logged_on_it(
    crm: Any, db_path: Path, tmp_path: Path, people: dict[str, int]
) -> None:
    ok(crm("config", "set", "country", "VN"))
    lead = int(ok(crm("lead", "add", "Phạm Hoa", "--phone", "0911 222 333")).stdout)
    box = form_box(
        tmp_path / "forms.mbox",
        {"email": "AN.NGUYEN@saigontech.vn", "name": "An"},  # customer an, by e-mail
        {"email": "", "phone": "+84 911 222 333", "name": "Hoa", "mid": "f2@x"},  # the lead
    )
    ok(crm("mail", "import", str(box), "--forms", "website"))
    rows = timeline(db_path)
    assert [(r[0], r[1]) for r in rows] == [(people["an"], None), (None, lead)]
    assert len(json.loads(ok(crm("lead", "list", "-f", "json")).stdout)) == 1


def test_map_names_a_label_of_ones_own(crm: Any, db_path: Path, tmp_path: Path) -> None:
    box = tmp_path / "f.mbox"
    box.write_text(
        "From x Mon Nov 16 09:00:00 2026\nFrom: site@example.com\nTo: me@example.com\n"
        "Subject: Quote request\nDate: Mon, 16 Nov 2026 09:00:00 +0000\n"
        "Message-ID: <q1@x>\n\nKontakt: Klaus Weber\nE-Mail: k.weber@example.de\n"
        "Firma: Weber Logistik\nProject: 40 scanners\n",
        encoding="utf-8",
    )
    ok(crm("mail", "import", str(box), "--me", "me@example.com", "--forms", "quote request",
           "--map", "Kontakt=name", "--map", "E-Mail=email", "--map", "firma=company"))  # fmt: skip
    (lead,) = json.loads(ok(crm("lead", "list", "-f", "json")).stdout)
    assert (lead["name"], lead["email"], lead["company"]) == (
        "Klaus Weber",
        "k.weber@example.de",
        "Weber Logistik",
    )
    assert timeline(db_path)[0][5] == "Web form: Quote request\n\nProject: 40 scanners"
    bad = crm("mail", "import", str(box), "--me", "me@example.com", "--map", "Kontakt=age")
    assert bad.exit_code == 2 and "FIELD is one of" in bad.stderr


def test_a_reply_to_a_campaign_message_links_to_its_campaign(
    crm: Any, db_path: Path, tmp_path: Path, smtp: Any
) -> None:
    an = add(crm, "An", "--email", "an@example.vn")
    ok(crm("template", "add", "tet", "--channel", "email", "--kind", "transactional",
           "--subject", "Tết", "--body", "Chúc mừng năm mới"))  # fmt: skip
    ok(crm("send", "tet", "--customer", str(an), "--campaign", "Tết 2027"))
    ((sent_id, campaign),) = query(db_path, "SELECT message_id, campaign_id FROM sends")
    box = tmp_path / "inbox.mbox"
    box.write_text(
        "From an Mon Nov 23 11:00:00 2026\nFrom: An <an@example.vn>\nTo: shop@anhduong.vn\n"
        f"Subject: Re: Tết\nDate: Mon, 23 Nov 2026 11:00:00 +0700\nMessage-ID: <r1@x>\n"
        f"In-Reply-To: {sent_id}\nReferences: {sent_id}\n\nCảm ơn shop!\n",
        encoding="utf-8",
    )
    ok(crm("mail", "import", str(box)))
    assert query(db_path, "SELECT campaign_id, direction FROM interactions ORDER BY id") == [
        (campaign, "out"),
        (campaign, "in"),
    ]
    report = json.loads(ok(crm("report", "campaigns", "-f", "json")).stdout)
    assert report["campaigns"][0]["replies"] == 1


def test_the_search_index_is_the_same_as_row_by_row(
    crm: Any, db_path: Path, tmp_path: Path, people: dict[str, int]
) -> None:
    """An import indexes each interaction itself, with the Python folding, while the
    trigger (the SQL folding, slow on long text) is paused: the index then holds what the
    trigger would have written, search finds the mail, and the pause is gone."""
    box = mbox(
        tmp_path / "a.mbox",
        *(message("an.nguyen@saigontech.vn", ME, f"Đơn {n}", f"máy pha cà phê số {n}\n",
                  "Mon, 16 Nov 2026 09:00 +0700", f"<s{n}@x>") for n in range(30)),
        message("lan@example.org", ME, "Hỏi", "bình giữ nhiệt\n", "Mon, 16 Nov 2026 09:00 +0700",
                "<s-lead@x>"),
    )  # fmt: skip
    ok(crm("mail", "import", str(box), "--new-leads"))
    from crmcli.text import sql_fold

    index = query(db_path, "SELECT rowid, body FROM interactions_fts ORDER BY rowid")
    folded = query(db_path, f"SELECT id, {sql_fold('body')} FROM interactions ORDER BY id")
    assert len(index) == 31 and index == folded
    assert query(db_path, "SELECT count(*) FROM search_paused") == [(0,)]
    found = json.loads(
        ok(crm("customer", "list", "--search", "pha cà phê 29", "-f", "json")).stdout
    )
    assert [c["id"] for c in found] == [people["an"]]
    leads = json.loads(ok(crm("lead", "list", "--search", "giữ nhiệt", "-f", "json")).stdout)
    assert [ld["email"] for ld in leads] == ["lan@example.org"]
    # A later log on the customer goes through the triggers as before.
    ok(crm("customer", "log", str(people["an"]), "gọi lại về máy xay"))
    found = json.loads(ok(crm("customer", "list", "--search", "máy xay", "-f", "json")).stdout)
    assert [c["id"] for c in found] == [people["an"]]
    doctor = crm("doctor")
    assert doctor.exit_code == 0, doctor.stdout + doctor.stderr


@pytest.mark.parametrize(
    "value",
    ["a@b.c", "Name <a@b.c>", "=?utf-8?q?B=C3=ACnh?= <b@x.vn>, c@x.vn", '"Last, First" <a@b.c>',
     "An Nguyễn <an@x.vn>", "a@b.c (comment)", "<a@b.c>", "Name<a@b.c>",
     "undisclosed-recipients:;", "Bình Trần <b@x.vn>,An <a@x.vn>", "Group: a@b.c, c@d.e;",
     "a@b.c <x@y.z>", "Nguy\udce1\udcbbn <a@b.c>", "x", "", " , a@b.c", "a@b.c>", "<a@b.c",
     "s hop@x.y", "shop@anhduong.vn", "A B <a@b.c>, c@d.e, <e@f.g>", "a@b@c", "<>"],
)  # fmt: skip
def test_the_quick_address_reader_agrees_with_the_library(value: str) -> None:
    from email.utils import getaddresses

    from crmcli.core.mail.reading import _address_pairs

    assert _address_pairs([value]) == getaddresses([value])


def test_doctor_finds_and_fixes_a_pause_left_in_the_index(
    crm: Any, db_path: Path, people: dict[str, int]
) -> None:
    """A pause is only ever inside one command's transaction; if one were ever committed,
    what is logged after it would not be searchable: the doctor says so and --fix rebuilds."""
    import sqlite3

    conn = sqlite3.connect(db_path)
    conn.execute("INSERT INTO search_paused (id) VALUES (1)")
    conn.commit()
    conn.close()
    ok(crm("customer", "log", str(people["an"]), "hỏi về máy sấy"))
    assert ok(crm("customer", "list", "--search", "máy sấy", "-f", "ids")).stdout == ""
    doctor = crm("doctor")
    assert doctor.exit_code != 0
    assert "the index of interactions is paused" in doctor.stdout + doctor.stderr
    ok(crm("doctor", "--fix"))
    assert query(db_path, "SELECT count(*) FROM search_paused") == [(0,)]
    found = ok(crm("customer", "list", "--search", "máy sấy", "-f", "ids")).stdout
    assert found == f"{people['an']}\n"
