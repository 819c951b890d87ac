"""Exceptions raised by :mod:`mqk_config`.

::

    ConfigError                 base of every error raised here (reason_code CONFIG_ERROR)
    ├── UnknownLayerError       an env, engine, risk or stress layer that has no file
    ├── ConfigFileError         a layer file that cannot be read or is malformed YAML (file + line)
    ├── ConfigValidationError   the merged config breaks the schema or a cross-field rule;
    │                           ``.problems`` lists every (path, message, layer)
    └── ConfigSecretDetected    a value looks like a secret (reason_code CONFIG_SECRET_DETECTED);
                                the message names key path and layer, never the secret itself

Every error is raised before anything is returned, so a rejected config changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ConfigError",
    "ConfigFileError",
    "ConfigProblem",
    "ConfigSecretDetected",
    "ConfigValidationError",
    "SecretFinding",
    "UnknownLayerError",
]


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One validation problem: dotted key path, what is wrong, and the layer that set it."""

    path: str
    message: str
    layer: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} (layer {self.layer})"


@dataclass(frozen=True, slots=True)
class SecretFinding:
    """A secret-looking value: where it is and a masked hint; never the value itself."""

    path: str
    layer: str
    kind: str
    hint: str

    def __str__(self) -> str:
        return f"{self.path}: looks like a {self.kind} [{self.hint}] (layer {self.layer})"


class ConfigError(Exception):
    """Base class of every error raised by mqk_config."""

    reason_code: str = "CONFIG_ERROR"


class UnknownLayerError(ConfigError, LookupError):
    """A named layer (env, engine, risk profile, stress profile) has no file."""

    reason_code = "CONFIG_UNKNOWN_LAYER"

    def __init__(
        self, kind: str, name: str, directory: Path, available: Sequence[str], *, valid: bool = True
    ) -> None:
        self.kind = kind
        self.name = name
        self.directory = directory
        self.available = tuple(available)
        listed = ", ".join(self.available) if self.available else "none"
        why = f"no {directory / (name + '.yaml')}" if valid else "not a valid layer name"
        super().__init__(f"unknown {kind} {name!r}: {why} (available: {listed})")


class ConfigFileError(ConfigError, ValueError):
    """A layer file is missing, unreadable or malformed; names the file and, if known, the line."""

    reason_code = "CONFIG_FILE_ERROR"

    def __init__(
        self, path: Path | str, problem: str, line: int | None = None, column: int | None = None
    ) -> None:
        self.path = str(path)
        self.problem = problem
        self.line = line
        self.column = column
        where = self.path
        if line is not None:
            where += f", line {line}"
            if column is not None:
                where += f", column {column}"
        super().__init__(f"{where}: {problem}")


class ConfigValidationError(ConfigError, ValueError):
    """The merged config breaks the schema or a cross-field rule; every problem is listed."""

    reason_code = "CONFIG_INVALID"

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems: tuple[ConfigProblem, ...] = tuple(problems)
        count = len(self.problems)
        head = f"invalid configuration ({count} problem{'s' if count != 1 else ''})"
        super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))


class ConfigSecretDetected(ConfigError, ValueError):  # noqa: N818 (name fixed by the issue)
    """A config value looks like a secret; config names environment variables, never values."""

    reason_code = "CONFIG_SECRET_DETECTED"

    def __init__(self, findings: Sequence[SecretFinding]) -> None:
        self.findings: tuple[SecretFinding, ...] = tuple(findings)
        head = (
            f"{self.reason_code}: {len(self.findings)} secret-like value(s) in the configuration; "
            "config must name environment variables (e.g. ALPACA_API_KEY_MAIN), never hold "
            "their values"
        )
        super().__init__("\n".join([head, *(f"  {f}" for f in self.findings)]))
