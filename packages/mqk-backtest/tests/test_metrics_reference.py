"""Metrics equal the previous definition exactly: day and month closes (each bar's period
compared directly) and every metric of ``compute_metrics`` (the straightforward array
expressions, each curve-sized temporary made anew)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from mqk_backtest.metrics import ClosedTrade, _day_and_month_closes, _ratio, _stamp, compute_metrics

# --- the previous definition ------------------------------------------------------------------


def _ref_max_drawdown(
    equity: npt.NDArray[np.float64], ts: npt.NDArray[np.datetime64]
) -> tuple[float, str | None, str | None, str | None]:
    peak = np.maximum.accumulate(equity)
    drawdown = equity / peak - 1.0
    trough = int(np.argmin(drawdown))
    depth = float(drawdown[trough])
    if depth >= 0.0:
        return 0.0, None, None, None
    peak_index = int(np.argmax(equity[: trough + 1]))
    recovered = np.nonzero(equity[trough:] >= equity[peak_index])[0]
    recovery = _stamp(ts[trough + int(recovered[0])]) if recovered.size else None
    return depth, _stamp(ts[peak_index]), _stamp(ts[trough]), recovery


def _ref_compute_metrics(
    *,
    timestamps: npt.NDArray[np.datetime64],
    equity: npt.NDArray[np.float64],
    initial_equity: Decimal,
    final_equity: Decimal,
    trades: Sequence[ClosedTrade],
    exposed_bars: int,
    periods_per_year: int,
    risk_free_rate: Decimal = Decimal(0),
    costs_paid: Decimal = Decimal(0),
    ambiguous_bars: int = 0,
) -> dict[str, Any]:
    """Compute the metrics of ``metrics.json`` from one equity mark per bar.

    ``equity`` (float, for ratios only) and ``timestamps`` (UTC ``datetime64``) have one entry per
    bar; ``final_equity`` is the exact final equity.
    """
    if timestamps.shape != equity.shape:
        raise ValueError("timestamps and equity must have the same length")
    if initial_equity <= 0:
        raise ValueError("initial equity must be > 0")
    n = int(equity.shape[0])
    start = float(initial_equity)
    curve = np.concatenate(([start], equity.astype(np.float64)))
    total_return = float(final_equity / initial_equity) - 1.0

    returns = curve[1:] / curve[:-1] - 1.0
    excess = returns - float(risk_free_rate) / periods_per_year
    std = float(np.std(returns, ddof=1)) if returns.size > 1 else 0.0
    sharpe = float(np.mean(excess)) / std * math.sqrt(periods_per_year) if std > 0 else None
    downside = float(np.sqrt(np.mean(np.minimum(excess, 0.0) ** 2))) if returns.size else 0.0
    sortino = (
        float(np.mean(excess)) / downside * math.sqrt(periods_per_year) if downside > 0 else None
    )
    volatility = std * math.sqrt(periods_per_year)

    cagr: float | None = None
    if n >= 2 and final_equity > 0:
        span = (timestamps[-1] - timestamps[0]).astype("timedelta64[us]").astype(np.int64)
        years = float(span) / 1e6 / (365.25 * 86400)
        if years > 0:
            try:
                cagr = float(final_equity / initial_equity) ** (1.0 / years) - 1.0
            except OverflowError:
                cagr = None  # a gain annualised over minutes: no meaningful CAGR

    if n:
        depth, peak_at, trough_at, recovered_at = _ref_max_drawdown(
            curve, np.concatenate((timestamps[:1], timestamps))
        )
    else:
        depth, peak_at, trough_at, recovered_at = 0.0, None, None, None

    worst_5d: float | None = None
    profitable_months_pct: float | None = None
    if n:
        daily = _ref_period_closes(equity, timestamps, "D")
        if daily.size > 5:
            worst_5d = float(np.min(daily[5:] / daily[:-5] - 1.0))
        monthly = np.concatenate(([start], _ref_period_closes(equity, timestamps, "M")))
        profitable_months_pct = float(np.mean(monthly[1:] > monthly[:-1]))

    wins = [t.pnl for t in trades if t.pnl > 0]
    losses = [t.pnl for t in trades if t.pnl < 0]
    gross_win = sum(wins, Decimal(0))
    gross_loss = -sum(losses, Decimal(0))
    profit_factor = float(gross_win / gross_loss) if gross_loss > 0 else None

    return {
        "initial_equity": initial_equity,
        "final_equity": final_equity,
        "total_return": _ratio(total_return),
        "cagr": _ratio(cagr),
        "sharpe": _ratio(sharpe),
        "sortino": _ratio(sortino),
        "volatility": _ratio(volatility),
        "max_drawdown": _ratio(depth),
        "max_drawdown_peak_at": peak_at,
        "max_drawdown_trough_at": trough_at,
        "max_drawdown_recovered_at": recovered_at,
        "profit_factor": _ratio(profit_factor),
        "win_rate": _ratio(len(wins) / len(trades)) if trades else None,
        "trades": len(trades),
        "exposure_time": _ratio(exposed_bars / n) if n else 0.0,
        "worst_5day_return": _ratio(worst_5d),
        "profitable_months_pct": _ratio(profitable_months_pct),
        "bars": n,
        "costs_paid": costs_paid,
        "ambiguous_bars_worst_case": ambiguous_bars,
    }


def _ref_period_closes(
    equity: npt.NDArray[np.float64], ts: npt.NDArray[np.datetime64], unit: str
) -> npt.NDArray[np.float64]:
    period = ts.astype(f"datetime64[{unit}]")
    last = np.r_[period[1:] != period[:-1], True]
    return equity[last]


_US_PER_DAY = 86_400 * 10**6


@st.composite
def _curves(draw: st.DrawFn) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.datetime64]]:
    n = draw(st.integers(1, 200))
    start = draw(st.integers(-(10**17), 10**17))  # about 1653 to 5138
    steps = draw(
        st.lists(
            st.one_of(
                st.integers(0, _US_PER_DAY),
                st.integers(-_US_PER_DAY, 40 * _US_PER_DAY),  # out of order, month jumps
                st.sampled_from([60 * 10**6, _US_PER_DAY, 31 * _US_PER_DAY]),
            ),
            min_size=n,
            max_size=n,
        )
    )
    micros = start + np.cumsum(np.array(steps, dtype=np.int64))
    equity = np.arange(n, dtype=np.float64) + 0.5
    return equity, micros.view("datetime64[us]")


@settings(max_examples=300, deadline=None)
@given(curve=_curves())
def invariant_day_and_month_closes_equal_each_bars_period_compared(
    curve: tuple[npt.NDArray[np.float64], npt.NDArray[np.datetime64]],
) -> None:
    equity, ts = curve
    daily, monthly = _day_and_month_closes(equity, ts)

    assert daily.tolist() == _ref_period_closes(equity, ts, "D").tolist()
    assert monthly.tolist() == _ref_period_closes(equity, ts, "M").tolist()


def unit_month_closes_of_bars_across_a_month_end() -> None:
    ts = np.array(
        ["2024-01-31T20:00", "2024-01-31T21:00", "2024-02-01T14:30", "2024-02-29T21:00"],
        dtype="datetime64[us]",
    )
    daily, monthly = _day_and_month_closes(np.array([1.0, 2.0, 3.0, 4.0]), ts)

    assert daily.tolist() == [2.0, 3.0, 4.0]
    assert monthly.tolist() == [2.0, 4.0]


def _outcome(compute: Any, arguments: dict[str, Any]) -> str:
    """``repr`` of the metrics, or of the error raised (a stamp beyond datetime's years)."""
    try:
        with np.errstate(all="ignore"):
            return repr(compute(**arguments))
    except Exception as exc:  # both definitions must fail alike
        return repr(exc)


_floats = st.one_of(
    st.floats(1.0, 1e7, allow_nan=False),
    st.floats(-1e3, 1e7, allow_nan=False),
    st.sampled_from([100_000.0, 99_999.5, 0.0]),
)


@settings(max_examples=300, deadline=None)
@given(
    curve=_curves(),
    marks=st.lists(_floats, min_size=200, max_size=200),
    start=st.sampled_from([Decimal(100_000), Decimal("0.5"), Decimal(7)]),
    final=st.sampled_from([Decimal(98_717), Decimal(0), Decimal("-5"), Decimal("123.45")]),
    pnls=st.lists(st.sampled_from(["30", "-10", "0", "0.01"]), max_size=5),
    rate=st.sampled_from([Decimal(0), Decimal("0.05")]),
)
def invariant_compute_metrics_equals_the_previous_definition(
    curve: tuple[npt.NDArray[np.float64], npt.NDArray[np.datetime64]],
    marks: list[float],
    start: Decimal,
    final: Decimal,
    pnls: list[str],
    rate: Decimal,
) -> None:
    _, ts = curve
    equity = np.array(marks[: ts.shape[0]], dtype=np.float64)
    stamp = datetime(2024, 1, 2, tzinfo=UTC)
    trades = [ClosedTrade("SYN", stamp, stamp, Decimal(1), Decimal(p)) for p in pnls]
    arguments: dict[str, Any] = {
        "timestamps": ts,
        "equity": equity,
        "initial_equity": start,
        "final_equity": final,
        "trades": trades,
        "exposed_bars": ts.shape[0] // 2,
        "periods_per_year": 252 * 390,
        "risk_free_rate": rate,
    }
    expected = _outcome(_ref_compute_metrics, arguments)
    got = _outcome(compute_metrics, arguments)

    assert got == expected  # repr: NaN-safe, float bits, key order, or the same error
    assert equity.tolist() == marks[: ts.shape[0]]  # the caller's marks are left alone


def unit_compute_metrics_of_no_bars_equals_the_previous_definition() -> None:
    arguments: dict[str, Any] = {
        "timestamps": np.array([], dtype="datetime64[us]"),
        "equity": np.array([], dtype=np.float64),
        "initial_equity": Decimal(100),
        "final_equity": Decimal(100),
        "trades": [],
        "exposed_bars": 0,
        "periods_per_year": 252,
    }
    assert repr(compute_metrics(**arguments)) == repr(_ref_compute_metrics(**arguments))
