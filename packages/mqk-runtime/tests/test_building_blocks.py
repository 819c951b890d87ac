"""Clocks, feeds, failpoints and the runtime's own tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from runtime_support import feed

from mqk_runtime import (
    FAILPOINT_ENV,
    Failpoints,
    ReplayClock,
    ReplayFeed,
    RuntimeInputError,
    WallClock,
)

T0 = datetime(2024, 1, 2, 21, tzinfo=UTC)


def unit_replay_clock_jumps_forward_and_never_back() -> None:
    clock = ReplayClock(T0)
    clock.wait_until(T0 + timedelta(days=1))
    clock.wait_until(T0)
    assert clock.now() == T0 + timedelta(days=1)
    clock.advance(timedelta(hours=2))
    assert clock.now() == T0 + timedelta(days=1, hours=2)
    with pytest.raises(ValueError, match="never moves backwards"):
        clock.advance(timedelta(seconds=-1))


def unit_wall_clock_sleeps_until_the_target() -> None:
    now = [T0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += timedelta(seconds=seconds)

    clock = WallClock(source=lambda: now[0], sleep=sleep)
    clock.wait_until(T0 + timedelta(seconds=90))
    assert slept == [90.0]
    clock.wait_until(T0)
    assert slept == [90.0]


def unit_replay_feed_orders_bars_by_close_time_then_symbol() -> None:
    bars = feed(bars=3, symbols=("MSFT", "AAPL")).bars
    keys = [(b.ts_close_utc, b.symbol) for b in bars]
    assert keys == sorted(keys)
    assert [b.symbol for b in bars[:2]] == ["AAPL", "MSFT"]


def unit_replay_feed_digest_names_the_content() -> None:
    one, same, other = feed(seed=3), feed(seed=3), feed(seed=4)
    assert one.digest == same.digest
    assert one.digest != other.digest
    assert ReplayFeed.from_bars(one.timeframe, list(reversed(one.bars))).digest == one.digest


def unit_replay_feed_restarts_at_an_index() -> None:
    bars = feed(bars=5)
    assert list(bars.bars_from(3)) == list(bars.bars[3:])
    with pytest.raises(IndexError):
        bars.bars_from(6)


@pytest.mark.parametrize(
    ("spec", "hit_on"),
    [("mid_fill_apply", 1), ("mid_fill_apply:3", 3), ("after_outbox_commit:2", 2)],
)
def unit_failpoint_fires_on_the_named_hit(spec: str, hit_on: int) -> None:
    fired: list[tuple[str, int]] = []
    name = spec.partition(":")[0]
    points = Failpoints.from_env({FAILPOINT_ENV: spec})
    points = Failpoints(points.armed, action=lambda n: fired.append((n, len(fired))))
    for _ in range(hit_on - 1):
        points.hit(name)
        points.hit("before_cycle_commit")
    assert fired == []
    points.hit(name)
    assert fired == [(name, 0)]


@pytest.mark.parametrize(
    ("spec", "message"),
    [("no_such_point", "unknown failpoint"), ("mid_fill_apply:x", "NAME or NAME:N")],
)
def unit_bad_failpoint_spec_is_refused(spec: str, message: str) -> None:
    with pytest.raises(RuntimeInputError, match=message):
        Failpoints.from_env({FAILPOINT_ENV: spec})


def unit_failpoints_unset_never_fire() -> None:
    points = Failpoints.from_env({})
    for name in ("mid_fill_apply", "after_cycle_commit"):
        points.hit(name)
    assert points.armed == {}
