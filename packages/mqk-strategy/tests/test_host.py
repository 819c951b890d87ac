"""The strategy host: engine limits, refusals, shadow mode and strategy failures."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from mqk_schemas import (
    Action,
    Bar,
    OrderIntent,
    Side,
    TargetPosition,
    Timeframe,
    Topic,
    client_order_id,
)
from mqk_strategy import (
    BarView,
    BarWindow,
    HostConfigError,
    HostSettings,
    StrategyEvent,
    StrategyEventType,
    StrategyHost,
    StrategyLimitError,
    StrategyOutput,
    StrategyRegistry,
    StrategySignal,
    TimeframeLimitError,
)
from mqk_strategy.builtins import SMA_CROSS

BarFactory = Callable[..., Bar]


class Probe:
    """Records every bar it sees and always targets 1 share of the bar's symbol."""

    def __init__(self, lookback: int = 3) -> None:
        self.lookback = lookback
        self.seen: list[BarView] = []

    def on_bar(self, bar: BarView, window: BarWindow) -> StrategyOutput | None:
        self.seen.append(bar)
        return StrategyOutput(targets=(TargetPosition(symbol=bar.symbol, quantity=1),))


class Exploding:
    """Raises on the ``fail_at``-th bar it sees (1-based)."""

    lookback = 1

    def __init__(self, fail_at: int) -> None:
        self.fail_at = fail_at
        self.calls = 0

    def on_bar(self, bar: BarView, window: BarWindow) -> StrategyOutput | None:
        self.calls += 1
        if self.calls == self.fail_at:
            raise ZeroDivisionError("division by zero in signal")
        return StrategyOutput(targets=(TargetPosition(symbol=bar.symbol, quantity=1),))


class Collector:
    """Stands in for the execution path and the event log."""

    def __init__(self) -> None:
        self.executed: list[StrategySignal] = []
        self.events: list[StrategyEvent] = []

    def host(self, settings: HostSettings) -> StrategyHost:
        return StrategyHost(settings, execute=self.executed.append, record=self.events.append)

    @property
    def event_types(self) -> list[str]:
        return [str(e.event_type) for e in self.events]


def unit_signals_of_a_running_engine_reach_the_execution_callback(
    main_settings: HostSettings, make_bar: BarFactory
) -> None:
    sink = Collector()
    host = sink.host(main_settings)
    host.add("probe", Probe(), Timeframe.D1)
    result = host.on_bar(make_bar(0, "101.5"))
    assert result.decision.action is Action.ALLOW
    assert [s.shadow for s in result.signals] == [False]
    assert sink.executed == list(result.signals)
    assert sink.event_types == ["STRATEGY_TARGETS"]
    assert sink.events[0].payload["targets"] == [{"symbol": "AAPL", "quantity": "1"}]


def scenario_shadow_mode_runs_the_strategy_records_shadow_intents_and_executes_nothing(
    make_bar: BarFactory,
) -> None:
    sink = Collector()
    settings = HostSettings(engine_id="MAIN", max_strategies=1, max_timeframes=1, shadow=True)
    host = sink.host(settings)
    host.add("sma_cross", SMA_CROSS.build({"fast": 1, "slow": 2, "qty": 100}), Timeframe.D1)
    results = [host.on_bar(make_bar(i, c)) for i, c in enumerate([10, 11, 12, 11, 13])]
    signals = [s for r in results for s in r.signals]
    assert [str(s.output.targets[0].quantity) for s in signals] == ["100", "100", "0", "100"]
    assert all(s.shadow for s in signals)
    assert sink.executed == []
    assert sink.event_types == ["SHADOW_INTENT"] * 4
    assert all(e.payload["shadow"] is True for e in sink.events)


def unit_a_second_strategy_on_a_main_engine_is_refused(main_settings: HostSettings) -> None:
    host = StrategyHost(main_settings)
    host.add("sma_cross", Probe(), Timeframe.D1)
    with pytest.raises(StrategyLimitError) as caught:
        host.add("zscore", Probe(), Timeframe.D1)
    assert str(caught.value) == (
        "engine MAIN allows at most 1 strategy (engine.max_strategies); refusing 'zscore' "
        "next to 'sma_cross'"
    )
    assert caught.value.reason_code == "STRATEGY_LIMIT_EXCEEDED"
    assert host.strategies == ("sma_cross",)


def unit_an_engine_configured_for_two_strategies_hosts_two() -> None:
    settings = HostSettings(engine_id="EXP", max_strategies=2, max_timeframes=1, shadow=False)
    host = StrategyHost(settings)
    host.add("a", Probe(), Timeframe.D1)
    host.add("b", Probe(), Timeframe.D1)
    assert host.strategies == ("a", "b")
    with pytest.raises(StrategyLimitError):
        host.add("c", Probe(), Timeframe.D1)


def unit_a_second_timeframe_is_refused_unless_config_allows_it() -> None:
    settings = HostSettings(engine_id="EXP", max_strategies=2, max_timeframes=1, shadow=False)
    host = StrategyHost(settings)
    host.add("daily", Probe(), Timeframe.D1)
    with pytest.raises(TimeframeLimitError) as caught:
        host.add("hourly", Probe(), Timeframe.H1)
    assert "allows at most 1 timeframe(s) (engine.max_timeframes); refusing 1h" in str(caught.value)
    wider = StrategyHost(settings.model_copy(update={"max_timeframes": 2}))
    wider.add("daily", Probe(), Timeframe.D1)
    wider.add("hourly", Probe(), Timeframe.H1)
    assert wider.timeframes == (Timeframe.D1, Timeframe.H1)


@pytest.mark.parametrize(
    ("name", "strategy", "expected"),
    [
        ("", Probe(), "strategy name '' is empty or taken"),
        ("probe", object(), "object does not implement Strategy"),
        ("probe", Probe(lookback=0), "lookback 0 is not in 1..10000"),
        ("probe", Probe(lookback=10_001), "lookback 10001 is not in 1..10000"),
    ],
)
def unit_host_refuses_malformed_registrations(
    main_settings: HostSettings, name: str, strategy: Any, expected: str
) -> None:
    with pytest.raises(HostConfigError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        StrategyHost(main_settings).add(name, strategy, Timeframe.D1)


def unit_strategies_are_fixed_once_bars_have_flowed(
    make_bar: BarFactory,
) -> None:
    settings = HostSettings(engine_id="EXP", max_strategies=2, max_timeframes=1, shadow=False)
    host = StrategyHost(settings)
    host.add("a", Probe(), Timeframe.D1)
    host.on_bar(make_bar(0, 10))
    with pytest.raises(HostConfigError, match="strategies are fixed once bars have flowed"):
        host.add("b", Probe(), Timeframe.D1)


REFUSALS = [
    (
        {"timeframe": Timeframe.H1},
        "BAR_FOREIGN_TIMEFRAME",
        "engine MAIN runs on 1d; refusing a 1h bar",
    ),
    ({"complete": False}, "BAR_INCOMPLETE", "an incomplete bar never reaches a strategy"),
    ({"close": "10.000000001"}, "BAR_INPUT_INVALID", "open: 10.000000001 has more than 8 decimal"),
    ({"close": "10000000"}, "BAR_INPUT_INVALID", "open: 10000000 is outside (0, 9223372.0368"),
]


@pytest.mark.parametrize(("change", "reason", "message"), REFUSALS)
def unit_refused_bars_never_reach_the_strategy_or_its_window(
    main_settings: HostSettings,
    make_bar: BarFactory,
    change: dict[str, Any],
    reason: str,
    message: str,
) -> None:
    sink = Collector()
    probe = Probe()
    host = sink.host(main_settings)
    host.add("probe", probe, Timeframe.D1)
    options = {k: v for k, v in change.items() if k != "close"}
    result = host.on_bar(make_bar(0, change.get("close", 10), **options))
    assert result.decision.action is Action.REJECT
    assert result.decision.reason_code == reason
    assert result.decision.message.startswith(message)
    assert result.signals == ()
    assert probe.seen == []
    assert sink.executed == []
    assert sink.event_types == ["BAR_REFUSED"]
    host.on_bar(make_bar(1, 11))
    assert [b.close for b in probe.seen] == [11 * 10**8]


def unit_a_bar_at_or_before_the_last_one_is_refused(
    main_settings: HostSettings, make_bar: BarFactory
) -> None:
    probe = Probe()
    host = StrategyHost(main_settings)
    host.add("probe", probe, Timeframe.D1)
    host.on_bar(make_bar(5, 10))
    for index in (5, 4):
        result = host.on_bar(make_bar(index, 12))
        assert result.decision.reason_code == "BAR_OUT_OF_ORDER"
        assert result.decision.evidence["last_ts_close_utc"] == "2024-01-07T21:00:00Z"
    assert len(probe.seen) == 1


def unit_fixed_point_path_refuses_prices_outside_the_exact_range(
    main_settings: HostSettings,
) -> None:
    probe = Probe()
    host = StrategyHost(main_settings)
    host.add("probe", probe, Timeframe.D1)
    result = host.on_fixed_bar("AAPL", Timeframe.D1, 1, 10, 10, 0, 10, 0.0)
    assert result.decision.reason_code == "BAR_INPUT_INVALID"
    assert result.decision.message.startswith("low: 0 is outside")
    assert probe.seen == []


def fault_strategy_exception_becomes_strategy_error_and_halts_new_orders(
    main_settings: HostSettings, make_bar: BarFactory
) -> None:
    sink = Collector()
    strategy = Exploding(fail_at=2)
    host = sink.host(main_settings)
    host.add("fragile", strategy, Timeframe.D1)
    assert host.on_bar(make_bar(0, 10)).decision.action is Action.ALLOW
    failed = host.on_bar(make_bar(1, 11))
    assert failed.decision.action is Action.HALT_NEW
    assert failed.decision.reason_code == "STRATEGY_ERROR"
    assert failed.decision.evidence["exception_type"] == "ZeroDivisionError"
    assert failed.decision.evidence["exception_message"] == "division by zero in signal"
    assert failed.decision.evidence["ts_close_utc"] == "2024-01-03T21:00:00Z"
    assert failed.signals == ()
    halt = host.halted
    assert halt == failed.decision
    # The process goes on; the halt is sticky and nothing more is executed.
    later = [host.on_bar(make_bar(i, 12)) for i in range(2, 5)]
    assert {r.decision.reason_code for r in later} == {"STRATEGY_HALTED"}
    assert {r.decision.action for r in later} == {Action.HALT_NEW}
    assert strategy.calls == 2
    assert len(sink.executed) == 1
    assert sink.event_types == ["STRATEGY_TARGETS", "STRATEGY_ERROR"]
    cleared = host.clear_halt(operator="ops@desk", reason="fixed the data")
    assert cleared.event_type is StrategyEventType.HALT_CLEARED
    assert host.halted is None
    assert host.on_bar(make_bar(5, 13)).decision.action is Action.ALLOW
    assert len(sink.executed) == 2


def fault_a_failure_in_one_strategy_executes_nothing_from_that_bar() -> None:
    settings = HostSettings(engine_id="EXP", max_strategies=2, max_timeframes=1, shadow=False)
    sink = Collector()
    host = sink.host(settings)
    host.add("good", Probe(lookback=1), Timeframe.D1)
    host.add("bad", Exploding(fail_at=1), Timeframe.D1)
    result = host.on_fixed_bar("AAPL", Timeframe.D1, 1, 10, 10, 10, 10, 0.0)
    assert result.decision.reason_code == "STRATEGY_ERROR"
    assert sink.executed == []


def fault_a_strategy_returning_an_order_is_a_strategy_error(
    main_settings: HostSettings, make_bar: BarFactory
) -> None:
    run_id = uuid.UUID(int=7)

    class OrderPlacer:
        lookback = 1

        def on_bar(self, bar: BarView, window: BarWindow) -> Any:
            return OrderIntent(
                engine_id="MAIN",
                intent_seq=0,
                client_order_id=client_order_id("MAIN", run_id, 0),
                symbol=bar.symbol,
                side=Side.BUY,
                quantity=Decimal(1),
            )

    sink = Collector()
    host = sink.host(main_settings)
    host.add("rogue", OrderPlacer(), Timeframe.D1)
    result = host.on_bar(make_bar(0, 10))
    assert result.decision.reason_code == "STRATEGY_ERROR"
    assert "never orders" in result.decision.message
    assert sink.executed == []


def unit_clearing_a_halt_needs_a_halt_an_operator_and_a_reason(
    main_settings: HostSettings, make_bar: BarFactory
) -> None:
    host = StrategyHost(main_settings)
    host.add("fragile", Exploding(fail_at=1), Timeframe.D1)
    with pytest.raises(HostConfigError, match="is not halted"):
        host.clear_halt(operator="ops", reason="none")
    host.on_bar(make_bar(0, 10))
    with pytest.raises(HostConfigError, match="needs an operator and a reason"):
        host.clear_halt(operator=" ", reason="x")
    assert host.halted is not None


def unit_events_become_strategy_envelopes_stamped_with_the_bar_close(
    main_settings: HostSettings, make_bar: BarFactory
) -> None:
    sink = Collector()
    host = sink.host(main_settings)
    host.add("fragile", Exploding(fail_at=1), Timeframe.D1)
    host.on_bar(make_bar(3, 10))
    run_id = uuid.UUID(int=1)
    envelope = sink.events[0].to_envelope(run_id=run_id, seq=4)
    assert envelope.topic is Topic.STRATEGY
    assert envelope.event_type == "STRATEGY_ERROR"
    assert envelope.engine_id == "MAIN"
    assert envelope.ts_utc == make_bar(3, 10).ts_close_utc
    assert envelope.payload["decision"]["reason_code"] == "STRATEGY_ERROR"
    assert envelope.payload["decision"]["action"] == "HALT_NEW"


def scenario_host_built_from_engine_config_runs_the_configured_strategy(
    make_bar: BarFactory,
) -> None:
    engine = {
        "engine_id": "MAIN",
        "timeframe": "1d",
        "strategies": [{"name": "sma_cross", "params": {"fast": 1, "slow": 2, "qty": 100}}],
        "max_strategies": 1,
        "max_timeframes": 1,
        "shadow": False,
        "risk_profile": "tier_a",
        "allocation_cap": Decimal("0.6"),
    }
    sink = Collector()
    host = StrategyHost.from_engine_config(
        engine, registry=StrategyRegistry.discover(), execute=sink.executed.append
    )
    assert host.strategies == ("sma_cross",)
    for i, close in enumerate([10, 11]):
        host.on_bar(make_bar(i, close))
    assert [s.output.targets[0].quantity for s in sink.executed] == [Decimal(100)]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"strategies": [{"name": "sma_cross", "params": {"fast": 1, "slow": 2, "qty": 1}}] * 2},
            "engine MAIN allows at most 1 strategy",
        ),
        ({"timeframe": "2d"}, "engine.timeframe: '2d' is not a timeframe"),
        (
            {"max_strategies": 0},
            "engine.max_strategies: Input should be greater than or equal to 1",
        ),
        ({"strategies": [{"name": "sma_cross", "parms": {}}]}, "unknown keys ['parms']"),
        ({"strategies": "sma_cross"}, "engine.strategies must be a list"),
    ],
)
def unit_bad_engine_config_is_refused_naming_the_key(change: dict[str, Any], expected: str) -> None:
    engine: dict[str, Any] = {
        "engine_id": "MAIN",
        "timeframe": "1d",
        "strategies": [],
        "max_strategies": 1,
        "max_timeframes": 1,
        "shadow": False,
        **change,
    }
    with pytest.raises(HostConfigError) as caught:
        StrategyHost.from_engine_config(engine, registry=StrategyRegistry.discover())
    assert expected in str(caught.value)


class _ConfigStrategy(BaseModel):
    name: str
    params: dict[str, Any]


class _ConfigEngine(BaseModel):
    """The shape of mqk_config's validated ``engine`` section (a pydantic model)."""

    engine_id: str
    timeframe: Timeframe
    strategies: tuple[_ConfigStrategy, ...]
    max_strategies: int
    max_timeframes: int
    shadow: bool
    allocation_cap: Decimal


def contract_host_accepts_the_validated_config_model_as_well_as_a_mapping() -> None:
    engine = _ConfigEngine(
        engine_id="MAIN",
        timeframe=Timeframe.D1,
        strategies=(
            _ConfigStrategy(name="sma_cross", params={"fast": 10, "slow": 20, "qty": 100}),
        ),
        max_strategies=1,
        max_timeframes=1,
        shadow=True,
        allocation_cap=Decimal("0.6"),
    )
    host = StrategyHost.from_engine_config(engine, registry=StrategyRegistry.discover())
    assert host.strategies == ("sma_cross",)
    assert host.timeframes == (Timeframe.D1,)
    assert host.settings.shadow is True
