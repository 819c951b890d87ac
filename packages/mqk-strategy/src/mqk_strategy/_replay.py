"""Run any strategy bar by bar over one symbol's arrays, collecting a TargetSeries.

This is the semantic reference for a vectorised form, and lets a backtester treat plugins
without ``targets_vectorised`` the same way (at bar-by-bar speed).
"""

from __future__ import annotations

import numpy as np

from mqk_schemas import PRICE_SCALE, Timeframe
from mqk_strategy._arrays import BarArrays, TargetSeries
from mqk_strategy._fixed import scaled_units
from mqk_strategy._protocol import Strategy
from mqk_strategy._window import BarView, SeriesBuffer
from mqk_strategy.errors import StrategyOutputError

__all__ = ["targets_bar_by_bar"]


def targets_bar_by_bar(strategy: Strategy, bars: BarArrays, timeframe: Timeframe) -> TargetSeries:
    """Feed ``bars`` one at a time to ``strategy`` and record its target quantity per bar.

    Only quantity targets for ``bars.symbol`` fit a TargetSeries; any other output raises
    :class:`StrategyOutputError`. The strategy's own state advances as in a live run.
    """
    symbol = bars.symbol
    lookback = strategy.lookback
    buffer = SeriesBuffer(lookback)
    n = len(bars)
    quantity = np.zeros(n, dtype=np.int64)
    active = np.zeros(n, dtype=np.bool_)
    stops = np.zeros(n, dtype=np.int64)
    has_stop = False
    columns = zip(
        bars.ts_close_us.tolist(),
        bars.open.tolist(),
        bars.high.tolist(),
        bars.low.tolist(),
        bars.close.tolist(),
        bars.volume.tolist(),
        strict=True,
    )
    for i, (ts, o, h, low, c, v) in enumerate(columns):
        buffer.append(ts, o, h, low, c, v)
        output = strategy.on_bar(
            BarView(symbol, timeframe, ts, o, h, low, c, v),
            buffer.window(symbol, timeframe, lookback),
        )
        if output is None:
            continue
        if len(output.targets) != 1 or output.targets[0].symbol != symbol:
            raise StrategyOutputError(f"bar {i}: expected one target for {symbol}, got {output}")
        target = output.targets[0].quantity
        units = None if target is None else scaled_units(target, PRICE_SCALE)
        if units is None:
            raise StrategyOutputError(f"bar {i}: target {output.targets[0]} is not a 1e-8 quantity")
        active[i] = True
        quantity[i] = units
        stop = output.stop_for(symbol)
        if stop is not None:
            stop_units = scaled_units(stop, PRICE_SCALE)
            if stop_units is None:
                raise StrategyOutputError(f"bar {i}: stop {stop} is not a 1e-8 price")
            stops[i] = stop_units
            has_stop = True
    return TargetSeries(quantity=quantity, active=active, stop=stops if has_stop else None)
