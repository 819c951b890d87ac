"""``mqk-cli backtest``: run, replay, stress and show deterministic backtests."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from mqk_backtest import (
    PERCENT_METRICS,
    ArtifactError,
    BacktestError,
    BacktestRequest,
    BacktestResult,
    ReplayError,
    data_file_hash,
    deterministic_run_id,
    host_fingerprint,
    load_manifest,
    replay_run,
    run_backtest,
    stress_rows,
    write_artifacts,
)
from mqk_cli.clock import now_utc
from mqk_cli.exit_codes import ExitCode
from mqk_cli.output import console, fail, print_json, print_table
from mqk_config import ConfigError, EffectiveConfig, load_config
from mqk_execution import COST_FIELDS, ExecutionError
from mqk_integrity import BarFileError, IntegrityError, load_bars
from mqk_isolation import IsolationError
from mqk_risk import RiskError
from mqk_schemas import RunMode, format_decimal
from mqk_strategy import StrategyPackageError

if TYPE_CHECKING:
    from mqk_db import Engine

__all__ = ["group"]

_SUMMARY_KEYS = (
    "final_equity",
    "total_return",
    "cagr",
    "sharpe",
    "sortino",
    "max_drawdown",
    "max_drawdown_peak_at",
    "max_drawdown_trough_at",
    "max_drawdown_recovered_at",
    "volatility",
    "profit_factor",
    "win_rate",
    "trades",
    "exposure_time",
    "worst_5day_return",
    "profitable_months_pct",
    "costs_paid",
    "ambiguous_bars_worst_case",
    "halted",
    "disarmed",
)


@click.group(name="backtest")
def group() -> None:
    """Run deterministic backtests, replay them, compare stress profiles."""


def _config_dir(value: str | None) -> Path:
    return Path(value or os.environ.get("MQK_CONFIG_DIR") or "config")


def _param_value(text: str) -> Any:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    return value if value.is_finite() else text


def _params(assignments: Sequence[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"--param {item!r} must look like name=value", ExitCode.BAD_INPUT)
        params[key.strip()] = _param_value(value.strip())
    return params


def _overrides(
    base: EffectiveConfig,
    *,
    strategy: str | None,
    params: Sequence[str],
    seed: int | None,
    cash: str | None,
    calendar: str | None,
    timeframe: str | None,
    no_costs: bool,
) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if strategy is not None or params:
        current = base.settings.engine.strategies[0]
        name = strategy or current.name
        merged = {} if strategy is not None and strategy != current.name else dict(current.params)
        merged.update(_params(params))
        overrides["engine"] = {"strategies": [{"name": name, "params": merged}]}
    if timeframe is not None:
        overrides.setdefault("engine", {})["timeframe"] = timeframe
    if seed is not None:
        overrides["backtest"] = {"seed": seed}
        overrides["execution"] = {"seed": seed}
    if cash is not None:
        try:
            overrides["broker"] = {"starting_cash": Decimal(cash)}
        except InvalidOperation:
            fail(f"--cash {cash!r} is not a decimal amount", ExitCode.BAD_INPUT)
    if calendar is not None:
        overrides["data"] = {"calendar": calendar}
    if no_costs:
        overrides.setdefault("execution", {}).update({f: Decimal(0) for f in COST_FIELDS})
    return overrides


def _git_revision() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _require_bar_file(bars: Path) -> None:
    """Exit 2 unless ``bars`` is a file."""
    if bars.is_dir():
        fail(f"{bars} is a folder; --bars takes one bar file (CSV or Parquet)", ExitCode.BAD_INPUT)
    if not bars.is_file():
        fail(f"bar file {bars} not found", ExitCode.BAD_INPUT)


@contextmanager
def _progress(enabled: bool, label: str) -> Iterator[Callable[[int, int], None] | None]:
    if not enabled or not console().is_terminal:  # a pipe or a log gets no bar (nor its blank line)
        yield None
        return
    bar = Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} steps"),
        TimeRemainingColumn(),
        transient=True,
        console=console(),
    )
    task = bar.add_task(label, total=1)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        yield update


def _load(
    config_dir: Path,
    engine: str,
    env: str,
    stress: Sequence[str],
    options: Mapping[str, Any],
) -> EffectiveConfig:
    try:
        base = load_config(config_dir, engine=engine, env=env)
        overrides = _overrides(base, **options)
        return load_config(config_dir, engine=engine, env=env, stress=stress, overrides=overrides)
    except ConfigError as exc:
        fail(str(exc), ExitCode.BAD_INPUT)


def _request(config: EffectiveConfig, bars: Path, symbol: str | None) -> BacktestRequest:
    try:
        frame = load_bars(bars, config.settings.engine.timeframe, symbol=symbol)
    except BarFileError as exc:
        fail(str(exc), ExitCode.BAD_INPUT)
    except IntegrityError as exc:
        fail(str(exc), ExitCode.BAD_INPUT)
    data_hash = data_file_hash([bars])
    seed = int(config.settings.backtest.seed)
    return BacktestRequest(
        config=config,
        bars=frame,
        data_files=(str(bars),),
        data_hash=data_hash,
        seed=seed,
        run_id=deterministic_run_id(config.engine_id, config.config_hash, data_hash, seed),
        git_revision=_git_revision(),
        host=host_fingerprint(),
    )


_RUN_ERRORS = (
    BacktestError,
    StrategyPackageError,
    RiskError,
    IsolationError,
    ExecutionError,
    IntegrityError,
)
"""What a backtest raises for a request it refuses (bad parameters, bars of another timeframe)."""


def _run(request: BacktestRequest, show_progress: bool, label: str) -> BacktestResult:
    try:
        return _run_with_progress(request, show_progress, label)
    except _RUN_ERRORS as exc:
        fail(str(exc), ExitCode.BAD_INPUT)


def _run_with_progress(
    request: BacktestRequest, show_progress: bool, label: str, out: Path | None = None
) -> BacktestResult:
    """Run ``request``; with ``out`` (where its artifacts go) a long run's audit log is
    chained beside it by a helper process while the run goes on."""
    with _progress(show_progress, label) as progress:
        return run_backtest(
            request, progress=progress, spool_dir=None if out is None else out.parent
        )


_MONEY_METRICS = frozenset({"final_equity", "costs_paid"})


def _plain(value: Any, key: str = "", currency: str = "") -> str:
    if value is None:
        return "-"
    if currency and key in _MONEY_METRICS and isinstance(value, Decimal | int):
        return f"{_plain(value)} {currency}"
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, float):
        return f"{value * 100:.2f}%" if key in PERCENT_METRICS else f"{value:.3f}"
    return str(value)


def _print_metrics(title: str, metrics: Mapping[str, Any], currency: str) -> None:
    """The metrics table; money is shown in the account's ``currency``."""
    rows = [(k, _plain(metrics.get(k), k, currency)) for k in _SUMMARY_KEYS]
    print_table(title, ["metric", "value"], rows)


def _currency(result: BacktestResult) -> str:
    """The account currency ``result`` counts money in."""
    return result.request.config.settings.broker.currency


def _describe(config: EffectiveConfig) -> str:
    """Strategy, timeframe and stress of a run, for titles."""
    spec = config.settings.engine.strategies[0]
    params = ", ".join(f"{k}={_plain(v)}" for k, v in sorted(spec.params.items()))
    stress = f"; stress {'+'.join(config.stress)}" if config.stress else ""
    return f"{spec.name}({params}) on {config.settings.engine.timeframe.value} bars{stress}"


_COMMON = [
    click.option("--engine", required=True, help="Engine id, e.g. MAIN."),
    click.option("--bars", "bars", required=True, type=click.Path(path_type=Path)),
    click.option("--env", default="dev", show_default=True),
    click.option("--strategy", default=None, help="Strategy name (default: the engine's)."),
    click.option("--param", "params", multiple=True, help="Strategy parameter name=value."),
    click.option("--seed", type=click.IntRange(min=0), default=None),
    click.option("--cash", default=None, help="Starting cash, e.g. 100000."),
    click.option("--calendar", default=None, help="Exchange calendar: XNYS, 24/7, ..."),
    click.option("--timeframe", default=None, help="Bar timeframe (default: the engine's)."),
    click.option("--symbol", default=None, help="Symbol of a file without a symbol column."),
    click.option("--no-costs", is_flag=True, help="Zero spread, slippage and commission."),
    click.option("--config-dir", default=None, help="Config folder (default ./config)."),
    click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables."),
]


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_COMMON):
        func = option(func)
    return func


def _options(**kwargs: Any) -> dict[str, Any]:
    return {
        "strategy": kwargs["strategy"],
        "params": kwargs["params"],
        "seed": kwargs["seed"],
        "cash": kwargs["cash"],
        "calendar": kwargs["calendar"],
        "timeframe": kwargs["timeframe"],
        "no_costs": kwargs["no_costs"],
    }


def _database_configured() -> str | None:
    """The run database's URL when one is configured ($MQK_DATABASE_URL or ./.mqk/mqk.db).

    The database layer (SQLAlchemy and the models: ~33 MiB and ~0.6 s of imports) is loaded
    only then, so a backtest without a database does not carry it.
    """
    configured = os.environ.get("MQK_DATABASE_URL", "").strip()
    if not configured and not (Path.cwd() / ".mqk" / "mqk.db").is_file():
        return None
    from mqk_db import DbInputError, database_url

    try:
        return database_url(os.environ, Path.cwd())
    except DbInputError as exc:
        fail(exc.message, ExitCode.BAD_INPUT)


def _record_start(ctx: click.Context, config: EffectiveConfig) -> tuple[Engine, uuid.UUID] | None:
    url = _database_configured()
    if url is None:
        return None
    from mqk_db import (
        DbError,
        RunSpec,
        git_revision,
        make_engine,
        migrate,
        start_backtest_run,
    )
    from mqk_db import host_fingerprint as host_fingerprint_text

    try:
        migrate(url)
        db = make_engine(url)
        run = start_backtest_run(
            db,
            RunSpec(
                engine_id=config.engine_id,
                mode=RunMode.BACKTEST,
                config_hash=config.config_hash,
                config_json=config.canonical_json,
                git_revision=git_revision(Path.cwd()),
                host_fingerprint=host_fingerprint_text(),
                shadow=config.settings.engine.shadow,
            ),
            now=now_utc(ctx),
        )
    except DbError as exc:
        fail(f"cannot record the backtest in {url}: {exc}", ExitCode.BAD_INPUT)
    return db, run.run_id


def _record_stop(
    ctx: click.Context, recorded: tuple[Engine, uuid.UUID], halt_reason: str | None
) -> str | None:
    """Halt the recorded run (when ``halt_reason``) and stop it, so no BACKTEST run is left
    RUNNING; returns what went wrong in the database, if anything."""
    from mqk_db import DbError, halt_run, stop_run

    db, run_id = recorded
    try:
        if halt_reason is not None:
            halt_run(db, run_id, halt_reason, now=now_utc(ctx))
        stop_run(db, run_id, now=now_utc(ctx))
    except DbError as exc:
        return f"cannot record the end of backtest run {run_id}: {exc}"
    finally:
        db.dispose()
    return None


def _record_failure(
    ctx: click.Context, recorded: tuple[Engine, uuid.UUID] | None, reason: str
) -> None:
    """Halt and stop a recorded run whose backtest did not finish; a database error is
    reported and the original failure goes on."""
    problem = _record_stop(ctx, recorded, reason) if recorded is not None else None
    if problem is not None:
        click.echo(f"error: {problem}", err=True)


@group.command(name="run")
@_common
@click.option("--stress", "stress", multiple=True, help="Stress profile to overlay.")
@click.option("--out", default=None, type=click.Path(path_type=Path), help="Run directory.")
@click.pass_context
def run_command(ctx: click.Context, /, **kwargs: Any) -> None:
    """Run one backtest and write its artifacts (default: exports/<run_id>/).

    When a run database is configured ($MQK_DATABASE_URL, or ./.mqk/mqk.db exists) the run is
    also recorded there with mode BACKTEST; without one nothing but the artifacts is written.
    """
    bars: Path = kwargs["bars"]
    _require_bar_file(bars)
    config = _load(
        _config_dir(kwargs["config_dir"]),
        kwargs["engine"],
        kwargs["env"],
        kwargs["stress"],
        _options(**kwargs),
    )
    request = _request(config, bars, kwargs["symbol"])
    out = kwargs["out"] or Path("exports") / str(request.run_id)
    recorded = _record_start(ctx, config)
    try:
        result = _run_with_progress(
            request, not kwargs["as_json"], f"backtest {config.engine_id}", out
        )
    except _RUN_ERRORS as exc:
        _record_failure(ctx, recorded, f"BACKTEST_REFUSED: {exc}")
        fail(str(exc), ExitCode.BAD_INPUT)
    except BaseException as exc:  # interrupted (Ctrl-C) or an unexpected error
        _record_failure(ctx, recorded, f"BACKTEST_ABORTED: {type(exc).__name__}")
        raise
    if recorded is not None:
        problem = _record_stop(ctx, recorded, result.disarmed or result.halted)
        if problem is not None:
            fail(problem, ExitCode.BAD_INPUT)
    try:
        artifacts = write_artifacts(result, out)
    except ArtifactError as exc:
        fail(str(exc), ExitCode.BAD_INPUT)
    if kwargs["as_json"]:
        print_json(
            {
                **artifacts.metrics,
                "run_id": str(request.run_id),
                "run_dir": str(out),
                "event_stream_hash": artifacts.event_stream_hash,
                "db_run_id": str(recorded[1]) if recorded is not None else None,
            }
        )
        return
    _print_metrics(
        f"Backtest {config.engine_id} {request.run_id}: {_describe(config)}",
        artifacts.metrics,
        config.settings.broker.currency,
    )
    if result.disarmed or result.halted:
        click.echo(f"Run stopped trading: {result.disarmed or result.halted}")
    click.echo(f"config hash        {config.config_hash} (engine + env + stress + options)")
    click.echo(f"data hash          {request.data_hash}")
    click.echo(f"event stream hash  {artifacts.event_stream_hash}")
    click.echo(f"artifacts          {out}/")
    click.echo(f"report             {out / 'report.html'}")
    if recorded is not None:
        click.echo(f"recorded           run {recorded[1]} (BACKTEST, STOPPED) in the run database")


@group.command(name="replay")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--data-dir", default=None, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def replay_command(run_dir: Path, data_dir: Path | None, as_json: bool) -> None:
    """Re-run RUN_DIR from its manifest; exit 0 when the event-stream hash is proven."""
    try:
        outcome = replay_run(run_dir, data_dir=data_dir)
    except (ArtifactError, ReplayError, BarFileError, ConfigError, BacktestError) as exc:
        fail(str(exc), ExitCode.BAD_INPUT)
    except (KeyError, TypeError, ValueError) as exc:
        fail(f"{run_dir}/manifest.json is malformed: {exc!r}", ExitCode.BAD_INPUT)
    if as_json:
        print_json(
            {
                "proven": outcome.proven,
                "recorded_hash": outcome.recorded_hash,
                "replayed_hash": outcome.replayed_hash,
                "reason": outcome.reason,
                "first_divergence": None
                if outcome.divergence is None
                else {
                    "seq": outcome.divergence.seq,
                    "recorded": outcome.divergence.recorded,
                    "replayed": outcome.divergence.replayed,
                },
            }
        )
    elif outcome.proven:
        click.echo(f"replay proven: event stream hash {outcome.recorded_hash}")
    else:
        click.echo(f"replay NOT proven: {outcome.reason}")
    if not outcome.proven:
        raise SystemExit(int(ExitCode.REFUSED))


@group.command(name="stress")
@_common
@click.option("--stress", "stress", multiple=True, required=True, help="Profile(s) to compare.")
@click.option("--out", default=None, type=click.Path(path_type=Path), help="Parent directory.")
def stress_command(**kwargs: Any) -> None:
    """Run the base config and each stress profile on the same bars; compare side by side."""
    bars: Path = kwargs["bars"]
    _require_bar_file(bars)
    config_dir = _config_dir(kwargs["config_dir"])
    options = _options(**kwargs)
    configs = {  # every profile is checked before the first run starts
        profile: _load(
            config_dir,
            kwargs["engine"],
            kwargs["env"],
            () if profile == "base" else (profile,),
            options,
        )
        for profile in ("base", *kwargs["stress"])
    }
    results: dict[str, BacktestResult] = {}
    written: dict[str, Path] = {}
    for profile, config in configs.items():
        request = _request(config, bars, kwargs["symbol"])
        results[profile] = _run(request, not kwargs["as_json"], f"{profile}")
        out = (kwargs["out"] or Path("exports")) / str(request.run_id)
        try:
            write_artifacts(results[profile], out)
        except ArtifactError as exc:
            fail(str(exc), ExitCode.BAD_INPUT)
        written[profile] = out
    rows = stress_rows(results)
    if kwargs["as_json"]:
        print_json({row.profile: {**row.metrics, "config_hash": row.config_hash} for row in rows})
        return
    keys = ("total_return", "max_drawdown", "sharpe", "trades", "costs_paid", "final_equity")
    print_table(
        f"Stress comparison ({kwargs['engine']})",
        ["metric", *(row.profile for row in rows)],
        [
            (
                key,
                *(
                    _plain(row.metrics.get(key), key, _currency(results[row.profile]))
                    for row in rows
                ),
            )
            for key in keys
        ],
    )
    for profile, directory in written.items():
        click.echo(f"{profile:<14} artifacts {directory}/")


@group.command(name="show")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def show_command(run_dir: Path, as_json: bool) -> None:
    """Show a run directory's manifest summary and metrics."""
    try:
        manifest = load_manifest(run_dir)
    except ArtifactError as exc:
        fail(str(exc), ExitCode.BAD_INPUT)
    metrics_path = run_dir / "metrics.json"
    if not metrics_path.is_file():
        fail(f"{metrics_path}: missing", ExitCode.BAD_INPUT)
    try:
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"), parse_float=Decimal)
        if not isinstance(metrics, dict):
            raise TypeError("metrics.json is not an object")
        _show_run(manifest, metrics, as_json)
    except (KeyError, TypeError, ValueError) as exc:
        fail(
            f"{run_dir} holds a malformed manifest.json or metrics.json: {exc!r}",
            ExitCode.BAD_INPUT,
        )


def _show_run(manifest: Mapping[str, Any], metrics: Mapping[str, Any], as_json: bool) -> None:
    if as_json:
        print_json({"manifest": {k: v for k, v in manifest.items() if k != "config"}, **metrics})
        return
    data = manifest["data"]
    print_table(
        f"Run {manifest['run_id']}",
        ["field", "value"],
        [
            ("engine", manifest["engine_id"]),
            (
                "env / stress",
                f"{manifest['env']} / {', '.join(manifest.get('stress') or []) or '-'}",
            ),
            ("config hash", manifest["config_hash"]),
            ("data", f"{', '.join(data['files'])} ({data['bars']} bars, {data['timeframe']})"),
            ("data hash", data["sha256"]),
            ("seed", manifest["seed"]),
            ("event stream hash", manifest["event_stream_hash"]),
            ("git revision", manifest.get("git_revision") or "-"),
        ],
    )
    # metrics.json is read with exact decimals; ratios are shown as run shows its floats
    ratios = {
        k: float(v) if isinstance(v, Decimal) and k not in _MONEY_METRICS else v
        for k, v in metrics.items()
    }
    _print_metrics("Metrics", ratios, str(manifest["config"]["broker"]["currency"]))
