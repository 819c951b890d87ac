"""Secret detection: config names environment variables, it never holds their values.

Every string (and every mapping key) of a layer is checked against known credential shapes
and a Shannon-entropy test for long random tokens. A finding carries the key path, the layer
and a masked hint that shows only the public shape of the value (``sk-…(redacted)``), never
the value itself.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mqk_config._merge import format_path
from mqk_config.errors import SecretFinding

__all__ = [
    "ENTROPY_MIN_LENGTH",
    "ENTROPY_THRESHOLD_BITS",
    "HEX_ENTROPY_THRESHOLD_BITS",
    "detect_secrets",
    "secret_kind",
    "shannon_entropy",
]

ENTROPY_MIN_LENGTH = 32
"""Tokens shorter than this are never judged by entropy alone."""

ENTROPY_THRESHOLD_BITS = 4.0
"""Bits per character at or above which a long mixed token is taken for a secret."""

HEX_ENTROPY_THRESHOLD_BITS = 3.0
"""The same for tokens made only of hex digits (their alphabet holds 16 symbols)."""


@dataclass(frozen=True, slots=True)
class _Shape:
    kind: str
    pattern: re.Pattern[str]
    hint: str


_SHAPES: tuple[_Shape, ...] = (
    _Shape(
        "PEM private key block",
        re.compile(r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----"),
        "-----BEGIN … PRIVATE KEY-----…(redacted)",
    ),
    _Shape("sk- API key", re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_\-]{16,}"), "sk-…(redacted)"),
    _Shape(
        "Stripe-style secret key",
        re.compile(r"(?<![A-Za-z0-9])[sr]k_(live|test)_[A-Za-z0-9]{16,}"),
        "sk_…(redacted)",
    ),
    _Shape(
        "AWS access key id",
        re.compile(r"(?<![A-Z0-9])(AKIA|ASIA)[0-9A-Z]{16}(?![A-Z0-9])"),
        "AKIA…(redacted)",
    ),
    _Shape(
        "GitHub token",
        re.compile(r"(?<![A-Za-z0-9])(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})"),
        "ghp_…(redacted)",
    ),
    _Shape(
        "Slack token",
        re.compile(r"(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,}"),
        "xox…(redacted)",
    ),
)

_TOKEN = re.compile(r"[A-Za-z0-9+/=_\-]{" + str(ENTROPY_MIN_LENGTH) + ",}")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_ENV_VAR_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
_SEPARATORS = re.compile(r"[/_\-+=]")
_WORDISH = re.compile(r"^(?:(?:[A-Z]?[a-z]+)+[0-9]{0,4}|[A-Z]+[0-9]{0,4}|[0-9]+)?$")


def shannon_entropy(text: str) -> float:
    """Shannon entropy of ``text`` in bits per character (0.0 for an empty string)."""
    if not text:
        return 0.0
    counts = Counter(text)
    total = len(text)
    return -sum((n / total) * math.log2(n / total) for n in counts.values())


def _high_entropy(token: str) -> bool:
    if _ENV_VAR_NAME.match(token):
        return False
    if all(_WORDISH.match(part) for part in _SEPARATORS.split(token)):
        return False  # words and numbers joined by separators: a name or a path, not a key
    if _HEX.match(token):
        return shannon_entropy(token) >= HEX_ENTROPY_THRESHOLD_BITS
    return shannon_entropy(token) >= ENTROPY_THRESHOLD_BITS


def secret_kind(text: str) -> tuple[str, str] | None:
    """Return ``(kind, masked_hint)`` when ``text`` looks like a secret, else None.

    Environment variable NAMES (``ALPACA_API_KEY_MAIN``) are not secrets and pass.
    """
    for shape in _SHAPES:
        if shape.pattern.search(text):
            return shape.kind, shape.hint
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if _high_entropy(token):
            return "high-entropy token", f"…(redacted, {len(token)} chars)"
    return None


def _walk(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _walk(item, (*path, str(key)))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _walk(item, (*path, index))


def _keys(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield (*path, str(key)), str(key)
            yield from _keys(item, (*path, str(key)))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _keys(item, (*path, index))


def _masked_path(path: tuple[str | int, ...]) -> str:
    return format_path(
        ["<redacted key>" if isinstance(p, str) and secret_kind(p) is not None else p for p in path]
    )


def detect_secrets(data: Mapping[str, Any], layer: str) -> list[SecretFinding]:
    """Every secret-looking value (or key) in ``data``, in document order; ``layer`` names it.

    The findings hold the key path, the layer, the kind of secret and a masked hint, so they
    can be printed and logged safely.
    """
    findings: list[SecretFinding] = []
    for path, key in _keys(data, ()):
        found = secret_kind(key)
        if found is not None:
            kind, hint = found
            findings.append(SecretFinding(_masked_path(path), layer, f"{kind} (as a key)", hint))
    for path, text in _walk(data, ()):
        found = secret_kind(text)
        if found is not None:
            kind, hint = found
            findings.append(SecretFinding(_masked_path(path), layer, kind, hint))
    return findings
