"""``mqk-cli run paper``: a paper session end to end; exit 0 done, 1 halted/refused, 2 bad input."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mqk_cli import cli
from mqk_db import list_runs, make_engine
from mqk_integrity import synth_bars, write_bars
from mqk_schemas import RunStatus, Timeframe

REPO_ROOT = Path(__file__).resolve().parents[3]
CONFIG_DIR = REPO_ROOT / "config"


class Terminal:
    """mqk-cli with the database and config in tmp_path (the database is NOT migrated first)."""

    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path
        self.url = f"sqlite:///{tmp_path / 'paper.db'}"
        self.config = tmp_path / "config"
        shutil.copytree(CONFIG_DIR, self.config)
        self.env = {"MQK_DATABASE_URL": self.url, "MQK_CONFIG_DIR": str(self.config)}
        self.bars = tmp_path / "AAPL.csv"
        frame = synth_bars(
            symbols=["AAPL"], timeframe=Timeframe.D1, start=date(2024, 1, 2), bars=120, seed=5
        )
        write_bars(frame, self.bars)

    def __call__(self, *args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(cli, list(args), env=self.env)
        return result.exit_code, result.stdout, result.stderr

    def paper(self, *extra: str) -> tuple[int, str, str]:
        return self("run", "paper", "--engine", "MAIN", "--bars", str(self.bars), *extra)

    def summary(self, *extra: str) -> dict[str, Any]:
        code, out, err = self.paper(*extra, "--json")
        assert code == 0, err
        result: dict[str, Any] = json.loads(out, parse_float=Decimal)
        return result

    def runs(self) -> list[Any]:
        engine = make_engine(self.url)
        try:
            return list_runs(engine)
        finally:
            engine.dispose()

    def set_risk(self, old: str, new: str) -> None:
        path = self.config / "risk" / "tier_a.yaml"
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def term(tmp_path: Path) -> Terminal:
    return Terminal(tmp_path)


def scenario_paper_run_migrates_runs_to_the_end_and_stops(term: Terminal) -> None:
    summary = term.summary()
    assert summary["status"] == "STOPPED"
    assert (summary["bars_done"], summary["bars_total"]) == (120, 120)
    assert summary["orders"] == summary["fills"] == 9
    assert summary["halts"] == []
    assert summary["final_equity"] == 98966
    [run] = term.runs()
    assert (run.status, run.mode, run.shadow) == (RunStatus.STOPPED, "PAPER", False)


def scenario_paper_run_prints_a_summary_table(term: Terminal) -> None:
    code, out, _ = term.paper()
    assert code == 0
    for field in ("run_id", "orders", "fills", "final equity", "halts", "bars"):
        assert field in out
    assert "120/120 (120 this session)" in out


def scenario_shadow_records_intents_and_sends_nothing(term: Terminal) -> None:
    summary = term.summary("--shadow")
    assert summary["shadow"] is True
    assert (summary["orders"], summary["fills"]) == (0, 0)
    assert summary["shadow_intents"] == 9
    assert summary["final_equity"] == 100000


def scenario_a_kill_switch_halt_exits_1_with_the_reason(term: Terminal) -> None:
    term.set_risk("max_drawdown: 0.10", "max_drawdown: 0.001")
    code, out, err = term.paper("--json")
    summary = json.loads(out, parse_float=Decimal)
    assert code == 1, err
    assert summary["status"] == "STOPPED"
    assert summary["halt_reason"].startswith("KILL_SWITCH_MAX_DRAWDOWN")
    assert [h["reason_code"] for h in summary["halts"]][:1] == ["KILL_SWITCH_MAX_DRAWDOWN"]
    assert summary["positions"] == {}


def scenario_killed_process_resumes_from_the_cli_to_the_same_result(term: Terminal) -> None:
    expected = Terminal(term.dir / "baseline").summary()
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "from mqk_cli import cli; cli()",
            "run",
            "paper",
            "--engine",
            "MAIN",
            "--bars",
            str(term.bars),
        ],
        env={**_os_env(), **term.env, "MQK_FAILPOINT": "after_outbox_commit:4"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    [run] = term.runs()
    assert run.status is RunStatus.RUNNING
    summary = term.summary("--resume", str(run.run_id))
    assert summary["resumed"] is True
    assert summary["status"] == "STOPPED"
    for key in ("orders", "fills", "cash", "final_equity", "positions"):
        assert summary[key] == expected[key]


def unit_resuming_a_stopped_run_is_refused_with_exit_1(term: Terminal) -> None:
    run_id = term.summary()["run_id"]
    code, out, err = term.paper("--resume", run_id)
    assert (code, out) == (1, "")
    assert "is STOPPED; a new session is a new run" in err


def unit_resuming_an_unknown_run_exits_2(term: Terminal) -> None:
    code, _, err = term.paper("--resume", str(uuid.uuid4()))
    assert code == 2
    assert "does not exist" in err


def unit_a_bad_bar_file_exits_2_and_creates_no_run(term: Terminal) -> None:
    term.bars.write_text("ts_close_utc,open,high,low,close,volume\nnot-a-time,1,1,1,1,1\n")
    code, out, err = term.paper()
    assert (code, out) == (2, "")
    assert str(term.bars) in err
    assert not (term.dir / "paper.db").exists() or term.runs() == []


def scenario_a_gap_in_the_bars_halts_the_run_and_exits_1(term: Terminal) -> None:
    lines = term.bars.read_text(encoding="utf-8").splitlines(keepends=True)
    term.bars.write_text("".join(lines[:30] + lines[31:]), encoding="utf-8")
    code, out, _ = term.paper("--json")
    summary = json.loads(out, parse_float=Decimal)
    assert code == 1
    assert summary["halt_reason"].startswith("GAP_DETECTED: AAPL: 1 session bar(s) missing")
    assert [h["reason_code"] for h in summary["halts"]] == ["GAP_DETECTED"]
    assert summary["bars_done"] == 119


def _os_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "MQK_FAILPOINT"}
