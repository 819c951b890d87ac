"""Snapshot files: exact money, UTC timestamps, no unknown keys; errors name file and field."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from reconcile_support import DATA

from mqk_reconcile import SnapshotLoadError, load_snapshot, parse_snapshot, snapshot_digest

CLEAN = json.loads((DATA / "clean_snapshot.json").read_text(encoding="utf-8"))


def _text(mutate: Any) -> str:
    data = json.loads(json.dumps(CLEAN))
    mutate(data)
    return json.dumps(data, indent=2)


def _set(path: str, value: Any) -> Any:
    def mutate(data: Any) -> None:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return mutate


MALFORMED: list[tuple[str, str, str, str]] = [
    ("not JSON", '{"captured_at": ', "<json line 1 column 17>", "invalid JSON"),
    ("top level is a list", "[]", "<root>", "expected a JSON object"),
    ("account is a string", _text(_set("account", "PA-1")), "account", "expected a JSON object"),
    (
        "unknown key",
        _text(_set("orders.0.qty", "10")),
        "orders[0].qty",
        "unknown key (not a snapshot field)",
    ),
    (
        "unknown top-level key",
        _text(_set("comment", "hand edited")),
        "comment",
        "unknown key (not a snapshot field)",
    ),
    (
        "float price",
        _text(_set("orders.2.limit_price", "@@400.10@@")).replace('"@@400.10@@"', "400.10"),
        "orders[2].limit_price",
        'JSON number 400.10 is a float; write exact decimals as strings ("400.10") or integers',
    ),
    (
        "float cash (exponent)",
        _text(_set("account.cash", "@@1e5@@")).replace('"@@1e5@@"', "1e5"),
        "account.cash",
        "JSON number 1e5 is a float",
    ),
    (
        "NaN quantity",
        _text(_set("positions.0.quantity", "@@NaN@@")).replace('"@@NaN@@"', "NaN"),
        "positions[0].quantity",
        "NaN is not a finite exact number",
    ),
    (
        "naive timestamp",
        _text(_set("captured_at", "2024-03-01T21:00:00")),
        "captured_at",
        "has no timezone; use UTC",
    ),
    (
        "naive fill timestamp",
        _text(_set("fills.1.ts_utc", "2024-03-01T20:31:00")),
        "fills[1].ts_utc",
        "has no timezone; use UTC",
    ),
    (
        "missing field",
        _text(lambda d: d["account"].pop("cash")),
        "account.cash",
        "required field is missing",
    ),
    (
        "key given twice",
        json.dumps(CLEAN).replace('"captured_at": ', '"captured_at": "x", "captured_at": ', 1),
        "captured_at",
        "key given more than once",
    ),
    (
        "order listed twice",
        _text(lambda d: d["orders"].append(d["orders"][0])),
        "orders[5].client_order_id",
        "duplicate client_order_id 'MAIN_123456781234_00000001' (also orders[0])",
    ),
    (
        "not a number",
        _text(_set("fills.0.price", "abc")),
        "fills[0].price",
        "'abc' is not a decimal number",
    ),
    (
        "negative quantity",
        _text(_set("orders.0.quantity", "-10")),
        "orders[0].quantity",
        "-10 must be > 0",
    ),
]


@pytest.mark.parametrize(
    ("text", "field", "rule"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def fault_a_malformed_snapshot_file_is_refused_naming_file_and_field(
    tmp_path: Path, text: str, field: str, rule: str
) -> None:
    path = tmp_path / "broker.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SnapshotLoadError) as caught:
        load_snapshot(path)
    error = caught.value
    assert error.path == str(path)
    assert error.field == field
    assert rule in error.rule
    assert str(error).startswith(f"snapshot file {path}: {field}: ")
    assert error.reason_code == "SNAPSHOT_LOAD_FAILED"


def fault_every_float_in_a_file_is_reported() -> None:
    text = '{"captured_at": "2024-03-01T21:00:00Z", "account": {"cash": 1.5, "equity": 2.5}}'
    with pytest.raises(SnapshotLoadError) as caught:
        parse_snapshot(text, source="inline.json")
    assert [p.field for p in caught.value.problems] == ["account.cash", "account.equity"]


@pytest.mark.parametrize(
    ("write", "rule"),
    [(None, "cannot read: No such file or directory"), (b"\xff\xfe{", "not UTF-8 text")],
    ids=["missing file", "not UTF-8"],
)
def fault_an_unreadable_file_is_refused_naming_it(
    tmp_path: Path, write: bytes | None, rule: str
) -> None:
    path = tmp_path / "broker.json"
    if write is not None:
        path.write_bytes(write)
    with pytest.raises(SnapshotLoadError) as caught:
        load_snapshot(path)
    assert (caught.value.path, caught.value.field, caught.value.rule) == (str(path), "<file>", rule)


def unit_exact_numbers_load_as_decimals() -> None:
    snap = load_snapshot(DATA / "clean_snapshot.json")
    assert snap.account.cash == Decimal("98095")
    assert snap.fills[0].price == Decimal("190.5")
    integer_quantity = _text(_set("positions.0.quantity", "@@10@@")).replace('"@@10@@"', "10")
    assert parse_snapshot(integer_quantity).positions[0].quantity == Decimal(10)


def unit_digest_ignores_list_order_but_not_content() -> None:
    snap = load_snapshot(DATA / "clean_snapshot.json")
    shuffled = snap.model_copy(update={"orders": tuple(reversed(snap.orders))})
    changed = snap.model_copy(update={"orders": snap.orders[1:]})
    assert snapshot_digest(shuffled) == snapshot_digest(snap)
    assert snapshot_digest(changed) != snapshot_digest(snap)
