"""Run artifacts: manifest, hash-chained audit log, orders, fills, equity curve, metrics, report.

Every file is a pure function of the run's inputs (no wall-clock time, no host name), so the
same data + config + seed gives byte-identical files in any process.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mqk_backtest._columns import SCALE, utc
from mqk_backtest._request import BacktestResult
from mqk_backtest._tables import (
    equity_csv_parts,
    fill_marks,
    fills_csv_chunks,
    orders_csv_chunks,
)
from mqk_backtest._writer import BackgroundWriter
from mqk_backtest.errors import ArtifactError
from mqk_backtest.fingerprint import package_versions
from mqk_backtest.metrics import compute_metrics
from mqk_backtest.report import MAX_FILL_MARKS, render_report
from mqk_schemas import AuditChain, audit_log_chunks, format_utc, jsonable

__all__ = [
    "ARTIFACT_FILES",
    "RunArtifacts",
    "build_manifest",
    "load_manifest",
    "metrics_of",
    "write_artifacts",
]

ARTIFACT_FILES = (
    "manifest.json",
    "audit.jsonl",
    "orders.csv",
    "fills.csv",
    "equity_curve.csv",
    "metrics.json",
    "report.html",
)
_PERIODS = {"1m": 252 * 390, "5m": 252 * 78, "15m": 252 * 26, "30m": 252 * 13, "1h": 252 * 7}


@dataclass(frozen=True, slots=True)
class RunArtifacts:
    """Where a run's files are, and the hashes that identify it."""

    directory: Path
    event_stream_hash: str
    events: int
    metrics: Mapping[str, Any]


def _pretty(value: Any) -> str:
    """Indented JSON with sorted keys and exact decimals written as numbers."""
    out: list[str] = []
    _emit(jsonable(value), out, 0)
    return "".join(out) + "\n"


def _emit(value: Any, out: list[str], depth: int) -> None:
    pad = "  " * (depth + 1)
    if isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        out.append("{\n")
        for i, key in enumerate(sorted(value)):
            out.append(f"{pad}{json.dumps(key, ensure_ascii=False)}: ")
            _emit(value[key], out, depth + 1)
            out.append(",\n" if i < len(value) - 1 else "\n")
        out.append("  " * depth + "}")
    elif isinstance(value, list):
        if not value:
            out.append("[]")
            return
        out.append("[\n")
        for i, item in enumerate(value):
            out.append(pad)
            _emit(item, out, depth + 1)
            out.append(",\n" if i < len(value) - 1 else "\n")
        out.append("  " * depth + "]")
    elif isinstance(value, str) and type(value) is not str:
        out.append(str(value))  # an exact decimal, pre-rendered by jsonable
    else:
        out.append(json.dumps(value, ensure_ascii=False, allow_nan=False))


def _periods_per_year(result: BacktestResult) -> int:
    settings = result.request.config.settings
    timeframe = settings.engine.timeframe.value
    if timeframe == "1d" and settings.data.calendar == "24/7":
        return 365
    if timeframe == "1d" or settings.data.calendar != "24/7":
        return _PERIODS.get(timeframe, int(settings.backtest.periods_per_year))
    minutes = {"1m": 1, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "4h": 240}[timeframe]
    return 365 * 24 * 60 // minutes


def _equity_floats(units: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """``units.astype(float64) / SCALE``, divided in place (one array, not two, at 1M bars)."""
    floats = units.astype(np.float64)
    floats /= SCALE
    return floats


def metrics_of(result: BacktestResult) -> dict[str, Any]:
    """The metrics of ``metrics.json`` for ``result``."""
    curve = result.equity
    settings = result.request.config.settings
    metrics = compute_metrics(
        timestamps=curve.ts_us.view("datetime64[us]"),  # read only: no copy
        equity=_equity_floats(curve.equity_units),
        initial_equity=settings.broker.starting_cash,
        final_equity=result.final_equity,
        trades=result.trades,
        exposed_bars=int(np.count_nonzero(curve.exposed)),
        periods_per_year=_periods_per_year(result),
        risk_free_rate=settings.backtest.risk_free_rate,
        costs_paid=result.costs_paid,
        ambiguous_bars=result.ambiguous_bars,
    )
    metrics["orders"] = len(result.orders)
    metrics["fills"] = len(result.fills)
    metrics["halted"] = result.halted
    metrics["disarmed"] = result.disarmed
    return metrics


def build_manifest(result: BacktestResult, event_stream_hash: str) -> dict[str, Any]:
    """The manifest: everything needed to re-run and prove the run (no secrets)."""
    request = result.request
    config = request.config
    frame = request.bars.frame
    first = frame.get_column("ts_close_utc").min()
    last = frame.get_column("ts_close_utc").max()
    return {
        "run_id": str(request.run_id),
        "engine_id": config.engine_id,
        "mode": "BACKTEST",
        "env": config.env,
        "stress": list(config.stress),
        "config_hash": config.config_hash,
        "config": json.loads(config.canonical_json, parse_float=Decimal),
        "data": {
            "files": list(request.data_files),
            "sha256": request.data_hash,
            "timeframe": request.bars.timeframe.value,
            "bars": len(request.bars),
            "symbols": list(request.bars.symbols),
            "first_close": format_utc(first) if first is not None else None,  # type: ignore[arg-type]
            "last_close": format_utc(last) if last is not None else None,  # type: ignore[arg-type]
        },
        "seed": request.seed,
        "versions": package_versions(),
        "git_revision": request.git_revision,
        "host": dict(request.host),
        "events": len(result.events),
        "event_stream_hash": event_stream_hash,
    }


def write_artifacts(result: BacktestResult, directory: Path) -> RunArtifacts:
    """Write every artifact of ``result`` into ``directory``, all or nothing.

    The files are written into a scratch folder beside ``directory`` and moved into place in
    one rename, so a failure never leaves a half-written run. An existing run directory (one
    holding a manifest) is replaced; any other existing path is refused.
    """
    if _occupied_by_something_else(directory):
        raise ArtifactError(
            f"{directory} exists and is not a backtest run directory; choose another --out"
        )
    directory.parent.mkdir(parents=True, exist_ok=True)
    scratch = _scratch_beside(directory)
    try:
        artifacts = _write_all(result, scratch)
        if directory.exists():
            shutil.rmtree(directory)
        os.replace(scratch, directory)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return RunArtifacts(directory, artifacts.event_stream_hash, artifacts.events, artifacts.metrics)


def _scratch_beside(directory: Path) -> Path:
    """A new empty folder beside ``directory`` with a plain folder's permissions (the umask's:
    one made by mkdtemp is private to its owner, and so would the run directory be)."""
    while True:
        scratch = directory.parent / f".{directory.name}.{uuid.uuid4().hex[:12]}"
        try:
            scratch.mkdir()
        except FileExistsError:
            continue
        return scratch


def _occupied_by_something_else(directory: Path) -> bool:
    """True when ``directory`` is a file or a non-empty folder that is not a run directory."""
    if not directory.exists():
        return False
    if not directory.is_dir():
        return True
    return not (directory / "manifest.json").is_file() and any(directory.iterdir())


def _write_all(result: BacktestResult, directory: Path) -> RunArtifacts:
    # polars renders and writes the equity curve on a thread of its own (without the GIL);
    # every other file is rendered here and written by the worker thread meanwhile
    with BackgroundWriter() as writer:
        writer.write_file_in_thread(directory / "equity_curve.csv", equity_csv_parts(result.equity))
        writer.write_file(directory / "orders.csv", orders_csv_chunks(result.orders))
        writer.write_file(directory / "fills.csv", fills_csv_chunks(result.fills))
        # after the tables: a spool's helper finishes the log meanwhile
        stream_hash = _write_audit_log(result, directory / "audit.jsonl", writer)
        manifest = build_manifest(result, stream_hash)
        metrics = metrics_of(result)
        writer.write_file(directory / "manifest.json", [_pretty(manifest).encode()])
        writer.write_file(directory / "metrics.json", [_pretty(metrics).encode()])
        # the report marks only the first fills: only those are located
        marks = fill_marks(result.fills[:MAX_FILL_MARKS], result.equity.ts_us)
        page = render_report(
            title=f"Backtest {result.request.config.engine_id} {result.request.run_id}",
            metrics=metrics,
            manifest={k: v for k, v in manifest.items() if k not in ("config", "versions")},
            equity=_equity_floats(result.equity.equity_units),
            fills=marks,
            halted_reason=result.disarmed or result.halted,
            span=_span(result),
        )
        writer.write_file(directory / "report.html", [page.encode()])
    return RunArtifacts(directory, stream_hash, len(result.events), metrics)


def _write_audit_log(result: BacktestResult, path: Path, writer: BackgroundWriter) -> str:
    """Put ``audit.jsonl`` at ``path``: the run's spooled log moved there when it has one
    (chained by a helper process during the run), else rendered here; its last hash."""
    spooled = result.audit_log.finish() if result.audit_log is not None else None
    if spooled is not None and spooled.events == len(result.events) and spooled.move_to(path):
        return spooled.last_hash
    chain = AuditChain()
    writer.write_file(path, audit_log_chunks(chain, result.events.line_batches()))
    return chain.last_hash


def _span(result: BacktestResult) -> tuple[str, str] | None:
    """First and last bar close of the equity curve, for the charts' time axis."""
    stamps = result.equity.ts_us
    if stamps.shape[0] == 0:
        return None
    first, last = (utc(int(stamps[i])) for i in (0, -1))
    return format_utc(first), format_utc(last)


def load_manifest(directory: Path) -> dict[str, Any]:
    """Read a run directory's manifest (numbers exact), refusing a missing or malformed one."""
    path = directory / "manifest.json"
    if not path.is_file():
        raise ArtifactError(f"{path}: no manifest (is {directory} a backtest run directory?)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{path}: not JSON (line {exc.lineno}: {exc.msg})") from None
    required = {"run_id", "engine_id", "config", "data", "seed", "event_stream_hash", "env"}
    missing = sorted(required - set(data)) if isinstance(data, dict) else sorted(required)
    if missing:
        raise ArtifactError(f"{path}: missing keys {missing}")
    return data  # type: ignore[no-any-return]
