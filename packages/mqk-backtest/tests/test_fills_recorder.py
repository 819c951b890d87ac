"""FillRecorder as optimised (symbol text rendered once, zeros written as "0" without
format_decimal, enum members read once) against a reference copy of the previous recorder
over generated fill sequences: the same FILL_APPLIED lines byte for byte, the same costs
(exponent included), round trips, ledger and risk state."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mqk_backtest._fills import FillRecorder, TradeBook
from mqk_backtest._stream import EventStream, json_text
from mqk_backtest.metrics import ClosedTrade
from mqk_portfolio import EngineLedger
from mqk_risk import RiskEngine, load_risk_limits
from mqk_schemas import Fill, Side, Topic, format_decimal

D = Decimal
RUN = uuid.UUID("00000000-0000-4000-8000-0000000000f1")
T0 = datetime(2024, 3, 1, 15, 0, tzinfo=UTC)
_ZERO = D(0)
RISK = {
    "kill_switches_enabled": True,
    "daily_loss_limit": "0.05",
    "max_drawdown": "0.10",
    "max_position_quantity": "500",
    "max_position_notional": "60000",
    "max_gross_exposure": "1.0",
    "max_leverage": "1.0",
    "allow_short": True,
    "reject_storm": {"max_rejects": 5, "window_seconds": 300},
    "pdt": {"mode": "auto", "equity_threshold": "25000", "max_day_trades": 3, "window_sessions": 5},
    "stale_data_seconds": 864000,
    "require_protective_stop": False,
    "desync_action": "HALT_NEW",
}


class ReferenceTradeBook:
    """TradeBook.on_fill as it was."""

    def __init__(self) -> None:
        self._open: dict[str, tuple[datetime, Decimal, Decimal]] = {}
        self.closed: list[ClosedTrade] = []

    def on_fill(self, fill: Fill, before: Decimal, after: Decimal, realised: Decimal) -> None:
        entry = self._open.get(fill.symbol)
        if entry is not None:
            ts, pnl, size = entry
            pnl += realised - fill.fee
            if after == 0 or (before > 0) != (after > 0):
                self.closed.append(ClosedTrade(fill.symbol, ts, fill.ts_utc, size, pnl))
                del self._open[fill.symbol]
                if after != 0:
                    self._open[fill.symbol] = (fill.ts_utc, _ZERO, abs(after))
            else:
                self._open[fill.symbol] = (ts, pnl, max(size, abs(after)))
        elif after != 0:
            self._open[fill.symbol] = (fill.ts_utc, -fill.fee, abs(after))


class ReferenceRecorder:
    """FillRecorder.apply as it was."""

    def __init__(self, ledger: EngineLedger, risk: RiskEngine, stream: EventStream) -> None:
        self._ledger, self._risk, self._stream = ledger, risk, stream
        self.trades = ReferenceTradeBook()
        self.costs = _ZERO

    def apply(
        self, fill: Fill, base: Decimal | None, session: date | None, ts_text: str | None
    ) -> None:
        ledger = self._ledger
        before = ledger.position(fill.symbol)
        result = ledger.apply(fill)
        if not result.applied:
            return
        self._risk.on_fill(fill, position_before=before, session=session)
        slippage = abs(fill.price - base) * fill.quantity if base is not None else _ZERO
        self.costs += fill.fee + slippage
        self.trades.on_fill(fill, before, result.position, result.realised_pnl)
        fd = format_decimal
        self._stream.add_json(
            fill.ts_utc,
            Topic.LEDGER,
            "FILL_APPLIED",
            f'{{"broker_fill_id":{json_text(fill.broker_fill_id)},"cash":"{fd(ledger.cash)}",'
            f'"fee":"{fd(fill.fee)}","position":"{fd(result.position)}",'
            f'"price":"{fd(fill.price)}","quantity":"{fd(fill.quantity)}",'
            f'"side":"{fill.side.value}","slippage":"{fd(slippage)}",'
            f'"symbol":{json_text(fill.symbol)}}}',
            correlation_id=fill.client_order_id,
            ts_text=ts_text,
        )


def _parts() -> tuple[EngineLedger, RiskEngine, EventStream]:
    return (
        EngineLedger("MAIN", D("100000.50")),
        RiskEngine(
            load_risk_limits(RISK),
            engine_id="MAIN",
            session_of=lambda ts: ts.date(),
            initial_equity=D("100000.50"),
        ),
        EventStream(RUN, "MAIN"),
    )


decimals_with_exponents = st.sampled_from(["0", "0E-8", "0.00", "-0"])
quantities = st.sampled_from(["100", "100.00000000", "5", "0.5", "250.125", "1E+2"])
prices = st.sampled_from(["99.7", "99.70", "100", "100.01", "1E+2", "0.0001"])
fees = st.one_of(decimals_with_exponents, st.sampled_from(["1", "0.35", "1.00000000"]))
bases = st.one_of(st.none(), st.just("same"), prices)
fills = st.tuples(
    st.sampled_from(["AAPL", "MSFT", "BRK.B"]),
    st.sampled_from([Side.BUY, Side.SELL]),
    quantities,
    prices,
    fees,
    bases,
    st.one_of(st.none(), st.text(min_size=1, max_size=6)),  # a broker fill id of its own
    st.integers(0, 3),  # minutes later (0: the same step; a session ends every 400)
    st.booleans(),  # the same fill again (a duplicate)
)


@settings(max_examples=200, deadline=None)
@given(st.lists(fills, min_size=1, max_size=25), st.booleans())
def invariant_fill_recorder_equals_the_reference(steps: list[Any], with_session: bool) -> None:
    new_ledger, new_risk, new_stream = _parts()
    old_ledger, old_risk, old_stream = _parts()
    new = FillRecorder(new_ledger, new_risk, new_stream)
    old = ReferenceRecorder(old_ledger, old_risk, old_stream)
    ts = T0
    for n, (symbol, side, qty, price, fee, base, fill_id, later, again) in enumerate(steps):
        ts += timedelta(minutes=later * 133)
        fill = Fill(
            broker_fill_id=f"F{n}" if fill_id is None else f"{fill_id}{n}",
            client_order_id=f"MAIN_{n:08d}",
            engine_id="MAIN",
            symbol=symbol,
            side=side,
            quantity=D(qty),
            price=D(price),
            fee=D(fee),
            ts_utc=ts,
        )
        base_price = None if base is None else fill.price if base == "same" else D(base)
        session = ts.date() if with_session else None
        text = None if n % 2 else ts.isoformat()
        for _ in range(2 if again else 1):
            new.apply(fill, base_price, session, text)
            old.apply(fill, base_price, session, text)
    assert list(new_stream.records.lines()) == list(old_stream.records.lines())
    assert repr(new.costs) == repr(old.costs)
    assert repr(new.trades.closed) == repr(old.trades.closed)
    assert repr(new_ledger.snapshot()) == repr(old_ledger.snapshot())
    assert repr(new_ledger.summary()) == repr(old_ledger.summary())
    assert repr(new_risk.snapshot()) == repr(old_risk.snapshot())


def unit_trade_book_opens_closes_and_flips() -> None:
    book = TradeBook()
    fill = Fill(
        broker_fill_id="F1",
        client_order_id="MAIN_1",
        engine_id="MAIN",
        symbol="AAPL",
        side=Side.BUY,
        quantity=D(10),
        price=D(100),
        fee=D(1),
        ts_utc=T0,
    )
    book.on_fill(fill, D(0), D(10), D(0))
    flip = fill.model_copy(
        update={"side": Side.SELL, "quantity": D(15), "ts_utc": T0 + timedelta(1)}
    )
    book.on_fill(flip, D(10), D(-5), D(20))
    assert book.closed == [ClosedTrade("AAPL", T0, T0 + timedelta(1), D(10), D(18))]
    assert book._open == {"AAPL": (T0 + timedelta(1), D(0), D(5))}
