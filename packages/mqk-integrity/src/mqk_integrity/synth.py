"""Deterministic synthetic bars: geometric Brownian motion with trending regimes.

The same arguments (seed included) give the same bars, in any process. Close times are the
session grid of a calendar (or ``24/7``), so synthetic files pass the gap rules; prices are
exact Decimals rounded to cents with valid OHLC. Generation is vectorised (numpy): a million
one-minute bars take about a second.

Model, per symbol (own random stream from the seed and the symbol name): the drift switches
between regimes of geometric length (mean ``regime_bars``), each with an annual drift of
``drift + 2 * volatility * z``; the close follows GBM with annual ``volatility``; the open is
the previous close with a small gap; wicks and volume are lognormal. Annualisation uses the
calendar's own count of bars in the year after ``start``.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import numpy.typing as npt
import polars as pl

from mqk_integrity._calendar import SessionGrid, ts_to_us
from mqk_integrity._write import write_bars
from mqk_integrity.errors import SynthError
from mqk_schemas import BAR_FRAME_SCHEMA, BarFrame, Timeframe

__all__ = ["MAX_SYNTH_BARS", "synth_bars", "write_bars"]

MAX_SYNTH_BARS = 20_000_000
"""Most bars per symbol one call generates."""

_SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9._/\-]{0,23}$")
_US_PER_YEAR = 365 * 86_400_000_000


def synth_bars(
    *,
    symbols: Sequence[str],
    timeframe: Timeframe,
    start: date,
    bars: int,
    seed: int,
    calendar: str = "XNYS",
    start_price: Decimal = Decimal(100),
    drift: Decimal = Decimal("0.05"),
    volatility: Decimal = Decimal("0.3"),
    regime_bars: int = 60,
) -> BarFrame:
    """``bars`` synthetic bars per symbol closing on the ``calendar`` grid from ``start`` on."""
    _check(symbols, bars, seed, start_price, volatility, regime_bars)
    grid = SessionGrid(calendar, timeframe)
    start_us = ts_to_us(datetime(start.year, start.month, start.day, tzinfo=UTC))
    closes = grid.first_closes(start_us, bars)
    per_year = _bars_per_year(grid, start_us)
    times = pl.Series("ts_close_utc", closes).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    parts = [
        _one_symbol(
            symbol,
            times,
            _path(seed, symbol, bars, per_year, start_price, drift, volatility, regime_bars),
        )
        for symbol in sorted(symbols)
    ]
    frame = pl.concat(parts).select(BAR_FRAME_SCHEMA.keys()).cast(pl.Schema(BAR_FRAME_SCHEMA))
    return BarFrame(timeframe, frame)


def _check(
    symbols: Sequence[str],
    bars: int,
    seed: int,
    start_price: Decimal,
    volatility: Decimal,
    regime_bars: int,
) -> None:
    if not symbols or len(set(symbols)) != len(symbols):
        raise SynthError(f"symbols must be distinct and at least one, got {list(symbols)}")
    for symbol in symbols:
        if not _SYMBOL_RE.match(symbol):
            raise SynthError(f"{symbol!r} is not a symbol (upper-case letters, digits, . _ / -)")
    if not 1 <= bars <= MAX_SYNTH_BARS:
        raise SynthError(f"bars must be between 1 and {MAX_SYNTH_BARS}, got {bars}")
    if seed < 0:
        raise SynthError(f"seed must be >= 0, got {seed}")
    if not Decimal("0.01") <= start_price <= Decimal(1_000_000):
        raise SynthError(f"start_price must be between 0.01 and 1000000, got {start_price}")
    if not Decimal(0) < volatility <= Decimal(5):
        raise SynthError(f"volatility must be in (0, 5], got {volatility}")
    if regime_bars < 1:
        raise SynthError(f"regime_bars must be >= 1, got {regime_bars}")


def _bars_per_year(grid: SessionGrid, start_us: int) -> int:
    closes = grid.first_closes(start_us, 1)
    first = int(closes[0])
    grid.ensure(first, first + _US_PER_YEAR)
    all_closes = grid.closes
    lo = int(np.searchsorted(all_closes, first, side="left"))
    hi = int(np.searchsorted(all_closes, first + _US_PER_YEAR, side="left"))
    return max(hi - lo, 1)


def _symbol_key(symbol: str) -> int:
    return int.from_bytes(hashlib.sha256(symbol.encode("utf-8")).digest()[:8], "big")


F64 = npt.NDArray[np.float64]


def _path(
    seed: int,
    symbol: str,
    n: int,
    per_year: int,
    start_price: Decimal,
    drift: Decimal,
    volatility: Decimal,
    regime_bars: int,
) -> tuple[F64, F64, F64, F64, F64]:
    """Open, high, low, close and volume paths (floats, before rounding)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, _symbol_key(symbol)])))
    dt = 1.0 / per_year
    vol = float(volatility)
    sigma = vol * math.sqrt(dt)
    lengths = rng.geometric(1.0 / regime_bars, size=n)
    regime = np.searchsorted(np.cumsum(lengths), np.arange(n), side="right")
    regime_drift = float(drift) + 2.0 * vol * rng.standard_normal(n)
    mu = regime_drift[regime]
    steps = (mu - 0.5 * vol * vol) * dt + sigma * rng.standard_normal(n)
    close = float(start_price) * np.exp(np.cumsum(steps))
    previous = np.concatenate(([float(start_price)], close[:-1]))
    open_ = previous * np.exp(0.1 * sigma * rng.standard_normal(n))
    high = np.maximum(open_, close) * np.exp(0.5 * sigma * np.abs(rng.standard_normal(n)))
    low = np.minimum(open_, close) * np.exp(-0.5 * sigma * np.abs(rng.standard_normal(n)))
    volume = np.rint((250_000_000.0 / per_year) * np.exp(0.25 * rng.standard_normal(n)))
    return open_, high, low, close, volume


def _cents(values: F64) -> npt.NDArray[np.int64]:
    cents: npt.NDArray[np.int64] = np.maximum(np.rint(values * 100.0), 1).astype(np.int64)
    return cents


def _price_column(name: str, cents: npt.NDArray[np.int64]) -> pl.Series:
    """Exact prices from integer cents (integer times the exact decimal 0.01)."""
    cent = pl.Series([Decimal("0.01")], dtype=pl.Decimal(38, 2))
    return (
        (pl.Series(cents).cast(pl.Decimal(38, 0)) * cent).cast(BAR_FRAME_SCHEMA["open"]).alias(name)
    )


def _one_symbol(
    symbol: str, times: pl.Series, path: tuple[F64, F64, F64, F64, F64]
) -> pl.DataFrame:
    open_f, high_f, low_f, close_f, volume_f = path
    o, c = _cents(open_f), _cents(close_f)
    h = np.maximum(_cents(high_f), np.maximum(o, c))
    lo = np.minimum(_cents(low_f), np.minimum(o, c))
    n = times.len()
    return pl.DataFrame(
        [
            pl.repeat(symbol, n, dtype=pl.String, eager=True).alias("symbol"),
            times,
            _price_column("open", o),
            _price_column("high", h),
            _price_column("low", lo),
            _price_column("close", c),
            pl.Series("volume", volume_f.astype(np.int64)).cast(BAR_FRAME_SCHEMA["volume"]),
            pl.repeat(True, n, dtype=pl.Boolean, eager=True).alias("is_complete"),
        ]
    )
