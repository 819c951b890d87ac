"""Builders shared by the backtest tests: configs, tiny bar series, a scripted strategy, runs.

Scenarios run on the ``24/7`` calendar with daily bars closing at 00:00Z (every day is a
session, so a missing day is a gap) and with every cost zeroed unless a test sets one, so
fill prices are the bar prices a reader can check by eye.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from mqk_backtest import BacktestRequest, BacktestResult, run_backtest
from mqk_config import EffectiveConfig, load_config
from mqk_execution import COST_FIELDS
from mqk_schemas import Bar, BarFrame, TargetPosition, Timeframe
from mqk_strategy import (
    BarArrays,
    BarView,
    BarWindow,
    ProtectiveStop,
    StrategyOutput,
    StrategyParams,
    StrategyRegistry,
    StrategySpec,
    TargetSeries,
)
from mqk_strategy.builtins import BUILTIN_SPECS

CONFIG_DIR = Path(__file__).resolve().parents[3] / "config"
SYMBOL = "TEST"
DAY0 = datetime(2024, 1, 1, tzinfo=UTC)
NO_COSTS: dict[str, Any] = {name: Decimal(0) for name in COST_FIELDS}
SAMPLE_COSTS: dict[str, Any] = dict(
    zip(COST_FIELDS, map(Decimal, ["2", "5", "0.1", "50", "0.005", "0", "1"]), strict=True)
)
"""2 bps spread, 5 bps slippage growing with the bar's range (capped at 50), half a cent a
share with a 1.00 minimum per order."""
LOOSE_RISK: dict[str, Any] = {
    "daily_loss_limit": Decimal(1),
    "max_drawdown": Decimal(1),
    "max_position_quantity": Decimal(1_000_000),
    "max_position_notional": Decimal(100_000_000),
    "max_gross_exposure": Decimal(100),
    "max_leverage": Decimal(100),
}


def merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge of two override mappings (``extra`` wins; lists replaced)."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def make_config(
    strategy: str, params: Mapping[str, Any], **sections: Mapping[str, Any]
) -> EffectiveConfig:
    """MAIN on the 24/7 calendar, no costs, loose risk, running ``strategy``; ``sections``
    (``risk=...``, ``execution=...``, ``engine=...``, ``data=...``) override on top."""
    overrides: dict[str, Any] = {
        "engine": {"strategies": [{"name": strategy, "params": dict(params)}]},
        "data": {"calendar": "24/7"},
        "execution": dict(NO_COSTS),
        "risk": dict(LOOSE_RISK),
    }
    overrides = merge(overrides, sections)
    return load_config(CONFIG_DIR, engine="MAIN", env="dev", overrides=overrides)


def day(index: int) -> datetime:
    """Close time of daily bar ``index`` on the 24/7 calendar (00:00Z, from 2024-01-01)."""
    return DAY0 + timedelta(days=index)


def d(text: str | int) -> Decimal:
    """Shorthand for an exact decimal."""
    return Decimal(str(text))


Ohlc = tuple[str | int, str | int, str | int, str | int]


def daily_bars(rows: Sequence[Ohlc], *, skip: Iterable[int] = (), symbol: str = SYMBOL) -> BarFrame:
    """Daily bars ``(open, high, low, close)`` closing on ``day(i)``; indices in ``skip`` are
    left out (their day has no bar), so bar ``i`` always closes on ``day(i)``."""
    missing = set(skip)
    bars = [
        Bar(
            symbol=symbol,
            timeframe=Timeframe.D1,
            ts_close_utc=day(i),
            open=d(o),
            high=d(h),
            low=d(low),
            close=d(c),
            volume=Decimal(1000),
        )
        for i, (o, h, low, c) in enumerate(rows)
        if i not in missing
    ]
    return BarFrame.from_bars(Timeframe.D1, bars)


def flat_bar(price: str | int) -> Ohlc:
    """A bar with open = high = low = close = ``price``."""
    return (price, price, price, price)


def request(config: EffectiveConfig, bars: BarFrame, *, seed: int = 1) -> BacktestRequest:
    """A request with a fixed run id (so event ids are comparable across modes)."""
    return BacktestRequest(
        config=config,
        bars=bars,
        data_files=("scenario.csv",),
        data_hash="0" * 64,
        seed=seed,
        run_id=uuid.UUID(int=seed),
    )


def equity_tuple(result: BacktestResult) -> tuple[list[int], list[int], list[int], list[bool]]:
    """The equity curve as plain lists (comparable, readable in a failure)."""
    curve = result.equity
    return (
        curve.ts_us.tolist(),
        curve.cash_units.tolist(),
        curve.equity_units.tolist(),
        curve.exposed.tolist(),
    )


def run_both_modes(
    req: BacktestRequest, registry: StrategyRegistry | None = None
) -> BacktestResult:
    """Run fast and reference mode, assert identical events and equity, return the fast one."""
    fast = run_backtest(req, mode="fast", registry=registry)
    reference = run_backtest(req, mode="reference", registry=registry)
    assert fast.events == reference.events
    assert equity_tuple(fast) == equity_tuple(reference)
    assert (fast.final_cash, fast.final_equity) == (reference.final_cash, reference.final_equity)
    assert fast.orders == reference.orders
    assert fast.fills == reference.fills
    assert fast.trades == reference.trades
    assert fast.costs_paid == reference.costs_paid
    assert fast.ambiguous_bars == reference.ambiguous_bars
    assert not reference.columnar
    return fast


def event_types(result: BacktestResult) -> list[str]:
    """``TOPIC/EVENT_TYPE`` of every event, in order."""
    return [f"{e['topic']}/{e['event_type']}" for e in result.events]


def events_of(result: BacktestResult, event_type: str) -> list[dict[str, Any]]:
    """Every event of ``event_type``, in order."""
    return [e for e in result.events if e["event_type"] == event_type]


def fills_table(result: BacktestResult) -> list[tuple[str, str, Decimal, Decimal, Decimal]]:
    """``(close time, side, quantity, price, fee)`` of every fill."""
    return [(f.ts_utc.isoformat(), f.side.value, f.quantity, f.price, f.fee) for f in result.fills]


def orders_table(result: BacktestResult) -> list[tuple[str, str, str, Decimal, str]]:
    """``(side, type, stop or limit price, quantity, status)`` of every order, oldest first."""
    return [
        (
            o.side.value,
            o.order_type.value,
            str(o.stop_price or o.limit_price or ""),
            o.quantity,
            o.status.value,
        )
        for o in result.orders
    ]


def equity_decimals(result: BacktestResult) -> list[Decimal]:
    """Equity after every step as exact decimals."""
    return [Decimal(int(u)).scaleb(-8) for u in result.equity.equity_units.tolist()]


# -- a scripted strategy ---------------------------------------------------------------------


class ScriptParams(StrategyParams):
    """``plan``: from bar index (as text) to ``[quantity, stop or "", take-profit or ""]``;
    quiet bars keep the last plan entry. Bars before the first entry are warm-up (no output).

    The take-profit is recorded but cannot be handed to execution: a strategy's output
    carries target positions and protective stops only.
    """

    plan: dict[str, list[str]] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class _Step:
    quantity: Decimal
    stop: Decimal | None
    take_profit: Decimal | None


class ScriptStrategy:
    """Targets by bar close time (index ``i`` = ``day(i)``): a test's exact wishes.

    Keyed by close time, not by bar count, so a missing bar does not shift the script. It
    has both forms (bar by bar and vectorised), so fast mode can skip quiet stretches.
    """

    def __init__(self, params: ScriptParams) -> None:
        steps: dict[int, _Step] = {}
        for index, (quantity, stop, take_profit) in params.plan.items():
            us = int((day(int(index)) - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds())
            steps[us * 1_000_000] = _Step(
                Decimal(quantity),
                Decimal(stop) if stop else None,
                Decimal(take_profit) if take_profit else None,
            )
        self._keys = np.array(sorted(steps), dtype=np.int64)
        self._steps = [steps[int(k)] for k in self._keys]

    @property
    def lookback(self) -> int:
        """Only the current bar."""
        return 1

    def _at(self, ts_us: int) -> _Step | None:
        position = int(np.searchsorted(self._keys, ts_us, side="right")) - 1
        return self._steps[position] if position >= 0 else None

    def on_bar(self, bar: BarView, window: BarWindow) -> StrategyOutput | None:
        """The plan entry in force at this bar."""
        step = self._at(bar.ts_close_us)
        if step is None:
            return None
        target = TargetPosition(symbol=bar.symbol, quantity=step.quantity)
        stops = (
            (ProtectiveStop(bar.symbol, step.stop, step.take_profit),)
            if step.stop is not None
            else ()
        )
        return StrategyOutput(targets=(target,), stops=stops)

    def targets_vectorised(self, bars: BarArrays) -> TargetSeries:
        """The same plan over whole arrays."""
        n = len(bars)
        quantity = np.zeros(n, dtype=np.int64)
        stop = np.zeros(n, dtype=np.int64)
        take_profit = np.zeros(n, dtype=np.int64)
        active = np.zeros(n, dtype=np.bool_)
        for i, ts in enumerate(bars.ts_close_us.tolist()):
            step = self._at(ts)
            if step is None:
                continue
            active[i] = True
            quantity[i] = int(step.quantity.scaleb(8))
            stop[i] = 0 if step.stop is None else int(step.stop.scaleb(8))
            if step.stop is not None and step.take_profit is not None:
                take_profit[i] = int(step.take_profit.scaleb(8))
        return TargetSeries(quantity=quantity, active=active, stop=stop, take_profit=take_profit)


SCRIPT: StrategySpec[ScriptParams] = StrategySpec(
    name="script",
    params_model=ScriptParams,
    factory=ScriptStrategy,
    summary="targets and stops from a per-bar plan (tests only)",
)


def registry() -> StrategyRegistry:
    """The builtins plus the scripted test strategy."""
    return StrategyRegistry([*BUILTIN_SPECS, SCRIPT])


def plan(**entries: tuple[str | int, ...] | tuple[str | int, str | int | None]) -> dict[str, Any]:
    """Params of the scripted strategy: ``plan(b3=(100, 95))`` means "from bar 3 on, hold
    100 with a stop at 95"; ``(100, 95, 110)`` adds a take-profit at 110; ``(0, None)`` flat."""
    out: dict[str, list[str]] = {}
    for key, entry in entries.items():
        quantity, *prices = entry
        prices = [*prices, None, None][:2]
        out[key.removeprefix("b")] = [str(quantity), *("" if p is None else str(p) for p in prices)]
    return {"plan": out}
