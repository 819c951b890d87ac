"""mqk_strategy: strategy protocol, host, shadow mode and builtins.

A strategy receives one complete bar and a bounded, read-only window of that symbol's recent
bars (exact fixed-point int64 prices, 1e-8 units) and returns a :class:`StrategyOutput` of
:class:`mqk_schemas.TargetPosition` targets plus optional :class:`ProtectiveStop` s — never
orders. Plugins are :class:`StrategySpec` objects declared in the ``mqk.strategies`` entry
point group (builtins: ``sma_cross``, ``zscore_mean_reversion``, ``atr_trend_swing``).

:class:`StrategyHost` runs one engine's strategies: limits from config ``engine``
(``max_strategies``, ``max_timeframes``, ``shadow``), refusals as typed REJECT decisions,
shadow signals never executed, a strategy exception -> sticky ``STRATEGY_ERROR`` HALT_NEW.

Fast path: builtins also implement :class:`VectorisedStrategy` —
``targets_vectorised(BarArrays) -> TargetSeries`` — giving exactly the bar-by-bar targets.
"""

from mqk_strategy._arrays import BarArrays, TargetSeries
from mqk_strategy._events import HostResult, StrategyEvent, StrategyEventType, StrategySignal
from mqk_strategy._fixed import (
    FIXED_ONE,
    MAX_FIXED_PRICE,
    MAX_FIXED_QUANTITY,
    MAX_LOOKBACK,
    fixed_to_decimal,
    to_fixed,
)
from mqk_strategy._host import ExecuteCallback, RecordCallback, StrategyHost
from mqk_strategy._output import ProtectiveStop, StrategyOutput
from mqk_strategy._params import Quantity, StrategyParams, Threshold, WindowLength
from mqk_strategy._protocol import Strategy, VectorisedStrategy
from mqk_strategy._registry import ENTRY_POINT_GROUP, StrategyRegistry, StrategySpec
from mqk_strategy._replay import targets_bar_by_bar
from mqk_strategy._settings import HostSettings
from mqk_strategy._time import us_to_utc, utc_to_us
from mqk_strategy._window import BarView, BarWindow, SeriesBuffer
from mqk_strategy.errors import (
    BarInputError,
    HostConfigError,
    StrategyLimitError,
    StrategyOutputError,
    StrategyPackageError,
    StrategyParamsError,
    StrategyPluginError,
    TimeframeLimitError,
    UnknownStrategyError,
)

__version__ = "0.1.0"

__all__ = [
    "ENTRY_POINT_GROUP",
    "FIXED_ONE",
    "MAX_FIXED_PRICE",
    "MAX_FIXED_QUANTITY",
    "MAX_LOOKBACK",
    "BarArrays",
    "BarInputError",
    "BarView",
    "BarWindow",
    "ExecuteCallback",
    "HostConfigError",
    "HostResult",
    "HostSettings",
    "ProtectiveStop",
    "Quantity",
    "RecordCallback",
    "SeriesBuffer",
    "Strategy",
    "StrategyEvent",
    "StrategyEventType",
    "StrategyHost",
    "StrategyLimitError",
    "StrategyOutput",
    "StrategyOutputError",
    "StrategyPackageError",
    "StrategyParams",
    "StrategyParamsError",
    "StrategyPluginError",
    "StrategyRegistry",
    "StrategySignal",
    "StrategySpec",
    "TargetSeries",
    "Threshold",
    "TimeframeLimitError",
    "UnknownStrategyError",
    "VectorisedStrategy",
    "WindowLength",
    "__version__",
    "fixed_to_decimal",
    "targets_bar_by_bar",
    "to_fixed",
    "us_to_utc",
    "utc_to_us",
]
