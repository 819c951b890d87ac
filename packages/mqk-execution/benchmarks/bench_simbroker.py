"""SimBroker hot-path timings: ns per ``on_bar`` with nothing resting and with resting orders.

Run: ``uv run python packages/mqk-execution/benchmarks/bench_simbroker.py``. Prints one line per
case; nothing is asserted (speed is measured here, not in tests).
"""

from __future__ import annotations

import gc
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from mqk_execution import ArmAuthority, ExecutionGateway, ExecutionSettings, SimBroker
from mqk_schemas import Bar, Decision, OrderIntent, OrderType, Side, Timeframe, client_order_id

RUN = uuid.UUID(int=1)
T0 = datetime(2020, 1, 2, 21, tzinfo=UTC)
N = 1_000_000


class LightBar(NamedTuple):
    """The record a fast backtest loop hands to ``on_bar`` (no pydantic validation)."""

    symbol: str
    ts_close_utc: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


class _Allow:
    def position(self, symbol: str) -> Decimal:
        return Decimal(0)

    def integrity_decision(self, symbol: str) -> Decision:
        return Decision.allow()

    def check(self, intent: object, context: object) -> Decision:
        return Decision.allow()


def _bars(n: int) -> list[LightBar]:
    price = Decimal("100.00")
    step = timedelta(minutes=1)
    return [LightBar("AAPL", T0 + i * step, price, price, price, price) for i in range(n)]


def _time(label: str, broker: SimBroker, bars: list[LightBar]) -> None:
    on_bar = broker.on_bar
    start = time.perf_counter_ns()
    for bar in bars:
        on_bar(bar)
    elapsed = time.perf_counter_ns() - start
    per = elapsed / len(bars)
    print(f"{label:<48} {per:8.1f} ns/bar  ({1e9 / per:,.0f} bars/s)")


def main() -> None:
    bars = _bars(N)
    gc.collect()
    gc.freeze()  # a million live bars would otherwise make every GC pass scan them all
    now = [T0]
    idle = SimBroker(ExecutionSettings(), clock=lambda: now[0])
    _time("on_bar, nothing resting", idle, bars)

    resting = SimBroker(ExecutionSettings(), clock=lambda: now[0])
    authority = ArmAuthority(RUN, "MAIN")
    fake = _Allow()
    gateway = ExecutionGateway(
        engine_id="MAIN",
        run_id=RUN,
        broker=resting,
        arm_verifier=authority.verifier,
        integrity=fake,
        risk=fake,
        allocation=fake,
        positions=fake,
        clock=lambda: now[0],
    )
    token = authority.arm()
    for seq in range(3):
        intent = OrderIntent(
            engine_id="MAIN",
            intent_seq=seq,
            client_order_id=client_order_id("MAIN", RUN, seq),
            symbol="AAPL",
            side=Side.BUY,
            quantity=Decimal(10),
            order_type=OrderType.LIMIT,
            limit_price=Decimal(50 + seq),
        )
        gateway.submit(intent, arm_token=token)
    _time("on_bar, 3 untouched limit orders resting", resting, bars[: N // 10])

    pydantic_bars = [
        Bar(
            symbol=b.symbol,
            timeframe=Timeframe.M1,
            ts_close_utc=b.ts_close_utc,
            open=b.open,
            high=b.high,
            low=b.low,
            close=b.close,
            volume=Decimal(0),
        )
        for b in bars[: N // 10]
    ]
    other = SimBroker(ExecutionSettings(), clock=lambda: now[0])
    start = time.perf_counter_ns()
    for bar in pydantic_bars:
        other.on_bar(bar)
    per = (time.perf_counter_ns() - start) / len(pydantic_bars)
    print(f"{'on_bar(mqk_schemas.Bar), nothing resting':<48} {per:8.1f} ns/bar")


if __name__ == "__main__":
    main()
