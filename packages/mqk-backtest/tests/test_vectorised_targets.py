"""vectorised_targets (row selection without row lists, block-wise change search) gives
exactly what its previous whole-array definition gave, kept here as the oracle."""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl
import pytest

from mqk_backtest._columns import SCALE, Columns, FastTargets, columns_of
from mqk_backtest._targets import _BLOCK_ROWS, vectorised_targets
from mqk_integrity.synth import synth_bars
from mqk_schemas import BarFrame, Timeframe
from mqk_strategy import BarArrays, TargetSeries, VectorisedStrategy
from mqk_strategy.builtins import SMA_CROSS

MINUTE_US = 60_000_000


def previous_definition(
    strategy: VectorisedStrategy, cols: Columns, actions: npt.NDArray[np.int8]
) -> FastTargets | None:
    """vectorised_targets as it was before the memory work (whole-array temporaries)."""
    rows = cols.sym.shape[0]
    quantity = np.zeros(rows, dtype=np.int64)
    active = np.zeros(rows, dtype=np.bool_)
    levels: dict[str, npt.NDArray[np.int64]] = {}
    if cols.order is not None:
        actions = actions[cols.order]
    ok = actions != 1
    ok &= cols.complete
    for index, symbol in enumerate(cols.symbols):
        picked = np.flatnonzero((cols.sym == index) & ok)
        if picked.size == 0:
            continue
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
            series = strategy.targets_vectorised(arrays)
        except Exception:
            return None
        quantity[rows_of] = series.quantity
        active[rows_of] = series.active
        for name in ("stop", "take_profit"):
            values = getattr(series, name)
            if values is not None and values.any():
                levels.setdefault(name, np.zeros(rows, dtype=np.int64))[rows_of] = values
    none = np.broadcast_to(np.int64(0), (rows,))
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


class Patterned:
    """Targets in runs of different lengths, gaps of inactivity in mid-series, optional stops
    and take-profits; reads every column it is given (volume included)."""

    def __init__(self, *, levels: bool, fail: bool = False) -> None:
        self._levels = levels
        self._fail = fail

    @property
    def lookback(self) -> int:
        """Only the current bar."""
        return 1

    def on_bar(self, bar: object, window: object) -> None:
        """Not used: only the vectorised form is compared."""
        raise NotImplementedError

    def targets_vectorised(self, bars: BarArrays) -> TargetSeries:
        """Quantity by 37-minute period, inactive every fifth 11-minute period."""
        if self._fail and bars.symbol == "BBB":
            raise ValueError("strategy error")
        minutes = bars.ts_close_us // MINUTE_US
        quantity = ((minutes // 37) % 3 - 1) * SCALE + (bars.volume > 0).astype(np.int64)
        active = (minutes // 11) % 5 != 0
        quantity[~active] = 0
        if not self._levels:
            return TargetSeries(quantity=quantity, active=active)
        stop = np.where((minutes // 53) % 2 == 0, bars.low - 1, 0).astype(np.int64)
        take = np.where((minutes // 71) % 2 == 0, bars.high + 1, 0).astype(np.int64)
        stop[~active] = 0
        take[stop == 0] = 0
        return TargetSeries(quantity=quantity, active=active, stop=stop, take_profit=take)


def frame_of(symbols: list[str], bars: int) -> BarFrame:
    """Synthetic one-minute bars, symbol by symbol, every 97th bar incomplete."""
    frame = synth_bars(
        symbols=symbols, timeframe=Timeframe.M1, start=date(2024, 1, 2), bars=bars, seed=5
    )
    rows = pl.int_range(pl.len())
    df = frame.frame.with_columns(is_complete=(rows % 97 != 13))
    return BarFrame(frame.timeframe, df)


def assert_identical(got: FastTargets | None, expected: FastTargets | None) -> None:
    assert (got is None) == (expected is None)
    if got is None or expected is None:
        return
    for name in ("quantity", "active", "stop", "take_profit", "change_rows"):
        a, b = getattr(got, name), getattr(expected, name)
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)


@pytest.mark.parametrize("sorted_copy", [True, False])
@pytest.mark.parametrize(("levels", "fail"), [(False, False), (True, False), (True, True)])
def invariant_vectorised_targets_equal_the_previous_definition(
    sorted_copy: bool, levels: bool, fail: bool
) -> None:
    # 3 x 40,000 rows: every block of the change search holds rows of all three symbols, and
    # each symbol's runs continue across block boundaries
    frame = frame_of(["AAA", "BBB", "CCC"], 40_000)
    cols = columns_of(frame, sorted_copy=sorted_copy)
    assert (cols.order is None) == sorted_copy
    assert cols.sym.shape[0] > 3 * _BLOCK_ROWS
    rng = np.random.default_rng(11)
    actions = rng.choice(np.array([0, 0, 0, 0, 1, 2], dtype=np.int8), size=cols.sym.shape[0])
    strategy = Patterned(levels=levels, fail=fail)
    expected = previous_definition(strategy, cols, actions)
    got = vectorised_targets(strategy, cols, actions)
    assert_identical(got, expected)
    if not fail:  # the pattern does change targets, in runs
        assert got is not None
        assert 1_000 < got.change_rows.size < cols.sym.shape[0] // 2


def invariant_one_clean_symbol_gives_the_previous_targets_from_column_views() -> None:
    frame = frame_of(["AAA"], 3 * _BLOCK_ROWS + 5)
    frame = BarFrame(frame.timeframe, frame.frame.with_columns(is_complete=pl.lit(True)))
    cols = columns_of(frame)
    actions = np.zeros(cols.sym.shape[0], dtype=np.int8)
    for strategy in (
        Patterned(levels=True),
        SMA_CROSS.build({"fast": 10, "slow": 20, "qty": 100}),
    ):
        assert isinstance(strategy, VectorisedStrategy)
        assert_identical(
            vectorised_targets(strategy, cols, actions),
            previous_definition(strategy, cols, actions),
        )


def contract_the_volume_column_is_read_once_whatever_the_number_of_symbols(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reading it per symbol made a 200-symbol million-row file ~6x slower to plan."""
    frame = frame_of([f"S{i:02d}" for i in range(12)], 500)
    cols = columns_of(frame, sorted_copy=False)
    reads: list[int] = []
    original = Columns.volume_units

    def counted(self: Columns) -> npt.NDArray[np.int64]:
        reads.append(1)
        return original(self)

    monkeypatch.setattr(Columns, "volume_units", counted)
    actions = np.zeros(cols.sym.shape[0], dtype=np.int8)
    strategy = Patterned(levels=False)

    got = vectorised_targets(strategy, cols, actions)

    assert len(reads) == 1
    monkeypatch.setattr(Columns, "volume_units", original)
    assert_identical(got, previous_definition(strategy, cols, actions))
