"""A run and Python's cyclic garbage collector: paused during the run, left as it was found.

The run's components call back into the simulation (a web of reference cycles), so the run
cuts that web when it ends: its columns, scan and calendar grid are freed by reference
counting, not left for a collection that may come much later. What the run returns goes to
the oldest generation, so the first young collection after it has nothing to traverse.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import date

import pytest
from backtest_support import make_config, request

from mqk_backtest import BacktestResult, run_backtest
from mqk_backtest._columns import Columns
from mqk_integrity import FrameScan, SessionGrid, synth_bars
from mqk_schemas import Timeframe


@pytest.fixture
def collector_paused() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _run(mode: str) -> BacktestResult:
    config = make_config(
        "sma_cross",
        {"fast": 2, "slow": 4, "qty": 10},
        engine={"timeframe": "1h"},
        data={"calendar": "XNYS"},
    )
    bars = synth_bars(
        symbols=["AAA", "BBB"], timeframe=Timeframe.H1, start=date(2024, 3, 4), bars=300, seed=5
    )
    return run_backtest(request(config, bars), mode=mode)


@pytest.mark.parametrize("mode", ["fast", "reference"])
def invariant_a_run_frees_its_columns_scan_and_grid_without_the_cycle_collector(
    mode: str, collector_paused: None
) -> None:
    result = _run(mode)
    alive = [o for o in gc.get_objects() if isinstance(o, Columns | FrameScan | SessionGrid)]

    assert result.fills  # the run traded
    assert alive == []


@pytest.mark.parametrize("enabled", [True, False])
def invariant_a_run_leaves_the_collector_as_it_found_it_with_nothing_young_to_scan(
    enabled: bool,
) -> None:
    gc.collect()
    if not enabled:
        gc.disable()
    try:
        result = _run("fast")
        young = len(gc.get_objects(generation=0))
        state = gc.isenabled()
    finally:
        gc.enable()

    assert len(result.events) > 100
    assert state is enabled
    assert young < 50  # without the move, every event, fill and trade of the run is here
