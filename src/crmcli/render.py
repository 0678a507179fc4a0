"""Output: table (rich, terminals only), tsv, csv, json, jsonl, ids.

Never touches the database: it receives plain dicts.  JSON, CSV and TSV never go through rich,
and a rich table is only drawn for a terminal (sent to a pipe it would truncate at 80 columns).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any

from crmcli.text import visible

FORMATS = ("table", "tsv", "csv", "json", "jsonl", "ids")
TABLE_DEFAULT_LIMIT = 200  # rows a terminal table shows unless --limit says otherwise

# Cells a spreadsheet would read as a formula (OWASP CSV injection); a leading quote is
# neutralised too, so that import can undo exactly what export did.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")
_NO_WRAP = {"id", "phone", "email", "type", "birthday"}  # short values read badly when folded
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
) -> int:
    """Write ``rows`` in ``fmt``; returns how many were written.  Rows are streamed except
    for ``table``, which rich has to measure first."""
    out = out or sys.stdout
    count = 0
    if fmt == "ids" and "id" not in columns:
        from crmcli.errors import UsageError

        raise UsageError("-f ids: these records have no id; use tsv, csv, json or jsonl")
    if fmt == "table":
        return _table(rows, table_columns or columns, title, out, empty_message)
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


def heading(name: str) -> str:
    return name.replace("_", " ").capitalize()


def display(name: str, value: Any) -> str:
    """A value as a person reads it in a table: local times, lists joined, text made safe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name.endswith(("_at", "_contacted")) and isinstance(value, str):
        from crmcli.dates import format_local

        return format_local(value)
    if isinstance(value, list):
        return ", ".join(visible(str(v)) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{visible(k)}={visible(str(v))}" for k, v in value.items())
    return visible(str(value))


def console(out: IO[str] | None = None) -> Any:
    """A rich console for a terminal (colour follows NO_COLOR / FORCE_COLOR / TERM=dumb)."""
    from rich.console import Console

    return Console(file=out or sys.stdout, highlight=False)


def _table(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    title: str | None,
    out: IO[str],
    empty_message: str | None,
) -> int:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title, header_style="bold", show_lines=False)
    for col in columns:
        table.add_column(
            heading(col),
            overflow="fold",
            justify="right" if col == "id" else "left",
            no_wrap=col in _NO_WRAP or col.endswith(("_at", "_contacted")),
        )
    count = 0
    for row in rows:
        table.add_row(*(escape(display(c, row.get(c))) for c in columns))
        count += 1
    if count == 0 and empty_message:
        sys.stderr.write(empty_message + "\n")
        return 0
    console(out).print(table)
    return count


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
    from rich.table import Table

    card = Table(show_header=False, box=None, padding=(0, 1))
    card.add_column(style="bold")
    card.add_column(overflow="fold")
    for col in columns:
        value = record.get(col)
        if value in (None, "", [], {}):
            continue
        if col == "fields":
            for key, val in value.items():
                card.add_row(escape(visible(key)), escape(visible(str(val))))
            continue
        card.add_row(heading(col), escape(display(col, value)))
    con = console(out)
    con.print(card)
    for key, (title, sub_columns) in sections.items():
        items = record.get(key) or []
        con.print()
        if not items:
            con.print(f"[dim]{escape(title)}: none[/dim]")
            continue
        _table(items, sub_columns, f"{title} ({len(items)})", out, None)


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

    Each column is a mapping with ``stage``, ``probability``, ``deals`` (how many in all),
    ``overdue``, ``totals`` (``(total, weighted)`` display strings, one per currency) and
    ``cards`` (dicts with ``id``, ``title``, ``customer``, ``value``, ``close_date``,
    ``overdue``): the caller decides how many cards to show; the rest are counted."""
    from rich.console import Group
    from rich.markup import escape
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    table = Table(show_header=True, header_style="bold", show_footer=True, expand=True)
    cells = []
    for column in columns:
        header = f"{visible(column['stage'])} ({column['probability']} %)"
        footer = [f"{column['deals']} deal{'s' if column['deals'] != 1 else ''}"]
        for total, weighted in column["totals"]:
            footer.append(f"{total}\n[dim]weighted {weighted}[/dim]")
        if column["overdue"]:
            footer.append(f"[red]{column['overdue']} overdue[/red]")
        table.add_column(escape(header), footer="\n".join(footer), overflow="fold", ratio=1)
        parts: list[Any] = []
        for card in column["cards"]:
            body = Text(visible(card["customer"] or ""), style="cyan")
            if card.get("value"):
                body.append("\n" + card["value"])
            if card.get("close_date"):
                late = card.get("overdue")
                body.append(
                    f"\n{'overdue ' if late else 'closes '}{card['close_date']}",
                    style="red" if late else "dim",
                )
            title = Text(f"#{card['id']} ", style="dim") + Text(visible(card["title"]), "bold")
            parts.append(Panel(Group(title, body), padding=(0, 1), border_style="dim"))
        hidden = column["deals"] - len(column["cards"])
        if hidden > 0:
            parts.append(Text(f"… and {hidden} more",
                              style="dim"))  # fmt: skip
        if not parts:
            parts.append(Text("no deals", style="dim"))
        cells.append(Group(*parts))
    if columns:
        table.add_row(*cells)
    console(out).print(table)
