"""``mqk-cli db``: migrate the database and show its state.

The database is ``$MQK_DATABASE_URL`` or the embedded SQLite file ``./.mqk/mqk.db``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click

from mqk_cli.exit_codes import ExitCode
from mqk_cli.output import fail, print_json, print_table
from mqk_db import (
    ArmState,
    DbError,
    DbInputError,
    Engine,
    PreflightFailed,
    RunNotFound,
    RunRecord,
    SafetyRefusalError,
    current_revision,
    database_url,
    get_arm_state,
    head_revision,
    list_runs,
    make_engine,
    migrate,
    redact_url,
    sqlite_file,
)
from mqk_schemas import RunStatus, canonical_json

__all__ = ["group", "open_database", "refuse"]


def _url() -> str:
    try:
        return database_url(os.environ, Path.cwd())
    except DbInputError as exc:
        fail(exc.message, ExitCode.BAD_INPUT)


def _not_created_yet(url: str) -> bool:
    """True for an SQLite database whose file does not exist yet but could be created there
    (connecting would create it); an unusable path is left to the connection to report."""
    try:
        path = sqlite_file(url)
    except DbInputError as exc:
        fail(exc.message, ExitCode.BAD_INPUT)
    if path is None or path.exists():
        return False
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    return folder.is_dir()


@contextmanager
def open_database(*, require_schema: bool = True) -> Iterator[tuple[str, Engine]]:
    """The configured database; exits 2 if it is unreachable or (by default) not migrated.
    An SQLite file that does not exist yet is not created here (only `db migrate` does)."""
    url = _url()
    if require_schema and _not_created_yet(url):
        fail(
            f"no run database at {redact_url(url)} yet; run `mqk-cli db migrate` first",
            ExitCode.BAD_INPUT,
        )
    try:
        engine = make_engine(url)
    except DbError as exc:
        refuse(exc, as_json=False)
    try:
        if require_schema:
            try:
                revision = current_revision(engine)
            except DbError as exc:
                refuse(exc, as_json=False)
            if revision != head_revision():
                fail(
                    f"database {redact_url(url)} is at revision {revision or 'none'}, not "
                    f"{head_revision()}; run `mqk-cli db migrate` first",
                    ExitCode.BAD_INPUT,
                )
        yield url, engine
    finally:
        engine.dispose()


def refuse(exc: DbError, as_json: bool) -> NoReturn:
    """Report a refusal or bad input from mqk_db and exit 1 (safety rule) or 2 (input)."""
    code = ExitCode.REFUSED if isinstance(exc, SafetyRefusalError) else ExitCode.BAD_INPUT
    if isinstance(exc, RunNotFound):
        code = ExitCode.BAD_INPUT
    failures = exc.failures if isinstance(exc, PreflightFailed) else ()
    if as_json:
        click.echo(
            canonical_json(
                {
                    "error": exc.reason_code,
                    "message": exc.message,
                    "evidence": exc.evidence,
                    "failures": [d.model_dump(mode="json") for d in failures],
                }
            )
        )
    details: dict[str, Any] = {"reason_code": exc.reason_code}
    for number, decision in enumerate(failures, start=1):
        details[f"check {number}"] = f"{decision.reason_code}: {decision.message}"
    fail(exc.message, code, details)


@click.group(name="db")
def group() -> None:
    """Migrate and inspect the run database ($MQK_DATABASE_URL or ./.mqk/mqk.db)."""


@group.command(name="migrate")
@click.option("--yes", is_flag=True, help="Migrate even while a LIVE run is ARMED or RUNNING.")
@click.option("--json", "as_json", is_flag=True, help="Print canonical JSON on one line.")
def migrate_cmd(yes: bool, as_json: bool) -> None:
    """Upgrade the database schema to the newest revision (idempotent)."""
    url = _url()
    try:
        report = migrate(url, allow_with_live_runs=yes)
    except DbError as exc:
        refuse(exc, as_json)
    if as_json:
        print_json({"database": redact_url(url), "before": report.before, "after": report.after})
    elif report.changed:
        click.echo(f"migrated {redact_url(url)}: {report.before or 'empty'} -> {report.after}")
    else:
        click.echo(f"{redact_url(url)} is already at {report.after}; nothing to do")


@group.command(name="status")
@click.option("--json", "as_json", is_flag=True, help="Print canonical JSON on one line.")
def status_cmd(as_json: bool) -> None:
    """Show the schema revision, the active runs and the engines' arm switches."""
    url = _url()
    if _not_created_yet(url):  # report it as empty without creating the file
        _print_status(url, None, [], [], as_json)
        return
    with open_database(require_schema=False) as (url, engine):
        try:
            revision = current_revision(engine)
        except DbError as exc:
            refuse(exc, as_json)
        active = (
            list_runs(engine, statuses=[RunStatus.ARMED, RunStatus.RUNNING])
            if revision == head_revision()
            else []
        )
        arms = [get_arm_state(engine, e) for e in sorted({r.engine_id for r in active})]
    _print_status(url, revision, active, arms, as_json)


def _print_status(
    url: str,
    revision: str | None,
    active: list[RunRecord],
    arms: list[ArmState | None],
    as_json: bool,
) -> None:
    head = head_revision()
    if as_json:
        print_json(
            {
                "database": redact_url(url),
                "revision": revision,
                "head": head,
                "up_to_date": revision == head,
                "active_runs": [r.summary() for r in active],
                "arm_states": [dataclasses.asdict(a) for a in arms if a is not None],
            }
        )
        return
    click.echo(f"database: {redact_url(url)}")
    click.echo(f"revision: {revision or 'none (empty)'} (head {head})")
    if revision != head:
        click.echo("schema is not up to date: run `mqk-cli db migrate`")
    print_table(
        "Active runs",
        ["run_id", "engine", "mode", "status"],
        [[r.run_id, r.engine_id, r.mode, r.status] for r in active],
    )
    for arm in arms:
        if arm is not None:
            click.echo(f"engine {arm.engine_id}: {arm.state} ({arm.reason})")
