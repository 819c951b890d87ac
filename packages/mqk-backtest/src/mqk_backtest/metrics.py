"""Performance metrics of a finished run, from its equity curve and closed trades.

Money stays exact (Decimal) where it is reported as money (final equity, PnL, costs); ratios are
floats computed with numpy and rounded to 10 decimal places, so the same inputs always give the
same ``metrics.json`` bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from mqk_schemas import format_utc

__all__ = ["PERCENT_METRICS", "ClosedTrade", "compute_metrics"]

PERCENT_METRICS = frozenset(
    {
        "total_return",
        "cagr",
        "max_drawdown",
        "volatility",
        "win_rate",
        "exposure_time",
        "worst_5day_return",
        "profitable_months_pct",
    }
)
"""Metrics that are fractions and read best as percentages (0.0123 -> 1.23%)."""

_DIGITS = 10
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """One round trip (entry to exit of a position), with its net PnL after fees."""

    symbol: str
    entry_ts: datetime
    exit_ts: datetime
    quantity: Decimal
    pnl: Decimal

    def __init__(
        self, symbol: str, entry_ts: datetime, exit_ts: datetime, quantity: Decimal, pnl: Decimal
    ) -> None:
        # written out (not generated): compiled, native code that still refuses assignment
        object.__setattr__(self, "symbol", symbol)
        object.__setattr__(self, "entry_ts", entry_ts)
        object.__setattr__(self, "exit_ts", exit_ts)
        object.__setattr__(self, "quantity", quantity)
        object.__setattr__(self, "pnl", pnl)


def _ratio(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, _DIGITS)


def _stamp(value: np.datetime64) -> str:
    micros = int(value.astype("datetime64[us]").astype(np.int64))
    return format_utc(_EPOCH + timedelta(microseconds=micros))


def _max_drawdown(
    curve: npt.NDArray[np.float64], ts: npt.NDArray[np.datetime64]
) -> tuple[float, str | None, str | None, str | None]:
    """Depth, peak, trough and recovery times of the deepest drawdown of ``curve``: the
    starting equity, then one mark per bar (the start is stamped like the first bar)."""
    drawdown = np.maximum.accumulate(curve)  # the running peak, then divided in place
    np.divide(curve, drawdown, out=drawdown)
    drawdown -= 1.0
    trough = int(np.argmin(drawdown))
    depth = float(drawdown[trough])
    if depth >= 0.0:
        return 0.0, None, None, None
    del drawdown
    peak_index = int(np.argmax(curve[: trough + 1]))
    recovered = np.nonzero(curve[trough:] >= curve[peak_index])[0]
    recovery = _bar_stamp(ts, trough + int(recovered[0])) if recovered.size else None
    return depth, _bar_stamp(ts, peak_index), _bar_stamp(ts, trough), recovery


def _bar_stamp(ts: npt.NDArray[np.datetime64], curve_index: int) -> str:
    """The time of the curve's mark ``curve_index`` (mark 0, the start, has the first bar's)."""
    return _stamp(ts[max(curve_index - 1, 0)])


def _period_ends(periods: npt.NDArray[np.datetime64]) -> npt.NDArray[np.bool_]:
    """True where the next entry is in another period (and at the last entry)."""
    ends: npt.NDArray[np.bool_] = np.r_[periods[1:] != periods[:-1], True]
    return ends


def _day_and_month_closes(
    equity: npt.NDArray[np.float64], ts: npt.NDArray[np.datetime64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Last equity of each UTC day and of each UTC month.

    A month ends only where a day ends, and the bars between two day ends share a day, so the
    month ends are the day ends whose month differs from the next day end's: only those few
    stamps are converted to months (a month conversion of every bar costs ~13 ms at 1M bars).
    """
    day_ends = np.flatnonzero(_period_ends(ts.astype("datetime64[D]")))
    months = ts[day_ends].astype("datetime64[M]")
    daily = equity[day_ends]
    return daily, daily[_period_ends(months)]


def compute_metrics(
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
    # a long run has a million bars: the curve-sized arrays below are computed in place, one
    # at a time where the formulas allow (each is 8 MB at 1M bars)
    curve = np.empty(n + 1, dtype=np.float64)
    curve[0] = start
    curve[1:] = equity
    total_return = float(final_equity / initial_equity) - 1.0

    returns = curve[1:] / curve[:-1]
    returns -= 1.0
    std = float(np.std(returns, ddof=1)) if returns.size > 1 else 0.0
    excess = returns  # the returns are not needed again: the excess returns take their place
    excess -= float(risk_free_rate) / periods_per_year
    mean_excess = float(np.mean(excess)) if excess.size else 0.0
    sharpe = mean_excess / std * math.sqrt(periods_per_year) if std > 0 else None
    downside = 0.0
    if excess.size:
        shortfall = np.minimum(excess, 0.0, out=excess)
        downside = float(np.sqrt(np.mean(np.square(shortfall, out=shortfall))))
    del returns, excess
    sortino = mean_excess / downside * math.sqrt(periods_per_year) if downside > 0 else None
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
        depth, peak_at, trough_at, recovered_at = _max_drawdown(curve, timestamps)
    else:
        depth, peak_at, trough_at, recovered_at = 0.0, None, None, None

    worst_5d: float | None = None
    profitable_months_pct: float | None = None
    if n:
        daily, month_closes = _day_and_month_closes(equity, timestamps)
        if daily.size > 5:
            worst_5d = float(np.min(daily[5:] / daily[:-5] - 1.0))
        monthly = np.concatenate(([start], month_closes))
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
