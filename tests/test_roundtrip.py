"""Round trips keep records with their owners: ``crm deal list`` and ``crm lead list``
output imported into another database, HubSpot's closed deals, vCard quirks of real
address books, names in their own order, and calendar rules other clients expand alike."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, add, dump, query


def deals_of(crm: Any, db: Path | None = None) -> list[dict[str, Any]]:
    args = ("--db", str(db)) if db is not None else ()
    result = crm(*args, "deal", "list", "-f", "json")
    assert result.exit_code == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


KEPT = (
    "uid", "title", "customer", "customer_uid", "customer_email", "stage", "status", "amount",
    "currency", "probability", "close_date", "closed_at", "lost_reason", "contract_number",
    "contract_start", "contract_end", "payment_due", "paid_at", "notes", "created_at",
)  # fmt: skip


def _seller_database(crm: Any) -> None:
    """Three customers; deals won (with contract and payment), lost and open."""
    add(crm, "Nguyễn Văn An", "--email", "an@example.vn")
    bich = add(crm, "Trần Thị Bích", "--email", "bich@example.vn")
    add(crm, "Lê Văn Cường")  # no e-mail: found by uid, or by name
    assert crm("deal", "add", "Kho lạnh", "--customer", str(bich), "--amount",
               "120.000.000 VND").exit_code == 0  # fmt: skip
    contract = ("--contract-number", "HD-7", "--contract-start", "2026-12-01", "--contract-end",
                "2027-11-30", "--payment-due", "2026-12-31")  # fmt: skip
    won = crm("deal", "won", "1", *contract)
    assert won.exit_code == 0, won.stderr
    assert crm("deal", "paid", "1").exit_code == 0
    assert crm("deal", "add", "Pilot", "--customer", "3", "--amount", "5.000.000 VND",
               "--probability", "40").exit_code == 0  # fmt: skip
    assert crm("deal", "lost", "2", "--reason", "giá cao").exit_code == 0
    assert crm("deal", "add", "Phần mềm", "--customer", "1", "--close", "2027-01-15",
               "--note", "gọi lại").exit_code == 0  # fmt: skip


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_deal_list_imports_into_another_database_on_the_right_customers(
    crm: Any, tmp_path: Path, fmt: str
) -> None:
    _seller_database(crm)
    source = deals_of(crm)
    listed = tmp_path / f"deals.{fmt}"
    listed.write_text(crm("deal", "list", "-f", fmt).stdout, encoding="utf-8")
    other = tmp_path / "other.db"
    # There, customer 2 is someone else; Bích is 3 (found by e-mail), Cường 4 (by name).
    for args in (["Someone Else"], ["Nobody"], ["Trần Thị Bích", "--email", "bich@example.vn"],
                 ["Lê Văn Cường"], ["Nguyễn Văn An", "--email", "an@example.vn"]):  # fmt: skip
        assert crm("--db", str(other), "customer", "add", *args).exit_code == 0
    result = crm("--db", str(other), "deal", "import", str(listed))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "Added 3, updated 0, unchanged 0, rejected 0\n"
    got = {d["title"]: d for d in deals_of(crm, other)}
    owners = {t: (d["customer_id"], d["customer"]) for t, d in got.items()}
    assert owners == {
        "Kho lạnh": (3, "Trần Thị Bích"), "Pilot": (4, "Lê Văn Cường"),
        "Phần mềm": (5, "Nguyễn Văn An"),
    }  # fmt: skip
    for deal in source:
        mine = got[deal["title"]]
        keep = [k for k in KEPT if k != "customer_uid"]  # the customers there are others
        assert {k: mine[k] for k in keep} == {k: deal[k] for k in keep}
    won = got["Kho lạnh"]
    # Paid: no open invoice is left, so no payment is due; paid_at is when it was paid.
    assert (won["contract_number"], won["contract_end"], won["payment_due"]) == (
        "HD-7", "2027-11-30", None,
    )  # fmt: skip
    assert won["paid_at"] and won["closed_at"] and got["Pilot"]["lost_reason"] == "giá cao"
    again = crm("--db", str(other), "deal", "import", str(listed))
    assert again.stderr.splitlines()[-1] == "Added 0, updated 0, unchanged 3, rejected 0"


def test_deal_list_into_a_fresh_database_keeps_customers_by_uid(crm: Any, tmp_path: Path) -> None:
    _seller_database(crm)
    listed = tmp_path / "deals.csv"
    listed.write_text(crm("deal", "list", "-f", "csv").stdout, encoding="utf-8")
    fresh = tmp_path / "fresh.db"
    result = crm("--db", str(fresh), "deal", "import", str(listed), "--create-customers")
    assert result.exit_code == 0, result.stderr
    source = deals_of(crm)
    got = deals_of(crm, fresh)
    assert [{k: d[k] for k in KEPT} for d in got] == [{k: d[k] for k in KEPT} for d in source]
    # and back again: every deal is found by its uid, every customer by theirs
    back = tmp_path / "back.csv"
    back.write_text(crm("--db", str(fresh), "deal", "list", "-f", "csv").stdout, "utf-8")
    again = crm("deal", "import", str(back))
    assert again.stderr == "Added 0, updated 0, unchanged 3, rejected 0\n"


def test_a_repeat_order_under_an_old_title_comes_across(crm: Any, tmp_path: Path) -> None:
    """Two deals of one customer with one title are two deals (their uids differ); only a
    file without uids takes the same title for the same deal."""
    cid = add(crm, "Phạm Thu Hà", "--email", "ha@example.vn")
    for amount in ("10.000.000 VND", "12.000.000 VND"):
        assert crm("deal", "add", "Phân bón", "--customer", str(cid), "--amount",
                   amount).exit_code == 0  # fmt: skip
    listed = tmp_path / "deals.csv"
    listed.write_text(crm("deal", "list", "-f", "csv").stdout, encoding="utf-8")
    fresh = tmp_path / "fresh.db"
    result = crm("--db", str(fresh), "deal", "import", str(listed), "--create-customers")
    assert result.stderr == "Added 2, updated 0, unchanged 0, rejected 0; 1 new customer\n"
    assert [d["amount"] for d in deals_of(crm, fresh)] == [10000000, 12000000]
    no_uids = tmp_path / "no-uids.csv"
    no_uids.write_text("title,customer_email,amount\nPhân bón,ha@example.vn,9000000\n", "utf-8")
    again = crm("--db", str(fresh), "deal", "import", str(no_uids))
    assert again.stderr == "Added 0, updated 0, unchanged 1, rejected 0\n"


def test_a_deal_whose_customer_is_not_there_is_a_bad_row(crm: Any, tmp_path: Path) -> None:
    _seller_database(crm)
    listed = tmp_path / "deals.csv"
    listed.write_text(crm("deal", "list", "-f", "csv").stdout, encoding="utf-8")
    other = tmp_path / "other.db"
    for name in ("Someone Else", "Second", "Third"):  # ids 1-3 are taken by others
        assert crm("--db", str(other), "customer", "add", name).exit_code == 0
    before = dump(other)
    result = crm("--db", str(other), "deal", "import", str(listed))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "line 2: no customer 'Trần Thị Bích'; import the contacts first, or use --create-customers",
        "line 3: no customer 'Lê Văn Cường'; import the contacts first, or use --create-customers",
        "line 4: no customer 'Nguyễn Văn An'; import the contacts first, or use --create-customers",
        "crm: error: 3 bad rows; nothing imported (no good rows)",
    ]
    assert dump(other) == before


def test_hubspot_closed_deals_keep_their_close_date(crm: Any) -> None:
    from tests.conftest import imported

    imported(crm, "hubspot_contacts.csv")
    result = crm("deal", "import", str(FIXTURES / "hubspot_deals.csv"), "--stage",
                 "Contract Sent=negotiation", "--stage", "appointment scheduled=new")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    got = {d["title"]: d for d in deals_of(crm)}
    won, lost = got["Jahreslizenz"], got["Pilot 😀"]
    # Noon local time (Asia/Ho_Chi_Minh, UTC+7) on the close date; created when HubSpot says.
    assert won["closed_at"] == "2026-11-20T05:00:00Z"
    assert won["created_at"] == "2026-08-10T02:00:00Z"
    assert lost["closed_at"] == "2026-10-30T05:00:00Z"
    assert lost["created_at"] == "2026-07-01T02:00:00Z"
    assert got["Website redesign 🌐"]["closed_at"] is None
    # An old loss is not this month's: October's report has it, November's has the win only.
    october = crm("report", "sales", "--from", "2026-10-01", "--to", "2026-10-31", "--section",
                  "periods", "-f", "json")  # fmt: skip
    november = crm("report", "sales", "--period", "this-month", "--section", "periods", "-f",
                   "json")  # fmt: skip
    assert october.exit_code == november.exit_code == 0, october.stderr + november.stderr
    assert [(r["period"], r["won"], r["lost"]) for r in json.loads(october.stdout)] == [
        ("2026-10", 0, 1)
    ]
    assert [(r["period"], r["currency"], r["won"], r["lost"], r["won_value"])
            for r in json.loads(november.stdout)] == [("2026-11", "EUR", 1, 0, 480050)]  # fmt: skip


def test_hubspot_original_traffic_source_is_the_source(crm: Any) -> None:
    from tests.conftest import by_name, imported

    imported(crm, "hubspot_contacts_2025.csv")
    people = by_name(crm)
    assert people["Minh Phạm"]["source"] == "Offline Sources"
    assert people["Anna Schmidt"]["source"] == "Organic Search"


# -- leads ------------------------------------------------------------------------------------

LEAD_KEPT = (
    "uid", "name", "email", "phone", "company", "source", "score", "status",
    "lost_reason", "tags", "notes", "converted_at", "status_changed_at", "created_at",
)  # fmt: skip


def _leads(crm: Any, db: Path | None = None) -> list[dict[str, Any]]:
    args = ("--db", str(db)) if db is not None else ()
    result = crm(*args, "lead", "list", "-f", "json")
    assert result.exit_code == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def test_lead_list_imports_back_with_converted_and_lost_leads(crm: Any, tmp_path: Path) -> None:
    for args in (
        ("Võ Minh Tuấn", "--email", "tuan@example.vn", "--source", "event", "--tag", "hội-chợ"),
        ("Hoàng Thị Đào", "--email", "dao@example.vn", "--score", "45"),
        ("Klaus Weber", "--email", "klaus@example.de"),
    ):
        assert crm("lead", "add", *args).exit_code == 0
    assert crm("lead", "convert", "1", "--deal", "Máy pha cà phê").exit_code == 0
    assert crm("lead", "status", "3", "lost", "--reason", "no budget, this year").exit_code == 0
    listed = tmp_path / "leads.csv"
    listed.write_text(crm("lead", "list", "-f", "csv").stdout, encoding="utf-8")
    fresh = tmp_path / "fresh.db"
    result = crm("--db", str(fresh), "lead", "import", str(listed))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "Added 3, updated 0, unchanged 0, rejected 0\n"
    assert result.stdout == ""
    source, got = _leads(crm), _leads(crm, fresh)
    assert [{k: d[k] for k in LEAD_KEPT} for d in got] == [
        {k: d[k] for k in LEAD_KEPT} for d in source
    ]
    assert [d["status"] for d in got] == ["converted", "new", "lost"]
    assert (got[0]["customer_id"], got[0]["deal_id"]) == (None, None)  # ids of the other database
    again = crm("--db", str(fresh), "lead", "import", str(listed))
    assert again.stderr == "Added 0, updated 0, unchanged 3, rejected 0\n"


# -- vCard files as address books write them ----------------------------------------------------


def test_vcard_folded_inside_a_utf8_character(crm: Any) -> None:
    """ownCloud folds at 75 octets even inside a character: the halves are joined first."""
    from tests.conftest import by_name, imported

    raw = (FIXTURES / "owncloud.vcf").read_bytes()
    halves = 0
    for line in raw.split(b"\r\n"):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            halves += 1
    assert halves >= 4  # the fixture really cuts characters
    result = imported(crm, "owncloud.vcf")
    assert result.stderr == "Added 2, updated 0, unchanged 0, rejected 0\n"
    people = by_name(crm)
    thao = people["Nguyễn Thị Phương Thảo (Công ty TNHH Thương mại Dịch vụ Đồng Tháp)"]
    assert thao["company"] == "Công ty TNHH Thương mại Dịch vụ Xuất nhập khẩu Đồng Tháp"
    assert thao["notes"] == (
        "Khách hàng thân thiết từ năm 2019, thích cà phê sữa đá và bánh mì thịt nướng ở chợ "
        "Bến Thành"
    )
    assert people["Ελένη Παπαδοπούλου"]["notes"] == (
        "Συνάντηση στη Θεσσαλονίκη για το νέο συμβόλαιο προμήθειας καφέ 😀 τον Μάρτιο"
    )


def test_vcard_21_charset_on_a_plain_8bit_value(crm: Any) -> None:
    from tests.conftest import by_name, imported

    assert b"M\xfcller" in (FIXTURES / "nokia_latin1.vcf").read_bytes()  # Latin-1 bytes
    imported(crm, "nokia_latin1.vcf")
    juergen = by_name(crm)["Jürgen Müller"]
    assert (juergen["company"], juergen["address"], juergen["city"]) == (
        "Bäckerei Müller GmbH", "Königstraße 5", "München",
    )  # fmt: skip


def test_vcard_latin1_lines_that_end_in_an_accented_letter(crm: Any, tmp_path: Path) -> None:
    """A Latin-1 byte at a line's end is not taken for the start of a UTF-8 character."""
    from tests.conftest import by_name

    src = tmp_path / "latin.vcf"
    src.write_bytes(
        "BEGIN:VCARD\r\nVERSION:2.1\r\nFN;CHARSET=ISO-8859-1:José\r\n"
        "NOTE;CHARSET=ISO-8859-1:Café crème\r\n  brûlée\r\nEND:VCARD\r\n".encode("latin-1")
    )
    result = crm("customer", "import", str(src))
    assert result.exit_code == 0, result.stderr
    assert by_name(crm)["José"]["notes"] == "Café crème brûlée"


def test_vcard_a_line_in_no_charset_still_names_its_line(crm: Any, tmp_path: Path) -> None:
    src = tmp_path / "bad.vcf"
    src.write_bytes(b"BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Ren\xe9\r\nEND:VCARD\r\n")
    result = crm("customer", "import", str(src))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"crm: error: {src}: line 3 is not UTF-8 text (byte 0xe9)")


def test_vcard_cr_cr_lf_line_ends(crm: Any) -> None:
    from tests.conftest import by_name, imported

    assert b"\r\r\n" in (FIXTURES / "windows_crcrlf.vcf").read_bytes()
    imported(crm, "windows_crcrlf.vcf")
    people = by_name(crm)
    assert people["Lê Văn Hưng"]["notes"] == (
        "Gặp ở hội chợ, gọi lại sau Tết về đơn hàng máy lọc nước cho văn phòng và nhà xưởng"
    )
    assert people["Lê Văn Hưng"]["phone"] == "+84901112222"
    assert "Đỗ Minh Đức" in people  # quoted-printable soft line break before CR CR LF


# -- one bad secondary phone or e-mail ----------------------------------------------------------


def test_a_bad_secondary_phone_or_email_is_kept_as_text_not_a_rejected_contact(crm: Any) -> None:
    from tests.conftest import by_name

    result = crm("customer", "import", str(FIXTURES / "service_numbers.vcf"))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "warning: line 1: email_work 'huy(at)congty.vn' is not an e-mail address (An email "
        "address must have an @-sign.); kept as text in the custom field email_work",
        "warning: line 1: phone_work '112' is not a phone number (too few digits); kept as "
        "text in the custom field phone_work",
        "warning: line 11: phone_work '999' is not a phone number (too few digits); kept as "
        "text in the custom field phone_work",
        "Added 2, updated 0, unchanged 0, rejected 0",
    ]
    people = by_name(crm)
    huy = people["Trần Quốc Huy"]
    assert (huy["phone"], huy["email"]) == ("+84907654321", "huy@example.vn")
    assert huy["fields"] == {
        "email_work": "huy(at)congty.vn",
        "phone_home": "+842838229999",
        "phone_work": "112",
    }  # fmt: skip  (the bidi marks around the home number are gone)
    mariam = people["مريم حداد"]
    assert (mariam["phone"], mariam["fields"]) == ("+971501234567", {"phone_work": "999"})


def test_a_bad_secondary_phone_in_a_google_csv(crm: Any) -> None:
    from tests.conftest import by_name

    result = crm("customer", "import", str(FIXTURES / "google_service_numbers.csv"))
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [
        "warning: line 2: phone_work '113' is not a phone number (too few digits); kept as "
        "text in the custom field phone_work",
        "Added 2, updated 0, unchanged 0, rejected 0",
    ]
    khoa = by_name(crm)["Phạm Minh Khoa"]
    assert (khoa["phone"], khoa["fields"]) == ("+84912223333", {"phone_work": "113"})


def test_a_row_rejected_for_another_reason_has_no_warnings(crm: Any, tmp_path: Path) -> None:
    src = tmp_path / "people.csv"
    src.write_text(
        "name,email,work phone,birthday\nAn,an@example.vn,112,not a date\nBình,,,\n",
        encoding="utf-8",
    )
    result = crm("customer", "import", str(src), "--skip-bad")
    assert result.exit_code == 1
    assert [line for line in result.stderr.splitlines() if "112" in line] == []
    assert result.stderr.splitlines()[0].startswith("line 2: invalid birthday 'not a date'")


# -- calendar rules every client expands alike --------------------------------------------------


def _calendar_schedule(crm: Any, start: datetime, end: datetime) -> dict[str, list[datetime]]:
    """The reminders' times from ``start`` to ``end`` as a calendar program computes them
    from the exported file (recurring_ical_events over icalendar)."""
    import icalendar
    import recurring_ical_events

    result = crm("remind", "export", "--ics", "-")
    assert result.exit_code == 0, result.stderr
    assert "BYSETPOS" not in result.stdout  # Thunderbird's ical.js ignores it
    calendar = icalendar.Calendar.from_ical(result.stdout)
    found: dict[str, list[datetime]] = {}
    for event in recurring_ical_events.of(calendar).between(start, end):
        when = event.decoded("DTSTART")  # floating, or in the calendar's X-WR-TIMEZONE
        found.setdefault(str(event["SUMMARY"]), []).append(when.replace(tzinfo=None))
    return {name: sorted(times) for name, times in found.items()}


def _crm_schedule(db: Path, start: datetime, end: datetime) -> dict[str, list[datetime]]:
    """The same from crm's own recurrence code (the stored rule, from the anchor)."""
    from crmcli.core import recurrence
    from crmcli.dates import from_utc_iso

    found: dict[str, list[datetime]] = {}
    for text, anchor, rule in query(db, "SELECT text, anchor_at, rule FROM reminders"):
        local = from_utc_iso(anchor).astimezone()
        times = []
        for moment in recurrence.occurrences(rule, local, local - timedelta(seconds=1)):
            wall = moment.replace(tzinfo=None)
            if wall >= end:
                break
            if wall >= start:
                times.append(wall)
        found[text] = times
    return found


def test_exported_month_end_rules_expand_like_crms_own_schedule(crm: Any, db_path: Path) -> None:
    for text, at, every in (
        ("Invoice on the 31st", "2026-12-31 09:00", "monthly"),
        ("Rent on the 30th", "2027-01-30 09:00", "monthly"),
        ("Check on the 29th", "2027-01-29 08:00", "monthly"),
        ("Leap-day renewal", "2028-02-29 10:00", "yearly"),
        ("Weekly call", "2026-12-01 14:00", "weekly"),
    ):
        result = crm("remind", "add", text, "--at", at, "--every", every)
        assert result.exit_code == 0, result.stderr
    start, end = datetime(2026, 12, 1), datetime(2032, 12, 1)
    exported = _calendar_schedule(crm, start, end)
    assert exported == _crm_schedule(db_path, start, end)
    # And both are what a person means (not computed by either):
    assert exported["Invoice on the 31st"][:4] == [
        datetime(2026, 12, 31, 9), datetime(2027, 1, 31, 9), datetime(2027, 2, 28, 9),
        datetime(2027, 3, 31, 9),
    ]  # fmt: skip
    assert [d.date() for d in exported["Rent on the 30th"][:3]] == [
        date(2027, 1, 30), date(2027, 2, 28), date(2027, 3, 30),
    ]  # fmt: skip
    assert [d.date() for d in exported["Check on the 29th"][:3]] == [
        date(2027, 1, 29), date(2027, 2, 28), date(2027, 3, 29),
    ]  # fmt: skip
    assert [d.date() for d in exported["Leap-day renewal"]] == [
        date(2028, 2, 29), date(2029, 2, 28), date(2030, 2, 28), date(2031, 2, 28),
        date(2032, 2, 29),
    ]  # fmt: skip
    assert len(exported["Weekly call"]) == 314  # every Tuesday of six years


def test_month_end_rules_are_written_without_bysetpos(crm: Any) -> None:
    assert crm("remind", "add", "Invoice", "--at", "2026-12-31 09:00", "--every",
               "monthly").exit_code == 0  # fmt: skip
    assert crm("remind", "add", "Leap", "--at", "2028-02-29 10:00", "--every",
               "yearly").exit_code == 0  # fmt: skip
    assert crm("remind", "add", "Rent", "--at", "2027-01-30 09:00", "--every",
               "monthly").exit_code == 0  # fmt: skip
    data = crm("remind", "export", "--ics", "-").stdout
    rules = [line for line in data.splitlines() if line.startswith("RRULE")]
    assert rules == [
        "RRULE:FREQ=MONTHLY;BYMONTHDAY=-1",
        "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1",
        "RRULE:FREQ=MONTHLY;BYMONTHDAY=30",
        "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1",
    ]


# -- names keep their structure ---------------------------------------------------------------


def _n_lines(crm: Any, *args: str) -> dict[str, str]:
    """FN -> N of every card of ``crm customer export -f vcard``."""
    result = crm(*args, "customer", "export", "-f", "vcard")
    assert result.exit_code == 0, result.stderr
    found: dict[str, str] = {}
    name = ""
    for line in result.stdout.replace("\r\n ", "").splitlines():
        if line.startswith("FN:"):
            name = line[3:]
        elif line.startswith("N:"):
            found[name] = line[2:]
    return found


def test_a_vcards_n_is_written_back_as_it_came(crm: Any, tmp_path: Path) -> None:
    from tests.conftest import imported

    imported(crm, "ios.vcf")
    imported(crm, "android.vcf")
    names = _n_lines(crm)
    assert names["Trần Thị Bích"] == "Trần;Bích;Thị;;"  # family; given; additional
    assert names["Jürgen Groß"] == "Groß;Jürgen;;;"
    assert names["Nguyễn Văn An"] == "Nguyễn;An;Văn;;"  # 2.1, quoted-printable
    # and again through a file into a fresh database
    cards = tmp_path / "all.vcf"
    cards.write_text(crm("customer", "export", "-f", "vcard").stdout, encoding="utf-8")
    fresh = tmp_path / "fresh.db"
    assert crm("--db", str(fresh), "customer", "import", str(cards)).exit_code == 0
    assert _n_lines(crm, "--db", str(fresh)) == names


def test_a_family_name_first_order_is_kept(crm: Any, tmp_path: Path) -> None:
    for name in ("Nguyễn Văn An", "Trần Thị Bích", "Nguyen Van Binh", "Anna Schmidt",
                 "An Nguyen", "Van Morrison", "Cher"):  # fmt: skip
        add(crm, name)
    src = tmp_path / "hu.vcf"
    src.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Kovács János\r\nN:Kovács;János;;;\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:王小明\r\nN:王;小明;;;\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Dr. María García López\r\n"
        "N:García López;María;;Dr.;\r\nEND:VCARD\r\n",
        encoding="utf-8",
    )
    assert crm("customer", "import", str(src)).exit_code == 0
    assert _n_lines(crm) == {
        "Nguyễn Văn An": "Nguyễn;Văn An;;;",  # not An;Nguyễn Văn: phones file him under N
        "Trần Thị Bích": "Trần;Thị Bích;;;",
        "Nguyen Van Binh": "Nguyen;Van Binh;;;",
        "Anna Schmidt": "Schmidt;Anna;;;",
        "An Nguyen": "Nguyen;An;;;",  # written in Western order
        "Van Morrison": "Morrison;Van;;;",
        "Cher": "Cher;;;;",
        "Kovács János": "Kovács;János;;;",  # as its card had it
        "王小明": "王;小明;;;",
        "Dr. María García López": "García López;María;;Dr.;",
    }


def test_name_parts_from_first_and_last_name_columns(crm: Any, db_path: Path) -> None:
    from tests.conftest import imported

    imported(crm, "google_new.csv")
    src = (FIXTURES / "google_new.csv").read_text(encoding="utf-8").splitlines()[0]
    assert "First Name" in src and "Last Name" in src
    rows = query(db_path, "SELECT name, name_given, name_family FROM customers")
    assert rows and all(given or family for _, given, family in rows)
    names = _n_lines(crm)
    for name, given, family in rows:
        assert names[name].split(";")[:2] == [family or "", given or ""]


def test_a_renamed_customer_drops_the_parts_that_no_longer_fit(crm: Any, tmp_path: Path) -> None:
    src = tmp_path / "one.vcf"
    src.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Kovács János\r\nN:Kovács;János;;;\r\nEND:VCARD\r\n",
        encoding="utf-8",
    )
    assert crm("customer", "import", str(src)).exit_code == 0
    assert crm("customer", "edit", "1", "--name", "Szabó Péter").exit_code == 0
    assert _n_lines(crm) == {"Szabó Péter": "Péter;Szabó;;;"}  # the rule for a typed name


def test_undo_restores_name_parts(crm: Any, tmp_path: Path, db_path: Path) -> None:
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u-1\r\nFN:Kovács János\r\nN:{}\r\nEND:VCARD\r\n"
    first, second = tmp_path / "a.vcf", tmp_path / "b.vcf"
    first.write_text(card.format("Kovács;János;;;"), encoding="utf-8")
    second.write_text(card.format("Kovács;János;;Dr.;"), encoding="utf-8")
    assert crm("customer", "import", str(first)).exit_code == 0
    result = crm("customer", "import", str(second))
    assert result.stderr == "Added 0, updated 1, unchanged 0, rejected 0\n"
    parts = "SELECT name_family, name_given, name_prefix FROM customers"
    assert query(db_path, parts) == [("Kovács", "János", "Dr.")]
    assert crm("undo", "--yes").exit_code == 0
    assert query(db_path, parts) == [("Kovács", "János", None)]
    assert crm("undo", "--yes").exit_code == 0
    assert query(db_path, parts) == []


def test_a_database_from_before_name_parts_upgrades_without_loss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import crmcli.db as dbmod
    from crmcli.core import customers
    from crmcli.core.settings import Config
    from crmcli.migrations import MIGRATIONS

    before = [m.__name__ for m in MIGRATIONS].index("m005_name_parts")
    path = tmp_path / "old.db"
    monkeypatch.setattr(dbmod, "SCHEMA_VERSION", before)
    old = dbmod.open_db(path, create=True)
    with old.write(["crm", "customer", "add"]):
        customers.add(old, customers.prepare({"name": "Nguyễn Văn An", "city": "Huế"}, Config()))
    columns = [r[1] for r in old.conn.execute("PRAGMA table_info(customers)")]
    rows = old.conn.execute("SELECT * FROM customers").fetchall()
    audit = old.conn.execute("SELECT * FROM audit").fetchall()
    old.close()
    assert "name_family" not in columns
    monkeypatch.undo()

    database = dbmod.open_db(path, create=False)
    assert dbmod.schema_version(database.conn) == len(MIGRATIONS)
    now = database.conn.execute("SELECT * FROM customers").fetchall()
    assert [row[: len(columns)] for row in now] == rows
    assert all(value is None for row in now for value in row[len(columns) :])
    assert database.conn.execute("SELECT * FROM audit").fetchall() == audit
    fresh = dbmod.open_db(tmp_path / "fresh.db", create=True)
    schema = "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"
    assert database.conn.execute(schema).fetchall() == fresh.conn.execute(schema).fetchall()
    with database.write(["crm", "test"]):
        database.execute("UPDATE customers SET name_family = 'Nguyễn' WHERE id = 1")
    image = database.scalar("SELECT after FROM audit ORDER BY id DESC LIMIT 1")
    assert json.loads(image)["name_family"] == "Nguyễn"


def test_forget_erases_name_parts(crm: Any, tmp_path: Path, db_path: Path) -> None:
    src = tmp_path / "one.vcf"
    src.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Kovács Jánoska\r\nN:Kovácsné;Jánoska;;;\r\nEND:VCARD\r\n",
        encoding="utf-8",
    )
    assert crm("customer", "import", str(src)).exit_code == 0
    assert crm("customer", "forget", "1", "--yes").exit_code == 0
    assert query(db_path, "SELECT name_family, name_given FROM customers") == [(None, None)]
    images = " ".join(str(r) for r in query(db_path, "SELECT before, after FROM audit"))
    assert "Kovácsné" not in images and "Jánoska" not in images
