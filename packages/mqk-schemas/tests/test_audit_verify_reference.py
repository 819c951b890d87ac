"""verify_audit_lines accepts a line as written without re-encoding its record; every verdict
(ok, line count, last hash, first broken line, reason) equals the field-by-field verification
it had before, kept here as the oracle, on generated logs with and without tampering."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mqk_schemas import GENESIS_HASH, AuditChain, AuditVerification, verify_audit_lines


class _Number(str):
    pass


def _reencode(value: Any) -> str:
    if isinstance(value, _Number):
        return str(value)
    if isinstance(value, dict):
        inner = ",".join(
            f"{json.dumps(k, ensure_ascii=False)}:{_reencode(value[k])}" for k in sorted(value)
        )
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ",".join(_reencode(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _reference(lines: list[str]) -> AuditVerification:
    """verify_audit_lines as it was: every line parsed and its record re-encoded."""
    prev = GENESIS_HASH
    count = 0
    for number, raw_line in enumerate(lines, start=1):
        count = number
        raw = raw_line.rstrip("\n")
        if not raw:
            return AuditVerification(False, number - 1, prev, number, "empty line")
        try:
            obj = json.loads(raw, parse_float=_Number, parse_int=_Number)
        except json.JSONDecodeError as exc:
            return AuditVerification(False, number - 1, prev, number, f"not JSON ({exc.msg})")
        if not isinstance(obj, dict) or set(obj) != {"hash", "prev_hash", "record"}:
            return AuditVerification(
                False, number - 1, prev, number, "expected keys hash, prev_hash, record"
            )
        if obj["prev_hash"] != prev:
            return AuditVerification(
                False, number - 1, prev, number, "prev_hash does not match the previous line"
            )
        digest = hashlib.sha256((prev + _reencode(obj["record"])).encode()).hexdigest()
        if digest != obj["hash"]:
            return AuditVerification(
                False, number - 1, prev, number, "hash does not match the record (tampered)"
            )
        prev = obj["hash"]
    return AuditVerification(True, count, prev)


_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.text(max_size=8)
    | st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str)
)
_records = st.dictionaries(
    st.text(max_size=6),
    st.recursive(
        _scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
        ),
        max_leaves=6,
    ),
    max_size=5,
)


def _canonical(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _rechain(lines: list[str], start: int, texts: list[str]) -> list[str]:
    """``lines`` with line ``start`` on holding ``texts`` chained as written (hashes made
    over the texts as they are, canonical or not), as a forger would."""
    prev = GENESIS_HASH if start == 0 else json.loads(lines[start - 1])["hash"]
    out = lines[:start]
    for text in texts:
        digest = hashlib.sha256((prev + text).encode()).hexdigest()
        out.append(f'{{"hash":"{digest}","prev_hash":"{prev}","record":{text}}}')
        prev = digest
    return out


_TAMPERINGS = [
    "none",
    "edit",  # one character of the record changed, hashes left
    "spaces",  # record re-spaced and re-hashed as written (not canonical)
    "unsorted",  # keys reversed and re-hashed as written
    "float",  # a number written 1.50 and re-hashed
    "extra_key",  # an extra top-level key after the record
    "drop",  # a line removed
    "blank",  # an empty line
    "truncated",  # the line cut short
]


@settings(max_examples=300, deadline=None)
@given(
    records=st.lists(_records, min_size=1, max_size=6),
    tampering=st.sampled_from(_TAMPERINGS),
    at=st.integers(0, 5),
)
def invariant_verdicts_equal_the_field_by_field_verification(
    records: list[dict[str, Any]], tampering: str, at: int
) -> None:
    texts = [_canonical(r) for r in records]
    lines = AuditChain().lines_for_jsons(texts)
    at = min(at, len(lines) - 1)
    if tampering == "edit":
        lines[at] = lines[at][:-2] + ("x" if lines[at][-2] != "x" else "y") + "}"
    elif tampering == "spaces":
        lines = _rechain(lines, at, [t.replace(",", ", ") for t in texts[at:]])
    elif tampering == "unsorted":
        redone = [json.dumps(dict(reversed(r.items())), ensure_ascii=False) for r in records]
        lines = _rechain(lines, at, redone[at:])
    elif tampering == "float":
        lines = _rechain(lines, at, ['{"x":1.50}', *texts[at + 1 :]])
    elif tampering == "extra_key":
        lines[at] = lines[at][:-1] + ',"extra":1}'
    elif tampering == "drop":
        del lines[at]
    elif tampering == "blank":
        lines[at] = ""
    elif tampering == "truncated":
        lines[at] = lines[at][: len(lines[at]) // 2]

    assert verify_audit_lines(lines) == _reference(lines)


def unit_a_written_log_verifies_with_its_last_hash() -> None:
    chain = AuditChain()
    lines = chain.lines_for_jsons(['{"a":1}', '{"b":"été"}', '{"c":[1,2]}'])

    assert verify_audit_lines(lines) == AuditVerification(True, 3, chain.last_hash)
