"""``mqk-cli data``: validate bar files and write deterministic synthetic bars."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click
import polars as pl

from mqk_cli.exit_codes import ExitCode
from mqk_cli.output import fail, print_json, print_table
from mqk_integrity import (
    BarFileError,
    FrameScan,
    IntegrityError,
    IntegritySettings,
    OutlierPolicy,
    load_bars,
    scan_frame,
    synth_bars,
    write_bars,
)
from mqk_schemas import BarFrame, Timeframe, format_utc

__all__ = ["group"]

_TIMEFRAMES = [t.value for t in Timeframe]
_POLICIES = [p.value for p in OutlierPolicy]
_LISTED_GAPS = 20
# A file scan never consults the live-feed settings; these only make the settings complete.
_FILE_SCAN_STALE_FEED_SECONDS = 432_000
_FILE_SCAN_FEED_DISAGREEMENT_BPS = Decimal(50)


@click.group(name="data")
def group() -> None:
    """Validate bar files and write synthetic bars."""


def _decimal_option(value: str, name: str) -> Decimal:
    try:
        result = Decimal(value)
    except InvalidOperation:
        fail(f"{name} {value!r} is not a decimal number", ExitCode.BAD_INPUT)
    if not result.is_finite():
        fail(f"{name} {value!r} is not finite", ExitCode.BAD_INPUT)
    return result


def _problem_json(exc: BarFileError) -> dict[str, Any]:
    return {
        "status": "BAD_FILE",
        "file": exc.file,
        "total_problems": exc.total,
        "problems": [
            {"row": p.row, "column": p.column, "rule": p.rule, "message": p.message}
            for p in exc.problems
        ],
    }


def _per_symbol(frame: BarFrame, scan: FrameScan) -> list[dict[str, Any]]:
    n = len(frame)
    flags = pl.DataFrame(
        {
            "symbol": frame.frame.get_column("symbol"),
            "ts": frame.frame.get_column("ts_close_utc"),
            "gap": pl.zeros(n, dtype=pl.Int64, eager=True).scatter(scan.gap_rows, 1),
            "missing": pl.Series(scan.missing_bars).set(
                ~pl.zeros(n, dtype=pl.Boolean, eager=True).scatter(scan.gap_rows, True), 0
            ),
            "outlier": pl.zeros(n, dtype=pl.Int64, eager=True).scatter(scan.outlier_rows, 1),
        }
    )
    table = (
        flags.group_by("symbol")
        .agg(
            bars=pl.len(),
            first=pl.col("ts").min(),
            last=pl.col("ts").max(),
            gaps=pl.col("gap").sum(),
            missing_bars=pl.col("missing").sum(),
            outliers=pl.col("outlier").sum(),
        )
        .sort("symbol")
    )
    return [
        {
            "symbol": row["symbol"],
            "bars": int(row["bars"]),
            "first": format_utc(row["first"]),
            "last": format_utc(row["last"]),
            "gaps": int(row["gaps"]),
            "missing_bars": int(row["missing_bars"]),
            "outliers": int(row["outliers"]),
        }
        for row in table.iter_rows(named=True)
    ]


def _summary(path: Path, frame: BarFrame, scan: FrameScan) -> dict[str, Any]:
    first_issue: dict[str, Any] | None = None
    if scan.first_issue is not None:
        decision = scan.decision_at(scan.first_issue)
        # row: 1-based position among the validated bars, sorted by symbol then close time
        first_issue = {"row": scan.first_issue + 1, "decision": decision}
    ts = frame.frame.get_column("ts_close_utc")
    first: datetime = ts.min()  # type: ignore[assignment]
    last: datetime = ts.max()  # type: ignore[assignment]
    return {
        "status": "CLEAN" if scan.clean else "BREACH",
        "file": str(path),
        "timeframe": frame.timeframe.value,
        "settings": scan.settings,
        "bars": len(frame),
        "symbols": _per_symbol(frame, scan),
        "first": format_utc(first),
        "last": format_utc(last),
        "gap_count": scan.gap_count,
        "missing_bars": scan.missing_bar_count,
        "gaps_by_session": [
            {"symbol": g.symbol, "session": g.session, "missing_bars": g.missing_bars}
            for g in scan.gaps_by_session
        ],
        "outlier_count": scan.outlier_count,
        "rejected_count": scan.rejected_count,
        "first_issue": first_issue,
    }


def _short(utc_text: str) -> str:
    """``2022-01-03T21:00:00Z`` -> ``2022-01-03 21:00`` (keeps tables within 80 columns)."""
    return utc_text[:16].replace("T", " ")


def _symbol_row(row: dict[str, Any]) -> list[Any]:
    first, last = _short(row["first"]), _short(row["last"])
    return [row["symbol"], row["bars"], first, last, row["gaps"], row["outliers"]]


def _print_summary(summary: dict[str, Any]) -> None:
    settings: IntegritySettings = summary["settings"]
    print_table(
        f"{summary['file']}: {summary['status']}",
        ["field", "value"],
        [
            ("bars", summary["bars"]),
            ("symbols", len(summary["symbols"])),
            ("first close", summary["first"]),
            ("last close", summary["last"]),
            ("timeframe / calendar", f"{summary['timeframe']} / {settings.calendar}"),
            (f"gaps (tolerance {settings.gap_tolerance_bars})", summary["gap_count"]),
            ("missing session bars", summary["missing_bars"]),
            (
                f"outliers (> {settings.outlier_move_fraction}, {settings.outlier_policy})",
                summary["outlier_count"],
            ),
            ("rejected bars", summary["rejected_count"]),
        ],
    )
    print_table(
        "per symbol",
        ["symbol", "bars", "first", "last", "gaps", "outliers"],
        [_symbol_row(row) for row in summary["symbols"]],
    )
    gaps = summary["gaps_by_session"]
    if gaps:
        rows = [(g["symbol"], g["session"], g["missing_bars"]) for g in gaps[:_LISTED_GAPS]]
        if len(gaps) > _LISTED_GAPS:
            rows.append(("...", f"{len(gaps) - _LISTED_GAPS} more sessions", ""))
        print_table("gaps by session", ["symbol", "session", "missing bars"], rows)
    issue = summary["first_issue"]
    if issue is not None:
        decision = issue["decision"]
        click.echo(f"first issue: {decision.action} {decision.reason_code}: {decision.message}")


@group.command(name="validate")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--timeframe", type=click.Choice(_TIMEFRAMES), default="1d", show_default=True)
@click.option("--calendar", default="XNYS", show_default=True, help="Exchange code or 24/7.")
@click.option("--symbol", default=None, help="Symbol of a file without a symbol column.")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default=None)
@click.option("--gap-tolerance-bars", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--outlier-move-fraction", default="0.2", show_default=True)
@click.option("--outlier-policy", type=click.Choice(_POLICIES), default="FLAG", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print canonical JSON on one line.")
def validate(
    file: Path,
    timeframe: str,
    calendar: str,
    symbol: str | None,
    fmt: str | None,
    gap_tolerance_bars: int,
    outlier_move_fraction: str,
    outlier_policy: str,
    as_json: bool,
) -> None:
    """Check a bar file: exit 0 clean, 1 breach, 2 bad file.

    A breach is any bar the integrity gate would not ALLOW: gaps in session bars, bars off the
    calendar, outliers under policy REJECT or HALT_NEW. A bad file (unreadable, malformed
    values, broken OHLC, duplicate times ...) is refused whole with every problem listed.
    """
    try:
        settings = IntegritySettings(
            calendar=calendar,
            gap_tolerance_bars=gap_tolerance_bars,
            stale_feed_seconds=_FILE_SCAN_STALE_FEED_SECONDS,
            feed_disagreement_bps=_FILE_SCAN_FEED_DISAGREEMENT_BPS,
            outlier_move_fraction=_decimal_option(outlier_move_fraction, "--outlier-move-fraction"),
            outlier_policy=OutlierPolicy(outlier_policy),
        )
    except ValueError as exc:  # pydantic's ValidationError names the field and the rule
        fail(f"invalid settings: {exc}", ExitCode.BAD_INPUT)
    try:
        frame = load_bars(file, Timeframe(timeframe), symbol=symbol, fmt=fmt)
    except BarFileError as exc:
        if as_json:
            print_json(_problem_json(exc))
            raise SystemExit(int(ExitCode.BAD_INPUT)) from None
        fail(str(exc), ExitCode.BAD_INPUT)
    try:
        scan = scan_frame(frame, settings)
    except IntegrityError as exc:
        fail(str(exc), ExitCode.BAD_INPUT)
    summary = _summary(file, frame, scan)
    if as_json:
        print_json(summary)
    else:
        _print_summary(summary)
    raise SystemExit(int(ExitCode.OK if scan.clean else ExitCode.REFUSED))


def _file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@group.command(name="synth")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True, help="File.")
@click.option("--symbol", default=None, help="One symbol (or use --symbols).")
@click.option("--symbols", default=None, help="Comma-separated symbols, e.g. A,B,C.")
@click.option("--timeframe", type=click.Choice(_TIMEFRAMES), default="1d", show_default=True)
@click.option("--start", type=click.DateTime(formats=["%Y-%m-%d"]), required=True)
@click.option("--bars", type=click.IntRange(min=1), required=True, help="Bars per symbol.")
@click.option("--seed", type=click.IntRange(min=0), required=True)
@click.option("--calendar", default="XNYS", show_default=True, help="Exchange code or 24/7.")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default=None)
@click.option("--start-price", default="100", show_default=True)
@click.option("--drift", default="0.05", show_default=True, help="Annual drift.")
@click.option("--volatility", default="0.3", show_default=True, help="Annual volatility.")
@click.option("--regime-bars", type=click.IntRange(min=1), default=60, show_default=True)
def synth(
    out: Path,
    symbol: str | None,
    symbols: str | None,
    timeframe: str,
    start: datetime,
    bars: int,
    seed: int,
    calendar: str,
    fmt: str | None,
    start_price: str,
    drift: str,
    volatility: str,
    regime_bars: int,
) -> None:
    """Write synthetic bars: same arguments, byte-identical file.

    Geometric Brownian motion with trending regimes on the calendar's session grid, prices in
    exact cents; see mqk_integrity.synth.
    """
    if (symbol is None) == (symbols is None):
        fail("give exactly one of --symbol or --symbols", ExitCode.BAD_INPUT)
    names = [symbol] if symbol is not None else [s.strip() for s in (symbols or "").split(",")]
    try:
        frame = synth_bars(
            symbols=names,
            timeframe=Timeframe(timeframe),
            start=date(start.year, start.month, start.day),
            bars=bars,
            seed=seed,
            calendar=calendar,
            start_price=_decimal_option(start_price, "--start-price"),
            drift=_decimal_option(drift, "--drift"),
            volatility=_decimal_option(volatility, "--volatility"),
            regime_bars=regime_bars,
        )
        if out.parent.exists() and not out.parent.is_dir():
            fail(f"cannot write {out}: {out.parent} is a file, not a folder", ExitCode.BAD_INPUT)
        out.parent.mkdir(parents=True, exist_ok=True)  # as backtest run --out does
        path = write_bars(frame, out, fmt)
    except IntegrityError as exc:
        fail(str(exc), ExitCode.BAD_INPUT)
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}", ExitCode.BAD_INPUT)
    digest = _file_sha256(path)
    ts = frame.frame.get_column("ts_close_utc")
    first: datetime = ts.min()  # type: ignore[assignment]
    last: datetime = ts.max()  # type: ignore[assignment]
    print_table(
        f"wrote {path}",
        ["field", "value"],
        [
            ("bars", len(frame)),
            ("symbols", ",".join(frame.symbols)),
            ("first close", format_utc(first)),
            ("last close", format_utc(last)),
        ],
    )
    click.echo(f"sha256 {digest}")
