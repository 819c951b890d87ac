"""``mqk-cli reconcile check``: exit 0 CLEAN, 1 WARN/CRITICAL or refused, 2 bad snapshot."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mqk_cli import cli
from mqk_config import load_config
from mqk_db import latest_reconcile, make_engine
from mqk_integrity import synth_bars, write_bars
from mqk_runtime import EngineComponents, PaperBroker, PaperJournal
from mqk_schemas import Account, BrokerSnapshot, Position, Timeframe

REPO_ROOT = Path(__file__).resolve().parents[3]
CONFIG_DIR = REPO_ROOT / "config"
EXAMPLES = REPO_ROOT / "packages" / "mqk-reconcile" / "tests" / "data"
NOW = datetime(2025, 3, 3, 14, 30, tzinfo=UTC)


class Terminal:
    """mqk-cli against one SQLite file in tmp_path."""

    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path
        self.url = f"sqlite:///{tmp_path / 'cli.db'}"
        self.env = {"MQK_DATABASE_URL": self.url, "MQK_CONFIG_DIR": str(CONFIG_DIR)}

    def __call__(self, *args: str) -> tuple[int, str, str]:
        clock: Callable[[], datetime] = lambda: NOW  # noqa: E731
        result = CliRunner().invoke(cli, list(args), env=self.env, obj={"clock": clock})
        return result.exit_code, result.stdout, result.stderr

    def check(self, snapshot: Path, *extra: str) -> tuple[int, str, str]:
        return self("reconcile", "check", "--engine", "MAIN", "--snapshot", str(snapshot), *extra)

    def checkpoints(self) -> Any:
        engine = make_engine(self.url)
        try:
            return latest_reconcile(engine, "MAIN")
        finally:
            engine.dispose()


@pytest.fixture
def term(tmp_path: Path) -> Terminal:
    terminal = Terminal(tmp_path)
    assert terminal("db", "migrate")[0] == 0
    return terminal


def _snapshot(path: Path, captured_at: datetime, **fields: Any) -> Path:
    cash = Decimal(100000)
    snapshot = BrokerSnapshot(
        captured_at=captured_at,
        account=Account(account_id="PA-0000-1234", cash=cash, equity=cash, buying_power=cash),
        **fields,
    )
    path.write_text(snapshot.model_dump_json(indent=2), encoding="utf-8")
    return path


def scenario_flat_engine_without_runs_is_clean_against_a_flat_account(term: Terminal) -> None:
    snapshot = _snapshot(term.dir / "flat.json", NOW - timedelta(minutes=1))
    code, out, err = term.check(snapshot)
    assert (code, err) == (0, "")
    assert "result: CLEAN (0 critical, 0 warn, 0 info)" in out
    assert "(no run yet: flat, no orders)" in out
    checkpoint = term.checkpoints()
    assert checkpoint.result == "CLEAN"
    assert checkpoint.captured_at == NOW - timedelta(minutes=1)
    assert checkpoint.diff_summary["snapshot_sha256"] in out


def scenario_unknown_orders_and_positions_are_critical_and_exit_1(term: Terminal) -> None:
    code, out, _ = term.check(EXAMPLES / "clean_snapshot.json", "--json")
    result = json.loads(out)
    assert code == 1
    assert result["status"] == "CRITICAL"
    assert result["run_id"] is None
    kinds = sorted({d["kind"] for d in result["diffs"]})
    assert kinds == ["FILL_NOT_APPLIED", "POSITION_MISMATCH", "UNKNOWN_BROKER_ORDER"]
    assert sorted(result["ignored_client_order_ids"]) == [
        "EXP_123456781234_00000001",
        "manual-7f3a",
    ]
    checkpoint = term.checkpoints()
    assert (checkpoint.id, checkpoint.result) == (result["checkpoint_id"], "CRITICAL")
    assert checkpoint.diff_summary["snapshot_sha256"] == result["snapshot_sha256"]


def scenario_table_lists_every_diff(term: Terminal) -> None:
    code, out, _ = term.check(EXAMPLES / "clean_snapshot.json")
    assert code == 1
    assert out.count("CRITICAL") >= 4
    assert "result: CRITICAL (4 critical, 2 warn, 0 info)" in out
    assert "proposed repair:" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"captured_at": "2025-03-03T14:00:00Z"}', "account: required field is missing"),
        (
            '{"captured_at": "2025-03-03T14:00:00Z", "account": {"account_id": "A", '
            '"cash": 1.5, "equity": "1", "buying_power": "1"}}',
            "account.cash: JSON number 1.5 is a float",
        ),
        ("not json", "invalid JSON"),
    ],
)
def unit_bad_snapshot_exits_2_naming_the_field_and_records_nothing(
    term: Terminal, content: str, message: str
) -> None:
    path = term.dir / "bad.json"
    path.write_text(content, encoding="utf-8")
    code, out, err = term.check(path)
    assert (code, out) == (2, "")
    assert "bad snapshot file" in err
    assert message in err
    assert term.checkpoints() is None


def unit_missing_snapshot_file_exits_2(term: Terminal) -> None:
    code, _, err = term.check(term.dir / "nowhere.json")
    assert code == 2
    assert "cannot read" in err


def unit_a_snapshot_older_than_the_last_one_used_is_refused(term: Terminal) -> None:
    assert term.check(_snapshot(term.dir / "new.json", NOW))[0] == 0
    code, _, err = term.check(_snapshot(term.dir / "old.json", NOW - timedelta(hours=1)))
    assert code == 1
    assert "SNAPSHOT_NOT_MONOTONIC" in err
    assert term.checkpoints().captured_at == NOW


def scenario_after_a_paper_run_the_brokers_own_snapshot_is_clean(
    term: Terminal, tmp_path: Path
) -> None:
    bars = tmp_path / "AAPL.csv"
    frame = synth_bars(
        symbols=["AAPL"], timeframe=Timeframe.D1, start=datetime(2024, 1, 2).date(), bars=80, seed=5
    )
    write_bars(frame, bars)
    code, out, err = term("run", "paper", "--engine", "MAIN", "--bars", str(bars), "--json")
    assert code == 0, err
    run_id = json.loads(out)["run_id"]
    engine = make_engine(term.url)
    try:
        components = EngineComponents.from_config(load_config(CONFIG_DIR, engine="MAIN"))
        later = frame.row(len(frame) - 1).ts_close_utc + timedelta(hours=1)
        broker = PaperBroker(
            components.execution,
            journal=PaperJournal(engine, uuid.UUID(run_id)),
            clock=lambda: later,
            account_id=components.account_id,
            starting_cash=components.starting_cash,
        )
        truth = broker.snapshot()
    finally:
        engine.dispose()
    assert truth.fills
    good = tmp_path / "broker.json"
    good.write_text(truth.model_dump_json(), encoding="utf-8")
    code, out, _ = term.check(good, "--json")
    assert code == 0
    assert json.loads(out)["run_id"] == run_id
    drifted = truth.model_copy(
        update={
            "captured_at": later + timedelta(minutes=1),
            "positions": (Position(symbol="AAPL", quantity=Decimal(7)),),
        }
    )
    bad = tmp_path / "drifted.json"
    bad.write_text(drifted.model_dump_json(), encoding="utf-8")
    code, out, _ = term.check(bad, "--json")
    assert code == 1
    assert [d["kind"] for d in json.loads(out)["diffs"]] == ["POSITION_MISMATCH"]


def unit_unknown_engine_exits_2(term: Terminal, tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "clean_snapshot.json", tmp_path / "s.json")
    snapshot = str(tmp_path / "s.json")
    code, _, err = term("reconcile", "check", "--engine", "NOPE", "--snapshot", snapshot)
    assert code == 2
    assert "NOPE" in err


def fault_a_replayed_paper_run_is_the_engines_latest_run_for_reconcile(term: Terminal) -> None:
    """A paper run replaying 2024 bars, created after an idle run, is the one reconciled.

    Its lifecycle times are wall-clock (NOW), not bar times, so a flat broker snapshot must
    not look CLEAN against the older empty run while the paper run holds a position.
    """
    earlier: Callable[[], datetime] = lambda: NOW - timedelta(hours=1)  # noqa: E731
    create = ["run", "create", "--engine", "MAIN", "--mode", "PAPER"]
    assert CliRunner().invoke(cli, create, env=term.env, obj={"clock": earlier}).exit_code == 0
    bars = term.dir / "AAPL.csv"
    frame = synth_bars(
        symbols=["AAPL"], timeframe=Timeframe.D1, start=date(2024, 1, 2), bars=120, seed=5
    )
    write_bars(frame, bars)
    code, out, err = term("run", "paper", "--engine", "MAIN", "--bars", str(bars), "--json")
    assert code == 0, err
    paper = json.loads(out)
    assert paper["positions"] != {}
    snapshot = _snapshot(term.dir / "flat.json", NOW + timedelta(minutes=1))
    code, out, _ = term.check(snapshot, "--json")
    result = json.loads(out)
    assert code == 1
    assert result["run_id"] == paper["run_id"]
    assert any(d["kind"] == "POSITION_MISMATCH" for d in result["diffs"])
