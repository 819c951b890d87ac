"""An event payload's canonical JSON through the C encoder equals the plain-types path's.

``EventStream.add`` renders a payload with :func:`payload_json` and, when that declines,
with ``record_json(_plain(payload))`` as before. These tests generate nested payloads of every
shape the engine can produce and many it cannot (floats, non-str keys, tuples, enums of every
kind, mappings that are not dicts, subclasses of JSON types, naive datetimes) and prove that
whenever the fast path answers, its text is exactly the plain path's.
"""

from __future__ import annotations

import enum
import math
import subprocess
import sys
import uuid
from collections import OrderedDict
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mqk_backtest._payload_json import payload_json
from mqk_backtest._stream import EventStream, _plain, record_json
from mqk_schemas import Action, ExactnessError, Side, Topic, format_decimal


class _Level(enum.IntEnum):
    LOW = 1
    HIGH = 20


class _Colour(enum.Enum):
    RED = "red"
    PRICE = Decimal("1.50")
    NESTED = ("a", 1)


class _Odd(str, enum.Enum):  # noqa: UP042 - a str mixin enum, not a StrEnum, on purpose
    TEXT = "text"


class _Tagged(str):
    pass


class _Items(list[Any]):
    pass


def _old(payload: Any) -> str:
    return record_json(_plain(payload))


_zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(minutes=330)), None]
)
_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=5),
    st.text(alphabet='"\\\n\x00é✓', max_size=3),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
    st.sampled_from([Decimal("100"), Decimal("1E+2"), Decimal("100.00"), Decimal("-0")]),
    st.builds(
        lambda moment, zone: moment.replace(tzinfo=zone),
        st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
        _zones,
    ),
    st.sampled_from([*Topic, *Side, *Action, *_Level, *_Colour, *_Odd]),
    st.floats(allow_nan=False),
    st.builds(_Tagged, st.text(max_size=3)),
)
_keys = st.one_of(
    st.text(max_size=4),
    st.integers(-20, 20),
    st.booleans(),
    st.none(),
    st.sampled_from([*Side, *_Level]),
    st.floats(allow_nan=False, allow_infinity=False, width=16),
)


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    str_keyed = st.dictionaries(st.text(max_size=4), inner, max_size=4)
    return st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.lists(inner, max_size=3).map(_Items),
        str_keyed,
        str_keyed.map(MappingProxyType),
        str_keyed.map(OrderedDict),
        st.dictionaries(_keys, inner, max_size=3),
    )


_payloads = st.dictionaries(
    st.text(max_size=6), st.recursive(_leaves, _containers, max_leaves=12), max_size=6
)


@settings(max_examples=1500, deadline=None)
@given(payload=_payloads)
def invariant_the_fast_payload_json_equals_the_plain_path_whenever_it_answers(
    payload: dict[str, Any],
) -> None:
    fast = payload_json(payload)
    if fast is None:
        return
    assert fast == _old(payload)


# the engine's own shapes: str keys; str, int, bool, None, Decimal, aware datetime, enums;
# nested dicts, lists, tuples and read-only mappings
_engine_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),  # orjson's range (a larger int takes the plain path)
    st.text(max_size=8),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.builds(
        lambda moment, zone: moment.replace(tzinfo=zone),
        st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
        st.sampled_from([UTC, timezone(timedelta(hours=3))]),
    ),
    st.sampled_from([*Topic, *Side, *Action, *_Level, _Colour.RED, _Colour.PRICE]),
)
_engine_payloads = st.dictionaries(
    st.text(max_size=6),
    st.recursive(
        _engine_leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.lists(inner, max_size=4).map(tuple),
            st.dictionaries(st.text(max_size=4), inner, max_size=4),
            st.dictionaries(st.text(max_size=4), inner, max_size=3).map(MappingProxyType),
        ),
        max_leaves=12,
    ),
    max_size=6,
)


@settings(max_examples=800, deadline=None)
@given(payload=_engine_payloads)
def invariant_engine_shaped_payloads_take_the_fast_path_with_the_same_text(
    payload: dict[str, Any],
) -> None:
    fast = payload_json(payload)

    assert fast is not None
    assert fast == _old(payload)


@pytest.mark.parametrize(
    "payload",
    [
        {"x": 1.5},
        {"x": {1: "a", "1": "b"}},
        {"x": {10: "a", 9: "b"}},
        {"x": {True: 1}},
        {"x": {None: 1}},
        {"x": {Side.BUY: 1}},
        {"x": [_Items([1])]},
        {"x": _Tagged("t")},
        {"x": _Odd.TEXT, "y": 2.0},
        {"x": datetime(2024, 1, 1)},
        {"x": Decimal("sNaN")},
        {"x": 2**64},
        {"x": [-(2**63) - 1]},
    ],
)
def unit_unusual_payloads_are_left_to_the_plain_path(payload: dict[str, Any]) -> None:
    assert payload_json(payload) is None


def unit_a_cyclic_payload_is_left_to_the_plain_path() -> None:
    inner: list[Any] = []
    inner.append(inner)

    assert payload_json({"x": inner}) is None


def fault_a_cyclic_payload_added_to_the_stream_raises_instead_of_crashing() -> None:
    # in a child process: compiled code recursing without bound would kill it (SIGSEGV)
    script = (
        "import uuid; from datetime import UTC, datetime\n"
        "from mqk_backtest._stream import EventStream\n"
        "from mqk_schemas import Topic\n"
        "inner = []; inner.append(inner)\n"
        "stream = EventStream(uuid.uuid4(), 'MAIN')\n"
        "try:\n"
        "    stream.add(datetime(2024, 1, 2, tzinfo=UTC), Topic.RISK, 'X', {'x': inner})\n"
        "except RecursionError:\n"
        "    print('RecursionError', len(stream))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )

    assert (done.returncode, done.stdout) == (0, "RecursionError 0\n"), done.stderr


@pytest.mark.parametrize(("depth", "direct"), [(31, True), (32, False), (5000, False)])
def unit_only_payloads_up_to_32_containers_deep_take_the_fast_path(
    depth: int, direct: bool
) -> None:
    nested: Any = "leaf"  # inside ``depth`` lists and dicts, inside the payload's own dict
    for level in range(depth):
        nested = {"k": nested} if level % 2 else [nested]
    text = payload_json({"x": nested})

    assert (text is not None) is direct
    if direct:
        assert text == record_json(_plain({"x": nested}))


def contract_event_stream_add_records_the_plain_paths_text() -> None:
    payload = {
        "reason_code": "RISK_HALTED",
        "action": Action.REJECT,
        "quantity": Decimal("100.00"),
        "upstream_evidence": MappingProxyType(
            {
                "ts": datetime(2024, 5, 29, 17, 38, tzinfo=UTC),
                "active_switches": ("KILL_SWITCH_MAX_DRAWDOWN",),
                "levels": {"high": _Level.HIGH},
            }
        ),
        "reducing": False,
        "note": None,
    }
    stream = EventStream(uuid.UUID(int=1), "MAIN")
    stream.add(datetime(2024, 5, 29, tzinfo=UTC), Topic.RISK, "ORDER_REFUSED", payload)
    # a float is left to the plain path, which renders a finite one as canonical JSON does
    # and refuses the others with a typed error (it used to recurse until Python stopped it)
    with pytest.raises(ExactnessError, match="nan is not finite"):
        stream.add(datetime(2024, 5, 29, tzinfo=UTC), Topic.RISK, "ODD", {"price": math.nan})

    (first,) = stream.records
    assert record_json(first["payload"]) == _old(payload)
    assert record_json(first["payload"]) == (
        '{"action":"REJECT","note":null,"quantity":"100","reason_code":"RISK_HALTED",'
        '"reducing":false,"upstream_evidence":{"active_switches":["KILL_SWITCH_MAX_DRAWDOWN"],'
        '"levels":{"high":20},"ts":"2024-05-29T17:38:00Z"}}'
    )
    assert format_decimal(Decimal("100.00")) == "100"


def unit_every_character_is_escaped_as_the_plain_path_escapes_it() -> None:
    # orjson and the standard library must agree on which characters are escaped and how
    # (control characters, quotes, backslashes; everything else as is, ensure_ascii off)
    characters = [chr(c) for c in [*range(0x3000), *range(0xE000, 0x10000, 7), 0x10FFFF]]
    text = "".join(characters)
    payload = {"text": text, "words": characters[:256], **{c: c for c in characters[:128]}}

    assert payload_json(payload) == _old(payload)
    assert payload_json({"lone": "\ud800"}) is None  # a lone surrogate: the plain path's
