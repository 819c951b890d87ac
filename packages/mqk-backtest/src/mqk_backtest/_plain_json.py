"""Any payload as plain JSON types (the slow, general path of an event's rendering).

Kept out of the compiled modules (``tools/compiled.py``): it recurses as deep as the payload,
and only interpreted Python stops a cyclic or absurdly deep payload with a RecursionError
(compiled code has no recursion limit and would overflow the C stack).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from mqk_schemas import ExactnessError, format_decimal, format_utc, jsonable

__all__ = ["_plain"]


def _plain(value: Any) -> Any:
    """Plain JSON types with exact decimals as strings (so a record needs no custom encoder)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:  # as canonical JSON has them: finite only
        if not math.isfinite(value):
            raise ExactnessError(f"{value} is not finite and has no canonical JSON form")
        return value
    if kind is Decimal:
        return format_decimal(value)
    if kind is dict or isinstance(value, Mapping):
        return {
            k if type(k) is str else str(k.value if isinstance(k, Enum) else k): (
                v if type(v) is str else _plain(v)
            )
            for k, v in value.items()
        }
    if kind is list or kind is tuple:
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, datetime):
        return format_utc(value)
    return _plain(_from_jsonable(jsonable(value)))


def _from_jsonable(value: Any) -> Any:
    """Turn :func:`jsonable` output (pre-rendered decimals) into plain JSON types."""
    return json.loads(json.dumps(value, default=str))
