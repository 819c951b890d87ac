"""Bulk helpers equal their one-at-a-time definitions: event ids in a range, chained lines."""

from __future__ import annotations

import json
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from mqk_schemas import (
    GENESIS_HASH,
    AuditChain,
    canonical_json,
    event_id,
    event_id_text_range,
    event_id_texts,
    verify_audit_lines,
)


@settings(max_examples=200, deadline=None)
@given(run=st.uuids(), start=st.integers(0, 2**48), count=st.integers(0, 40))
def invariant_event_id_text_range_equals_uuid5_event_ids(
    run: uuid.UUID, start: int, count: int
) -> None:
    texts = event_id_text_range(run, start, start + count)

    assert texts == [str(event_id(run, seq)) for seq in range(start, start + count)]
    assert texts == [event_id_texts(run)(seq) for seq in range(start, start + count)]


def unit_event_id_text_range_of_an_empty_range_is_empty() -> None:
    assert event_id_text_range(uuid.UUID(int=7), 5, 5) == []
    assert event_id_text_range(uuid.UUID(int=7), 5, 2) == []


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(records=st.lists(_json_values, max_size=12), split=st.integers(0, 12))
def invariant_lines_for_jsons_equals_line_for_json_one_at_a_time(
    records: list[object], split: int
) -> None:
    texts = [canonical_json(record) for record in records]
    one = AuditChain()
    expected = [one.line_for_json(text) for text in texts]
    bulk = AuditChain()
    lines = bulk.lines_for_jsons(texts[:split]) + bulk.lines_for_jsons(texts[split:])

    assert lines == expected
    assert bulk.last_hash == one.last_hash
    verified = verify_audit_lines(lines)
    assert verified.ok
    assert verified.last_hash == bulk.last_hash
    assert [json.loads(line)["record"] for line in lines] == [json.loads(t) for t in texts]


def unit_lines_for_jsons_of_nothing_keeps_the_chain_where_it_was() -> None:
    chain = AuditChain()

    assert chain.lines_for_jsons([]) == []
    assert chain.last_hash == GENESIS_HASH
