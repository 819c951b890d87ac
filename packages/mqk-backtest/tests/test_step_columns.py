"""StepColumns after refusals: ``add`` and the busy steps ``refresh`` keeps equal the previous
definitions (kept here as the oracle: busy steps recounted from per-step order and fill
counts)."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from mqk_backtest._columns import SCALE, Columns, columns_of, decimal_floor_units
from mqk_backtest._planner import NO_STEP, Planned, preceding
from mqk_backtest._steps import Block, StepColumns
from mqk_integrity.synth import synth_bars
from mqk_schemas import Timeframe

START, STOP = 100, 500


class Oracle:
    """The previous StepColumns bookkeeping of one block: counts of orders and fills per
    step, one add per order, busy steps recounted on every refresh."""

    def __init__(self, steps: StepColumns, block: Block, session_edge: npt.NDArray[np.bool_]):
        self.cash = steps.cash.copy()
        self.equity = steps.equity.copy()
        self.held = {sym: held.copy() for sym, held in block.held.items()}
        self.marks = block.marks
        self.orders = np.zeros(STOP - START, dtype=np.int64)
        self.fills = np.zeros(STOP - START, dtype=np.int64)
        self.session_edge = session_edge

    def count(self, planned: Planned, sign: int, *, sent: bool = False) -> None:
        if START <= planned.step < STOP and not sent:  # a sent order waits for its fill only
            self.orders[planned.step - START] += sign
        if START <= planned.fill_step < STOP:
            self.fills[planned.fill_step - START] += sign

    def add(self, planned: Planned, sign: int) -> None:
        self.count(planned, sign)
        step = planned.fill_step
        if not START <= step < STOP:
            return
        offset = step - START
        shares = sign * ((planned.wanted - planned.before) // SCALE)
        flow = sign * planned.flow
        held = self.held.setdefault(planned.sym, np.zeros(STOP - START, dtype=np.int64))
        held[offset:] += shares
        self.cash[step:STOP] += flow
        self.equity[step:STOP] += flow + shares * self.marks[planned.sym][offset:]

    def refresh(self, first: int, peak: Decimal) -> tuple[list[int], set[int]]:
        lo = first - START
        equity = self.equity[first:STOP]
        floor = decimal_floor_units(peak)
        running = np.maximum.accumulate(np.maximum(equity, floor))
        marked = self.session_edge[first:STOP] | (equity > preceding(running, floor))
        busy = (self.orders[lo:] > 0) | (self.fills[lo:] > 0) | marked
        return (first + np.flatnonzero(busy)).tolist(), set(
            (first + np.flatnonzero(marked)).tolist()
        )


def columns() -> tuple[Columns, npt.NDArray[np.int32], list[npt.NDArray[np.int32]]]:
    frame = synth_bars(
        symbols=["AAA", "BBB", "CCC"],
        timeframe=Timeframe.M1,
        start=date(2024, 1, 2),
        bars=600,
        seed=5,
    )
    cols = columns_of(frame)
    days = (np.arange(cols.steps) // 390).astype(np.int32)
    rows = [np.flatnonzero(cols.sym == i).astype(np.int32) for i in range(len(cols.symbols))]
    return cols, days, rows


def random_order(rng: random.Random, sym: int, first: int) -> Planned:
    step = rng.randrange(first, STOP)
    fill_step = rng.choice([NO_STEP, STOP + 3, *range(step + 1, min(STOP, step + 60))])
    before = rng.choice([0, 100, -100, 200]) * SCALE
    wanted = rng.choice([0, 100, -100, 300]) * SCALE
    return Planned(
        0, step, sym, wanted, before, 0, fill_step, flow=rng.randrange(-(10**12), 10**12)
    )


def invariant_refusal_updates_equal_the_previous_step_columns() -> None:
    cols, days, rows = columns()
    edge = np.r_[True, days[1:] != days[:-1]] | np.r_[days[1:] != days[:-1], True]
    rng = random.Random(11)
    checked = extra = 0
    for _ in range(40):
        steps = StepColumns(cols, days, rows)
        block = steps.open(START, STOP)
        plan = sorted(
            (random_order(rng, rng.randrange(3), START) for _ in range(30)), key=lambda p: p.step
        )
        working = [random_order(rng, rng.randrange(3), START) for _ in range(3)]
        peak = Decimal(rng.randrange(99_000, 101_000))
        steps.recompute(block, START, working, plan, 100_000 * SCALE, {0: 100, 2: -200}, peak)
        oracle = Oracle(steps, block, edge)
        for planned in working:
            oracle.count(planned, 1, sent=True)
        for planned in plan:
            oracle.count(planned, 1)
        assert (block.busy, block.marked_steps) == oracle.refresh(START, peak)
        live = list(plan)
        now = START
        while now < STOP - 5:
            now += rng.randrange(1, 12)
            sym = rng.randrange(3)
            changes = [(p, -1) for p in rng.sample(live, 2) if p.sym == sym]
            changes.append((random_order(rng, sym, min(now, STOP - 1)), 1))
            changes = changes[: rng.randrange(1, len(changes) + 1)]
            for planned, sign in changes:
                oracle.add(planned, sign)
                if sign < 0:
                    live.remove(planned)
                else:
                    live.append(planned)
            before = set(block.busy)
            for planned, sign in changes:
                steps.add(block, planned, sign)
            first = min(now + 1, STOP - 1)
            peak = Decimal(rng.randrange(99_000, 101_000))
            steps.refresh(block, first, peak)
            busy, marked = oracle.refresh(first, peak)
            np.testing.assert_array_equal(steps.cash, oracle.cash)
            np.testing.assert_array_equal(steps.equity, oracle.equity)
            for sym in range(3):
                zeros = np.zeros(STOP - START, dtype=np.int64)
                got, expected = block.held.get(sym, zeros), oracle.held.get(sym, zeros)
                np.testing.assert_array_equal(got, expected)
            assert block.marked_steps == marked
            assert block.busy == sorted(set(block.busy))
            assert min(block.busy, default=first) >= first
            stale = set(block.busy) - set(busy)
            assert set(busy) <= set(block.busy)
            assert stale <= before  # the extra busy steps were busy before
            checked += 1
            extra += len(stale)
    assert checked > 1000
    assert extra > 0
