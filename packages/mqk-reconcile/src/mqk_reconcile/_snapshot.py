"""Broker snapshots: loading from JSON, content rules and an order-independent digest.

A snapshot file is one JSON object shaped like :class:`mqk_schemas.BrokerSnapshot`. Money,
prices and quantities are exact: write them as strings (``"101.37"``) or integers; a JSON number
with a fraction or exponent (``101.37``, ``1e2``) is refused, as are NaN and Infinity, because
such numbers are how binary floats leak into money. Timestamps must carry a timezone. Unknown
and duplicated keys are refused. Every error names the file and the field.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mqk_reconcile.errors import FieldProblem, SnapshotInvalidError, SnapshotLoadError
from mqk_schemas import BrokerSnapshot, canonical_json, sha256_hex

__all__ = ["check_snapshot", "load_snapshot", "parse_snapshot", "snapshot_digest"]


class _JsonFloat(str):
    """A JSON number with a fraction or exponent, kept as its source text."""


class _JsonConstant(str):
    """NaN, Infinity or -Infinity in the source."""


class _KeyedObject(dict[str, Any]):
    """A JSON object that remembers keys given more than once."""

    duplicates: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> _KeyedObject:
    obj = _KeyedObject(pairs)
    counts = Counter(key for key, _ in pairs)
    obj.duplicates = tuple(sorted(key for key, n in counts.items() if n > 1))
    return obj


def _path(parts: Iterable[str | int]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "<root>"


def _inexact(value: Any, at: tuple[str | int, ...], out: list[FieldProblem]) -> None:
    if isinstance(value, _JsonFloat):
        out.append(
            FieldProblem(
                _path(at),
                f"JSON number {value} is a float; write exact decimals as strings "
                f'("{value}") or integers',
            )
        )
    elif isinstance(value, _JsonConstant):
        out.append(FieldProblem(_path(at), f"{value} is not a finite exact number"))
    elif isinstance(value, dict):
        for key in getattr(value, "duplicates", ()):
            out.append(FieldProblem(_path((*at, key)), "key given more than once"))
        for key, item in value.items():
            _inexact(item, (*at, key), out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _inexact(item, (*at, index), out)


_RULES = {
    "extra_forbidden": "unknown key (not a snapshot field)",
    "missing": "required field is missing",
    "model_type": "expected a JSON object",
    "model_attributes_type": "expected a JSON object",
}


def _problems(error: ValidationError) -> list[FieldProblem]:
    problems = []
    for item in error.errors(include_url=False):
        where = _path(p for p in item["loc"] if isinstance(p, str | int))
        rule = _RULES.get(item["type"], item["msg"].removeprefix("Value error, "))
        problems.append(FieldProblem(where, rule))
    return problems


def _duplicates(what: str, ids: list[str]) -> list[FieldProblem]:
    first: dict[str, int] = {}
    problems = []
    field = {"orders": "client_order_id", "fills": "broker_fill_id", "positions": "symbol"}[what]
    for index, ident in enumerate(ids):
        if ident in first:
            problems.append(
                FieldProblem(
                    f"{what}[{index}].{field}",
                    f"duplicate {field} {ident!r} (also {what}[{first[ident]}])",
                )
            )
        else:
            first[ident] = index
    return problems


def _content_problems(snapshot: BrokerSnapshot) -> list[FieldProblem]:
    return [
        *_duplicates("orders", [o.client_order_id for o in snapshot.orders]),
        *_duplicates("fills", [f.broker_fill_id for f in snapshot.fills]),
        *_duplicates("positions", [p.symbol for p in snapshot.positions]),
    ]


def check_snapshot(snapshot: BrokerSnapshot) -> None:
    """Refuse a snapshot listing one order, fill or position symbol twice."""
    problems = _content_problems(snapshot)
    if problems:
        raise SnapshotInvalidError("broker snapshot", problems)


def parse_snapshot(text: str, *, source: str = "<string>") -> BrokerSnapshot:
    """Parse snapshot JSON ``text``; errors name ``source`` and the field (see module doc)."""
    try:
        raw = json.loads(
            text,
            parse_float=_JsonFloat,
            parse_constant=_JsonConstant,
            object_pairs_hook=_object,
        )
    except json.JSONDecodeError as exc:
        where = f"<json line {exc.lineno} column {exc.colno}>"
        raise SnapshotLoadError(source, [FieldProblem(where, f"invalid JSON: {exc.msg}")]) from None
    inexact: list[FieldProblem] = []
    _inexact(raw, (), inexact)
    if inexact:
        raise SnapshotLoadError(source, inexact)
    try:
        snapshot = BrokerSnapshot.model_validate(raw)
    except ValidationError as exc:
        raise SnapshotLoadError(source, _problems(exc)) from None
    content = _content_problems(snapshot)
    if content:
        raise SnapshotLoadError(source, content)
    return snapshot


def load_snapshot(path: str | Path) -> BrokerSnapshot:
    """Load a broker snapshot from a JSON file; errors name the file and the field."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SnapshotLoadError(source, [FieldProblem("<file>", "not UTF-8 text")]) from None
    except OSError as exc:
        problem = FieldProblem("<file>", f"cannot read: {exc.strerror or type(exc).__name__}")
        raise SnapshotLoadError(source, [problem]) from None
    return parse_snapshot(text, source=source)


def snapshot_digest(snapshot: BrokerSnapshot) -> str:
    """SHA-256 of the snapshot's canonical JSON with orders, fills and positions sorted.

    Two snapshots listing the same content in a different order have the same digest.
    """
    body = {
        "captured_at": snapshot.captured_at,
        "account": snapshot.account,
        "orders": sorted(canonical_json(o) for o in snapshot.orders),
        "fills": sorted(canonical_json(f) for f in snapshot.fills),
        "positions": sorted(canonical_json(p) for p in snapshot.positions),
    }
    return sha256_hex(canonical_json(body))
