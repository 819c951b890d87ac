"""mqk_config: layered configuration, canonical hash and secret detection.

``load_config(config_dir, engine="MAIN", env="dev", stress=("slippage_x2",))`` merges
``default.yaml`` -> ``env/<env>.yaml`` -> ``engines/<ENGINE>.yaml`` -> ``risk/<profile>.yaml``
-> ``stress/<name>.yaml`` ... -> explicit overrides, refuses secrets, validates strictly (every
problem named by key path and layer file) and returns an immutable :class:`EffectiveConfig`
with its canonical JSON and SHA-256 ``config_hash``.
"""

from mqk_config._canonical import canonical_config_json, config_hash
from mqk_config._effective import OVERRIDES_SOURCE, AppliedLayer, EffectiveConfig
from mqk_config._loader import available_layers, load_config
from mqk_config._merge import deep_merge, format_path
from mqk_config._models import (
    AmbiguityPolicy,
    ArmingSettings,
    BacktestSettings,
    BrokerSettings,
    DataSettings,
    EngineSettings,
    ExecutionSettings,
    KeysEnv,
    LatencyBars,
    OutlierPolicy,
    PartialFills,
    PdtMode,
    PdtSettings,
    ReconcileSettings,
    RejectStorm,
    RiskSettings,
    RuntimeSettings,
    Settings,
    StrategySpec,
)
from mqk_config._overrides import overrides_from_assignments
from mqk_config._render import render_config_text
from mqk_config._restore import config_from_canonical_json
from mqk_config._secrets import (
    ENTROPY_MIN_LENGTH,
    ENTROPY_THRESHOLD_BITS,
    HEX_ENTROPY_THRESHOLD_BITS,
    detect_secrets,
    secret_kind,
    shannon_entropy,
)
from mqk_config._validate import required_paths
from mqk_config._yaml import parse_yaml_text
from mqk_config.errors import (
    ConfigError,
    ConfigFileError,
    ConfigProblem,
    ConfigSecretDetected,
    ConfigValidationError,
    SecretFinding,
    UnknownLayerError,
)

__version__ = "0.1.0"

__all__ = [
    "ENTROPY_MIN_LENGTH",
    "ENTROPY_THRESHOLD_BITS",
    "HEX_ENTROPY_THRESHOLD_BITS",
    "OVERRIDES_SOURCE",
    "AmbiguityPolicy",
    "AppliedLayer",
    "ArmingSettings",
    "BacktestSettings",
    "BrokerSettings",
    "ConfigError",
    "ConfigFileError",
    "ConfigProblem",
    "ConfigSecretDetected",
    "ConfigValidationError",
    "DataSettings",
    "EffectiveConfig",
    "EngineSettings",
    "ExecutionSettings",
    "KeysEnv",
    "LatencyBars",
    "OutlierPolicy",
    "PartialFills",
    "PdtMode",
    "PdtSettings",
    "ReconcileSettings",
    "RejectStorm",
    "RiskSettings",
    "RuntimeSettings",
    "SecretFinding",
    "Settings",
    "StrategySpec",
    "UnknownLayerError",
    "__version__",
    "available_layers",
    "canonical_config_json",
    "config_from_canonical_json",
    "config_hash",
    "deep_merge",
    "detect_secrets",
    "format_path",
    "load_config",
    "overrides_from_assignments",
    "parse_yaml_text",
    "render_config_text",
    "required_paths",
    "secret_kind",
    "shannon_entropy",
]
