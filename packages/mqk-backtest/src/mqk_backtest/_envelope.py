"""When the columnar kernel can run a backtest, and the signal that it has to hand one over."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from mqk_backtest._columns import SCALE, Columns, FastTargets, decimal_to_units
from mqk_execution import ExecutionSettings
from mqk_integrity import FrameScan

__all__ = ["OutsideEnvelope", "envelope_problem"]

_INT64_HEADROOM = 2**62


class OutsideEnvelope(Exception):  # noqa: N818 - a signal to hand over, not a failure
    """The run left the kernel's envelope; ``reason`` says where (the step engine takes over)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def envelope_problem(
    cols: Columns,
    targets: FastTargets | None,
    scan: FrameScan,
    settings: ExecutionSettings,
    *,
    shadow: bool,
    stale_after_us: int,
    starting_cash: Decimal,
) -> str | None:
    """Why the kernel cannot run this backtest (None when it can); checked before it starts."""
    if targets is None:
        return "the strategy has no vectorised form"
    if shadow:
        return "shadow mode"
    if settings.latency_bars.submit or settings.allow_same_bar_fills:
        return "submit latency or same-bar fills"
    if settings.partial_fills.enabled and settings.partial_fills.probability > 0:
        return "partial fills"
    if targets.stop.any() or targets.take_profit.any():
        return "protective stops or take-profits"
    if scan.issue_rows.size or scan.outlier_rows.size or scan.missing_bars.any():
        return "the integrity scan found issues, outliers or gaps"
    step_ts = cols.ts[cols.step_start[:-1]]
    if step_ts.shape[0] > 1 and int(np.diff(step_ts).max()) > stale_after_us:
        return "a pause longer than the stale-feed limit"
    wanted = targets.quantity[targets.active]
    if (wanted % SCALE).any():
        return "fractional target quantities"
    biggest = int(np.abs(wanted).max()) // SCALE if wanted.size else 0
    cash = abs(decimal_to_units(starting_cash, "starting cash"))
    if (biggest + 1) * (int(cols.close.max()) + 1) * len(cols.symbols) * 4 + cash > _INT64_HEADROOM:
        return "values too large for int64 columns"
    return None
