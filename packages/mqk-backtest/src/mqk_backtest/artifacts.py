"""Run artifacts: manifest, hash-chained audit log, orders, fills, equity curve, metrics, report.

Every file is a pure function of the run's inputs (no wall-clock time, no host name), so the
same data + config + seed gives byte-identical files in any process.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from mqk_backtest._columns import SCALE, epoch_us, utc
from mqk_backtest._request import BacktestResult
from mqk_backtest.errors import ArtifactError
from mqk_backtest.fingerprint import package_versions
from mqk_backtest.metrics import compute_metrics
from mqk_backtest.report import FillMark, render_report
from mqk_schemas import AuditChain, format_decimal, format_utc, jsonable

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


def metrics_of(result: BacktestResult) -> dict[str, Any]:
    """The metrics of ``metrics.json`` for ``result``."""
    curve = result.equity
    settings = result.request.config.settings
    stamps = curve.ts_us.astype("datetime64[us]")
    metrics = compute_metrics(
        timestamps=stamps,
        equity=curve.equity_units.astype(np.float64) / SCALE,
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


def _fixed_text(units: npt.NDArray[np.int64], places: int) -> pl.Series:
    """Exact decimal text with ``places`` decimals from integer units of 10**-places."""
    scale = 10**places
    frame = pl.DataFrame({"u": pl.Series(units, dtype=pl.Int64)}).select(
        pl.format(
            "{}{}.{}",
            pl.when(pl.col("u") < 0).then(pl.lit("-")).otherwise(pl.lit("")),
            (pl.col("u").abs() // scale).cast(pl.String),
            (pl.col("u").abs() % scale).cast(pl.String).str.zfill(places),
        ).alias("text")
    )
    return frame.get_column("text")


def _equity_csv(result: BacktestResult, path: Path, chunk_rows: int = 20_000) -> None:
    """``equity_curve.csv``, rendered ``chunk_rows`` rows at a time (a long run's curve has a
    row per bar; rendering it whole as text would hold several copies of it in memory)."""
    curve = result.equity
    equity = curve.equity_units
    peak = np.maximum.accumulate(equity)
    drawdown = np.zeros(equity.shape[0], dtype=np.float64)
    np.divide(equity, peak, out=drawdown, where=peak > 0)
    drawdown_units = np.round(np.where(peak > 0, drawdown - 1.0, 0.0) * 1e10).astype(np.int64)
    del peak, drawdown
    with path.open("wb") as handle:
        for start in range(0, max(equity.shape[0], 1), chunk_rows):
            part = slice(start, start + chunk_rows)
            frame = pl.DataFrame(
                {
                    "ts_close_utc": pl.Series(curve.ts_us[part], dtype=pl.Int64)
                    .cast(pl.Datetime("us", "UTC"))
                    .dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "cash": _fixed_text(curve.cash_units[part], 8),
                    "equity": _fixed_text(equity[part], 8),
                    "drawdown": _fixed_text(drawdown_units[part], 10),
                    "exposed": pl.Series(curve.exposed[part].astype(np.int8)),
                }
            )
            frame.write_csv(handle, include_header=start == 0, line_terminator="\n")


def _orders_csv(result: BacktestResult, path: Path) -> None:
    header = (
        "client_order_id,symbol,side,order_type,quantity,limit_price,stop_price,time_in_force,"
        "status,filled_quantity,average_fill_price,replaces,created_at,updated_at\n"
    )
    lines = [header]
    for order in result.orders:
        lines.append(
            ",".join(
                [
                    order.client_order_id,
                    order.symbol,
                    order.side.value,
                    order.order_type.value,
                    format_decimal(order.quantity),
                    _opt(order.limit_price),
                    _opt(order.stop_price),
                    order.time_in_force.value,
                    order.status.value,
                    format_decimal(order.filled_quantity),
                    _opt(order.average_fill_price),
                    order.replaces or "",
                    format_utc(order.created_at),
                    format_utc(order.updated_at),
                ]
            )
            + "\n"
        )
    path.write_text("".join(lines), encoding="utf-8", newline="\n")


def _fills_csv(result: BacktestResult, path: Path) -> None:
    lines = ["broker_fill_id,client_order_id,symbol,side,quantity,price,fee,ts_utc\n"]
    for fill in result.fills:
        lines.append(
            ",".join(
                [
                    fill.broker_fill_id,
                    fill.client_order_id,
                    fill.symbol,
                    fill.side.value,
                    format_decimal(fill.quantity),
                    format_decimal(fill.price),
                    format_decimal(fill.fee),
                    format_utc(fill.ts_utc),
                ]
            )
            + "\n"
        )
    path.write_text("".join(lines), encoding="utf-8", newline="\n")


def _opt(value: Decimal | None) -> str:
    return "" if value is None else format_decimal(value)


def event_stream_hash(result: BacktestResult) -> str:
    """The audit chain's final hash over ``result``'s event stream (what replay proves)."""
    chain = AuditChain()
    for text in result.events.lines():
        chain.line_for_json(text)
    return chain.last_hash


def _write_audit(result: BacktestResult, path: Path) -> str:
    """Write ``audit.jsonl`` line by line; returns the chain's final hash."""
    chain = AuditChain()
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for text in result.events.lines():
            handle.write(chain.line_for_json(text))
            handle.write("\n")
    return chain.last_hash


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
    scratch = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        artifacts = _write_all(result, scratch)
        if directory.exists():
            shutil.rmtree(directory)
        os.replace(scratch, directory)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return RunArtifacts(directory, artifacts.event_stream_hash, artifacts.events, artifacts.metrics)


def _occupied_by_something_else(directory: Path) -> bool:
    """True when ``directory`` is a file or a non-empty folder that is not a run directory."""
    if not directory.exists():
        return False
    if not directory.is_dir():
        return True
    return not (directory / "manifest.json").is_file() and any(directory.iterdir())


def _write_all(result: BacktestResult, directory: Path) -> RunArtifacts:
    stream_hash = _write_audit(result, directory / "audit.jsonl")
    manifest = build_manifest(result, stream_hash)
    metrics = metrics_of(result)
    (directory / "manifest.json").write_text(_pretty(manifest), encoding="utf-8", newline="\n")
    (directory / "metrics.json").write_text(_pretty(metrics), encoding="utf-8", newline="\n")
    _orders_csv(result, directory / "orders.csv")
    _fills_csv(result, directory / "fills.csv")
    _equity_csv(result, directory / "equity_curve.csv")
    stamps = result.equity.ts_us
    fill_stamps = np.array([epoch_us(fill.ts_utc) for fill in result.fills], dtype=np.int64)
    at = np.searchsorted(stamps, fill_stamps)
    found = (at < stamps.shape[0]) & (stamps[np.minimum(at, stamps.shape[0] - 1)] == fill_stamps)
    marks = [
        FillMark(int(index) if hit else 0, fill.side.value, format_decimal(fill.price))
        for fill, index, hit in zip(result.fills, at.tolist(), found.tolist(), strict=True)
    ]
    page = render_report(
        title=f"Backtest {result.request.config.engine_id} {result.request.run_id}",
        metrics=metrics,
        manifest={k: v for k, v in manifest.items() if k not in ("config", "versions")},
        equity=result.equity.equity_units.astype(np.float64) / SCALE,
        fills=marks,
        halted_reason=result.disarmed or result.halted,
        span=_span(result),
    )
    (directory / "report.html").write_text(page, encoding="utf-8", newline="\n")
    return RunArtifacts(directory, stream_hash, len(result.events), metrics)


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
