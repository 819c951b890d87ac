"""``atr_trend_swing``: buy a breakout, protect it with a trailing ATR stop.

Per symbol, on exact fixed-point prices (``N = breakout``, ``P = atr_period``,
``m = atr_multiple``):
- ``TR_t = max(high_t, close_{t-1}) - min(low_t, close_{t-1})``;
  ``ATR_t`` = mean of the last ``P`` true ranges;
- ``level_t = max(high over the last N bars) - m * ATR_t``, rounded down to 1e-8;
- flat -> long ``qty`` when ``close_t > max(high over the N bars before t)`` and
  ``0 < level_t < close_t``; the stop starts at ``level_t``;
- long: if ``low_t <= stop`` the stop was hit during the bar -> flat (no re-entry on that bar);
  else the stop ratchets to ``max(stop, level_t)`` — it never loosens.
Every long output carries a :class:`ProtectiveStop` at the current stop.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, model_validator

from mqk_strategy._arrays import BarArrays, TargetSeries
from mqk_strategy._fixed import MAX_FIXED_QUANTITY, MAX_LOOKBACK, fixed_to_decimal, to_fixed
from mqk_strategy._output import ProtectiveStop, StrategyOutput
from mqk_strategy._params import Quantity, StrategyParams, Threshold, decimal_ratio
from mqk_strategy._window import BarView, BarWindow
from mqk_strategy.builtins._common import OutputCache
from mqk_strategy.builtins._kernels import ceil_mul_div, rolling_max, rolling_sum

__all__ = ["AtrTrendSwing", "AtrTrendSwingParams"]

_FIRST_SCAN = 64


class AtrTrendSwingParams(StrategyParams):
    """Breakout length, ATR period, stop distance in ATRs (> 0) and ``qty``."""

    breakout: int = Field(ge=1, le=MAX_LOOKBACK - 1)
    atr_period: int = Field(ge=1, le=MAX_LOOKBACK - 1)
    atr_multiple: Threshold
    qty: Quantity

    @model_validator(mode="after")
    def _positive_multiple(self) -> AtrTrendSwingParams:
        if self.atr_multiple == 0:
            raise ValueError("atr_multiple must be > 0")
        return self


class AtrTrendSwing:
    """Long-only trend/swing strategy with a trailing ATR protective stop (module docstring)."""

    def __init__(self, params: AtrTrendSwingParams) -> None:
        self.params = params
        self._n = params.breakout
        self._p = params.atr_period
        self._mult_num, self._mult_den = decimal_ratio(params.atr_multiple)
        self._qty = params.qty
        self._qty_units = to_fixed(params.qty, field="qty", limit=MAX_FIXED_QUANTITY)
        self._stops: dict[str, int] = {}
        self._last: dict[str, tuple[int, StrategyOutput]] = {}
        self._flat = OutputCache()

    @property
    def lookback(self) -> int:
        """Enough bars for the prior breakout high and ``atr_period`` true ranges."""
        return max(self._n, self._p) + 1

    def _level(self, high: list[int], low: list[int], close: list[int]) -> int:
        p = self._p
        true_range = 0
        for i in range(len(close) - p, len(close)):
            previous = close[i - 1]
            true_range += max(high[i], previous) - min(low[i], previous)
        divisor = self._mult_den * p
        offset = -((-self._mult_num * true_range) // divisor)
        return max(high[-self._n :]) - offset

    def on_bar(self, bar: BarView, window: BarWindow) -> StrategyOutput | None:
        """Enter on a breakout, exit when the trailing stop is touched."""
        if len(window) < self.lookback:
            return None
        high = window.high.tolist()
        low = window.low.tolist()
        close = window.close.tolist()
        symbol = bar.symbol
        level = self._level(high, low, close)
        stop = self._stops.get(symbol)
        if stop is not None:
            if low[-1] <= stop:
                del self._stops[symbol]
                return self._flat.get(symbol, Decimal(0))
            stop = max(stop, level)
        elif close[-1] > max(high[-self._n - 1 : -1]) and 0 < level < close[-1]:
            stop = level
        else:
            return self._flat.get(symbol, Decimal(0))
        self._stops[symbol] = stop
        return self._held(symbol, stop)

    def _held(self, symbol: str, stop: int) -> StrategyOutput:
        last = self._last.get(symbol)
        if last is not None and last[0] == stop:
            return last[1]
        target = self._flat.get(symbol, self._qty).targets
        output = StrategyOutput(
            targets=target, stops=(ProtectiveStop(symbol, fixed_to_decimal(stop)),)
        )
        self._last[symbol] = (stop, output)
        return output

    def targets_vectorised(self, bars: BarArrays) -> TargetSeries:
        """The same targets and stops for every bar at once.

        Levels and entry candidates are whole-array integer operations; the stop path is
        sequential per trade only (a cumulative max from the entry, scanned in growing chunks
        until the first bar whose low touches the previous stop), so the cost is O(bars) plus a
        few numpy calls per trade.
        """
        high, low, close = bars.high, bars.low, bars.close
        n_bars = len(close)
        first = self.lookback - 1
        active = np.arange(n_bars) >= first
        quantity = np.zeros(n_bars, dtype=np.int64)
        stops = np.zeros(n_bars, dtype=np.int64)
        if n_bars <= first:
            return TargetSeries(quantity=quantity, active=active, stop=stops)
        true_range = np.zeros(n_bars, dtype=np.int64)
        previous = close[:-1]
        true_range[1:] = np.maximum(high[1:], previous) - np.minimum(low[1:], previous)
        offset = ceil_mul_div(
            self._mult_num, rolling_sum(true_range, self._p), self._mult_den * self._p
        )
        highest = rolling_max(high, self._n)
        level = highest - offset
        prior_high = np.zeros(n_bars, dtype=np.int64)
        prior_high[1:] = highest[:-1]
        entries = np.flatnonzero(active & (close > prior_high) & (level > 0) & (level < close))
        units = np.int64(self._qty_units)
        position = 0
        while True:
            k = int(np.searchsorted(entries, position))
            if k == len(entries):
                break
            entry = int(entries[k])
            exit_at = self._trail(low, level, entry, stops)
            quantity[entry:exit_at] = units
            position = exit_at + 1
        return TargetSeries(quantity=quantity, active=active, stop=stops)

    @staticmethod
    def _trail(
        low: NDArray[np.int64], level: NDArray[np.int64], entry: int, stops: NDArray[np.int64]
    ) -> int:
        """Fill ``stops`` from ``entry`` and return the exit bar (or the bar count)."""
        n_bars = len(low)
        carry = int(level[entry])
        stops[entry] = carry
        start, size = entry + 1, _FIRST_SCAN
        while start < n_bars:
            end = min(n_bars, start + size)
            trail = np.maximum.accumulate(np.maximum(level[start:end], carry))
            resting = np.empty(end - start, dtype=np.int64)
            resting[0] = carry
            resting[1:] = trail[:-1]
            hits = np.flatnonzero(low[start:end] <= resting)
            if len(hits):
                exit_at = start + int(hits[0])
                stops[start:exit_at] = trail[: exit_at - start]
                return exit_at
            stops[start:end] = trail
            carry = int(trail[-1])
            start, size = end, size * 2
        return n_bars
