"""``render.to_json_document``: the JSON of a shown record, readable and exact."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from crmcli.render import to_json, to_json_document

scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(values)
def test_reads_back_as_the_same_value(value) -> None:
    assert json.loads(to_json_document(value)) == json.loads(to_json(value))


def test_layout_one_member_a_line_one_record_a_line() -> None:
    card = {
        "id": 1,
        "name": "Nguyễn Văn An 🚀",
        "tags": ["vip", "hcm"],
        "fields": {"size": "M"},
        "deals": [{"id": 3, "title": "ERP"}, {"id": 4, "title": "Máy in"}],
        "tickets": [],
    }
    assert to_json_document(card) == (
        "{\n"
        '  "id": 1,\n'
        '  "name": "Nguyễn Văn An 🚀",\n'
        '  "tags": ["vip", "hcm"],\n'
        '  "fields": {"size": "M"},\n'
        '  "deals": [\n'
        '    {"id": 3, "title": "ERP"},\n'
        '    {"id": 4, "title": "Máy in"}\n'
        "  ],\n"
        '  "tickets": []\n'
        "}"
    )
    many = to_json_document([{"id": 1, "deals": [{"id": 3}]}, {"id": 2}])
    assert many == (
        '[\n  {\n    "id": 1,\n    "deals": [\n      {"id": 3}\n    ]\n  },\n'
        '  {\n    "id": 2\n  }\n]'
    )
