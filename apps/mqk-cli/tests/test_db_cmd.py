"""``mqk-cli db migrate|status``: idempotent migration, refusal while LIVE is active."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from mqk_cli import cli
from mqk_db import (
    ArmingInputs,
    RunSpec,
    arm_run,
    create_run,
    head_revision,
    make_engine,
    record_reconcile,
)
from mqk_schemas import RunMode

REPO_ROOT = Path(__file__).resolve().parents[3]
T0 = datetime(2025, 3, 3, 14, 30, tzinfo=UTC)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "MQK_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "MQK_CONFIG_DIR": str(REPO_ROOT / "config"),
    }


def _run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env, obj={"clock": lambda: T0})
    return result.exit_code, result.stdout, result.stderr


def scenario_migrate_twice_then_status_reports_head(env: dict[str, str]) -> None:
    code, out, _ = _run(env, "db", "migrate", "--json")
    assert code == 0
    assert json.loads(out)["before"] is None
    assert json.loads(out)["after"] == head_revision()
    code, out, _ = _run(env, "db", "migrate")
    assert code == 0
    assert "nothing to do" in out
    code, out, _ = _run(env, "db", "status", "--json")
    status = json.loads(out)
    assert (code, status["revision"], status["up_to_date"], status["active_runs"]) == (
        0,
        head_revision(),
        True,
        [],
    )


def scenario_status_of_an_empty_database_says_to_migrate(env: dict[str, str]) -> None:
    code, out, _ = _run(env, "db", "status")
    assert code == 0
    assert "revision: none (empty)" in out
    assert "mqk-cli db migrate" in out


def contract_reading_commands_never_create_the_sqlite_file(
    env: dict[str, str], tmp_path: Path
) -> None:
    """Only `db migrate` creates the database: a status or a run list in a fresh folder must
    not leave a file behind that later backtests would start recording into."""
    database = tmp_path / "cli.db"
    code, out, _ = _run(env, "db", "status", "--json")
    status = json.loads(out)
    assert (code, status["revision"], status["up_to_date"]) == (0, None, False)
    code, _, err = _run(env, "run", "list")
    assert code == 2
    assert err == (
        f"error: no run database at sqlite:///{database} yet; run `mqk-cli db migrate` first\n"
    )
    assert not database.exists()


def scenario_migrate_refuses_while_a_live_run_is_active_unless_yes(
    env: dict[str, str],
) -> None:
    assert _run(env, "db", "migrate")[0] == 0
    engine = make_engine(env["MQK_DATABASE_URL"])
    try:
        record_reconcile(
            engine, engine_id="MAIN", captured_at=T0, result="CLEAN", diff_summary={}, now=T0
        )
        run = create_run(
            engine,
            RunSpec(
                engine_id="MAIN",
                mode=RunMode.LIVE,
                config_hash="a" * 64,
                config_json="{}",
                git_revision="g",
                host_fingerprint="h",
            ),
            now=T0,
        )
        inputs = ArmingInputs(
            config_hash="a" * 64,
            account_id="ACCT-0042",
            daily_loss_limit=Decimal("0.01"),
            kill_switches_enabled=True,
            reconcile_freshness=timedelta(seconds=60),
        )
        arm_run(engine, run.run_id, inputs, confirmation="ARM LIVE 0042 0.01", now=T0)
    finally:
        engine.dispose()
    code, out, err = _run(env, "db", "migrate")
    assert (code, out) == (1, "")
    assert "MIGRATION_REFUSED_LIVE_ACTIVE" in err
    assert str(run.run_id) in err
    code, out, _ = _run(env, "db", "status", "--json")
    assert [r["run_id"] for r in json.loads(out)["active_runs"]] == [str(run.run_id)]
    assert _run(env, "db", "migrate", "--yes")[0] == 0


@pytest.mark.parametrize("url", ["mysql://u@h/db", "::nonsense::"])
def fault_unsupported_database_url_is_bad_input(env: dict[str, str], url: str) -> None:
    code, out, err = _run({**env, "MQK_DATABASE_URL": url}, "db", "migrate")
    assert (code, out) == (2, "")
    assert err.startswith("error: database URL")
    assert "Traceback" not in err


@pytest.mark.parametrize("command", [["db", "migrate"], ["db", "status"], ["run", "list"]])
def fault_unreachable_database_is_reported_without_traceback(
    env: dict[str, str], command: list[str]
) -> None:
    code, out, err = _run({**env, "MQK_DATABASE_URL": "sqlite:////dev/null/x/mqk.db"}, *command)
    assert (code, out) == (2, "")
    assert "is unavailable" in err
    assert "DB_UNAVAILABLE" in err
    assert "Traceback" not in err
