"""The engine's ``sma_cross`` equals a plain loop written here with no engine code.

The loop: SMA(fast) and SMA(slow) of the closes as exact Decimals; long ``qty`` while
SMA(fast) > SMA(slow), else flat; a change decided on bar t's close trades at bar t+1's open;
no costs. Both must give the same fills (time, side, price), the same round trips and the
same final equity.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from backtest_support import LOOSE_RISK, NO_COSTS, request, run_both_modes

from mqk_config import EffectiveConfig, load_config
from mqk_integrity import load_bars, synth_bars
from mqk_schemas import BarFrame, Timeframe

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "examples" / "data" / "AAPL_1d.csv"
CASH = Decimal(100_000)


@dataclass(frozen=True)
class Row:
    ts: datetime
    open: Decimal
    close: Decimal


def _rows_from_csv(path: Path) -> list[Row]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            Row(
                datetime.fromisoformat(r["ts_close_utc"].replace("Z", "+00:00")),
                Decimal(r["open"]),
                Decimal(r["close"]),
            )
            for r in csv.DictReader(handle)
        ]


def _rows_from_frame(frame: BarFrame) -> list[Row]:
    return [
        Row(r["ts_close_utc"], Decimal(r["open"]), Decimal(r["close"]))
        for r in frame.frame.iter_rows(named=True)
    ]


def _plain_sma_loop(
    rows: list[Row], fast: int, slow: int, qty: Decimal
) -> tuple[list[tuple[datetime, str, Decimal]], Decimal]:
    """Fills ``(time, side, price)`` and final equity of the textbook rule."""
    cash, held = CASH, Decimal(0)
    fills: list[tuple[datetime, str, Decimal]] = []
    wanted = Decimal(0)
    for i, row in enumerate(rows):
        if wanted != held:  # decided on the previous close, executed at this open
            side = "BUY" if wanted > held else "SELL"
            cash -= (wanted - held) * row.open
            fills.append((row.ts, side, row.open))
            held = wanted
        if i + 1 >= slow:
            closes = [r.close for r in rows[i + 1 - slow : i + 1]]
            sma_fast = sum(closes[-fast:], Decimal(0)) / fast
            sma_slow = sum(closes, Decimal(0)) / slow
            wanted = qty if sma_fast > sma_slow else Decimal(0)
    return fills, cash + held * rows[-1].close


def _config(calendar: str, fast: int, slow: int, qty: int) -> EffectiveConfig:
    params = {"fast": fast, "slow": slow, "qty": qty}
    overrides = {
        "engine": {"strategies": [{"name": "sma_cross", "params": params}]},
        "data": {"calendar": calendar},
        "execution": NO_COSTS,
        "risk": LOOSE_RISK,
    }
    return load_config(REPO / "config", engine="MAIN", env="dev", overrides=overrides)


CASES = [
    pytest.param("sample", "XNYS", 10, 20, id="AAPL_1d-10-20"),
    pytest.param("sample", "XNYS", 5, 40, id="AAPL_1d-5-40"),
    pytest.param("synth", "24/7", 4, 16, id="synth-4-16"),
]


@pytest.mark.parametrize(("source", "calendar", "fast", "slow"), CASES)
def invariant_sma_cross_matches_a_plain_decimal_loop(
    source: str, calendar: str, fast: int, slow: int
) -> None:
    qty = 100
    if source == "sample":
        bars = load_bars(SAMPLE, Timeframe.D1)
        rows = _rows_from_csv(SAMPLE)
    else:
        bars = synth_bars(
            symbols=["SYN"],
            timeframe=Timeframe.D1,
            start=date(2023, 1, 1),
            bars=400,
            seed=11,
            calendar="24/7",
        )
        rows = _rows_from_frame(bars)
    expected_fills, expected_equity = _plain_sma_loop(rows, fast, slow, Decimal(qty))
    result = run_both_modes(request(_config(calendar, fast, slow, qty), bars))

    assert result.mode == "fast"
    assert len(expected_fills) >= 10  # the series really crosses back and forth
    assert [(f.ts_utc, f.side.value, f.price) for f in result.fills] == expected_fills
    assert all(f.quantity == qty and f.fee == 0 for f in result.fills)
    entries, exits = expected_fills[::2], expected_fills[1::2]
    expected_trades = [(a[0], b[0]) for a, b in zip(entries, exits, strict=False)]
    assert [(t.entry_ts, t.exit_ts) for t in result.trades] == expected_trades
    assert result.final_equity == expected_equity
    assert result.equity.ts_us.shape[0] == len(rows)
