"""Web-form notifications: the e-mail a website's contact form sends (WordPress Contact
Form 7, WPForms, Google Forms add-ons and most form services) read as the fields of a lead.

Such a message is recognised by its subject (``--forms PATTERN`` or the ``mail_forms``
setting) and holds ``Label: value`` lines; a label alone on its line takes the lines below it
as its value (a message of several lines).  Labels are mapped to lead fields by
:data:`LABELS` (English and Vietnamese, case, accents and punctuation ignored) and by
``--map LABEL=FIELD``; labels that map to nothing are kept in the interaction's text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from crmcli.errors import InvalidValue

# A lead field (or "message": the text of the first interaction) -> the labels that mean it.
LABELS: dict[str, tuple[str, ...]] = {
    "name": ("name", "your name", "full name", "họ tên", "họ và tên", "tên", "tên của bạn",
             "first and last name", "contact name"),
    "email": ("email", "e-mail", "your email", "email address", "e-mail address", "địa chỉ email",
              "email của bạn", "thư điện tử"),
    "phone": ("phone", "phone number", "your phone", "telephone", "tel", "mobile",
              "số điện thoại", "điện thoại", "sđt", "số đt", "di động"),
    "company": ("company", "company name", "organization", "organisation", "business",
                "công ty", "tên công ty", "doanh nghiệp"),
    "title": ("job title", "position", "chức vụ"),
    "message": ("message", "your message", "message body", "comments", "comment", "enquiry",
                "inquiry", "nội dung", "lời nhắn", "tin nhắn", "yêu cầu", "ghi chú"),
}  # fmt: skip
FIELDS = frozenset(LABELS) | {"notes"}
_LINE = re.compile(r"^\s*\**([^:\n*]{1,60}?)\**\s*:\s*(.*)$")


def key(label: str) -> str:
    """A label compared: lower case, accents kept (Vietnamese needs them: tên ≠ ten is not
    a risk worth a wrong field), punctuation and spacing dropped."""
    return " ".join(re.sub(r"[^\w\s-]", " ", label.casefold()).split())


_BUILT_IN = {key(label): fieldname for fieldname, labels in LABELS.items() for label in labels}


def check_map(values: Iterable[str]) -> dict[str, str]:
    """``--map LABEL=FIELD`` values, checked."""
    out = {}
    for raw in values:
        label, sep, fieldname = raw.partition("=")
        fieldname = fieldname.strip().lower()
        if not sep or not label.strip():
            raise InvalidValue("--map", raw, "write LABEL=FIELD, e.g. 'Tên khách=name'")
        if fieldname not in FIELDS:
            raise InvalidValue("--map", raw, f"FIELD is one of {', '.join(sorted(FIELDS))}")
        out[key(label)] = fieldname
    return out


def check_patterns(values: Iterable[str]) -> list[str]:
    out = []
    for raw in values:
        text = " ".join(raw.split())
        if not text:
            raise InvalidValue("--forms", raw, "a subject pattern, e.g. 'New contact form*'")
        if len(text) > 200:
            raise InvalidValue("--forms", raw, "at most 200 characters")
        out.append(text)
    return out


def matches(subject: str, patterns: Iterable[str]) -> bool:
    """Whether ``subject`` is a form notification: a pattern with ``*`` or ``?`` is a
    shell-style pattern of the whole subject, one without is a part of it; case ignored."""
    from fnmatch import fnmatchcase

    folded = subject.casefold()
    for pattern in patterns:
        p = pattern.casefold()
        if ("*" in p or "?" in p) and fnmatchcase(folded, p):
            return True
        if "*" not in p and "?" not in p and p in folded:
            return True
    return False


class Submission:
    """The fields of one notification: ``values`` by lead field, ``message``, and the
    lines whose label maps to nothing (``other``)."""

    __slots__ = ("values", "message", "other")

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.message = ""
        self.other: list[str] = []

    def text(self, subject: str) -> str:
        """The first interaction's text: the form's subject, the message, the rest."""
        parts = [f"Web form: {subject}" if subject else "Web form"]
        if self.message:
            parts.append(self.message)
        if self.other:
            parts.append("\n".join(self.other))
        return "\n\n".join(parts)


def parse(text: str, mapping: Mapping[str, str] | None = None) -> Submission:
    """The fields of a notification's text (see the module's doc)."""
    labels = {**_BUILT_IN, **(mapping or {})}
    sub = Submission()
    current: str | None = None  # the field a bare label's following lines belong to
    current_label = ""
    lines: list[str] = []

    def close() -> None:
        nonlocal current, lines
        if current is not None:
            value = "\n".join(lines).strip()
            if value:
                _put(sub, current, current_label, value)
        current, lines = None, []

    for line in text.splitlines():
        match = _LINE.match(line)
        label = key(match.group(1)) if match else ""
        if match and (label in labels or current is None or not lines):
            close()
            value = match.group(2).strip()
            fieldname = labels.get(label)
            if fieldname is None:
                if value:
                    sub.other.append(f"{match.group(1).strip()}: {value}")
                continue
            if value:
                _put(sub, fieldname, match.group(1).strip(), value)
            else:
                current, current_label = fieldname, match.group(1).strip()
            continue
        if current is not None:
            lines.append(line.rstrip())
    close()
    return sub


def _put(sub: Submission, fieldname: str, label: str, value: str) -> None:
    if fieldname == "message":
        sub.message = f"{sub.message}\n\n{value}".strip() if sub.message else value
    elif fieldname == "notes":
        sub.other.append(f"{label}: {value}")
    elif fieldname not in sub.values:
        sub.values[fieldname] = " ".join(value.split())
    else:
        sub.other.append(f"{label}: {value}")
