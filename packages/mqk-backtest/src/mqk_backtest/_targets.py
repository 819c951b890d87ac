"""Strategy targets for every bar at once, from a strategy's vectorised form."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from mqk_backtest._columns import SCALE, Columns, FastTargets
from mqk_strategy import BarArrays, TargetSeries, VectorisedStrategy

__all__ = ["vectorised_targets"]


def vectorised_targets(
    strategy: VectorisedStrategy, cols: Columns, actions: npt.NDArray[np.int8]
) -> FastTargets | None:
    """``strategy``'s targets for every row of ``cols``, symbol by symbol, over the bars the
    integrity gate lets through (``actions``: the scan's per-row action codes, in the frame's
    order); None when the strategy raises (the bar-by-bar host meets the same error and
    records it)."""
    rows = cols.sym.shape[0]
    quantity = np.zeros(rows, dtype=np.int64)
    active = np.zeros(rows, dtype=np.bool_)
    levels: dict[str, npt.NDArray[np.int64]] = {}  # stops and take-profits, if any
    if cols.order is not None:
        actions = actions[cols.order]
    ok = actions != 1  # rows the gate REJECTs never reach the strategy
    ok &= cols.complete
    for index, symbol in enumerate(cols.symbols):
        picked = np.flatnonzero((cols.sym == index) & ok)
        if picked.size == 0:
            continue
        # every row (one clean symbol): views of the columns instead of copies
        rows_of: slice | npt.NDArray[np.int64] = slice(None) if picked.size == rows else picked
        arrays = BarArrays(
            symbol=symbol,
            ts_close_us=cols.ts[rows_of],
            open=cols.open[rows_of],
            high=cols.high[rows_of],
            low=cols.low[rows_of],
            close=cols.close[rows_of],
            volume=cols.volume[rows_of].astype(np.float64) / SCALE,
        )
        try:
            series: TargetSeries = strategy.targets_vectorised(arrays)
        except Exception:
            return None  # the bar-by-bar host will meet (and record) the same error
        del arrays
        quantity[rows_of] = series.quantity
        active[rows_of] = series.active
        for name in ("stop", "take_profit"):
            values = getattr(series, name)
            if values is not None and values.any():
                levels.setdefault(name, np.zeros(rows, dtype=np.int64))[rows_of] = values
    none = np.broadcast_to(np.int64(0), (rows,))  # no levels: zeros that take no memory
    stop = levels.get("stop", none)
    take_profit = levels.get("take_profit", none)
    change = np.zeros(rows, dtype=np.bool_)
    for index in range(len(cols.symbols)):
        rows_of = np.flatnonzero((cols.sym == index) & active)
        if rows_of.size:
            q = quantity[rows_of]
            s = stop[rows_of]
            t = take_profit[rows_of]
            moved = np.r_[True, (q[1:] != q[:-1]) | (s[1:] != s[:-1]) | (t[1:] != t[:-1])]
            change[rows_of[moved]] = True
    return FastTargets(quantity, active, stop, take_profit, np.flatnonzero(change).astype(np.int64))
