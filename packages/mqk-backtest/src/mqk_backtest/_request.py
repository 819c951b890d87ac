"""What a backtest is asked to do, and what it produced."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from mqk_backtest._stream import EventLog
from mqk_backtest.metrics import ClosedTrade
from mqk_config import EffectiveConfig
from mqk_schemas import AuditSpool, BarFrame, Fill, Order

__all__ = ["BacktestRequest", "BacktestResult", "EquityCurve"]


@dataclass(frozen=True, slots=True)
class BacktestRequest:
    """One backtest: the effective config, the validated bars and their provenance.

    ``data_files`` are the names recorded in the manifest (replay finds the files there) and
    ``data_hash`` the SHA-256 of their bytes. ``seed`` drives every random choice of the run.
    """

    config: EffectiveConfig
    bars: BarFrame
    data_files: tuple[str, ...]
    data_hash: str
    seed: int
    run_id: uuid.UUID
    git_revision: str | None = None
    host: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EquityCurve:
    """One mark per bar step: close time (epoch µs), cash and equity (1e-8 units), exposure."""

    ts_us: npt.NDArray[np.int64]
    cash_units: npt.NDArray[np.int64]
    equity_units: npt.NDArray[np.int64]
    exposed: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.ts_us.shape[0])


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """Everything a finished backtest produced (artifacts are written from this).

    ``columnar`` tells whether fast mode's columnar kernel ran it; ``columnar_note`` says why
    not (or why it handed the run back to the step engine). Neither changes any result.
    ``audit_log`` is the spool whose helper process chains the audit log during the run (a
    long run with a spool folder, see :func:`~mqk_backtest.run_backtest`); the artifacts move
    its file into place instead of rendering :attr:`events` again (the same bytes).
    """

    request: BacktestRequest
    events: EventLog
    orders: Sequence[Order]
    fills: tuple[Fill, ...]
    trades: tuple[ClosedTrade, ...]
    equity: EquityCurve
    final_cash: Decimal
    final_equity: Decimal
    costs_paid: Decimal
    ambiguous_bars: int
    halted: str | None
    disarmed: str | None
    mode: str
    columnar: bool = False
    columnar_note: str | None = None
    audit_log: AuditSpool | None = field(default=None, compare=False)
