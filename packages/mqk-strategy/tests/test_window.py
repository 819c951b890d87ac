"""The window: bounded, read-only, never showing a bar after the current one."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mqk_schemas import TargetPosition, Timeframe
from mqk_strategy import (
    BarView,
    BarWindow,
    HostSettings,
    SeriesBuffer,
    StrategyHost,
    StrategyOutput,
)


class WindowSpy:
    """Keeps every window it is handed, with a copy of what it showed at that moment."""

    def __init__(self, lookback: int) -> None:
        self.lookback = lookback
        self.calls: list[tuple[BarView, BarWindow, np.ndarray]] = []

    def on_bar(self, bar: BarView, window: BarWindow) -> StrategyOutput | None:
        self.calls.append((bar, window, np.array(window.ts_close_us)))
        return StrategyOutput(targets=(TargetPosition(symbol=bar.symbol, quantity=0),))


@settings(max_examples=60, deadline=None)
@given(
    lookback=st.integers(min_value=1, max_value=40),
    steps=st.lists(
        st.tuples(st.sampled_from(["AAPL", "MSFT"]), st.integers(min_value=1, max_value=3)),
        min_size=1,
        max_size=700,
    ),
)
def invariant_window_never_exposes_later_bars_and_stays_as_handed_out(
    lookback: int, steps: list[tuple[str, int]]
) -> None:
    spy = WindowSpy(lookback)
    host = StrategyHost(
        HostSettings(engine_id="MAIN", max_strategies=1, max_timeframes=1, shadow=False)
    )
    host.add("spy", spy, Timeframe.D1)
    clock = 0
    history: dict[str, list[int]] = {"AAPL": [], "MSFT": []}
    for symbol, gap in steps:
        clock += gap
        price = 100 + clock
        host.on_fixed_bar(symbol, Timeframe.D1, clock, price, price, price, price, 1.0)
        history[symbol].append(clock)
        bar, window, _ = spy.calls[-1]
        seen = window.ts_close_us.tolist()
        assert seen[-1] == bar.ts_close_us == clock
        assert seen == history[symbol][-lookback:]
        assert window.close.tolist() == [100 + t for t in seen]
    # Every retained window still shows exactly what it showed when handed out, even after
    # the buffer was refilled: no later bar ever appears in it.
    for bar, window, snapshot in spy.calls:
        assert np.array_equal(window.ts_close_us, snapshot)
        assert int(window.ts_close_us.max()) == bar.ts_close_us


@pytest.mark.parametrize("column", ["ts_close_us", "open", "high", "low", "close", "volume"])
def unit_window_columns_are_read_only_views(column: str) -> None:
    buffer = SeriesBuffer(keep=3)
    for i in range(5):
        buffer.append(i, 10 + i, 11 + i, 9 + i, 10 + i, 5.0)
    window = buffer.window("AAPL", Timeframe.D1, 3)
    array = getattr(window, column)
    assert len(array) == len(window) == 3
    with pytest.raises(ValueError, match="read-only"):
        array[0] = 1
    assert array.base is not None  # a view, not a copy


def unit_window_is_shorter_during_warm_up_and_bounded_afterwards() -> None:
    buffer = SeriesBuffer(keep=4)
    sizes = []
    for i in range(1000):
        buffer.append(i, 1, 1, 1, 1, 0.0)
        sizes.append(len(buffer.window("X", Timeframe.D1, 4)))
    assert sizes[:4] == [1, 2, 3, 4]
    assert set(sizes[4:]) == {4}


def unit_buffer_refuses_keeping_no_bar() -> None:
    with pytest.raises(ValueError, match="keeps at least one bar"):
        SeriesBuffer(keep=0)


def unit_a_retained_window_survives_the_buffer_being_refilled_unchanged() -> None:
    buffer = SeriesBuffer(keep=2)
    buffer.append(0, 5, 5, 5, 5, 0.0)
    buffer.append(1, 6, 6, 6, 6, 0.0)
    first = buffer.window("X", Timeframe.D1, 2)
    for i in range(2, 2000):
        buffer.append(i, 7, 7, 7, 7, 0.0)
    assert first.ts_close_us.tolist() == [0, 1]
    assert first.close.tolist() == [5, 6]
    assert buffer.window("X", Timeframe.D1, 2).ts_close_us.tolist() == [1998, 1999]
