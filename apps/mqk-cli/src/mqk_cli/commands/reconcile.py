"""``mqk-cli reconcile``: compare a broker snapshot with an engine's internal state.

``reconcile check`` diffs the snapshot file against the engine's latest run as stored (applied
fills -> ledger positions, outbox/OMS orders; no run yet = flat with no orders), prints the diff
table, records the checkpoint (with the snapshot's SHA-256) and exits 0 CLEAN, 1 WARN or
CRITICAL (or a snapshot older than the last one used), 2 for a bad snapshot file.
"""

from __future__ import annotations

from pathlib import Path

import click

from mqk_cli.clock import now_utc
from mqk_cli.commands.db import open_database, refuse
from mqk_cli.exit_codes import ExitCode
from mqk_cli.output import console, fail, print_json, print_table
from mqk_config import ConfigError, load_config
from mqk_db import DbError
from mqk_reconcile import ReconcileConfig, ReconcileInputError, SnapshotLoadError, load_snapshot
from mqk_runtime import check_engine
from mqk_schemas import canonical_json, format_utc

__all__ = ["group"]


@click.group(name="reconcile")
def group() -> None:
    """Reconcile broker snapshots against the engines' internal state."""


@group.command(name="check")
@click.option("--engine", "engine_id", required=True, help="Engine token, e.g. MAIN or EXP.")
@click.option(
    "--snapshot",
    "snapshot_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Broker snapshot JSON file (orders, fills, positions, account, captured_at).",
)
@click.option("--env", default="dev", show_default=True, help="Environment layer of the config.")
@click.option(
    "--config-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="MQK_CONFIG_DIR",
    default=Path("config"),
    show_default="$MQK_CONFIG_DIR or ./config",
    help="Directory holding the layered config.",
)
@click.option("--json", "as_json", is_flag=True, help="Print canonical JSON on one line.")
@click.pass_context
def check_cmd(
    ctx: click.Context,
    engine_id: str,
    snapshot_path: Path,
    env: str,
    config_dir: Path,
    as_json: bool,
) -> None:
    """Diff SNAPSHOT against the engine's state; record the checkpoint; exit 0 only if CLEAN."""
    try:
        config = load_config(config_dir, engine=engine_id, env=env)
    except ConfigError as exc:
        fail(str(exc), ExitCode.BAD_INPUT)
    try:
        snapshot = load_snapshot(snapshot_path)
    except SnapshotLoadError as exc:
        details = {f"problem {i}": str(p) for i, p in enumerate(exc.problems, start=1)}
        fail(f"bad snapshot file {exc.path}", ExitCode.BAD_INPUT, details)
    reconcile_config = ReconcileConfig(require_protective_stop=config.risk.require_protective_stop)
    with open_database() as (_url, db):
        try:
            outcome = check_engine(
                db, config.engine_id, snapshot, config=reconcile_config, now=now_utc(ctx)
            )
        except DbError as exc:
            refuse(exc, as_json)
        except ReconcileInputError as exc:
            fail(str(exc), ExitCode.BAD_INPUT)
    if outcome.refusal is not None:
        refusal = outcome.refusal
        if as_json:
            print_json(refusal.summary())
        fail(refusal.decision.message, ExitCode.REFUSED, {"reason_code": refusal.reason_code})
    result, checkpoint = outcome.result, outcome.checkpoint
    if result is None or checkpoint is None:
        fail("the reconcile produced no result", ExitCode.BAD_INPUT)
    run_id = outcome.run.run_id if outcome.run is not None else None
    if as_json:
        print_json({**result.summary(), "checkpoint_id": checkpoint.id, "run_id": run_id})
    else:
        rows = [
            [
                d.severity.value,
                d.kind.value,
                d.symbol or "",
                d.ref or "",
                d.field or "",
                d.broker if d.broker is not None else "",
                d.internal if d.internal is not None else "",
            ]
            for d in result.diffs
        ]
        print_table(
            f"Reconcile {config.engine_id} @ {format_utc(result.captured_at)}",
            ["severity", "kind", "symbol", "ref", "field", "broker", "internal"],
            rows,
        )
        counts = result.summary()["counts"]
        out = console()
        out.print(
            f"result: {result.status.value} ({counts['CRITICAL']} critical, {counts['WARN']} "
            f"warn, {counts['INFO']} info); {result.orders_compared} orders and "
            f"{result.fills_compared} fills compared"
        )
        out.print(
            f"checkpoint {checkpoint.id} recorded for engine {config.engine_id}"
            + (f" (run {run_id})" if run_id is not None else " (no run yet: flat, no orders)")
            + f"; snapshot sha256 {result.snapshot_sha256}"
        )
        for repair in result.repairs:
            out.print(f"proposed repair: {canonical_json(repair.summary())}")
    if not result.clean:
        ctx.exit(int(ExitCode.REFUSED))
