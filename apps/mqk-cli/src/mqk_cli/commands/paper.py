"""``mqk-cli run paper``: a PAPER run over a bar file, from creation (or resume) to stop.

Creates the run (or resumes ``--resume RUN_ID`` after a crash: disarmed, recovered, re-armed
only after a clean reconcile), arms, begins, replays the bars as fast as possible through the
runtime loop and the paper broker, stops, and prints the summary (bars, orders, fills, final
equity, halts). ``--shadow`` records intents only. The database is the embedded SQLite file
(``./.mqk/mqk.db``) unless ``MQK_DATABASE_URL`` says otherwise; it is migrated if needed.
Exit 0: the run completed; 1: a kill switch halted it or a safety rule refused; 2: bad input.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mqk_cli.clock import now_utc
from mqk_cli.commands.db import refuse
from mqk_cli.exit_codes import ExitCode
from mqk_cli.output import console, fail, print_json, print_table
from mqk_config import ConfigError, load_config
from mqk_db import (
    DbError,
    database_url,
    git_revision,
    host_fingerprint,
    make_engine,
    migrate,
    redact_url,
)
from mqk_integrity import BarFileError, load_bars
from mqk_runtime import (
    Failpoints,
    MqkRuntimeError,
    ReplayFeed,
    ResumeRefusedError,
    RunSummary,
    run_paper,
)
from mqk_schemas import canonical_json, format_decimal

__all__ = ["command"]


@click.command(name="paper")
@click.option("--engine", "engine_id", required=True, help="Engine token, e.g. MAIN or EXP.")
@click.option(
    "--bars",
    "bars_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Bar file (CSV or Parquet) of the engine's timeframe.",
)
@click.option("--resume", "resume", type=click.UUID, help="Restart this run after a crash.")
@click.option("--shadow", is_flag=True, help="Record intents only; nothing reaches the broker.")
@click.option("--symbol", help="Symbol of a bar file without a symbol column (default: stem).")
@click.option("--env", default="dev", show_default=True, help="Environment layer of the config.")
@click.option(
    "--config-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="MQK_CONFIG_DIR",
    default=Path("config"),
    show_default="$MQK_CONFIG_DIR or ./config",
    help="Directory holding the layered config.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as canonical JSON.")
@click.pass_context
def command(
    ctx: click.Context,
    engine_id: str,
    bars_path: Path,
    resume: uuid.UUID | None,
    shadow: bool,
    symbol: str | None,
    env: str,
    config_dir: Path,
    as_json: bool,
) -> None:
    """Run a PAPER session over BARS: create/resume, arm, begin, run, stop, summarise."""
    overrides = {"engine": {"shadow": True}} if shadow else None
    try:
        config = load_config(config_dir, engine=engine_id, env=env, overrides=overrides)
    except ConfigError as exc:
        fail(str(exc), ExitCode.BAD_INPUT)
    try:
        frame = load_bars(bars_path, config.engine.timeframe, symbol=symbol)
        failpoints = Failpoints.from_env(os.environ)
    except BarFileError as exc:
        fail(str(exc), ExitCode.BAD_INPUT)
    except MqkRuntimeError as exc:
        fail(exc.message, ExitCode.BAD_INPUT)
    try:
        url = database_url(os.environ, Path.cwd())
        migrate(url)
        db = make_engine(url)
    except DbError as exc:
        refuse(exc, as_json)
    try:
        feed = ReplayFeed(frame)
        with _progress(enabled=not as_json) as progress:
            task = progress.add_task(f"{config.engine_id} paper", total=len(feed))
            summary = run_paper(
                db,
                config,
                feed,
                resume=resume,
                failpoints=failpoints,
                progress=lambda done, total: progress.update(task, completed=done),
                git_revision=git_revision(Path.cwd()),
                host_fingerprint=host_fingerprint(),
                created_at=now_utc(ctx),
            )
    except ResumeRefusedError as exc:
        fail(exc.message, ExitCode.REFUSED, {"reason_code": exc.reason_code})
    except MqkRuntimeError as exc:
        fail(exc.message, ExitCode.BAD_INPUT, {"reason_code": exc.reason_code})
    except DbError as exc:
        refuse(exc, as_json)
    finally:
        db.dispose()
    _report(summary, as_json, redact_url(url))
    if summary.halted:
        ctx.exit(int(ExitCode.REFUSED))


def _progress(*, enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not enabled,
        transient=True,
    )


def _report(summary: RunSummary, as_json: bool, url: str) -> None:
    if as_json:
        print_json(summary.to_dict())
        return
    rows: list[list[Any]] = [
        ["run_id", summary.run_id],
        ["engine", summary.engine_id],
        ["mode", f"{summary.mode}{' (shadow)' if summary.shadow else ''}"],
        ["status", summary.status],
        ["resumed", summary.resumed],
        [
            "bars",
            f"{summary.bars_done}/{summary.bars_total} ({summary.bars_this_session} this session)",
        ],
        ["orders", summary.orders],
        ["fills", summary.fills],
        ["shadow intents", summary.shadow_intents],
        ["cash", format_decimal(summary.cash)],
        ["final equity", format_decimal(summary.equity)],
        ["positions", canonical_json(summary.positions)],
        ["halts", len(summary.halts)],
        ["halt reason", summary.halt_reason or "-"],
        ["database", url],
    ]
    print_table("Paper run summary", ["field", "value"], rows)
    for decision in summary.halts:
        console().print(
            f"kill switch {decision.reason_code} ({decision.action}): {decision.message}"
        )
