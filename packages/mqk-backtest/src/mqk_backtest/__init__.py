"""mqk_backtest: the deterministic, event-sourced backtester.

- :func:`run_backtest` runs a :class:`BacktestRequest` (effective config + validated bars +
  seed) through the real components — integrity gate, strategy host, execution gateway with
  SimBroker, risk engine, allocation caps, fill-driven ledger — and returns a
  :class:`BacktestResult` whose event stream is the run.
- :func:`write_artifacts` writes ``manifest.json``, ``audit.jsonl`` (hash chained; its last hash
  is the event-stream hash), ``orders.csv``, ``fills.csv``, ``equity_curve.csv``,
  ``metrics.json`` and ``report.html``.
- :func:`replay_run` re-runs a run directory from its manifest and proves the hash, or names
  the first diverging event.
"""

from mqk_backtest._request import BacktestRequest, BacktestResult, EquityCurve
from mqk_backtest.artifacts import (
    ARTIFACT_FILES,
    RunArtifacts,
    build_manifest,
    load_manifest,
    metrics_of,
    write_artifacts,
)
from mqk_backtest.errors import ArtifactError, BacktestError, BacktestInputError, ReplayError
from mqk_backtest.fingerprint import (
    data_file_hash,
    deterministic_run_id,
    host_fingerprint,
    package_versions,
)
from mqk_backtest.metrics import PERCENT_METRICS, ClosedTrade, compute_metrics
from mqk_backtest.report import FillMark, render_report
from mqk_backtest.runner import (
    Divergence,
    ReplayOutcome,
    StressRow,
    replay_run,
    run_backtest,
    stress_rows,
)

__version__ = "0.1.0"

__all__ = [
    "ARTIFACT_FILES",
    "PERCENT_METRICS",
    "ArtifactError",
    "BacktestError",
    "BacktestInputError",
    "BacktestRequest",
    "BacktestResult",
    "ClosedTrade",
    "Divergence",
    "EquityCurve",
    "FillMark",
    "ReplayError",
    "ReplayOutcome",
    "RunArtifacts",
    "StressRow",
    "__version__",
    "build_manifest",
    "compute_metrics",
    "data_file_hash",
    "deterministic_run_id",
    "host_fingerprint",
    "load_manifest",
    "metrics_of",
    "package_versions",
    "render_report",
    "replay_run",
    "run_backtest",
    "stress_rows",
    "write_artifacts",
]
