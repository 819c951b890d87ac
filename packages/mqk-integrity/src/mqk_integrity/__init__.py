"""mqk_integrity: bar and feed integrity (SPEC section 4).

- :func:`load_bars` reads a CSV/Parquet bar file into a :class:`~mqk_schemas.BarFrame`,
  validated vectorised and refused whole (:class:`BarFileError` lists up to 20 problems).
- :class:`IntegrityGate` checks a stream bar by bar (and feed ticks) with time passed in,
  returning typed :class:`~mqk_schemas.Decision` values; halts and disarms are sticky.
- :func:`scan_frame` computes the gate's per-bar decisions for a whole frame at once, so a
  backtester can skip gate calls over clean stretches.
- :class:`SessionGrid` gives the expected bar closes of an exchange calendar.
- :mod:`mqk_integrity.synth` makes deterministic synthetic bars.
"""

from mqk_integrity._calendar import SessionGrid, calendar_names
from mqk_integrity._gate import GateState, IntegrityGate
from mqk_integrity._load import load_bars
from mqk_integrity._problem import MAX_PROBLEMS, Problem
from mqk_integrity._rules import ReasonCode
from mqk_integrity._scan import FrameScan, SessionGap, scan_frame
from mqk_integrity._settings import IntegritySettings, OutlierPolicy
from mqk_integrity._write import write_bars
from mqk_integrity.errors import (
    BarFileError,
    CalendarError,
    GateUsageError,
    IntegrityError,
    LookaheadError,
    SynthError,
    UnknownCalendarError,
)
from mqk_integrity.synth import synth_bars

__version__ = "0.1.0"

__all__ = [
    "MAX_PROBLEMS",
    "BarFileError",
    "CalendarError",
    "FrameScan",
    "GateState",
    "GateUsageError",
    "IntegrityError",
    "IntegrityGate",
    "IntegritySettings",
    "LookaheadError",
    "OutlierPolicy",
    "Problem",
    "ReasonCode",
    "SessionGap",
    "SessionGrid",
    "SynthError",
    "UnknownCalendarError",
    "__version__",
    "calendar_names",
    "load_bars",
    "scan_frame",
    "synth_bars",
    "write_bars",
]
