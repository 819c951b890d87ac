"""Exact YAML: numbers become ``int`` or ``Decimal`` (from their text), never binary floats.

The loader follows the YAML 1.2 core schema rather than PyYAML's YAML 1.1 defaults, so that
``off``/``yes`` stay strings (``pdt.mode: off``), ``0755`` is not octal, ``10:30`` is not a
sexagesimal integer and dates stay strings. Duplicate keys and non-string keys are refused with
their line. Only plain data comes out: mappings with string keys, lists, strings, ints,
Decimals, bools and null.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode

from mqk_config.errors import ConfigFileError

__all__ = ["load_yaml_file", "parse_yaml_text", "parse_yaml_value"]

_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")
_FLOAT = re.compile(
    r"^[-+]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$"
    r"|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$"
)
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_MERGE = re.compile(r"^<<$")

_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _ExactLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core scalars, Decimal floats and strict mappings."""

    yaml_implicit_resolvers: dict[Any, Any] = {}  # noqa: RUF012 (PyYAML class-level registry)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Build a mapping, refusing duplicate and non-string keys (``<<`` merges allowed)."""
        seen: set[str] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            if not isinstance(key_node, ScalarNode):
                raise ConstructorError(
                    None, None, "a mapping key must be a plain string", key_node.start_mark
                )
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise ConstructorError(
                    None,
                    None,
                    f"key {key_node.value!r} is not a string (quote it)",
                    key_node.start_mark,
                )
            if key in seen:
                raise ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _construct_int(loader: yaml.SafeLoader, node: Node) -> int:
    assert isinstance(node, ScalarNode)
    text = str(node.value)
    if not _INT.match(text):
        raise ConstructorError(None, None, "not a decimal integer", node.start_mark)
    return int(text)


def _construct_decimal(loader: yaml.SafeLoader, node: Node) -> Decimal:
    assert isinstance(node, ScalarNode)
    text = str(node.value)
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise ConstructorError(
            None, None, "not a finite decimal number (inf and nan are refused)", node.start_mark
        )
    return value


def _construct_bool(loader: yaml.SafeLoader, node: Node) -> bool:
    assert isinstance(node, ScalarNode)
    return str(node.value).lower() == "true"


for _tag, _regexp, _first in (
    (_BOOL_TAG, _BOOL, list("tTfF")),
    (_INT_TAG, _INT, list("-+0123456789")),
    (_FLOAT_TAG, _FLOAT, list("-+0123456789.")),
    (_NULL_TAG, _NULL, ["~", "n", "N", ""]),
    (_MERGE_TAG, _MERGE, ["<"]),
):
    _ExactLoader.add_implicit_resolver(_tag, _regexp, _first)
_ExactLoader.add_constructor(_INT_TAG, _construct_int)
_ExactLoader.add_constructor(_FLOAT_TAG, _construct_decimal)
_ExactLoader.add_constructor(_BOOL_TAG, _construct_bool)

_PLAIN_SCALARS = (str, bool, int, Decimal)


def _check_plain(value: Any, source: str, path: str) -> None:
    if value is None or isinstance(value, _PLAIN_SCALARS):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _check_plain(item, source, f"{path}.{key}" if path else str(key))
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_plain(item, source, f"{path}[{index}]")
        return
    raise ConfigFileError(
        source,
        f"{path or 'document'}: a {type(value).__name__} value is not allowed in config "
        "(use strings, integers, decimals, booleans, lists and mappings)",
    )


def parse_yaml_text(text: str, source: str) -> dict[str, Any]:
    """Parse one YAML document into a plain mapping; ``source`` names it in errors.

    An empty document is an empty mapping. Malformed YAML raises :class:`ConfigFileError` with
    the line and column (never the offending text, which might be a secret).
    """
    try:
        documents = list(yaml.load_all(text, Loader=_ExactLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "malformed YAML"
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        raise ConfigFileError(source, problem, line, column) from None
    except yaml.YAMLError as exc:
        raise ConfigFileError(source, f"malformed YAML ({type(exc).__name__})") from None
    if len(documents) > 1:
        raise ConfigFileError(source, "holds several YAML documents; a layer is one mapping")
    data = documents[0] if documents else None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigFileError(
            source, f"top level is a {type(data).__name__}; a layer must be a mapping", 1, 1
        )
    _check_plain(data, source, "")
    return data


def load_yaml_file(path: Path) -> dict[str, Any]:
    """Read and parse one layer file (UTF-8)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigFileError(path, "file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigFileError(path, f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigFileError(path, f"cannot be read ({exc.strerror})") from None
    return parse_yaml_text(text, str(path))


def parse_yaml_value(text: str, source: str) -> Any:
    """Parse one single-line YAML value (``10``, ``0.5``, ``true``, ``[1, 2]``, ``abc``) exactly."""
    if "\n" in text or "\r" in text:
        raise ConfigFileError(source, "a value must be on one line")
    return parse_yaml_text(f"value: {text}", source).get("value")
