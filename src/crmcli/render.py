"""Output: table (rich, terminals only), tsv, csv, json, jsonl, ids.

Never touches the database: it receives plain dicts.  JSON, CSV and TSV never go through rich,
and a rich table is only drawn for a terminal (sent to a pipe it would truncate at 80 columns).
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import IO, Any

from crmcli.text import visible

FORMATS = ("table", "tsv", "csv", "json", "jsonl", "ids")
TABLE_DEFAULT_LIMIT = 200  # rows a terminal table shows unless --limit says otherwise

# Cells a spreadsheet would read as a formula (OWASP CSV injection); a leading quote is
# neutralised too, so that import can undo exactly what export did.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")
_TSV_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def is_terminal(stream: IO[str] | None = None) -> bool:
    stream = stream or sys.stdout
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def default_format(stream: IO[str] | None = None) -> str:
    """``table`` for a terminal, ``tsv`` for anything else."""
    return "table" if is_terminal(stream) else "tsv"


def cell_text(value: Any) -> str:
    """A value as plain text for tsv/csv."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        if not value:
            return ""
        import json  # not at the top: a listing without custom fields never needs it

        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _tsv_cell(value: Any) -> str:
    """:func:`cell_text` escaped for TSV; the common types first (a listing is mostly them)."""
    kind = type(value)
    if kind is str:
        return value.translate(_TSV_ESCAPES)  # type: ignore[no-any-return]
    if value is None:
        return ""
    if kind is int:
        return str(value)
    return cell_text(value).translate(_TSV_ESCAPES)


def neutralise(text: str) -> str:
    """Make a CSV cell safe to open in a spreadsheet."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def unneutralise(text: str) -> str:
    """Undo :func:`neutralise` (for importing our own exports)."""
    if text.startswith("'") and text[1:].startswith(_FORMULA_START):
        return text[1:]
    return text


def _json_default(value: Any) -> Any:
    return str(value)


def to_json(value: Any, *, indent: int | None = None) -> str:
    import json  # not at the top: a tsv listing never needs it (start-up time)

    return json.dumps(value, ensure_ascii=False, indent=indent, default=_json_default)


def to_json_document(value: Any, level: int = 0) -> str:
    """JSON for people and scripts alike: an object one member a line, a list of records one
    record a line, everything else compact.  Every piece goes through the C encoder
    (``json.dumps(indent=…)`` would use the pure-Python one: ≈ 4 × slower on a big card)."""
    pad, inner = "  " * level, "  " * (level + 1)
    if isinstance(value, Mapping) and value:
        members = [f"{inner}{to_json(str(k))}: {_member(v, level + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(members) + f"\n{pad}}}"
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        items = [inner + to_json_document(v, level + 1) for v in value]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    return to_json(value)


def _member(value: Any, level: int) -> str:
    """An object's member: a list of records one a line, anything else compact."""
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        inner = "  " * (level + 1)
        items = [inner + to_json(v) for v in value]
        return "[\n" + ",\n".join(items) + f"\n{'  ' * level}]"
    return to_json(value)


def emit(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    fmt: str,
    *,
    table_columns: Sequence[str] | None = None,
    title: str | None = None,
    out: IO[str] | None = None,
    raw: bool = False,
    empty_message: str | None = None,
    kinds: Mapping[str, str] | None = None,
    keep: Collection[str] | None = None,
    drop: Sequence[str] = (),
    headings: Mapping[str, str] | None = None,
    alert: str | None = None,
) -> int:
    """Write ``rows`` in ``fmt``; returns how many were written.  Rows are streamed except
    for ``table``, which is laid out for the terminal's width first.

    For ``table`` only: ``kinds`` names a column's kind where its name does not tell
    (:func:`column_kind`), ``keep`` the columns never dropped (default: the id and the
    name or title), ``drop`` the columns to drop first when the terminal is narrow (then
    the others from the right), ``headings`` headings other than the field name's, ``alert``
    a field that, when true, draws the row in red (an overdue deal)."""
    out = out or sys.stdout
    count = 0
    if fmt == "ids" and "id" not in columns:
        from crmcli.errors import UsageError

        raise UsageError("-f ids: these records have no id; use tsv, csv, json or jsonl")
    if fmt == "table":
        return _table(rows, table_columns or columns, title, out, empty_message, kinds=kinds,
                      keep=keep, drop=drop, headings=headings, alert=alert)  # fmt: skip
    if fmt == "tsv":
        out.write("\t".join(columns) + "\n")
        write = out.write
        for row in rows:
            write("\t".join([_tsv_cell(row.get(c)) for c in columns]) + "\n")
            count += 1
    elif fmt == "csv":
        import csv

        writer = csv.writer(out)  # RFC 4180 CRLF: then a bare CR in a cell is quoted too
        writer.writerow(columns)
        for row in rows:
            cells = [cell_text(row.get(c)) for c in columns]
            if not raw:
                cells = [neutralise(c) for c in cells]
            writer.writerow(cells)
            count += 1
    elif fmt == "json":
        out.write("[")
        for row in rows:
            out.write(",\n " if count else "\n ")
            out.write(to_json({c: row.get(c) for c in columns}))
            count += 1
        out.write("\n]\n" if count else "]\n")
    elif fmt == "jsonl":
        for row in rows:
            out.write(to_json({c: row.get(c) for c in columns}) + "\n")
            count += 1
    elif fmt == "ids":
        for row in rows:
            out.write(f"{row['id']}\n")
            count += 1
    else:  # guarded by the CLI's choices
        raise ValueError(f"unknown format {fmt!r}")
    return count


# -- the terminal ---------------------------------------------------------------------------
#
# One rule for every table drawn on a terminal (SPEC 6b): ids, dates, times, amounts,
# percentages, phones and short codes are never wrapped or split; free text takes the width
# that is left and is cut with "…"; when even that does not fit, the least important columns
# are dropped (never the identifying ones).  The layout is computed here from the console
# width, so rich never has to shrink a column by itself.

ID, DATE, TIME, MONEY, PERCENT, NUMBER, CODE, PHONE, TEXT = (
    "id", "date", "time", "money", "percent", "number", "code", "phone", "text",
)  # fmt: skip
KINDS = (ID, DATE, TIME, MONEY, PERCENT, NUMBER, CODE, PHONE, TEXT)
_RIGHT = frozenset({ID, MONEY, PERCENT, NUMBER})  # right-aligned: digits line up
_MONEY_NAMES = frozenset({"amount", "value", "total", "weighted", "balance", "price",
                          "unit_price", "won_value", "avg_won", "paid", "due_amount",
                          "subtotal", "net", "tax", "base"})  # fmt: skip
_PERCENT_NAMES = frozenset({"probability", "percent", "rate"})
_CODE_NAMES = frozenset({"status", "stage", "type", "priority", "source", "currency", "kind",
                         "tier", "action", "entity", "channel", "every", "overdue"})  # fmt: skip
_DATE_NAMES = frozenset({"date", "birthday", "month", "close", "day"})
_TIME_NAMES = frozenset({"at", "due", "when", "last_contacted", "last_contact", "time"})
_KEY_NAMES = ("name", "title", "subject")  # what a person recognises a record by
# Table headings shorter than the field name, where the values are much narrower than it
# (a card has room for the full name).
SHORT_HEADINGS = {"probability": "Prob."}
TEXT_MIN = 12  # a free-text column narrower than this is dropped rather than shown
KEY_MIN = 14  # the identifying text column (name, title) keeps at least this much
_BORDERS = 3  # a boxed table: one border and two padding cells per column (plus one)


def column_kind(name: str, values: Iterable[Any] = ()) -> str:
    """How a column may be laid out, from its name (``id``, ``*_at``, ``amount`` …) and,
    failing that, from its values (numbers only: a number; yes/no: a code)."""
    n = name.lower()
    if n in ("id", "uid") or n.endswith("_id"):
        return ID
    if n in _TIME_NAMES or n.endswith(("_at", "_contacted")):
        return TIME
    if n in _DATE_NAMES or n.endswith(("_date", "_day", "_month")):
        return DATE
    if n in _MONEY_NAMES or n.endswith(("_amount", "_value", "_total", "_price", "_balance")):
        return MONEY
    if n in _PERCENT_NAMES or n.endswith(("_pct", "_percent", "_rate")):
        return PERCENT
    if n == "phone" or n.endswith("_phone"):
        return PHONE
    if n in _CODE_NAMES or n.endswith(("_status", "_stage", "_type", "_priority", "_kind")):
        return CODE
    seen = False
    for value in values:
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            return CODE
        if not isinstance(value, int | float):
            return TEXT
        seen = True
    return NUMBER if seen else TEXT


def heading(name: str, *, short: bool = False) -> str:
    """A field name as a heading: ``close_date`` -> ``Close date`` (``short``: for a table
    column, ``probability`` -> ``Prob.``)."""
    return (short and SHORT_HEADINGS.get(name)) or name.replace("_", " ").capitalize()


def format_phone(number: str) -> str:
    """A stored E.164 number as people write it: ``+84 91 234 56 78``.  Anything the
    library cannot read is shown as stored."""
    if not number.startswith("+"):
        return number
    return _phone_for_people(number)


@functools.lru_cache(maxsize=1024)
def _phone_for_people(number: str) -> str:
    import phonenumbers

    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def late(when: str, overdue: Any) -> str:
    """A date or time marked the same way everywhere when it is past due: ``2026-11-29 !``
    (the row is drawn in red too, see ``emit(alert=…)``)."""
    return f"{when} !" if overdue and when else when


_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")


def display(name: str, value: Any, row: Mapping[str, Any] | None = None) -> str:
    """A value as a person reads it on a terminal: local times, money in its currency (the
    row's ``currency``), percentages, phones as people write them, lists joined, text made
    safe, blank lines left out.  Values a caller already formatted (strings) are only made
    safe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        kind = column_kind(name)
        if kind == TIME and value[:4].isdigit() and "T" in value:
            from crmcli.dates import format_local

            return format_local(value)
        if kind == PHONE:
            return format_phone(visible(value))
        if "\n\n" in value:  # a mail's subject and body: blank lines cost screen rows
            value = _BLANK_LINES.sub("\n", value)
        return visible(value)
    if isinstance(value, int | float):
        kind = column_kind(name)
        if kind == MONEY and isinstance(value, int) and row and row.get("currency"):
            from crmcli.money import format_money

            return format_money(value, str(row["currency"]))
        if kind == PERCENT:
            return f"{value} %" if isinstance(value, int) else f"{value:.1f} %"
        return str(value) if isinstance(value, int) else f"{value:.1f}"
    if isinstance(value, list):
        return ", ".join(visible(str(v)) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{visible(k)}={visible(str(v))}" for k, v in value.items())
    return visible(str(value))


def console(out: IO[str] | None = None) -> Any:
    """A rich console for a terminal (colour follows NO_COLOR / FORCE_COLOR / TERM=dumb)."""
    from rich.console import Console

    return Console(file=out or sys.stdout, highlight=False)


class Column:
    """One column of a terminal table: its cells as text, its kind and what it needs."""

    def __init__(self, name: str, title: str, kind: str, cells: list[str]) -> None:
        from rich.cells import cell_len

        self.name, self.title, self.kind, self.cells = name, title, kind, cells
        widest = max((cell_len(c) for c in cells), default=0)
        words = max((cell_len(w) for w in title.split()), default=0)
        self.natural = max(widest, cell_len(title))  # everything on one line
        if kind == TEXT:
            self.least = min(self.natural, max(words, TEXT_MIN))
        else:  # never cut: the heading may wrap between words
            self.least = max(widest, words)
        self.width = self.natural


def layout(
    columns: Sequence[Column],
    width: int,
    *,
    keep: Collection[str] = (),
    drop: Sequence[str] = (),
    borders: int = _BORDERS,
) -> list[Column]:
    """The columns that fit in ``width`` cells, each with its ``width`` set.

    Everything at its natural width when it fits; otherwise free text shrinks (down to its
    least width), then headings of fixed columns wrap between words, then columns are
    dropped: empty ones first, then those in ``drop`` (in that order), then the others
    from the right, never those in ``keep``."""
    shown = list(columns)
    for column in shown:  # the identifying text keeps enough to be recognised
        if column.kind == TEXT and column.name in keep:
            column.least = max(column.least, min(column.natural, KEY_MIN))
    order = [c.name for c in shown if not any(c.cells) and c.name not in keep]
    order += [c for c in drop if c not in keep and c not in order]
    order += [c.name for c in reversed(shown) if c.name not in keep and c.name not in order]
    while True:
        room = width - borders * len(shown) - 1
        if sum(c.natural for c in shown) <= room:
            for column in shown:
                column.width = column.natural
            return shown
        if sum(c.least for c in shown) <= room:
            _share(shown, room, keep)
            return shown
        names = {c.name for c in shown}
        victim = next((name for name in order if name in names), None)
        if victim is None:  # nothing more may go: the least widths, rich does the rest
            for column in shown:
                column.width = column.least
            return shown
        order.remove(victim)
        shown = [c for c in shown if c.name != victim]


def _share(columns: Sequence[Column], room: int, keep: Collection[str]) -> None:
    """Give ``room`` cells out: every column its least width, then fixed columns their
    one-line heading, then free text up to what it needs, the identifying text (a name,
    a title) twice as fast as the rest."""
    for column in columns:
        column.width = column.least
    spare = room - sum(c.least for c in columns)
    spare = _unwrap_headings(columns, spare)
    hungry = [c for c in columns if c.natural > c.width]
    while hungry and spare > 0:
        weights = [2 if c.name in keep else 1 for c in hungry]
        given = 0
        for column, weight in zip(hungry, weights, strict=True):
            extra = min(column.natural - column.width, spare * weight // sum(weights))
            column.width += extra
            given += extra
        if given == 0:  # less than a cell each: one to the most important
            hungry[0].width += 1
            given = 1
        spare -= given
        hungry = [c for c in hungry if c.natural > c.width]
    _unwrap_headings(columns, spare)  # what the text did not need


def _unwrap_headings(columns: Sequence[Column], spare: int) -> int:
    """Fixed columns their one-line heading while ``spare`` allows, all or nothing (a
    heading given less than one line wraps anyway); what is left of ``spare``."""
    for column in columns:
        need = column.natural - column.width
        if column.kind != TEXT and 0 < need <= spare:
            column.width += need
            spare -= need
    return spare


def identifying(names: Sequence[str], kinds: Mapping[str, str]) -> set[str]:
    """The columns a table never drops: the id and the first name, title or subject (or,
    without those, the first free-text column; without an id, the first column)."""
    keep = {n for n in names if n == "id"}
    key = next((n for n in names if n in _KEY_NAMES), None)
    key = key or next((n for n in names if kinds.get(n) == TEXT), None)
    if key:
        keep.add(key)
    if not keep and names:
        keep.add(names[0])
    return keep


def table(
    columns: Sequence[Column],
    *,
    title: str | None = None,
    width: int,
    keep: Collection[str] | None = None,
    drop: Sequence[str] = (),
    styles: Mapping[str, str] | None = None,
    alert: Sequence[bool] | None = None,
    fill: Callable[[int], Column | None] | None = None,
) -> Any:
    """A rich table of ``columns`` laid out for ``width`` cells (see :func:`layout`);
    ``styles`` a style per column name, ``alert`` the rows drawn in red.  ``fill`` is
    given the cells left over when every column fits, and may return one more column for
    them (a report's bars: they shrink or go before any number does)."""
    from rich.table import Table
    from rich.text import Text

    if keep is None:
        keep = identifying([c.name for c in columns], {c.name: c.kind for c in columns})
    shown = layout(columns, width, keep=keep, drop=drop)
    if fill is not None and len(shown) == len(columns):
        spare = width - sum(c.width + _BORDERS for c in shown) - 1 - _BORDERS
        extra = fill(spare) if spare > 0 else None
        if extra is not None:
            shown.append(extra)
    grid = Table(title=title, header_style="bold")
    for column in shown:
        grid.add_column(
            Text(column.title, overflow="fold", no_wrap=False),
            justify="right" if column.kind in _RIGHT else "left",
            width=column.width,
            no_wrap=True,
            overflow="ellipsis",
            style=(styles or {}).get(column.name),
        )
    for n in range(len(columns[0].cells) if columns else 0):
        style = "red" if alert and alert[n] else None
        grid.add_row(*(Text(column.cells[n]) for column in shown), style=style)
    return grid


def _table(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    title: str | None,
    out: IO[str],
    empty_message: str | None,
    *,
    kinds: Mapping[str, str] | None = None,
    keep: Collection[str] | None = None,
    drop: Sequence[str] = (),
    headings: Mapping[str, str] | None = None,
    alert: str | None = None,
) -> int:
    records = list(rows)
    if not records and empty_message:
        sys.stderr.write(empty_message + "\n")
        return 0
    kinds = dict(kinds or {})
    for name in columns:
        if name not in kinds:
            kinds[name] = column_kind(name, (r.get(name) for r in records))
    laid = [
        Column(name, (headings or {}).get(name) or heading(name, short=True), kinds[name],
               [display(name, r.get(name), r) for r in records])
        for name in columns
    ]  # fmt: skip
    con = console(out)
    if keep is None:
        keep = identifying(list(columns), kinds)
    marked = [bool(r.get(alert)) for r in records] if alert else None
    con.print(table(laid, title=title, width=con.width, keep=keep, drop=drop, alert=marked))
    return len(records)


def emit_record(
    record: Mapping[str, Any],
    fmt: str,
    *,
    columns: Sequence[str],
    sections: Mapping[str, tuple[str, Sequence[str]]] | None = None,
    out: IO[str] | None = None,
    raw: bool = False,
) -> None:
    """One record (``show``): a card with sections on a terminal, one object in JSON,
    one row in tsv/csv.  ``sections`` maps a key of ``record`` holding a list of dicts to a
    (title, columns) pair drawn under the card."""
    out = out or sys.stdout
    sections = sections or {}
    if fmt == "json":
        out.write(to_json_document(dict(record)) + "\n")
        return
    if fmt == "jsonl":
        out.write(to_json(dict(record)) + "\n")
        return
    if fmt != "table":
        emit([record], columns, fmt, out=out, raw=raw)
        return
    from rich.markup import escape

    con = console(out)
    con.print(card(record, columns))
    for key, (title, sub_columns) in sections.items():
        items = record.get(key) or []
        con.print()
        if not items:
            con.print(f"[dim]{escape(title)}: none[/dim]")
            continue
        _table(items, sub_columns, f"{title} ({len(items)})", out, None)


def card(record: Mapping[str, Any], columns: Sequence[str]) -> Any:
    """One record as a card: a label and a value a line.  Free text wraps between words
    (a card shows everything); ids, dates, amounts, phones and codes never wrap."""
    from rich.table import Table
    from rich.text import Text

    lines: list[tuple[str, str, str]] = []
    for col in columns:
        value = record.get(col)
        if value in (None, "", [], {}):
            continue
        if col == "fields":
            lines += [(visible(k), visible(str(v)), TEXT) for k, v in value.items()]
            continue
        lines.append((heading(col), display(col, value, record), column_kind(col, [value])))
    grid = Table(show_header=False, box=None, padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for label, text, kind in lines:
        if kind == TEXT:
            grid.add_row(Text(label), Text(text, overflow="fold"))
        else:
            grid.add_row(Text(label), Text(text, no_wrap=True, overflow="ellipsis"))
    return grid


def emit_records(
    records: Sequence[Mapping[str, Any]],
    fmt: str,
    *,
    many: bool,
    columns: Sequence[str],
    sections: Mapping[str, tuple[str, Sequence[str]]] | None = None,
    out: IO[str] | None = None,
    raw: bool = False,
) -> None:
    """``show`` of one record or several (``many``): JSON is then an array of the objects,
    tsv/csv one header and a row each, JSON Lines a line each, a terminal one card after
    another."""
    if not many:
        emit_record(records[0], fmt, columns=columns, sections=sections, out=out, raw=raw)
        return
    out = out or sys.stdout
    if fmt == "json":
        out.write(to_json_document([dict(r) for r in records]) + "\n")
    elif fmt in ("table", "jsonl"):
        for number, record in enumerate(records):
            if number and fmt == "table":
                out.write("\n")
            emit_record(record, fmt, columns=columns, sections=sections, out=out, raw=raw)
    else:
        emit(records, columns, fmt, out=out, raw=raw)


def board(columns: Sequence[Mapping[str, Any]], out: IO[str] | None = None) -> None:
    """The pipeline board for a terminal: one column per stage, a card per deal shown
    (title, customer, value, close date; overdue in red), the stage's totals underneath.
    As many stages side by side as fit the terminal without cutting an amount or a date;
    the rest in further rows of the board.

    Each column is a mapping with ``stage``, ``probability``, ``deals`` (how many in all),
    ``overdue``, ``totals`` (``(total, weighted)`` display strings, one per currency) and
    ``cards`` (dicts with ``id``, ``title``, ``customer``, ``value``, ``close_date``,
    ``overdue``): the caller decides how many cards to show; the rest are counted."""
    from rich.cells import cell_len

    con = console(out)
    need = BOARD_MIN
    for column in columns:  # what must stay whole: amounts, dates, heading words
        words = [t for pair in column["totals"] for t in pair] + _board_heading(column).split()
        need = max(need, *(cell_len(w) for w in words))
        for card_ in column["cards"]:
            inner = [card_.get("value") or "", f"overdue {card_.get('close_date') or ''}"]
            need = max(need, *(cell_len(w) + _PANEL for w in inner))
    per_row = max(1, (con.width - 1) // (need + _BORDERS))
    rows = -(-len(columns) // per_row) if columns else 1
    per_row = -(-len(columns) // rows) if columns else 1
    for start in range(0, max(len(columns), 1), per_row):
        chunk = columns[start : start + per_row]
        inner = (con.width - 1) // max(len(chunk), 1) - _BORDERS
        if start:
            con.print()
        con.print(_board_part(chunk, inner))


BOARD_MIN = 18  # a stage column narrower than this is not worth showing side by side
_PANEL = 4  # a card's border and padding


def _board_heading(column: Mapping[str, Any]) -> str:
    return f"{visible(column['stage'])} ({column['probability']} %)"


def _board_part(columns: Sequence[Mapping[str, Any]], inner: int) -> Any:
    """One row of the board: ``columns`` side by side, each ``inner`` cells wide."""
    from rich.cells import cell_len
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    def whole(text: str, style: str = "") -> Text:
        return Text(text, style=style, no_wrap=True, overflow="ellipsis")

    table = Table(show_header=True, header_style="bold", show_footer=True, expand=True)
    cells = []
    for column in columns:
        footer: list[Any] = [Text(f"{column['deals']} deal{'s' if column['deals'] != 1 else ''}")]
        for total, weighted in column["totals"]:
            footer.append(whole(total))
            if cell_len(f"weighted {weighted}") <= inner:
                footer.append(whole(f"weighted {weighted}", "dim"))
            else:
                footer += [Text("weighted", style="dim"), whole(weighted, "dim")]
        if column["overdue"]:
            footer.append(Text(f"{column['overdue']} overdue", style="red"))
        table.add_column(Text(_board_heading(column)), footer=Group(*footer), ratio=1)
        parts: list[Any] = []
        for card_ in column["cards"]:
            lines = [
                Text(f"#{card_['id']} ", style="dim", no_wrap=True, overflow="ellipsis")
                + Text(visible(card_["title"]), style="bold"),
                whole(visible(card_["customer"] or ""), "cyan"),
            ]
            if card_.get("value"):
                lines.append(whole(card_["value"]))
            if card_.get("close_date"):
                late = card_.get("overdue")
                lines.append(whole(f"{'overdue' if late else 'closes'} {card_['close_date']}",
                                   "red" if late else "dim"))  # fmt: skip
            parts.append(Panel(Group(*lines), padding=(0, 1), border_style="dim"))
        hidden = column["deals"] - len(column["cards"])
        if hidden > 0:
            parts.append(Text(f"… and {hidden} more", style="dim"))
        if not parts:
            parts.append(Text("no deals", style="dim"))
        cells.append(Group(*parts))
    if columns:
        table.add_row(*cells)
    return table
