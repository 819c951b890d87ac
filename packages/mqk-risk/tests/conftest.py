"""Shared builders: limits mirroring config ``risk``, an in-memory portfolio view, engines."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from mqk_risk import RiskContext, RiskEngine, RiskLimits
from mqk_schemas import Fill, OrderIntent, OrderType, Side, client_order_id

RUN = uuid.UUID("0f0e0d0c-0b0a-4908-8706-050403020100")
T0 = datetime(2024, 3, 4, 15, 0, tzinfo=UTC)  # a Monday


def risk_section(**changes: Any) -> dict[str, Any]:
    """A complete ``risk`` config section (values as config would give them)."""
    section: dict[str, Any] = {
        "kill_switches_enabled": True,
        "daily_loss_limit": Decimal("0.02"),
        "max_drawdown": Decimal("0.10"),
        "max_position_quantity": Decimal("1000"),
        "max_position_notional": Decimal("50000"),
        "max_gross_exposure": Decimal("1.0"),
        "max_leverage": Decimal("1.0"),
        "allow_short": False,
        "reject_storm": {"max_rejects": 5, "window_seconds": 300},
        "pdt": {
            "mode": "auto",
            "equity_threshold": Decimal("25000"),
            "max_day_trades": 3,
            "window_sessions": 5,
        },
        "stale_data_seconds": 120,
        "require_protective_stop": True,
        "desync_action": "HALT_NEW",
    }
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(section.get(key), dict):
            section[key] = {**section[key], **value}
        else:
            section[key] = value
    return section


def session_of(ts: datetime) -> date:
    """Sessions are UTC calendar dates in these tests."""
    return ts.astimezone(UTC).date()


class FakePortfolio:
    """An exact, in-memory stand-in for the ledger's read-only view."""

    def __init__(self, equity: Decimal, positions: Mapping[str, Decimal] | None = None) -> None:
        self.equity = equity
        self.marks: dict[str, Decimal] = {}
        self._positions = dict(positions or {})

    @property
    def gross_exposure(self) -> Decimal:
        return sum(
            (abs(q) * self.marks.get(s, Decimal(100)) for s, q in self._positions.items()),
            Decimal(0),
        )

    def position(self, symbol: str) -> Decimal:
        return self._positions.get(symbol, Decimal(0))

    def positions(self) -> Mapping[str, Decimal]:
        return {s: q for s, q in self._positions.items() if q != 0}

    def set(self, symbol: str, quantity: Decimal) -> None:
        self._positions[symbol] = quantity


class Seq:
    """Hands out intent sequence numbers."""

    def __init__(self) -> None:
        self.n = 0

    def next(self) -> int:
        self.n += 1
        return self.n


_SEQ = Seq()


def intent(
    side: str,
    qty: str | int,
    symbol: str = "AAPL",
    *,
    engine: str = "MAIN",
    order_type: OrderType = OrderType.MARKET,
    limit: str | None = None,
    stop: str | None = None,
) -> OrderIntent:
    """An order intent of ``engine``."""
    seq = _SEQ.next()
    return OrderIntent(
        engine_id=engine,
        intent_seq=seq,
        client_order_id=client_order_id(engine, RUN, seq),
        symbol=symbol,
        side=Side(side),
        quantity=Decimal(qty),
        order_type=order_type,
        limit_price=None if limit is None else Decimal(limit),
        stop_price=None if stop is None else Decimal(stop),
    )


def fill(side: str, qty: str | int, ts: datetime, symbol: str = "AAPL") -> Fill:
    """A fill of MAIN at price 100."""
    seq = _SEQ.next()
    return Fill(
        broker_fill_id=f"F{seq}",
        client_order_id=client_order_id("MAIN", RUN, seq),
        engine_id="MAIN",
        symbol=symbol,
        side=Side(side),
        quantity=Decimal(qty),
        price=Decimal(100),
        ts_utc=ts,
    )


def ctx(portfolio: FakePortfolio, ts: datetime = T0, price: str = "100") -> RiskContext:
    """A pre-trade context at ``ts`` valuing market orders at ``price``."""
    return RiskContext(ts=ts, portfolio=portfolio, price=Decimal(price))


def minutes(n: int) -> timedelta:
    """``n`` minutes."""
    return timedelta(minutes=n)


def engine(initial_equity: Decimal | None = Decimal(100000), **changes: Any) -> RiskEngine:
    """A MAIN risk engine with the test limits changed by keyword."""
    return RiskEngine(
        RiskLimits.model_validate(risk_section(**changes)),
        engine_id="MAIN",
        session_of=session_of,
        initial_equity=initial_equity,
    )


class Kit:
    """The helpers above, handed to tests through the ``kit`` fixture (tests cannot import
    conftest under ``--import-mode=importlib``)."""

    RUN = RUN
    T0 = T0
    FakePortfolio = FakePortfolio
    risk_section = staticmethod(risk_section)
    session_of = staticmethod(session_of)
    intent = staticmethod(intent)
    fill = staticmethod(fill)
    ctx = staticmethod(ctx)
    minutes = staticmethod(minutes)
    engine = staticmethod(engine)


@pytest.fixture
def kit() -> Kit:
    """Test helpers: builders for limits, engines, intents, fills and portfolio views."""
    return Kit()
