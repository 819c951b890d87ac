"""columns_of gives exactly the columns of its previous definition (kept here as the oracle),
and holds the volume only once something reads it."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pytest

from mqk_backtest._columns import Columns, columns_of
from mqk_integrity.synth import synth_bars
from mqk_schemas import BarFrame, Timeframe

NAMES = ("sym", "ts", "open", "high", "low", "close", "volume", "complete")


def previous_definition(frame: BarFrame, *, sorted_copy: bool) -> dict[str, Any]:
    """The columns as columns_of built them before (volume kept, int64 order)."""
    df = frame.frame
    symbols = tuple(sorted(df.get_column("symbol").unique().to_list()))
    enum = pl.Enum(list(symbols))
    ts_raw = df.get_column("ts_close_utc").dt.epoch("us").to_numpy()
    codes = df.get_column("symbol").cast(enum).to_physical().to_numpy()
    same = ts_raw[1:] == ts_raw[:-1]
    in_order = bool(np.all((ts_raw[1:] > ts_raw[:-1]) | (same & (codes[1:] > codes[:-1]))))
    by_symbol = np.argsort(codes, kind="stable")
    same_symbol = codes[by_symbol][1:] == codes[by_symbol][:-1]
    stamps = ts_raw[by_symbol]
    each_in_time = bool(np.all(~same_symbol | (stamps[1:] >= stamps[:-1])))
    order: npt.NDArray[np.int64] | None = None
    if not in_order and not sorted_copy and each_in_time:
        order = np.lexsort((codes, ts_raw)).astype(np.int64)
    elif not in_order:
        df = df.sort(["ts_close_utc", "symbol"], maintain_order=True)
        ts_raw = df.get_column("ts_close_utc").dt.epoch("us").to_numpy()
        codes = df.get_column("symbol").cast(enum).to_physical().to_numpy()

    def engine(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return values if order is None else values[order]

    def units(name: str) -> npt.NDArray[np.int64]:
        column = df.get_column(name).to_physical().cast(pl.Int64)
        return engine(column.to_numpy().astype(np.int64, copy=False))

    ts = engine(ts_raw.astype(np.int64, copy=False))
    change = np.flatnonzero(np.r_[True, ts[1:] != ts[:-1]]).astype(np.int32)
    step_start = np.r_[change, np.int32(ts.shape[0])].astype(np.int32)
    return {
        "frame": df,
        "symbols": symbols,
        "sym": engine(codes).astype(np.int32),
        "ts": ts,
        "open": units("open"),
        "high": units("high"),
        "low": units("low"),
        "close": units("close"),
        "volume": units("volume"),
        "complete": engine(df.get_column("is_complete").to_numpy().astype(np.bool_)),
        "step_start": step_start,
        "step_of_row": np.repeat(np.arange(change.shape[0], dtype=np.int32), np.diff(step_start)),
        "order": order,
    }


def layouts() -> dict[str, pl.DataFrame]:
    """One bar file laid out three ways (symbol by symbol is how a bar frame is sorted)."""
    frame = synth_bars(
        symbols=["AAA", "BBB", "CCC"],
        timeframe=Timeframe.M1,
        start=date(2024, 1, 2),
        bars=900,
        seed=3,
    ).frame
    frame = frame.with_columns(is_complete=pl.int_range(pl.len()) % 13 != 5)
    return {
        "symbol by symbol": frame,
        "engine order": frame.sort(["ts_close_utc", "symbol"], maintain_order=True),
        "reversed": frame.reverse(),
    }


def assert_same_columns(got: Columns, expected: dict[str, Any]) -> None:
    assert got.symbols == expected["symbols"]
    assert got.frame.frame.equals(expected["frame"])
    for name in (*NAMES, "step_start", "step_of_row"):
        a, b = getattr(got, name), expected[name]
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)
    if expected["order"] is None:
        assert got.order is None
    else:
        assert got.order is not None
        assert got.order.dtype == np.int32
        np.testing.assert_array_equal(got.order, expected["order"])


@pytest.mark.parametrize("sorted_copy", [True, False])
@pytest.mark.parametrize("layout", ["symbol by symbol", "engine order", "reversed"])
def invariant_columns_equal_the_previous_definition(layout: str, sorted_copy: bool) -> None:
    frame = BarFrame(Timeframe.M1, layouts()[layout])
    got = columns_of(frame, sorted_copy=sorted_copy)
    expected = previous_definition(frame, sorted_copy=sorted_copy)
    assert (got.order is not None) == (layout == "symbol by symbol" and not sorted_copy)
    assert_same_columns(got, expected)


@pytest.mark.parametrize("sorted_copy", [True, False])
def invariant_the_volume_is_read_from_the_frame_and_kept_only_once_read(
    sorted_copy: bool,
) -> None:
    frame = BarFrame(Timeframe.M1, layouts()["symbol by symbol"])
    cols = columns_of(frame, sorted_copy=sorted_copy)
    expected = previous_definition(frame, sorted_copy=sorted_copy)["volume"]
    first, second = cols.volume_units(), cols.volume_units()
    assert first is not second  # read afresh each time: nothing kept
    np.testing.assert_array_equal(first, expected)
    np.testing.assert_array_equal(second, expected)
    kept = cols.volume
    np.testing.assert_array_equal(kept, expected)
    assert cols.volume is kept
    assert cols.volume_units() is kept
