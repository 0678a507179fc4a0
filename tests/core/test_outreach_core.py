"""The rules every sending path shares: consent, template fields, SMS length."""

from __future__ import annotations

from pathlib import Path

import pytest

from crmcli.core.outreach import consent, templates


def test_marketing_needs_yes_transactional_needs_no_objection() -> None:
    assert consent.may_send("yes", "marketing") is None
    assert consent.may_send("unknown", "marketing") == "no consent"
    assert consent.may_send("no", "marketing") == "opted out"
    assert consent.may_send("unknown", "transactional") is None
    assert consent.may_send("yes", "transactional") is None
    assert consent.may_send("no", "transactional") == "opted out"


def test_consent_is_recorded_changed_and_removed(tmp_path: Path) -> None:
    from crmcli.db import open_db

    db = open_db(tmp_path / "crm.db", create=True)
    with db.write(["crm", "customer", "add"]):
        db.execute("INSERT INTO customers (uid, name, fields, created_at, updated_at) "
                   "VALUES ('u', 'An', '{}', 'x', 'x')")  # fmt: skip
    at = "2026-12-05T03:00:00Z"
    with db.write(["crm", "customer", "edit"]):
        assert consent.set_status(db, 1, "email", "yes", source="signed form", at=at)
        assert not consent.set_status(db, 1, "email", "yes", source="signed form", at=at)
    assert consent.status_of(db, 1, "email") == "yes"
    assert consent.status_of(db, 1, "sms") == "unknown"
    with db.write(["crm", "customer", "edit"]):
        assert consent.set_status(db, 1, "email", "no", source="unsubscribe link", at=at)
    assert consent.status_of(db, 1, "email") == "no"
    with db.write(["crm", "customer", "edit"]):
        assert consent.set_status(db, 1, "email", "unknown", source=None, at=at)
    assert consent.status_of(db, 1, "email") == "unknown"
    db.close()


CTX = {"customer": {"id": 7, "name": "Nguyễn Văn An", "first_name": "An", "company": None}}


def test_fields_fill_and_vietnamese_and_emoji_stay_intact() -> None:
    text = templates.render("Chúc mừng sinh nhật {{ customer.first_name }} 🎂", CTX)
    assert text == "Chúc mừng sinh nhật An 🎂"
    assert templates.render("{{ customer.company or 'anh chị' }}", CTX) == "anh chị"


def test_a_missing_or_empty_field_is_an_error_not_a_blank() -> None:
    with pytest.raises(templates.MissingField, match="customer.company is empty for customer 7"):
        templates.render("Dear {{ customer.company }}", CTX)
    with pytest.raises(templates.MissingField, match="nickname"):
        templates.render("Hi {{ customer.nickname }}", CTX)
    with pytest.raises(templates.MissingField, match="give --invoice"):
        templates.render("{{ invoice.owed }}", CTX)


def test_the_sandbox_refuses_python_internals() -> None:
    from crmcli.errors import InvalidValue

    with pytest.raises(InvalidValue):
        templates.render("{{ customer.__class__.__mro__ }}", CTX)
    with pytest.raises(InvalidValue, match="line 1"):
        templates.check("{% if %}", field="--body")
    assert templates.names_used("{{ customer.name }} {{ invoice.owed }}") == {"customer",
                                                                           "invoice"}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("", "GSM-7", 0),
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("€" * 80, "GSM-7", 1),  # extension characters count twice
        ("€" * 81, "GSM-7", 2),
        ("Chúc mừng sinh nhật", "UCS-2", 1),
        ("ư" * 70, "UCS-2", 1),
        ("ư" * 71, "UCS-2", 2),
        ("ư" * 134, "UCS-2", 2),
        ("ư" * 135, "UCS-2", 3),
        ("🎂" * 35, "UCS-2", 1),  # outside the BMP: two units each
        ("🎂" * 36, "UCS-2", 2),
    ],
)
def test_sms_length_in_segments(text: str, encoding: str, segments: int) -> None:
    length = templates.sms_length(text)
    assert (length["encoding"], length["segments"]) == (encoding, segments)
