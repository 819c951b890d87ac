"""Fast mode and reference mode are the same backtest: identical events and equity.

A property test over random small series (one or two symbols, with and without a missing
bar, with and without costs, with risk limits that may trip), and the fall-back to bar by
bar for strategies that have no (working) vectorised form.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from backtest_support import (
    SAMPLE_COSTS,
    ScriptParams,
    ScriptStrategy,
    d,
    daily_bars,
    day,
    equity_tuple,
    event_types,
    make_config,
    plan,
    request,
    run_both_modes,
)
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mqk_backtest import run_backtest
from mqk_schemas import BarFrame, Timeframe
from mqk_strategy import (
    BarArrays,
    BarView,
    BarWindow,
    StrategyOutput,
    StrategyRegistry,
    StrategySpec,
    TargetSeries,
)
from mqk_strategy.builtins import BUILTIN_SPECS


def _walk(seed: int, n: int, swing: int) -> list[tuple[str, str, str, str]]:
    """``n`` daily OHLC rows of a random walk in cents: moves up to ``swing``, gaps, wicks."""
    walk = random.Random(seed)
    rows: list[tuple[str, str, str, str]] = []
    close = 10_000
    for _ in range(n):
        open_ = max(close + walk.randint(-swing // 3, swing // 3), 500)
        close = max(open_ + walk.randint(-swing, swing), 500)
        high = max(open_, close) + walk.randint(0, swing // 2)
        low = max(min(open_, close) - walk.randint(0, swing // 2), 100)
        o, h, low_, c = (str(Decimal(v).scaleb(-2)) for v in (open_, high, low, close))
        rows.append((o, h, low_, c))
    return rows


@st.composite
def bar_frames(draw: st.DrawFn) -> BarFrame:
    """20-45 daily bars of one or two symbols, each maybe with one bar missing.

    Walks come from drawn seeds (hypothesis' own minimal lists would be flat series that
    never trade).
    """
    n = draw(st.integers(20, 45))
    frames = []
    for symbol in draw(st.sampled_from([["AAA"], ["AAA"], ["AAA", "BBB"]])):
        rows = _walk(draw(st.integers(0, 2**32)), n, draw(st.sampled_from([50, 300, 900])))
        skip = draw(st.sampled_from([[], [], [draw(st.integers(3, n - 2))]]))
        frames.append(daily_bars(rows, skip=skip, symbol=symbol).frame)
    return BarFrame(Timeframe.D1, pl.concat(frames))


@st.composite
def strategy_choice(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """sma_cross, zscore_mean_reversion or atr_trend_swing (stops that tighten) with small
    windows."""
    kind = draw(st.sampled_from(["sma", "zscore", "atr"]))
    if kind == "atr":
        return "atr_trend_swing", {
            "breakout": draw(st.integers(2, 6)),
            "atr_period": draw(st.integers(1, 5)),
            "atr_multiple": d(draw(st.sampled_from(["0.5", "1", "2.5"]))),
        }
    if kind == "sma":
        fast = draw(st.integers(2, 4))
        slow = draw(st.integers(fast + 1, 8))
        return "sma_cross", {"fast": fast, "slow": slow}
    return "zscore_mean_reversion", {
        "window": draw(st.integers(3, 8)),
        "entry_z": d(draw(st.sampled_from(["1", "1.5", "2"]))),
        "exit_z": d(draw(st.sampled_from(["0", "0.5"]))),
        "allow_short": draw(st.booleans()),
    }


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    bars=bar_frames(),
    strategy=strategy_choice(),
    qty=st.sampled_from([10, 300, 550, 700]),
    costs=st.booleans(),
    max_drawdown=st.sampled_from(["0.01", "0.03", "1"]),
    daily_loss=st.sampled_from(["0.005", "1"]),
    allow_short=st.booleans(),
    stale_seconds=st.sampled_from([129_600, 432_000]),
)
def invariant_fast_mode_equals_reference_mode(
    bars: BarFrame,
    strategy: tuple[str, dict[str, Any]],
    qty: int,
    costs: bool,
    max_drawdown: str,
    daily_loss: str,
    allow_short: bool,
    stale_seconds: int,
) -> None:
    name, params = strategy
    config = make_config(
        name,
        {**params, "qty": qty},
        execution=SAMPLE_COSTS if costs else {},
        risk={
            "max_drawdown": d(max_drawdown),
            "daily_loss_limit": d(daily_loss),
            "allow_short": allow_short,
        },
        data={"stale_feed_seconds": stale_seconds},
    )
    fast = run_both_modes(request(config, bars))  # asserts equality
    assert fast.mode == "fast"
    event(f"traded: {bool(fast.fills)}")
    event(f"columnar: {fast.columnar} ({(fast.columnar_note or '').split(':')[0]})")
    event(f"halted: {(fast.halted or 'no').split(' ')[0]}")
    event(f"disarmed: {(fast.disarmed or 'no').split(' ')[0]}")


# -- strategies without a usable vectorised form ------------------------------------------------


@dataclass(frozen=True)
class _BarByBarOnly:
    """The scripted strategy with its vectorised form hidden."""

    inner: ScriptStrategy

    @property
    def lookback(self) -> int:
        return self.inner.lookback

    def on_bar(self, bar: BarView, window: BarWindow) -> StrategyOutput | None:
        return self.inner.on_bar(bar, window)


class _Exploding(ScriptStrategy):
    """Raises on bar 4, in both forms (the host records STRATEGY_ERROR and halts)."""

    def on_bar(self, bar: BarView, window: BarWindow) -> StrategyOutput | None:
        if bar.ts_close_utc >= day(4):
            raise RuntimeError("boom")
        return super().on_bar(bar, window)

    def targets_vectorised(self, bars: BarArrays) -> TargetSeries:
        raise RuntimeError("boom")


def _registry(factory: Any) -> StrategyRegistry:
    spec: StrategySpec[ScriptParams] = StrategySpec(
        name="script", params_model=ScriptParams, factory=factory, summary="test"
    )
    return StrategyRegistry([*BUILTIN_SPECS, spec])


@pytest.mark.parametrize(
    ("factory", "halted"),
    [
        pytest.param(lambda p: _BarByBarOnly(ScriptStrategy(p)), None, id="no-vectorised-form"),
        pytest.param(_Exploding, "STRATEGY_ERROR", id="vectorised-form-raises"),
    ],
)
def fault_fast_mode_falls_back_to_bar_by_bar_without_a_vectorised_form(
    factory: Any, halted: str | None
) -> None:
    config = make_config("script", plan(b1=(100, None), b6=(0, None)))
    req = request(config, daily_bars([(100, 101, 99, 100)] * 9))
    registry = _registry(factory)

    fast = run_backtest(req, mode="fast", registry=registry)
    reference = run_backtest(req, mode="reference", registry=registry)

    assert fast.mode == "reference"
    assert fast.events == reference.events
    assert equity_tuple(fast) == equity_tuple(reference)
    assert (fast.halted or "").split(" ")[0] == (halted or "")
    assert event_types(fast)[0] == "RUNTIME/BACKTEST_STARTED"


@pytest.mark.parametrize(
    ("timeframe", "calendar", "symbols", "drop", "strategy", "params", "risk"),
    [
        pytest.param(
            "1h",
            "XNYS",
            ["AAPL"],
            (),
            "sma_cross",
            {"fast": 3, "slow": 9, "qty": 100},
            {},
            id="1h-xnys-sma",
        ),
        pytest.param(
            "30m",
            "XNYS",
            ["AAPL", "MSFT"],
            (301, 560, 561),
            "sma_cross",
            {"fast": 4, "slow": 12, "qty": 50},
            {},
            id="30m-two-symbols-gaps",
        ),
        pytest.param(
            "1h",
            "24/7",
            ["BTC"],
            (),
            "zscore_mean_reversion",
            {"window": 12, "entry_z": "1.5", "exit_z": "0.2", "qty": 10, "allow_short": True},
            {},
            id="1h-24-7-zscore",
        ),
        pytest.param(
            "1h",
            "XNYS",
            ["AAPL"],
            (),
            "sma_cross",
            {"fast": 2, "slow": 5, "qty": 500},
            {"max_drawdown": "0.02", "daily_loss_limit": "0.01"},
            id="1h-tight-risk-trips",
        ),
    ],
)
def invariant_fast_mode_skips_intraday_stretches_and_still_equals_reference(
    timeframe: str,
    calendar: str,
    symbols: list[str],
    drop: tuple[int, ...],
    strategy: str,
    params: dict[str, Any],
    risk: dict[str, Any],
) -> None:
    """Intraday bars: most steps are neither first nor last of a session, so fast mode really
    advances quiet stretches in one go (daily bars never skip); results must not change."""
    from datetime import date

    from mqk_integrity import synth_bars

    frame = synth_bars(
        symbols=symbols,
        timeframe=Timeframe(timeframe),
        start=date(2024, 3, 4),
        bars=400,
        seed=11,
        calendar=calendar,
    )
    if drop:
        keep = pl.Series([i not in drop for i in range(frame.frame.height)])
        frame = BarFrame(frame.timeframe, frame.frame.filter(keep))
    params = {k: (Decimal(v) if isinstance(v, str) else v) for k, v in params.items()}
    config = make_config(
        strategy,
        params,
        engine={"timeframe": timeframe},
        data={"calendar": calendar},
        risk={k: Decimal(v) for k, v in risk.items()},
    )
    result = run_both_modes(request(config, frame))
    assert result.mode == "fast"
    assert len(result.fills) > 0
