"""``crm quote pdf``: the PDF a customer opens and the HTML for an e-mail body, written by
``core.money.quote_doc`` from the document ``quotes.document()`` builds."""

from __future__ import annotations

import re
import stat
import unicodedata
from pathlib import Path

import pytest

pytest.importorskip("crmcli.core.money.quote_doc")
pypdf = pytest.importorskip("pypdf")

SELLER = "Công ty TNHH Minh Phát"


def ok(result) -> str:
    assert result.exit_code == 0, result.stderr
    return str(result.stdout)


def flat(text: str) -> str:
    """Text as extracted, NFC and on one line (a PDF may break or space it its own way)."""
    return " ".join(unicodedata.normalize("NFC", text).split())


@pytest.fixture
def quote(crm) -> int:
    ok(crm("config", "set", "seller_name", SELLER))
    ok(crm("config", "set", "seller_tax_id", "0312345678"))
    ok(crm("config", "set", "seller_bank", "Vietcombank 0071000123456"))
    customer = int(ok(crm("customer", "add", "Nguyễn Văn An", "--company", "An Phát")))
    deal = int(ok(crm("deal", "add", "Bàn phím cho văn phòng", "--customer", str(customer),
                      "--amount", "0 VND")))  # fmt: skip
    ok(crm("deal", "item", "add", str(deal), "Bàn phím cơ", "--qty", "3",
           "--price", "1.250.000 VND"))  # fmt: skip
    ok(crm("deal", "item", "add", str(deal), "Chuột không dây", "--qty", "2",
           "--price", "350.000 VND"))  # fmt: skip
    return int(ok(crm("quote", "create", str(deal), "--note", "Giao hàng trong 2 tuần")))


def pdf_text(path: Path) -> str:
    reader = pypdf.PdfReader(str(path))
    return flat(" ".join(page.extract_text() for page in reader.pages))


EXPECTED = ("Q-2026-0001", "Nguyễn Văn An", "Bàn phím cơ", "4,450,000", SELLER)


def test_pdf_has_the_quote_and_is_private(crm, quote, tmp_path: Path) -> None:
    target = tmp_path / "bao-gia.pdf"
    result = crm("quote", "pdf", str(quote), "-o", str(target))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == f"Wrote quote Q-2026-0001 (PDF) to {target}\n"
    assert target.read_bytes().startswith(b"%PDF")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    text = pdf_text(target)
    for expected in EXPECTED:
        assert expected in text, (expected, text)


def test_pdf_by_number_and_version(crm, quote, tmp_path: Path) -> None:
    target = tmp_path / "q.pdf"
    ok(crm("quote", "pdf", "Q-2026-0001v1", "-o", str(target)))
    assert "Q-2026-0001" in pdf_text(target)


def test_an_existing_file_needs_force(crm, quote, tmp_path: Path) -> None:
    target = tmp_path / "q.pdf"
    target.write_text("keep me")
    result = crm("quote", "pdf", str(quote), "-o", str(target))
    assert result.exit_code == 1 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and str(target) in result.stderr
    assert target.read_text() == "keep me"
    ok(crm("quote", "pdf", str(quote), "-o", str(target), "--force"))
    assert target.read_bytes().startswith(b"%PDF")
    assert "Nguyễn Văn An" in pdf_text(target)


def test_html_has_the_same(crm, quote, tmp_path: Path) -> None:
    target = tmp_path / "q.html"
    result = crm("quote", "pdf", str(quote), "-o", str(target), "-f", "html")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"Wrote quote Q-2026-0001 (HTML) to {target}\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    text = flat(re.sub(r"<[^>]+>", " ", target.read_text(encoding="utf-8")))
    for expected in (*EXPECTED, "Giao hàng trong 2 tuần"):
        assert expected in text, expected


def test_unknown_quote_and_missing_folder(crm, quote, tmp_path: Path) -> None:
    target = tmp_path / "q.pdf"
    result = crm("quote", "pdf", "9", "-o", str(target))
    assert result.exit_code == 1 and result.stderr == "crm: error: no quote 9\n"
    assert not target.exists()
    result = crm("quote", "pdf", str(quote), "-o", str(tmp_path / "nowhere" / "q.pdf"))
    assert result.exit_code == 1 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "nowhere").exists()


def test_bad_format(crm, quote, tmp_path: Path) -> None:
    result = crm("quote", "pdf", str(quote), "-o", str(tmp_path / "q.doc"), "-f", "docx")
    assert result.exit_code == 2 and result.stdout == ""
    assert not (tmp_path / "q.doc").exists()
