"""crm send --segment: the members of a stored segment get the message (needs the segment
commands, which another branch brings)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_send import template, to_addresses
from tests.conftest import add

pytest.importorskip("crmcli.core.outreach.segments")


def test_send_to_a_segment(crm: Any, db_path: Path, smtp: Any) -> None:
    template(db_path, "note", kind="transactional", subject="Hi {{ customer.first_name }}",
             body="Hello")  # fmt: skip
    add(crm, "Vip An", "--email", "an@example.com", "--tag", "vip")
    add(crm, "Plain Binh", "--email", "binh@example.com")
    made = crm("segment", "add", "vips", "--tag", "vip")
    assert made.exit_code == 0, made.stderr
    result = crm("send", "note", "--segment", "vips")
    assert result.exit_code == 0, result.stderr
    assert to_addresses(smtp) == ["an@example.com"]
    assert result.stderr == "Sent 1, skipped 0, failed 0 — campaign note 2026-11-23\n"
