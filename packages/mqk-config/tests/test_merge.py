"""deep_merge: maps merge recursively, lists and scalars are replaced, inputs untouched."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mqk_config import deep_merge

_leaf = st.one_of(st.integers(), st.text(max_size=3), st.booleans(), st.none())
_tree = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from("abcd"), inner, max_size=4)
    ),
    max_leaves=12,
)
_maps = st.dictionaries(st.sampled_from("abcd"), _tree, max_size=4)


@pytest.mark.parametrize(
    ("base", "override", "expected"),
    [
        ({"a": 1}, {"b": 2}, {"a": 1, "b": 2}),
        ({"a": 1}, {"a": 2}, {"a": 2}),
        ({"r": {"x": 1, "y": 2}}, {"r": {"y": 3}}, {"r": {"x": 1, "y": 3}}),
        (
            {"r": {"s": {"x": 1, "y": 2}, "t": 0}},
            {"r": {"s": {"y": 9}}},
            {"r": {"s": {"x": 1, "y": 9}, "t": 0}},
        ),
        ({"l": [1, 2, 3]}, {"l": [4]}, {"l": [4]}),
        ({"l": [{"a": 1, "b": 2}]}, {"l": [{"a": 5}]}, {"l": [{"a": 5}]}),
        ({"l": [1, 2]}, {"l": []}, {"l": []}),
        ({"m": {"x": 1}}, {"m": 5}, {"m": 5}),
        ({"m": 5}, {"m": {"x": 1}}, {"m": {"x": 1}}),
        ({"m": {"x": 1}}, {"m": None}, {"m": None}),
        ({"m": {"x": 1}}, {"m": {}}, {"m": {"x": 1}}),
    ],
)
def unit_maps_merge_deeply_and_lists_are_replaced(
    base: dict[str, Any], override: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert deep_merge(base, override) == expected


@given(_maps, _maps)
def invariant_merge_never_mutates_its_inputs_nor_shares_their_containers(
    base: dict[str, Any], override: dict[str, Any]
) -> None:
    base_before, override_before = copy.deepcopy(base), copy.deepcopy(override)
    merged = deep_merge(base, override)
    assert base == base_before
    assert override == override_before
    for key in merged:
        if isinstance(merged[key], dict | list):
            assert merged[key] is not base.get(key)
            assert merged[key] is not override.get(key)


@given(_maps, _maps)
def invariant_every_override_key_wins_and_base_only_keys_survive(
    base: dict[str, Any], override: dict[str, Any]
) -> None:
    merged = deep_merge(base, override)
    assert set(merged) == set(base) | set(override)
    for key, value in override.items():
        if not (isinstance(value, dict) and isinstance(base.get(key), dict)):
            assert merged[key] == value
    for key in set(base) - set(override):
        assert merged[key] == base[key]


@given(_maps)
def invariant_merging_with_empty_or_itself_changes_nothing(tree: dict[str, Any]) -> None:
    assert deep_merge({}, tree) == tree
    assert deep_merge(tree, {}) == tree
    assert deep_merge(tree, tree) == tree
