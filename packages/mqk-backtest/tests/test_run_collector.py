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

from mqk_backtest import BacktestResult, _simulation, run_backtest
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
def invariant_a_run_leaves_the_collector_enabled_or_paused_as_it_found_it(enabled: bool) -> None:
    if not enabled:
        gc.disable()
    try:
        _run("fast")
        state = gc.isenabled()
    finally:
        gc.enable()

    assert state is enabled


def invariant_a_run_leaves_nothing_in_the_youngest_generation(collector_paused: None) -> None:
    result = _run("fast")
    young = len(gc.get_objects(generation=0))

    assert len(result.events) > 100
    assert young < 50  # without the move, every event, fill and trade of the run is here


def invariant_objects_a_host_froze_stay_frozen() -> None:
    """A host that froze its objects (before forking workers, say) keeps them frozen."""
    gc.collect()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        _run("fast")
        after = gc.get_freeze_count()
    finally:
        gc.unfreeze()

    assert frozen > 1_000
    # a few frozen objects may be freed or replaced meanwhile; unfreezing would leave none
    assert abs(after - frozen) < 100


def contract_a_run_returns_free_heap_memory_before_the_walk_and_at_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []

    def counted() -> bool:
        calls.append("trim")
        return True

    monkeypatch.setattr(_simulation, "return_free_memory", counted)
    _run("fast")
    fast = len(calls)
    calls.clear()
    _run("reference")

    assert (fast, len(calls)) == (2, 1)  # the step engine has no walk to prepare
