"""What a fill does to a backtest: ledger, risk (PDT), round trips, costs and FILL_APPLIED."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from mqk_backtest._stream import EventStream, json_text
from mqk_backtest.metrics import ClosedTrade
from mqk_portfolio import EngineLedger
from mqk_risk import RiskEngine
from mqk_schemas import Fill, Topic, format_decimal

__all__ = ["FillRecorder", "TradeBook"]

_ZERO = Decimal(0)


class TradeBook:
    """Round trips per symbol: opened when a position leaves zero, closed when it returns."""

    def __init__(self) -> None:
        self._open: dict[str, tuple[datetime, Decimal, Decimal]] = {}
        self.closed: list[ClosedTrade] = []

    def on_fill(self, fill: Fill, before: Decimal, after: Decimal, realised: Decimal) -> None:
        """Account for ``fill`` that moved the position from ``before`` to ``after``."""
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


class FillRecorder:
    """Applies broker fills to the run's ledger and risk engine and records them."""

    def __init__(self, ledger: EngineLedger, risk: RiskEngine, stream: EventStream) -> None:
        self._ledger = ledger
        self._risk = risk
        self._stream = stream
        self.trades = TradeBook()
        self.costs = _ZERO

    def apply(
        self,
        fill: Fill,
        base: Decimal | None,
        session: date | None = None,
        ts_text: str | None = None,
    ) -> None:
        """Apply ``fill``; ``base`` is its pre-cost price (spread and slippage are measured
        from it; None counts none). ``session`` saves the risk engine a calendar lookup and
        ``ts_text`` the event stream a timestamp rendering."""
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
