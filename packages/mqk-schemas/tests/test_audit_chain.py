"""The audit log is a hash chain: any change is detected at the first line it breaks."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import pytest

from mqk_schemas import (
    GENESIS_HASH,
    AuditChainError,
    AuditLogWriter,
    Topic,
    make_event,
    verify_audit_file,
    verify_audit_lines,
)

RUN = uuid.UUID("00000000-0000-4000-8000-000000000001")


def _records(n: int) -> list[dict[str, object]]:
    return [
        make_event(
            run_id=RUN,
            engine_id="MAIN",
            ts_utc=f"2024-03-04T15:{i:02d}:00Z",
            seq=i,
            topic=Topic.OMS,
            event_type="ORDER_SUBMITTED",
            payload={"qty": "10", "i": i},
        ).model_dump(mode="python")
        for i in range(n)
    ]


def _chain(n: int) -> list[str]:
    buffer = io.StringIO()
    writer = AuditLogWriter(buffer)
    for record in _records(n):
        writer.append(record)
    return buffer.getvalue().splitlines(keepends=True)


def unit_intact_chain_verifies() -> None:
    lines = _chain(5)
    result = verify_audit_lines(lines)
    assert result.ok
    assert result.lines == 5
    assert result.first_broken_line is None
    assert json.loads(lines[0])["prev_hash"] == GENESIS_HASH
    assert result.last_hash == json.loads(lines[-1])["hash"]


def _edit_payload(lines: list[str], index: int) -> list[str]:
    obj = json.loads(lines[index])
    obj["record"]["payload"]["qty"] = "11"
    return [*lines[:index], json.dumps(obj) + "\n", *lines[index + 1 :]]


def _drop(lines: list[str], index: int) -> list[str]:
    return [*lines[:index], *lines[index + 1 :]]


def _swap(lines: list[str], index: int) -> list[str]:
    out = list(lines)
    out[index], out[index + 1] = out[index + 1], out[index]
    return out


def _garble(lines: list[str], index: int) -> list[str]:
    return [*lines[:index], lines[index][:-10] + "\n", *lines[index + 1 :]]


def _blank(lines: list[str], index: int) -> list[str]:
    return [*lines[:index], "\n", *lines[index:]]


@pytest.mark.parametrize(
    ("tamper", "index", "broken_line", "reason"),
    [
        (_edit_payload, 0, 1, "tampered"),
        (_edit_payload, 3, 4, "tampered"),
        (_edit_payload, 5, 6, "tampered"),
        (_drop, 2, 3, "prev_hash"),
        (_swap, 1, 2, "prev_hash"),
        (_garble, 4, 5, "not JSON"),
        (_blank, 2, 3, "empty line"),
    ],
)
def invariant_tampering_is_detected_at_the_first_broken_line(
    tamper: object, index: int, broken_line: int, reason: str
) -> None:
    lines = tamper(_chain(6), index)  # type: ignore[operator]
    result = verify_audit_lines(lines)
    assert not result.ok
    assert result.first_broken_line == broken_line
    assert reason in result.reason
    assert f"line {broken_line}" in result.describe()


def unit_writer_resumes_an_existing_file_and_refuses_a_broken_one(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    records = _records(4)
    first = AuditLogWriter.open(path)
    first.append(records[0])
    first.append(records[1])
    first.close()
    second = AuditLogWriter.open(path)
    second.append(records[2])
    second.close()
    assert verify_audit_file(path).lines == 3
    assert verify_audit_file(path).ok

    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(_edit_payload(lines, 1)))
    with pytest.raises(AuditChainError, match="line 2"):
        AuditLogWriter.open(path)


def unit_numbers_keep_their_exact_text_through_verification() -> None:
    buffer = io.StringIO()
    writer = AuditLogWriter(buffer)
    from decimal import Decimal

    writer.append({"price": Decimal("101.10"), "qty": 3, "ratio": 0.5})
    line = buffer.getvalue()
    assert '"price":101.1' in line
    assert verify_audit_lines([line]).ok
