"""Consent per customer and channel: customer edit --consent, customer show, customer list
--consent, customer unsubscribe, the history and undo of consent changes.

The clock is CRM_NOW (2026-11-23 10:00, Asia/Ho_Chi_Minh = 03:00 UTC) from tests/conftest.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcli.core.outreach.consent import may_send
from tests.conftest import dump

NOW_UTC = "2026-11-23T03:00:00Z"


def ok(result) -> str:
    assert result.exit_code == 0, result.stderr
    return result.stdout


def add(crm, name: str, *args: str) -> int:
    return int(ok(crm("customer", "add", name, *args)).strip())


def consent(crm, cid: int) -> dict:
    return json.loads(ok(crm("customer", "show", str(cid), "-f", "json")))["consent"]


@pytest.fixture
def an(crm) -> int:
    return add(crm, "Nguyễn Văn An", "--email", "An.Nguyen@Example.vn", "--phone", "0912345678")


def test_no_consent_recorded_is_unknown(crm, an) -> None:
    assert consent(crm, an) == {
        "email": {"status": "unknown", "at": None, "source": None},
        "sms": {"status": "unknown", "at": None, "source": None},
    }


def test_edit_records_consent_with_its_source_and_time(crm, an) -> None:
    result = crm("customer", "edit", str(an), "--consent", "email=yes",
                 "--consent-source", "signed form")  # fmt: skip
    assert result.exit_code == 0 and result.stdout == ""
    assert "Consent email: yes (signed form)" in result.stderr
    assert consent(crm, an)["email"] == {"status": "yes", "at": NOW_UTC, "source": "signed form"}
    assert consent(crm, an)["sms"]["status"] == "unknown"
    # given at another time, on both channels at once; the channel and status in any case
    ok(crm("customer", "edit", str(an), "--consent", "SMS=Yes", "--consent", "email=no",
           "--consent-at", "2026-11-20 14:30", "--consent-source", "phone call"))  # fmt: skip
    assert consent(crm, an) == {
        "email": {"status": "no", "at": "2026-11-20T07:30:00Z", "source": "phone call"},
        "sms": {"status": "yes", "at": "2026-11-20T07:30:00Z", "source": "phone call"},
    }
    # unknown removes what was recorded
    ok(crm("customer", "edit", str(an), "--consent", "sms=unknown"))
    assert consent(crm, an)["sms"] == {"status": "unknown", "at": None, "source": None}


def test_show_on_a_terminal_and_in_tsv(crm, an) -> None:
    ok(crm("customer", "edit", str(an), "--consent", "email=yes", "--consent-source",
           "signed form", "--consent-at", "2026-11-20 09:00"))  # fmt: skip
    card = ok(crm("customer", "show", str(an), "-f", "table"))
    assert "email: yes since 2026-11-20 09:00 (signed form)" in card
    assert "sms: unknown" in card
    header, row = ok(crm("customer", "show", str(an), "-f", "tsv")).splitlines()
    shown = dict(zip(header.split("\t"), row.split("\t"), strict=True))
    assert shown["consent"] == "email=yes,sms=unknown"


def test_several_customers_from_stdin_in_one_transaction(crm) -> None:
    ids = [add(crm, f"Khách {n}") for n in range(3)]
    stdin = "".join(f"{i}\n" for i in ids)
    result = crm("customer", "edit", "-", "--consent", "email=yes", "--consent-source",
                 "newsletter form", input=stdin)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert all(consent(crm, i)["email"]["status"] == "yes" for i in ids)
    listed = ok(crm("customer", "list", "--consent", "email=yes", "-f", "ids")).split()
    assert listed == [str(i) for i in ids]


def test_an_unknown_id_changes_nobody(crm, an, db_path: Path) -> None:
    before = dump(db_path)
    result = crm("customer", "edit", str(an), "999", "--consent", "email=yes")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "no customer 999" in result.stderr
    assert dump(db_path) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--consent", "fax=yes"), "the channel is one of email, sms"),
        (("--consent", "email=maybe"), "the status is one of yes, no, unknown"),
        (("--consent", "email"), "give CHANNEL=STATUS"),
        (("--consent", "email=yes", "--consent", "email=no"), "email given twice"),
        (("--consent-source", "form"), "go with --consent"),
        (("--consent", "email=yes", "--consent-at", "31/31/2026"), "--consent-at"),
        (("--consent", "email=yes", "--consent-source", "a\nb"), "--consent-source"),
        (("--consent", "email=yes", "--consent-source", "x" * 201), "--consent-source"),
    ],
)
def test_bad_consent_is_one_line_exit_2_and_nothing_written(
    crm, an, db_path: Path, args, message
) -> None:
    before = dump(db_path)
    result = crm("customer", "edit", str(an), "--city", "Huế", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert dump(db_path) == before


def test_history_reads_well_and_undo_brings_consent_back(crm, an) -> None:
    ok(crm("customer", "edit", str(an), "--consent", "email=yes", "--consent-source",
           "signed form"))  # fmt: skip
    ok(crm("customer", "unsubscribe", str(an), "--source", "unsubscribe link"))
    history = json.loads(ok(crm("history", "--entity", "customer", "--id", str(an),
                                "-f", "json")))  # fmt: skip
    lines = [(h["record"], h["changes"]) for h in history if h["table"] == "consents"]
    assert lines == [
        ("consent email", "yes → no (unsubscribe link)"),
        ("consent email", "yes (signed form)"),
    ]
    undone = crm("undo", "--yes")
    assert undone.exit_code == 0, undone.stderr
    assert consent(crm, an)["email"] == {"status": "yes", "at": NOW_UTC, "source": "signed form"}
    ok(crm("undo", "--yes"))
    assert consent(crm, an)["email"]["status"] == "unknown"


def test_list_filters_by_consent(crm) -> None:
    yes, no, unknown = (add(crm, n) for n in ("Có", "Không", "Chưa biết"))
    ok(crm("customer", "edit", str(yes), "--consent", "email=yes", "--consent", "sms=no"))
    ok(crm("customer", "edit", str(no), "--consent", "email=no"))

    def ids(*args: str) -> list[int]:
        return [int(i) for i in ok(crm("customer", "list", *args, "-f", "ids")).split()]

    assert ids("--consent", "email=yes") == [yes]
    assert ids("--consent", "email=no") == [no]
    assert ids("--consent", "email=unknown") == [unknown]
    assert ids("--consent", "sms=unknown") == [no, unknown]
    assert ids("--consent", "email=yes", "--consent", "sms=no") == [yes]
    assert ids("--consent", "email=no", "--sort", "name") == [no]
    bad = crm("customer", "list", "--consent", "email=perhaps")
    assert bad.exit_code == 2 and bad.stdout == "" and "--consent" in bad.stderr


def test_unsubscribe_by_address_any_case(crm, an) -> None:
    ok(crm("customer", "edit", str(an), "--consent", "email=yes"))
    result = crm("customer", "unsubscribe", "an.nguyen@example.VN")
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr.strip() == (
        f"Unsubscribed customer {an} (Nguyễn Văn An) from email (unsubscribe request)"
    )
    email = consent(crm, an)["email"]
    assert email == {"status": "no", "at": NOW_UTC, "source": "unsubscribe request"}
    # what every sending path then does with them
    assert may_send(email["status"], "marketing") == "opted out"
    again = crm("customer", "unsubscribe", "AN.NGUYEN@example.vn")
    assert again.exit_code == 0 and "already opted out" in again.stderr


def test_unsubscribe_by_id_from_sms(crm, an) -> None:
    ok(crm("customer", "unsubscribe", str(an), "--channel", "sms", "--source", "replied STOP"))
    assert consent(crm, an)["sms"]["source"] == "replied STOP"
    assert consent(crm, an)["email"]["status"] == "unknown"


def test_unsubscribe_refuses_what_is_not_one_customer(crm, an, db_path: Path) -> None:
    add(crm, "Bình", "--email", "binh@example.vn")
    add(crm, "Bình (công ty)", "--email", "BINH@example.vn")
    before = dump(db_path)
    several = crm("customer", "unsubscribe", "binh@example.vn")
    assert several.exit_code == 1 and several.stdout == ""
    assert "several customers have the e-mail binh@example.vn" in several.stderr
    assert "give the id" in several.stderr
    nobody = crm("customer", "unsubscribe", "nobody@example.vn")
    assert nobody.exit_code == 1
    assert nobody.stderr == "crm: error: no customer with e-mail nobody@example.vn\n"
    missing = crm("customer", "unsubscribe", "999")
    assert (missing.exit_code, missing.stderr) == (1, "crm: error: no customer 999\n")
    for args, message in (
        (("an.nguyen@example.vn", "--channel", "fax"), "--channel"),
        (("not-an-address",), "give an e-mail address or a customer id"),
        (("an.nguyen@example.vn", "--source", "a\nb"), "--source"),
    ):
        bad = crm("customer", "unsubscribe", *args)
        assert bad.exit_code == 2 and message in bad.stderr, bad.stderr
    assert dump(db_path) == before


def test_unsubscribe_takes_odd_ids_as_input_errors(crm, an) -> None:
    for text in ("²", "99999999999999999999999"):
        result = crm("customer", "unsubscribe", text)
        assert result.exit_code in (1, 2) and result.stdout == ""
        assert len(result.stderr.strip().splitlines()) == 1


@settings(max_examples=300, deadline=None)
@given(spec=st.text(max_size=30), source=st.one_of(st.none(), st.text(max_size=250)))
def test_consent_values_are_checked_or_refused(spec: str, source: str | None) -> None:
    from crmcli.core.outreach.consent import CHANNELS, STATUSES, check_source, parse_spec
    from crmcli.errors import InvalidValue

    try:
        channel, status = parse_spec(spec)
    except InvalidValue as error:
        assert "\n" not in str(error).strip() or "\n" in spec
    else:
        assert channel in CHANNELS and status in STATUSES
    try:
        kept = check_source(source)
    except InvalidValue:
        return
    assert kept is None or (0 < len(kept) <= 200 and "\n" not in kept)
