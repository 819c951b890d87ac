"""Strategy targets for every bar at once, from a strategy's vectorised form."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from mqk_backtest._columns import SCALE, Columns, FastTargets
from mqk_strategy import BarArrays, TargetSeries, VectorisedStrategy

__all__ = ["vectorised_targets"]

_BLOCK_ROWS = 1 << 15
"""Rows compared at a time when looking for target changes (bounds the temporaries)."""


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
    volumes = cols.volume_units()  # read once for every symbol; the run keeps no volume
    for index, symbol in enumerate(cols.symbols):
        mask = cols.sym == index
        mask &= ok
        count = int(np.count_nonzero(mask))
        if count == 0:
            continue
        # every row (one clean symbol): views of the columns, and no row list
        rows_of: slice | npt.NDArray[np.int64] = (
            slice(None) if count == rows else np.flatnonzero(mask)
        )
        del mask
        volume = volumes[rows_of].astype(np.float64)
        volume /= SCALE
        arrays = BarArrays(
            symbol=symbol,
            ts_close_us=cols.ts[rows_of],
            open=cols.open[rows_of],
            high=cols.high[rows_of],
            low=cols.low[rows_of],
            close=cols.close[rows_of],
            volume=volume,
        )
        del volume
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
        del series
    del ok
    change = _change_rows(cols, active, (quantity, *levels.values()))
    none = np.broadcast_to(np.int64(0), (rows,))  # no levels: zeros that take no memory
    stop = levels.get("stop", none)
    take_profit = levels.get("take_profit", none)
    return FastTargets(quantity, active, stop, take_profit, change)


def _change_rows(
    cols: Columns, active: npt.NDArray[np.bool_], columns: tuple[npt.NDArray[np.int64], ...]
) -> npt.NDArray[np.int64]:
    """The active rows where any of ``columns`` differs from the symbol's previous active row,
    and each symbol's first active row, in row order. Worked through a block of rows at a
    time, carrying each symbol's last values across blocks."""
    rows = active.shape[0]
    change = np.zeros(rows, dtype=np.bool_)
    for index in range(len(cols.symbols)):
        last: tuple[int, ...] | None = None  # the symbol's previous active row's values
        for lo in range(0, rows, _BLOCK_ROWS):
            hi = min(lo + _BLOCK_ROWS, rows)
            picked = np.flatnonzero((cols.sym[lo:hi] == index) & active[lo:hi])
            if picked.size == 0:
                continue
            picked += lo
            moved = np.zeros(picked.size, dtype=np.bool_)
            for column in columns:
                values = column[picked]
                moved[1:] |= values[1:] != values[:-1]
            first = tuple(int(column[picked[0]]) for column in columns)
            moved[0] = first != last
            last = tuple(int(column[picked[-1]]) for column in columns)
            change[picked[moved]] = True
    return np.flatnonzero(change).astype(np.int64)
