"""Reject storm: N broker rejects within the window halt; the same N spread wider do not."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from mqk_risk import KillSwitch, TradingState


@pytest.mark.parametrize(
    ("gaps_seconds", "halts"),
    [
        ([60, 60, 60, 60], True),  # 5 rejects over 240 s
        ([0, 0, 0, 0], True),  # 5 rejects at one instant
        ([75, 75, 75, 75], True),  # exactly 300 s: the window is inclusive
        ([75, 75, 75, 76], False),  # 301 s
        ([100, 100, 100, 100], False),  # 400 s
        ([60, 60, 60], False),  # only 4 rejects
    ],
)
def scenario_reject_storm_halts_only_within_the_window(
    kit: Any, gaps_seconds: list[int], halts: bool
) -> None:
    engine = kit.engine()
    ts = kit.T0
    decisions = list(engine.on_reject(ts, client_order_id="MAIN_a_0"))
    for i, gap in enumerate(gaps_seconds, start=1):
        ts += timedelta(seconds=gap)
        decisions += engine.on_reject(ts, client_order_id=f"MAIN_a_{i}")
    assert engine.is_tripped(KillSwitch.REJECT_STORM) is halts
    assert [d.reason_code for d in decisions] == (["KILL_SWITCH_REJECT_STORM"] if halts else [])
    expected = TradingState.REDUCING if halts else TradingState.ACTIVE
    assert engine.trading_state is expected


def scenario_sliding_window_halts_once_rejects_bunch_up(kit: Any) -> None:
    engine = kit.engine()
    times = [0, 200, 400, 600, 700, 750, 800, 850]  # only the last five span <= 300 s
    tripped_at = None
    for seconds in times:
        if engine.on_reject(kit.T0 + timedelta(seconds=seconds)):
            tripped_at = seconds
    assert tripped_at == 850
