"""Canonical JSON of an event payload through orjson, equal to the plain-types path.

:func:`payload_json` gives exactly ``record_json(_plain(payload))`` (sorted keys, no spaces,
exact decimals as :func:`~mqk_schemas.format_decimal` strings, datetimes as
:func:`~mqk_schemas.format_utc` strings, enums by value). A payload made only of the shapes the
engine produces (str keys; str, int, bool, None, Decimal, datetime, enum and mapping values;
lists and tuples) is copied once, compiled, with its decimals, datetimes and enums as that text,
and the copy goes to orjson (several times faster than the standard library's C encoder on a
refusal's nested evidence, and with nothing left to call back into Python for). Anything else
(a float, a non-str key, a subclass of a JSON type, an int beyond 64 bits, a lone surrogate) is
left to the caller's plain-types path.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Final

import orjson

from mqk_schemas import format_decimal, format_utc

__all__ = ["payload_json"]


class _UnusualError(Exception):
    """A value the fast path does not render (the caller's plain-types path does)."""


# sorted keys; anything but plain JSON types is an error (never orjson's own forms)
_OPTIONS: Final = (
    orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
)


_MAX_DEPTH: Final = 32
"""Deeper payloads (the engine's are 3 levels deep at most) are left to the plain-types path:
the walk below never recurses without bound, so a cyclic payload is never followed round
(as a compiled module, with no recursion limit of Python's, it would overflow the C stack;
the plain path, in ``_plain_json``, is interpreted and raises RecursionError)."""


def _converted(value: Any, depth: int = 0) -> Any:
    """``value`` with its exact decimals, datetimes and enums replaced by the text the
    plain-types path writes for them (dicts and lists copied, at most :data:`_MAX_DEPTH`
    containers deep), so orjson needs no call back into Python; raises
    :class:`_UnusualError` for anything that path renders differently (a non-str key, a
    float, a subclass of a JSON type...)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is Decimal:
        return format_decimal(value)
    if kind is datetime:
        return format_utc(value)
    if depth >= _MAX_DEPTH:
        raise _UnusualError
    inner_depth = depth + 1
    if kind is dict:
        return _converted_items(value, inner_depth)
    if kind is list or kind is tuple:
        return [_converted(item, inner_depth) for item in value]
    if isinstance(value, Mapping):
        if isinstance(value, Enum):
            raise _UnusualError  # the plain path reads it as a mapping, the encoder by value
        return _converted_items(dict(value), inner_depth)
    if isinstance(value, Enum):
        # rendered by value; a member that is also a str or an int could be rendered by its
        # own text: only when that text is its value's
        member = value.value
        if isinstance(value, str | int | float):
            if type(member) not in (str, int) or value != member:
                raise _UnusualError
            return member
        return _converted(member, inner_depth)
    raise _UnusualError


def _converted_items(value: dict[Any, Any], depth: int) -> dict[str, Any]:
    converted: dict[str, Any] = {}
    for key, item in value.items():
        if type(key) is not str:
            raise _UnusualError
        kind = type(item)  # the common leaves here: no call per value
        if kind is str or kind is int or kind is bool or item is None:
            converted[key] = item
        elif kind is Decimal:
            converted[key] = format_decimal(item)
        else:
            converted[key] = _converted(item, depth)
    return converted


def payload_json(payload: Mapping[str, Any]) -> str | None:
    """The canonical JSON of ``payload``, or None when it holds something unusual (then
    ``record_json(_plain(payload))`` renders it)."""
    try:
        return orjson.dumps(_converted(payload), option=_OPTIONS).decode()
    except Exception:  # unusual, a cycle, a naive datetime...: the plain path raises as before
        return None
