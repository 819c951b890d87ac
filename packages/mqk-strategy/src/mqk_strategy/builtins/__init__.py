"""The builtin strategies and their specs (declared as ``mqk.strategies`` entry points).

Each builtin is per-symbol (targets for a symbol depend only on that symbol's bars), works on
exact fixed-point prices, and also offers ``targets_vectorised`` giving exactly its bar-by-bar
targets over whole arrays.
"""

from __future__ import annotations

from typing import Any

from mqk_strategy._registry import StrategySpec
from mqk_strategy.builtins._atr_swing import AtrTrendSwing, AtrTrendSwingParams
from mqk_strategy.builtins._sma_cross import SmaCross, SmaCrossParams
from mqk_strategy.builtins._zscore import ZScoreMeanReversion, ZScoreParams

__all__ = [
    "ATR_TREND_SWING",
    "BUILTIN_SPECS",
    "SMA_CROSS",
    "ZSCORE_MEAN_REVERSION",
    "AtrTrendSwing",
    "AtrTrendSwingParams",
    "SmaCross",
    "SmaCrossParams",
    "ZScoreMeanReversion",
    "ZScoreParams",
]

SMA_CROSS: StrategySpec[SmaCrossParams] = StrategySpec(
    name="sma_cross",
    params_model=SmaCrossParams,
    factory=SmaCross,
    summary="long qty while SMA(fast) > SMA(slow) of the close, else flat",
)

ZSCORE_MEAN_REVERSION: StrategySpec[ZScoreParams] = StrategySpec(
    name="zscore_mean_reversion",
    params_model=ZScoreParams,
    factory=ZScoreMeanReversion,
    summary="enter when the close's z-score passes -entry_z (or +entry_z short), exit at exit_z",
)

ATR_TREND_SWING: StrategySpec[AtrTrendSwingParams] = StrategySpec(
    name="atr_trend_swing",
    params_model=AtrTrendSwingParams,
    factory=AtrTrendSwing,
    summary="buy an N-bar breakout with a trailing ATR protective stop that never loosens",
)

BUILTIN_SPECS: tuple[StrategySpec[Any], ...] = (
    SMA_CROSS,
    ZSCORE_MEAN_REVERSION,
    ATR_TREND_SWING,
)
"""The builtin specs, in the order they are documented."""
