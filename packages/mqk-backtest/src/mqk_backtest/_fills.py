"""What a fill does to a backtest: ledger, risk (PDT), round trips, costs and FILL_APPLIED."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Final

from mqk_backtest._stream import EventStream, json_text
from mqk_backtest.metrics import ClosedTrade
from mqk_portfolio import EngineLedger
from mqk_risk import RiskEngine
from mqk_schemas import Fill, Side, Topic, format_decimal

__all__ = ["FillRecorder", "TradeBook"]

_ZERO: Final = Decimal(0)
_LEDGER: Final = Topic.LEDGER
_MAX_TEXTS: Final = 4096  # distinct quantities and positions remembered at once
# enum texts read once: an enum's .value is an interpreted property
_SIDE_TEXT: Final = {side: side.value for side in Side}


class TradeBook:
    """Round trips per symbol: opened when a position leaves zero, closed when it returns."""

    def __init__(self) -> None:
        self._open: dict[str, tuple[datetime, Decimal, Decimal]] = {}
        self.closed: list[ClosedTrade] = []

    def on_fill(self, fill: Fill, before: Decimal, after: Decimal, realised: Decimal) -> None:
        """Account for ``fill`` that moved the position from ``before`` to ``after``."""
        opened, symbol = self._open, fill.symbol
        entry = opened.get(symbol)
        if entry is not None:
            ts, pnl, size = entry
            pnl += realised - fill.fee
            if after == 0 or (before > 0) != (after > 0):
                self.closed.append(ClosedTrade(symbol, ts, fill.ts_utc, size, pnl))
                del opened[symbol]
                if after != 0:
                    opened[symbol] = (fill.ts_utc, _ZERO, abs(after))
            else:
                opened[symbol] = (ts, pnl, max(size, abs(after)))
        elif after != 0:
            opened[symbol] = (fill.ts_utc, -fill.fee, abs(after))


class FillRecorder:
    """Applies broker fills to the run's ledger and risk engine and records them."""

    def __init__(self, ledger: EngineLedger, risk: RiskEngine, stream: EventStream) -> None:
        self._ledger = ledger
        self._risk = risk
        self._stream = stream
        self.trades = TradeBook()
        self.costs = _ZERO
        self._symbol_json: dict[str, str] = {}  # each symbol's JSON text, rendered once
        self._texts: dict[Decimal, str] = {}  # quantities and positions repeat: each rendered once

    def apply(
        self,
        fill: Fill,
        base: Decimal | None,
        session: date | None = None,
        ts_text: str | None = None,
        price_text: str | None = None,
    ) -> None:
        """Apply ``fill``; ``base`` is its pre-cost price (spread and slippage are measured
        from it; None counts none). ``session`` saves the risk engine a calendar lookup and
        ``ts_text`` the event stream a timestamp rendering, ``price_text`` (the fill price's
        :func:`~mqk_schemas.format_decimal`) a decimal rendering."""
        ledger = self._ledger
        symbol = fill.symbol
        before = ledger.position(symbol)
        result = ledger.apply(fill)
        if not result.applied:
            return
        self._risk.on_fill(fill, position_before=before, session=session)
        price, quantity, fee = fill.price, fill.quantity, fill.fee
        slippage = abs(price - base) * quantity if base is not None else _ZERO
        self.costs += fee + slippage
        position = result.position
        self.trades.on_fill(fill, before, position, result.realised_pnl)
        symbol_json = self._symbol_json.get(symbol)
        if symbol_json is None:
            symbol_json = self._symbol_json[symbol] = json_text(symbol)
        side = fill.side
        fd = format_decimal  # any zero renders as "0": zeros (no fee, no slippage, flat) skip it
        self._stream.add_json(
            fill.ts_utc,
            _LEDGER,
            "FILL_APPLIED",
            f'{{"broker_fill_id":{json_text(fill.broker_fill_id)},"cash":"{fd(ledger.cash)}",'
            f'"fee":"{fd(fee) if fee else "0"}",'
            f'"position":"{self._text(position) if position else "0"}",'
            f'"price":"{fd(price) if price_text is None else price_text}",'
            f'"quantity":"{self._text(quantity)}",'
            f'"side":"{_SIDE_TEXT[side]}",'
            f'"slippage":"{fd(slippage) if slippage else "0"}","symbol":{symbol_json}}}',
            correlation_id=fill.client_order_id,
            ts_text=ts_text,
        )

    def _text(self, value: Decimal) -> str:
        """``format_decimal(value)``, remembered (equal values render alike)."""
        texts = self._texts
        text = texts.get(value)
        if text is None:
            if len(texts) >= _MAX_TEXTS:
                texts.clear()
            text = texts[value] = format_decimal(value)
        return text
