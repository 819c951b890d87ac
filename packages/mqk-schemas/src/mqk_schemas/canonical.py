"""Canonical JSON: one byte string per value, so that hashes are stable across processes.

Keys are sorted, separators are minimal, Decimals are rendered as normalised numbers,
datetimes as UTC ``...Z`` strings, UUIDs and enums by value. NaN and infinity are refused.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel

from mqk_schemas.errors import ExactnessError
from mqk_schemas.types import format_decimal, format_utc

__all__ = ["canonical_json", "jsonable", "sha256_hex"]


class _RawNumber(str):
    """A pre-rendered JSON number."""


def jsonable(value: Any) -> Any:
    """Convert ``value`` into plain JSON types, with Decimals kept exact."""
    if isinstance(value, BaseModel):
        return jsonable(value.model_dump(mode="python"))
    if isinstance(value, Mapping):
        return {str(jsonable_key(k)): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((jsonable(v) for v in value), key=lambda x: json.dumps(x, sort_keys=True))
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ExactnessError(f"{value} is not finite")
        return _RawNumber(format_decimal(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ExactnessError(f"{value} is not finite and has no canonical JSON form")
        return value
    if isinstance(value, datetime):
        return format_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def jsonable_key(key: Any) -> Any:
    """Dictionary keys: enums by value, everything else as str."""
    if isinstance(key, Enum):
        return key.value
    return key


def _encode(value: Any, out: list[str]) -> None:
    if isinstance(value, _RawNumber):
        out.append(str(value))
    elif isinstance(value, dict):
        out.append("{")
        for i, key in enumerate(sorted(value)):
            if i:
                out.append(",")
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":")
            _encode(value[key], out)
        out.append("}")
    elif isinstance(value, list):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        out.append(json.dumps(value, ensure_ascii=False, allow_nan=False))


def canonical_json(value: Any) -> str:
    """Serialise ``value`` to canonical JSON text."""
    out: list[str] = []
    _encode(jsonable(value), out)
    return "".join(out)


def sha256_hex(text: str | bytes) -> str:
    """SHA-256 of ``text`` (UTF-8) as lowercase hex."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()
