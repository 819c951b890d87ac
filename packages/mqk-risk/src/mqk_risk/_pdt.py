"""Pattern-day-trader book: which positions were opened this session, and day trades per window.

A day trade is opening (or adding to) a position and closing some of it within one trading
session. It is counted once per round trip: the first closing fill after an opening fill of the
same session completes it; further closing fills count again only after a new opening fill.
The window is the last ``window_sessions`` distinct sessions the engine has observed since the
oldest day trade still counted (the runtime calls the engine every bar, so every trading session
is observed; a session in which the engine never ran is simply absent, which can only make the
count larger, never smaller).
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from mqk_risk._limits import PdtLimits, PdtMode
from mqk_risk._reduce import closes_position, opens_position
from mqk_risk._state import DayTrade, OpenedPosition
from mqk_risk._switches import DEFAULT_ACTIONS, KillSwitch
from mqk_schemas import Decision, trusted

__all__ = ["PdtBook"]


class PdtBook:
    """Tracks openings, completed day trades and the session window for one engine."""

    __slots__ = ("_limits", "_opened", "_sessions", "_trades")

    def __init__(self, limits: PdtLimits) -> None:
        self._limits = limits
        self._sessions: deque[date] = deque(maxlen=limits.window_sessions)
        # symbol -> (session, opened_at) of its opening this session; OpenedPosition records
        # are built only when read (snapshot, refusal), not on every opening fill
        self._opened: dict[str, tuple[date, datetime]] = {}
        self._trades: list[DayTrade] = []

    @property
    def enabled(self) -> bool:
        """True when the mode is ``auto``."""
        return self._limits.mode is PdtMode.AUTO

    def observe(self, session: date) -> None:
        """Note that ``session`` is current; older sessions than the newest one are ignored.

        Sessions are only tracked while some day trade is recorded: before the first one (and
        after the last one left the window) there is nothing to count, and a window that
        starts at the first recorded day trade's session counts exactly the same trades.
        """
        if not self._trades:
            return
        sessions = self._sessions
        if sessions and session <= sessions[-1]:
            return
        sessions.append(session)
        start = sessions[0]
        if self._trades[0].session < start:
            self._trades = [trade for trade in self._trades if trade.session >= start]
            if not self._trades:
                sessions.clear()

    def window(self) -> tuple[date, ...]:
        """The sessions day trades are counted over, oldest first."""
        return tuple(self._sessions)

    def trades_in_window(self) -> tuple[DayTrade, ...]:
        """The day trades whose session lies inside the window."""
        return tuple(self._trades[self._window_start() :])

    def _window_start(self) -> int:
        """Index of the first recorded day trade inside the window (trades are in time order,
        so a binary search finds it; usually the oldest one is inside: :meth:`observe` drops
        older ones as the window moves, so only a restored book searches)."""
        sessions, trades = self._sessions, self._trades
        if not sessions or not trades or trades[0].session >= sessions[0]:
            return 0
        return bisect.bisect_left(trades, sessions[0], key=lambda t: t.session)

    def pending_open(self, symbol: str, session: date) -> OpenedPosition | None:
        """The opening in ``session`` that a closing order on ``symbol`` would complete."""
        opened = self._opened.get(symbol)
        if opened is not None and opened[0] == session:
            return _opened_position(symbol, opened)
        return None

    def record_fill(
        self, symbol: str, before: Decimal, after: Decimal, session: date, ts: datetime
    ) -> DayTrade | None:
        """Update the book for a fill moving ``symbol`` from ``before`` to ``after``.

        Returns the day trade it completed, if any.
        """
        if self._trades:
            self.observe(session)
        completed: DayTrade | None = None
        if closes_position(before, after):
            opened = self._opened.pop(symbol, None)
            if opened is not None and opened[0] == session:
                completed = trusted(  # the fill that brought these was validated
                    DayTrade,
                    {
                        "symbol": symbol,
                        "session": session,
                        "opened_at": opened[1],
                        "closed_at": ts,
                    },
                )
                self._trades.append(completed)
                if not self._sessions or session > self._sessions[-1]:
                    self._sessions.append(session)
        if opens_position(before, after):
            self._opened[symbol] = (session, ts)
        return completed

    def snapshot(self) -> tuple[tuple[date, ...], tuple[OpenedPosition, ...], tuple[DayTrade, ...]]:
        """Sessions, open positions of the session and recorded trades, for a state snapshot."""
        opened = tuple(
            _opened_position(symbol, self._opened[symbol]) for symbol in sorted(self._opened)
        )
        return tuple(self._sessions), opened, tuple(self._trades)

    def restore(
        self,
        sessions: Iterable[date],
        opened: Iterable[OpenedPosition],
        trades: Iterable[DayTrade],
    ) -> None:
        """Reload a snapshot taken by :meth:`snapshot`."""
        self._sessions.clear()
        self._sessions.extend(sorted(set(sessions)))
        self._opened = {item.symbol: (item.session, item.opened_at) for item in opened}
        self._trades = sorted(trades, key=lambda trade: (trade.session, trade.closed_at))

    def refusal(
        self,
        symbol: str,
        session: date,
        equity: Callable[[], Decimal],
        evidence: dict[str, Any],
    ) -> Decision | None:
        """The KILL_SWITCH_PDT REJECT of an order closing ``symbol`` in ``session``, or None.

        Refused when it completes a day trade (the position was opened this session), the
        window already holds ``max_day_trades`` and the engine's ``equity()`` is below the
        threshold. ``equity`` is only read when the first two hold.
        """
        opened_at = self.at_limit(symbol, session)
        if opened_at is None:
            return None
        value = equity()
        if value >= self._limits.equity_threshold:
            return None
        return self.refuse(symbol, session, opened_at, value, evidence)

    def at_limit(self, symbol: str, session: date) -> datetime | None:
        """When the opening that a closing order on ``symbol`` in ``session`` would complete
        as a day trade happened, if the window already holds ``max_day_trades`` (else None):
        the first two conditions of :meth:`refusal`, which reads the equity only then."""
        opened = self._opened.get(symbol)
        if opened is None or opened[0] != session:
            return None
        if len(self._trades) - self._window_start() < self._limits.max_day_trades:
            return None
        return opened[1]

    @property
    def equity_threshold(self) -> Decimal:
        """Equity below which the day-trade limit applies."""
        return self._limits.equity_threshold

    def refuse(
        self,
        symbol: str,
        session: date,
        opened_at: datetime,
        value: Decimal,
        evidence: dict[str, Any],
    ) -> Decision:
        """The KILL_SWITCH_PDT REJECT once :meth:`at_limit` gave ``opened_at`` and the equity
        ``value`` is below the threshold."""
        limits = self._limits
        trades = self.trades_in_window()
        return Decision(
            action=DEFAULT_ACTIONS[KillSwitch.PDT],
            reason_code=KillSwitch.PDT.reason_code,
            message=(
                f"closing {symbol} opened this session would be day trade {len(trades) + 1} "
                f"within {limits.window_sessions} sessions with equity {value} below "
                f"{limits.equity_threshold}"
            ),
            evidence={
                **evidence,
                "switch": KillSwitch.PDT.value,
                "session": session,
                "opened_at": opened_at,
                "day_trades_in_window": len(trades),
                "max_day_trades": limits.max_day_trades,
                "window_sessions": list(self.window()),
                "day_trades": [
                    {"symbol": t.symbol, "session": t.session, "closed_at": t.closed_at}
                    for t in trades
                ],
                "equity": value,
                "equity_threshold": limits.equity_threshold,
            },
        )


def _opened_position(symbol: str, opened: tuple[date, datetime]) -> OpenedPosition:
    # built from a validated fill's symbol and timestamp
    return trusted(OpenedPosition, {"symbol": symbol, "session": opened[0], "opened_at": opened[1]})
