"""Vectorised forms give exactly the bar-by-bar targets, and only look backwards."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mqk_schemas import Timeframe
from mqk_strategy import (
    MAX_FIXED_PRICE,
    BarArrays,
    StrategySpec,
    TargetSeries,
    VectorisedStrategy,
    targets_bar_by_bar,
)
from mqk_strategy.builtins import ATR_TREND_SWING, SMA_CROSS, ZSCORE_MEAN_REVERSION
from mqk_strategy.builtins._moments import WindowMoments, exact_sign_test

DAY_US = 86_400_000_000


def make_arrays(close: list[int], spread: list[tuple[int, int]] | None = None) -> BarArrays:
    """Bars with the given fixed-point closes; ``spread`` adds (up, down) to high/low."""
    c = np.array(close, dtype=np.int64)
    up = np.array([s[0] for s in spread], dtype=np.int64) if spread else np.zeros(len(c), np.int64)
    down = (
        np.array([s[1] for s in spread], dtype=np.int64) if spread else np.zeros(len(c), np.int64)
    )
    return BarArrays(
        symbol="AAPL",
        ts_close_us=np.arange(len(c), dtype=np.int64) * DAY_US,
        open=c.copy(),
        high=np.minimum(c + up, MAX_FIXED_PRICE),
        low=np.maximum(c - down, 1),
        close=c,
        volume=np.ones(len(c)),
    )


@st.composite
def price_paths(draw: st.DrawFn, max_size: int = 250) -> BarArrays:
    """Random walks in fixed point, from cents to the top of the exact range."""
    scale = draw(st.sampled_from([1, 10**6, 10**8, 10**10, MAX_FIXED_PRICE // 1000]))
    start = draw(st.integers(min_value=100, max_value=1000))
    steps = draw(st.lists(st.integers(min_value=-20, max_value=20), min_size=1, max_size=max_size))
    level, close = start, []
    for step in steps:
        level = max(1, level + step)
        close.append(min(level * scale, MAX_FIXED_PRICE))
    wicks = draw(
        st.lists(
            st.tuples(st.integers(0, 15), st.integers(0, 15)),
            min_size=len(close),
            max_size=len(close),
        )
    )
    return make_arrays(close, [(u * scale, d * scale) for u, d in wicks])


def sma_params(draw: st.DrawFn) -> dict[str, Any]:
    slow = draw(st.integers(min_value=2, max_value=40))
    fast = draw(st.integers(min_value=1, max_value=slow - 1))
    return {"fast": fast, "slow": slow, "qty": draw(st.sampled_from([1, "0.5", 100]))}


def zscore_params(draw: st.DrawFn) -> dict[str, Any]:
    exit_z = draw(st.sampled_from(["0", "0.25", "0.5", "1"]))
    entry_z = draw(st.sampled_from(["1", "1.5", "2", "2.5", "0.7071"]))
    if Decimal(entry_z) <= Decimal(exit_z):
        exit_z = "0"
    return {
        "window": draw(st.integers(min_value=2, max_value=40)),
        "entry_z": entry_z,
        "exit_z": exit_z,
        "qty": draw(st.sampled_from([1, "2.5"])),
        "allow_short": draw(st.booleans()),
    }


def atr_params(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "breakout": draw(st.integers(min_value=1, max_value=30)),
        "atr_period": draw(st.integers(min_value=1, max_value=30)),
        "atr_multiple": draw(st.sampled_from(["0.5", "1", "2.25", "3"])),
        "qty": draw(st.sampled_from([1, 7])),
    }


ParamsFor = Callable[[st.DrawFn], dict[str, Any]]

SPECS: dict[str, tuple[StrategySpec[Any], ParamsFor]] = {
    "sma_cross": (SMA_CROSS, sma_params),
    "zscore_mean_reversion": (ZSCORE_MEAN_REVERSION, zscore_params),
    "atr_trend_swing": (ATR_TREND_SWING, atr_params),
}


def run_vectorised(
    spec: StrategySpec[Any], params: dict[str, Any], bars: BarArrays
) -> TargetSeries:
    """The vectorised targets of a fresh instance of ``spec``."""
    strategy = spec.build(params)
    assert isinstance(strategy, VectorisedStrategy)
    return strategy.targets_vectorised(bars)


def assert_same(vectorised: TargetSeries, bar_by_bar: TargetSeries) -> None:
    np.testing.assert_array_equal(vectorised.active, bar_by_bar.active)
    np.testing.assert_array_equal(vectorised.quantity, bar_by_bar.quantity)
    assert vectorised.same_as(bar_by_bar)


@pytest.mark.parametrize("name", sorted(SPECS))
@settings(max_examples=120, deadline=None)
@given(data=st.data())
def invariant_vectorised_targets_equal_bar_by_bar_targets_exactly(
    name: str, data: st.DataObject
) -> None:
    spec, params_for = SPECS[name]
    params = data.draw(st.composite(lambda draw: params_for(draw))())
    bars = data.draw(price_paths())
    vectorised = run_vectorised(spec, params, bars)
    bar_by_bar = targets_bar_by_bar(spec.build(params), bars, Timeframe.D1)
    assert_same(vectorised, bar_by_bar)


@pytest.mark.parametrize("name", sorted(SPECS))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def invariant_vectorised_output_at_a_bar_ignores_every_later_bar(
    name: str, data: st.DataObject
) -> None:
    spec, params_for = SPECS[name]
    params = data.draw(st.composite(lambda draw: params_for(draw))())
    bars = data.draw(price_paths())
    cut = data.draw(st.integers(min_value=1, max_value=len(bars)))
    prefix = BarArrays(
        symbol=bars.symbol,
        ts_close_us=bars.ts_close_us[:cut].copy(),
        open=bars.open[:cut].copy(),
        high=bars.high[:cut].copy(),
        low=bars.low[:cut].copy(),
        close=bars.close[:cut].copy(),
        volume=bars.volume[:cut].copy(),
    )
    strategy = spec.build(params)
    assert isinstance(strategy, VectorisedStrategy)
    full = strategy.targets_vectorised(bars)
    head = strategy.targets_vectorised(prefix)
    np.testing.assert_array_equal(full.quantity[:cut], head.quantity)
    np.testing.assert_array_equal(full.active[:cut], head.active)


def unit_zscore_decides_exactly_at_the_threshold() -> None:
    # With a 2-bar window |z| is exactly 1 whenever the closes differ: every bar sits on the
    # entry threshold 1, so the float pre-check is undecided and the exact path decides.
    params = {"window": 2, "entry_z": "1", "exit_z": "0", "qty": 1, "allow_short": True}
    bars = make_arrays([100, 99, 98, 98, 99, 100, 100, 99])
    vectorised = run_vectorised(ZSCORE_MEAN_REVERSION, params, bars)
    bar_by_bar = targets_bar_by_bar(ZSCORE_MEAN_REVERSION.build(params), bars, Timeframe.D1)
    assert_same(vectorised, bar_by_bar)
    assert (vectorised.quantity // 10**8).tolist() == [0, 1, 1, 0, -1, -1, 0, 1]


@pytest.mark.parametrize("base", [10**14, 3 * 10**14 + 12345, 5 * 10**13 + 1])
def unit_zscore_entry_exactly_on_the_threshold_is_taken_where_floats_would_miss_it(
    base: int,
) -> None:
    # Window closes x+s, x+s, x+4s, x give z = -1 exactly (T = 6s, n*R - T**2 = 36 s**2).
    # For this s the float64 evaluation of the two sides differs by about 2**20, so only the
    # exact re-check inside the error band takes the entry at z <= -1.
    s = 10_000_000_021
    bars = make_arrays([base + s, base + s, base + 4 * s, base])
    params = {"window": 4, "entry_z": "1", "exit_z": "0", "qty": 1, "allow_short": False}
    vectorised = run_vectorised(ZSCORE_MEAN_REVERSION, params, bars)
    assert_same(
        vectorised, targets_bar_by_bar(ZSCORE_MEAN_REVERSION.build(params), bars, Timeframe.D1)
    )
    assert vectorised.quantity.tolist() == [0, 0, 0, 10**8]


def unit_sma_cross_stays_exact_when_products_leave_int64() -> None:
    # slow * fast * price exceeds 2**63: the vectorised form falls back to Python integers.
    top = MAX_FIXED_PRICE
    close = [top - 3, top - 2, top - 1, top, top - 5, top - 9, top - 1, top]
    params = {"fast": 2, "slow": 3, "qty": 1}
    bars = make_arrays(close)
    vectorised = run_vectorised(SMA_CROSS, params, bars)
    assert_same(vectorised, targets_bar_by_bar(SMA_CROSS.build(params), bars, Timeframe.D1))
    # bar 6: SMA(2) = SMA(3) = top - 5 exactly, so "fast > slow" is false there.
    assert (vectorised.quantity // 10**8).tolist() == [0, 0, 1, 1, 0, 0, 0, 1]


WARM_UP_CASES: list[tuple[StrategySpec[Any], dict[str, Any]]] = [
    (SMA_CROSS, {"fast": 2, "slow": 3, "qty": 1}),
    (
        ZSCORE_MEAN_REVERSION,
        {"window": 3, "entry_z": "1", "exit_z": "0", "qty": 1, "allow_short": False},
    ),
    (ATR_TREND_SWING, {"breakout": 2, "atr_period": 2, "atr_multiple": "1", "qty": 1}),
]


@pytest.mark.parametrize(("spec", "params"), WARM_UP_CASES)
def unit_a_series_shorter_than_the_lookback_is_all_warm_up(
    spec: StrategySpec[Any], params: dict[str, Any]
) -> None:
    series = run_vectorised(spec, params, make_arrays([100, 101]))
    assert series.active.tolist() == [False, False]
    assert series.quantity.tolist() == [0, 0]


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    n=st.integers(min_value=2, max_value=12),
    threshold=st.sampled_from([(5, 4), (2, 1), (1, 0), (10_001, 10_000), (13, 9)]),
)
def invariant_exact_sign_test_equals_integer_arithmetic(
    data: st.DataObject, n: int, threshold: tuple[int, int]
) -> None:
    # Prices near the top of the range with tiny moves and flat stretches: the float
    # estimate is useless there, so every answer must come from the exact paths.
    base = data.draw(st.sampled_from([1, 10**8, MAX_FIXED_PRICE - 100]))
    moves = data.draw(st.lists(st.integers(-3, 3), min_size=n, max_size=40))
    close = np.array(
        [min(max(1, base + sum(moves[: i + 1])), MAX_FIXED_PRICE) for i in range(len(moves))],
        dtype=np.int64,
    )
    p2, q2 = threshold
    k, m = p2 + q2, p2 * n
    active = np.arange(len(close)) >= n - 1
    signs = exact_sign_test(WindowMoments.of(close, n), active, k, m)
    for i in np.flatnonzero(active).tolist():
        window = close[i - n + 1 : i + 1].tolist()
        x = window[-1]
        t = sum(window) - n * x
        r = sum((v - x) ** 2 for v in window)
        value = t * t * k - m * r
        assert signs[i] == (value > 0) - (value < 0)
