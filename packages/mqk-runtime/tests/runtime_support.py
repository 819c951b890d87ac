"""Shared builders of the mqk-runtime tests (imported by test modules and the crash worker)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import Field
from sqlalchemy import Engine

from mqk_config import EffectiveConfig, deep_merge, load_config
from mqk_execution import BrokerAdapter, BrokerCapability, BrokerListener
from mqk_integrity import synth_bars
from mqk_portfolio import EngineLedger
from mqk_runtime import (
    BrokerFaults,
    Failpoints,
    PaperBroker,
    ReplayClock,
    ReplayFeed,
    Runtime,
    paper_broker_factory,
)
from mqk_schemas import (
    Account,
    BrokerSnapshot,
    Order,
    OrderStatus,
    OrderType,
    RunMode,
    Side,
    TargetPosition,
    Timeframe,
)
from mqk_strategy import (
    BarView,
    BarWindow,
    Quantity,
    StrategyOutput,
    StrategyParams,
    StrategyRegistry,
    StrategySpec,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
CONFIG_DIR = REPO_ROOT / "config"

BASE_OVERRIDES: dict[str, Any] = {
    "engine": {"strategies": [{"name": "sma_cross", "params": {"fast": 3, "slow": 8, "qty": 100}}]}
}


def config(overrides: dict[str, Any] | None = None) -> EffectiveConfig:
    """The shipped MAIN/dev config with a fast SMA crossover, plus ``overrides``."""
    return load_config(
        CONFIG_DIR, engine="MAIN", env="dev", overrides=deep_merge(BASE_OVERRIDES, overrides or {})
    )


def strategy(name: str, **params: Any) -> dict[str, Any]:
    """Overrides selecting one strategy."""
    return {"engine": {"strategies": [{"name": name, "params": params}]}}


def feed(bars: int = 40, seed: int = 3, symbols: tuple[str, ...] = ("AAPL",)) -> ReplayFeed:
    """Deterministic synthetic daily bars on the XNYS grid."""
    frame = synth_bars(
        symbols=list(symbols), timeframe=Timeframe.D1, start=date(2024, 1, 2), bars=bars, seed=seed
    )
    return ReplayFeed(frame)


# -- test strategies ----------------------------------------------------------------------------


class QtyParams(StrategyParams):
    """One quantity."""

    qty: Quantity = Field(default=Decimal(10))


class _Flip:
    """Long ``qty`` on even bars, short ``qty`` on odd bars: every bar after the first flips."""

    lookback = 1

    def __init__(self, params: QtyParams) -> None:
        self._qty = params.qty
        self._n = 0

    def on_bar(self, bar: BarView, window: BarWindow) -> StrategyOutput | None:
        self._n += 1
        qty = self._qty if self._n % 2 else -self._qty
        return StrategyOutput(targets=(TargetPosition(symbol=bar.symbol, quantity=qty),))


class _AlwaysLong:
    """Always wants ``qty`` long."""

    lookback = 1

    def __init__(self, params: QtyParams) -> None:
        self._qty = params.qty

    def on_bar(self, bar: BarView, window: BarWindow) -> StrategyOutput | None:
        return StrategyOutput(targets=(TargetPosition(symbol=bar.symbol, quantity=self._qty),))


class _Boom:
    """Long ``qty`` for a few bars, then raises."""

    lookback = 1

    def __init__(self, params: QtyParams) -> None:
        self._qty = params.qty
        self._n = 0

    def on_bar(self, bar: BarView, window: BarWindow) -> StrategyOutput | None:
        self._n += 1
        if self._n > 5:
            raise ZeroDivisionError("strategy bug")
        return StrategyOutput(targets=(TargetPosition(symbol=bar.symbol, quantity=self._qty),))


def registry() -> StrategyRegistry:
    """The installed builtins plus the test strategies ``flip``, ``always_long`` and ``boom``."""
    found = StrategyRegistry.discover()
    return StrategyRegistry(
        [
            *(found.get(name) for name in found.names),
            StrategySpec("flip", QtyParams, _Flip, "flip long/short every bar"),
            StrategySpec("always_long", QtyParams, _AlwaysLong, "always long qty"),
            StrategySpec("boom", QtyParams, _Boom, "raises after five bars"),
        ]
    )


# -- harness ------------------------------------------------------------------------------------


@dataclass
class Harness:
    """Builds runtimes on one database and keeps a handle on every paper broker opened."""

    db: Engine
    cfg: EffectiveConfig
    bars: ReplayFeed
    faults: BrokerFaults | None = None
    failpoints: Failpoints | None = None
    brokers: list[PaperBroker] = field(default_factory=list)
    clock: ReplayClock = field(init=False)

    def __post_init__(self) -> None:
        self.clock = ReplayClock(self.bars.bars[0].ts_close_utc)

    @property
    def broker(self) -> PaperBroker:
        """The last paper broker opened."""
        return self.brokers[-1]

    def factory(self) -> Callable[[Any], BrokerAdapter]:
        """A paper broker factory recording the brokers it opens."""
        return paper_broker_factory(
            self.db,
            self.cfg,
            self.clock,
            faults=self.faults,
            failpoints=self.failpoints,
            on_open=self.brokers.append,
        )

    def create(self, mode: RunMode = RunMode.PAPER) -> Runtime:
        """A new run (CREATED)."""
        return Runtime.create(
            self.db,
            self.cfg,
            self.bars,
            mode=mode,
            clock=self.clock,
            broker_factory=self.factory(),
            registry=registry(),
            failpoints=self.failpoints,
        )

    def resume(self, run_id: uuid.UUID, *, resubmit_missing: bool = True) -> Runtime:
        """Restart ``run_id`` with a fresh clock (a new process)."""
        self.clock = ReplayClock(self.bars.bars[0].ts_close_utc)
        return Runtime.resume(
            self.db,
            self.cfg,
            run_id,
            self.bars,
            clock=self.clock,
            broker_factory=self.factory(),
            registry=registry(),
            failpoints=self.failpoints,
            resubmit_missing=resubmit_missing,
        )

    def start(self, mode: RunMode = RunMode.PAPER, confirmation: str | None = None) -> Runtime:
        """A run created, armed and begun."""
        runtime = self.create(mode)
        runtime.arm(confirmation)
        runtime.begin()
        return runtime


def ledger_outcome(source: Runtime | EngineLedger) -> dict[str, Any]:
    """What must match between two runs over the same bars: positions, cash, realised PnL,
    fees and the economics of every fill (ids aside)."""
    ledger = source.ledger if isinstance(source, Runtime) else source
    return {
        "positions": ledger.positions(),
        "cash": ledger.cash,
        "realised": ledger.realised_pnl,
        "fees": ledger.fees,
        "fills": sorted(
            (f.ts_utc, f.symbol, f.side, f.quantity, f.price, f.fee) for f in ledger.fills
        ),
    }


def unknown_order(run_id: uuid.UUID, *, at: Any, seq: int = 99_999_999) -> Order:
    """An open order in the run's client_order_id namespace the engine never sent."""
    return Order(
        client_order_id=f"MAIN_{run_id.hex[:12]}_{seq:08d}",
        engine_id="MAIN",
        symbol="AAPL",
        side=Side.BUY,
        quantity=Decimal(5),
        order_type=OrderType.LIMIT,
        limit_price=Decimal(50),
        status=OrderStatus.SUBMITTED,
        broker_order_id="EXT-1",
        created_at=at,
        updated_at=at,
    )


class ScriptedBroker:
    """A minimal broker adapter whose snapshot the test controls (a stand-in for a live one)."""

    def __init__(self, clock: ReplayClock, account_id: str = "PA-0000-1234") -> None:
        self.clock = clock
        self.account_id = account_id
        self.orders: list[Order] = []
        self.capability: BrokerCapability | None = None

    def bind(self, capability: BrokerCapability, listener: BrokerListener | None) -> None:
        self.capability = capability

    def submit(self, capability: BrokerCapability, intent: Any, bracket: Any = None) -> Order:
        raise AssertionError("the scripted broker receives no orders in these tests")

    def cancel(self, capability: BrokerCapability, client_order_id: str) -> Order:
        raise AssertionError("the scripted broker receives no cancels in these tests")

    def replace(self, capability: BrokerCapability, coid: str, replacement: Any) -> Order:
        raise AssertionError("the scripted broker receives no replaces in these tests")

    def snapshot(self) -> BrokerSnapshot:
        cash = Decimal(100000)
        return BrokerSnapshot(
            captured_at=self.clock.now(),
            account=Account(account_id=self.account_id, cash=cash, equity=cash, buying_power=cash),
            orders=tuple(self.orders),
        )


def _sma_scenario() -> tuple[EffectiveConfig, ReplayFeed, BrokerFaults | None]:
    return config(), feed(bars=40), None


def _flip_scenario() -> tuple[EffectiveConfig, ReplayFeed, BrokerFaults | None]:
    cfg = config({**strategy("flip", qty=10), "risk": {"allow_short": True}})
    return cfg, feed(bars=16), BrokerFaults(duplicate_fills=True, reverse_fill_batches=True)


SCENARIOS: dict[str, Callable[[], tuple[EffectiveConfig, ReplayFeed, BrokerFaults | None]]] = {
    "sma": _sma_scenario,
    "flip": _flip_scenario,
}
"""Runs the crash tests replay: (config, bars, broker faults)."""
