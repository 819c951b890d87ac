"""A bar file of another timeframe (or calendar) than the run's is refused whole, up front.

Bars that do not close on a bar close of the run's timeframe and calendar are REJECTed by the
integrity gate one by one, as in a live run. When that is most of the file, the file simply
holds other bars (1-minute bars run as daily ones, say): the run would reject nearly every bar
and trade on the few that happen to fit, so it is refused before anything runs.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from backtest_support import DAY0, SYMBOL, daily_bars, flat_bar, make_config, request

from mqk_backtest import BacktestInputError, run_backtest
from mqk_schemas import Bar, BarFrame, Timeframe

_SMA = {"fast": 2, "slow": 3, "qty": 1}


def _hourly_bars_labelled_daily(hours: int) -> BarFrame:
    """``hours`` one-hour bars from 01:00Z on, given to the engine as daily bars."""
    return BarFrame.from_bars(
        Timeframe.D1,
        [
            Bar(
                symbol=SYMBOL,
                timeframe=Timeframe.D1,
                ts_close_utc=DAY0 + timedelta(hours=h + 1),
                open=Decimal(100),
                high=Decimal(100),
                low=Decimal(100),
                close=Decimal(100),
                volume=Decimal(1000),
            )
            for h in range(hours)
        ],
    )


@pytest.mark.parametrize("mode", ["fast", "reference"])
def fault_bars_of_another_timeframe_are_refused_before_the_run(mode: str) -> None:
    # 48 hourly closes: only 2024-01-02T00:00Z and 2024-01-03T00:00Z are daily closes (24/7)
    bars = _hourly_bars_labelled_daily(48)
    with pytest.raises(BacktestInputError) as caught:
        run_backtest(request(make_config("sma_cross", _SMA), bars), mode=mode)
    assert str(caught.value) == (
        "46 of 48 bars (95.8%) do not close on a 1d bar close of 24/7, so the file does not"
        " hold 1d 24/7 bars (first: TEST bar closing 2024-01-01T01:00:00Z is not a 1d bar"
        " close of calendar 24/7); check --timeframe and --calendar (mqk-cli data validate"
        " lists every issue)"
    )


def invariant_off_calendar_bars_up_to_half_the_file_are_left_to_the_gate() -> None:
    # 4 daily bars (on the grid) and 4 hourly ones between them (off it): exactly half
    on_grid = daily_bars([flat_bar(100)] * 4)
    off_grid = _hourly_bars_labelled_daily(4)  # 01:00Z..04:00Z on the first day
    both = BarFrame(Timeframe.D1, on_grid.frame.vstack(off_grid.frame).sort("ts_close_utc"))
    result = run_backtest(request(make_config("sma_cross", _SMA), both))
    refused = [
        e["payload"]["reason_code"]
        for e in result.events
        if e["event_type"] == "DECISION" and e["topic"] == "MARKET"
    ]
    assert refused == ["BAR_OFF_CALENDAR"] * 4
    assert len(result.equity.ts_us) == 8
