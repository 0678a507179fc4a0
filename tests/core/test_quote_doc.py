"""The quote document: the PDF read back with pypdf, the HTML as text, the atomic file write."""

from __future__ import annotations

import io
import os
import stat
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from crmcli.core.money import quote_doc
from crmcli.core.money.quote_doc import DocumentError
from crmcli.core.money.totals import line_amounts, totals
from crmcli.errors import EXIT_FAILURE, EXIT_USAGE, UsageError

LONG_NAME = (
    "Bàn phím cơ Akko 3098B Multi-modes không dây, switch Jelly Pink, keycap PBT Double-shot, "
    "bản tiếng Việt có đèn nền"
)


def item(position: int, product: str, **extra: Any) -> dict[str, Any]:
    line: dict[str, Any] = {
        "position": position, "product": product, "unit": "cái", "quantity": 1,
        "unit_price": 1_000_000, "discount_bp": None, "discount_amount": None,
        "tax_bp": 1000, "supplier": None, "delivery_date": None, **extra,
    }  # fmt: skip
    _, line["discount"], line["net"] = line_amounts(line)
    return line


def make_doc(items: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    if items is None:
        items = [
            item(
                1,
                "Bàn phím cơ",
                quantity=3,
                unit_price=1_250_000,
                discount_bp=1000,
                supplier="Công ty Phím Việt",
                delivery_date="2026-12-20",
            ),  # fmt: skip
            item(2, "Chuột không dây", quantity=2, unit_price=450_000, tax_bp=800),
            item(
                3,
                "Lắp đặt tại văn phòng",
                unit="giờ",
                quantity=4,
                unit_price=200_000,
                tax_bp=None,
                discount_amount=100_000,
            ),  # fmt: skip
        ]
    doc: dict[str, Any] = {
        "number": "Q-2026-0007", "version": 2, "label": "Q-2026-0007 v2",
        "issued_on": "2026-12-05", "valid_until": "2027-01-04", "status": "open",
        "note": "Giao hàng trong 7 ngày.\nBảo hành 12 tháng.", "currency": "VND",
        "seller": {
            "name": "Công ty TNHH Phần mềm Sao Mai", "address": "12 Nguyễn Huệ\nQuận 1, TP. HCM",
            "tax_id": "0312345678", "bank": "Vietcombank 0071001234567",
            "email": "ban@saomai.vn", "phone": "+84 28 3822 1234", "logo": None,
        },
        "customer": {
            "name": "Trần Thị Ánh", "company": "Công ty TNHH Ánh Dương",
            "email": "anh@anhduong.vn", "phone": "+84 912 345 678",
            "address": "45 Lê Lợi\nĐà Nẵng",
        },
        "deal": {"id": 12, "title": "Bàn phím cho văn phòng mới"},
        "items": items,
        "totals": totals(items),
    }  # fmt: skip
    doc.update(extra)
    return doc


def pdf_pages(data: bytes) -> list[str]:
    """The text of each page, NFC (as the document was written)."""
    reader = PdfReader(io.BytesIO(data))
    return [unicodedata.normalize("NFC", page.extract_text()) for page in reader.pages]


def test_the_pdf_holds_the_quote_as_text() -> None:
    doc = make_doc()
    data = quote_doc.render_pdf(doc)
    assert data.startswith(b"%PDF-")
    [text] = pdf_pages(data)
    for expected in (
        "Quote Q-2026-0007 v2", "Issued 2026-12-05", "valid until 2027-01-04",
        "Công ty TNHH Phần mềm Sao Mai", "Tax ID: 0312345678", "Vietcombank 0071001234567",
        "Trần Thị Ánh", "Công ty TNHH Ánh Dương", "45 Lê Lợi", "Đà Nẵng",
        "Re: Bàn phím cho văn phòng mới",
        "Bàn phím cơ", "Supplier: Công ty Phím Việt", "Delivery: 2026-12-20",
        "Chuột không dây", "Lắp đặt tại văn phòng", "Amounts in VND",
        "Giao hàng trong 7 ngày.", "Bảo hành 12 tháng.",
        "This quote is valid until 2027-01-04.",
    ):  # fmt: skip
        assert expected in text, expected
    # Line 1: 3 × 1,250,000 less 10 % = 3,375,000; line 2: 900,000 at 8 %; line 3: 800,000
    # less 100,000, no tax.
    lines = text.splitlines()
    assert any("3,375,000" in line and "10%" in line for line in lines)
    assert "Subtotal 5,450,000 VND" in lines
    assert "Discount -475,000 VND" in lines
    assert "Net 4,975,000 VND" in lines
    assert "VAT 8% on 900,000 VND 72,000 VND" in lines
    assert "VAT 10% on 3,375,000 VND 337,500 VND" in lines
    assert "Total 5,384,500 VND" in lines
    assert doc["totals"]["total"] == 5_384_500


def test_sixty_lines_continue_on_new_pages_each_with_the_table_header() -> None:
    items = [item(n, f"Bàn phím cơ số {n}") for n in range(1, 61)]
    pages = pdf_pages(quote_doc.render_pdf(make_doc(items)))
    assert len(pages) >= 3
    header = "№ Product Qty Unit Unit price Discount VAT Net"
    with_items = [text for text in pages if "Bàn phím cơ số" in text]
    assert len(with_items) >= 2
    for number, text in enumerate(pages, 1):
        assert f"Quote Q-2026-0007 v2 · page {number}/{len(pages)}" in text
        if text in with_items:  # the header comes first on every page the table runs on
            assert header in text and text.index(header) < text.index("Bàn phím cơ số"), number
    everything = "\n".join(pages)
    positions = [everything.index(f"\n{n} Bàn phím cơ số {n} 1 cái") for n in range(1, 61)]
    assert positions == sorted(positions)  # every line once, in order
    assert "Total 66,000,000 VND" in pages[-1]


def test_a_long_product_name_wraps_inside_its_cell() -> None:
    pages = pdf_pages(quote_doc.render_pdf(make_doc([item(1, LONG_NAME)])))
    lines = pages[0].splitlines()
    start = lines.index("1 Bàn phím cơ Akko 3098B Multi-modes")
    end = lines.index("1 cái 1,000,000 10% 1,000,000")  # the row's other cells
    assert " ".join(lines[start:end]) == "1 " + LONG_NAME
    assert end - start == 4  # the name took four lines of its cell


def test_wrapped_lines_fit_their_width() -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("DejaVu", "", quote_doc.FONTS / "DejaVuSans.ttf")
    pdf.set_font("DejaVu", "", 8.5)
    text = LONG_NAME + " Siêu-dài-không-có-khoảng-trắng-" + "x" * 80
    for width in (10.0, 25.0, 59.4):
        lines = quote_doc._wrapped(pdf, text, width)
        assert all(pdf.get_string_width(line) <= width for line in lines)
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert quote_doc._wrapped(pdf, "Bàn phím", 59.4) == ["Bàn phím"]
    assert quote_doc._wrapped(pdf, "", 59.4) == []


def test_the_pdf_embeds_dejavu_sans() -> None:
    reader = PdfReader(io.BytesIO(quote_doc.render_pdf(make_doc())))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    names = set()
    for ref in fonts.values():
        font = ref.get_object()
        assert font["/Subtype"] == "/Type0"  # Unicode text: a composite font with CIDs
        descendant = font["/DescendantFonts"][0].get_object()
        descriptor = descendant["/FontDescriptor"].get_object()
        embedded = descriptor["/FontFile2"].get_object()  # the TrueType program itself
        assert len(embedded.get_data()) > 1000
        assert "/ToUnicode" in font  # so the text can be copied and searched
        names.add(str(font["/BaseFont"]).split("+", 1)[-1])
    assert names == {"DejaVuSansBook", "DejaVuSansBold"}


def test_optional_parts_left_out_leave_no_gaps_or_none() -> None:
    items = [item(1, "Bàn phím cơ", tax_bp=None, unit=None)]
    doc = make_doc(
        items,
        valid_until=None,
        note=None,
        deal={"id": 1, "title": ""},
        seller={k: None for k in ("name", "address", "tax_id", "bank", "email", "phone", "logo")},
        customer={
            "name": "Trần Thị Ánh",
            "company": None,
            "email": None,
            "phone": None,
            "address": None,
        },  # fmt: skip
    )
    [text] = pdf_pages(quote_doc.render_pdf(doc))
    html = quote_doc.render_html(doc)
    for rendered in (text, html):
        assert "None" not in rendered
        assert "VAT 10%" not in rendered and "valid until" not in rendered
        assert "Total 1,000,000 VND" in text
    assert "Subtotal 1,000,000 VND" in text


def test_an_expired_quote_says_so() -> None:
    doc = make_doc(status="expired")
    [text] = pdf_pages(quote_doc.render_pdf(doc))
    assert "Expired" in text and "This quote expired on 2027-01-04." in text
    assert "This quote expired on 2027-01-04." in quote_doc.render_html(doc)


def test_decomposed_vietnamese_is_printed_composed() -> None:
    name = unicodedata.normalize("NFD", "Bàn phím cơ")
    [text] = pdf_pages(quote_doc.render_pdf(make_doc([item(1, name)])))
    assert "Bàn phím cơ" in text


def test_html_has_the_same_content_escaped_and_self_contained() -> None:
    items = [item(1, "<script>alert('x')</script> & Bàn phím cơ", supplier="A & B")]
    doc = make_doc(items, note="<b>giá tốt</b>")
    html = quote_doc.render_html(doc)
    assert html.startswith("<!DOCTYPE html>")
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Bàn phím cơ" in html
    assert "Supplier: A &amp; B" in html and "&lt;b&gt;giá tốt&lt;/b&gt;" in html
    for expected in (
        "<title>Quote Q-2026-0007 v2</title>", "Công ty TNHH Ánh Dương", "Trần Thị Ánh",
        "VAT 10% on 1,000,000 VND", "100,000 VND", "1,100,000 VND", "Amounts in VND",
        "This quote is valid until 2027-01-04.",
    ):  # fmt: skip
        assert expected in html, expected
    # Nothing to fetch: no stylesheet, script or remote image.
    assert "<link" not in html and "http" not in html and "<style" not in html


def png(path: Path) -> Path:
    from PIL import Image

    Image.new("RGB", (60, 20), (200, 30, 30)).save(path)
    return path


def test_the_seller_logo_is_drawn_and_inlined(tmp_path: Path) -> None:
    seller = {**make_doc()["seller"], "logo": str(png(tmp_path / "logo.png"))}
    doc = make_doc(seller=seller)
    page = PdfReader(io.BytesIO(quote_doc.render_pdf(doc))).pages[0]
    images = page["/Resources"]["/XObject"]
    assert [image.get_object()["/Subtype"] for image in images.values()] == ["/Image"]
    assert 'src="data:image/png;base64,iVBORw0KGgo' in quote_doc.render_html(doc)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read the seller logo {path}: No such file or directory"),
        (b"GIF89a not a png", "the seller logo {path} is not a PNG or JPEG image"),
        (b"\x89PNG\r\n\x1a\nbroken", "cannot draw the seller logo {path}: "),
    ],
)
def test_an_unusable_logo_is_one_clear_error(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "logo.png"
    if content is not None:
        path.write_bytes(content)
    doc = make_doc(seller={**make_doc()["seller"], "logo": str(path)})
    with pytest.raises(DocumentError) as error:
        quote_doc.render_pdf(doc)
    assert str(error.value).startswith(message.format(path=path))
    assert "\n" not in str(error.value) and error.value.exit_code == EXIT_FAILURE


# ---------------------------------------------------------------------------- write()


def test_write_makes_a_private_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "Q-2026-0007.pdf"
    quote_doc.write(make_doc(), target, "pdf")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert "Quote Q-2026-0007 v2" in pdf_pages(target.read_bytes())[0]
    html = tmp_path / "q.html"
    quote_doc.write(make_doc(), html, "html")
    assert stat.S_IMODE(html.stat().st_mode) == 0o600
    assert html.read_text(encoding="utf-8") == quote_doc.render_html(make_doc())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Q-2026-0007.pdf", "q.html"]


def test_write_refuses_an_existing_file_unless_forced(tmp_path: Path) -> None:
    target = tmp_path / "quote.pdf"
    target.write_bytes(b"the customer's signed copy")
    with pytest.raises(DocumentError) as error:
        quote_doc.write(make_doc(), target, "pdf")
    assert str(error.value) == f"{target} exists (--force replaces it)"
    assert error.value.exit_code == EXIT_FAILURE
    assert target.read_bytes() == b"the customer's signed copy"
    assert [p.name for p in tmp_path.iterdir()] == ["quote.pdf"]

    quote_doc.write(make_doc(), target, "pdf", force=True)
    assert target.read_bytes().startswith(b"%PDF-")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["quote.pdf"]


def test_write_into_a_missing_folder_or_onto_a_folder_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "quote.pdf"
    with pytest.raises(DocumentError) as error:
        quote_doc.write(make_doc(), missing, "pdf")
    assert str(error.value) == f"no folder {missing.parent} to write quote.pdf in"
    (tmp_path / "out").mkdir()
    with pytest.raises(DocumentError, match=r"out is a folder$"):
        quote_doc.write(make_doc(), tmp_path / "out", "pdf", force=True)
    with pytest.raises(UsageError) as usage:
        quote_doc.write(make_doc(), tmp_path / "q.docx", "docx")
    assert usage.value.exit_code == EXIT_USAGE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "quote.html"
    target.write_text("old", encoding="utf-8")

    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(DocumentError) as error:
        quote_doc.write(make_doc(), target, "html", force=True)
    assert str(error.value) == f"cannot write {target}: No space left on device"
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["quote.html"]


def test_write_in_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    quote_doc.write(make_doc(), Path("quote.html"), "html")
    assert (tmp_path / "quote.html").exists()


def test_characters_the_font_lacks_are_reported_not_logged(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    doc = make_doc([item(1, "机械键盘 Клавиатура Πληκτρολόγιο"), item(2, "Bàn phím 机械")])
    data, missing = quote_doc.render_pdf_checked(doc)
    assert missing == ["机", "械", "键", "盘"]
    assert "Клавиатура Πληκτρολόγιο" in pdf_pages(data)[0]  # Cyrillic and Greek are there
    assert quote_doc.write(doc, tmp_path / "q.pdf", "pdf") == missing
    assert quote_doc.write(doc, tmp_path / "q.html", "html") == []
    assert "机械键盘" in (tmp_path / "q.html").read_text(encoding="utf-8")
    assert quote_doc.write(make_doc(), tmp_path / "ok.pdf", "pdf") == []
    assert capfd.readouterr().err == ""


def test_a_note_keeps_its_paragraphs_and_a_closed_quote_no_validity_line() -> None:
    doc = make_doc(
        note="Giao hàng trong 7 ngày.\n\n\n  Bảo hành 12 tháng.  \n\n", status="accepted"
    )
    assert quote_doc.view(doc)["note"] == ["Giao hàng trong 7 ngày.", "", "Bảo hành 12 tháng."]
    [text] = pdf_pages(quote_doc.render_pdf(doc))
    assert "Giao hàng trong 7 ngày.\nBảo hành 12 tháng." in text
    assert "Issued 2026-12-05 · valid until 2027-01-04 · Accepted" in text
    assert "This quote" not in text and "This quote" not in quote_doc.render_html(doc)
