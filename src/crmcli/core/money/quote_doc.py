"""The quote document a customer opens: a PDF (fpdf2) or an e-mail-friendly HTML page (Jinja2).

Both render the one plain dict :mod:`crmcli.core.money.quotes` builds (its shape:
``doc["number"]``, ``"label"``, ``"seller"``, ``"customer"``, ``"items"``, ``"totals"`` ...)
through one view (:func:`view`), so the two show the same text: the seller's block, the title
with its issue date and validity, the customer, the items, the totals with one line per tax
rate, the note.  Amounts are integer minor units formatted by :func:`crmcli.money.format_money`;
rates by :func:`crmcli.core.money.totals.format_rate`.

The PDF embeds a subset of DejaVu Sans (shipped in ``crmcli/fonts``), so Vietnamese and most
Latin, Greek and Cyrillic text renders in any viewer.  fpdf2 and Jinja2 are imported inside the
functions that use them: nothing here costs start-up time until a document is rendered.

:func:`write` puts a rendered document in a file atomically (a temporary file in the same
folder, fsync, then a rename), with mode 0600, and refuses to replace a file unless told to.
"""

from __future__ import annotations

import os
import tempfile
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmcli.core.money.totals import format_rate
from crmcli.errors import CrmError, UsageError
from crmcli.money import format_money

if TYPE_CHECKING:
    from fpdf import FPDF

PACKAGE = Path(__file__).resolve().parent.parent.parent
FONTS = PACKAGE / "fonts"
TEMPLATES = PACKAGE / "templates"
FORMATS = ("pdf", "html")

# The items table: (heading, width in mm, alignment); A4 less 15 mm margins is 180 mm.
COLUMNS = (
    ("№", 8, "R"),
    ("Product", 62, "L"),
    ("Qty", 14, "R"),
    ("Unit", 14, "L"),
    ("Unit price", 25, "R"),
    ("Discount", 19, "R"),
    ("VAT", 12, "R"),
    ("Net", 26, "R"),
)
_KEYS = ("position", "product", "quantity", "unit", "unit_price", "discount", "tax", "net")


class DocumentError(CrmError):
    """The document cannot be written: the file exists, the folder is missing, the logo is
    unreadable ... (exit 1, one line)."""


# ---------------------------------------------------------------------------- the view


def _text(value: object) -> str:
    """Text as it is printed: NFC (one glyph per Vietnamese letter, as the font has them)."""
    return unicodedata.normalize("NFC", str(value)).strip() if value is not None else ""


def _lines(value: object) -> list[str]:
    return [line for line in (part.strip() for part in _text(value).splitlines()) if line]


def _paragraphs(value: object) -> list[str]:
    """The lines of a note, a blank line between paragraphs kept (one, not several)."""
    kept: list[str] = []
    for line in (part.strip() for part in _text(value).splitlines()):
        if line or (kept and kept[-1]):
            kept.append(line)
    return kept


def _bare(amount: int, currency: str) -> str:
    """An amount without its currency code, for the table (its heading names the currency)."""
    return format_money(amount, currency).rsplit(" ", 1)[0]


def view(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The quote as the text both documents print, every amount and rate formatted."""
    currency = str(doc["currency"])
    seller = doc.get("seller") or {}
    customer = doc.get("customer") or {}

    def money(amount: int) -> str:
        return format_money(int(amount), currency)

    seller_lines = _lines(seller.get("address"))
    if seller.get("tax_id"):
        seller_lines.append(f"Tax ID: {_text(seller['tax_id'])}")
    if seller.get("bank"):
        seller_lines.append(f"Bank: {_text(seller['bank'])}")
    contact = " · ".join(_text(seller[k]) for k in ("email", "phone") if seller.get(k))
    if contact:
        seller_lines.append(contact)

    customer_name = _text(customer.get("name")) or _text(customer.get("company"))
    customer_lines = []
    if customer.get("company") and _text(customer["company"]) != customer_name:
        customer_lines.append(_text(customer["company"]))
    customer_lines += _lines(customer.get("address"))
    contact = " · ".join(_text(customer[k]) for k in ("email", "phone") if customer.get(k))
    if contact:
        customer_lines.append(contact)

    rows = []
    for item in doc["items"]:
        detail = []
        if item.get("supplier"):
            detail.append(f"Supplier: {_text(item['supplier'])}")
        if item.get("delivery_date"):
            detail.append(f"Delivery: {_text(item['delivery_date'])}")
        if item.get("discount_bp") is not None and item.get("discount_amount") is None:
            discount = format_rate(int(item["discount_bp"]))
        else:
            discount = _bare(int(item["discount"]), currency) if item.get("discount") else ""
        rows.append(
            {
                "position": str(item["position"]),
                "product": _text(item["product"]),
                "details": detail,
                "quantity": f"{int(item['quantity']):,}",
                "unit": _text(item.get("unit")),
                "unit_price": _bare(int(item["unit_price"]), currency),
                "discount": discount,
                "tax": format_rate(item["tax_bp"]) if item.get("tax_bp") else "",
                "net": _bare(int(item["net"]), currency),
            }
        )

    totals = doc["totals"]
    total_lines: list[tuple[str, str, bool]] = [("Subtotal", money(totals["subtotal"]), False)]
    if totals["discount"]:
        total_lines.append(("Discount", money(-int(totals["discount"])), False))
        total_lines.append(("Net", money(totals["net"]), False))
    for tax in totals["taxes"]:
        label = f"VAT {format_rate(tax['rate_bp'])} on {money(tax['base'])}"
        total_lines.append((label, money(tax["tax"]), False))
    total_lines.append(("Total", money(totals["total"]), True))

    status = str(doc.get("status") or "open")
    valid_until = _text(doc.get("valid_until"))
    validity = ""
    if status == "expired" and valid_until:
        validity = f"This quote expired on {valid_until}."
    elif status == "open" and valid_until:
        validity = f"This quote is valid until {valid_until}."
    dates = [f"Issued {_text(doc['issued_on'])}"]
    if valid_until:
        dates.append(f"valid until {valid_until}")
    deal = doc.get("deal") or {}
    return {
        "title": f"Quote {_text(doc['label'])}",
        "label": _text(doc["label"]),
        "dates": " · ".join(dates),
        "status": "" if status == "open" else status.capitalize(),
        "seller": {"name": _text(seller.get("name")), "lines": seller_lines},
        "customer": {"name": customer_name, "lines": customer_lines},
        "deal": _text(deal.get("title")),
        "currency": currency,
        "columns": [heading for heading, _, _ in COLUMNS],
        "amounts_in": f"Amounts in {currency}",
        "rows": rows,
        "totals": total_lines,
        "note": _paragraphs(doc.get("note")),
        "validity": validity,
        "logo": _text(seller.get("logo")),
    }


def _logo(path: str) -> tuple[bytes, str]:
    """The seller's logo file: its bytes and MIME type (PNG or JPEG only)."""
    try:
        data = Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise DocumentError(f"cannot read the seller logo {path}: {exc.strerror}") from None
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data, "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return data, "image/jpeg"
    raise DocumentError(f"the seller logo {path} is not a PNG or JPEG image")


# ---------------------------------------------------------------------------- PDF

_MARGIN = 15.0
_PAD = 1.3  # inside a table cell, mm
_LINE = 4.2  # a line of 8.5 pt text, mm
_SMALL_LINE = 3.4  # a line of 7 pt text
_GREY = (100, 100, 100)


def render_pdf(doc: Mapping[str, Any]) -> bytes:
    """The quote as an A4 PDF, DejaVu Sans embedded (subset)."""
    return render_pdf_checked(doc)[0]


def render_pdf_checked(doc: Mapping[str, Any]) -> tuple[bytes, list[str]]:
    """The PDF, and the characters of the quote that DejaVu Sans has no glyph for (Chinese,
    Thai, emoji ...), in order of appearance: the PDF leaves them blank, the HTML shows them
    with the reader's fonts."""
    import logging

    from fpdf import FPDF

    v = view(doc)
    logo = _logo(v["logo"]) if v["logo"] else None

    class _Quote(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("DejaVu", "", 7)
            self.set_text_color(*_GREY)
            self.cell(0, 4, f"{v['title']} · page {self.page_no()}/{{nb}}", align="R")

    pdf = _Quote(format="A4", unit="mm")
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_font("DejaVu", "", FONTS / "DejaVuSans.ttf")
    pdf.add_font("DejaVu", "B", FONTS / "DejaVuSans-Bold.ttf")
    pdf.set_title(v["title"])
    if v["seller"]["name"]:
        pdf.set_author(v["seller"]["name"])
    pdf.set_creator("crmcli")
    pdf.add_page()

    _pdf_seller(pdf, v, logo)
    _pdf_title(pdf, v)
    _pdf_items(pdf, v)
    _pdf_totals(pdf, v)
    _pdf_closing(pdf, v)
    # fpdf2 logs the missing glyphs itself while writing; they are returned instead.
    log = logging.getLogger("fpdf")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        data = bytes(pdf.output())
    finally:
        log.setLevel(level)
    missing = [
        chr(code) for font in pdf.fonts.values() for code in getattr(font, "missing_glyphs", ())
    ]
    return data, list(dict.fromkeys(missing))


def _pdf_seller(pdf: FPDF, v: Mapping[str, Any], logo: tuple[bytes, str] | None) -> None:
    import io

    top = pdf.get_y()
    width = pdf.epw
    if logo is not None:
        try:
            pdf.image(io.BytesIO(logo[0]), x=pdf.w - _MARGIN - 45, y=top, w=45, h=20,
                      keep_aspect_ratio=True)  # fmt: skip
        except Exception as exc:  # Pillow's or fpdf2's own error for a damaged image
            raise DocumentError(f"cannot draw the seller logo {v['logo']}: {exc}") from None
        width -= 50
    if v["seller"]["name"]:
        pdf.set_font("DejaVu", "B", 12)
        pdf.multi_cell(width, 5.5, v["seller"]["name"], align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 8.5)
    pdf.set_text_color(*_GREY)
    for line in v["seller"]["lines"]:
        pdf.multi_cell(width, _LINE, line, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_y(max(pdf.get_y(), top + (22 if logo is not None else 0)) + 6)


def _pdf_title(pdf: FPDF, v: Mapping[str, Any]) -> None:
    pdf.set_font("DejaVu", "B", 18)
    pdf.cell(0, 9, v["title"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    dates = v["dates"] + (f" · {v['status']}" if v["status"] else "")
    pdf.cell(0, 5, dates, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("DejaVu", "", 7.5)
    pdf.set_text_color(*_GREY)
    pdf.cell(0, 4, "To", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    if v["customer"]["name"]:
        pdf.set_font("DejaVu", "B", 10)
        pdf.multi_cell(110, 5, v["customer"]["name"], align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 8.5)
    for line in v["customer"]["lines"]:
        pdf.multi_cell(110, _LINE, line, align="L", new_x="LMARGIN", new_y="NEXT")
    if v["deal"]:
        pdf.ln(2)
        pdf.multi_cell(0, _LINE, f"Re: {v['deal']}", align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(5)


def _wrapped(pdf: FPDF, text: str, width: float) -> list[str]:
    """``text`` broken into lines no wider than ``width`` in the current font: at spaces, and
    inside a word only when the word alone is wider.  (Measuring words is much faster than
    fpdf2's dry-run ``multi_cell``, which matters for a long table.)"""
    if not text:
        return []
    measure = pdf.get_string_width
    if measure(text) <= width:
        return [text]
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if measure(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        while measure(word) > width:  # a word wider than the cell: cut it
            cut = max(1, next(n for n in range(len(word), 0, -1) if measure(word[:n]) <= width))
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    if line:
        lines.append(line)
    return lines


def _pdf_header(pdf: FPDF) -> None:
    pdf.set_font("DejaVu", "B", 8)
    pdf.set_fill_color(235, 235, 235)
    x, y = pdf.l_margin, pdf.get_y()
    pdf.rect(x, y, pdf.epw, 6.5, style="F")
    for heading, width, align in COLUMNS:
        pdf.set_xy(x + _PAD, y)
        pdf.cell(width - 2 * _PAD, 6.5, heading, align=align)
        x += width
    pdf.set_xy(pdf.l_margin, y + 6.5)


def _pdf_items(pdf: FPDF, v: Mapping[str, Any]) -> None:
    pdf.set_font("DejaVu", "", 7)
    pdf.set_text_color(*_GREY)
    pdf.cell(0, 4, v["amounts_in"], align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    _pdf_header(pdf)
    pdf.set_auto_page_break(False)
    bottom = pdf.h - 18
    for row in v["rows"]:
        cells = []
        height = 0.0
        for (_, width, align), key in zip(COLUMNS, _KEYS, strict=True):
            pdf.set_font("DejaVu", "", 8.5)
            lines = _wrapped(pdf, row[key], width - 2 * _PAD)
            small: list[str] = []
            if key == "product" and row["details"]:
                pdf.set_font("DejaVu", "", 7)
                for detail in row["details"]:
                    small += _wrapped(pdf, detail, width - 2 * _PAD)
            cells.append((width, align, lines, small))
            height = max(height, len(lines) * _LINE + len(small) * _SMALL_LINE)
        height += 2 * _PAD
        if pdf.get_y() + height > bottom:
            pdf.add_page()
            _pdf_header(pdf)
        x, y = pdf.l_margin, pdf.get_y()
        for width, align, lines, small in cells:
            pdf.set_font("DejaVu", "", 8.5)
            for n, line in enumerate(lines):
                pdf.set_xy(x + _PAD, y + _PAD + n * _LINE)
                pdf.cell(width - 2 * _PAD, _LINE, line, align=align)
            pdf.set_font("DejaVu", "", 7)
            pdf.set_text_color(*_GREY)
            for n, line in enumerate(small):
                pdf.set_xy(x + _PAD, y + _PAD + len(lines) * _LINE + n * _SMALL_LINE)
                pdf.cell(width - 2 * _PAD, _SMALL_LINE, line, align=align)
            pdf.set_text_color(0, 0, 0)
            x += width
        pdf.set_draw_color(210, 210, 210)
        pdf.line(pdf.l_margin, y + height, pdf.l_margin + pdf.epw, y + height)
        pdf.set_xy(pdf.l_margin, y + height)
    pdf.set_auto_page_break(True, margin=18)
    pdf.ln(3)


def _pdf_totals(pdf: FPDF, v: Mapping[str, Any]) -> None:
    needed = 5.5 * len(v["totals"]) + 4
    if pdf.get_y() + needed > pdf.h - 18:
        pdf.add_page()
    label_x, label_w, amount_w = pdf.l_margin + 50, 80.0, 50.0
    for label, amount, bold in v["totals"]:
        if bold:
            pdf.set_draw_color(0, 0, 0)
            pdf.line(label_x, pdf.get_y() + 0.5, pdf.l_margin + pdf.epw, pdf.get_y() + 0.5)
            pdf.ln(1.5)
        pdf.set_font("DejaVu", "B" if bold else "", 10 if bold else 8.5)
        pdf.set_x(label_x)
        pdf.cell(label_w, 5.5, label, align="R")
        pdf.cell(amount_w, 5.5, amount, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(5)


def _pdf_closing(pdf: FPDF, v: Mapping[str, Any]) -> None:
    if v["note"]:
        pdf.set_font("DejaVu", "B", 8.5)
        pdf.cell(0, 5, "Note", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 8.5)
        for line in v["note"]:
            if not line:
                pdf.ln(_LINE / 2)
                continue
            pdf.multi_cell(0, _LINE, line, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    if v["validity"]:
        pdf.set_font("DejaVu", "", 8.5)
        pdf.multi_cell(0, _LINE, v["validity"], align="L", new_x="LMARGIN", new_y="NEXT")


# ---------------------------------------------------------------------------- HTML


def render_html(doc: Mapping[str, Any]) -> str:
    """The quote as one self-contained HTML page (inline CSS, tables; the logo inlined), for
    the body of an e-mail."""
    import base64

    import jinja2

    v = view(doc)
    logo = ""
    if v["logo"]:
        data, mime = _logo(v["logo"])
        logo = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    env = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    template = env.from_string((TEMPLATES / "quote.html").read_text(encoding="utf-8"))
    return template.render(v=v, logo_src=logo, aligns=[align for _, _, align in COLUMNS])


# ---------------------------------------------------------------------------- the file


def write(doc: Mapping[str, Any], path: Path, fmt: str, *, force: bool = False) -> list[str]:
    """Render ``doc`` as ``fmt`` (``pdf`` or ``html``) into ``path``: atomically, mode 0600,
    never replacing a file unless ``force``.  Returns the characters the PDF could not draw
    (see :func:`render_pdf_checked`; always none for HTML), for a warning."""
    if fmt not in FORMATS:
        raise UsageError(f"invalid format {fmt!r}: pdf or html")
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise DocumentError(f"no folder {folder} to write {path.name} in")
    if path.is_dir():
        raise DocumentError(f"{path} is a folder")
    if not force and (path.exists() or path.is_symlink()):
        raise DocumentError(f"{path} exists (--force replaces it)")
    if fmt == "pdf":
        data, missing = render_pdf_checked(doc)
    else:
        data, missing = render_html(doc).encode("utf-8"), []
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise DocumentError(f"cannot write in {folder}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), 0o600)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if force:
            os.replace(temp, path)
        else:
            _place_new(temp, path)
        _sync_folder(folder)
    except OSError as exc:
        raise DocumentError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if os.path.lexists(temp):
            os.unlink(temp)
    return missing


def _place_new(temp: str, path: Path) -> None:
    """Give the finished temporary file the name ``path`` unless a file took it meanwhile:
    a hard link fails on an existing name where a rename would replace it."""
    try:
        os.link(temp, path)
    except FileExistsError:
        raise DocumentError(f"{path} exists (--force replaces it)") from None
    except OSError:  # a file system without hard links: check, then rename
        if path.exists() or path.is_symlink():
            raise DocumentError(f"{path} exists (--force replaces it)") from None
        os.replace(temp, path)


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
