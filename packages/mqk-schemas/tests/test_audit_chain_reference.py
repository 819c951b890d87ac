"""The audit chain and the bulk event ids equal their reference definitions exactly.

The references are the definitions written out plainly: a line's hash is
``sha256_hex(prev_hash + record_json)`` and an event id is ``str(uuid.uuid5(namespace,
f"{run_id}:{seq}"))``.
"""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from mqk_schemas import (
    GENESIS_HASH,
    AuditChain,
    canonical_json,
    event_id_text_range,
    event_id_texts,
    sha256_hex,
    verify_audit_lines,
)

_NAMESPACE = uuid.UUID("5b0c6f0e-7d6a-4a44-9c1e-6d2f4f1c1a01")


def _ref_lines(texts: list[str], last: str = GENESIS_HASH) -> list[str]:
    lines = []
    for text in texts:
        digest = sha256_hex(last + text)
        lines.append(f'{{"hash":"{digest}","prev_hash":"{last}","record":{text}}}')
        last = digest
    return lines


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    records=st.lists(_json_values, max_size=12),
    split=st.integers(0, 12),
    start=st.sampled_from([GENESIS_HASH, "f" * 64]),
)
def invariant_chained_lines_equal_the_reference_chain(
    records: list[object], split: int, start: str
) -> None:
    texts = [canonical_json(record) for record in records]
    chain = AuditChain(start)
    lines = chain.lines_for_jsons(texts[:split]) + chain.lines_for_jsons(texts[split:])

    expected = _ref_lines(texts, start)
    assert lines == expected
    assert chain.last_hash == (expected[-1][9:73] if expected else start)
    if start == GENESIS_HASH:
        verified = verify_audit_lines(lines)
        assert (verified.ok, verified.lines, verified.last_hash) == (
            True,
            len(lines),
            chain.last_hash,
        )


def unit_a_known_record_chains_to_its_known_hash() -> None:
    chain = AuditChain()
    line = chain.line_for_json('{"a":"é","n":1}')

    assert chain.last_hash == sha256_hex(GENESIS_HASH + '{"a":"é","n":1}')
    assert line == (
        f'{{"hash":"{chain.last_hash}","prev_hash":"{GENESIS_HASH}","record":{{"a":"é","n":1}}}}'
    )


@settings(max_examples=300, deadline=None)
@given(run=st.uuids(), start=st.integers(0, 10**12), count=st.integers(0, 30))
def invariant_event_ids_equal_uuid5_of_run_and_seq(run: uuid.UUID, start: int, count: int) -> None:
    expected = [str(uuid.uuid5(_NAMESPACE, f"{run}:{seq}")) for seq in range(start, start + count)]

    assert event_id_text_range(run, start, start + count) == expected
    one = event_id_texts(run)
    assert [one(seq) for seq in range(start, start + count)] == expected
