"""Contacts and deals from other systems: Google Contacts, Outlook and HubSpot CSV exports,
``--map``, ``--encoding``, delimiter sniffing, ``crm deal import``.

The fixtures in tests/fixtures/import/ follow the header rows those programs write.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest

from crmcli.io import tabular
from tests.conftest import FIXTURES, by_name, dump, exported, imported


def deals(crm: Any) -> list[dict[str, Any]]:
    result = crm("deal", "list", "-f", "json")
    assert result.exit_code == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


# -- Google Contacts ----------------------------------------------------------------------------


def test_google_old_export(crm) -> None:
    result = imported(crm, "google_old.csv")
    assert result.stderr.splitlines()[-1] == "Added 3, updated 0, unchanged 0, rejected 0"
    people = by_name(crm)
    an = people["Nguyễn Văn An"]  # the Name column, not the parts
    # "a ::: b" in one cell: the first is the e-mail, the other kept with its label's kind
    assert (an["email"], an["phone"]) == ("an@saigontech.vn", "+84901234567")
    assert an["fields"] == {
        "department": "Kỹ thuật",
        "email_home": "an.home@gmail.com",
        "email_work": "an.nguyen@saigontech.vn",
        "phone_work": "+842838221234",
        "postal_code": "700000",
    }
    assert (an["company"], an["title"], an["birthday"]) == ("Saigon Tech", "CTO", "1985-03-04")
    assert (an["address"], an["city"], an["country"]) == ("12 Lê Lợi", "Hồ Chí Minh", "Việt Nam")
    assert an["tags"] == ["khách-vip", "starred"]  # "* myContacts" is Google's own
    assert an["notes"] == "Khách quen 🍜"
    assert people["Jürgen Groß"]["birthday"] == "--05-17"  # Google's yearless birthday
    assert people["Bé Na 🌸"]["tags"] == ["bạn-bè"]


def test_google_new_export(crm) -> None:
    result = imported(crm, "google_new.csv")
    warning, summary = result.stderr.splitlines()
    assert warning.startswith("warning: ignored columns") and "'Website 1 - Value'" in warning
    assert "Label" not in warning and "Phonetic" not in warning  # labels and empty columns
    assert summary == "Added 3, updated 0, unchanged 0, rejected 0"
    bich, hans, zoe = exported(crm)
    assert bich["name"] == "Trần Thị Bích"
    assert (bich["email"], bich["phone"]) == ("bich@bichco.vn", "+84987654321")
    assert bich["fields"] == {
        "email_other": "bich.tran@gmail.com",
        "nickname": "Bích 🌷",
        "phone_fax": "+842439331234",  # "Work Fax"
        "phone_zalo": "+84911112222",  # a label of the user's own
        "postal_code": "530000",
        "region": "Thừa Thiên Huế",
    }
    assert (bich["birthday"], bich["tags"]) == ("1990-05-17", ["khách-sỉ"])
    assert hans["name"] == "Hans Müller"  # First + Last
    assert (hans["birthday"], hans["tags"]) == ("--12-24", ["kunden", "starred"])
    assert hans["fields"] == {"name_prefix": "Dr."}
    assert zoe["notes"] == "Gặp ở hội chợ\nThích cà phê ☕"


# -- Outlook and HubSpot ------------------------------------------------------------------------


def test_outlook_export(crm) -> None:
    result = imported(crm, "outlook.csv")
    assert result.stderr == "Added 3, updated 0, unchanged 0, rejected 0\n"  # 0/0/00: nothing
    hans, hoa, ed = exported(crm)
    assert hans["name"] == "Hans Müller"
    assert (hans["email"], hans["phone"]) == ("hans.mueller@contoso.de", "+491701234567")
    assert hans["title"] == "Vertriebsleiter"  # Job Title; Outlook's Title is "Dr."
    assert hans["fields"] == {
        "department": "Vertrieb",
        "email_2": "hans@privat.de",
        "name_prefix": "Dr.",
        "phone_fax": "+49301234568",
        "phone_work": "+49301234567",
        "postal_code": "10115",
        "region": "Berlin",
    }
    assert (hans["address"], hans["city"], hans["country"]) == (
        "Hauptstraße 1", "Berlin", "Deutschland",
    )  # fmt: skip
    assert (hans["birthday"], hans["tags"]) == ("1980-05-17", ["kunden", "vip"])
    assert (hoa["name"], hoa["company"], hoa["birthday"]) == ("Hoa Thị Lê", "Hoa Shop 🌺", None)
    assert ed["notes"] == "Met at the fair, Dublin\nCall in May"


def test_hubspot_contacts_export(crm) -> None:
    result = imported(crm, "hubspot_contacts.csv")
    assert result.stderr.splitlines() == [
        "warning: ignored columns (not customer fields; name a column field.KEY to keep it as "
        "a custom field, or use --map): 'Lead Status', 'Contact owner', 'Create Date', "
        "'Last Activity Date'",
        "Added 3, updated 0, unchanged 0, rejected 0",
    ]
    minh, anna, chloe = exported(crm)
    assert (minh["name"], minh["email"], minh["phone"]) == (
        "Minh Phạm", "minh@phamgroup.vn", "+842838221234",
    )  # fmt: skip
    assert minh["fields"] == {
        "lifecycle_stage": "customer",
        "phone_mobile": "+84902223333",
        "postal_code": "700000",
        "record_id": "51",
    }
    assert (minh["company"], minh["title"], minh["source"]) == (
        "Phạm Group", "CEO", "Offline Sources",
    )  # fmt: skip
    assert anna["phone"] == "+4915123456789"  # the mobile, when there is no other phone
    assert anna["fields"]["region"] == "Bayern"
    assert chloe["name"] == "Chloé Martin 😀"


def test_a_deal_export_is_refused_by_the_customer_import(crm, db_path) -> None:
    result = crm("customer", "import", str(FIXTURES / "hubspot_deals.csv"))
    assert result.exit_code == 1
    assert result.stderr == (
        "crm: error: this looks like a deal export (it has a 'Deal Name' column), not "
        "contacts; import it with: crm deal import FILE\n"
    )
    assert not db_path.exists() or exported(crm) == []


# -- crm deal import ------------------------------------------------------------------------------

STAGES = ("--stage", "Contract Sent=negotiation", "--stage", "appointment scheduled=new")


def test_deal_import_of_a_hubspot_export(crm, db_path) -> None:
    imported(crm, "hubspot_contacts.csv")
    before = dump(db_path)
    result = crm("deal", "import", str(FIXTURES / "hubspot_deals.csv"))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:2] == [
        "line 2: invalid stage 'Contract Sent': no such stage; the stages are: new, qualified, "
        "proposal, negotiation, won, lost (map it: --stage 'Contract Sent=STAGE')",
        "line 3: invalid stage 'Appointment Scheduled': no such stage; the stages are: new, "
        "qualified, proposal, negotiation, won, lost (map it: --stage "
        "'Appointment Scheduled=STAGE')",
    ]
    assert dump(db_path) == before

    result = crm("deal", "import", str(FIXTURES / "hubspot_deals.csv"), *STAGES, "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[-1] == "Would add 4, update 0, leave 0 unchanged, reject 0"
    assert dump(db_path) == before

    result = crm("deal", "import", str(FIXTURES / "hubspot_deals.csv"), *STAGES)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [
        "warning: ignored columns (not deal fields): 'Record ID', 'Pipeline', 'Deal owner'",
        "Added 4, updated 0, unchanged 0, rejected 0",
    ]
    site, server, licence, pilot = deals(crm)
    assert (site["title"], site["customer"], site["stage"]) == (
        "Website redesign 🌐", "Minh Phạm", "negotiation",
    )  # fmt: skip
    assert (site["amount"], site["currency"], site["close_date"]) == (1200000, "USD", "2026-12-15")
    assert (server["customer"], server["amount"], server["currency"]) == (
        "Minh Phạm",
        450000000,
        "VND",
    )  # fmt: skip  (found by the e-mail in Associated Contact)
    assert (licence["status"], licence["amount"], licence["currency"]) == ("won", 480050, "EUR")
    assert (pilot["status"], pilot["lost_reason"], pilot["amount"]) == (
        "lost", "lost before the import", None,
    )  # fmt: skip

    again = crm("deal", "import", str(FIXTURES / "hubspot_deals.csv"), *STAGES)
    assert again.stderr.splitlines()[-1] == "Added 0, updated 0, unchanged 4, rejected 0"
    assert len(deals(crm)) == 4


def test_deal_import_with_missing_customers(crm, db_path, tmp_path) -> None:
    src = tmp_path / "deals.csv"
    src.write_text(
        "Deal Name,Amount,Associated Company,Associated Contact\n"
        "Cà phê cho văn phòng,1.500.000 VND,Huế Coffee,\n"
        "Second order,200,Huế Coffee,\n"
        "No one,10,,\n",
        encoding="utf-8",
    )
    result = crm("deal", "import", str(src))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "line 2: no customer 'Huế Coffee'; import the contacts first, or use --create-customers",
        "line 3: no customer 'Huế Coffee'; import the contacts first, or use --create-customers",
        "line 4: no customer (an Associated Contact, Associated Company or customer)",
        "crm: error: 3 bad rows; nothing imported (no good rows)",
    ]
    result = crm("deal", "import", str(src), "--create-customers", "--skip-bad")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "Added 2, updated 0, unchanged 0, rejected 1; 1 new customer"
    )
    [customer] = exported(crm)
    assert (customer["name"], customer["company"]) == ("Huế Coffee", "Huế Coffee")
    assert [(d["title"], d["customer_id"]) for d in deals(crm)] == [
        ("Cà phê cho văn phòng", 1), ("Second order", 1),
    ]  # fmt: skip


def test_deal_import_is_undone_by_undo(crm, db_path) -> None:
    def data() -> list[tuple[object, ...]]:  # the audit trail and command log keep growing
        return [row for row in dump(db_path) if row[0] not in ("audit", "commands")]

    imported(crm, "hubspot_contacts.csv")
    before = data()
    result = crm("deal", "import", str(FIXTURES / "hubspot_deals.csv"), "--stage",
                 "Contract Sent=negotiation", "--skip-bad")  # fmt: skip
    assert result.exit_code == 1  # one bad row, three deals and their stage changes in
    assert len(deals(crm)) == 3
    result = crm("undo", "--yes")
    assert result.exit_code == 0, result.stderr
    assert data() == before


def test_deal_import_reads_crm_deal_list_output(crm, tmp_path) -> None:
    imported(crm, "hubspot_contacts.csv")
    assert crm("deal", "import", str(FIXTURES / "hubspot_deals.csv"), *STAGES).exit_code == 0
    listed = tmp_path / "deals.csv"
    listed.write_text(crm("deal", "list", "-f", "csv").stdout, encoding="utf-8")
    fresh = tmp_path / "fresh.db"
    result = crm("--db", str(fresh), "deal", "import", str(listed), "--create-customers")
    assert result.exit_code == 0, result.stderr
    got = deals(crm) and json.loads(crm("--db", str(fresh), "deal", "list", "-f", "json").stdout)
    assert [(d["title"], d["stage"], d["amount"], d["currency"]) for d in got] == [
        (d["title"], d["stage"], d["amount"], d["currency"]) for d in deals(crm)
    ]  # amounts in minor units are read as such


# -- --map ------------------------------------------------------------------------------------

GERMAN_MAP = (
    "--map", "Vorname=first_name", "--map", "Nachname=last_name", "--map", "E-Mail=email",
    "--map", "Telefon=phone", "--map", "Firma=company", "--map", "ort=city",
    "--map", "Geburtstag=birthday", "--map", "Notizen=notes",
)  # fmt: skip


def test_map_encoding_and_semicolons_together(crm) -> None:
    """A German Excel export: Windows-1252, semicolons, German headers."""
    result = imported(crm, "excel_de_cp1252.csv", "--encoding", "cp1252", *GERMAN_MAP)
    assert result.stderr == "Added 2, updated 0, unchanged 0, rejected 0\n"
    juergen, renee = exported(crm)
    assert (juergen["name"], juergen["email"], juergen["company"], juergen["city"]) == (
        "Jürgen Groß", "juergen@gross.de", "Groß & Söhne GmbH", "Köln",
    )  # fmt: skip
    assert juergen["birthday"] == "1975-04-03"  # 03.04.1975, day first
    assert juergen["notes"] == "Straße, Hausnummer; ÄÖÜ äöü ß €"
    assert (renee["name"], renee["company"], renee["city"]) == (
        "Renée Lefèvre", "Café Crème", "Genève",
    )  # fmt: skip


def test_map_to_custom_fields_extra_phones_and_nothing(crm, tmp_path) -> None:
    src = tmp_path / "shop.csv"
    src.write_text(
        "Kunde,Zalo,Größe,Intern,Mail\nAnh,+84 91 111 2222,L,x,anh@example.vn\n",
        encoding="utf-8",
    )
    result = crm("customer", "import", str(src), "--map", "Kunde=name", "--map",
                 "Zalo=phone_zalo", "--map", "Größe=field.size", "--map", "Intern=-")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "Added 1, updated 0, unchanged 0, rejected 0\n"  # Mail: an alias
    [anh] = exported(crm)
    assert (anh["name"], anh["email"], anh["phone"]) == ("Anh", "anh@example.vn", None)
    assert anh["fields"] == {"phone_zalo": "+84911112222", "size": "L"}


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("Vorname=vorname", "invalid --map 'Vorname=vorname': unknown field 'vorname'; use name, "
         "first_name, middle_name, last_name, email, phone, company, title, address, city, "
         "country, birthday, source, notes, tags, uid, created_at, field.KEY (a custom field), "
         "email_KIND or phone_KIND (another e-mail or phone, e.g. phone_work), or - (leave the "
         "column out)"),
        ("Vorname", "invalid --map 'Vorname': write it as COLUMN=FIELD, e.g. Vorname=first_name"),
        ("X=field.1x", "invalid --map 'X=field.1x': the key must start with a letter"),
        ("X=field.name", "invalid --map 'X=field.name': name is a standard field; use --name"),
    ],
)  # fmt: skip
def test_map_to_an_unknown_field_is_a_usage_error(crm, db_path, option, message) -> None:
    result = crm("customer", "import", str(FIXTURES / "semicolon.csv"), "--map", option)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"crm: error: {message}")
    assert not db_path.exists()


def test_map_names_a_column_the_file_lacks(crm, db_path) -> None:
    result = crm("customer", "import", str(FIXTURES / "semicolon.csv"), "--map", "Vorname=name")
    assert result.exit_code == 2
    assert result.stderr == (
        "crm: error: --map names 'Vorname', which is not a column of the file; its columns "
        "are: 'Name', 'Email', 'Phone', 'Company', 'City', 'Notes'\n"
    )
    assert not db_path.exists() or exported(crm) == []


# -- encodings ----------------------------------------------------------------------------------


def test_not_utf8_names_the_line_and_suggests_encoding(crm, tmp_path, db_path) -> None:
    result = crm("customer", "import", str(FIXTURES / "excel_de_cp1252.csv"), *GERMAN_MAP)
    assert result.exit_code == 1
    assert result.stderr == (
        f"crm: error: {FIXTURES / 'excel_de_cp1252.csv'}: line 2 is not UTF-8 text (byte 0xfc); "
        "say which encoding the file is in, e.g. --encoding cp1252 (Windows, Western Europe), "
        "--encoding windows-1258 (Vietnamese) or --encoding latin-1, or save it as UTF-8 (in "
        "Excel: CSV UTF-8)\n"
    )
    far = tmp_path / "far.csv"  # the bad byte far past the first block read
    far.write_bytes(
        b"name,email\n" + b"".join(b"P%d,p%d@x.io\n" % (i, i) for i in range(20_000))
        + "Jos\u00e9,jose@x.io\n".encode("latin-1")
    )  # fmt: skip
    result = crm("customer", "import", str(far))
    assert result.exit_code == 1
    assert "line 20002 is not UTF-8 text (byte 0xe9)" in result.stderr
    wrong = crm("customer", "import", str(far), "--encoding", "ascii")
    assert "line 20002 is not ascii text (byte 0xe9); check the --encoding" in wrong.stderr
    assert not db_path.exists() or exported(crm) == []
    unknown = crm("customer", "import", str(far), "--encoding", "klingon")
    assert unknown.exit_code == 2
    assert "unknown encoding 'klingon'" in unknown.stderr


def test_vietnamese_windows_1258(crm) -> None:
    imported(crm, "vietnamese_cp1258.csv", "--encoding", "windows-1258")
    anh, manh = exported(crm)
    assert anh["name"] == "Nguyễn Thị Ánh"  # stored NFC (1258 writes some marks apart)
    assert (manh["name"], manh["city"]) == ("Đặng Đức Mạnh", "Đà Nẵng")
    search = crm("customer", "list", "--search", "nguyen", "-f", "ids")
    assert search.stdout == "1\n"


def test_utf16_with_a_byte_order_mark(crm, tmp_path) -> None:
    text = "Name\tEmail\tCity\r\nNguyễn Thị Ánh 🌸\tanh@example.vn\tHà Nội\r\n"
    src = tmp_path / "unicode.txt"  # Excel's "Unicode Text": UTF-16 LE with a BOM, tabs
    src.write_bytes(text.encode("utf-16"))
    result = crm("customer", "import", str(src))
    assert result.exit_code == 0, result.stderr
    src.write_bytes(text.encode("utf-16-be"))  # no BOM: only with --encoding
    result = crm("customer", "import", str(src), "--encoding", "utf-16-be")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "Added 0, updated 0, unchanged 1, rejected 0\n"
    [anh] = exported(crm)
    assert (anh["name"], anh["city"]) == ("Nguyễn Thị Ánh 🌸", "Hà Nội")


# -- delimiters -------------------------------------------------------------------------------


def test_semicolons_pipes_and_tabs_are_sniffed(crm) -> None:
    imported(crm, "semicolon.csv")
    imported(crm, "pipe.txt")
    people = by_name(crm)
    lukasz = people["Łukasz Nowak"]
    assert (lukasz["company"], lukasz["notes"]) == (
        "Nowak, Kowalski i Wspólnicy", "Zadzwonić; po 17:00",
    )  # fmt: skip
    assert people["Émile Zola 📚"]["city"] == "Paris"
    assert people["Ingrid Østergård"]["city"] == "Aarhus"


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("name,email\nAn,an@x.io\n", ","),
        ('Name;Notes\n"A";"x, y, z"\nB;"q,r"\n', ";"),
        ('Name,Notes\n"A","x; y; z"\nB,"q;r"\n', ","),
        ("a|b|c\n1|2|3\n", "|"),
        ('a\tb\n"1, 2"\t3\n', "\t"),
        ("name\nAn\n", ","),  # one column
        ('Vorname;Nachname;E-Mail\nJürgen;Groß;"j@x.de"\nAnna;Schmidt, Dr.;a@x.de\n', ";"),
        ("name;email\n" + "An;an@x.io\n" * 100 + "cut off in the mid", ";"),
    ],
)
def test_sniff_delimiter(text: str, delimiter: str) -> None:
    assert tabular.sniff_delimiter(text) == delimiter


def test_delimiter_option(crm, tmp_path, db_path) -> None:
    src = tmp_path / "odd.csv"
    src.write_text("name;city,country\nAn;Huế,VN\n", encoding="utf-8")  # sniffing says ","
    result = crm("customer", "import", str(src), "--delimiter", ";")
    assert result.exit_code == 0, result.stderr
    assert exported(crm)[0]["name"] == "An"
    assert crm("customer", "import", str(src), "--delimiter", "ab").exit_code == 2
    result = crm("customer", "import", str(FIXTURES / "khard.vcf"), "--delimiter", "tab")
    assert result.exit_code == 2
    assert "--delimiter is for CSV files" in result.stderr


# -- the rest -------------------------------------------------------------------------------------


def test_dry_run_of_a_mapped_import_writes_nothing(crm, tmp_path, db_path) -> None:
    result = crm("customer", "import", str(FIXTURES / "google_new.csv"), "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[-1] == "Would add 3, update 0, leave 0 unchanged, reject 0"
    assert not db_path.exists()  # not even created
    imported(crm, "outlook.csv")
    before = dump(db_path)
    result = crm("customer", "import", str(FIXTURES / "google_old.csv"), "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert dump(db_path) == before


def test_the_lead_import_still_takes_the_first_email_and_phone(crm, db_path) -> None:
    result = crm("lead", "import", str(FIXTURES / "outlook.csv"), "--source", "event")
    assert result.exit_code == 0, result.stderr
    assert "extra." not in result.stderr and "email_2" not in result.stderr
    leads = json.loads(crm("lead", "list", "-f", "json").stdout)
    assert [(lead["name"], lead["email"], lead["phone"]) for lead in leads] == [
        ("Hans Müller", "hans.mueller@contoso.de", "+491701234567"),
        ("Hoa Thị Lê", "hoa@hoashop.vn", "0912 345 678"),
        ("Ed O'Neil", "ed@oneil.ie", None),
    ]
    result = crm("lead", "import", "-", "-f", "jsonl", input='{"name": "Stdin Lead"}\n')
    assert result.exit_code == 0, result.stderr


def test_every_extra_is_validated_like_the_main_one(crm, tmp_path, db_path) -> None:
    src = tmp_path / "outlook.csv"
    src.write_text(
        "First Name,E-mail Address,E-mail 2 Address,Mobile Phone,Business Phone\n"
        "Ann,ann@x.io,ANN@x.io,+84 91 111 2222,+84 91 111 2222\n"
        "Bob,bob@x.io,not-an-email,,\n"
        "Cy,cy@x.io,,0912,\n",
        encoding="utf-8",
    )
    result = crm("customer", "import", str(src))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:2] == [  # a bad extra is kept as text, a bad main one
        "warning: line 3: email_2 'not-an-email' is not an e-mail address (An email address "
        "must have an @-sign.); kept as text in the custom field email_2",
        "line 4: invalid phone '0912': too few digits",
    ]
    result = crm("customer", "import", str(src), "--skip-bad")
    ann, bob = exported(crm)
    assert ann["fields"] == {}  # the same address and number again are not kept twice
    assert bob["fields"] == {"email_2": "not-an-email"}
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 2
    conn.close()


def test_numbers_too_long_for_python_are_bad_rows(crm, tmp_path) -> None:
    src = tmp_path / "big.jsonl"
    src.write_text(
        '{"name": "A", "fields": "' + "9" * 5000 + '"}\n{"name": ' + "9" * 5000 + "}\n",
        encoding="utf-8",
    )
    result = crm("customer", "import", str(src))
    assert result.exit_code == 1
    first, second = result.stderr.splitlines()[:2]
    assert first.startswith("line 1: invalid fields '9999")
    assert first.endswith('…\': not a JSON object like {"size": "L"}')
    assert second == "line 2: not valid JSON: a number with too many digits"
