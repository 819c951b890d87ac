"""Load the layered config: default -> env -> engine -> risk profile -> stress -> overrides."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from mqk_config._canonical import canonical_config_json
from mqk_config._checks import cross_field_problems
from mqk_config._effective import OVERRIDES_SOURCE, AppliedLayer, EffectiveConfig
from mqk_config._merge import deep_merge, format_path, lookup_path
from mqk_config._provenance import LayerData, layer_of
from mqk_config._restore import config_from_canonical_json
from mqk_config._secrets import detect_secrets
from mqk_config._validate import missing_defaults, validate_settings
from mqk_config._yaml import load_yaml_file
from mqk_config.errors import (
    ConfigFileError,
    ConfigProblem,
    ConfigSecretDetected,
    ConfigValidationError,
    UnknownLayerError,
)
from mqk_schemas import ENGINE_ID_PATTERN

__all__ = ["available_layers", "load_config"]

DEFAULT_FILE = "default.yaml"
_LAYER_DIRS = {"env": "env", "engine": "engines", "risk": "risk", "stress": "stress"}
_KIND_WORDS = {
    "env": "environment",
    "engine": "engine",
    "risk": "risk profile",
    "stress": "stress profile",
}
_NAME_PATTERNS = {
    "env": re.compile(r"^[a-z][a-z0-9_]{0,63}$"),
    "engine": re.compile(ENGINE_ID_PATTERN),
    "risk": re.compile(r"^[a-z][a-z0-9_]{0,63}$"),
    "stress": re.compile(r"^[a-z][a-z0-9_]{0,63}$"),
}


def available_layers(config_dir: Path | str, kind: str) -> list[str]:
    """Names of the layers of ``kind`` (``env``, ``engine``, ``risk``, ``stress``), sorted."""
    directory = Path(config_dir) / _LAYER_DIRS[kind]
    if not directory.is_dir():
        return []
    return sorted(p.stem for p in directory.glob("*.yaml") if p.is_file())


def _layer_file(config_dir: Path, kind: str, name: str) -> Path:
    directory = config_dir / _LAYER_DIRS[kind]
    path = directory / f"{name}.yaml"
    valid = bool(_NAME_PATTERNS[kind].match(name))
    if not valid or not path.is_file():
        raise UnknownLayerError(
            _KIND_WORDS[kind], name, directory, available_layers(config_dir, kind), valid=valid
        )
    return path


def _risk_profile_name(merged: Mapping[str, Any], layers: Sequence[LayerData]) -> str:
    found, name = lookup_path(merged, ("engine", "risk_profile"))
    if not found or not isinstance(name, str):
        path = ("engine", "risk_profile")
        raise ConfigValidationError(
            [
                ConfigProblem(
                    format_path(path),
                    "must name a risk profile (a file under risk/)",
                    layers[0].source if not found else layer_of(layers, path),
                )
            ]
        )
    return name


def _structure_problems(
    engine_layer: LayerData, risk_layer: LayerData, engine: str
) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    found, engine_id = lookup_path(engine_layer.data, ("engine", "engine_id"))
    if not found:
        problems.append(
            ConfigProblem(
                "engine.engine_id",
                f"the engine layer must set it (to {engine!r})",
                engine_layer.source,
            )
        )
    elif engine_id != engine:
        problems.append(
            ConfigProblem(
                "engine.engine_id",
                f"is {engine_id!r} but the layer is engine {engine!r}",
                engine_layer.source,
            )
        )
    problems.extend(
        ConfigProblem(key, "a risk profile layer may only set the risk section", risk_layer.source)
        for key in risk_layer.data
        if key != "risk"
    )
    return problems


_CANONICAL_SOURCE = "<canonical config>"
"""The source named if the canonical JSON of a loaded config failed to validate again."""


def load_config(
    config_dir: Path | str,
    *,
    engine: str,
    env: str = "dev",
    stress: Sequence[str] = (),
    overrides: Mapping[str, Any] | None = None,
) -> EffectiveConfig:
    """Load, merge, check and hash the config of ``engine`` in environment ``env``.

    Layers, later overriding earlier: ``default.yaml`` -> ``env/<env>.yaml`` ->
    ``engines/<engine>.yaml`` -> ``risk/<engine.risk_profile>.yaml`` -> each
    ``stress/<name>.yaml`` in the order given -> ``overrides`` (a nested mapping, e.g. from
    command-line parameters). Maps merge deeply, lists are replaced.

    Raises :class:`ConfigFileError`, :class:`UnknownLayerError`, :class:`ConfigSecretDetected`
    or :class:`ConfigValidationError` (all :class:`ConfigError`); nothing is returned half-built.
    """
    root = Path(config_dir)
    if not root.is_dir():
        raise ConfigFileError(root, "config directory not found")
    stress = tuple(stress)
    duplicated = sorted({name for name in stress if stress.count(name) > 1})
    if duplicated:
        raise ConfigValidationError(
            [
                ConfigProblem("stress", f"profile {name!r} listed more than once", "<arguments>")
                for name in duplicated
            ]
        )
    default_path = root / DEFAULT_FILE
    if not default_path.is_file():
        raise ConfigFileError(default_path, "missing default layer (the complete list of settings)")

    applied = [AppliedLayer("default", "default", str(default_path))]
    applied.append(AppliedLayer("env", env, str(_layer_file(root, "env", env))))
    applied.append(AppliedLayer("engine", engine, str(_layer_file(root, "engine", engine))))
    layers = [LayerData(a.source, load_yaml_file(Path(a.source))) for a in applied]

    head: dict[str, Any] = {}
    for layer in layers:
        head = deep_merge(head, layer.data)
    risk_profile = _risk_profile_name(head, layers)
    applied.append(AppliedLayer("risk", risk_profile, str(_layer_file(root, "risk", risk_profile))))
    applied.extend(
        AppliedLayer("stress", name, str(_layer_file(root, "stress", name))) for name in stress
    )
    layers.extend(LayerData(a.source, load_yaml_file(Path(a.source))) for a in applied[3:])
    if overrides:
        applied.append(AppliedLayer("overrides", "overrides", OVERRIDES_SOURCE))
        layers.append(LayerData(OVERRIDES_SOURCE, deep_merge({}, overrides)))

    findings = [f for layer in layers for f in detect_secrets(layer.data, layer.source)]
    if findings:
        raise ConfigSecretDetected(findings)

    problems = missing_defaults(layers[0])
    problems.extend(_structure_problems(layers[2], layers[3], engine))
    merged: dict[str, Any] = {}
    for layer in layers:
        merged = deep_merge(merged, layer.data)
    settings, schema_problems = validate_settings(merged, layers)
    problems.extend(p for p in schema_problems if p not in problems)
    if settings is not None:
        reported = {p.path for p in problems}
        problems.extend(
            ConfigProblem(format_path(path), message, layer_of(layers, path))
            for path, message in cross_field_problems(
                settings, engine_id=engine, risk_profile=risk_profile
            )
            if format_path(path) not in reported
        )
    if problems or settings is None:
        raise ConfigValidationError(problems)

    # the settings exactly as a replay rebuilds them from the canonical JSON: a decimal
    # written "0.10" in a layer is 0.1 there, and one config hash must mean one behaviour down
    # to every decimal's exponent (peak * (1 - 0.10) and peak * (1 - 0.1) print differently)
    restored = config_from_canonical_json(
        canonical_config_json(settings), source=_CANONICAL_SOURCE, env=env, stress=stress
    )
    return replace(restored, layers=tuple(applied), engine_id=engine)
