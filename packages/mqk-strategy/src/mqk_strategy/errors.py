"""Exceptions raised by :mod:`mqk_strategy`.

A strategy that raises while handling a bar is *not* an exception for the caller: the host turns
it into a ``STRATEGY_ERROR`` decision and halts the engine's new orders. The errors below are
for misuse of the API (bad parameters, too many strategies, malformed input arrays).

::

    StrategyPackageError            base of every error raised here
    ├── StrategyParamsError         parameters refused (unknown name, wrong type, broken rule)
    ├── UnknownStrategyError        no strategy registered under that name
    ├── StrategyPluginError         an entry point that does not load a valid StrategySpec
    ├── HostConfigError             a strategy/timeframe registration the host refuses
    │   ├── StrategyLimitError      more strategies than engine.max_strategies
    │   └── TimeframeLimitError     more timeframes than engine.max_timeframes
    ├── BarInputError               a price/array that cannot be represented exactly
    └── StrategyOutputError         a StrategyOutput that breaks its own rules
"""

from __future__ import annotations

__all__ = [
    "BarInputError",
    "HostConfigError",
    "StrategyLimitError",
    "StrategyOutputError",
    "StrategyPackageError",
    "StrategyParamsError",
    "StrategyPluginError",
    "TimeframeLimitError",
    "UnknownStrategyError",
]


class StrategyPackageError(Exception):
    """Base class of every error raised by mqk_strategy."""

    reason_code: str = "STRATEGY_PACKAGE_ERROR"


class StrategyParamsError(StrategyPackageError, ValueError):
    """Strategy parameters were refused; the message names the strategy, parameter and rule."""

    reason_code = "STRATEGY_PARAMS_INVALID"


class UnknownStrategyError(StrategyPackageError, LookupError):
    """No strategy is registered under the requested name."""

    reason_code = "STRATEGY_UNKNOWN"


class StrategyPluginError(StrategyPackageError):
    """An ``mqk.strategies`` entry point does not load a valid, consistently named spec."""

    reason_code = "STRATEGY_PLUGIN_INVALID"


class HostConfigError(StrategyPackageError, ValueError):
    """The strategy host refused a registration."""

    reason_code = "STRATEGY_HOST_CONFIG"


class StrategyLimitError(HostConfigError):
    """Adding the strategy would exceed the engine's ``max_strategies``."""

    reason_code = "STRATEGY_LIMIT_EXCEEDED"


class TimeframeLimitError(HostConfigError):
    """Adding the timeframe would exceed the engine's ``max_timeframes``."""

    reason_code = "TIMEFRAME_LIMIT_EXCEEDED"


class BarInputError(StrategyPackageError, ValueError):
    """A bar value cannot be represented exactly in the fixed-point window (or arrays are bad)."""

    reason_code = "BAR_INPUT_INVALID"


class StrategyOutputError(StrategyPackageError, ValueError):
    """A strategy built an output that breaks the output rules."""

    reason_code = "STRATEGY_OUTPUT_INVALID"
