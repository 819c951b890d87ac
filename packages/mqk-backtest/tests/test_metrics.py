"""Metrics are computed exactly as defined, from hand-checkable equity curves."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest

from mqk_backtest.metrics import ClosedTrade, compute_metrics


def _days(*days: str) -> np.ndarray:
    return np.array([np.datetime64(f"{d}T21:00:00", "us") for d in days])


def _trade(pnl: str) -> ClosedTrade:
    ts = datetime(2024, 1, 2, tzinfo=UTC)
    return ClosedTrade("AAPL", ts, ts, Decimal(1), Decimal(pnl))


def unit_drawdown_return_and_trade_stats_match_hand_computation() -> None:
    ts = _days("2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-02-01")
    equity = np.array([110.0, 99.0, 121.0, 108.9, 130.0])
    metrics = compute_metrics(
        timestamps=ts,
        equity=equity,
        initial_equity=Decimal(100),
        final_equity=Decimal(130),
        trades=[_trade("30"), _trade("-10"), _trade("10")],
        exposed_bars=3,
        periods_per_year=252,
    )
    assert metrics["total_return"] == 0.3
    assert metrics["max_drawdown"] == -0.1
    assert metrics["max_drawdown_peak_at"] == "2024-01-02T21:00:00Z"
    assert metrics["max_drawdown_trough_at"] == "2024-01-03T21:00:00Z"
    assert metrics["max_drawdown_recovered_at"] == "2024-01-04T21:00:00Z"
    assert metrics["trades"] == 3
    assert metrics["win_rate"] == round(2 / 3, 10)
    assert metrics["profit_factor"] == 4.0
    assert metrics["exposure_time"] == 0.6
    assert metrics["profitable_months_pct"] == 1.0
    assert metrics["final_equity"] == Decimal(130)
    returns = np.array([0.1, -0.1, 121 / 99 - 1, -0.1, 130 / 108.9 - 1])
    expected_sharpe = returns.mean() / returns.std(ddof=1) * math.sqrt(252)
    assert metrics["sharpe"] == round(expected_sharpe, 10)


def unit_worst_five_day_return_uses_daily_closes() -> None:
    days = [f"2024-01-{d:02d}" for d in range(1, 11)]
    equity = np.array([100, 101, 102, 103, 104, 90, 91, 92, 93, 94], dtype=float)
    metrics = compute_metrics(
        timestamps=_days(*days),
        equity=equity,
        initial_equity=Decimal(100),
        final_equity=Decimal(94),
        trades=[],
        exposed_bars=0,
        periods_per_year=252,
    )
    assert metrics["worst_5day_return"] == round(90 / 100 - 1, 10)
    assert metrics["win_rate"] is None
    assert metrics["profit_factor"] is None


def unit_flat_equity_has_no_ratio_instead_of_a_division_by_zero() -> None:
    metrics = compute_metrics(
        timestamps=_days("2024-01-02", "2024-01-03"),
        equity=np.array([100.0, 100.0]),
        initial_equity=Decimal(100),
        final_equity=Decimal(100),
        trades=[],
        exposed_bars=0,
        periods_per_year=252,
    )
    assert metrics["sharpe"] is None
    assert metrics["sortino"] is None
    assert metrics["max_drawdown"] == 0.0
    assert metrics["max_drawdown_peak_at"] is None


def unit_mismatched_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="same length"):
        compute_metrics(
            timestamps=_days("2024-01-02"),
            equity=np.array([1.0, 2.0]),
            initial_equity=Decimal(1),
            final_equity=Decimal(2),
            trades=[],
            exposed_bars=0,
            periods_per_year=252,
        )


def unit_a_gain_over_minutes_has_no_cagr_instead_of_an_overflow() -> None:
    stamps = np.array(
        [np.datetime64("2024-01-02T15:00:00", "us"), np.datetime64("2024-01-02T15:11:00", "us")]
    )
    metrics = compute_metrics(
        timestamps=stamps,
        equity=np.array([100.0, 150.0]),
        initial_equity=Decimal(100),
        final_equity=Decimal(150),
        trades=[],
        exposed_bars=2,
        periods_per_year=252 * 390,
    )
    assert metrics["cagr"] is None
    assert metrics["total_return"] == 0.5
