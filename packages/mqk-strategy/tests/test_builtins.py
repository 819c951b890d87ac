"""Hand-checked traces of the builtin strategies through the host, and output rules."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from mqk_schemas import Bar, TargetPosition, Timeframe
from mqk_strategy import (
    BarArrays,
    HostSettings,
    ProtectiveStop,
    StrategyHost,
    StrategyOutput,
    StrategyOutputError,
    StrategySpec,
    VectorisedStrategy,
)
from mqk_strategy.builtins import ATR_TREND_SWING, SMA_CROSS, ZSCORE_MEAN_REVERSION

BarFactory = Callable[..., Bar]


def run(
    spec: StrategySpec[Any], params: dict[str, Any], bars: list[Bar]
) -> list[tuple[str, str | None] | None]:
    """(target quantity, stop) per bar through a MAIN host; None during warm-up."""
    host = StrategyHost(
        HostSettings(engine_id="MAIN", max_strategies=1, max_timeframes=1, shadow=False)
    )
    host.add(spec.name, spec.build(params), Timeframe.D1)
    trace: list[tuple[str, str | None] | None] = []
    for bar in bars:
        result = host.on_bar(bar)
        assert result.decision.allowed
        if not result.signals:
            trace.append(None)
            continue
        output = result.signals[0].output
        stop = output.stop_for(bar.symbol)
        trace.append((str(output.targets[0].quantity), None if stop is None else str(stop)))
    return trace


SMA_CASES = [
    ([10, 11, 12], [None, None, "100"]),
    ([12, 11, 10], [None, None, "0"]),
    ([10, 10, 10, 10], [None, None, "0", "0"]),  # equal SMAs: not above, flat
    ([10, 12, 11, 9, 13], [None, None, "100", "0", "0"]),  # last bar: both SMAs exactly 11
]


@pytest.mark.parametrize(("closes", "expected"), SMA_CASES)
def unit_sma_cross_targets_qty_only_while_fast_sma_is_strictly_above_slow(
    make_bar: BarFactory, closes: list[int], expected: list[str | None]
) -> None:
    bars = [make_bar(i, c) for i, c in enumerate(closes)]
    trace = run(SMA_CROSS, {"fast": 2, "slow": 3, "qty": 100}, bars)
    assert [None if t is None else t[0] for t in trace] == expected


@pytest.mark.parametrize(("allow_short", "short"), [(False, "0"), (True, "-5")])
def unit_zscore_enters_below_minus_entry_holds_exits_at_the_mean_and_shorts_if_allowed(
    make_bar: BarFactory, allow_short: bool, short: str
) -> None:
    # z over 3 closes: bar2 0 (flat), bar3 -1.41 (enter long), bar4 -0.27 (hold),
    # bar5 +1.22 (long exits; a short enters when allowed), bar6 +1.37 (short holds).
    closes = [10, 10, 10, 7, 8, 9, 12]
    params = {"window": 3, "entry_z": "1", "exit_z": "0", "qty": 5, "allow_short": allow_short}
    trace = run(ZSCORE_MEAN_REVERSION, params, [make_bar(i, c) for i, c in enumerate(closes)])
    assert [None if t is None else t[0] for t in trace] == [None, None, "0", "5", "5", short, short]


def scenario_atr_swing_enters_on_breakout_trails_a_stop_that_never_loosens_and_exits_on_touch(
    make_bar: BarFactory,
) -> None:
    # (high, low, close); breakout 2, ATR period 2, multiple 1.
    rows = [
        ("10", "9", "10"),
        ("10", "9", "9"),
        ("12", "10", "12"),  # close 12 > prior high 10; level 12 - ceil(4/2) = 10: enter
        ("14", "12", "14"),  # TRs 3 + 2: level 14 - 5/2 = 11.5
        ("14", "12", "13"),  # level 14 - 2 = 12
        ("13", "12.5", "13"),  # level 14 - 1.25 = 12.75
        ("13", "12.9", "13"),  # level 13 - 0.3 = 12.7 < 12.75: the stop holds
        ("13", "12.75", "12.8"),  # low touches 12.75 exactly: stopped out, flat
        ("13.5", "12", "13.4"),  # close 13.4 > prior high 13; level 13.5 - 0.875: re-enter
    ]
    bars = [make_bar(i, c, high=h, low=lo) for i, (h, lo, c) in enumerate(rows)]
    params = {"breakout": 2, "atr_period": 2, "atr_multiple": "1", "qty": 10}
    expected = [
        None,
        None,
        ("10", "10"),
        ("10", "11.5"),
        ("10", "12"),
        ("10", "12.75"),
        ("10", "12.75"),
        ("0", None),
        ("10", "12.625"),
    ]
    assert run(ATR_TREND_SWING, params, bars) == expected
    strategy = ATR_TREND_SWING.build(params)
    assert isinstance(strategy, VectorisedStrategy)
    series = strategy.targets_vectorised(BarArrays.from_bars(bars))
    assert series.stop is not None
    assert [q // 10**8 for q in series.quantity.tolist()] == [0, 0, 10, 10, 10, 10, 10, 0, 10]
    assert [Decimal(s) / 10**8 for s in series.stop.tolist()] == [
        0,
        0,
        10,
        Decimal("11.5"),
        12,
        Decimal("12.75"),
        Decimal("12.75"),
        0,
        Decimal("12.625"),
    ]


def unit_atr_swing_rounds_the_stop_level_down_to_the_fixed_point_grid(
    make_bar: BarFactory,
) -> None:
    # TRs 0 and 3e-8 over 2 periods, multiple 1: the exact stop is 10.00000003 - 1.5e-8;
    # the offset is rounded up to 2e-8, so the stop is rounded down to 10.00000001.
    rows = [("10", "10", "10"), ("10", "10", "10"), ("10.00000003", "10", "10.00000003")]
    bars = [make_bar(i, c, high=h, low=lo) for i, (h, lo, c) in enumerate(rows)]
    params = {"breakout": 1, "atr_period": 2, "atr_multiple": "1", "qty": 1}
    assert run(ATR_TREND_SWING, params, bars) == [None, None, ("1", "10.00000001")]


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (
            lambda: StrategyOutput(
                targets=(TargetPosition(symbol="AAPL", quantity=0),),
                stops=(ProtectiveStop("AAPL", Decimal(5)),),
            ),
            "stop for AAPL has no non-zero target in the same output",
        ),
        (
            lambda: StrategyOutput(
                targets=(
                    TargetPosition(symbol="AAPL", quantity=1),
                    TargetPosition(symbol="AAPL", quantity=2),
                )
            ),
            "two targets for AAPL",
        ),
        (lambda: ProtectiveStop("AAPL", Decimal(0)), "must be a finite Decimal > 0"),
        (lambda: ProtectiveStop("AAPL", 5.0), "must be a finite Decimal > 0"),  # type: ignore[arg-type]
        (lambda: StrategyOutput(targets=[]), "must be tuples"),  # type: ignore[arg-type]
        (lambda: StrategyOutput(targets=("AAPL",)), "not str"),  # type: ignore[arg-type]
    ],
)
def unit_strategy_output_refuses_broken_rules(build: Callable[[], Any], expected: str) -> None:
    with pytest.raises(StrategyOutputError, match=expected):
        build()


def unit_strategy_output_accepts_a_stop_on_a_short_target() -> None:
    output = StrategyOutput(
        targets=(TargetPosition(symbol="AAPL", quantity=-3),),
        stops=(ProtectiveStop("AAPL", Decimal("101.5")),),
    )
    assert output.stop_for("AAPL") == Decimal("101.5")
    assert output.stop_for("MSFT") is None
