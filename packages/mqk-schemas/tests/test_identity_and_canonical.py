"""Identity and canonical JSON: the same inputs give the same ids and bytes everywhere."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from decimal import Decimal

import pytest

from mqk_schemas import (
    Action,
    Decision,
    canonical_json,
    client_order_id,
    client_order_ids,
    engine_of_client_order_id,
    event_id,
    event_id_texts,
    most_severe,
    sha256_hex,
)

RUN = uuid.UUID("12345678-1234-4234-8234-123456789abc")


def unit_client_order_id_is_deterministic_and_namespaced() -> None:
    first = client_order_id("MAIN", RUN, 7)
    assert first == client_order_id("MAIN", RUN, 7)
    assert first == "MAIN_123456781234_00000007"
    assert first != client_order_id("MAIN", RUN, 8)
    assert engine_of_client_order_id(first) == "MAIN"


@pytest.mark.parametrize(
    ("coid", "engine"),
    [("EXP_abc_1", "EXP"), ("main_abc", None), ("manual-order", None), ("_x", None)],
)
def unit_engine_namespace_is_read_from_the_prefix(coid: str, engine: str | None) -> None:
    assert engine_of_client_order_id(coid) == engine


@pytest.mark.parametrize(
    ("engine", "seq", "message"),
    [("main", 1, "upper-case"), ("MAIN", -1, ">= 0"), ("1X", 0, "upper-case")],
)
def unit_client_order_id_refuses_bad_inputs(engine: str, seq: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        client_order_id(engine, RUN, seq)


def unit_event_ids_are_a_function_of_run_and_seq() -> None:
    assert event_id(RUN, 1) == event_id(RUN, 1)
    assert event_id(RUN, 1) != event_id(RUN, 2)


@pytest.mark.parametrize("seq", [0, 1, 9, 10, 99_999, 1_000_000, 2**40])
@pytest.mark.parametrize(
    "run", [RUN, uuid.UUID(int=0), uuid.UUID("ffffffff-ffff-4fff-bfff-ffffffffffff")]
)
def invariant_fast_event_id_texts_equal_uuid5_event_ids(run: uuid.UUID, seq: int) -> None:
    assert event_id_texts(run)(seq) == str(event_id(run, seq))


def unit_canonical_json_ignores_key_order_and_normalises_numbers() -> None:
    a = {"b": Decimal("1.50"), "a": {"y": [1, 2], "x": None}}
    b = {"a": {"x": None, "y": [1, 2]}, "b": Decimal("1.5")}
    assert canonical_json(a) == canonical_json(b) == '{"a":{"x":null,"y":[1,2]},"b":1.5}'


def unit_canonical_json_refuses_nan() -> None:
    with pytest.raises(ValueError, match="not finite"):
        canonical_json({"x": float("nan")})


def invariant_canonical_hash_is_the_same_in_other_processes() -> None:
    code = (
        "from decimal import Decimal; from mqk_schemas import canonical_json, sha256_hex;"
        "print(sha256_hex(canonical_json({'z': {'b', 'a', 'c'}, 'a': Decimal('2.50')})))"
    )
    local = sha256_hex(canonical_json({"z": {"b", "a", "c"}, "a": Decimal("2.50")}))
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == local


def unit_most_severe_decision_wins() -> None:
    allow = Decision.allow()
    reject = Decision(action=Action.REJECT, reason_code="A")
    disarm = Decision(action=Action.DISARM, reason_code="B")
    halt = Decision(action=Action.HALT_NEW, reason_code="C")
    assert most_severe([allow, reject, disarm, halt]) is disarm
    assert most_severe([]).action is Action.ALLOW
    assert most_severe([reject, Decision(action=Action.REJECT, reason_code="D")]) is reject


@pytest.mark.parametrize("seq", [0, 7, 99_999_999, 100_000_000])
@pytest.mark.parametrize("engine", ["MAIN", "EXP", "E2"])
def invariant_fast_client_order_ids_equal_the_canonical_ones(engine: str, seq: int) -> None:
    assert client_order_ids(engine, RUN)(seq) == client_order_id(engine, RUN, seq)


def fault_fast_client_order_ids_refuse_what_the_canonical_one_refuses() -> None:
    with pytest.raises(ValueError, match="engine id"):
        client_order_ids("main", RUN)
    with pytest.raises(ValueError, match="must be >= 0"):
        client_order_ids("MAIN", RUN)(-1)
