"""Canonical JSON of an event payload through orjson, equal to the plain-types path.

:func:`payload_json` gives exactly ``record_json(_plain(payload))`` (sorted keys, no spaces,
exact decimals as :func:`~mqk_schemas.format_decimal` strings, datetimes as
:func:`~mqk_schemas.format_utc` strings, enums by value), without first copying the payload
into plain types: a payload made only of the shapes the engine produces (str keys; str, int,
bool, None, Decimal, datetime, enum and mapping values; lists and tuples) goes straight to
orjson (about 5x faster than the standard library's C encoder on a refusal's nested
evidence), which calls back only for decimals, datetimes and mappings that are not dicts.
Anything else (a float, a non-str key, a subclass of a JSON type, an int beyond 64 bits, a
lone surrogate) is left to the caller's plain-types path.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import orjson

from mqk_schemas import format_decimal, format_utc

__all__ = ["payload_json"]


class _UnusualError(Exception):
    """A value the fast path does not render (the caller's plain-types path does)."""


def _default(value: Any) -> Any:
    kind = type(value)
    if kind is Decimal:
        return format_decimal(value)
    if kind is datetime:
        return format_utc(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return dict(value)
    raise _UnusualError


# sorted keys; datetimes and subclasses of JSON types go to _default (never orjson's own forms)
_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
_LEAVES = frozenset({str, int, bool, type(None), Decimal, datetime})


_MAX_DEPTH = 32
"""Deeper payloads (the engine's are 3 levels deep at most) are left to the plain-types path:
the walk below never recurses without bound, so a cyclic payload is never followed round
(as a compiled module, with no recursion limit of Python's, it would overflow the C stack;
the plain path, in ``_plain_json``, is interpreted and raises RecursionError)."""


def _direct(value: Any, depth: int = 0) -> bool:
    """True when orjson (with :func:`_default`) renders ``value`` as the plain-types
    path does: a dict with str keys, list or tuple of such values, or a leaf it knows, at
    most :data:`_MAX_DEPTH` containers deep."""
    kind = type(value)
    if kind in _LEAVES:
        return True
    if depth >= _MAX_DEPTH:
        return False
    inner_depth = depth + 1
    if kind is dict or isinstance(value, Mapping):
        if isinstance(value, Enum):
            return False  # the plain path reads it as a mapping, the encoder by its value
        for key, item in value.items():
            if type(key) is not str or (
                type(item) not in _LEAVES and not _direct(item, inner_depth)
            ):
                return False
        return True
    if kind is list or kind is tuple:
        return all(type(item) in _LEAVES or _direct(item, inner_depth) for item in value)
    if isinstance(value, Enum):
        # encoded by value; a member that is also a str or an int could be rendered by its
        # own text: only when that text is its value's
        inner = value.value
        if isinstance(value, str | int | float):
            return type(inner) in (str, int) and value == inner
        return _direct(inner, inner_depth)
    return False


def payload_json(payload: Mapping[str, Any]) -> str | None:
    """The canonical JSON of ``payload``, or None when it holds something unusual (then
    ``record_json(_plain(payload))`` renders it)."""
    try:
        if _direct(payload):
            return orjson.dumps(payload, default=_default, option=_OPTIONS).decode()
    except Exception:  # a cycle, a naive datetime...: the plain path raises as it always did
        return None
    return None
