"""The bars as numpy columns in 1e-8 fixed-point units, and the conversions around them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl

from mqk_backtest.errors import BacktestInputError
from mqk_schemas import BarFrame

__all__ = [
    "SCALE",
    "Columns",
    "FastTargets",
    "columns_of",
    "decimal_floor_units",
    "decimal_to_units",
    "epoch_us",
    "units_to_decimal",
    "utc",
    "utc_texts",
]

SCALE = 100_000_000
"""Units per whole: prices, quantities, cash and equity are int64 multiples of 1e-8."""

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)


def units_to_decimal(units: int) -> Decimal:
    """The exact Decimal of ``units`` 1e-8 units."""
    return Decimal(units).scaleb(-8)


def decimal_to_units(value: Decimal, what: str) -> int:
    """``value`` in 1e-8 units; more than 8 decimals is a :class:`BacktestInputError`."""
    scaled = value.scaleb(8)
    if scaled != scaled.to_integral_value():
        raise BacktestInputError(f"{what} {value} has more than 8 decimals")
    return int(scaled)


def decimal_floor_units(value: Decimal) -> int:
    """floor(value * 1e8) as an int (exact)."""
    return int((value.scaleb(8)).to_integral_value(rounding="ROUND_FLOOR"))


def epoch_us(ts: datetime) -> int:
    """Epoch microseconds of the aware datetime ``ts``."""
    return (ts - _EPOCH) // _MICROSECOND


def utc(us: int) -> datetime:
    """The UTC datetime of epoch microseconds ``us``."""
    return _EPOCH + timedelta(0, 0, us)  # positional: no keyword parsing (once per busy step)


def utc_texts(us: npt.NDArray[np.int64]) -> list[str]:
    """:func:`~mqk_schemas.format_utc` of many epoch-microsecond times at once."""
    stamps = us.astype("datetime64[us]")
    texts = np.datetime_as_string(stamps, unit="s").astype(object)
    fractional = us % 1_000_000 != 0
    if fractional.any():
        texts[fractional] = np.datetime_as_string(stamps[fractional], unit="us")
    return [f"{text}Z" for text in texts.tolist()]


@dataclass(frozen=True, slots=True)
class Columns:
    """The bars in engine order (close time, symbol) as numpy columns, plus step boundaries.

    A *step* is every symbol's bar with one close time; ``step_start[k]`` is its first row.
    ``frame`` is in the same order unless ``order`` is given (see :func:`columns_of`).
    """

    frame: BarFrame
    symbols: tuple[str, ...]
    sym: npt.NDArray[np.int32]
    ts: npt.NDArray[np.int64]
    open: npt.NDArray[np.int64]
    high: npt.NDArray[np.int64]
    low: npt.NDArray[np.int64]
    close: npt.NDArray[np.int64]
    complete: npt.NDArray[np.bool_]
    step_start: npt.NDArray[np.int32]
    step_of_row: npt.NDArray[np.int32]
    order: npt.NDArray[np.int32] | None = None  # engine row -> frame row, if they differ
    _volume: npt.NDArray[np.int64] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def steps(self) -> int:
        """Number of steps."""
        return int(self.step_start.shape[0]) - 1

    @property
    def volume(self) -> npt.NDArray[np.int64]:
        """Volume in 1e-8 units, in engine order: read from :attr:`frame` on first use and then
        kept (the columnar kernel never reads it, so its runs do not hold it)."""
        kept = self._volume
        if kept is None:
            kept = self.volume_units()
            object.__setattr__(self, "_volume", kept)
        return kept

    def volume_units(self) -> npt.NDArray[np.int64]:
        """Volume in 1e-8 units, in engine order, without keeping it (the kept column if
        :attr:`volume` was read already)."""
        if self._volume is not None:
            return self._volume
        return _units(self.frame.frame, "volume", self.order)


def columns_of(frame: BarFrame, *, sorted_copy: bool = True) -> Columns:
    """Take ``frame``'s columns in fixed-point units, in engine order (close time, symbol).

    Bars already in that order are used as they are. Otherwise the frame is sorted into a copy,
    unless ``sorted_copy`` is False and every symbol's bars are already in time order (a file
    written symbol by symbol): then only the columns are reordered and :attr:`Columns.order`
    maps engine rows to the frame's rows, which saves a second copy of the bars.
    """
    df = frame.frame
    symbols = tuple(sorted(df.get_column("symbol").unique().to_list()))
    enum = pl.Enum(list(symbols))
    ts = _units(df, "ts_close_utc", None)
    codes = df.get_column("symbol").cast(enum).to_physical().to_numpy()
    order: npt.NDArray[np.int32] | None = None
    if _in_order(ts, codes):
        pass
    elif not sorted_copy and _each_symbol_in_time_order(ts, codes):
        order = np.lexsort((codes, ts)).astype(np.int32)  # stable, like a sort; rows < 2**31
        ts = ts[order]
        codes = codes[order]
    else:
        df = df.sort(["ts_close_utc", "symbol"], maintain_order=True)
        ts = _units(df, "ts_close_utc", None)
        codes = df.get_column("symbol").cast(enum).to_physical().to_numpy()
    sym = codes.astype(np.int32)
    del codes
    change = np.flatnonzero(np.r_[True, ts[1:] != ts[:-1]]).astype(np.int32)  # rows < 2**31
    step_start = np.r_[change, np.int32(ts.shape[0])].astype(np.int32, copy=False)
    step_of_row = np.repeat(np.arange(change.shape[0], dtype=np.int32), np.diff(step_start))
    del change
    complete = df.get_column("is_complete").to_numpy().astype(np.bool_)
    return Columns(
        frame=BarFrame(frame.timeframe, df),
        symbols=symbols,
        sym=sym,
        ts=ts,
        open=_units(df, "open", order),
        high=_units(df, "high", order),
        low=_units(df, "low", order),
        close=_units(df, "close", order),
        complete=complete if order is None else complete[order],
        step_start=step_start,
        step_of_row=step_of_row,
        order=order,
    )


def _units(
    df: pl.DataFrame, name: str, order: npt.NDArray[np.int32] | None
) -> npt.NDArray[np.int64]:
    """Column ``name`` of ``df`` as int64 (fixed-point units; epoch microseconds for the close
    time), in engine order (``order``: engine row -> frame row, if they differ)."""
    column = df.get_column(name).to_physical().cast(pl.Int64)
    values = column.to_numpy().astype(np.int64, copy=False)
    del column
    return values if order is None else values[order]


def _each_symbol_in_time_order(
    ts: npt.NDArray[np.int64], codes: npt.NDArray[np.integer[Any]]
) -> bool:
    """True when each symbol's rows, in frame order, never go back in time."""
    by_symbol = np.argsort(codes, kind="stable")
    same = codes[by_symbol][1:] == codes[by_symbol][:-1]
    stamps = ts[by_symbol]
    return bool(np.all(~same | (stamps[1:] >= stamps[:-1])))


def _in_order(ts: npt.NDArray[np.int64], codes: npt.NDArray[np.integer[Any]]) -> bool:
    """True when rows are strictly ordered by (close time, symbol code)."""
    same = ts[1:] == ts[:-1]
    return bool(np.all((ts[1:] > ts[:-1]) | (same & (codes[1:] > codes[:-1]))))


@dataclass(frozen=True, slots=True)
class FastTargets:
    """Per-row strategy output from the vectorised form (rows of :class:`Columns`)."""

    quantity: npt.NDArray[np.int64]
    active: npt.NDArray[np.bool_]
    stop: npt.NDArray[np.int64]
    take_profit: npt.NDArray[np.int64]
    change_rows: npt.NDArray[np.int64]
