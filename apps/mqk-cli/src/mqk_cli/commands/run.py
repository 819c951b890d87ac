"""``mqk-cli run``: create, arm, begin, stop, halt and watch runs (SPEC section 11).

Commands read the layered config with mqk_config and hand mqk_db the plain values its
preflight needs; every state change is one database transaction, and the database itself
refuses illegal transitions and a second active LIVE run per engine.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import click

from mqk_cli.clock import now_utc
from mqk_cli.commands import paper
from mqk_cli.commands.db import open_database, refuse
from mqk_cli.exit_codes import ExitCode
from mqk_cli.output import fail, print_json, print_table
from mqk_config import ConfigError, EffectiveConfig, load_config
from mqk_db import (
    DbError,
    Engine,
    RunRecord,
    RunSpec,
    arm_run,
    begin_run,
    create_run,
    get_arm_state,
    get_run,
    git_revision,
    halt_run,
    halt_stale_runs,
    heartbeat_run,
    host_fingerprint,
    list_runs,
    stale_runs,
    stop_run,
)
from mqk_runtime import arming_inputs
from mqk_schemas import RunMode, RunStatus, format_utc

__all__ = ["group"]

_json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print canonical JSON on one line."
)
_env_option = click.option(
    "--env", default="dev", show_default=True, help="Environment layer of the config."
)
_config_dir_option = click.option(
    "--config-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="MQK_CONFIG_DIR",
    default=Path("config"),
    show_default="$MQK_CONFIG_DIR or ./config",
    help="Directory holding the layered config.",
)
_run_id_argument = click.argument("run_id", type=click.UUID)


def _config(config_dir: Path, engine_id: str, env: str) -> EffectiveConfig:
    try:
        return load_config(config_dir, engine=engine_id, env=env)
    except ConfigError as exc:
        fail(str(exc), ExitCode.BAD_INPUT)


def _show(record: RunRecord, as_json: bool, verb: str | None = None) -> None:
    if as_json:
        print_json(record.summary())
        return
    if verb is not None:
        click.echo(f"run {record.run_id} {verb}: {record.status}")
    rows = [[name, _cell(value)] for name, value in record.summary().items() if value is not None]
    print_table(f"Run {record.run_id}", ["field", "value"], rows)


def _cell(value: object) -> str:
    if isinstance(value, datetime):
        return format_utc(value)
    return str(value)


def _table(title: str, records: list[RunRecord]) -> None:
    print_table(
        title,
        ["run_id", "engine", "mode", "status"],
        [[r.run_id, r.engine_id, r.mode, r.status] for r in records],
    )


def _get(engine: Engine, run_id: uuid.UUID, as_json: bool) -> RunRecord:
    try:
        return get_run(engine, run_id)
    except DbError as exc:
        refuse(exc, as_json)


@click.group(name="run")
def group() -> None:
    """Create and drive runs: CREATED -> ARMED -> RUNNING -> STOPPED (or HALTED)."""


@group.command(name="create")
@click.option("--engine", "engine_id", required=True, help="Engine token, e.g. MAIN or EXP.")
@click.option(
    "--mode",
    type=click.Choice(["PAPER", "LIVE"], case_sensitive=True),
    required=True,
    help="What the run trades against.",
)
@_env_option
@_config_dir_option
@_json_option
@click.pass_context
def create_cmd(
    ctx: click.Context, engine_id: str, mode: str, env: str, config_dir: Path, as_json: bool
) -> None:
    """Create a run pinned to the current config (hash + non-secret JSON)."""
    config = _config(config_dir, engine_id, env)
    spec = RunSpec(
        engine_id=config.engine_id,
        mode=RunMode(mode),
        config_hash=config.config_hash,
        config_json=config.canonical_json,
        git_revision=git_revision(Path.cwd()),
        host_fingerprint=host_fingerprint(),
        shadow=config.engine.shadow,
    )
    with open_database() as (_url, engine):
        try:
            record = create_run(engine, spec, now=now_utc(ctx))
        except DbError as exc:
            refuse(exc, as_json)
    _show(record, as_json, "created")


@group.command(name="arm")
@_run_id_argument
@click.option("--confirm", "confirmation", help='LIVE only: the phrase "ARM LIVE <last4> <limit>".')
@_env_option
@_config_dir_option
@_json_option
@click.pass_context
def arm_cmd(
    ctx: click.Context,
    run_id: uuid.UUID,
    confirmation: str | None,
    env: str,
    config_dir: Path,
    as_json: bool,
) -> None:
    """Arm a CREATED run after the preflight (LIVE: fresh CLEAN reconcile + phrase)."""
    with open_database() as (_url, engine):
        run = _get(engine, run_id, as_json)
        config = _config(config_dir, run.engine_id, env)
        try:
            record = arm_run(
                engine,
                run_id,
                arming_inputs(config),
                confirmation=confirmation,
                now=now_utc(ctx),
            )
        except DbError as exc:
            refuse(exc, as_json)
    _show(record, as_json, "armed")


@group.command(name="begin")
@_run_id_argument
@_env_option
@_config_dir_option
@_json_option
@click.pass_context
def begin_cmd(
    ctx: click.Context, run_id: uuid.UUID, env: str, config_dir: Path, as_json: bool
) -> None:
    """Start an ARMED run (a LIVE run re-checks its engine's reconcile)."""
    with open_database() as (_url, engine):
        run = _get(engine, run_id, as_json)
        config = _config(config_dir, run.engine_id, env)
        try:
            record = begin_run(
                engine,
                run_id,
                reconcile_freshness=timedelta(seconds=config.reconcile.freshness_seconds),
                now=now_utc(ctx),
            )
        except DbError as exc:
            refuse(exc, as_json)
    _show(record, as_json, "started")


def _apply(as_json: bool, verb: str, action: Callable[[Engine], RunRecord]) -> None:
    """Run one lifecycle call in the run database and show the run it leaves."""
    with open_database() as (_url, engine):
        try:
            record = action(engine)
        except DbError as exc:
            refuse(exc, as_json)
    _show(record, as_json, verb)


@group.command(name="stop")
@_run_id_argument
@_json_option
@click.pass_context
def stop_cmd(ctx: click.Context, run_id: uuid.UUID, as_json: bool) -> None:
    """Stop a RUNNING or HALTED run (terminal)."""
    _apply(as_json, "stopped", lambda engine: stop_run(engine, run_id, now=now_utc(ctx)))


@group.command(name="halt")
@_run_id_argument
@click.option("--reason", required=True, help="Why the run is halted (kept with the run).")
@_json_option
@click.pass_context
def halt_cmd(ctx: click.Context, run_id: uuid.UUID, reason: str, as_json: bool) -> None:
    """Halt an ARMED or RUNNING run and disarm its engine."""
    _apply(as_json, "halted", lambda engine: halt_run(engine, run_id, reason, now=now_utc(ctx)))


@group.command(name="heartbeat")
@_run_id_argument
@_json_option
@click.pass_context
def heartbeat_cmd(ctx: click.Context, run_id: uuid.UUID, as_json: bool) -> None:
    """Record a heartbeat of a RUNNING run."""
    _apply(as_json, "heartbeat", lambda engine: heartbeat_run(engine, run_id, now=now_utc(ctx)))


@group.command(name="status")
@click.argument("run_id", type=click.UUID, required=False)
@_json_option
def status_cmd(run_id: uuid.UUID | None, as_json: bool) -> None:
    """Show one run, or every ARMED/RUNNING run and its engine's arm switch."""
    with open_database() as (_url, engine):
        if run_id is not None:
            _show(_get(engine, run_id, as_json), as_json)
            return
        active = list_runs(engine, statuses=[RunStatus.ARMED, RunStatus.RUNNING])
        arms = {e: get_arm_state(engine, e) for e in sorted({r.engine_id for r in active})}
    if as_json:
        print_json([r.summary() for r in active])
        return
    _table("Active runs", active)
    for engine_id, arm in arms.items():
        if arm is not None:
            click.echo(f"engine {engine_id}: {arm.state} ({arm.reason})")


@group.command(name="list")
@click.option("--engine", "engine_id", help="Only this engine's runs.")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([s.value for s in RunStatus]),
    help="Only runs in this status (repeatable).",
)
@_json_option
def list_cmd(engine_id: str | None, statuses: tuple[str, ...], as_json: bool) -> None:
    """List runs, oldest first."""
    with open_database() as (_url, engine):
        records = list_runs(
            engine,
            engine_id=engine_id,
            statuses=[RunStatus(s) for s in statuses] if statuses else None,
        )
    if as_json:
        print_json([r.summary() for r in records])
    else:
        _table("Runs", records)


@group.command(name="check-health")
@click.option("--halt-stale", is_flag=True, help="Halt every stale run (deadman).")
@_env_option
@_config_dir_option
@_json_option
@click.pass_context
def check_health_cmd(
    ctx: click.Context, halt_stale: bool, env: str, config_dir: Path, as_json: bool
) -> None:
    """Report RUNNING runs whose heartbeat is older than runtime.heartbeat_stale_seconds.

    Exit 0 when no run is stale (or every stale run was halted), 1 when stale runs remain.
    """
    now = now_utc(ctx)
    stale: list[RunRecord] = []
    halted: list[RunRecord] = []
    with open_database() as (_url, engine):
        running = list_runs(engine, statuses=[RunStatus.RUNNING])
        for engine_id in sorted({r.engine_id for r in running}):
            config = _config(config_dir, engine_id, env)
            threshold = timedelta(seconds=config.settings.runtime.heartbeat_stale_seconds)
            stale += stale_runs(engine, threshold=threshold, now=now, engine_id=engine_id)
            if halt_stale:
                halted += halt_stale_runs(engine, threshold=threshold, now=now, engine_id=engine_id)
    remaining = [r for r in stale if r.run_id not in {h.run_id for h in halted}]
    if as_json:
        print_json(
            {
                "checked_at": now,
                "running": len(running),
                "stale": [r.summary() for r in stale],
                "halted": [r.summary() for r in halted],
            }
        )
    else:
        click.echo(f"{len(running)} running run(s), {len(stale)} stale, {len(halted)} halted")
        if stale:
            _table("Stale runs", halted or stale)
    if remaining:
        ctx.exit(int(ExitCode.REFUSED))


group.add_command(paper.command)
