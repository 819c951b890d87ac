"""Columnar inputs and outputs of the vectorised strategy forms."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mqk_schemas import Bar
from mqk_strategy._fixed import MAX_FIXED_PRICE, to_fixed
from mqk_strategy._time import utc_to_us
from mqk_strategy.errors import BarInputError

__all__ = ["BarArrays", "TargetSeries"]


def _readonly(array: NDArray[np.int64]) -> NDArray[np.int64]:
    view = array.view()
    view.flags.writeable = False
    return view


@dataclass(frozen=True, slots=True)
class BarArrays:
    """One symbol's complete bars, oldest first, as fixed-point int64 columns.

    Prices are counts of 1e-8 (exact for the ``Decimal(38, 8)`` columnar form; with polars,
    ``frame["close"].to_physical().cast(pl.Int64).to_numpy()``). ``ts_close_us`` is microseconds
    since the Unix epoch (UTC). ``volume`` is float64: it is informational and never sizes money.
    Construction validates once: equal lengths, int64 prices in ``(0, MAX_FIXED_PRICE]``,
    strictly increasing timestamps. The stored arrays are read-only views.
    """

    symbol: str
    ts_close_us: NDArray[np.int64]
    open: NDArray[np.int64]
    high: NDArray[np.int64]
    low: NDArray[np.int64]
    close: NDArray[np.int64]
    volume: NDArray[np.float64]

    def __post_init__(self) -> None:
        n = len(self.close)
        for name in ("ts_close_us", "open", "high", "low", "close"):
            column = getattr(self, name)
            if not isinstance(column, np.ndarray) or column.dtype != np.int64 or column.ndim != 1:
                raise BarInputError(f"BarArrays.{name} must be a 1-d int64 array")
            if len(column) != n:
                raise BarInputError(f"BarArrays.{name} has {len(column)} rows, close has {n}")
            object.__setattr__(self, name, _readonly(column))
        if (
            not isinstance(self.volume, np.ndarray)
            or self.volume.dtype != np.float64
            or self.volume.shape != (n,)
        ):
            raise BarInputError(f"BarArrays.volume must be a 1-d float64 array of {n} rows")
        object.__setattr__(self, "volume", _readonly(self.volume))  # type: ignore[arg-type]
        for name in ("open", "high", "low", "close"):
            column = getattr(self, name)
            if n and (int(column.min()) <= 0 or int(column.max()) > MAX_FIXED_PRICE):
                bad = int(np.flatnonzero((column <= 0) | (column > MAX_FIXED_PRICE))[0])
                raise BarInputError(
                    f"BarArrays.{name}[{bad}] = {int(column[bad])} is outside "
                    f"(0, {MAX_FIXED_PRICE}] fixed-point units"
                )
        if n > 1 and not bool(np.all(self.ts_close_us[1:] > self.ts_close_us[:-1])):
            bad = int(np.flatnonzero(self.ts_close_us[1:] <= self.ts_close_us[:-1])[0]) + 1
            raise BarInputError(f"BarArrays.ts_close_us[{bad}] does not increase")

    def __len__(self) -> int:
        return len(self.close)

    @classmethod
    def from_bars(cls, bars: Sequence[Bar]) -> BarArrays:
        """Build arrays from row bars of one symbol (for edges and tests, not hot loops).

        Incomplete bars are refused: they never reach a strategy.
        """
        if not bars:
            raise BarInputError("BarArrays.from_bars needs at least one bar")
        symbol = bars[0].symbol
        rows: list[tuple[int, int, int, int, int]] = []
        volumes: list[float] = []
        for i, bar in enumerate(bars):
            if bar.symbol != symbol:
                raise BarInputError(f"bar {i} is {bar.symbol}, not {symbol}")
            if not bar.is_complete:
                raise BarInputError(f"bar {i} ({bar.ts_close_utc}) is incomplete")
            rows.append(
                (
                    utc_to_us(bar.ts_close_utc),
                    to_fixed(bar.open, field=f"bar {i} open"),
                    to_fixed(bar.high, field=f"bar {i} high"),
                    to_fixed(bar.low, field=f"bar {i} low"),
                    to_fixed(bar.close, field=f"bar {i} close"),
                )
            )
            volumes.append(float(bar.volume))
        table = np.array(rows, dtype=np.int64).T.copy()
        return cls(
            symbol=symbol,
            ts_close_us=table[0],
            open=table[1],
            high=table[2],
            low=table[3],
            close=table[4],
            volume=np.array(volumes, dtype=np.float64),
        )


@dataclass(frozen=True, slots=True)
class TargetSeries:
    """Per-bar output of a vectorised strategy, aligned with the input bars.

    ``quantity[i]`` is the signed target quantity in 1e-8 units after bar ``i``; ``active[i]``
    is False where the bar-by-bar form returns no output (warm-up), and ``quantity`` is 0 there.
    ``stop[i]`` is the protective stop price in 1e-8 units, 0 where there is none; ``stop`` is
    None for strategies that never ask for a stop. ``take_profit`` is the same for the optional
    profit-taking level that goes with a stop.
    """

    quantity: NDArray[np.int64]
    active: NDArray[np.bool_]
    stop: NDArray[np.int64] | None = None
    take_profit: NDArray[np.int64] | None = None

    def __len__(self) -> int:
        return len(self.quantity)

    def same_as(self, other: TargetSeries) -> bool:
        """True when both give the same activity, quantities and stops (None = no stops)."""
        if len(self) != len(other):
            return False
        zeros = np.zeros(len(self), dtype=np.int64)
        return bool(
            np.array_equal(self.active, other.active)
            and np.array_equal(self.quantity, other.quantity)
            and np.array_equal(
                self.stop if self.stop is not None else zeros,
                other.stop if other.stop is not None else zeros,
            )
            and np.array_equal(
                self.take_profit if self.take_profit is not None else zeros,
                other.take_profit if other.take_profit is not None else zeros,
            )
        )
