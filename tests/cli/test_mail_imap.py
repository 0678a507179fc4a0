"""crm mail import from a real IMAP server (Dovecot, started once per session by the
``imap_server`` fixture of tests/conftest.py): messages put into its folders with APPEND,
imported over TLS and STARTTLS, read-only, once; the failures one line each.

The clock is CRM_NOW (2026-11-23 10:00, Asia/Ho_Chi_Minh) from tests/conftest.py.
"""

from __future__ import annotations

import imaplib
import re
import socket
import ssl
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from crmcli.core.mail import imap
from tests.conftest import add, dump, query

ME = "shop@anhduong.vn"
AN, BINH = "an.nguyen@saigontech.vn", "binh@hanoifoods.vn"
FOLDER = "Khách hàng & Đối tác"  # spaces, an ampersand and Vietnamese
FOLDER_UTF7 = "Kh&AOE-ch h&AOA-ng &- &ARAe0Q-i t&AOE-c"  # the same, as IMAP names it


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return result


def message(frm: str, to: str, subject: str, body: str, date: str, mid: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Date"] = frm, to, subject, date
    msg["Message-ID"] = mid
    msg.set_content(body)
    return msg


class Mailbox:
    """The test user's folders on the server, through imaplib (not crm's code)."""

    def __init__(self, server: Any, user: str, password: str) -> None:
        context = ssl.create_default_context(cafile=str(server.cert))
        self.conn = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=context)
        self.conn.authenticate("PLAIN", lambda _: f"\0{user}\0{password}".encode())

    def empty(self) -> None:
        """No folder but an empty INBOX."""
        typ, data = self.conn.list()
        for line in data:
            assert isinstance(line, bytes)
            name = line.split(b'"."', 1)[1].strip().decode()
            if name != "INBOX":
                assert self.conn.delete(name)[0] == "OK"
        _, (count,) = self.conn.select("INBOX")
        if count != b"0":
            self.conn.store("1:*", "+FLAGS", "\\Deleted")
            self.conn.expunge()
        self.conn.close()

    def append(self, folder: str, msg: EmailMessage, seen: bool = False) -> int:
        """``msg`` into ``folder`` (its name as IMAP sends it), its arrival time its Date;
        its UID."""
        if folder != "INBOX":
            self.conn.create(f'"{folder}"')
        date = msg["Date"]
        when = imaplib.Time2Internaldate(parsedate_to_datetime(str(date))) if date else None
        flags = "(\\Seen)" if seen else None
        typ, data = self.conn.append(f'"{folder}"', flags, when, msg.as_bytes())
        assert typ == "OK"
        return int(re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1))  # type: ignore[union-attr]

    def flags(self, folder: str = "INBOX") -> list[bytes]:
        self.conn.select(f'"{folder}"', readonly=True)
        typ, data = self.conn.fetch("1:*", "(FLAGS)")
        self.conn.close()
        return [line for line in data if isinstance(line, bytes)]

    def logout(self) -> None:
        self.conn.logout()


@pytest.fixture
def server(imap_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The session's server, its folders emptied, trusted (SSL_CERT_FILE), the password in
    CRM_IMAP_PASSWORD."""
    from tests import imap_server as dovecot

    box = Mailbox(imap_server, dovecot.USER, dovecot.PASSWORD)
    box.empty()
    imap_server.box = box
    monkeypatch.setenv("SSL_CERT_FILE", str(imap_server.cert))
    monkeypatch.setenv("CRM_IMAP_PASSWORD", dovecot.PASSWORD)
    yield imap_server
    box.logout()


@pytest.fixture
def people(crm: Any) -> dict[str, int]:
    ok(crm("config", "set", "mail_from", f"Cửa hàng Ánh Dương <{ME}>"))
    return {
        "an": add(crm, "Nguyễn Văn An", "--email", AN),
        "binh": add(crm, "Trần Thị Bình", "--email", BINH),
    }


def url(server: Any, folder: str = "INBOX", *, starttls: bool = False) -> str:
    if starttls:
        return f"imap://shop%40anhduong.vn@127.0.0.1:{server.imap_port}/{folder}"
    return f"imaps://shop%40anhduong.vn@127.0.0.1:{server.imaps_port}/{folder}"


def timeline(db_path: Path) -> list[tuple[Any, ...]]:
    return query(
        db_path,
        "SELECT customer_id, direction, happened_at, body, message_key FROM interactions "
        "WHERE message_key IS NOT NULL ORDER BY happened_at, id",
    )


CONVERSATION = (
    (message(f"Nguyễn Văn An <{AN}>", ME, "Báo giá 20 máy POS", "Chào chị,\nEm cần báo giá.\n",
             "Tue, 17 Nov 2026 09:15:00 +0700", "<a1@saigontech.vn>"), True),
    (message(ME, f"{AN}, Bình <{BINH}>", "Re: Báo giá 20 máy POS", "Gửi anh chị báo giá.\n",
             "Tue, 17 Nov 2026 11:00:00 +0700", "<o1@anhduong.vn>"), False),
    (message("Người lạ <la@example.org>", ME, "Xin chào", "Không phải khách hàng.\n",
             "Tue, 17 Nov 2026 12:00:00 +0700", "<x1@example.org>"), False),
    (message(BINH, ME, "Đơn hàng số 7", "Đã nhận hàng, cảm ơn.\n",
             "Wed, 18 Nov 2026 08:00:00 +0700", "<b1@hanoifoods.vn>"), False),
    (message(AN, ME, "Cảm ơn", "Hẹn gặp lại.\n",
             "Thu, 19 Nov 2026 08:00:00 +0700", "<a2@saigontech.vn>"), True),
)  # fmt: skip


def test_an_imap_folder_is_imported_once_and_nothing_is_marked_read(
    crm: Any, db_path: Path, server: Any, people: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    for msg, seen in CONVERSATION:
        server.box.append("INBOX", msg, seen=seen)
    flags = server.box.flags()
    assert sum(b"\\Seen" in line for line in flags) == 2
    monkeypatch.setattr(imap, "BATCH", 2)  # batches of two, the last of one
    monkeypatch.setattr(imap, "BATCH_BYTES", 1)  # and each message fetched alone
    result = ok(crm("mail", "import", url(server)))
    assert result.stderr == (
        "Imported 4 of 5 messages: 5 interactions on 2 customers and 0 leads; 1 not matched\n"
    )
    an, binh = people["an"], people["binh"]
    assert timeline(db_path) == [
        (an, "in", "2026-11-17T02:15:00Z", "Báo giá 20 máy POS\n\nChào chị,\nEm cần báo giá.",
         "a1@saigontech.vn"),
        (an, "out", "2026-11-17T04:00:00Z", "Re: Báo giá 20 máy POS\n\nGửi anh chị báo giá.",
         "o1@anhduong.vn"),
        (binh, "out", "2026-11-17T04:00:00Z", "Re: Báo giá 20 máy POS\n\nGửi anh chị báo giá.",
         "o1@anhduong.vn"),
        (binh, "in", "2026-11-18T01:00:00Z", "Đơn hàng số 7\n\nĐã nhận hàng, cảm ơn.",
         "b1@hanoifoods.vn"),
        (an, "in", "2026-11-19T01:00:00Z", "Cảm ơn\n\nHẹn gặp lại.", "a2@saigontech.vn"),
    ]  # fmt: skip
    assert server.box.flags() == flags  # nothing marked read, nothing else changed
    # Again: nothing added, nothing said (cron).
    before = dump(db_path)
    again = ok(crm("mail", "import", url(server)))
    assert again.stdout == again.stderr == ""
    assert dump(db_path) == before
    assert server.box.flags() == flags


def test_verbose_names_messages_by_uid(
    crm: Any, db_path: Path, server: Any, people: dict[str, int]
) -> None:
    undated = message(AN, ME, "Không có ngày", "x\n", "", "<nd@x>")
    del undated["Date"]
    uid = server.box.append("INBOX", undated)
    server.box.append("INBOX", CONVERSATION[0][0])
    result = ok(crm("mail", "import", url(server), "--verbose", "-f", "tsv"))
    assert result.stdout.splitlines()[1:] == [
        f"2026-11-17T02:15:00Z\tin\tcustomer {people['an']}\t{AN}\tBáo giá 20 máy POS"
    ]
    assert f"unreadable: UID {uid}: no readable Date header" in result.stderr


def test_since_asks_the_server_and_then_filters_exactly(
    crm: Any, db_path: Path, server: Any, people: dict[str, int]
) -> None:
    # --since '30 days ago' is 2026-10-24T03:00:00Z (10:00 in Hanoi).
    for subject, date in (
        ("Tháng hai", "Mon, 2 Feb 2026 09:00:00 +0700"),  # left out by the server
        ("Hôm kia", "Fri, 23 Oct 2026 10:00:00 +0700"),  # the server's day of slack
        ("Sớm", "Sat, 24 Oct 2026 09:00:00 +0700"),  # 02:00 UTC: an hour early
        ("Đúng lúc", "Sat, 24 Oct 2026 10:00:00 +0700"),
        ("Tháng mười một", "Mon, 16 Nov 2026 09:00:00 +0700"),
    ):
        server.box.append("INBOX", message(AN, ME, subject, "x\n", date, f"<{date[5:16]}@x>"))
    result = ok(crm("mail", "import", url(server), "--since", "30 days ago"))
    assert result.stderr == (
        "Imported 2 of 4 messages: 2 interactions on 1 customer and 0 leads; 2 older than --since\n"
    )
    bodies = [row[3].split("\n")[0] for row in timeline(db_path)]
    assert bodies == ["Đúng lúc", "Tháng mười một"]


def test_a_folder_with_spaces_and_vietnamese_in_its_name(
    crm: Any, db_path: Path, server: Any, people: dict[str, int]
) -> None:
    server.box.append(FOLDER_UTF7, CONVERSATION[3][0])
    server.box.append("INBOX", CONVERSATION[0][0])
    typed = ok(crm("mail", "import", url(server, FOLDER)))
    assert typed.stderr.startswith("Imported 1 of 1 message: 1 interaction on 1 customer")
    assert [row[4] for row in timeline(db_path)] == ["b1@hanoifoods.vn"]
    # Percent-encoded, as a URL copied from elsewhere has it: the same folder.
    from urllib.parse import quote

    assert ok(crm("mail", "import", url(server, quote(FOLDER)))).stderr == ""
    # No folder: the INBOX.
    inbox = ok(crm("mail", "import", url(server, "")))
    assert inbox.stderr.startswith("Imported 1 of 1 message")
    assert len(timeline(db_path)) == 2


def test_imap_with_starttls(crm: Any, db_path: Path, server: Any, people: dict[str, int]) -> None:
    server.box.append("INBOX", CONVERSATION[0][0])
    result = ok(crm("mail", "import", url(server, starttls=True)))
    assert result.stderr.startswith("Imported 1 of 1 message")
    assert len(timeline(db_path)) == 1


def test_a_password_that_is_not_ascii(
    crm: Any, server: Any, people: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests import imap_server as dovecot

    monkeypatch.setenv("CRM_IMAP_PASSWORD", dovecot.OTHER_PASSWORD)
    source = f"imaps://{dovecot.OTHER_USER}@127.0.0.1:{server.imaps_port}/INBOX"
    assert ok(crm("mail", "import", source)).stderr == f"No messages in {source}\n"


def test_a_wrong_password_is_one_line_and_imports_nothing(
    crm: Any, db_path: Path, server: Any, people: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    server.box.append("INBOX", CONVERSATION[0][0])
    monkeypatch.setenv("CRM_IMAP_PASSWORD", "sai mật khẩu")
    before = dump(db_path)
    result = crm("mail", "import", url(server))
    assert result.exit_code == 1
    assert result.stderr == (
        f"crm: error: the IMAP server 127.0.0.1:{server.imaps_port} refused the login of "
        f"{ME}: [AUTHENTICATIONFAILED] Authentication failed; nothing was imported\n"
    )
    assert dump(db_path) == before


def test_the_password_file_and_no_password_at_all(
    crm: Any, db_path: Path, tmp_path: Path, server: Any, people: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from tests import imap_server as dovecot

    server.box.append("INBOX", CONVERSATION[0][0])
    monkeypatch.delenv("CRM_IMAP_PASSWORD")
    before = dump(db_path)
    none = crm("mail", "import", url(server))
    assert none.exit_code == 2
    assert none.stderr == (
        f"crm: error: no IMAP password for {ME}: set CRM_IMAP_PASSWORD, or crm config set "
        "imap_password_file FILE (mode 0600)\n"
    )
    assert dump(db_path) == before
    secret = tmp_path / "imap-password"
    secret.write_text(dovecot.PASSWORD + "\n", encoding="utf-8")
    secret.chmod(0o644)
    ok(crm("config", "set", "imap_password_file", str(secret)))
    before = dump(db_path)
    shared = crm("mail", "import", url(server))
    assert shared.exit_code == 2
    assert shared.stderr == (
        f"crm: error: imap_password_file {secret} may be read by others (mode 644); "
        f"chmod 600 {secret}\n"
    )
    assert dump(db_path) == before
    secret.chmod(0o600)
    assert ok(crm("mail", "import", url(server))).stderr.startswith("Imported 1 of 1 message")
    stored = query(db_path, "SELECT key FROM settings WHERE value = ?", (dovecot.PASSWORD,))
    assert stored == []  # the password itself is never in the database


def test_a_missing_folder_is_one_line_naming_the_folders_there_are(
    crm: Any, db_path: Path, server: Any, people: dict[str, int]
) -> None:
    server.box.append(FOLDER_UTF7, CONVERSATION[0][0])
    before = dump(db_path)
    result = crm("mail", "import", url(server, "Lưu trữ"))
    assert result.exit_code == 1
    assert result.stderr == (
        f"crm: error: cannot open the folder 'Lưu trữ' on the IMAP server "
        f"127.0.0.1:{server.imaps_port}: Mailbox doesn't exist: Lưu trữ; its folders: "
        f"{FOLDER}, INBOX; nothing was imported\n"
    )
    assert dump(db_path) == before


def test_an_untrusted_certificate_and_a_closed_port(
    crm: Any, db_path: Path, server: Any, people: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.imap_server import free_ports

    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent/ca.pem")
    before = dump(db_path)
    for source in (url(server), url(server, starttls=True)):
        untrusted = crm("mail", "import", source)
        assert untrusted.exit_code == 1
        port = source.split(":")[2].split("/")[0]
        assert untrusted.stderr == (
            f"crm: error: TLS with the IMAP server 127.0.0.1:{port} failed: "
            "certificate verify failed: self-signed certificate\n"
        )
    (port,) = free_ports(1)
    closed = crm("mail", "import", f"imaps://{ME}@127.0.0.1:{port}/")
    assert closed.exit_code == 1
    assert closed.stderr == (
        f"crm: error: cannot reach the IMAP server 127.0.0.1:{port}: Connection refused\n"
    )
    assert dump(db_path) == before


def test_a_server_without_starttls_gets_no_password(
    crm: Any, db_path: Path, people: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain-text IMAP server that does not offer STARTTLS: refused before the login."""
    monkeypatch.setenv("CRM_IMAP_PASSWORD", "bí mật")
    listener = socket.create_server(("127.0.0.1", 0))
    heard: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n")
            reader = conn.makefile("rb")
            for line in reader:
                heard.append(line)
                tag = line.split(b" ", 1)[0]
                if b"CAPABILITY" in line.upper():
                    conn.sendall(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag + b" OK done\r\n")
                elif b"LOGOUT" in line.upper():
                    conn.sendall(b"* BYE\r\n" + tag + b" OK bye\r\n")
                    break
                else:
                    conn.sendall(tag + b" BAD no\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    result = crm("mail", "import", f"imap://{ME}@127.0.0.1:{port}/INBOX")
    thread.join(5)
    listener.close()
    assert result.exit_code == 1
    assert result.stderr == (
        f"crm: error: the IMAP server 127.0.0.1:{port} does not offer STARTTLS, so the password "
        "would cross the network in clear: use imaps:// (port 993); nothing was imported\n"
    )
    assert not any(b"LOGIN" in line or b"AUTHENTICATE" in line for line in heard)
    assert not any("bí mật".encode() in line for line in heard)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("imaps://127.0.0.1/INBOX", "no user in the IMAP address (the form: "
                                    "imaps://USER@HOST[:PORT]/FOLDER)"),
        ("imaps://me:secret@127.0.0.1/INBOX", "no password in the address (it would stay in "
         "the shell's history): set CRM_IMAP_PASSWORD, or crm config set imap_password_file FILE"),
        ("imaps://me@127.0.0.1:99999/INBOX", "the port must be a number from 1 to 65535"),
        ("imap://me@127.0.0.1:/INBOX", "the port must be a number from 1 to 65535"),
        ("imaps://me@/INBOX", "no server in the IMAP address (the form: "
                              "imaps://USER@HOST[:PORT]/FOLDER)"),
        ("imaps://me%0D%0Ax@host/INBOX", "a control character in the user name"),
    ],
    ids=["no user", "password", "port", "empty port", "no host", "control character"],
)  # fmt: skip
def test_a_bad_imap_address_is_one_line(
    crm: Any, db_path: Path, people: dict[str, int], source: str, message: str
) -> None:
    before = dump(db_path)
    result = crm("mail", "import", source)
    assert result.exit_code == 2
    assert result.stderr == f"crm: error: {source}: {message}\n"
    assert dump(db_path) == before


# -- the parts alone -----------------------------------------------------------------------


def test_folder_names_in_modified_utf7() -> None:
    # RFC 3501, section 5.1.3's own example, and names as Vietnamese mail has them.
    assert imap.encode_folder("~peter/mail/台北/日本語") == "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
    assert imap.decode_folder("~peter/mail/&U,BTFw-/&ZeVnLIqe-") == "~peter/mail/台北/日本語"
    assert imap.encode_folder(FOLDER) == FOLDER_UTF7
    for name in (FOLDER, "[Gmail]/Tất cả thư", "A&B", "&", "Thư đã gửi 🎉", "plain"):
        assert imap.decode_folder(imap.encode_folder(name)) == name
    assert imap.decode_folder("bad &!!- name") == "bad &!!- name"


def test_the_parts_of_an_address() -> None:
    got = imap.parse_url("imaps://me%40gmail.com@imap.gmail.com/[Gmail]/All%20Mail")
    assert got == imap.Url(True, "me@gmail.com", "imap.gmail.com", 993, "[Gmail]/All Mail")
    assert imap.parse_url("IMAP://an@mail.example:1143") == imap.Url(
        False, "an", "mail.example", 1143, "INBOX"
    )
    v6 = imap.parse_url("imaps://an@[::1]:9993/Hỏi đáp?#1")
    assert (v6.host, v6.port, v6.folder, v6.where) == ("::1", 9993, "Hỏi đáp?#1", "[::1]:9993")
    assert imap.parse_url("imaps://me@gmail.com@imap.gmail.com/").user == "me@gmail.com"
    assert imap.is_url("IMAPS://x@y/") and not imap.is_url("imap.mbox")
    assert imap._imap_date("2026-03-01T03:00:00Z") == "28-Feb-2026"
