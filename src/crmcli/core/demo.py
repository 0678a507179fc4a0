"""Sample data for ``crm demo``: fifteen months of a small business's history, up to today.

Customers (several Vietnamese) with their calls, e-mails, meetings and notes; deals won and
lost month after month in VND, EUR and USD, and the ones open now in every stage; support
tickets resolved and closed with satisfaction scores, and a few open; leads from every
source, some converting into customers and deals; reminders and birthdays in the coming
week.  So every ``crm report`` has something to show on the first day.

Every record is written through the same core functions as the commands (so the audit
trail, search index and sort keys are right), each step at its own date with
:func:`crmcli.clock.pinned`, in date order, inside the caller's transaction.  The story is
the same on every run (a seeded generator) and moves with today's date.
"""

from __future__ import annotations

import random
import unicodedata
import uuid
from collections.abc import Callable
from datetime import datetime, time, timedelta

from crmcli.core import customers, deals, leads, reminders, tickets
from crmcli.core.settings import Config
from crmcli.db import Database
from crmcli.errors import CrmError

_NAMESPACE = uuid.UUID("6f1d3c1e-8b8a-4f0e-9a57-3a1b2c4d5e6f")
_SEED = 13
HISTORY_DAYS = 455  # about fifteen months

# name, email, phone, company, title, city, country, birthday, source, tags, currency,
# joined (days ago).  A birthday "+N" is N days from today (in the coming week).
_PEOPLE = [
    ("Nguyễn Văn An", "an.nguyen@saigontech.vn", "+84 90 123 4567", "Saigon Tech",
     "Giám đốc", "Hồ Chí Minh", "Vietnam", "1985-03-14", "referral", ["vip", "hcm"], "VND", 450),
    ("Trần Thị Bích", "bich.tran@hanoifoods.vn", "+84 91 234 5678", "Hà Nội Foods",
     "Purchasing manager", "Hà Nội", "Vietnam", "1990-07-02", "event", ["hn"], "VND", 440),
    ("Lê Đức Minh", "minh.le@danangsteel.vn", "+84 93 345 6789", "Đà Nẵng Steel",
     "CTO", "Đà Nẵng", "Vietnam", None, "web", ["steel"], "VND", 425),
    ("Phạm Thu Hà", "ha.pham@mekongagri.vn", "+84 94 456 7890", "Mekong Agri",
     "Owner", "Cần Thơ", "Vietnam", "1979-11-30", "cold-call", ["agri", "vip"], "VND", 410),
    ("Đặng Quốc Bảo", "bao.dang@example.vn", "+84 97 567 8901", None,
     None, "Huế", "Vietnam", "+2", "social", [], "VND", 380),
    ("Anna Schmidt", "anna.schmidt@example.de", "+49 30 1234567", "Berliner Druck GmbH",
     "Einkauf", "Berlin", "Germany", "1988-02-29", "list", ["print"], "EUR", 360),
    ("James O'Connor", "james@oconnor-builders.ie", "+353 1 234 5678", "O'Connor Builders",
     "Director", "Dublin", "Ireland", None, "referral", ["construction"], "EUR", 430),
    ("María García", "maria.garcia@example.es", "+34 612 345 678", "Olivar Verde",
     "CEO", "Sevilla", "Spain", "1992-06-18", "web", ["agri"], "EUR", 300),
    ("Chen Wei", "chen.wei@example.cn", None, "Shenzhen Parts Co.",
     "Sales lead", "Shenzhen", "China", None, "event", [], "USD", 400),
    ("Aiko Tanaka", "aiko@example.jp", "+81 3 1234 5678", "Tanaka Ceramics",
     "Founder", "Kyoto", "Japan", "1983-09-09", "referral", ["vip"], "USD", 270),
    ("Vũ Thị Lan", "lan.vu@phuonghoanghotel.vn", "+84 98 765 4321", "Phượng Hoàng Hotel",
     "General manager", "Đà Lạt", "Vietnam", "+5", "event", ["hospitality"], "VND", 240),
    ("Hồ Quang Huy", "huy.ho@saigonlogistics.vn", "+84 90 888 1212", "Sài Gòn Logistics",
     "COO", "Hồ Chí Minh", "Vietnam", "1981-01-21", "referral", ["vip", "hcm"], "VND", 210),
    ("Ngô Thanh Tâm", "tam.ngo@example.vn", "+84 91 777 3434", "Tâm An Pharmacy",
     "Owner", "Hải Phòng", "Vietnam", None, "web", [], "VND", 180),
    ("Lucas Martin", "lucas.martin@example.fr", "+33 1 42 68 53 00", "Atelier Martin",
     "Gérant", "Lyon", "France", None, "web", [], "EUR", 150),
    ("Sarah Johnson", "sarah@brightpath.example.com", "+1 415 555 0134", "BrightPath Learning",
     "Operations", "San Francisco", "United States", "1987-05-05", "social", ["edu"], "USD",
     120),
    ("Nguyễn Hoàng Yến", "yen.nguyen@example.vn", "+84 93 222 5656", "Yến Sào Khánh Hòa",
     "Marketing", "Nha Trang", "Vietnam", None, "social", [], "VND", 90),
]  # fmt: skip
# Customers nobody has called for months although they buy: `report customers` at risk.
_QUIET = {6, 8, 12}
_QUIET_DAYS = 110

# person index, type, text, days ago
_HISTORY = [
    (0, "meeting", "Demo of the new ERP module; wants a quote for 20 seats", 3),
    (0, "call", "Follow-up call: budget approved for Q1", 1),
    (1, "email", "Sent the price list and delivery terms", 12),
    (2, "call", "Anh Minh hỏi về bảo hành thiết bị", 40),
    (3, "meeting", "Visited the farm in Cần Thơ; interested in irrigation sensors", 5),
    (5, "email", "Angebot für 5.000 Broschüren geschickt", 20),
    (6, "call", "Asked to call back after the holidays", 130),
    (7, "note", "Prefers WhatsApp; speaks Spanish and English", 8),
    (9, "meeting", "Tea ceremony at the studio; wants a catalogue", 2),
]

# The deals open now (and two just closed): person index, title, amount, stage (or won /
# lost: reason), close in days, line items.
_DEALS = [
    (0, "ERP module, 20 seats", None, "negotiation", 10,
     [("ERP seat licence", 20, "22.500.000 VND"), ("On-site training", 1, "15.000.000 VND")]),
    (1, "Cold-chain sensors", "120.000.000 VND", "proposal", 7, []),
    (2, "Warranty extension 2027", "35.000.000 VND", "won", -3, []),
    (3, "Irrigation sensors, pilot farm", "80.000.000 VND", "qualified", 30, []),
    (5, "5,000 brochures", "2,450.00 EUR", "proposal", -5, []),
    (6, "Site survey", "1,800 EUR", "lost: postponed to next year", -20, []),
    (7, "Olive grove monitoring", "3,200 EUR", "new", 45, []),
    (8, "Parts catalogue", "12,000 USD", "new", 60, []),
    (9, "Ceramics web shop", "4,500 USD", "won", -30, []),
    (4, "Website refresh", "25.000.000 VND", "new", 20, []),
    (10, "Guest Wi-Fi for 80 rooms", "210.000.000 VND", "negotiation", 14, []),
    (11, "Fleet GPS trackers, 40 trucks", "360.000.000 VND", "proposal", 35, []),
    (13, "Shop tablets and card readers", "6,800 EUR", "qualified", 50, []),
    (14, "Training portal licences", "9,600 USD", "proposal", 21, []),
    (12, "Pharmacy stock app", "48.000.000 VND", "new", 75, []),
]  # fmt: skip

# name, email, company, source, score, status (lost: reason), interaction
_LEADS = [
    ("Võ Minh Tuấn", "tuan@tuancoffee.vn", "Tuấn Coffee", "event", 60, "qualified",
     "Met at the Huế trade fair; wants 3 espresso machines"),
    ("Hoàng Thị Đào", "dao@lotusspa.vn", "Lotus Spa", "web", 45, "contacted",
     "Web form: asks for a price list"),
    ("Bùi Văn Long", "long.bui@example.vn", None, "cold-call", 20, "new", None),
    ("Klaus Weber", "k.weber@example.de", "Weber Logistik", "list", 10,
     "lost: no budget this year", None),
    ("Sofia Rossi", "sofia@example.it", "Rossi Design", "referral", 80, "new", None),
]  # fmt: skip

# Leads of the past months: name, company, currency of a deal if they buy.
_PAST_LEADS = [
    ("Trịnh Công Sơn", "Sơn Music School", "VND"), ("Lý Thu Trang", "Trang Bakery", "VND"),
    ("Mai Anh Dũng", "Dũng Auto Parts", "VND"), ("Đinh Thị Hồng", "Hồng Textiles", "VND"),
    ("Phan Văn Tài", "Tài Construction", "VND"), ("Cao Thị Mỹ", "Mỹ Cosmetics", "VND"),
    ("Lâm Quốc Việt", "Việt Seafood", "VND"), ("Tạ Minh Châu", "Châu Pharma", "VND"),
    ("Dương Văn Phúc", "Phúc Rice Mill", "VND"), ("Kiều Thị Ngân", "Ngân Travel", "VND"),
    ("Quách Gia Bảo", "Bảo Electronics", "VND"), ("La Thị Thanh", "Thanh Tea House", "VND"),
    ("Thomas Müller", "Müller Maschinenbau", "EUR"), ("Emma Dubois", "Dubois Fleurs", "EUR"),
    ("Liam Byrne", "Byrne Bikes", "EUR"), ("Lucía Fernández", "Fernández Vinos", "EUR"),
    ("Pieter de Vries", "De Vries Tuinen", "EUR"), ("Giulia Bianchi", "Bianchi Gelato", "EUR"),
    ("Michael Brown", "Brown Dental", "USD"), ("Olivia Wilson", "Wilson Yoga", "USD"),
    ("Park Ji-hoon", "Jihoon Games", "USD"), ("Wang Fang", "Fang Imports", "USD"),
    ("Rahul Sharma", "Sharma Spices", "USD"), ("Noah Taylor", "Taylor Surf", "USD"),
    ("Hà Văn Thắng", "Thắng Printing", "VND"), ("Âu Thị Kim", "Kim Jewellery", "VND"),
]  # fmt: skip
# How often a lead of each source ends as a customer.
_CONVERSION = {"referral": 0.6, "event": 0.4, "web": 0.3, "social": 0.25, "cold-call": 0.2,
               "list": 0.1, "other": 0.2}  # fmt: skip
_SOURCES = ("web", "web", "web", "referral", "referral", "event", "event", "social", "social",
            "cold-call", "cold-call", "list", "other")  # fmt: skip
_LEAD_LOST = ("no budget this year", "no answer after three calls", "chose a competitor",
              "only wanted a price list")  # fmt: skip

_PRODUCTS = {
    "VND": ("Barcode scanners", "POS terminals", "Office network upgrade", "Cloud backup",
            "Warehouse shelving", "Staff training", "Annual support contract",
            "Security cameras", "Accounting software"),
    "EUR": ("Brochure print run", "Trade-fair stand", "Annual support contract",
            "Label printer", "Product photography", "Website translation"),
    "USD": ("Catalogue design", "Web shop set-up", "Annual support contract",
            "Sample shipment", "Online ads campaign"),
}  # fmt: skip
# Amount ranges in whole units (low, high, step).
_AMOUNTS = {"VND": (15_000_000, 400_000_000, 500_000), "EUR": (800, 12_000, 50),
            "USD": (1_000, 15_000, 100)}  # fmt: skip
_DEAL_LOST = ("price too high", "chose a competitor", "postponed to next year",
              "no budget", "went quiet")  # fmt: skip

_TICKETS = (
    "Sensor offline after the firmware update", "Invoice shows the wrong VAT rate",
    "Cannot log in to the web portal", "Delivery arrived damaged",
    "Question about the warranty terms", "Training materials in Vietnamese",
    "Printer jams on thick paper", "Reset the admin password", "Report export is slow",
    "Replace a faulty scanner", "Wrong colour on the second print run",
    "Cancel the duplicate order",
)  # fmt: skip
_PRIORITIES = ("low", "low", "normal", "normal", "normal", "normal", "high", "high", "urgent")
_RESOLVE_HOURS = {"urgent": (1, 6), "high": (3, 32), "normal": (6, 90), "low": (20, 170)}
_SLA_HOURS = {"urgent": 4, "high": 24, "normal": 72, "low": 168}  # the default SLA settings

_CHECK_INS = (
    ("call", "Quarterly check-in call; all fine"),
    ("email", "Sent the newsletter with the new price list"),
    ("meeting", "Coffee at their office; talked about next year's plans"),
    ("note", "Asked for invoices by e-mail from now on"),
    ("call", "Called about the last delivery; happy with it"),
    ("email", "Shared a case study from a similar customer"),
)

Action = Callable[[], None]


class _Story:
    """The steps of the story, each at its own moment, run in date order."""

    def __init__(self, db: Database, now: datetime, seed: int) -> None:
        self.db, self.now, self.today = db, now, now.date()
        self.rng = random.Random(seed)
        self.steps: list[tuple[datetime, int, Action]] = []
        self.customer_ids: dict[int, int] = {}  # person index -> customer id
        self.deal_ids: dict[str, int] = {}
        self.lead_ids: dict[str, int] = {}
        self.ticket_ids: dict[str, int] = {}
        self.config = Config(date_order="YMD")  # ISO dates below; phones carry +country

    def moment(self, days_ago: float, hour: float | None = None) -> datetime:
        """A local time ``days_ago`` before today, in office hours (never after now)."""
        day = self.today - timedelta(days=int(days_ago))
        if hour is None:
            hour = self.rng.uniform(8.5, 17.5)
        minutes = int(hour * 60)
        local = datetime.combine(day, time(minutes // 60 % 24, minutes % 60)).astimezone()
        return min(local, self.now - timedelta(minutes=1))

    def at(self, when: datetime, action: Action) -> None:
        self.steps.append((when, len(self.steps), action))

    def run(self) -> None:
        from crmcli.clock import pinned

        for when, _, action in sorted(self.steps, key=lambda step: step[:2]):
            with pinned(when):
                action()

    def day(self, days: int) -> str:
        return (self.today + timedelta(days=days)).isoformat()


def fill(db: Database) -> dict[str, int]:
    """Add the sample data unless it is there already; returns how many records of each
    kind were added (none when the sample is there already)."""
    from crmcli.clock import now_local

    uids = [str(uuid.uuid5(_NAMESPACE, person[0])) for person in _PEOPLE]
    marks = ", ".join("?" * len(uids))
    if db.scalar(f"SELECT 1 FROM customers WHERE uid IN ({marks})", uids):
        return {}
    others = db.scalar("SELECT count(*) FROM customers")
    if others:
        raise CrmError(
            f"{db.path} already holds {others} customer{'s' if others != 1 else ''} of yours; "
            "the demo does not mix sample data into them: run it on its own file, "
            "e.g. crm --db demo.db demo"
        )
    before = _counts(db)
    story = _Story(db, now_local().replace(microsecond=0), _SEED)
    _people(story, uids)
    _history(story)
    _past_deals(story)
    _open_deals(story)
    _tickets(story)
    _leads(story)
    _quotes(story)
    story.run()
    _reminders(story)
    return {kind: count - before[kind] for kind, count in _counts(db).items()}


_KINDS = ("customers", "deals", "tickets", "leads", "interactions", "reminders")


def _counts(db: Database) -> dict[str, int]:
    return {kind: int(db.scalar(f"SELECT count(*) FROM {kind}") or 0) for kind in _KINDS}


# -- customers and their history ----------------------------------------------------------


def _birthday(story: _Story, text: str | None) -> str | None:
    """``+N``: a birthday N days from today (a year that has that day: 29 February)."""
    if text is None or not text.startswith("+"):
        return text
    day = story.today + timedelta(days=int(text[1:]))
    if (day.month, day.day) == (1, 1):  # New Year's Day is busy enough: the day after
        day += timedelta(days=1)
    return day.replace(year=1988 if (day.month, day.day) == (2, 29) else 1986).isoformat()


def _people(story: _Story, uids: list[str]) -> None:
    for index, (person, uid) in enumerate(zip(_PEOPLE, uids, strict=True)):
        name, email, phone, company, title, city, country, birthday, source, tags = person[:10]
        joined = person[11]
        raw = {
            "name": name, "email": email, "phone": phone, "company": company, "title": title,
            "city": city, "country": country, "birthday": _birthday(story, birthday),
            "source": source,
        }  # fmt: skip
        data = customers.prepare({k: v for k, v in raw.items() if v}, story.config, tags=tags)

        def add(index: int = index, data: customers.CustomerInput = data, uid: str = uid) -> None:
            customer_id = customers.add(story.db, data)
            story.db.execute("UPDATE customers SET uid = ? WHERE id = ?", (uid, customer_id))
            story.customer_ids[index] = customer_id

        story.at(story.moment(joined, 9.0), add)
        _check_ins(story, index, joined)


def _log(story: _Story, index: int, days_ago: float, kind: str, text: str) -> None:
    def log() -> None:
        customers.log(story.db, story.customer_ids[index], kind, text)

    story.at(story.moment(days_ago), log)


def _check_ins(story: _Story, index: int, joined: int) -> None:
    """A call, e-mail, meeting or note every month or two while they are a customer."""
    last = _QUIET_DAYS + 10 if index in _QUIET else 4
    days = joined - story.rng.randint(3, 20)
    while days > last:
        kind, text = story.rng.choice(_CHECK_INS)
        _log(story, index, days, kind, text)
        days -= story.rng.randint(25, 60)


def _history(story: _Story) -> None:
    for index, kind, text, days in _HISTORY:
        _log(story, index, days, kind, text)


# -- deals --------------------------------------------------------------------------------


def _amount(story: _Story, currency: str) -> str:
    low, high, step = _AMOUNTS[currency]
    return f"{story.rng.randrange(low, high, step)} {currency}"


def _open_stages(story: _Story) -> list[str]:
    return [s["name"] for s in deals.stages(story.db, counts=False) if s["kind"] == "open"]


def _deal(
    story: _Story,
    owner: Callable[[], int],
    title: str,
    amount: str | None,
    *,
    created: float,
    close_in: int,
    end: str,
    items: list[tuple[str, int, str]] | None = None,
    add: Callable[[deals.DealInput], int] | None = None,
) -> None:
    """One deal's life: created ``created`` days ago, closing ``close_in`` days from today
    (negative: in the past), through the stages to ``end``: an open stage, ``won`` or
    ``lost: reason``.  ``add`` creates it (a lead's conversion) instead of ``deals.add``."""
    key = f"{title}#{len(story.deal_ids)}#{created}"
    story.deal_ids[key] = 0
    closes = -close_in  # days ago
    reason = end.partition(": ")[2]
    outcome = "won" if end == "won" else "lost" if reason else None
    raw = {"title": title, "amount": amount, "currency": "VND" if items else None,
           "close_date": story.day(close_in)}  # fmt: skip
    data = deals.prepare(raw, story.config)

    def create() -> None:
        if add is not None:
            story.deal_ids[key] = add(data)
            return
        deal_id = deals.add(story.db, owner(), data, config=story.config)
        for product, qty, price in items or []:
            deals.add_item(story.db, deal_id, product, qty, price, story.config)
        story.deal_ids[key] = deal_id

    story.at(story.moment(created, 9.5), create)
    stages = _open_stages(story)
    if outcome is None:
        path = stages[1 : stages.index(end) + 1]
        span = created
    elif outcome == "won":
        path = stages[1:]
        span = created - closes
    else:
        path = stages[1 : story.rng.randint(1, len(stages) - 1)]
        span = created - closes
    for step, stage in enumerate(path, 1):
        days = created - span * step / (len(path) + 1)

        def move(stage: str = stage) -> None:
            deals.move(story.db, story.deal_ids[key], stage)

        story.at(story.moment(days), move)
        if stage == "proposal":
            _deal_note(story, owner, days, "email", f"Sent the proposal for {title}")
        elif stage == "negotiation":
            _deal_note(story, owner, days, "meeting", f"Negotiated the terms of {title}")
    if outcome is None:
        return
    closed = story.moment(closes, 16.0)

    def finish() -> None:
        deal_id = story.deal_ids[key]
        if outcome == "lost":
            deals.lost(story.db, deal_id, reason)
            return
        contract = deals.prepare(
            {"contract_start": story.day(close_in), "payment_due": story.day(close_in + 30)},
            story.config,
        )
        deals.won(story.db, deal_id, contract)

    story.at(closed, finish)
    note = f"Won {title}: contract signed" if outcome == "won" else f"Lost {title}: {reason}"
    _deal_note(story, owner, closes, "note", note, hour=16.5)
    paid = closes - story.rng.randint(5, 28)
    if outcome == "won" and paid > 0:

        def pay() -> None:
            if paid <= PART_PAID_DAYS:
                _pay_part(story.db, story.deal_ids[key])
            else:
                deals.paid(story.db, story.deal_ids[key])

        story.at(story.moment(paid), pay)


# A customer who paid within the last days paid a part only: receivables has something
# partly paid (and, 30 days after the won date, overdue) to show.
PART_PAID_DAYS = 12


def _pay_part(db: Database, deal_id: int) -> None:
    """A first payment of 40 % (whole units) of the deal's open invoice."""
    from crmcli.core.money.deal_payments import open_invoices
    from crmcli.core.money.invoices import add_payment
    from crmcli.money import exponent

    invoice = open_invoices(db, deal_id)[0]
    unit = 10 ** exponent(db.scalar("SELECT currency FROM deals WHERE id = ?", (deal_id,)))
    add_payment(db, invoice["id"], invoice["owed"] * 2 // 5 // unit * unit)


def _deal_note(story: _Story, owner: Callable[[], int], days: float, kind: str, text: str,
               *, hour: float | None = None) -> None:  # fmt: skip
    def log() -> None:
        customers.log(story.db, owner(), kind, text)

    story.at(story.moment(days, hour), log)


def _person(story: _Story, index: int) -> Callable[[], int]:
    return lambda: story.customer_ids[index]


def _buyer(story: _Story, created: int) -> int:
    """A customer who had joined ``created`` days ago and is not quiet by then."""
    choices = [
        index for index, person in enumerate(_PEOPLE)
        if person[11] > created + 5 and (index not in _QUIET or created > _QUIET_DAYS + 60)
    ]  # fmt: skip
    return story.rng.choice(choices)


def _past_deals(story: _Story) -> None:
    """Deals of the past fifteen months: at least one won in each month, more won than
    lost; the ones still running when today came are open in some stage."""
    for month in range(14, 0, -1):
        for number in range(story.rng.choice((2, 3, 3, 4))):
            closes = month * 30 + story.rng.randint(-12, 12)
            created = closes + story.rng.randint(12, 70)
            if created > HISTORY_DAYS - 10:
                continue
            index = _buyer(story, created)
            currency = _PEOPLE[index][10]
            won = number == 0 or story.rng.random() < 0.5
            end = "won" if won else f"lost: {story.rng.choice(_DEAL_LOST)}"
            title = story.rng.choice(_PRODUCTS[currency])
            _deal(story, _person(story, index), title, _amount(story, currency),
                  created=created, close_in=-closes, end=end)  # fmt: skip


def _open_deals(story: _Story) -> None:
    """The deals of the pipeline today (and three closed lately)."""
    for index, title, amount, stage, close_in, items in _DEALS:
        created = max(close_in, 0) + story.rng.randint(20, 50)
        created = min(created, _PEOPLE[index][11] - 1)
        _deal(story, _person(story, index), title, amount, created=created,
              close_in=close_in, end=stage, items=list(items))  # fmt: skip


# -- tickets ------------------------------------------------------------------------------


def _tickets(story: _Story) -> None:
    """One to three tickets a month, resolved within their SLA mostly, closed with a score;
    a few open now (one overdue, one escalated, one waiting on the customer)."""
    rng = story.rng
    for month in range(14, -1, -1):
        for _ in range(rng.choice((1, 2, 2, 3))):
            opened = month * 30 + rng.randint(5, 29)
            index = _buyer(story, opened)
            priority = rng.choice(_PRIORITIES)
            low, high = _RESOLVE_HOURS[priority]
            hours = rng.uniform(low, high)
            escalate = rng.random() < 0.2
            close_days = rng.randint(1, 5)
            score = _score(hours / _SLA_HOURS[priority]) - (rng.random() < 0.15)
            _ticket(story, index, rng.choice(_TICKETS), priority, opened,
                    hours=hours, escalate=escalate, close_days=close_days, score=score)  # fmt: skip
    _ticket(
        story,
        1,
        "Cold-room sensor reports -40 °C",
        "urgent",
        0,
        hours=None,
        at=story.now - timedelta(hours=2),
    )
    _ticket(story, 5, "Brochure colours differ from the proof", "high", 2, hours=None)
    _ticket(
        story, 0, "Add two more ERP seats to the licence", "normal", 1, hours=None, pending=True
    )
    _ticket(story, 9, "Invoice format for Japanese accounting", "low", 4, hours=None, escalate=True)


def _score(late: float) -> int:
    """How happy a customer is, by how much of the SLA the answer took."""
    return 5 if late < 0.4 else 4 if late < 0.8 else 3 if late <= 1 else 2


def _ticket(
    story: _Story,
    index: int,
    subject: str,
    priority: str,
    opened: int,
    *,
    hours: float | None,
    escalate: bool = False,
    pending: bool = False,
    close_days: int = 0,
    score: int | None = None,
    at: datetime | None = None,
) -> None:
    key = f"{subject}#{len(story.ticket_ids)}"
    story.ticket_ids[key] = 0
    start = at or story.moment(opened)

    def open_() -> None:
        ticket_id = tickets.open_ticket(
            story.db, story.customer_ids[index], subject, priority=priority
        )
        story.ticket_ids[key] = ticket_id
        if "-40" in subject:
            story.ticket_ids["cold-room"] = ticket_id

    story.at(start, open_)
    if escalate:
        span = (hours or 20) * 0.4

        def up() -> None:
            tickets.escalate(story.db, story.ticket_ids[key], note="Needs the second line")

        story.at(min(start + timedelta(hours=span), story.now), up)
    if pending:

        def wait() -> None:
            tickets.change_status(story.db, story.ticket_ids[key], "pending",
                                  note="Waiting for the signed order form")  # fmt: skip

        story.at(min(start + timedelta(hours=3), story.now), wait)
    if hours is None:
        return
    resolved = start + timedelta(hours=hours)
    closed = resolved + timedelta(days=close_days)
    if resolved >= story.now:
        return
    if closed >= story.now:  # resolved lately: scored when resolved, not closed yet

        def resolve_scored() -> None:
            tickets.change_status(story.db, story.ticket_ids[key], "resolved",
                                  satisfaction=score)  # fmt: skip

        story.at(resolved, resolve_scored)
        return

    def resolve() -> None:
        tickets.change_status(story.db, story.ticket_ids[key], "resolved")

    def close() -> None:
        tickets.change_status(story.db, story.ticket_ids[key], "closed", satisfaction=score)

    story.at(resolved, resolve)
    story.at(closed, close)


# -- leads --------------------------------------------------------------------------------


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in folded if c.isascii() and (c.isalnum() or c == " ")).lower()


def _leads(story: _Story) -> None:
    """Leads of the past months from every source: contacted within days, some qualified,
    then converted (most with a deal, which runs its course) or lost."""
    rng = story.rng
    for number, (name, company, currency) in enumerate(_PAST_LEADS):
        created = HISTORY_DAYS - 20 - number * 16 - rng.randint(0, 10)
        source = rng.choice(_SOURCES)
        first = _ascii(name).split()[-1]
        domain = _ascii(company).replace(" ", "") + (".vn" if currency == "VND" else ".com")
        data = leads.prepare(
            {"name": name, "email": f"{first}@{domain}", "company": company, "source": source,
             "score": rng.randint(10, 90)},
            story.config,
        )  # fmt: skip
        contacted = created - rng.randint(1, 4)
        qualified = contacted - rng.randint(3, 15)
        decided = qualified - rng.randint(5, 30)
        converts = rng.random() < _CONVERSION[source]
        _lead(story, name, data, created, contacted, source)
        if decided <= 2:  # still running
            if qualified > 2:
                _lead_status(story, name, qualified, "qualified")
            continue
        if not converts:
            if rng.random() < 0.5:
                _lead_status(story, name, qualified, "qualified")
            _lead_status(story, name, decided, f"lost: {rng.choice(_LEAD_LOST)}")
            continue
        _lead_status(story, name, qualified, "qualified")
        if rng.random() < 0.25:  # converted without a deal yet
            _convert(story, name, decided, None)
            continue
        closes = decided - rng.randint(15, 60)
        if closes > 3:
            end = "won" if rng.random() < 0.65 else f"lost: {rng.choice(_DEAL_LOST)}"
        else:
            end = rng.choice(("qualified", "proposal"))
            closes = -rng.randint(10, 60)
        title = rng.choice(_PRODUCTS[currency])
        _convert(story, name, decided, (title, _amount(story, currency), closes, end))
    for lead in _LEADS:
        name, email, firm, source, score, status, note = lead
        data = leads.prepare({"name": name, "email": email, "company": firm,
                              "source": source, "score": score}, story.config)  # fmt: skip
        created = rng.randint(6, 12)
        _lead(story, name, data, created, created - 2 if note else None, source, note)
        if status not in ("new", "contacted"):
            _lead_status(story, name, 1, status)


def _lead(story: _Story, name: str, data: leads.LeadInput, created: int,
          contacted: int | None, source: str, note: str | None = None) -> None:  # fmt: skip
    def add() -> None:
        story.lead_ids[name] = leads.add(story.db, data)

    story.at(story.moment(created, 9.0), add)
    if contacted is None:
        return
    kind = "email" if source in ("web", "social") else "call"
    text = note or ("Replied to the web enquiry" if kind == "email" else "First call")

    def log() -> None:
        leads.log(story.db, story.lead_ids[name], kind, text)

    story.at(story.moment(contacted), log)


def _lead_status(story: _Story, name: str, days: int, status: str) -> None:
    target, _, reason = status.partition(": ")

    def change() -> None:
        leads.set_status(story.db, story.lead_ids[name], target, reason=reason or None)

    story.at(story.moment(days), change)


def _convert(story: _Story, name: str, days: int, deal: tuple[str, str, int, str] | None) -> None:
    converted: dict[str, int] = {}

    def convert(data: deals.DealInput | None = None) -> int:
        """The lead becomes a customer; its deal names the lead it came from.  (The
        deal is added apart, not by the conversion, which would also note the deal on the
        lead: `crm undo` of the whole demo removes deals before leads and refuses when
        that changes a lead it is about to remove.)"""
        lead_id = story.lead_ids[name]
        result = leads.convert(story.db, lead_id)
        converted["customer"] = result.customer_id
        if data is None:
            return 0
        return deals.add(story.db, result.customer_id, data, lead_id=lead_id, config=story.config)

    if deal is None:

        def convert_only() -> None:
            convert()

        story.at(story.moment(days), convert_only)
        return
    title, amount, closes, end = deal
    _deal(story, lambda: converted["customer"], title, amount, created=days,
          close_in=-closes, end=end, add=convert)  # fmt: skip


# -- quotes -------------------------------------------------------------------------------

# Deal title -> the line items it gets for its quote (deals without items of their own), when
# the items and the quote are made (days ago), how long the quote is valid, and what became
# of it: accepted (days ago), declined (days ago, reason) or still open.
_QUOTES: list[tuple[str, list[tuple[str, int, str]], int, int, tuple[str, int, str] | None]] = [
    ("Warranty extension 2027", [("Warranty extension, 12 months", 1, "35.000.000 VND")], 6, 30,
     ("accepted", 3, "")),
    ("Site survey", [("Site survey, per day", 2, "900 EUR")], 27, 30,
     ("declined", 21, "postponed to next year")),
    ("ERP module, 20 seats", [], 2, 30, None),
    ("Cold-chain sensors", [("Cold-room temperature sensor", 40, "2.500.000 VND"),
                            ("Wireless gateway", 2, "10.000.000 VND")], 26, 14, None),
]  # fmt: skip


_QUOTE_NOTE = "Prices include delivery in Vietnam; payment 30 days after delivery."


def _quotes(story: _Story) -> None:
    """A few quotes on the deals of the pipeline: one accepted on the day its deal was won,
    one declined before its deal was lost, one open, one expired."""
    from crmcli.clock import today_local
    from crmcli.core.money import quotes

    for title, lines, made, valid, outcome in _QUOTES:

        def quote(title: str = title, lines: list[tuple[str, int, str]] = lines,
                  valid: int = valid) -> None:  # fmt: skip
            deal_id = _deal_id(story, title)
            for product, qty, price in lines:
                deals.add_item(story.db, deal_id, product, qty, price, story.config)
            until = (today_local() + timedelta(days=valid)).isoformat()
            quotes.create(story.db, deal_id, valid_until=until, note=_QUOTE_NOTE)

        story.at(story.moment(made, 10.25), quote)
        if outcome is None:
            continue
        verdict, days, reason = outcome

        def decide(title: str = title, verdict: str = verdict, reason: str = reason) -> None:
            deal_id = _deal_id(story, title)
            quote_id = quotes.for_deal(story.db, deal_id)[-1]["id"]
            if verdict == "accepted":
                quotes.accept(story.db, quote_id)
            else:
                quotes.decline(story.db, quote_id, reason)

        # Accepted after the deal was won that afternoon; declined before it was lost.
        story.at(story.moment(days, 16.75 if verdict == "accepted" else 11.0), decide)


# -- reminders ----------------------------------------------------------------------------


def _reminders(story: _Story) -> None:
    """What is due: one overdue, one today, a few this week, a weekly review."""
    db, today = story.db, story.today

    def local(days: int, hour: int) -> datetime:
        return datetime.combine(today + timedelta(days=days), time(hour, 0)).astimezone()

    erp = _deal_id(story, "ERP module, 20 seats")
    lotus = story.lead_ids["Hoàng Thị Đào"]
    items: list[tuple[str, datetime, str | None, tuple[str, int] | None]] = [
        ("Call anh Minh about renewing the warranty", local(-1, 9), None,
         ("customer", story.customer_ids[2])),
        ("Send the revised ERP quote", local(0, 16), None, ("deal", erp)),
        ("Check the replacement sensor arrived", local(1, 9), None,
         ("ticket", story.ticket_ids["cold-room"])),
        ("Follow up on the Lotus Spa price list", local(2, 10), None, ("lead", lotus)),
        ("Prepare the Đà Lạt site visit", local(4, 8), None,
         ("customer", story.customer_ids[10])),
        ("Weekly pipeline review", local(1, 8), "weekly", None),
    ]  # fmt: skip
    for text, at, every, link in items:
        reminders.add(db, reminders.prepare(text, at, every), link=link)


def _deal_id(story: _Story, title: str) -> int:
    for key, deal_id in story.deal_ids.items():
        if key.startswith(title + "#"):
            return deal_id
    raise KeyError(title)
