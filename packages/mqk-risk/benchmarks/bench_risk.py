"""Speed of the risk engine's per-bar path and pre-trade check.

Run: ``uv run python packages/mqk-risk/benchmarks/bench_risk.py``. Prints ns per call; the
per-bar budget of the backtester is ~1000 ns for everything, so on_mark must stay well below.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from mqk_risk import RiskContext, RiskEngine, RiskLimits
from mqk_schemas import OrderIntent, Side

N = 300_000
LIMITS = RiskLimits.model_validate(
    {
        "kill_switches_enabled": True,
        "daily_loss_limit": "0.02",
        "max_drawdown": "0.10",
        "max_position_quantity": "1000",
        "max_position_notional": "50000",
        "max_gross_exposure": "1",
        "max_leverage": "1",
        "allow_short": False,
        "reject_storm": {"max_rejects": 5, "window_seconds": 300},
        "pdt": {
            "mode": "auto",
            "equity_threshold": "25000",
            "max_day_trades": 3,
            "window_sessions": 5,
        },
        "stale_data_seconds": 120,
        "require_protective_stop": False,
        "desync_action": "HALT_NEW",
    }
)


def _session_of(ts: datetime) -> date:
    return ts.date()


class _View:
    equity = Decimal(100000)
    gross_exposure = Decimal(20000)

    def position(self, symbol: str) -> Decimal:
        return Decimal(0)

    def positions(self) -> Mapping[str, Decimal]:
        return {}


def _time(label: str, run: Callable[[], None], calls: int) -> None:
    best = min(_once(run) for _ in range(3))
    print(f"{label:<58} {best / calls * 1e9:8.0f} ns/call")


def _once(run: Callable[[], None]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    t0 = datetime(2024, 1, 2, 15, tzinfo=UTC)
    times = [t0 + timedelta(minutes=i) for i in range(N)]
    # a gently rising random-walk-like path that never trips (new peaks on some bars)
    equities = [Decimal(100000) + Decimal((i * 7919) % 500) + Decimal(i // 100) for i in range(N)]
    session = date(2024, 1, 2)

    def marks_with_session() -> None:
        engine = RiskEngine(
            LIMITS, engine_id="MAIN", session_of=_session_of, initial_equity=Decimal(100000)
        )
        on_mark = engine.on_mark
        for ts, equity in zip(times, equities, strict=True):
            on_mark(ts, equity, session=session)

    def marks_with_calendar() -> None:
        engine = RiskEngine(
            LIMITS, engine_id="MAIN", session_of=_session_of, initial_equity=Decimal(100000)
        )
        on_mark = engine.on_mark
        for ts, equity in zip(times, equities, strict=True):
            on_mark(ts, equity)

    daily = [t0 + timedelta(days=i) for i in range(N)]

    def daily_marks() -> None:  # a new session (day-start roll) on every bar
        engine = RiskEngine(
            LIMITS, engine_id="MAIN", session_of=_session_of, initial_equity=Decimal(100000)
        )
        on_mark = engine.on_mark
        for ts, equity in zip(daily, equities, strict=True):
            on_mark(ts, equity)

    _time("on_mark, session given, nothing trips", marks_with_session, N)
    _time("on_mark, session from session_of(ts), nothing trips", marks_with_calendar, N)
    _time("on_mark, daily bars (session rolls every bar)", daily_marks, N)

    engine = RiskEngine(
        LIMITS, engine_id="MAIN", session_of=_session_of, initial_equity=Decimal(100000)
    )
    intent = OrderIntent(
        engine_id="MAIN",
        intent_seq=1,
        client_order_id="MAIN_x_1",
        symbol="AAPL",
        side=Side.BUY,
        quantity=Decimal(10),
    )
    context = RiskContext(ts=t0, portfolio=_View(), price=Decimal(100), session=session)
    checks = N // 10

    def pre_trade() -> None:
        for _ in range(checks):
            engine.check(intent, context)

    _time("check(intent, context), allowed", pre_trade, checks)


if __name__ == "__main__":
    main()
