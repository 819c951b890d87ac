"""SimBroker: the bar-driven simulated broker used by backtests and paper runs alike.

Time advances only through :meth:`SimBroker.on_bar`. An order submitted while bar t of its
symbol is current can fill from bar t+1 (+ submit latency); ``allow_same_bar_fills`` lets it
fill on bar t itself, evaluated at bar t's *close* (the only price of bar t that is not in the
past when the order is decided): a MARKET fills at the close, a LIMIT/STOP if the close reaches
it. Prices and costs follow :mod:`mqk_execution._fillmodel`.

Within a bar: due cancels and replacements take effect, DAY orders from an earlier UTC date
expire, eligible orders are evaluated (bracket exit legs first, so a position's protection acts
before anything that would add to it; then the rest in submission order), and finally trailing
stops move at the close. Exit legs are created (sized to the filled entry quantity) when the
entry fills and are eligible from the next bar; a later entry fill resizes them by replace.
They are one-cancels-other, reduce-only (a leg never fills more than the account position it
closes; with nothing to close it is canceled) and never split by the partial-fill model. When
one bar touches both the stop and the target and the open has gapped through neither,
``ambiguity_policy`` picks the leg (CONSERVATIVE_WORST_CASE: the stop) and the bar is counted
in :attr:`SimBroker.ambiguous_bars`. A filled exit closes the bracket (an unfilled entry
remainder is canceled).

Performance: a bar for a symbol with nothing resting costs two dict operations and returns an
empty tuple; a bar strictly inside the resting orders' quiet band (:mod:`._quiet`) costs two
more comparisons. :attr:`SimBroker.has_resting` tells a backtest loop when bars may be skipped
(skipped bars only leave the snapshot's marks at the last bar seen).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from mqk_execution._brackets import bracket_problem, stop_comes_first, trailed_stop
from mqk_execution._broker import Bracket, BrokerCapability, BrokerListener, BrokerUpdate
from mqk_execution._fillmodel import CENT, CostModel, base_price
from mqk_execution._partials import PartialFills
from mqk_execution._protocols import BarLike, Clock
from mqk_execution._quiet import quiet_band
from mqk_execution._settings import ExecutionSettings
from mqk_execution._simaccount import SimAccount
from mqk_execution._simorder import Leg, SimGroup, SimOrder
from mqk_execution.errors import BrokerAccessError, UnknownOrderError
from mqk_schemas import (
    BrokerSnapshot,
    Fill,
    Instrument,
    Order,
    OrderIntent,
    OrderStatus,
    OrderType,
    TimeInForce,
)

__all__ = ["SimBroker"]

_ZERO = Decimal(0)
_ONE = Decimal(1)
_NO_FILLS: tuple[Fill, ...] = ()
# Enum members bound once (Enum attribute lookups and hashes are slow in the per-bar loop).
_FILLED = OrderStatus.FILLED
_CANCELED = OrderStatus.CANCELED
_REJECTED = OrderStatus.REJECTED
_DAY = TimeInForce.DAY
_IOC = TimeInForce.IOC
_ENTRY = Leg.ENTRY
_STOP = Leg.STOP
_TARGET = Leg.TARGET
_DRAW_SCALE = 1_000_000


def _closed(order: SimOrder) -> bool:
    status = order.status
    return status is _FILLED or status is _CANCELED or status is _REJECTED


class SimBroker:
    """A deterministic simulated broker implementing :class:`~mqk_execution.BrokerAdapter`.

    ``clock`` stamps submissions and snapshots; fills carry the close time of their bar.
    ``account_id``/``starting_cash``/``currency`` mirror config section ``broker``;
    ``instruments`` gives tick sizes (default one cent).
    """

    def __init__(
        self,
        settings: ExecutionSettings,
        *,
        clock: Clock,
        account_id: str = "SIM",
        starting_cash: Decimal = _ZERO,
        currency: str = "USD",
        instruments: Mapping[str, Instrument] | None = None,
        default_tick: Decimal = CENT,
    ) -> None:
        self._settings = settings
        self._costs = CostModel.from_settings(settings)
        self._partials = PartialFills(settings.partial_fills, settings.seed)
        self._clock = clock
        self._account = SimAccount(account_id, starting_cash, currency)
        self._ticks = {s: i.tick_size for s, i in (instruments or {}).items()}
        self._default_tick = default_tick
        self._capability: BrokerCapability | None = None
        self._listener: BrokerListener | None = None
        self._orders: dict[str, SimOrder] = {}
        self._books: dict[str, list[SimOrder]] = {}
        self._bands: dict[str, tuple[Decimal, Decimal]] = {}
        self._counts: dict[str, int] = {}
        self._last_bar: dict[str, BarLike] = {}
        self._fills: list[Fill] = []
        self._seq = 0
        self._ambiguous_bars = 0
        self._bar_ts: datetime | None = None

    # -- properties -------------------------------------------------------------------------

    @property
    def settings(self) -> ExecutionSettings:
        """The execution settings this broker simulates."""
        return self._settings

    @property
    def has_resting(self) -> bool:
        """True while any order rests (a backtest must then feed every bar of its symbols)."""
        return bool(self._books)

    @property
    def resting_symbols(self) -> frozenset[str]:
        """Symbols with at least one resting order."""
        return frozenset(self._books)

    @property
    def ambiguous_bars(self) -> int:
        """Bars on which a bracket's stop and target were both touched (policy decided)."""
        return self._ambiguous_bars

    def position(self, symbol: str) -> Decimal:
        """The account's signed position in ``symbol`` as the broker sees it."""
        return self._account.position(symbol)

    # -- BrokerAdapter ----------------------------------------------------------------------

    def bind(self, capability: BrokerCapability, listener: BrokerListener | None) -> None:
        """Bind to one gateway: only ``capability`` may submit, cancel or replace from now on."""
        if self._capability is not None:
            raise BrokerAccessError("this broker is already bound to a gateway")
        if not isinstance(capability, BrokerCapability):
            raise BrokerAccessError(f"{type(capability).__name__} is not a broker capability")
        self._capability = capability
        self._listener = listener

    def submit(
        self, capability: BrokerCapability, intent: OrderIntent, bracket: Bracket | None = None
    ) -> Order:
        """Accept (or reject) an order; a known client_order_id returns the existing order."""
        self._authorize(capability)
        existing = self._orders.get(intent.client_order_id)
        if existing is not None:
            assert existing.last is not None  # every stored order has been reported
            return existing.last
        order = self._new_order(intent, replaces=None)
        problem = "SHADOW_INTENT" if intent.shadow else None
        if problem is None and bracket is not None:
            if bracket_problem(intent, bracket) is not None:
                problem = "BRACKET_INVALID"
            else:
                order.group = SimGroup(
                    entry=order,
                    stop_price=bracket.stop_price,
                    target_price=bracket.target_price,
                    trail_amount=bracket.trail_amount,
                )
                order.leg = Leg.ENTRY
        if problem is not None:
            return self._reject(order, problem)
        count = self._counts.get(order.symbol, 0)
        latency = self._settings.latency_bars.submit
        same_bar = self._settings.allow_same_bar_fills
        order.eligible_from = count + latency + (0 if same_bar else 1)
        self._rest(order)
        self._notify(order)
        if same_bar and latency == 0:
            bar = self._last_bar.get(order.symbol)
            if bar is not None and bar.ts_close_utc == order.created_at:
                self._same_bar(order, bar, count)
            else:
                order.eligible_from = count + 1
        assert order.last is not None
        return order.last

    def cancel(self, capability: BrokerCapability, client_order_id: str) -> Order:
        """Cancel now (latency 0) or before bar t+1+latency; a closed order is returned as is."""
        self._authorize(capability)
        order = self._get(client_order_id)
        if not order.status.is_terminal:
            latency = self._settings.latency_bars.cancel
            if latency == 0:
                self._close(order, OrderStatus.CANCELED, "CANCELED")
            else:
                due = self._counts.get(order.symbol, 0) + 1 + latency
                order.cancel_at = due if order.cancel_at is None else min(order.cancel_at, due)
                self._bands.pop(order.symbol, None)
        assert order.last is not None
        return order.last

    def replace(
        self, capability: BrokerCapability, client_order_id: str, replacement: OrderIntent
    ) -> Order:
        """Replace an open order; with latency the old one can still fill until the swap.

        The swap happens only if the old order is still open and unfilled since the request;
        otherwise the replacement is REJECTED (``REPLACE_TARGET_CHANGED``).
        """
        self._authorize(capability)
        existing = self._orders.get(replacement.client_order_id)
        if existing is not None:
            assert existing.last is not None
            return existing.last
        old = self._get(client_order_id)
        new = self._new_order(replacement, replaces=old.coid)
        new.group, new.leg = old.group, old.leg
        new.reduce_only = old.reduce_only or replacement.reduce_only
        problem = None
        if old.status.is_terminal:
            problem = "REPLACE_TARGET_CLOSED"
        elif (new.symbol, new.side, new.order_type, new.engine_id) != (
            old.symbol,
            old.side,
            old.order_type,
            old.engine_id,
        ):
            problem = "REPLACE_FIELD_IMMUTABLE"
        elif replacement.shadow:
            problem = "SHADOW_INTENT"
        elif old.leg is Leg.ENTRY and old.filled > 0:
            problem = "REPLACE_BRACKET_ENTRY_FILLED"
        if problem is not None:
            new.group = new.leg = None
            return self._reject(new, problem)
        count = self._counts.get(old.symbol, 0)
        latency = self._settings.latency_bars.replace
        new.eligible_from = max(old.eligible_from, count + 1 + latency)
        new.day_date = old.day_date
        if latency == 0:
            self._swap(old, new)
        else:
            new.replace_of = old
            new.replace_at = count + 1 + latency
            new.replace_seen_filled = old.filled
            self._orders[new.coid] = new
            self._rest(new)
            self._notify(new)
        assert new.last is not None
        return new.last

    def snapshot(self) -> BrokerSnapshot:
        """Orders (every one, oldest first), fills, positions and account, stamped by the clock."""
        orders = tuple(o.last for o in self._orders.values() if o.last is not None)
        marks = {symbol: bar.close for symbol, bar in self._last_bar.items()}
        account, positions = self._account.report(marks)
        return BrokerSnapshot(
            captured_at=self._clock(),
            account=account,
            orders=orders,
            fills=tuple(self._fills),
            positions=positions,
        )

    # -- market data ------------------------------------------------------------------------

    def on_bar(self, bar: BarLike) -> tuple[Fill, ...]:
        """Process the resting orders of ``bar.symbol`` against ``bar``; returns its fills."""
        symbol = bar.symbol
        self._last_bar[symbol] = bar
        book = self._books.get(symbol)
        if book is None:
            return _NO_FILLS
        band = self._bands.get(symbol)
        if band is not None and band[0] < bar.low and bar.high < band[1]:
            self._counts[symbol] += 1
            return _NO_FILLS
        self._bar_ts = bar.ts_close_utc
        try:
            fills = self._process(symbol, book, bar)
        finally:
            self._bar_ts = None
        after = self._books.get(symbol)
        if after is not None:
            band = quiet_band(after)
            if band is not None:
                self._bands[symbol] = band
        return fills

    # -- internals --------------------------------------------------------------------------

    def _process(self, symbol: str, book: list[SimOrder], bar: BarLike) -> tuple[Fill, ...]:
        count = self._counts.get(symbol, 0) + 1
        self._counts[symbol] = count
        for order in book:
            if order.cancel_at is not None or order.replace_of is not None:
                self._apply_due(book, count)
                break
        fills: list[Fill] = []
        exits = [o for o in book if o.leg is _STOP or o.leg is _TARGET]
        ordered = (
            exits + [o for o in book if o.leg is None or o.leg is _ENTRY] if exits else book[:]
        )
        done_groups: set[int] = set()
        trailing = False
        for order in ordered:
            if _closed(order) or order.replace_of is not None or count < order.eligible_from:
                continue
            if order.tif is _DAY:
                today = bar.ts_close_utc.date()
                if order.day_date is None:
                    order.day_date = today
                elif order.day_date != today:
                    self._close(order, OrderStatus.CANCELED, "DAY_EXPIRED")
                    continue
            group = order.group
            if group is not None and order.leg is not _ENTRY:
                trailing = trailing or group.trail_amount is not None
                if id(group) not in done_groups:
                    done_groups.add(id(group))
                    self._evaluate_exits(group, bar, count, fills)
                continue
            self._evaluate(order, bar.open, bar.high, bar.low, bar, count, fills)
            if order.tif is _IOC and not _closed(order):
                self._close(order, OrderStatus.CANCELED, "IOC_EXPIRED")
        if trailing or fills:
            for order in list(self._books.get(symbol, ())):
                group = order.group
                if order.leg is _STOP and group is not None and group.trail_amount is not None:
                    self._trail(group, order, bar, count)
        return tuple(fills) if fills else _NO_FILLS

    def _apply_due(self, book: list[SimOrder], count: int) -> None:
        """Cancels and replacements whose latency has run out, before the bar is evaluated."""
        for order in list(book):
            if _closed(order):
                continue
            if order.cancel_at is not None and count >= order.cancel_at:
                self._close(order, OrderStatus.CANCELED, "CANCELED")
            elif order.replace_of is not None and count >= order.replace_at:
                old = order.replace_of
                if _closed(old) or old.filled != order.replace_seen_filled:
                    order.replace_of = None
                    self._close(order, OrderStatus.REJECTED, "REPLACE_TARGET_CHANGED")
                else:
                    self._swap(old, order)

    def _same_bar(self, order: SimOrder, bar: BarLike, count: int) -> None:
        close = bar.close
        if order.tif is TimeInForce.DAY:
            order.day_date = bar.ts_close_utc.date()
        self._evaluate(order, close, close, close, bar, count, [])
        if order.tif is TimeInForce.IOC and not order.status.is_terminal:
            self._close(order, OrderStatus.CANCELED, "IOC_EXPIRED")

    def _evaluate_exits(self, group: SimGroup, bar: BarLike, count: int, fills: list[Fill]) -> None:
        legs = [
            leg
            for leg in (group.stop, group.target)
            if leg is not None
            and not leg.status.is_terminal
            and leg.replace_of is None
            and count >= leg.eligible_from
        ]
        if len(legs) == 2:
            stop, target = legs
            hit_stop = self._base(stop, bar.open, bar.high, bar.low)
            hit_target = self._base(target, bar.open, bar.high, bar.low)
            if hit_stop is not None and hit_target is not None:
                legs = [self._resolve_ambiguity(stop, target, bar)]
        for leg in legs:
            if not leg.status.is_terminal:
                self._evaluate(leg, bar.open, bar.high, bar.low, bar, count, fills)

    def _resolve_ambiguity(self, stop: SimOrder, target: SimOrder, bar: BarLike) -> SimOrder:
        assert stop.stop_price is not None
        assert target.limit_price is not None
        policy = self._settings.ambiguity_policy
        stop_first, ambiguous = stop_comes_first(
            policy, stop.side, stop.stop_price, target.limit_price, bar.open
        )
        self._ambiguous_bars += ambiguous
        return stop if stop_first else target

    def _base(self, order: SimOrder, open_: Decimal, high: Decimal, low: Decimal) -> Decimal | None:
        return base_price(
            order.side, order.order_type, order.limit_price, order.stop_price, open_, high, low
        )

    def _evaluate(
        self,
        order: SimOrder,
        open_: Decimal,
        high: Decimal,
        low: Decimal,
        bar: BarLike,
        count: int,
        fills: list[Fill],
    ) -> None:
        base = base_price(
            order.side, order.order_type, order.limit_price, order.stop_price, open_, high, low
        )
        if base is None:
            return
        quantity = order.remaining
        capped = False
        if order.reduce_only:
            closable = self._account.closable(order.symbol, order.side)
            if closable == 0:
                self._close(order, OrderStatus.CANCELED, "REDUCE_ONLY_NOTHING_TO_CLOSE")
                return
            if closable < quantity:
                quantity, capped = closable, True
        if not order.is_exit_leg:
            quantity = self._partials.quantity(quantity)
        limit = order.limit_price if order.order_type is OrderType.LIMIT else None
        price = self._costs.fill_price(
            base, order.side, limit, self._tick(order.symbol), bar.open, bar.high, bar.low
        )
        self._fill(order, quantity, price, bar, count, fills)
        if capped and not order.status.is_terminal:
            self._close(order, OrderStatus.CANCELED, "REDUCE_ONLY_CAPPED")

    def _fill(
        self,
        order: SimOrder,
        quantity: Decimal,
        price: Decimal,
        bar: BarLike,
        count: int,
        fills: list[Fill],
    ) -> None:
        ts = bar.ts_close_utc
        order.fill_count += 1
        order.filled += quantity
        order.notional += quantity * price
        order.raw_commission += self._costs.raw_commission(quantity, price)
        fee_total = self._costs.order_fee_total(order.raw_commission)
        fee = fee_total - order.fee_charged
        order.fee_charged = fee_total
        order.status = (
            OrderStatus.FILLED if order.filled == order.quantity else OrderStatus.PARTIALLY_FILLED
        )
        order.updated_at = ts
        fill = Fill(
            broker_fill_id=f"{order.coid}-F{order.fill_count}",
            client_order_id=order.coid,
            engine_id=order.engine_id,
            symbol=order.symbol,
            side=order.side,
            quantity=quantity,
            price=price,
            fee=fee,
            ts_utc=ts,
        )
        self._fills.append(fill)
        fills.append(fill)
        self._account.book(order.symbol, quantity * order.side.sign, price, fee)
        if order.status.is_terminal:
            self._unrest(order)
        self._notify(order, fill=fill)
        group = order.group
        if group is None or group.closed:
            return
        if order.leg is Leg.ENTRY:
            self._size_legs(group, bar, count)
        else:
            group.closed = True
            for other in (group.stop, group.target, group.entry):
                if other is not None and other is not order and not other.status.is_terminal:
                    reason = "BRACKET_EXITED" if other.leg is Leg.ENTRY else "OCO"
                    self._close(other, OrderStatus.CANCELED, reason)

    def _size_legs(self, group: SimGroup, bar: BarLike, count: int) -> None:
        quantity = group.entry.filled
        ts = bar.ts_close_utc
        if group.stop is None:
            group.stop = self._new_leg(group, Leg.STOP, quantity, group.stop_price, count + 1, ts)
            if group.target_price is not None:
                group.target = self._new_leg(
                    group, Leg.TARGET, quantity, group.target_price, count + 1, ts
                )
            return
        for leg in (group.stop, group.target):
            if leg is not None and not leg.status.is_terminal:
                price = leg.stop_price if leg.leg is Leg.STOP else leg.limit_price
                assert price is not None
                assert leg.leg is not None
                new = self._new_leg(group, leg.leg, quantity, price, leg.eligible_from, ts, leg)
                self._swap(leg, new)

    def _trail(self, group: SimGroup, stop: SimOrder, bar: BarLike, count: int) -> None:
        trail, current = group.trail_amount, stop.stop_price
        if group.closed or stop.status.is_terminal or trail is None or current is None:
            return
        candidate = trailed_stop(stop.side, current, bar.close, trail, self._tick(stop.symbol))
        if candidate is not None:
            eligible = max(stop.eligible_from, count + 1)
            new = self._new_leg(
                group, Leg.STOP, stop.remaining, candidate, eligible, bar.ts_close_utc, stop
            )
            self._swap(stop, new)

    def _new_leg(
        self,
        group: SimGroup,
        leg: Leg,
        quantity: Decimal,
        price: Decimal,
        eligible_from: int,
        ts: datetime,
        replaces: SimOrder | None = None,
    ) -> SimOrder:
        self._seq += 1
        order = SimOrder.exit_leg(self._seq, group, leg, quantity, price, ts, replaces)
        order.eligible_from = eligible_from
        if replaces is None:
            self._rest(order)
            self._notify(order)
        return order

    def _swap(self, old: SimOrder, new: SimOrder) -> None:
        """Cancel ``old`` as REPLACED and make ``new`` the live order in its place."""
        new.replace_of = None
        self._close(old, OrderStatus.CANCELED, "REPLACED")
        group = new.group
        if group is not None:
            if new.leg is Leg.STOP:
                group.stop = new
            elif new.leg is Leg.TARGET:
                group.target = new
            elif new.leg is Leg.ENTRY:
                group.entry = new
        if new.coid not in self._orders:
            self._orders[new.coid] = new
            self._rest(new)
        self._notify(new)

    def _new_order(self, intent: OrderIntent, *, replaces: str | None) -> SimOrder:
        self._seq += 1
        return SimOrder.from_intent(self._seq, intent, self._clock(), replaces)

    def _reject(self, order: SimOrder, reason: str) -> Order:
        order.status = OrderStatus.REJECTED
        self._orders[order.coid] = order
        self._notify(order, reason=reason)
        assert order.last is not None
        return order.last

    def _close(self, order: SimOrder, status: OrderStatus, reason: str) -> None:
        order.status = status
        order.updated_at = self._bar_ts if self._bar_ts is not None else self._clock()
        order.cancel_at = None
        self._unrest(order)
        self._notify(order, reason=reason)

    def _rest(self, order: SimOrder) -> None:
        self._orders[order.coid] = order
        self._books.setdefault(order.symbol, []).append(order)
        self._bands.pop(order.symbol, None)

    def _unrest(self, order: SimOrder) -> None:
        book = self._books.get(order.symbol)
        self._bands.pop(order.symbol, None)
        if book is not None and order in book:
            book.remove(order)
            if not book:
                del self._books[order.symbol]

    def _notify(
        self, order: SimOrder, *, fill: Fill | None = None, reason: str | None = None
    ) -> None:
        order.last = order.to_order()
        if self._listener is not None:
            self._listener(
                BrokerUpdate(
                    order=order.last, fill=fill, reason=reason, protective=order.is_exit_leg
                )
            )

    def _tick(self, symbol: str) -> Decimal:
        return self._ticks.get(symbol, self._default_tick)

    def _authorize(self, capability: object) -> None:
        if self._capability is None:
            raise BrokerAccessError("this broker is not bound to a gateway; nothing may trade")
        if capability is not self._capability:
            raise BrokerAccessError(
                "refused: only the execution gateway this broker is bound to may trade"
            )

    def _get(self, client_order_id: str) -> SimOrder:
        order = self._orders.get(client_order_id)
        if order is None:
            raise UnknownOrderError(client_order_id)
        return order
