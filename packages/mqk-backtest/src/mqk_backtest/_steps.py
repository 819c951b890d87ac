"""The columnar kernel's columns: cash, equity and exposure of every step, block by block.

A block is a stretch of steps planned at once. For it the columns know each symbol's mark
(last close) and holding per step, which steps the risk engine must see (session edges, new
equity peaks) and which steps are busy (a planned order or fill, or one of those).
Everything here is arithmetic on int64 columns; the ledger's and the risk engine's state come
in as numbers.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

import numpy as np
import numpy.typing as npt

from mqk_backtest._columns import SCALE, Columns, decimal_floor_units, utc_texts
from mqk_backtest._planner import Planned, find, preceding

__all__ = ["Block", "StepColumns", "sorted_union"]

_LOWEST: Final = int(np.iinfo(np.int64).min)


@dataclass(slots=True)
class Block:
    """Steps ``start..stop-1`` under the current plan: each symbol's mark and holding per
    step, the steps the risk engine must see and the busy steps (cash and equity are the
    run-long columns of :class:`StepColumns`).

    ``busy`` holds every step with a planned order or fill or a mark; after a refusal it may
    also hold steps that lost theirs (walking past such a step does nothing)."""

    start: int
    stop: int
    marks: list[npt.NDArray[np.int64]]
    held: dict[int, npt.NDArray[np.int64]]
    busy: list[int] = field(default_factory=list)
    marked_steps: set[int] = field(default_factory=set)  # from the last refresh on
    texts: dict[int, str] = field(default_factory=dict)  # busy step -> its close time as text
    low_floor: Decimal | None = None  # the risk floor ``lows`` were found for
    lows: list[int] = field(default_factory=list)  # steps with equity at or below it


def sorted_union(ordered: list[int], start: int, more: list[int]) -> list[int]:
    """The sorted union of ``ordered[start:]`` and ``more`` (both sorted, neither with a
    repeat): ``sorted(set(ordered[start:]) | set(more))`` by one merge (a refusal refreshes
    a block's busy steps with it)."""
    merged: list[int] = []
    i, j, n, m = start, 0, len(ordered), len(more)
    while i < n and j < m:
        a, b = ordered[i], more[j]
        if a < b:
            merged.append(a)
            i += 1
        elif b < a:
            merged.append(b)
            j += 1
        else:
            merged.append(a)
            i += 1
            j += 1
    merged.extend(ordered[i:])
    merged.extend(more[j:])
    return merged


class StepColumns:
    """Cash, equity and exposure of every step of one run, kept up to date block by block."""

    def __init__(
        self,
        cols: Columns,
        session_day: npt.NDArray[np.int32],
        rows: list[npt.NDArray[np.int32]],
    ) -> None:
        n = cols.steps
        self._cols = cols
        self._rows = rows
        days = session_day
        self._session_edge = np.r_[True, days[1:] != days[:-1]] | np.r_[days[1:] != days[:-1], True]
        self.cash = np.zeros(n, dtype=np.int64)
        self.equity = np.zeros(n, dtype=np.int64)
        self.exposed = np.zeros(n, dtype=np.bool_)

    def open(self, start: int, stop: int) -> Block:
        """An empty block of steps ``start..stop-1`` with its symbols' marks."""
        cols = self._cols
        row_lo, row_hi = int(cols.step_start[start]), int(cols.step_start[stop])
        marks = [self._marks(sym, start, stop, row_lo, row_hi) for sym in range(len(cols.symbols))]
        return Block(start, stop, marks, {})

    def recompute(
        self,
        block: Block,
        first: int,
        fills_to_come: Iterable[Planned],
        plan: list[Planned],
        cash: int,
        holdings: Mapping[int, int],
        peak: Decimal | None,
    ) -> None:
        """Cash, equity, holdings and busy steps of ``first..stop-1``:
        ``cash`` (1e-8 units) and ``holdings`` (whole shares per symbol) are the ledger's now,
        ``fills_to_come`` the working orders and ``plan`` the orders not sent yet; ``peak`` is
        the risk engine's equity peak."""
        start, stop = block.start, block.stop
        lo = first - start
        length = stop - first
        flows = np.zeros(length, dtype=np.int64)
        moves: dict[int, npt.NDArray[np.int64]] = {}
        events = {p.step for p in plan if p.step >= first}  # steps with an order
        for p in [*fills_to_come, *plan]:
            if first <= p.fill_step < stop:
                offset = p.fill_step - first
                flows[offset] += p.flow
                if p.sym not in moves:
                    moves[p.sym] = np.zeros(length, dtype=np.int64)
                moves[p.sym][offset] += (p.wanted - p.before) // SCALE
                events.add(p.fill_step)
        cash_now = cash + np.cumsum(flows)
        equity = cash_now.copy()
        for sym in range(len(self._cols.symbols)):
            held = holdings.get(sym, 0)
            if not held and sym not in moves and sym not in block.held:
                continue
            shares = held + np.cumsum(moves[sym]) if sym in moves else np.full(length, held)
            if sym not in block.held:
                block.held[sym] = np.zeros(stop - start, dtype=np.int64)
            block.held[sym][lo:] = shares
            equity += shares * block.marks[sym][lo:]
        self.cash[first:stop] = cash_now
        self.equity[first:stop] = equity
        marked = self._marked(block, first, peak)
        block.busy = sorted(events.union(marked))

    def refresh(self, block: Block, first: int, peak: Decimal | None) -> None:
        """The steps the risk engine must see from ``first`` on after the columns changed
        there (equity above ``peak`` and every later high, session edges), and the busy steps:
        those already busy from ``first`` on (:meth:`add` keeps an added order's steps busy)
        and the marked ones."""
        marked = self._marked(block, first, peak)
        block.busy = sorted_union(block.busy, bisect.bisect_left(block.busy, first), marked)

    def _marked(self, block: Block, first: int, peak: Decimal | None) -> list[int]:
        """Steps ``first..stop-1`` the risk engine must see (session edges, equity above
        ``peak`` and every later high), also kept as ``block.marked_steps``."""
        stop = block.stop
        equity = self.equity[first:stop]
        floor = decimal_floor_units(peak) if peak is not None else _LOWEST
        running = np.maximum.accumulate(np.maximum(equity, floor))
        before = preceding(running, floor)
        marked = self._session_edge[first:stop] | (equity > before)
        steps: list[int] = (marked.nonzero()[0] + first).tolist()
        block.marked_steps = set(steps)
        block.low_floor = None
        return steps

    def add(self, block: Block, planned: Planned, sign: int) -> None:
        """Add (``sign`` 1) or take back (-1) a planned order's fill; an added order's steps
        are busy."""
        start, stop = block.start, block.stop
        if sign > 0:
            for step in (planned.step, planned.fill_step):
                at = bisect.bisect_left(block.busy, step)
                if start <= step < stop and block.busy[at : at + 1] != [step]:
                    block.busy.insert(at, step)
        step = planned.fill_step
        if not start <= step < stop:
            return
        offset = step - start
        shares = sign * ((planned.wanted - planned.before) // SCALE)
        flow = sign * planned.flow
        held = block.held.get(planned.sym)
        if held is None:
            held = block.held[planned.sym] = np.zeros(stop - start, dtype=np.int64)
        held[offset:] += shares
        self.cash[step:stop] += flow
        self.equity[step:stop] += flow + shares * block.marks[planned.sym][offset:]

    def first_breach(
        self, block: Block, first: int, stop: int, floor: Decimal | None
    ) -> int | None:
        """The first of steps ``first..stop-1`` whose equity is at or below ``floor``."""
        if stop <= first or floor is None:
            return None
        if block.low_floor is not floor:  # the floor or the columns moved: find the lows
            block.low_floor = floor
            low = self.equity[block.start : block.stop] <= decimal_floor_units(floor)
            block.lows = (block.start + np.flatnonzero(low)).tolist()
        at = bisect.bisect_left(block.lows, first)
        if at < len(block.lows) and block.lows[at] < stop:
            return block.lows[at]
        return None

    def close(self, block: Block) -> None:
        """Record the block's exposure (some position held) once it is walked."""
        exposed = np.zeros(block.stop - block.start, dtype=np.bool_)
        for shares in block.held.values():
            exposed |= shares != 0
        self.exposed[block.start : block.stop] = exposed

    def texts(self, steps: list[int]) -> dict[int, str]:
        """Close times of ``steps`` as the event stream writes them, rendered at once."""
        cols = self._cols
        at = cols.ts[cols.step_start[np.array(steps, dtype=np.int64)]]
        return dict(zip(steps, utc_texts(at), strict=True))

    def _marks(
        self, sym: int, start: int, stop: int, row_lo: int, row_hi: int
    ) -> npt.NDArray[np.int64]:
        """Symbol ``sym``'s last close at each step of ``start..stop-1`` (0 before its first)."""
        cols = self._cols
        rows = self._rows[sym]
        lo = find(rows, row_lo)
        hi = find(rows, row_hi)
        prior = int(cols.close[int(rows[lo - 1])]) if lo > 0 else 0
        mark = np.full(stop - start, prior, dtype=np.int64)
        if hi > lo:
            here = rows[lo:hi]
            steps = cols.step_of_row[here] - start
            seen = np.full(stop - start, -1, dtype=np.int64)
            seen[steps] = np.arange(hi - lo)
            last = np.maximum.accumulate(seen)
            mark = np.where(last >= 0, cols.close[here][np.maximum(last, 0)], prior)
        return mark.astype(np.int64, copy=False)
