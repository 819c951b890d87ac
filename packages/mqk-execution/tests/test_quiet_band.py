"""The quiet-band shortcut changes nothing: a SimBroker that takes it and one forced to process
every bar in full produce the same fills, orders and counters for any sequence of operations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from mqk_execution import Bracket, BrokerCapability, ExecutionSettings, SimBroker
from mqk_schemas import Bar, OrderIntent, OrderType, Side, Timeframe, TimeInForce

T0 = datetime(2024, 1, 2, 21, 0, tzinfo=UTC)
CENT = Decimal("0.01")

# Mostly resting GTC LIMIT/STOP orders (the books that have a quiet band), some of the rest.
orders = st.tuples(
    st.sampled_from(Side),
    st.sampled_from([OrderType.LIMIT, OrderType.STOP] * 3 + [OrderType.MARKET]),
    st.integers(-300, 300),  # level offset from the last close, in cents
    st.integers(1, 50),
    st.sampled_from([TimeInForce.GTC] * 6 + [TimeInForce.DAY, TimeInForce.IOC]),
    st.one_of(st.none(), st.tuples(st.integers(50, 400), st.booleans())),  # bracket
)
bars = st.tuples(
    st.integers(-200, 200), st.integers(-200, 200), st.integers(0, 100), st.integers(0, 100)
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("order"), orders),
        st.tuples(
            st.just("order"),
            st.tuples(
                st.sampled_from(Side),
                st.just(OrderType.MARKET),
                st.just(0),
                st.integers(1, 50),
                st.just(TimeInForce.GTC),
                st.tuples(st.integers(50, 400), st.booleans()),
            ),
        ),
        st.tuples(st.just("bar"), bars),
        st.tuples(st.just("cancel"), st.integers(0, 30)),
    ),
    min_size=20,
    max_size=80,
)


def _broker(seed: int) -> tuple[SimBroker, BrokerCapability, list[datetime]]:
    now = [T0]
    broker = SimBroker(
        ExecutionSettings.model_validate(
            {
                "latency_bars": {"submit": 1, "cancel": 1, "replace": 0},
                "partial_fills": {
                    "enabled": True,
                    "fill_fraction_min": "0.3",
                    "probability": "0.5",
                },
                "seed": seed,
            }
        ),
        clock=lambda: now[0],
    )
    capability = BrokerCapability()
    broker.bind(capability, None)
    return broker, capability, now


@settings(max_examples=150, deadline=None)
@given(steps=steps, seed=st.integers(0, 3))
def invariant_quiet_band_shortcut_never_changes_an_outcome(
    steps: list[tuple[str, object]], seed: int
) -> None:
    fast, fast_cap, fast_now = _broker(seed)
    full, full_cap, full_now = _broker(seed)
    close = Decimal(100)
    day = 0
    for n, (kind, arg) in enumerate(steps):
        if kind == "order":
            side, order_type, offset, quantity, tif, bracket_spec = arg  # type: ignore[misc]
            level = max(close + offset * CENT, CENT)
            intent = OrderIntent(
                engine_id="MAIN",
                intent_seq=n,
                client_order_id=f"MAIN_q_{n}",
                symbol="AAPL",
                side=side,
                quantity=Decimal(quantity),
                order_type=order_type,
                limit_price=level if order_type is OrderType.LIMIT else None,
                stop_price=level if order_type is OrderType.STOP else None,
                time_in_force=tif,
            )
            bracket = None
            if bracket_spec is not None:
                distance, trail = bracket_spec
                stop = close - side.sign * distance * CENT
                bracket = Bracket(stop, None, distance * CENT if trail else None)
            a = fast.submit(fast_cap, intent, bracket)
            b = full.submit(full_cap, intent, bracket)
            assert a == b
        elif kind == "cancel":
            open_orders = [o for o in fast.snapshot().orders if not o.status.is_terminal]
            if open_orders:
                coid = open_orders[int(arg) % len(open_orders)].client_order_id  # type: ignore[call-overload]
                assert fast.cancel(fast_cap, coid) == full.cancel(full_cap, coid)
        else:
            open_move, close_move, up, down = arg  # type: ignore[misc]
            day += 1
            o = max(close + open_move * CENT, CENT)
            c = max(close + close_move * CENT, CENT)
            bar = Bar(
                symbol="AAPL",
                timeframe=Timeframe.D1,
                ts_close_utc=T0 + timedelta(days=day),
                open=o,
                high=max(o, c) + up * CENT,
                low=max(min(o, c) - down * CENT, CENT),
                close=c,
                volume=Decimal(1),
            )
            fast_now[0] = full_now[0] = bar.ts_close_utc
            full._bands.clear()  # test-only: force the full path on every bar
            assert fast.on_bar(bar) == full.on_bar(bar)
            close = c
    assert fast.snapshot() == full.snapshot()
    assert fast.ambiguous_bars == full.ambiguous_bars
