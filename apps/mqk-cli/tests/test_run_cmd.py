"""``mqk-cli run ...``: the lifecycle from the terminal, exit 0 ok / 1 refused / 2 bad input."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mqk_cli import cli
from mqk_config import load_config
from mqk_db import make_engine, record_reconcile

REPO_ROOT = Path(__file__).resolve().parents[3]
CONFIG_DIR = REPO_ROOT / "config"
T0 = datetime(2025, 3, 3, 14, 30, tzinfo=UTC)


class Terminal:
    """Runs mqk-cli against one SQLite file, with a clock the test moves."""

    def __init__(self, tmp_path: Path) -> None:
        self.url = f"sqlite:///{tmp_path / 'cli.db'}"
        self.env = {"MQK_DATABASE_URL": self.url, "MQK_CONFIG_DIR": str(CONFIG_DIR)}
        self.now = T0

    def __call__(self, *args: str) -> tuple[int, str, str]:
        clock: Callable[[], datetime] = lambda: self.now  # noqa: E731
        result = CliRunner().invoke(cli, list(args), env=self.env, obj={"clock": clock})
        return result.exit_code, result.stdout, result.stderr

    def json(self, *args: str) -> Any:
        code, out, err = self(*args, "--json")
        assert code == 0, err
        return json.loads(out)

    def reconcile(self, result: str = "CLEAN") -> None:
        engine = make_engine(self.url)
        try:
            record_reconcile(
                engine,
                engine_id="MAIN",
                captured_at=self.now,
                result=result,
                diff_summary={},
                now=self.now,
            )
        finally:
            engine.dispose()


@pytest.fixture
def term(tmp_path: Path) -> Terminal:
    terminal = Terminal(tmp_path)
    assert terminal("db", "migrate")[0] == 0
    return terminal


def _phrase() -> str:
    config = load_config(CONFIG_DIR, engine="MAIN", env="dev")
    return f"ARM LIVE {config.broker.account_id[-4:]} {config.risk.daily_loss_limit}"


def scenario_paper_run_goes_created_armed_running_stopped(term: Terminal) -> None:
    created = term.json("run", "create", "--engine", "MAIN", "--mode", "PAPER")
    config = load_config(CONFIG_DIR, engine="MAIN", env="dev")
    assert (created["status"], created["mode"]) == ("CREATED", "PAPER")
    assert created["config_hash"] == config.config_hash
    run_id = created["run_id"]
    assert term.json("run", "arm", run_id)["status"] == "ARMED"
    assert term.json("run", "begin", run_id)["status"] == "RUNNING"
    term.now = T0 + timedelta(seconds=5)
    beat = term.json("run", "heartbeat", run_id)
    assert beat["last_heartbeat_at"] == "2025-03-03T14:30:05Z"
    assert term.json("run", "stop", run_id)["status"] == "STOPPED"
    assert [r["status"] for r in term.json("run", "list")] == ["STOPPED"]
    assert term.json("run", "status") == []
    code, out, _ = term("run", "status", run_id)
    assert code == 0
    assert "STOPPED" in out


def scenario_live_arm_lists_every_failed_check_then_arms_with_phrase(term: Terminal) -> None:
    run_id = term.json("run", "create", "--engine", "MAIN", "--mode", "LIVE")["run_id"]
    code, out, err = term("run", "arm", run_id)
    assert (code, out) == (1, "")
    assert "check 1: RECONCILE_MISSING" in err
    assert "check 2: ARM_PHRASE_MISSING" in err
    term.reconcile()
    code, out, _ = term("run", "arm", run_id, "--confirm", "ARM LIVE 0000 0.02", "--json")
    refusal = json.loads(out)
    assert code == 1
    assert [f["reason_code"] for f in refusal["failures"]] == ["ARM_PHRASE_MISMATCH"]
    armed = term.json("run", "arm", run_id, "--confirm", _phrase())
    assert armed["status"] == "ARMED"


def scenario_second_live_arm_is_refused_naming_the_active_run(term: Terminal) -> None:
    term.reconcile()
    first = term.json("run", "create", "--engine", "MAIN", "--mode", "LIVE")["run_id"]
    second = term.json("run", "create", "--engine", "MAIN", "--mode", "LIVE")["run_id"]
    term.json("run", "arm", first, "--confirm", _phrase())
    code, _, err = term("run", "arm", second, "--confirm", _phrase())
    assert code == 1
    assert "LIVE_RUN_ALREADY_ACTIVE" in err
    assert first in err


def scenario_stale_run_is_reported_then_halted_by_check_health(term: Terminal) -> None:
    run_id = term.json("run", "create", "--engine", "MAIN", "--mode", "PAPER")["run_id"]
    term.json("run", "arm", run_id)
    term.json("run", "begin", run_id)
    stale_after = load_config(CONFIG_DIR, engine="MAIN", env="dev").runtime
    term.now = T0 + timedelta(seconds=stale_after.heartbeat_stale_seconds)
    assert term("run", "check-health")[0] == 0
    term.now = T0 + timedelta(seconds=stale_after.heartbeat_stale_seconds + 1)
    code, out, _ = term("run", "check-health", "--json")
    report = json.loads(out)
    assert code == 1
    assert [r["run_id"] for r in report["stale"]] == [run_id]
    assert report["halted"] == []
    code, out, _ = term("run", "check-health", "--halt-stale", "--json")
    report = json.loads(out)
    assert code == 0
    assert [(r["run_id"], r["status"]) for r in report["halted"]] == [(run_id, "HALTED")]
    assert report["halted"][0]["halt_reason"].startswith("HEARTBEAT_STALE")
    assert term.json("run", "stop", run_id)["status"] == "STOPPED"


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["run", "stop", "{id}"], 1, "RUN_ILLEGAL_TRANSITION"),
        (["run", "begin", "{id}"], 1, "RUN_ILLEGAL_TRANSITION"),
        (["run", "heartbeat", "{id}"], 1, "RUN_ILLEGAL_TRANSITION"),
        (["run", "halt", "{id}", "--reason", "x"], 1, "RUN_ILLEGAL_TRANSITION"),
        (["run", "halt", "{id}", "--reason", "  "], 2, "non-empty reason"),
        (["run", "halt", "{id}"], 2, "--reason"),
        (["run", "stop", str(uuid.UUID(int=5))], 2, "RUN_NOT_FOUND"),
        (["run", "stop", "not-a-uuid"], 2, "not a valid UUID"),
        (["run", "create", "--engine", "MAIN", "--mode", "SIDEWAYS"], 2, "SIDEWAYS"),
        (["run", "create", "--engine", "NOPE", "--mode", "PAPER"], 2, "NOPE"),
    ],
)
def fault_refusals_and_bad_input_exit_1_or_2_without_traceback(
    term: Terminal, args: list[str], code: int, needle: str
) -> None:
    run_id = term.json("run", "create", "--engine", "MAIN", "--mode", "PAPER")["run_id"]
    got, out, err = term(*(a.replace("{id}", run_id) for a in args))
    assert (got, out) == (code, "")
    assert needle in err
    assert "Traceback" not in err
    assert term.json("run", "status", run_id)["status"] == "CREATED"


def fault_run_commands_on_an_unmigrated_database_say_to_migrate(tmp_path: Path) -> None:
    terminal = Terminal(tmp_path)
    code, out, err = terminal("run", "list")
    assert (code, out) == (2, "")
    assert "mqk-cli db migrate" in err
