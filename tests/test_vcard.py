"""vCard in and out: ``crm customer import contacts.vcf`` and ``crm customer export -f vcard``.

The fixtures in tests/fixtures/import/ are written from what Android (2.1, quoted-printable),
iOS, Google Contacts (3.0), khard (4.0) and Outlook (2.1) write; every test runs the CLI on a
real SQLite file.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, add, by_name, crm_bin, dump, exported, imported

# -- what each exporter writes ---------------------------------------------------------------


def test_android_21_quoted_printable(crm) -> None:
    result = imported(crm, "android.vcf")
    assert result.stderr == "Added 3, updated 0, unchanged 0, rejected 0\n"  # photo: no word
    people = by_name(crm)
    an = people["Nguyễn Văn An"]  # FN, quoted-printable UTF-8
    assert (an["email"], an["phone"]) == ("an.home@gmail.com", "+84901234567")
    assert an["fields"] == {
        "department": "Kỹ thuật",  # ORG's second unit
        "email_work": "an@saigontech.vn",
        "phone_home": "+842839330000",
        "phone_work": "+842838221234",
        "postal_code": "700000",
    }
    assert (an["company"], an["title"]) == ("Saigon Tech", "CTO")
    # ADR with a soft line break in the middle of a word
    assert (an["address"], an["city"], an["country"]) == ("12 Lê Lợi", "Hồ Chí Minh", "Việt Nam")
    # soft line breaks inside a UTF-8 sequence, commas kept, =0D=0A a line break
    assert an["notes"] == (
        "Gặp ở hội chợ Sài Gòn, thích cà phê sữa đá ☕ và bánh mì, gọi sau 17 giờ.\nDòng hai"
    )
    assert an["birthday"] == "1985-03-04"
    assert people["Bé Na 🌸"]["phone"] == "0912 345 678"  # no country set: kept as typed
    assert people["Anna Schmidt"]["birthday"] == "1988-03-04"  # 2.1's 19880304


def test_ios_30_labels_and_yearless_birthday(crm) -> None:
    imported(crm, "ios.vcf")
    people = by_name(crm)
    bich = people["Trần Thị Bích"]
    assert (bich["email"], bich["phone"]) == ("bich@bichco.vn", "+84987654321")  # type=pref
    assert bich["birthday"] == "--05-17"  # X-APPLE-OMIT-YEAR
    assert bich["fields"] == {
        "email_home": "bich.tran@icloud.com",
        "nickname": "Bích 🌷",
        "phone_fax": "+842439331234",  # type=WORK;type=FAX
        "phone_zalo": "+84911112222",  # item1.X-ABLabel:Zalo
        "postal_code": "530000",
        "region": "Thừa Thiên Huế",
        "website": "https://bichco.vn",
    }
    assert bich["notes"] == (  # a folded line, \, and \n
        "Thích trà, không đường\nGọi sau 17h. Một ghi chú dài để dòng này vượt quá 75 octet "
        "và được gập lại như RFC 2426 yêu cầu."
    )
    assert (bich["address"], bich["city"], bich["country"]) == ("5 Lê Lợi", "Huế", "Việt Nam")
    assert people["Jürgen Groß"]["fields"] == {"phone_fax": "+49221123456"}  # _$!<HomeFAX>!$_
    assert people["Jürgen Groß"]["birthday"] == "1975-11-02"
    assert people["Contoso GmbH"]["company"] == "Contoso GmbH"


def test_google_30_categories_and_escapes(crm) -> None:
    imported(crm, "google.vcf")
    hans, minh = exported(crm)
    assert hans["name"] == "Hans Müller"
    assert (hans["email"], hans["phone"], hans["birthday"]) == (
        "hans@mueller.de", "+491701234567", "--12-24",
    )  # fmt: skip
    assert hans["fields"] == {
        "email_home": "hans.privat@gmx.de",
        "phone_work": "+49301234567",
        "postal_code": "10115",
        "website": "https://mueller.de",  # Google writes https\://
    }
    assert hans["tags"] == ["kunden"]  # myContacts is Google's, not a tag
    assert hans["notes"] == "Mag Kaffee, keinen Tee"
    assert minh["tags"] == ["khách-vip", "starred"]


def test_khard_40_uris_pref_and_ignored_properties(crm) -> None:
    result = imported(crm, "khard.vcf")
    assert result.stderr == (
        "warning: ignored vCard properties (no customer field holds them): 'IMPP'\n"
        "Added 2, updated 0, unchanged 0, rejected 0\n"
    )
    duc, ingrid = exported(crm)
    assert duc["uid"] == "8f2bd0b6-5c0e-4d5a-9d0e-2b7c3f1a9e11"  # the card's UID is kept
    assert (duc["email"], duc["phone"]) == ("duc@levan.vn", "+84905556677")  # tel: URI, PREF=1
    assert duc["fields"]["phone_work"] == "+842838229999 ext. 12"  # ;ext=12
    assert duc["fields"]["email_home"] == "duc.le@proton.me"
    assert duc["fields"]["anniversary"] == "20150612"
    assert duc["birthday"] == "--02-29"  # 4.0 --MMDD
    assert duc["tags"] == ["friends", "vip"]
    assert (ingrid["phone"], ingrid["birthday"]) == ("+4520123456", "1988-03-04")


def test_outlook_21(crm) -> None:
    imported(crm, "outlook.vcf")
    [hans] = exported(crm)
    assert hans["email"] == "hans.mueller@contoso.de"  # EMAIL;PREF
    assert hans["phone"] == "+49301234567"  # no TEL is preferred: the first one
    assert hans["fields"] == {
        "department": "Vertrieb",
        "email_2": "hans@privat.de",
        "phone_fax": "+49301234568",
        "phone_mobile": "+491701234567",
        "postal_code": "10115",
        "region": "Berlin",
    }
    assert (hans["birthday"], hans["tags"]) == ("1980-05-17", ["kunden", "vip"])


# -- the round trip -------------------------------------------------------------------------


@pytest.fixture
def everything(crm: Any) -> None:
    """Customers using every field we hold, extra e-mails and phones, both birthdays."""
    add(crm, "Nguyễn Thị Ánh 🌸", "--email", "anh@example.vn", "--phone", "+84 912 345 678",
        "--company", "Ánh; Co, Ltd", "--title", "CEO", "--address", "12 Lê Lợi\nTầng 3",
        "--city", "Hà Nội", "--country", "VN", "--birthday", "1990-05-17", "--source", "referral",
        "--note", "Thích trà, không đường; gọi sau 17h\\n (backslash)\n" + "dài " * 60,
        "--tag", "vip", "--tag", "hcm",
        "--field", "email_2=anh.2@example.vn", "--field", "email_work=anh@work.vn",
        "--field", "phone_mobile=+84987654321", "--field", "phone_zalo=+84911112222",
        "--field", "phone_work_2=+842838221234", "--field", "phone_note=gọi sau 5 giờ",
        "--field", "address_home=5 Lê Lợi, Huế", "--field", "region=Hà Nội",
        "--field", "postal_code=100000", "--field", "department=Bán hàng",
        "--field", "nickname=Ánh", "--field", "website=https://anh.vn",
        "--field", "website_2=https://shop.anh.vn", "--field", "role=Chủ",
        "--field", "size=L", "--field", "note.x=a=b")  # fmt: skip
    add(crm, "Hans Müller", "--birthday", "--12-24", "--phone", "030 1234567")
    add(crm, "Zoë", "--field", "email_work=zoe@work.example.com")  # no main e-mail


def test_vcard_round_trip_keeps_every_field(crm, everything, tmp_path: Path) -> None:
    before = exported(crm)
    out = tmp_path / "contacts.vcf"
    result = crm("customer", "export", "--output", str(out))  # the format from .vcf
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"Exported 3 customers to {out}\n"
    text = out.read_bytes().decode("utf-8")
    assert text.startswith("BEGIN:VCARD\r\nVERSION:3.0\r\n")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))  # folded
    assert crm("customer", "export", "-f", "vcard").stdout_bytes == out.read_bytes()

    fresh = tmp_path / "fresh.db"
    result = crm("--db", str(fresh), "customer", "import", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "Added 3, updated 0, unchanged 0, rejected 0\n"
    after = exported(crm, "--db", str(fresh))
    assert after == before
    anh, hans, zoe = after
    assert anh["fields"]["email_work"] == "anh@work.vn"
    assert anh["fields"]["phone_zalo"] == "+84911112222"
    assert hans["birthday"] == "--12-24"
    assert zoe["email"] is None and zoe["fields"] == {"email_work": "zoe@work.example.com"}

    again = crm("--db", str(fresh), "customer", "import", str(out))  # the UID matches
    assert again.stderr == "Added 0, updated 0, unchanged 3, rejected 0\n"


def test_exported_vcards_read_with_an_independent_parser(crm, everything) -> None:
    import vobject

    text = crm("customer", "export", "-f", "vcard").stdout
    cards = list(vobject.readComponents(io.StringIO(text)))
    assert [c.fn.value for c in cards] == ["Nguyễn Thị Ánh 🌸", "Hans Müller", "Zoë"]
    anh = cards[0]
    assert anh.uid.value == exported(crm)[0]["uid"]
    emails = sorted(e.value for e in anh.contents["email"])
    assert emails == ["anh.2@example.vn", "anh@example.vn", "anh@work.vn"]
    assert len(anh.contents["tel"]) == 4  # the note field is not a phone
    assert anh.bday.value == "1990-05-17"
    assert anh.org.value == ["Ánh; Co, Ltd", "Bán hàng"]
    assert cards[1].bday.value == "--12-24"


# -- bad cards --------------------------------------------------------------------------------

BAD = """BEGIN:VCARD
VERSION:3.0
FN:Good One
EMAIL:good@example.com
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:No End
BEGIN:VCARD
VERSION:3.0
N:;;;;
EMAIL:nameless@example.com
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Bad Mail
EMAIL;TYPE=WORK:bad@
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Bad Extra
EMAIL:ok@example.com
EMAIL;TYPE=HOME:also bad
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Broken Line
this line has no colon
END:VCARD
BEGIN:VCARD
VERSION:4.0
FN:Second Good
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Cut Off
"""


def test_bad_cards_are_reported_at_their_first_line(crm, tmp_path, db_path) -> None:
    add(crm, "Existing")
    before = dump(db_path)
    src = tmp_path / "bad.vcf"
    src.write_text(BAD, encoding="utf-8")
    result = crm("customer", "import", str(src))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "line 6: no END:VCARD before the next card (line 9)",
        "line 9: the card has no name (FN or N)",
        "line 14: invalid email 'bad@': There must be something after the @-sign.",
        "warning: line 19: email_home 'also bad' is not an e-mail address (An email address "
        "must have an @-sign.); kept as text in the custom field email_home",
        "line 25: line 28: not a vCard property (NAME:value): 'this line has no colon'",
        "line 34: no END:VCARD: the file ends inside the card",
        "crm: error: 5 bad rows; nothing imported (use --skip-bad to import the 3 good ones)",
    ]
    assert dump(db_path) == before  # all or nothing

    result = crm("customer", "import", str(src), "--skip-bad")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == "Added 3, updated 0, unchanged 0, rejected 5"
    assert [r["name"] for r in exported(crm)] == [
        "Existing", "Good One", "Bad Extra", "Second Good",
    ]  # fmt: skip


def test_text_between_cards_and_a_file_that_is_no_vcard(crm, tmp_path, db_path) -> None:
    src = tmp_path / "junk.vcf"
    src.write_text(
        "BEGIN:VCARD\nFN:A\nEND:VCARD\nstray text\nmore\nBEGIN:VCARD\nFN:B\nEND:VCARD\n",
        encoding="utf-8",
    )
    result = crm("customer", "import", str(src))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "line 4: text outside a card (BEGIN:VCARD … END:VCARD)"
    )
    csv_file = tmp_path / "people.csv"
    csv_file.write_text("name\nAn\n", encoding="utf-8")
    result = crm("customer", "import", str(csv_file), "-f", "vcard")
    assert result.exit_code == 1
    assert result.stderr == "crm: error: line 1: not a vCard file (BEGIN:VCARD expected)\n"
    assert not db_path.exists() or exported(crm) == []


def test_a_bad_charset_and_a_non_utf8_file(crm, tmp_path, db_path) -> None:
    src = tmp_path / "charset.vcf"
    src.write_text(
        "BEGIN:VCARD\r\nVERSION:2.1\r\nFN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Jos=E9\r\n"
        "END:VCARD\r\nBEGIN:VCARD\r\nVERSION:2.1\r\n"
        "FN;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:Jos=E9\r\nEND:VCARD\r\n",
        encoding="ascii",
    )
    result = crm("customer", "import", str(src), "--skip-bad")
    assert result.stderr.splitlines()[0].startswith(
        "line 1: line 3: quoted-printable text that is not in its CHARSET"
    )
    assert [r["name"] for r in exported(crm)] == ["José"]  # CHARSET=ISO-8859-1 is honoured

    latin = tmp_path / "latin.vcf"
    latin.write_bytes("BEGIN:VCARD\nVERSION:3.0\nFN:René\nEND:VCARD\n".encode("cp1252"))
    result = crm("customer", "import", str(latin))
    assert result.exit_code == 1
    assert "line 3 is not UTF-8 text (byte 0xe9)" in result.stderr
    assert "--encoding cp1252" in result.stderr
    result = crm("customer", "import", str(latin), "--encoding", "cp1252")
    assert result.exit_code == 0, result.stderr
    assert exported(crm)[-1]["name"] == "René"


# -- how it is given ---------------------------------------------------------------------------


def test_stdin_with_f_vcard_and_by_content(crm) -> None:
    card = "BEGIN:VCARD\nVERSION:3.0\nFN:Stdin Card\nTEL;TYPE=CELL:0912 345 678\nEND:VCARD\n"
    result = crm("customer", "import", "-", "-f", "vcard", input=card)
    assert result.exit_code == 0, result.stderr
    result = crm("customer", "import", "-", input=card.replace("Stdin", "Sniffed"))
    assert result.exit_code == 0, result.stderr
    assert [r["name"] for r in exported(crm)] == ["Stdin Card", "Sniffed Card"]


def test_dry_run_match_and_map(crm, tmp_path, db_path) -> None:
    existing = add(crm, "Hans M.", "--email", "hans@mueller.de")
    before = dump(db_path)
    result = crm("customer", "import", str(FIXTURES / "google.vcf"), "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "Would add 1, update 1, leave 0 unchanged, reject 0\n"
    assert dump(db_path) == before

    result = crm("customer", "import", str(FIXTURES / "google.vcf"), "--map", "FN=name")
    assert result.exit_code == 2
    assert "--map is for CSV, TSV and JSON files" in result.stderr

    result = crm("customer", "import", str(FIXTURES / "google.vcf"), "--match", "email")
    assert result.stderr == "Added 1, updated 1, unchanged 0, rejected 0\n"
    hans = exported(crm)[0]
    assert (hans["id"], hans["name"], hans["tags"]) == (existing, "Hans Müller", ["kunden"])


def test_cards_are_read_one_at_a_time() -> None:
    from crmcli.io.vcard import read_vcards

    def endless():
        n = 0
        while True:
            n += 1
            yield "BEGIN:VCARD\r\n"
            yield f"FN:Person {n}\r\n"
            yield "END:VCARD\r\n"

    cards = read_vcards(endless())
    assert [next(cards) for _ in range(3)] == [
        (1, {"name": "Person 1"}),
        (4, {"name": "Person 2"}),
        (7, {"name": "Person 3"}),
    ]


def test_a_huge_photo_is_not_kept(tmp_path) -> None:
    from crmcli.io.vcard import logical_lines

    lines = ["BEGIN:VCARD\n", "PHOTO;ENCODING=b:" + "A" * 70 + "\n"]
    lines += [" " + "A" * 70 + "\n"] * 10_000 + ["FN:X\n", "END:VCARD\n"]
    assert list(logical_lines(lines)) == [
        (1, "BEGIN:VCARD"), (2, "PHOTO;ENCODING=b:"), (10_003, "FN:X"), (10_004, "END:VCARD"),
    ]  # fmt: skip


def test_kinds_of_numbers_and_addresses() -> None:
    from crmcli.io.tabular import contact_kind, extra_key

    assert contact_kind(["CELL", "VOICE", "pref"], "phone") == "mobile"
    assert contact_kind(["WORK", "FAX"], "phone") == "fax"
    assert contact_kind(["_$!<HomeFAX>!$_"], "phone") == "fax"
    assert contact_kind(["* Work"], "email") == "work"
    assert contact_kind(["Zalo"], "phone") == "zalo"
    assert contact_kind(["Công ty"], "phone") == "công_ty"
    assert contact_kind(["INTERNET"], "email") is None
    assert contact_kind(["2nd"], "email") is None
    taken: set[str] = set()
    keys = [extra_key("phone", k, taken) for k in ("work", "work", None, None, "fax")]
    assert keys == ["phone_work", "phone_work_2", "phone_2", "phone_3", "phone_fax"]


def test_vobject_is_not_loaded_by_the_reader_module() -> None:
    code = "import sys, crmcli.io.vcard, crmcli.cli.customer; print('vobject' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_installed_crm_reads_and_writes_vcards(db_path: Path, tmp_path: Path) -> None:
    crm = crm_bin()
    card = (FIXTURES / "ios.vcf").read_text(encoding="utf-8")
    result = subprocess.run(
        [crm, "customer", "import", "-", "-f", "vcard"],
        input=card, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == "Added 3, updated 0, unchanged 0, rejected 0\n"
    result = subprocess.run(
        [crm, "customer", "export", "-f", "vcard"], capture_output=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    text = result.stdout.decode("utf-8")
    assert text.count("BEGIN:VCARD\r\n") == 3  # CRLF, as RFC 2426 says
    assert "item1.X-ABLabel:zalo\r\n" in text
    assert "BDAY:--05-17\r\n" in text


# -- anything at all ------------------------------------------------------------------------------


def _fixture_lines() -> list[str]:
    lines: list[str] = []
    for name in ("android.vcf", "ios.vcf", "google.vcf", "khard.vcf", "outlook.vcf"):
        lines += (FIXTURES / name).read_text(encoding="utf-8").splitlines(keepends=True)
    return lines


@pytest.mark.filterwarnings("ignore")
def test_damaged_vcards_are_bad_cards_never_crashes(tmp_path: Path) -> None:
    """Fixture lines shuffled, cut, doubled and mixed with junk: the reader and the importer
    raise nothing but our errors, and a refused import writes nothing."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from crmcli.core import importer
    from crmcli.core import settings as crm_settings
    from crmcli.db import open_db
    from crmcli.errors import CrmError
    from crmcli.io.vcard import read_vcards

    pool = _fixture_lines()
    junk = st.sampled_from([
        "BEGIN:VCARD\r\n", "END:VCARD\r\n", " folded\r\n", "=\r\n", "\r\n", "no colon\r\n",
        "EMAIL:@\r\n", "TEL;VALUE=uri:tel:\r\n", "BDAY:--1399\r\n", "ADR:;;;;;;;;;\r\n",
        "N;ENCODING=QUOTED-PRINTABLE;CHARSET=x-nope:=E9\r\n", "FN;QUOTED-PRINTABLE:=C3\r\n",
        "AGENT:\r\n", "UID:" + "u" * 300 + "\r\n", "FN:\x00\r\n", "CATEGORIES:,,;\r\n",
        'TEL;TYPE="a,b:+1\r\n', "X-CRMCLI-FIELD;NAME=1bad:x\r\n", "item1.X-ABLabel:\r\n",
    ])  # fmt: skip
    lines = st.lists(st.one_of(st.sampled_from(pool), junk, st.text(max_size=30)), max_size=60)
    db = open_db(tmp_path / "fuzz.db", create=True)
    config = crm_settings.load(db)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(lines=lines, skip_bad=st.booleans())
    def check(lines: list[str], skip_bad: bool) -> None:
        before = db.scalar("SELECT count(*) FROM customers")
        try:
            with db.write():
                report = importer.import_customers(
                    db, read_vcards(["BEGIN:VCARD\r\n", *lines]), config, skip_bad=skip_bad
                )
        except CrmError as exc:
            assert str(exc) and "\n" not in str(exc)
            assert db.scalar("SELECT count(*) FROM customers") == before
        else:
            assert skip_bad or not report.rejected
            for _, message in report.rejected:
                assert message and "\n" not in message

    try:
        check()
    finally:
        db.close()
