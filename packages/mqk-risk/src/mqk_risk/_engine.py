"""The risk engine: order-level checks, per-bar kill switches, sticky trading state."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from mqk_risk._breaches import (
    Breach,
    HaltText,
    daily_loss,
    drawdown,
    halted_refusal,
    halted_text,
    stale_data,
)
from mqk_risk._inputs import exact, require_engine_id, require_utc
from mqk_risk._limits import RiskLimits
from mqk_risk._order_limits import OrderLimits, breach_decision, limit_breach, valuation_price
from mqk_risk._pdt import PdtBook
from mqk_risk._reduce import closes_position, is_risk_reducing, signed_quantity
from mqk_risk._state import ActiveSwitch, DayTrade, RecordedReject, RiskState
from mqk_risk._storm import RejectWindow
from mqk_risk._switches import DEFAULT_ACTIONS, KillSwitch, TradingState
from mqk_risk._views import PortfolioView, RiskContext, RiskReport, SessionOf
from mqk_risk.errors import (
    ClockRegressionError,
    EngineMismatchError,
    RiskInputError,
    SwitchNotActiveError,
)
from mqk_schemas import (
    Action,
    Decision,
    Fill,
    OrderIntent,
    OrderType,
    Side,
    TargetPosition,
    client_order_id,
)

__all__ = ["RiskEngine"]

_ZERO: Final = Decimal(0)
_NO_FLOOR: Final = Decimal("-Infinity")
_NEVER: Final = timedelta.max
_EPOCH: Final = datetime.min.replace(tzinfo=UTC)
_NO_DECISIONS: tuple[Decision, ...] = ()
_ALLOW: Final = Decision.allow()
_EMPTY_REPORT: Final = RiskReport()
_STICKY_ACTIONS = (Action.HALT_NEW, Action.FLATTEN_AND_HALT, Action.DISARM)
_MARKET: Final = OrderType.MARKET
_ACTIVE: Final = TradingState.ACTIVE
_DISARMED: Final = TradingState.DISARMED


class RiskEngine:
    """Deterministic risk engine of one engine (``MAIN``, ``EXP``, ...).

    Constructor: the limits, the engine token, ``session_of(ts) -> date`` (the trading session of
    a UTC timestamp, from the caller's exchange calendar) and optionally ``initial_equity``
    (starting cash: the first session's day-start equity and the first peak).

    Entry points:

    - :meth:`check` (pre-trade, per order) returns one :class:`~mqk_schemas.Decision`.
    - :meth:`on_mark` (per bar, scalar and cheap) and :meth:`evaluate` (per bar, from a
      :class:`PortfolioView`) trip the sticky switches and return the new breaches.
    - :meth:`on_fill`, :meth:`on_reject`, :meth:`report_desync`, :meth:`check_protective_stops`
      and :meth:`halt` feed the other switches; :meth:`clear` is the operator's way back.

    Day-start equity is the last equity marked in the previous session (or ``initial_equity``),
    so a daily-bar run measures each day's loss from the previous close.
    """

    __slots__ = (
        "_active",
        "_active_codes",
        "_auto",
        "_daily_armed",
        "_daily_factor",
        "_daily_floor",
        "_day_start",
        "_dd_armed",
        "_dd_factor",
        "_dd_floor",
        "_engine_id",
        "_flatten",
        "_floor",
        "_halt_text",
        "_last_equity",
        "_last_ts",
        "_limits",
        "_order_limits",
        "_pdt",
        "_pdt_enabled",
        "_peak",
        "_session",
        "_session_of",
        "_stale",
        "_state",
        "_storm",
    )

    def __init__(
        self,
        limits: RiskLimits,
        *,
        engine_id: str,
        session_of: SessionOf,
        initial_equity: Decimal | None = None,
    ) -> None:
        self._limits = limits
        self._engine_id = require_engine_id(engine_id)
        self._session_of = session_of
        self._auto = limits.kill_switches_enabled
        self._daily_factor = 1 - limits.daily_loss_limit
        self._dd_factor = 1 - limits.max_drawdown
        self._pdt = PdtBook(limits.pdt)
        self._pdt_enabled = self._pdt.enabled
        self._order_limits = OrderLimits.of(limits)
        self._active_codes: tuple[str, ...] = ()
        self._halt_text: HaltText = ("", "", "")
        self._storm = RejectWindow(limits.reject_storm)
        self._active: dict[KillSwitch, ActiveSwitch] = {}
        self._state = TradingState.ACTIVE
        self._flatten = False
        self._session: date | None = None
        self._last_ts = _EPOCH
        start = None if initial_equity is None else exact(initial_equity, "initial_equity")
        self._day_start: Decimal | None = None
        self._peak = _NO_FLOOR if start is None else start
        self._last_equity: Decimal | None = start
        self._daily_floor = _NO_FLOOR
        self._dd_floor = _NO_FLOOR
        self._dd_armed = False
        self._daily_armed = False
        self._floor = _NO_FLOOR
        self._stale = _NEVER
        self._recompute()

    # ------------------------------------------------------------------ read-only state

    @property
    def engine_id(self) -> str:
        """The engine this risk engine guards."""
        return self._engine_id

    @property
    def limits(self) -> RiskLimits:
        """The limits in force."""
        return self._limits

    @property
    def trading_state(self) -> TradingState:
        """ACTIVE, REDUCING (only risk-reducing orders pass) or DISARMED (nothing passes)."""
        return self._state

    @property
    def active_switches(self) -> tuple[ActiveSwitch, ...]:
        """Tripped sticky switches, in :class:`KillSwitch` order."""
        active = self._active
        return tuple(active[s] for s in KillSwitch if s in active)

    def is_tripped(self, switch: KillSwitch) -> bool:
        """True while ``switch`` is tripped and not cleared."""
        return switch in self._active

    @property
    def flatten_requested(self) -> bool:
        """True while a FLATTEN_AND_HALT switch is tripped and the engine is not disarmed."""
        return self._flatten and self._state is not TradingState.DISARMED

    @property
    def session(self) -> date | None:
        """The current trading session (None before the first mark)."""
        return self._session

    @property
    def day_start_equity(self) -> Decimal | None:
        """Equity the daily loss of the current session is measured from."""
        return self._day_start

    @property
    def peak_equity(self) -> Decimal | None:
        """Highest equity marked so far (or ``initial_equity``)."""
        return None if self._peak == _NO_FLOOR else self._peak

    @property
    def equity_floor(self) -> Decimal | None:
        """Equity at or below which the next :meth:`on_mark` of this session trips a switch.

        The larger of ``day_start * (1 - daily_loss_limit)`` and ``peak * (1 - max_drawdown)``,
        leaving out switches already tripped; None when neither can trip. A backtester may skip
        the per-bar call while the session is unchanged, the data is fresh, the bar is not the
        last of its session (its equity becomes the next day-start) and
        ``equity_floor < equity <= peak_equity``: such a call would change nothing.
        """
        return None if self._floor == _NO_FLOOR else self._floor

    # ------------------------------------------------------------------ per-bar (hot path)

    def on_mark(
        self,
        ts: datetime,
        equity: Decimal,
        *,
        session: date | None = None,
        data_ts: datetime | None = None,
    ) -> tuple[Decision, ...]:
        """Per-bar state check from the engine's equity at ``ts``.

        ``session`` is the trading session of ``ts`` if the caller knows it (saves a calendar
        lookup); a new session rolls the day-start equity. ``data_ts`` is the close time of the
        newest market data; older than ``stale_data_seconds`` before ``ts`` trips STALE_DATA.
        Returns the switches tripped by this call (usually the shared empty tuple).
        """
        # validate everything before changing anything
        try:
            if ts < self._last_ts:
                raise ClockRegressionError(
                    f"mark at {ts.isoformat()} is earlier than {self._last_ts.isoformat()}"
                )
        except TypeError:
            raise RiskInputError(f"ts: {ts!r} is not a timezone-aware datetime") from None
        if type(equity) is not Decimal or not equity.is_finite():
            equity = exact(equity, "equity")
        stale = False
        if data_ts is not None:
            try:
                stale = ts - data_ts > self._stale
            except TypeError:
                raise RiskInputError(f"data_ts: {data_ts!r} is not timezone-aware") from None
        if session is None:
            session = self._session_of(ts)
        if session != self._session:
            self._roll(session, equity)  # refuses an earlier session before changing anything
        self._last_ts = ts
        if equity > self._peak:
            self._peak = equity
            if self._dd_armed:
                dd_floor = equity * self._dd_factor
                self._dd_floor = dd_floor
                if dd_floor > self._floor:
                    self._floor = dd_floor
        self._last_equity = equity
        if stale or equity <= self._floor:
            return self._mark_breaches(ts, equity, data_ts if stale else None)
        return _NO_DECISIONS

    def evaluate(
        self,
        portfolio: PortfolioView,
        ts: datetime,
        *,
        session: date | None = None,
        data_ts: datetime | None = None,
        protective_stops: Mapping[str, Decimal] | None = None,
    ) -> RiskReport:
        """Per-bar check from a portfolio view: :meth:`on_mark`, the protective-stop check when
        ``protective_stops`` (symbol -> quantity covered by resting stops) is given, and the
        flatten targets while a FLATTEN_AND_HALT switch is tripped."""
        decisions = self.on_mark(ts, portfolio.equity, session=session, data_ts=data_ts)
        if protective_stops is not None:
            decisions += self.check_protective_stops(ts, portfolio.positions(), protective_stops)
        flatten = self.flatten_targets(portfolio.positions()) if self.flatten_requested else ()
        if not decisions and not flatten:
            return _EMPTY_REPORT
        return RiskReport(decisions=decisions, flatten=flatten)

    def flatten_targets(self, positions: Mapping[str, Decimal]) -> tuple[TargetPosition, ...]:
        """Zero targets, sorted by symbol, for every open position while flattening is requested."""
        if not self.flatten_requested:
            return ()
        return tuple(
            TargetPosition(symbol=symbol, quantity=_ZERO)
            for symbol in sorted(positions)
            if positions[symbol] != _ZERO
        )

    def flatten_intents(
        self, positions: Mapping[str, Decimal], *, run_id: uuid.UUID, first_seq: int
    ) -> tuple[OrderIntent, ...]:
        """The same request as ready orders: one reduce-only MARKET intent per open position,
        sorted by symbol, numbered ``first_seq, first_seq + 1, ...`` in the caller's intent
        sequence (advance it by the number returned). Empty unless flattening is requested."""
        intents = []
        for offset, target in enumerate(self.flatten_targets(positions)):
            quantity = exact(positions[target.symbol], f"positions[{target.symbol}]")
            seq = first_seq + offset
            intents.append(
                OrderIntent(
                    engine_id=self._engine_id,
                    intent_seq=seq,
                    client_order_id=client_order_id(self._engine_id, run_id, seq),
                    symbol=target.symbol,
                    side=Side.SELL if quantity > _ZERO else Side.BUY,
                    quantity=abs(quantity),
                    reduce_only=True,
                )
            )
        return tuple(intents)

    # ------------------------------------------------------------------ pre-trade

    def check(self, intent: OrderIntent, context: RiskContext) -> Decision:
        """Pre-trade decision for ``intent``; ALLOW or a REJECT with reason code and evidence.

        Order of checks: trading state (DISARMED refuses everything, REDUCING everything that is
        not risk-reducing), PDT (any order completing a day trade), then for risk-increasing
        orders shorting, position quantity, position notional, gross exposure, leverage.
        Reduce-ness and the limits assume ``context.pending_same_side`` fills too.
        """
        return self.check_order(
            intent,
            context.ts,
            context.portfolio,
            context.price,
            context.pending_same_side,
            context.session,
        )

    def check_order(
        self,
        intent: OrderIntent,
        ts: datetime,
        portfolio: PortfolioView,
        price: Decimal | None,
        pending_same_side: Decimal = _ZERO,
        session: date | None = None,
    ) -> Decision:
        """:meth:`check` with the :class:`RiskContext` fields as arguments (an adapter that
        has them at hand builds no context object)."""
        if intent.engine_id != self._engine_id:
            raise EngineMismatchError(
                f"intent {intent.client_order_id} of engine {intent.engine_id} checked by the "
                f"risk engine of {self._engine_id}"
            )
        if type(ts) is not datetime or ts.tzinfo is not UTC:
            ts = require_utc(ts, "context.ts")
        pending = pending_same_side
        if type(pending) is not Decimal or not pending.is_finite():
            pending = exact(pending, "context.pending_same_side")
        if pending < _ZERO:
            raise RiskInputError(f"context.pending_same_side {pending} must be >= 0")
        side, quantity, symbol = intent.side, intent.quantity, intent.symbol
        before = portfolio.position(symbol)
        if type(before) is not Decimal or not before.is_finite():
            before = exact(before, "position")
        after = before + signed_quantity(side, quantity)
        reducing = is_risk_reducing(before, side, quantity + pending)
        if session is None:
            session = self._session_of(ts)
        pdt = self._pdt
        pdt.observe(session)
        state = self._state
        if state is not _ACTIVE and (state is _DISARMED or not reducing):
            return halted_refusal(
                self._halt_text,
                list(self._active_codes),
                self._evidence(ts, intent, before, after, pending),
            )
        if self._pdt_enabled and closes_position(before, after):
            opened_at = pdt.at_limit(symbol, session)
            if opened_at is not None:
                value = exact(portfolio.equity, "equity")
                if value < pdt.equity_threshold:
                    evidence = self._evidence(ts, intent, before, after, pending)
                    return pdt.refuse(symbol, session, opened_at, value, evidence)
        if reducing:
            return _ALLOW
        # worst case: this order and the engine's other open orders on its side all fill
        worst_after = after + signed_quantity(side, pending)
        if (
            intent.order_type is not _MARKET
            or type(price) is not Decimal
            or not price.is_finite()
            or price <= _ZERO
        ):
            price = valuation_price(intent, price)
        equity = portfolio.equity
        if type(equity) is not Decimal or not equity.is_finite():
            equity = exact(equity, "equity")
        gross = portfolio.gross_exposure
        if type(gross) is not Decimal or not gross.is_finite():
            gross = exact(gross, "gross_exposure")
        breach = limit_breach(self._order_limits, before, worst_after, price, equity, gross)
        if breach is None:
            return _ALLOW
        evidence = self._evidence(ts, intent, before, after, pending)
        evidence["price"] = price
        evidence["position_after_pending"] = worst_after
        return breach_decision(breach, evidence)

    def _evidence(
        self,
        ts: datetime,
        intent: OrderIntent,
        before: Decimal,
        after: Decimal,
        pending: Decimal,
    ) -> dict[str, Any]:
        """The evidence every refusal of :meth:`check` starts with (built only to refuse)."""
        return {
            "engine_id": self._engine_id,
            "ts": ts,
            "client_order_id": intent.client_order_id,
            "symbol": intent.symbol,
            "side": intent.side.value,
            "quantity": intent.quantity,
            "position": before,
            "position_after": after,
            "pending_same_side": pending,
        }

    # ------------------------------------------------------------------ other feeds

    def on_fill(
        self, fill: Fill, *, position_before: Decimal, session: date | None = None
    ) -> DayTrade | None:
        """Record a fill for PDT; ``position_before`` is the engine's signed position in the
        fill's symbol just before it. Returns the day trade the fill completed, if any."""
        if fill.engine_id != self._engine_id:
            raise EngineMismatchError(
                f"fill {fill.broker_fill_id} of engine {fill.engine_id} given to the risk "
                f"engine of {self._engine_id}"
            )
        before = position_before
        if type(before) is not Decimal or not before.is_finite():
            before = exact(before, "position_before")
        after = before + signed_quantity(fill.side, fill.quantity)  # as Fill.signed_quantity
        if session is None:
            session = self._session_of(fill.ts_utc)
        return self._pdt.record_fill(fill.symbol, before, after, session, fill.ts_utc)

    def on_reject(
        self,
        ts: datetime,
        *,
        client_order_id: str | None = None,
        reason_code: str | None = None,
    ) -> tuple[Decision, ...]:
        """Count a broker reject; ``max_rejects`` within ``window_seconds`` trips REJECT_STORM."""
        reject = RecordedReject(
            ts=require_utc(ts, "ts"), client_order_id=client_order_id, reason_code=reason_code
        )
        storm = self._storm.add(reject)
        if storm is None or not self._auto or KillSwitch.REJECT_STORM in self._active:
            return _NO_DECISIONS
        limits = self._limits.reject_storm
        decision = self._trip(
            KillSwitch.REJECT_STORM,
            DEFAULT_ACTIONS[KillSwitch.REJECT_STORM],
            ts,
            f"{len(storm)} broker rejects within {limits.window_seconds}s",
            rejects=len(storm),
            max_rejects=limits.max_rejects,
            window_seconds=limits.window_seconds,
            first_reject_ts=storm[0].ts,
            last_reject_ts=storm[-1].ts,
            client_order_ids=[item.client_order_id for item in storm],
        )
        return (decision,)

    def report_desync(self, ts: datetime, evidence: Mapping[str, Any]) -> tuple[Decision, ...]:
        """Reconciliation found internal and broker state apart: trip DESYNC with
        ``risk.desync_action`` and the reconcile ``evidence``."""
        require_utc(ts, "ts")
        if not self._auto or KillSwitch.DESYNC in self._active:
            return _NO_DECISIONS
        decision = self._trip(
            KillSwitch.DESYNC,
            self._limits.desync_action,
            ts,
            "internal state and broker disagree",
            desync=dict(evidence),
        )
        return (decision,)

    def check_protective_stops(
        self, ts: datetime, positions: Mapping[str, Decimal], stops: Mapping[str, Decimal]
    ) -> tuple[Decision, ...]:
        """With ``require_protective_stop``, trip MISSING_STOP when an open position is not fully
        covered; ``stops`` maps symbol -> quantity covered by resting protective stop orders."""
        if (
            not (self._auto and self._limits.require_protective_stop)
            or KillSwitch.MISSING_STOP in self._active
        ):
            return _NO_DECISIONS
        require_utc(ts, "ts")
        unprotected: dict[str, dict[str, Decimal]] = {}
        for symbol in sorted(positions):
            quantity = exact(positions[symbol], f"positions[{symbol}]")
            covered = exact(stops.get(symbol, _ZERO), f"stops[{symbol}]")
            if quantity != _ZERO and covered < abs(quantity):
                unprotected[symbol] = {"position": quantity, "covered": covered}
        if not unprotected:
            return _NO_DECISIONS
        decision = self._trip(
            KillSwitch.MISSING_STOP,
            DEFAULT_ACTIONS[KillSwitch.MISSING_STOP],
            ts,
            f"open position(s) without a protective stop: {', '.join(unprotected)}",
            unprotected=unprotected,
        )
        return (decision,)

    # ------------------------------------------------------------------ operator

    def halt(
        self, ts: datetime, *, reason: str, operator: str, action: Action = Action.HALT_NEW
    ) -> Decision:
        """Manual halt with HALT_NEW, FLATTEN_AND_HALT or DISARM (a repeat never weakens it)."""
        require_utc(ts, "ts")
        if action not in _STICKY_ACTIONS:
            raise RiskInputError(
                f"a manual halt takes HALT_NEW, FLATTEN_AND_HALT or DISARM, not {action}"
            )
        current = self._active.get(KillSwitch.MANUAL)
        if current is not None and current.action.severity > action.severity:
            action = current.action
        return self._trip(
            KillSwitch.MANUAL,
            action,
            ts,
            f"manual halt: {reason}",
            reason=reason,
            operator=operator,
        )

    def clear(self, switch: KillSwitch, *, ts: datetime, operator: str) -> Decision:
        """Operator clears a tripped switch; returns the KILL_SWITCH_CLEARED record.

        The condition is re-evaluated from the next call on, so clearing a daily loss while the
        loss persists trips it again at the next mark.
        """
        require_utc(ts, "ts")
        active = self._active.pop(switch, None)
        if active is None:
            raise SwitchNotActiveError(f"{switch.reason_code} is not tripped on {self._engine_id}")
        if switch is KillSwitch.REJECT_STORM:
            self._storm.reset()
        self._recompute()
        return Decision(
            action=Action.ALLOW,
            reason_code="KILL_SWITCH_CLEARED",
            message=f"{switch.reason_code} cleared by {operator}",
            evidence={
                "engine_id": self._engine_id,
                "switch": switch.value,
                "cleared": switch.reason_code,
                "tripped_at": active.since,
                "ts": ts,
                "operator": operator,
                "trading_state": self._state.value,
            },
        )

    # ------------------------------------------------------------------ persistence

    def snapshot(self) -> RiskState:
        """The full state, to store per engine and resume with :meth:`from_state`."""
        sessions, opened, trades = self._pdt.snapshot()
        return RiskState(
            engine_id=self._engine_id,
            session=self._session,
            last_ts=None if self._last_ts == _EPOCH else self._last_ts,
            day_start_equity=self._day_start,
            peak_equity=self.peak_equity,
            last_equity=self._last_equity,
            active=self.active_switches,
            rejects=self._storm.snapshot(),
            sessions=sessions,
            opened=opened,
            day_trades=trades,
        )

    @classmethod
    def from_state(
        cls, limits: RiskLimits, state: RiskState, *, session_of: SessionOf
    ) -> RiskEngine:
        """A risk engine that resumes exactly from ``state`` (tripped switches included)."""
        engine = cls(limits, engine_id=state.engine_id, session_of=session_of)
        engine._session = state.session
        engine._last_ts = _EPOCH if state.last_ts is None else state.last_ts
        engine._day_start = state.day_start_equity
        engine._peak = _NO_FLOOR if state.peak_equity is None else state.peak_equity
        engine._last_equity = state.last_equity
        engine._active = {item.switch: item for item in state.active}
        engine._storm.restore(state.rejects)
        engine._pdt.restore(state.sessions, state.opened, state.day_trades)
        engine._recompute()
        return engine

    # ------------------------------------------------------------------ internals

    def _roll(self, session: date, equity: Decimal) -> None:
        current = self._session
        if current is not None and session < current:
            raise ClockRegressionError(f"session {session} is earlier than {current}")
        self._session = session
        self._pdt.observe(session)
        day_start = equity if self._last_equity is None else self._last_equity
        self._day_start = day_start
        if self._daily_armed:  # only the daily floor moves on a new session
            daily_floor = day_start * self._daily_factor
            self._daily_floor = daily_floor
            dd_floor = self._dd_floor
            self._floor = daily_floor if daily_floor > dd_floor else dd_floor

    def _refloor(self) -> None:
        active = self._active
        daily = dd = _NO_FLOOR
        self._daily_armed = self._auto and KillSwitch.DAILY_LOSS not in active
        self._dd_armed = self._auto and KillSwitch.MAX_DRAWDOWN not in active
        if self._daily_armed and self._day_start is not None:
            daily = self._day_start * self._daily_factor
        if self._dd_armed:
            dd = self._peak * self._dd_factor  # -Infinity until the first mark
        self._daily_floor = daily
        self._dd_floor = dd
        self._floor = max(daily, dd)

    def _recompute(self) -> None:
        actions = {item.action for item in self._active.values()}
        self._active_codes = tuple(item.decision.reason_code for item in self.active_switches)
        if Action.DISARM in actions:
            self._state = TradingState.DISARMED
        elif actions:
            self._state = TradingState.REDUCING
        else:
            self._state = TradingState.ACTIVE
        self._flatten = Action.FLATTEN_AND_HALT in actions
        self._halt_text = halted_text(self._engine_id, self._state, self._active_codes)
        stale_armed = self._auto and KillSwitch.STALE_DATA not in self._active
        self._stale = self._limits.stale_data if stale_armed else _NEVER
        self._refloor()

    def _mark_breaches(
        self, ts: datetime, equity: Decimal, data_ts: datetime | None
    ) -> tuple[Decision, ...]:
        limits = self._limits
        found: list[tuple[KillSwitch, Breach]] = []
        if equity <= self._daily_floor and self._day_start is not None:
            found.append(
                (
                    KillSwitch.DAILY_LOSS,
                    daily_loss(
                        equity,
                        self._day_start,
                        self._daily_floor,
                        limits.daily_loss_limit,
                        self._session,
                    ),
                )
            )
        if equity <= self._dd_floor:
            found.append(
                (
                    KillSwitch.MAX_DRAWDOWN,
                    drawdown(equity, self._peak, self._dd_floor, limits.max_drawdown),
                )
            )
        if data_ts is not None:  # given only when stale
            found.append(
                (KillSwitch.STALE_DATA, stale_data(ts, data_ts, limits.stale_data_seconds))
            )
        return tuple(
            self._trip(switch, DEFAULT_ACTIONS[switch], ts, message, **evidence)
            for switch, (message, evidence) in found
        )

    def _trip(
        self, switch: KillSwitch, action: Action, ts: datetime, message: str, **evidence: Any
    ) -> Decision:
        decision = Decision(
            action=action,
            reason_code=switch.reason_code,
            message=message,
            evidence={"engine_id": self._engine_id, "switch": switch.value, "ts": ts, **evidence},
        )
        self._active[switch] = ActiveSwitch(
            switch=switch, action=action, since=ts, decision=decision
        )
        self._recompute()
        return decision
