"""Sample data for ``crm demo``: realistic customers (several Vietnamese), their history and
deals in every stage and several currencies."""

from __future__ import annotations

import uuid
from datetime import timedelta

from crmcli.core import customers, deals, leads
from crmcli.core.settings import Config
from crmcli.db import Database
from crmcli.errors import CrmError

_NAMESPACE = uuid.UUID("6f1d3c1e-8b8a-4f0e-9a57-3a1b2c4d5e6f")

# name, email, phone, company, title, city, country, birthday, source, tags
_PEOPLE = [
    ("Nguyễn Văn An", "an.nguyen@saigontech.vn", "+84 90 123 4567", "Saigon Tech",
     "Giám đốc", "Hồ Chí Minh", "Vietnam", "1985-03-14", "referral", ["vip", "hcm"]),
    ("Trần Thị Bích", "bich.tran@hanoifoods.vn", "+84 91 234 5678", "Hà Nội Foods",
     "Purchasing manager", "Hà Nội", "Vietnam", "1990-07-02", "event", ["hn"]),
    ("Lê Đức Minh", "minh.le@danangsteel.vn", "+84 93 345 6789", "Đà Nẵng Steel",
     "CTO", "Đà Nẵng", "Vietnam", None, "web", ["steel"]),
    ("Phạm Thu Hà", "ha.pham@mekongagri.vn", "+84 94 456 7890", "Mekong Agri",
     "Owner", "Cần Thơ", "Vietnam", "1979-11-30", "cold-call", ["agri", "vip"]),
    ("Đặng Quốc Bảo", "bao.dang@example.vn", "+84 97 567 8901", None,
     None, "Huế", "Vietnam", None, "social", []),
    ("Anna Schmidt", "anna.schmidt@example.de", "+49 30 1234567", "Berliner Druck GmbH",
     "Einkauf", "Berlin", "Germany", "1988-02-29", "list", ["print"]),
    ("James O'Connor", "james@oconnor-builders.ie", "+353 1 234 5678", "O'Connor Builders",
     "Director", "Dublin", "Ireland", None, "referral", ["construction"]),
    ("María García", "maria.garcia@example.es", "+34 612 345 678", "Olivar Verde",
     "CEO", "Sevilla", "Spain", "1992-06-18", "web", ["agri"]),
    ("Chen Wei", "chen.wei@example.cn", None, "Shenzhen Parts Co.",
     "Sales lead", "Shenzhen", "China", None, "event", []),
    ("Aiko Tanaka", "aiko@example.jp", "+81 3 1234 5678", "Tanaka Ceramics",
     "Founder", "Kyoto", "Japan", "1983-09-09", "referral", ["vip"]),
]  # fmt: skip

# person index, type, text, days ago
_HISTORY = [
    (0, "meeting", "Demo of the new ERP module; wants a quote for 20 seats", 3),
    (0, "call", "Follow-up call: budget approved for Q1", 1),
    (1, "email", "Sent the price list and delivery terms", 12),
    (2, "call", "Anh Minh hỏi về bảo hành thiết bị", 40),
    (3, "meeting", "Visited the farm in Cần Thơ; interested in irrigation sensors", 5),
    (5, "email", "Angebot für 5.000 Broschüren geschickt", 20),
    (6, "call", "Asked to call back after the holidays", 60),
    (7, "note", "Prefers WhatsApp; speaks Spanish and English", 8),
    (9, "meeting", "Tea ceremony at the studio; wants a catalogue", 2),
]

# person index, title, amount, stage (or won / lost: reason), close in days, line items
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


def fill(db: Database) -> int:
    """Add the sample customers unless they are there already; returns how many were added."""
    from crmcli.dates import now_local, to_utc_iso

    config = Config(date_order="YMD")  # sample birthdays are ISO; phones carry +country
    now = now_local()
    uids = [str(uuid.uuid5(_NAMESPACE, person[0])) for person in _PEOPLE]
    marks = ", ".join("?" * len(uids))
    if db.scalar(f"SELECT 1 FROM customers WHERE uid IN ({marks})", uids):
        return 0
    others = db.scalar("SELECT count(*) FROM customers")
    if others:
        raise CrmError(
            f"{db.path} already holds {others} customers of yours; the demo does not mix sample "
            "data into them: run it on its own file, e.g. crm --db demo.db demo"
        )
    ids: list[int] = []
    for person, uid in zip(_PEOPLE, uids, strict=True):
        name, email, phone, company, title, city, country, birthday, source, tags = person
        raw = {
            "name": name, "email": email, "phone": phone, "company": company, "title": title,
            "city": city, "country": country, "birthday": birthday, "source": source,
        }  # fmt: skip
        data = customers.prepare({k: v for k, v in raw.items() if v}, config, tags=tags)
        customer_id = customers.add(db, data)
        db.execute("UPDATE customers SET uid = ? WHERE id = ?", (uid, customer_id))
        ids.append(customer_id)
    for index, kind, text, days in _HISTORY:
        when = to_utc_iso(now - timedelta(days=days))
        customers.log(db, ids[index], kind, text, when)
    _fill_deals(db, ids, config)
    _fill_leads(db, config)
    return len(ids)


def _fill_leads(db: Database, config: Config) -> None:
    for name, email, company, source, score, status, note in _LEADS:
        data = leads.prepare(
            {"name": name, "email": email, "company": company, "source": source,
             "score": score},
            config,
        )  # fmt: skip
        lead_id = leads.add(db, data)
        if note:
            leads.log(db, lead_id, "call" if source != "web" else "email", note)
        target, _, reason = status.partition(": ")
        if target != "new":
            leads.set_status(db, lead_id, target, reason=reason or None)


def _fill_deals(db: Database, ids: list[int], config: Config) -> None:
    from crmcli.dates import today_local

    today = today_local()
    for index, title, amount, stage, close_in, items in _DEALS:
        close = (today + timedelta(days=close_in)).isoformat()
        end = stage if stage in ("won",) or stage.startswith("lost") else None
        data = deals.prepare(
            {"title": title, "amount": amount, "currency": "VND" if items else None,
             "close_date": close, "stage": None if end else stage},
            config,
        )  # fmt: skip
        deal_id = deals.add(db, ids[index], data, config=config)
        for product, qty, price in items:
            deals.add_item(db, deal_id, product, qty, price, config)
        if end == "won":
            contract = deals.prepare(
                {"contract_start": close, "payment_due": (today + timedelta(days=14)).isoformat()},
                config,
            )
            deals.won(db, deal_id, contract)
            if close_in < -10:
                deals.paid(db, deal_id)
        elif end:
            deals.lost(db, deal_id, end.partition(": ")[2])
