"""Rebuild an effective config from its canonical JSON (a run manifest), with the same hash."""

from __future__ import annotations

from collections.abc import Sequence

from mqk_config._canonical import canonical_config_json
from mqk_config._checks import cross_field_problems
from mqk_config._effective import AppliedLayer, EffectiveConfig
from mqk_config._merge import format_path
from mqk_config._provenance import LayerData
from mqk_config._secrets import detect_secrets
from mqk_config._validate import validate_settings
from mqk_config._yaml import parse_yaml_text
from mqk_config.errors import ConfigProblem, ConfigSecretDetected, ConfigValidationError
from mqk_schemas import sha256_hex

__all__ = ["config_from_canonical_json"]


def config_from_canonical_json(
    text: str, *, source: str, env: str, stress: Sequence[str] = ()
) -> EffectiveConfig:
    """The :class:`EffectiveConfig` whose canonical JSON is ``text``.

    The text is validated exactly like a merged set of layers (strict schema, secrets, cross-field
    rules) and must already be canonical, so the rebuilt config has the very same ``config_hash``.
    ``source`` names where the text came from in error messages.
    """
    data = parse_yaml_text(text, source)
    findings = detect_secrets(data, source)
    if findings:
        raise ConfigSecretDetected(findings)
    layer = LayerData(source, data)
    settings, problems = validate_settings(data, [layer])
    if settings is None or problems:
        raise ConfigValidationError(problems)
    engine_id = settings.engine.engine_id
    cross = [
        ConfigProblem(format_path(path), message, source)
        for path, message in cross_field_problems(
            settings, engine_id=engine_id, risk_profile=settings.engine.risk_profile
        )
    ]
    if cross:
        raise ConfigValidationError(cross)
    canonical = canonical_config_json(settings)
    if canonical != text.strip():
        raise ConfigValidationError(
            [ConfigProblem("<root>", "text is not the canonical JSON of a config", source)]
        )
    return EffectiveConfig(
        settings=settings,
        canonical_json=canonical,
        config_hash=sha256_hex(canonical),
        layers=(AppliedLayer("restored", "canonical", source),),
        engine_id=engine_id,
        env=env,
        stress=tuple(stress),
    )
