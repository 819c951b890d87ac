"""Secret detection: loading aborts with CONFIG_SECRET_DETECTED and never shows the secret."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from mqk_config import (
    ConfigFileError,
    ConfigSecretDetected,
    SecretFinding,
    detect_secrets,
    load_config,
    secret_kind,
)

# Fake secrets, assembled at run time so that no credential-shaped literal sits in the repo.
_B64 = base64.b64encode(hashlib.sha256(b"mqk-fake-secret").digest()).decode()
_HEX = hashlib.sha1(b"mqk-fake-secret", usedforsecurity=False).hexdigest()
_PEM_BODY = "MIIEowIBAAKCAQEA" + _B64
SECRETS: dict[str, tuple[str, str, str]] = {
    # name: (secret text, kind, public hint prefix)
    "sk": ("sk-" + "Zx81" * 6, "sk- API key", "sk-…(redacted)"),
    "stripe": ("sk_" + "live_" + "Q9w8" * 5, "Stripe-style secret key", "sk_…(redacted)"),
    "aws": ("AKIA" + "IOSFODNN7" + "EXAMPLE", "AWS access key id", "AKIA…(redacted)"),
    "pem": (
        "-----BEGIN RSA " + "PRIVATE KEY-----\n" + _PEM_BODY + "\n-----END RSA PRIVATE KEY-----",
        "PEM private key block",
        "-----BEGIN … PRIVATE KEY-----…(redacted)",
    ),
    "pem_openssh": (
        "-----BEGIN OPENSSH " + "PRIVATE KEY-----\n" + _PEM_BODY,
        "PEM private key block",
        "-----BEGIN … PRIVATE KEY-----…(redacted)",
    ),
    "github": ("ghp_" + "a1B2c3D4e5" * 4, "GitHub token", "ghp_…(redacted)"),
    "github_pat": ("github_" + "pat_" + "11AB" * 8, "GitHub token", "ghp_…(redacted)"),
    "slack": ("xoxb-" + "2048-9" * 4, "Slack token", "xox…(redacted)"),
    "entropy_b64": (_B64, "high-entropy token", f"…(redacted, {len(_B64)} chars)"),
    "entropy_hex": (_HEX, "high-entropy token", f"…(redacted, {len(_HEX)} chars)"),
    "embedded": (
        "Bearer " + "sk-" + "Zx81" * 6 + " trailing",
        "sk- API key",
        "sk-…(redacted)",
    ),
}

PLACES = [
    ("engine.keys_env.api_key", "engine:\n  keys_env:\n    api_key: {v}\n"),
    ("broker.account_id", "broker:\n  account_id: {v}\n"),
    (
        "engine.strategies[0].params.token",
        "engine:\n  strategies:\n    - name: x\n      params:\n        token: {v}\n",
    ),
]


def _yaml_scalar(text: str) -> str:
    """A YAML double-quoted scalar holding ``text`` (newlines escaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _assert_not_leaked(secret: str, text: str) -> None:
    assert secret not in text
    body = secret.split("-----")[2] if secret.startswith("-----") else secret
    for start in range(len(body) - 8):
        window = body[start : start + 8]
        if window.strip() and not window.startswith(
            ("sk-", "sk_", "AKIA", "ghp_", "github_", "xox")
        ):
            assert window not in text, window


@pytest.mark.parametrize("name", sorted(SECRETS))
@pytest.mark.parametrize(("path", "template"), PLACES)
def fault_secret_in_a_layer_file_aborts_with_path_layer_and_masked_hint(
    config_copy: Path,
    write_layer: Callable[[str, str], Path],
    name: str,
    path: str,
    template: str,
) -> None:
    secret, kind, hint = SECRETS[name]
    written = write_layer("stress/leak.yaml", template.format(v=_yaml_scalar(secret)))
    with pytest.raises(ConfigSecretDetected) as info:
        load_config(config_copy, engine="MAIN", stress=["leak"])
    error = info.value
    assert error.reason_code == "CONFIG_SECRET_DETECTED"
    assert error.findings == (SecretFinding(path, str(written), kind, hint),)
    message = str(error)
    assert message.startswith("CONFIG_SECRET_DETECTED")
    assert path in message
    assert str(written) in message
    assert hint in message
    _assert_not_leaked(secret, message)
    _assert_not_leaked(secret, repr(error.findings))


def fault_secret_overridden_by_a_later_layer_still_aborts(
    config_copy: Path, write_layer: Callable[[str, str], Path]
) -> None:
    secret = SECRETS["aws"][0]
    env = write_layer("env/dev.yaml", f"broker:\n  account_id: {secret}\n")
    with pytest.raises(ConfigSecretDetected) as info:
        load_config(config_copy, engine="MAIN", overrides={"broker": {"account_id": "PA-1-2345"}})
    assert [(f.path, f.layer) for f in info.value.findings] == [("broker.account_id", str(env))]


def fault_secret_in_overrides_is_detected(shipped_config: Path) -> None:
    secret = SECRETS["github"][0]
    with pytest.raises(ConfigSecretDetected) as info:
        load_config(
            shipped_config,
            engine="MAIN",
            overrides={"engine": {"keys_env": {"api_secret": secret}}},
        )
    assert [(f.path, f.layer) for f in info.value.findings] == [
        ("engine.keys_env.api_secret", "<overrides>")
    ]
    _assert_not_leaked(secret, str(info.value))


def fault_secret_used_as_a_key_is_redacted_in_the_path() -> None:
    secret = SECRETS["sk"][0]
    findings = detect_secrets({"engine": {"params": {secret: 1}}}, "layer.yaml")
    assert findings == [
        SecretFinding(
            "engine.params.<redacted key>", "layer.yaml", "sk- API key (as a key)", "sk-…(redacted)"
        )
    ]


def fault_malformed_yaml_around_a_secret_does_not_echo_it(
    config_copy: Path, write_layer: Callable[[str, str], Path]
) -> None:
    secret = SECRETS["sk"][0]
    write_layer("stress/leak.yaml", f"execution:\n  seed: {secret}: [\n")
    with pytest.raises(ConfigFileError) as info:
        load_config(config_copy, engine="MAIN", stress=["leak"])
    assert info.value.line == 2
    _assert_not_leaked(secret, str(info.value))


@pytest.mark.parametrize(
    "text",
    [
        "ALPACA_API_KEY_MAIN",
        "ALPACA_API_SECRET_MAIN",
        "ALPACA_API_SECRET_MAIN_SECONDARY_ACCOUNT_PAPER_2",
        "PA-0000-1234",
        "ARM LIVE {last4} {daily_loss_limit}",
        "CONSERVATIVE_WORST_CASE",
        "examples/data/sample_daily_AAPL_MSFT_2015_2024.csv",
        "zscore_mean_reversion_with_a_rather_long_name_v2",
        "someVeryLongCamelCaseIdentifierNameForParameters",
        "https://paper-api.alpaca.markets/v2/orders",
        "2024-01-02T21:00:00Z",
        "sk-short",
        "task-force-alpha-bravo-charlie-delta-echo",
        "0" * 40,
    ],
)
def unit_environment_variable_names_and_ordinary_values_are_not_secrets(text: str) -> None:
    assert secret_kind(text) is None
    assert detect_secrets({"engine": {"keys_env": {"api_key": text}}}, "x.yaml") == []


def invariant_the_shipped_config_holds_no_secret(shipped_config: Path) -> None:
    from mqk_config import parse_yaml_text

    for path in sorted(shipped_config.rglob("*.yaml")):
        data = parse_yaml_text(path.read_text(encoding="utf-8"), str(path))
        assert detect_secrets(data, str(path)) == [], path
