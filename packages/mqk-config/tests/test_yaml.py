"""Exact YAML parsing: numbers from their text, YAML 1.2 core scalars, errors with file + line."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from mqk_config import ConfigFileError, parse_yaml_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v: 0.1", Decimal("0.1")),
        ("v: 0.10", Decimal("0.10")),
        ("v: 1.0", Decimal("1.0")),
        ("v: -2.5", Decimal("-2.5")),
        ("v: .5", Decimal("0.5")),
        ("v: 1e-3", Decimal("0.001")),
        ("v: 12345678901234567890.123456789", Decimal("12345678901234567890.123456789")),
        ("v: 100", 100),
        ("v: -7", -7),
        ("v: 0", 0),
        ("v: true", True),
        ("v: False", False),
        ("v: ~", None),
        ("v: null", None),
        ("v:", None),
        # YAML 1.1 traps stay strings under the 1.2 core schema
        ("v: off", "off"),
        ("v: yes", "yes"),
        ("v: on", "on"),
        ("v: 0755", "0755"),
        ("v: 10:30", "10:30"),
        ("v: 2024-01-01", "2024-01-01"),
        ("v: 0x1F", "0x1F"),
        ("v: '0.1'", "0.1"),
        ("v: [1, 2.50, x]", [1, Decimal("2.50"), "x"]),
    ],
)
def unit_scalars_parse_exactly_under_yaml_1_2_core_rules(text: str, expected: Any) -> None:
    value = parse_yaml_text(text, "t.yaml")["v"]
    assert value == expected
    assert type(value) is type(expected)


def invariant_no_binary_float_ever_comes_out_of_the_loader() -> None:
    data = parse_yaml_text("a: 0.1\nb: [1.5, {c: 2.25e2}]\nd: !!float 3\n", "t.yaml")

    def walk(value: Any) -> None:
        assert not isinstance(value, float), value
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        if isinstance(value, list):
            for item in value:
                walk(item)

    walk(data)
    assert data["d"] == Decimal("3")


def unit_anchors_and_merge_keys_work_and_explicit_keys_win() -> None:
    data = parse_yaml_text("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n", "t.yaml")
    assert data["m"] == {"x": 1, "y": 3}


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("a: 1\nb: 2\na: 3\n", 3, "duplicate key 'a'"),
        ("a:\n  b: 1\n\tc: 2\n", 3, "cannot start any token"),
        ("a: [1, 2\nb: 3\n", 2, "expected ','"),
        ("a: 1\n1: x\n", 2, "is not a string"),
        ("- 1\n- 2\n", 1, "must be a mapping"),
        ("a: .inf\n", 1, "not a finite decimal number"),
        ("a: !!float .nan\n", 1, "not a finite decimal number"),
        ("a: b: c\n", 1, "mapping values are not allowed"),
    ],
)
def fault_malformed_yaml_names_file_and_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(ConfigFileError) as info:
        parse_yaml_text(text, "config/engines/BAD.yaml")
    error = info.value
    assert error.path == "config/engines/BAD.yaml"
    assert error.line == line
    assert fragment in error.problem
    assert str(error).startswith(f"config/engines/BAD.yaml, line {line}")
    assert error.reason_code == "CONFIG_FILE_ERROR"


@pytest.mark.parametrize(
    "text", ["a: !!binary aGVsbG8=\n", "a: !!timestamp 2024-01-01\n", "a: !!set {x}\n"]
)
def fault_non_plain_values_are_refused_with_their_key(text: str) -> None:
    with pytest.raises(ConfigFileError, match=r"a: a \w+ value is not allowed"):
        parse_yaml_text(text, "t.yaml")


def unit_empty_document_is_an_empty_layer() -> None:
    assert parse_yaml_text("# only a comment\n", "t.yaml") == {}


def fault_several_documents_in_one_layer_are_refused() -> None:
    with pytest.raises(ConfigFileError, match="several YAML documents"):
        parse_yaml_text("a: 1\n---\nb: 2\n", "t.yaml")
