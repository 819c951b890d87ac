"""Engine settings rules: valid tokens, caps within the account, broker keys scoped per engine.

Rules (each violation carries its key path, e.g. ``engines.EXP.keys_env.api_key``):

- ``engine_id`` is an upper-case token and unique;
- ``allocation_cap`` is an exact decimal in (0, 1], and the caps of all engines sum to <= 1;
- ``keys_env.api_key`` / ``keys_env.api_secret`` are environment variable NAMES (never values)
  that end with ``_<ENGINE_ID>`` (``ALPACA_API_KEY_MAIN`` for MAIN), differ from each other and
  are not used by any other engine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mqk_isolation.errors import EngineSettingsError
from mqk_schemas import ENGINE_ID_PATTERN, EngineId, PositiveDecimal, SchemaError, to_decimal

__all__ = [
    "EngineSettings",
    "EngineViolation",
    "KeysEnv",
    "allocation_cap_violations",
    "engine_settings_violations",
    "validate_engine_settings",
]

_ENGINE_RE = re.compile(ENGINE_ID_PATTERN)
_ENV_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_MISSING = object()
_KEY_FIELDS = ("api_key", "api_secret")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KeysEnv(_Frozen):
    """Names of the environment variables holding one engine's broker credentials."""

    api_key: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    api_secret: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")


class EngineSettings(_Frozen):
    """The isolation-relevant part of an engine's settings (config section ``engine``)."""

    engine_id: EngineId
    allocation_cap: PositiveDecimal = Field(le=Decimal(1))
    keys_env: KeysEnv


class EngineViolation(_Frozen):
    """One broken rule: where (key path), which rule (reason code) and a message."""

    path: str
    reason_code: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    message: str


def _get(item: Any, name: str) -> Any:
    if isinstance(item, Mapping):
        return item.get(name, _MISSING)
    return getattr(item, name, _MISSING)


def _entries(engines: Iterable[Any] | Mapping[str, Any]) -> list[tuple[str, str | None, Any]]:
    """(path prefix, mapping key or None, settings) for every engine given."""
    out: list[tuple[str, str | None, Any]] = []
    if isinstance(engines, Mapping):
        for key, item in engines.items():
            out.append((f"engines.{key}", str(key), item))
        return out
    for index, item in enumerate(engines):
        engine_id = _get(item, "engine_id")
        label = engine_id if isinstance(engine_id, str) and engine_id else f"[{index}]"
        out.append((f"engines.{label}", None, item))
    return out


class _Collector:
    def __init__(self) -> None:
        self.items: list[EngineViolation] = []

    def add(self, path: str, code: str, message: str) -> None:
        self.items.append(EngineViolation(path=path, reason_code=code, message=message))


def _check_engine_id(
    prefix: str, key: str | None, item: Any, seen: set[str], out: _Collector
) -> str | None:
    path = f"{prefix}.engine_id"
    engine_id = _get(item, "engine_id")
    if engine_id is _MISSING:
        out.add(path, "ENGINE_ID_MISSING", "missing")
        return None
    if not isinstance(engine_id, str) or not _ENGINE_RE.match(engine_id):
        out.add(path, "ENGINE_ID_INVALID", f"{engine_id!r} is not an upper-case engine token")
        return None
    if key is not None and key != engine_id:
        out.add(path, "ENGINE_ID_MISMATCH", f"{engine_id} is listed under key {key}")
    if engine_id in seen:
        out.add(path, "ENGINE_ID_DUPLICATE", f"engine {engine_id} is declared more than once")
    seen.add(engine_id)
    return engine_id


def _check_cap(prefix: str, item: Any, out: _Collector) -> Decimal | None:
    path = f"{prefix}.allocation_cap"
    raw = _get(item, "allocation_cap")
    if raw is _MISSING:
        out.add(path, "ALLOCATION_CAP_MISSING", "missing")
        return None
    try:
        cap = to_decimal(raw)
    except SchemaError as exc:
        out.add(path, "ALLOCATION_CAP_INEXACT", str(exc))
        return None
    if not Decimal(0) < cap <= Decimal(1):
        out.add(path, "ALLOCATION_CAP_OUT_OF_RANGE", f"{cap} must be in (0, 1] of account equity")
        return None
    return cap


def _check_keys(prefix: str, engine_id: str | None, item: Any, out: _Collector) -> dict[str, str]:
    """Per-engine key rules; returns {path: variable name} of the well-formed names."""
    names: dict[str, str] = {}
    keys_env = _get(item, "keys_env")
    if keys_env is _MISSING:
        out.add(f"{prefix}.keys_env", "KEY_ENV_MISSING", "missing")
        return names
    for field in _KEY_FIELDS:
        path = f"{prefix}.keys_env.{field}"
        name = _get(keys_env, field)
        if name is _MISSING:
            out.add(path, "KEY_ENV_MISSING", "missing")
            continue
        if not isinstance(name, str) or not _ENV_NAME_RE.match(name):
            # the value is not echoed: it may be a secret pasted where a name belongs
            out.add(
                path,
                "KEY_ENV_NAME_INVALID",
                "must name an environment variable (upper-case letters, digits, underscores)",
            )
            continue
        if engine_id is not None and not name.endswith(f"_{engine_id}"):
            out.add(
                path,
                "KEY_ENV_WRONG_TOKEN",
                f"{name} does not carry engine token {engine_id} (expected a name ending "
                f"in _{engine_id}, e.g. ALPACA_{field.upper()}_{engine_id})",
            )
        names[path] = name
    key_path, secret_path = (f"{prefix}.keys_env.{field}" for field in _KEY_FIELDS)
    if key_path in names and names.get(secret_path) == names[key_path]:
        out.add(secret_path, "KEY_ENV_KEY_IS_SECRET", "api_key and api_secret name one variable")
    return names


def engine_settings_violations(
    engines: Iterable[Any] | Mapping[str, Any],
) -> tuple[EngineViolation, ...]:
    """Every isolation rule the engines' settings break, in a stable order (empty when valid).

    ``engines`` is an iterable of engine settings (mappings, :class:`EngineSettings` or any object
    with ``engine_id``, ``allocation_cap`` and ``keys_env.api_key/api_secret``; other fields are
    ignored) or a mapping ``engine_id -> settings``.
    """
    out = _Collector()
    seen: set[str] = set()
    caps: list[tuple[str, Decimal]] = []
    users: dict[str, list[tuple[str, str]]] = {}  # variable -> [(path, engine label)]
    for prefix, key, item in _entries(engines):
        engine_id = _check_engine_id(prefix, key, item, seen, out)
        cap = _check_cap(prefix, item, out)
        if cap is not None:
            caps.append((prefix.removeprefix("engines."), cap))
        for path, name in _check_keys(prefix, engine_id, item, out).items():
            users.setdefault(name, []).append((path, prefix.removeprefix("engines.")))
    for name, uses in users.items():
        labels = sorted({label for _, label in uses})
        if len(labels) < 2:
            continue
        for path, label in uses:
            others = ", ".join(other for other in labels if other != label)
            out.add(path, "KEY_ENV_SHARED", f"{name} is also used by engine(s) {others}")
    _check_cap_sum(caps, out)
    return tuple(out.items)


def _check_cap_sum(caps: list[tuple[str, Decimal]], out: _Collector) -> None:
    total = sum((cap for _, cap in caps), Decimal(0))
    if total > 1:
        parts = " + ".join(f"{label} {cap}" for label, cap in caps)
        out.add(
            "engines",
            "ALLOCATION_CAPS_EXCEED_ACCOUNT",
            f"allocation caps sum to {total} ({parts}); the account holds at most 1",
        )


def allocation_cap_violations(caps: Mapping[str, Any]) -> tuple[EngineViolation, ...]:
    """The cap rules alone over ``engine_id -> allocation_cap`` (tokens, range, sum <= 1)."""
    out = _Collector()
    valid: list[tuple[str, Decimal]] = []
    for engine_id, raw in caps.items():
        if not isinstance(engine_id, str) or not _ENGINE_RE.match(engine_id):
            out.add(f"engines.{engine_id}", "ENGINE_ID_INVALID", "not an upper-case engine token")
            continue
        cap = _check_cap(f"engines.{engine_id}", {"allocation_cap": raw}, out)
        if cap is not None:
            valid.append((engine_id, cap))
    _check_cap_sum(valid, out)
    return tuple(out.items)


def validate_engine_settings(
    engines: Iterable[Any] | Mapping[str, Any],
) -> tuple[EngineSettings, ...]:
    """Check every rule at load and return the settings as :class:`EngineSettings`.

    Raises :class:`EngineSettingsError` listing every violation with its key path; nothing is
    returned unless all engines pass together.
    """
    if not isinstance(engines, Mapping):
        engines = list(engines)
    violations = engine_settings_violations(engines)
    if violations:
        raise EngineSettingsError(violations)
    result = []
    for _, _, item in _entries(engines):
        keys_env = _get(item, "keys_env")
        result.append(
            EngineSettings(
                engine_id=_get(item, "engine_id"),
                allocation_cap=to_decimal(_get(item, "allocation_cap")),
                keys_env=KeysEnv(
                    api_key=_get(keys_env, "api_key"), api_secret=_get(keys_env, "api_secret")
                ),
            )
        )
    return tuple(result)
