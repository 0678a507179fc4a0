"""``crm report …``: pipeline, forecast, sales, leads, customers, tickets, activity,
receivables, campaigns.

The figures come from SQL (:mod:`crmcli.core.reports`); this module parses the options and
shows the sections: rich tables with bars on a terminal, plain records otherwise.
"""

import sys
from typing import Annotated, Any

import typer

from crmcli.cli.options import FormatOpt, RawOpt, database, fmt_of, group, info, opt
from crmcli.core import reports as core
from crmcli.core import reports_service as service
from crmcli.core.money import receivables as owed
from crmcli.core.outreach import measure

app = group(
    "Reports: pipeline, forecast, sales, leads, customers, tickets, activity, receivables, "
    "campaigns."
)

# The sections of each report and their columns (checked before the database is read).
SECTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "pipeline": {"stages": core.PIPELINE_COLUMNS, "funnel": core.FUNNEL_COLUMNS},
    "forecast": {"months": core.FORECAST_COLUMNS},
    "sales": {
        "periods": core.SALES_COLUMNS,
        "averages": core.AVERAGES_COLUMNS,
        "lost_reasons": core.LOST_REASON_COLUMNS,
    },
    "leads": {"groups": ("source", "period", *core.LEADS_COLUMNS)},
    "customers": {
        "top": service.TOP_COLUMNS,
        "summary": service.CUSTOMER_SUMMARY_COLUMNS,
        "retention": service.RETENTION_COLUMNS,
        "at_risk": service.AT_RISK_COLUMNS,
        "recommendation": service.RECOMMENDATION_COLUMNS,
    },
    # `report customers --by rfm` (crmcli.core.outreach.rfm)
    "customers_rfm": {
        "segments": ("segment", "rule", "customers", "share"),
        "cells": ("cell", "r", "f", "m", "customers"),
    },
    "tickets": {
        "summary": service.TICKET_SUMMARY_COLUMNS,
        "open": service.TICKET_OPEN_COLUMNS,
        "satisfaction": service.SATISFACTION_COLUMNS,
        "unhappy": service.UNHAPPY_COLUMNS,
    },
    "activity": {"periods": service.ACTIVITY_COLUMNS},
    "receivables": {
        "ageing": owed.AGEING_COLUMNS,
        "customers": owed.CUSTOMER_COLUMNS,
        "dso": owed.DSO_COLUMNS,
        "collected": owed.COLLECTED_COLUMNS,
    },
    "campaigns": {"campaigns": measure.CAMPAIGN_COLUMNS, "skipped": measure.SKIPPED_COLUMNS},
}


FromOpt = Annotated[
    str | None, opt("Start date (local): 2026-01-01, '3 months ago', 'start of year'.", "--from")
]
ToOpt = Annotated[str | None, opt("End date, included: 2026-06-30, today, 'end of month'.", "--to")]
PeriodOpt = Annotated[
    str | None,
    opt(
        "Instead of --from/--to: this-month, last-month, this-quarter, last-quarter, "
        "this-year, last-year, this-week, last-week or all.",
        "--period",
    ),
]


def _sectionopt(report: str, main: str) -> Any:
    names = ", ".join(SECTIONS[report])
    return opt(
        f"Show only this part: {names} (default: all of them on a terminal and in json, "
        f"{main} in tsv, csv, jsonl and ids).",
        "--section",
    )


def _chosen(report: str, section: str | None, out: str) -> str | None:
    """The section asked for, checked; -f ids needs a section whose records have an id."""
    from crmcli.errors import InvalidValue, UsageError

    sections = SECTIONS[report]
    if section is not None:
        section = section.strip().lower().replace("-", "_")
        if section not in sections:
            raise InvalidValue("--section", section, f"choose one of {', '.join(sections)}")
    if out == "ids":
        name = section or next(iter(sections))
        if "id" not in sections[name]:
            with_ids = [n for n, cols in sections.items() if "id" in cols]
            hint = f" (--section {' or '.join(with_ids)} has them)" if with_ids else ""
            raise UsageError(f"-f ids: these records have no id{hint}; use tsv, csv, json or jsonl")
    return section


def _range(
    db: Any, start: str | None, end: str | None, period: str | None, default: str,
    today: Any = None,
) -> Any:  # fmt: skip
    """The report's range; periods and phrases count from ``today`` (default: today)."""
    from crmcli.clock import today_local
    from crmcli.core.periods import resolve
    from crmcli.core.settings import load

    return resolve(start, end, period, default=default, today=today or today_local(),
                   order=load(db).date_order)  # fmt: skip


def _check_period(period: str | None) -> None:
    if period is not None:
        from crmcli.core.periods import check_period

        check_period(period)


def _by(value: str, choices: tuple[str, ...]) -> str:
    from crmcli.core.periods import check_by

    return check_by(value, choices)


# -- the commands -------------------------------------------------------------------------


@app.command("pipeline")
def pipeline(
    start: FromOpt = None,
    end: ToOpt = None,
    period: PeriodOpt = None,
    section: Annotated[str | None, _sectionopt("pipeline", "stages")] = None,
    fmt: FormatOpt = None,
    raw: RawOpt = False,
) -> None:
    """Open deals per stage and the stage funnel.

    Per open stage and currency: deals, total, weighted total and average days in the
    stage, as of now.  The funnel follows the stage history of the deals created in the
    range (default: all time): how many reached each stage, moved on to the next, or were
    lost there.

    Example: crm report pipeline --period this-year
    """
    out = fmt_of(fmt)
    chosen = _chosen("pipeline", section, out)
    _check_period(period)
    db = database()
    show(core.pipeline(db, _range(db, start, end, period, "all")), out, chosen, raw)


@app.command("forecast")
def forecast(
    months: Annotated[
        int,
        typer.Option(
            "--months", "-m", min=1, max=core.FORECAST_MONTHS_MAX,
            help="Months to show, starting with this one.",
        ),
    ] = 6,
    fmt: FormatOpt = None,
    raw: RawOpt = False,
) -> None:  # fmt: skip
    """Weighted value of the open deals by expected close month.

    Overdue deals, deals closing after the months shown and deals without a close date
    have rows of their own.

    Example: crm report forecast --months 3
    """
    out = fmt_of(fmt)
    _chosen("forecast", None, out)
    show(core.forecast(database(), months), out, None, raw)


@app.command("sales")
def sales(
    start: FromOpt = None,
    end: ToOpt = None,
    period: PeriodOpt = None,
    by: Annotated[str, opt("Group by month (default), quarter or year.")] = "month",
    section: Annotated[str | None, _sectionopt("sales", "periods")] = None,
    fmt: FormatOpt = None,
    raw: RawOpt = False,
) -> None:
    """Won and lost deals per period: value, win rate, days to win.

    Per period and currency; deals count in the local period they were closed in
    (default range: this year).  Also the lost reasons, ranked.

    Example: crm report sales --by quarter --period last-year
    """
    out = fmt_of(fmt)
    chosen = _chosen("sales", section, out)
    by = _by(by, core.SALES_BY)
    _check_period(period)
    db = database()
    show(core.sales(db, _range(db, start, end, period, "this-year"), by), out, chosen, raw)


@app.command("leads")
def leads(
    start: FromOpt = None,
    end: ToOpt = None,
    period: PeriodOpt = None,
    by: Annotated[str, opt("Group by source (default) or month of creation.")] = "source",
    fmt: FormatOpt = None,
    raw: RawOpt = False,
) -> None:
    """Leads by source or month: how far they got, conversion.

    The leads created in the range (default: this year): how many were contacted,
    qualified, converted or lost, the conversion rate and the median days to convert.

    Example: crm report leads --by source --from "6 months ago"
    """
    out = fmt_of(fmt)
    _chosen("leads", None, out)
    by = _by(by, core.LEADS_BY)
    _check_period(period)
    db = database()
    show(core.leads(db, _range(db, start, end, period, "this-year"), by), out, None, raw)


@app.command("customers")
def customers(
    start: FromOpt = None,
    end: ToOpt = None,
    period: PeriodOpt = None,
    top: Annotated[
        int, typer.Option("--top", "-n", min=1, max=service.TOP_MAX, help="How many customers.")
    ] = 10,
    by: Annotated[
        str,
        opt(
            "Retention periods: month, quarter or year (default); rfm: customers per RFM "
            "segment and cell instead (sections segments, cells)."
        ),
    ] = "year",
    section: Annotated[str | None, _sectionopt("customers", "top")] = None,
    fmt: FormatOpt = None,
    raw: RawOpt = False,
) -> None:
    """Top customers, repeat buyers, retention, customers at risk, NPS and CSAT.

    Won deals count when closed in the range (default: all time).  At risk: customers with
    open deals or won deals and no interaction for `crm config get at_risk_days` days.
    Recommendation: per period, the net promoter score (promoters 9-10 minus detractors
    0-6, in percent) from each customer's last score in the period (crm customer nps),
    beside the mean satisfaction (1-5) of the tickets opened in it.

    --by rfm scores recency, frequency and monetary value 1-5 by quintile and counts the
    customers per named segment (champions, loyal, at risk, lost …) and per score cell.

    Example: crm report customers --top 5 --section at_risk -f csv
    """
    out = fmt_of(fmt)
    if by.strip().lower() == "rfm":
        from crmcli.core.outreach import rfm

        chosen = _chosen("customers_rfm", section, out)
        show(rfm.as_report(database()), out, chosen, raw)
        return
    chosen = _chosen("customers", section, out)
    by = _by(by, service.CUSTOMERS_BY)
    _check_period(period)
    db = database()
    rng = _range(db, start, end, period, "all")
    show(service.customers(db, rng, top=top, by=by), out, chosen, raw)


@app.command("tickets")
def tickets(
    start: FromOpt = None,
    end: ToOpt = None,
    period: PeriodOpt = None,
    section: Annotated[str | None, _sectionopt("tickets", "summary")] = None,
    fmt: FormatOpt = None,
    raw: RawOpt = False,
) -> None:
    """Open tickets, overdue, time to resolve, satisfaction.

    Unresolved and overdue tickets by priority and tier, as of now.  Time to resolve,
    first-line resolution, satisfaction and the unhappy customers cover the tickets
    opened in the range (default: this year).

    Example: crm report tickets --period this-quarter
    """
    out = fmt_of(fmt)
    chosen = _chosen("tickets", section, out)
    _check_period(period)
    db = database()
    show(service.tickets(db, _range(db, start, end, period, "this-year")), out, chosen, raw)


@app.command("activity")
def activity(
    start: FromOpt = None,
    end: ToOpt = None,
    period: PeriodOpt = None,
    by: Annotated[str, opt("Group by week or month (default).")] = "month",
    fmt: FormatOpt = None,
    raw: RawOpt = False,
) -> None:
    """Calls, e-mails, meetings, notes and deals won per period.

    Your own activity, week by week or month by month (default range: this year).

    Example: crm report activity --by week --period this-month
    """
    out = fmt_of(fmt)
    _chosen("activity", None, out)
    by = _by(by, service.ACTIVITY_BY)
    _check_period(period)
    db = database()
    show(service.activity(db, _range(db, start, end, period, "this-year"), by), out, None, raw)


@app.command("receivables")
def receivables(
    as_of: Annotated[
        str | None, opt("The day the figures are as of (default: today): 2026-06-30.", "--as-of")
    ] = None,
    start: FromOpt = None,
    end: ToOpt = None,
    period: PeriodOpt = None,
    by: Annotated[str, opt("Collected per month (default), quarter or year.")] = "month",
    section: Annotated[str | None, _sectionopt("receivables", "ageing")] = None,
    fmt: FormatOpt = None,
    raw: RawOpt = False,
) -> None:
    """What customers owe by days past due; days sales outstanding; collected.

    Per currency and per customer: the invoices owed at the end of the --as-of day (not
    void, issued by then, less the payments made by then), current or 1-30, 31-60, 61-90,
    over 90 days past due.  Days sales outstanding (owed at the end of the range / invoiced
    in it × its days) and the payments collected per period cover the range, which ends on
    --as-of at the latest (default: the year of --as-of).

    Example: crm report receivables --as-of 2026-06-30 --by quarter
    """
    out = fmt_of(fmt)
    chosen = _chosen("receivables", section, out)
    by = _by(by, owed.RECEIVABLES_BY)
    _check_period(period)
    db = database()
    day = _as_of(db, as_of)
    rng = _range(db, start, end, period, "this-year", today=day)
    show(owed.receivables(db, rng, day, by), out, chosen, raw)


@app.command("campaigns")
def campaigns(
    days: Annotated[
        int,
        typer.Option(
            "--days", "-d", min=1, max=measure.DAYS_MAX,
            help="Replies and deals count within this many days after the message.",
        ),
    ] = measure.DAYS_DEFAULT,
    start: FromOpt = None,
    end: ToOpt = None,
    period: PeriodOpt = None,
    section: Annotated[str | None, _sectionopt("campaigns", "campaigns")] = None,
    fmt: FormatOpt = None,
    raw: RawOpt = False,
) -> None:  # fmt: skip
    """What each campaign did: sent, failed, skipped, replies, deals opened and won.

    Per campaign, the messages of its send log written in the range (default: all time):
    sent, failed, skipped (and by reason).  For each recipient reached, from the first
    message the campaign sent them to --days days later: replies (their interactions that
    are not campaign messages themselves), deals opened and deals won.

    Example: crm report campaigns --days 14 --period this-quarter
    """
    out = fmt_of(fmt)
    chosen = _chosen("campaigns", section, out)
    _check_period(period)
    db = database()
    rng = _range(db, start, end, period, "all")
    show(measure.campaigns(db, rng, days), out, chosen, raw)


def _as_of(db: Any, text: str | None) -> Any:
    from crmcli.clock import today_local

    if text is None:
        return today_local()
    from crmcli.core.settings import load
    from crmcli.dates import parse_date

    return parse_date(text, order=load(db).date_order, field="--as-of")


# -- output -------------------------------------------------------------------------------


def show(report: core.Report, out: str, section: str | None, raw: bool) -> None:
    """A report in ``out``: every section on a terminal and in json, else one section.

    Nothing to report: a line on stderr, and on stdout what a script can still parse: the
    same JSON object with empty lists, ``[]`` for one section in json, the header row in
    tsv and csv, nothing in jsonl and ids (and no table on a terminal)."""
    from crmcli.render import emit

    if section is None and out in ("json", "table"):
        if report.empty:
            info(str(report.sections[report.main].empty))
        if out == "json":
            write_document(report)
        elif not report.empty:
            draw(report, None)
        return
    chosen = report.sections[section or report.main]
    if chosen.empty is not None:
        info(chosen.empty)
        if out != "table":
            emit([], chosen.columns, out, raw=raw)
        return
    if out == "table":
        draw(report, chosen.name)
        return
    rows = chosen.rows
    if out == "ids":  # a customer in the top of two currencies: once
        rows = list({row["id"]: row for row in rows}.values())
    emit(rows, chosen.columns, out, raw=raw)


def write_document(report: core.Report) -> None:
    """The whole report as one JSON object (:meth:`Report.document`), written a record per
    line: the C encoder does each record (``indent`` would switch json to its slow Python
    encoder, seconds on a hundred thousand rows)."""
    from crmcli.render import to_json

    write = sys.stdout.write
    write("{\n")
    items = [
        f" {to_json(k)}: {to_json(v)}" for k, v in {"report": report.name, **report.meta}.items()
    ]
    write(",\n".join(items))
    for name, section in report.sections.items():
        write(f",\n {to_json(name)}: [")
        columns = section.columns
        for n, row in enumerate(section.rows):
            write(",\n  " if n else "\n  ")
            write(to_json({c: row.get(c) for c in columns}))
        write("\n ]" if section.rows else "]")
    write("\n}\n")


# Columns holding minor units of the row's currency.
MONEY = frozenset({"total", "weighted", "won_value", "avg_won", "avg_order_value",
                   "avg_per_customer", "owed", "current", "days_1_30", "days_31_60",
                   "days_61_90", "over_90", "invoiced", "receivables", "collected"})  # fmt: skip
# A bar drawn next to a section: (report, section) -> (column, fixed scale or None).
BARS: dict[tuple[str, str], tuple[str, float | None]] = {
    ("pipeline", "funnel"): ("reached", None),
    ("forecast", "months"): ("weighted", None),
    ("sales", "periods"): ("won_value", None),
    ("leads", "groups"): ("conversion_pct", 100.0),
    ("activity", "periods"): ("interactions", None),
    ("tickets", "satisfaction"): ("tickets", None),
    ("customers", "recommendation"): ("responses", None),
    ("receivables", "ageing"): ("owed", None),
    ("receivables", "collected"): ("collected", None),
    ("campaigns", "campaigns"): ("sent", None),
    ("campaigns", "skipped"): ("skipped", None),
}
# On a narrow terminal these columns go first (in this order), then the others from the right.
DROP: dict[tuple[str, str], tuple[str, ...]] = {
    ("pipeline", "stages"): ("unpriced", "avg_age_days", "probability"),
    ("pipeline", "funnel"): ("dropped", "lost"),
    ("forecast", "months"): ("unpriced", "deals"),
    ("sales", "periods"): ("mean_days_to_win", "median_days_to_win", "avg_won", "lost"),
    ("leads", "groups"): ("median_days_to_convert", "contacted", "qualified", "lost"),
    ("customers", "top"): ("last_contact", "won_deals", "rank"),
    ("customers", "at_risk"): ("open_deals", "won_deals"),
    ("customers", "recommendation"): ("passives", "promoters", "detractors"),
    ("tickets", "unhappy"): ("reopened", "low_scores"),
    ("activity", "periods"): ("deals_lost", "deals_won", "notes"),
    ("sales", "averages"): ("deals", "customers"),
    ("receivables", "ageing"): ("invoices",),
    # the younger ages go first: what is long overdue stays on screen
    ("receivables", "customers"): (
        "oldest_due", "invoices", "current", "days_1_30", "days_31_60", "days_61_90",
    ),
    ("receivables", "dso"): ("first_day", "last_day", "days"),
    ("campaigns", "campaigns"): (
        "last_send", "first_send", "kind", "channel", "replied", "reached", "failed",
    ),
}  # fmt: skip
HIDDEN = frozenset({"position", "step"})
TEXT = frozenset({"stage", "name", "reason", "period", "month", "source", "priority",
                  "last_contact", "currency", "age", "oldest_due", "first_day",
                  "last_day", "channel", "kind"})  # fmt: skip
TABLE_ROWS_MAX = 200
BAR_WIDTH = 16
BAR_MIN = 4  # narrower than this, a bar says nothing: it is left out
_BLOCKS = " ▏▎▍▌▋▊▉█"


def bar(value: float | None, top: float, width: int = BAR_WIDTH) -> str:
    """A bar of unicode blocks, ``width`` cells for ``top``, eighths of a cell for the rest."""
    if not value or top <= 0:
        return ""
    eighths = round(max(0.0, min(value / top, 1.0)) * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + (_BLOCKS[part] if part else "") or "▏"


# Short headings where the field name is long (the JSON names stay as they are).
HEADINGS = {
    "currency": "Cur", "probability": "Prob %", "unpriced": "No amount",
    "avg_age_days": "Days in stage", "win_rate_pct": "Win %",
    "median_days_to_win": "Median days", "mean_days_to_win": "Mean days",
    "median_days_to_convert": "Median days", "conversion_pct": "Conversion",
    "previous_buyers": "Buyers before", "median_hours_to_resolve": "Median hours to resolve",
    "mean_hours_to_resolve": "Mean hours to resolve", "first_line_pct": "Solved at tier 1",
    "interactions": "Total", "deals_won": "Won", "deals_lost": "Lost",
    "avg_order_value": "Avg order", "avg_per_customer": "Per customer",
    "days_1_30": "1-30", "days_31_60": "31-60", "days_61_90": "61-90", "over_90": "Over 90",
    "oldest_due": "Oldest due", "first_day": "From", "last_day": "To", "dso_days": "DSO",
    "receivables": "Owed",
    "nps": "NPS", "csat": "CSAT", "rated_tickets": "Rated tickets", "reply_pct": "Reply %",
    "first_send": "First sent", "last_send": "Last sent",
}  # fmt: skip

# In a summary card, the counts that are as of now (the rest covers the range).
CARD_HEADINGS = {"open": "Open now", "pending": "Pending now", "overdue": "Overdue now"}


def title(name: str) -> str:
    """A heading: ``repeat_rate_pct`` -> ``Repeat rate``, ``win_rate_pct`` -> ``Win %``."""
    from crmcli.render import heading

    if name in HEADINGS:
        return HEADINGS[name]
    return heading(name.removesuffix("_pct"))


def cell(name: str, row: dict[str, Any]) -> str:
    """A value as a person reads it: money with its currency, percentages, local times."""
    value = row.get(name)
    if value is None:
        return ""
    if name in MONEY:
        from crmcli.money import format_money

        if not row.get("currency"):
            return ""
        return format_money(int(value), row["currency"]).rsplit(" ", 1)[0]  # a column has the code
    if name.endswith("_pct"):
        return f"{value:.1f} %"
    if name in ("last_contact", "first_send", "last_send"):
        from crmcli.dates import format_local

        return format_local(value)
    if isinstance(value, float):
        return f"{value:.1f}"
    from crmcli.text import visible

    return visible(str(value))


def draw(report: core.Report, only: str | None) -> None:
    """The sections on a terminal, laid out for its width by the rendering layer: numbers
    and amounts whole, names cut with "…", the bar narrower (or gone) before a number goes."""
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from crmcli import render

    con = render.console()
    first = True
    for name, section in report.sections.items():
        if only is not None and name != only:
            continue
        if not first:
            con.print()
        first = False
        if section.empty is not None:
            con.print(f"[bold]{escape(section.title)}[/bold]: [dim]{escape(section.empty)}[/dim]")
            continue
        rows = section.rows
        if len(rows) == 1 and name == "summary":  # one record: a card
            con.print(f"[bold]{escape(section.title)}[/bold]")
            card = Table(show_header=False, box=None, padding=(0, 1))
            card.add_column(style="bold", no_wrap=True)
            card.add_column(justify="right", no_wrap=True)
            for col in section.columns:
                card.add_row(CARD_HEADINGS.get(col) or title(col), Text(cell(col, rows[0])))
            con.print(card)
            continue
        columns = [c for c in section.columns if c not in HIDDEN]
        shown = rows[:TABLE_ROWS_MAX]
        cells = [[cell(c, row) for c in columns] for row in shown]
        if "currency" in columns:  # a stage or period over several currencies: named once
            for n in range(len(cells) - 1, 0, -1):
                if cells[n][0] == cells[n - 1][0]:
                    cells[n][0] = ""
        laid = [
            render.Column(col, title(col), kind(col, [r.get(col) for r in shown]),
                          [line[n] for line in cells])
            for n, col in enumerate(columns)
        ]  # fmt: skip
        keep = {columns[0]} | render.identifying(columns, {c.name: c.kind for c in laid})
        spec = BARS.get((report.name, name))
        fill = _bars(spec, rows, shown) if spec is not None else None
        drop = DROP.get((report.name, name), ())
        con.print(render.table(laid, title=section.title, width=con.width, keep=keep, drop=drop,
                               styles={"": "cyan"}, fill=fill))  # fmt: skip
        if len(rows) > TABLE_ROWS_MAX:
            info(f"{section.title}: showing {TABLE_ROWS_MAX} of {len(rows)}; "
                 f"use -f tsv --section {name} for all")  # fmt: skip


def _bars(spec: tuple[str, float | None], rows: list[dict[str, Any]],
          shown: list[dict[str, Any]]) -> Any:  # fmt: skip
    """The bar column for the width left over: at most ``BAR_WIDTH`` cells, none under
    ``BAR_MIN`` (the numbers beside it say it all)."""
    from crmcli import render

    column, fixed = spec
    tops: dict[Any, float] = {}
    for row in rows:  # the scale: the largest value of each currency
        key = row.get("currency")
        tops[key] = fixed or max(tops.get(key, 0.0), float(row.get(column) or 0))

    def fill(spare: int) -> Any:
        room = min(BAR_WIDTH, spare)
        if room < BAR_MIN:
            return None
        bars = [bar(row.get(column), tops.get(row.get("currency"), 0.0), room) for row in shown]
        drawn = render.Column("", "", render.CODE, bars)
        drawn.width = room
        return drawn

    return fill


def kind(name: str, values: list[Any]) -> str:
    """How a report column is laid out: names and reasons are free text, the period, stage,
    source and priority short codes, everything else a number (amounts, counts, %)."""
    from crmcli import render

    if name in ("name", "reason"):
        return render.TEXT
    if name in ("last_contact", "first_send", "last_send"):
        return render.TIME
    if name in TEXT:
        return render.CODE
    if name in MONEY:
        return render.MONEY
    return render.column_kind(name, values)
