"""Per-bar marks: day-start rollover, thresholds a backtester can skip on, snapshots, misuse."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mqk_risk import (
    ClockRegressionError,
    KillSwitch,
    RiskEngine,
    RiskInputError,
    RiskState,
    TradingState,
)
from mqk_schemas import Action

D = Decimal
DAY = timedelta(days=1)


def unit_day_start_equity_is_the_previous_sessions_last_mark(kit: Any) -> None:
    engine = kit.engine(initial_equity=D(100000))
    engine.on_mark(kit.T0, D("99000"))
    assert engine.day_start_equity == D(100000)  # first session starts from initial equity
    engine.on_mark(kit.T0 + kit.minutes(5), D("101000"))
    engine.on_mark(kit.T0 + DAY, D("100500"))
    assert engine.day_start_equity == D(101000)
    assert engine.session == date(2024, 3, 5)
    assert engine.equity_floor == D("98980.00")  # 101000 * 0.98 > 101000 * 0.90


def unit_daily_bars_measure_each_days_loss_from_the_previous_close(kit: Any) -> None:
    engine = kit.engine(initial_equity=D(100000))
    assert engine.on_mark(kit.T0, D("100000")) == ()
    (decision,) = engine.on_mark(kit.T0 + DAY, D("98000"))  # exactly 2 % below: trips
    assert decision.reason_code == "KILL_SWITCH_DAILY_LOSS"
    assert decision.evidence["session"] == date(2024, 3, 5)


def unit_one_unit_above_the_floor_does_not_trip(kit: Any) -> None:
    engine = kit.engine(initial_equity=D(100000))
    assert engine.on_mark(kit.T0, D("98000.01")) == ()
    assert engine.on_mark(kit.T0 + kit.minutes(1), D("98000.00")) != ()


def unit_without_initial_equity_the_first_mark_starts_the_day(kit: Any) -> None:
    engine = kit.engine(initial_equity=None)
    assert engine.peak_equity is None
    assert engine.equity_floor is None
    assert engine.on_mark(kit.T0, D("50000")) == ()
    assert (engine.day_start_equity, engine.peak_equity) == (D(50000), D(50000))


def unit_session_given_by_caller_overrides_the_calendar(kit: Any) -> None:
    engine = kit.engine()
    engine.on_mark(kit.T0, D(100000), session=date(2024, 3, 1))
    assert engine.session == date(2024, 3, 1)


_PROPERTY = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_PROPERTY
@given(
    steps=st.lists(
        st.tuples(st.integers(min_value=85_000, max_value=115_000), st.booleans()),
        min_size=1,
        max_size=60,
    )
)
def invariant_skipping_marks_inside_floor_and_peak_changes_nothing(
    kit: Any, steps: list[tuple[int, bool]]
) -> None:
    """A caller that skips every bar the ``equity_floor`` rule allows ends in the same state and
    records the same breaches as one that calls every bar."""
    every, skipping = kit.engine(), kit.engine()
    seen_every: list[str] = []
    seen_skipping: list[str] = []
    day = 0
    for index, (equity_int, new_session) in enumerate(steps):
        day += 1 if new_session else 0
        ts = kit.T0 + day * DAY + index * kit.minutes(1)
        equity = D(equity_int)
        last_of_session = index == len(steps) - 1 or steps[index + 1][1]
        seen_every += [d.reason_code for d in every.on_mark(ts, equity)]
        floor, peak = skipping.equity_floor, skipping.peak_equity
        skippable = (
            not last_of_session
            and skipping.session == kit.session_of(ts)
            and (floor is None or equity > floor)
            and peak is not None
            and equity <= peak
        )
        if not skippable:
            seen_skipping += [d.reason_code for d in skipping.on_mark(ts, equity)]
    assert seen_skipping == seen_every
    assert skipping.snapshot() == every.snapshot()


@_PROPERTY
@given(
    position=st.integers(min_value=-300, max_value=300),
    side=st.sampled_from(["BUY", "SELL"]),
    qty=st.integers(min_value=1, max_value=600),
    action=st.sampled_from([Action.HALT_NEW, Action.FLATTEN_AND_HALT]),
)
def invariant_no_risk_increasing_order_passes_while_halted(
    kit: Any, position: int, side: str, qty: int, action: Action
) -> None:
    engine = kit.engine(allow_short=True)
    engine.halt(kit.T0, reason="r", operator="o", action=action)
    portfolio = kit.FakePortfolio(D(100000), {"AAPL": D(position)})
    decision = engine.check(kit.intent(side, qty), kit.ctx(portfolio))
    after = position + (qty if side == "BUY" else -qty)
    reduces = position != 0 and abs(after) < abs(position) and after * position >= 0
    assert decision.allowed is reduces


def unit_snapshot_restores_switches_pdt_and_thresholds_exactly(kit: Any) -> None:
    engine = kit.engine(initial_equity=D(20000))
    engine.on_mark(kit.T0, D(20000))
    engine.on_fill(kit.fill("BUY", 10, kit.T0), position_before=D(0))
    engine.on_fill(kit.fill("SELL", 10, kit.T0), position_before=D(10))
    engine.on_fill(kit.fill("BUY", 5, kit.T0), position_before=D(0))
    engine.on_reject(kit.T0, client_order_id="MAIN_r_1")
    engine.on_mark(kit.T0 + kit.minutes(1), D(19000))  # daily loss
    engine.halt(kit.T0, reason="r", operator="o", action=Action.DISARM)
    state = engine.snapshot()
    for restored_state in (
        RiskState.model_validate(state.model_dump()),
        RiskState.model_validate_json(state.model_dump_json()),
    ):
        restored = RiskEngine.from_state(engine.limits, restored_state, session_of=kit.session_of)
        assert restored.snapshot().model_dump(mode="json") == state.model_dump(mode="json")
        assert restored.trading_state is TradingState.DISARMED
        assert restored.is_tripped(KillSwitch.DAILY_LOSS)
        assert restored.equity_floor == engine.equity_floor
        with pytest.raises(ClockRegressionError):
            restored.on_mark(kit.T0, D(20000))


def fault_marks_going_back_in_time_are_refused(kit: Any) -> None:
    engine = kit.engine()
    engine.on_mark(kit.T0, D(100000))
    with pytest.raises(ClockRegressionError, match="earlier than"):
        engine.on_mark(kit.T0 - kit.minutes(1), D(100000))
    with pytest.raises(ClockRegressionError, match="session 2024-03-03"):
        engine.on_mark(kit.T0, D(100000), session=date(2024, 3, 3))


@pytest.mark.parametrize(
    ("ts", "equity", "data_ts", "message"),
    [
        (datetime(2024, 3, 4), D(1), None, "ts: "),
        (None, 100000.0, None, "binary float"),
        (None, D("NaN"), None, "not a finite"),
        (None, D(1), datetime(2024, 3, 4), "data_ts: "),
    ],
)
def fault_marks_with_naive_time_or_inexact_equity_are_refused(
    kit: Any, ts: datetime | None, equity: Any, data_ts: datetime | None, message: str
) -> None:
    engine = kit.engine()
    engine.on_mark(kit.T0 - DAY, D(100000))
    with pytest.raises(RiskInputError, match=message):
        engine.on_mark(ts or kit.T0, equity, data_ts=data_ts)


def unit_engine_id_must_be_an_engine_token(kit: Any) -> None:
    with pytest.raises(RiskInputError, match="engine token"):
        RiskEngine(kit.engine().limits, engine_id="main", session_of=kit.session_of)


def unit_fill_of_another_engine_is_misuse(kit: Any) -> None:
    from mqk_risk import EngineMismatchError

    fill = kit.fill("BUY", 1, kit.T0).model_copy(update={"engine_id": "EXP"})
    with pytest.raises(EngineMismatchError):
        kit.engine().on_fill(fill, position_before=D(0))
