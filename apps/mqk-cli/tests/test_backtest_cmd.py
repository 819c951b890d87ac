"""``mqk-cli backtest run|replay|stress|show``: exit 0 ok, 1 refused/not proven, 2 bad input.

Bars are the first 80 daily bars of the shipped AAPL sample (XNYS closes), traded by MAIN's
``sma_cross`` with short windows so the run trades.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mqk_cli.commands.backtest import group

REPO_ROOT = Path(__file__).resolve().parents[3]
CONFIG_DIR = REPO_ROOT / "config"
SAMPLE = REPO_ROOT / "examples" / "data" / "AAPL_1d.csv"
ARTIFACTS = (
    "manifest.json",
    "audit.jsonl",
    "orders.csv",
    "fills.csv",
    "equity_curve.csv",
    "metrics.json",
    "report.html",
)
FAST = ("--param", "fast=3", "--param", "slow=8")


def _invoke(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(group, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def _common(bars: Path, *extra: str | Path) -> list[str | Path]:
    return ["--engine", "MAIN", "--bars", bars, "--config-dir", CONFIG_DIR, *extra]


@pytest.fixture
def bars(tmp_path: Path) -> Path:
    """80 bars of the AAPL sample in a file of their own."""
    lines = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)[:81]
    path = tmp_path / "AAPL_1d.csv"
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.fixture
def run_dir(tmp_path: Path, bars: Path) -> Path:
    """A finished run's directory."""
    out = tmp_path / "run"
    code, _, err = _invoke("run", *_common(bars, *FAST, "--out", out))
    assert (code, err) == (0, "")
    return out


def _run_json(bars: Path, tmp_path: Path, *extra: str) -> dict[str, Any]:
    code, out, err = _invoke("run", *_common(bars, *extra, "--out", tmp_path / "j", "--json"))
    assert (code, err) == (0, "")
    return json.loads(out)  # type: ignore[no-any-return]


# -- run ------------------------------------------------------------------------------------


def scenario_run_writes_every_artifact_and_prints_the_hashes(tmp_path: Path, bars: Path) -> None:
    out = tmp_path / "run"
    code, stdout, stderr = _invoke("run", *_common(bars, *FAST, "--out", out))

    assert (code, stderr) == (0, "")
    assert sorted(p.name for p in out.iterdir()) == sorted(ARTIFACTS)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert f"event stream hash  {manifest['event_stream_hash']}" in stdout
    assert f"config hash        {manifest['config_hash']}" in stdout
    assert f"data hash          {manifest['data']['sha256']}" in stdout
    assert manifest["data"]["bars"] == 80
    assert manifest["config"]["engine"]["strategies"][0]["params"]["fast"] == 3


def contract_piped_output_starts_with_the_table_and_a_folder_is_not_a_bar_file(
    tmp_path: Path, bars: Path
) -> None:
    """No progress bar (and none of the blank line it leaves) when stdout is not a terminal;
    --bars naming a folder says so."""
    code, stdout, stderr = _invoke("run", *_common(bars, *FAST, "--out", tmp_path / "run"))
    assert (code, stderr) == (0, "")
    assert stdout.startswith("Backtest MAIN ")
    code, stdout, stderr = _invoke("run", *_common(tmp_path, "--out", tmp_path / "r2"))
    assert (code, stdout) == (2, "")
    assert stderr == f"error: {tmp_path} is a folder; --bars takes one bar file (CSV or Parquet)\n"


def contract_money_in_the_metrics_tables_is_shown_in_the_account_currency(
    tmp_path: Path, bars: Path
) -> None:
    out = tmp_path / "run"
    code, ran, _ = _invoke("run", *_common(bars, *FAST, "--out", out))
    _, shown, _ = _invoke("show", out)
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))

    assert code == 0
    for table in (ran, shown):
        assert f"│ final_equity              │ {metrics['final_equity']} USD" in table
        assert f"│ costs_paid                │ {metrics['costs_paid']} USD" in table
        assert (
            f"│ trades                    │ {metrics['trades']} " in table
        )  # a count: no currency


def contract_run_json_parses_and_names_the_run(tmp_path: Path, bars: Path) -> None:
    report = _run_json(bars, tmp_path, *FAST)

    manifest = json.loads((tmp_path / "j" / "manifest.json").read_text(encoding="utf-8"))
    assert report["run_id"] == manifest["run_id"]
    assert report["event_stream_hash"] == manifest["event_stream_hash"]
    assert report["run_dir"] == str(tmp_path / "j")
    assert report["trades"] >= 1
    assert report["fills"] == len(
        (tmp_path / "j" / "fills.csv").read_text(encoding="utf-8").splitlines()[1:]
    )


def contract_no_costs_gives_zero_costs_paid(tmp_path: Path, bars: Path) -> None:
    with_costs = _run_json(bars, tmp_path, *FAST)
    without = _run_json(bars, tmp_path, *FAST, "--no-costs")

    assert with_costs["fills"] == without["fills"] >= 2
    assert with_costs["costs_paid"] > 0
    assert without["costs_paid"] == 0
    fees = [line.split(",")[6] for line in (tmp_path / "j" / "fills.csv").read_text().splitlines()]
    assert fees[0] == "fee"
    assert set(fees[1:]) == {"0"}


def _bad_ohlc(bars: Path) -> Path:
    lines = bars.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[3] = "AAPL,2022-01-05T21:00:00Z,96.27,90.00,94.36,95.47,1278243\n"  # high < open
    bad = bars.with_name("bad_bars.csv")
    bad.write_text("".join(lines), encoding="utf-8")
    return bad


BAD_INPUT = [
    pytest.param("bad_bars", [], "bad_bars.csv row 3 column high", id="bad-bars-file"),
    pytest.param("missing", [], "nowhere.csv not found", id="missing-bars-file"),
    pytest.param("ok", ["--strategy", "nope"], "no strategy named 'nope'", id="unknown-strategy"),
    pytest.param("ok", ["--param", "fast"], "--param 'fast' must look like", id="param-no-value"),
    pytest.param("ok", ["--param", "fast=abc"], "parameter 'fast'", id="param-not-an-int"),
    pytest.param("ok", ["--param", "bogus=3"], "unknown parameter 'bogus'", id="param-unknown"),
    pytest.param("ok", ["--param", "fast=30"], "fast (30) must be < slow", id="param-rule"),
    pytest.param("ok", ["--cash", "lots"], "--cash 'lots'", id="cash-not-decimal"),
    pytest.param(
        "ok",
        ["--calendar", "24/7"],  # XNYS closes (21:00Z) are no 24/7 daily closes (00:00Z)
        "80 of 80 bars (100.0%) do not close on a 1d bar close of 24/7",
        id="bars-of-another-calendar",
    ),
]


@pytest.mark.parametrize(("which", "extra", "message"), BAD_INPUT)
def contract_bad_input_exits_2_with_a_message_and_no_traceback(
    tmp_path: Path, bars: Path, which: str, extra: list[str], message: str
) -> None:
    path = {"bad_bars": _bad_ohlc(bars), "missing": tmp_path / "nowhere.csv", "ok": bars}[which]
    out = tmp_path / "out"
    result = CliRunner().invoke(
        group, [str(a) for a in ["run", *_common(path, *extra, "--out", out)]]
    )

    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()  # bad input changes nothing


# -- replay ---------------------------------------------------------------------------------


def scenario_replay_proves_a_run(run_dir: Path) -> None:
    code, out, err = _invoke("replay", run_dir)
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))

    assert (code, err) == (0, "")
    assert out == f"replay proven: event stream hash {manifest['event_stream_hash']}\n"
    code, out, _ = _invoke("replay", run_dir, "--json")
    verdict = json.loads(out)
    assert (code, verdict["proven"], verdict["first_divergence"]) == (0, True, None)
    assert verdict["replayed_hash"] == verdict["recorded_hash"] == manifest["event_stream_hash"]


def _change_data_byte(run_dir: Path) -> None:
    data = Path(json.loads((run_dir / "manifest.json").read_text())["data"]["files"][0])
    text = data.read_text(encoding="utf-8")
    data.write_text(text.replace(",917434\n", ",917435\n", 1), encoding="utf-8")  # row 1 volume


def _tamper_audit(run_dir: Path) -> None:
    audit = run_dir / "audit.jsonl"
    lines = audit.read_text(encoding="utf-8").splitlines(keepends=True)
    assert '"BUY"' in lines[1]
    lines[1] = lines[1].replace('"BUY"', '"SELL"', 1)
    audit.write_text("".join(lines), encoding="utf-8")


def _edit_manifest(old: str, new: str) -> Any:
    def edit(run_dir: Path) -> None:
        path = run_dir / "manifest.json"
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return edit


def _edit_recorded_hash(run_dir: Path) -> None:
    recorded = json.loads((run_dir / "manifest.json").read_text())["event_stream_hash"]
    _edit_manifest(recorded, "0" * 64)(run_dir)


TAMPERING = [
    pytest.param(_change_data_byte, "DATA_CHANGED", id="data-file-one-byte"),
    pytest.param(_tamper_audit, "audit.jsonl", id="audit-line-edited"),
    pytest.param(_edit_recorded_hash, "EVENT_STREAM", id="manifest-hash-edited"),
    pytest.param(_edit_manifest('\n  "seed": 42,', '\n  "seed": 43,'), "EVENT_STREAM", id="seed"),
    pytest.param(
        _edit_manifest('"max_drawdown": 0.1', '"max_drawdown": 0.5'), "config_hash", id="config"
    ),
]


@pytest.mark.parametrize(("tamper", "message"), TAMPERING)
def fault_replay_of_a_tampered_run_exits_1_and_says_what_changed(
    run_dir: Path, tamper: Any, message: str
) -> None:
    tamper(run_dir)
    code, out, err = _invoke("replay", run_dir)

    assert code == 1
    assert message in out + err
    assert "replay proven" not in out


def contract_replay_of_a_directory_without_a_run_exits_2(tmp_path: Path) -> None:
    code, _, err = _invoke("replay", tmp_path)
    assert code == 2
    assert f"{tmp_path / 'manifest.json'}: no manifest" in err


# -- stress ---------------------------------------------------------------------------------


def _stress(tmp_path: Path, bars: Path, *extra: str) -> tuple[int, str, str]:
    profiles = ("--stress", "slippage_x2", "--stress", "latency_high")
    return _invoke("stress", *_common(bars, *FAST, *profiles, "--out", tmp_path / "s", *extra))


def scenario_stress_prints_base_and_each_profile_side_by_side(tmp_path: Path, bars: Path) -> None:
    code, out, err = _stress(tmp_path, bars)

    assert (code, err) == (0, "")
    header = next(line for line in out.splitlines() if "metric" in line)
    assert [cell.strip() for cell in header.strip("┃ ").split("┃")] == [
        "metric",
        "base",
        "slippage_x2",
        "latency_high",
    ]
    for key in ("total_return", "max_drawdown", "sharpe", "trades", "costs_paid", "final_equity"):
        assert any(line.strip("│ ").startswith(key) for line in out.splitlines()), key
    assert len(list((tmp_path / "s").iterdir())) == 3  # one run directory per column


def contract_stress_json_compares_profiles_on_the_same_bars(tmp_path: Path, bars: Path) -> None:
    code, out, _ = _stress(tmp_path, bars, "--json")
    table = json.loads(out)

    assert code == 0
    assert sorted(table) == ["base", "latency_high", "slippage_x2"]
    assert len({row["config_hash"] for row in table.values()}) == 3
    assert table["base"]["bars"] == table["slippage_x2"]["bars"] == 80
    assert table["slippage_x2"]["fills"] == table["base"]["fills"]
    assert table["slippage_x2"]["final_equity"] < table["base"]["final_equity"]


def contract_stress_slippage_x2_costs_more_than_base(tmp_path: Path, bars: Path) -> None:
    """Doubling slippage must show up as costs paid, not only as a lower final equity."""
    code, out, _ = _stress(tmp_path, bars, "--json")
    table = json.loads(out)

    assert code == 0
    assert table["slippage_x2"]["costs_paid"] > table["base"]["costs_paid"]


def contract_stress_requires_a_profile_and_knows_them(tmp_path: Path, bars: Path) -> None:
    code, _, err = _invoke("stress", *_common(bars, "--out", tmp_path / "s"))
    assert code == 2
    assert "--stress" in err
    code, out, err = _invoke(
        "stress",
        *_common(bars, "--stress", "slippage_x2", "--stress", "nope", "--out", tmp_path / "s"),
    )
    assert code == 2
    assert err.startswith("error: unknown stress profile 'nope'")
    assert out == ""
    assert not (tmp_path / "s").exists()  # refused before the base run, nothing written


# -- show -----------------------------------------------------------------------------------


def scenario_show_prints_the_manifest_summary_and_metrics(run_dir: Path) -> None:
    code, out, err = _invoke("show", run_dir)
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))

    assert (code, err) == (0, "")
    assert f"Run {manifest['run_id']}" in out
    assert "(80 bars, 1d)" in out
    assert f"│ trades                    │ {metrics['trades']}" in out


def contract_show_prints_hashes_whole_when_stdout_is_not_a_terminal(run_dir: Path) -> None:
    """Piped or logged output keeps every hash copyable (rich would cut them to 80 columns)."""
    _, out, _ = _invoke("show", run_dir)
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))

    for value in (
        manifest["config_hash"],
        manifest["event_stream_hash"],
        manifest["data"]["sha256"],
    ):
        assert f"│ {value} " in out  # whole, on one line
    assert "…" not in out


def _metric_rows(table: str, metrics: Mapping[str, Any]) -> dict[str, str]:
    """The rows of a printed metrics table naming a key of ``metrics``: key -> shown value."""
    rows = {}
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip("│ ").split("│")]
        if len(cells) == 2 and cells[0] in metrics:
            rows[cells[0]] = cells[1]
    return rows


def contract_show_prints_the_metrics_as_run_printed_them(tmp_path: Path, bars: Path) -> None:
    """Ratios read back from metrics.json are shown as run shows them (12.34%, 0.123), not as
    the raw decimals of the file."""
    out = tmp_path / "run"
    _, ran, _ = _invoke("run", *_common(bars, *FAST, "--out", out))
    _, shown, _ = _invoke("show", out)
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    rows = _metric_rows(shown, metrics)

    assert rows == _metric_rows(ran, metrics)
    assert len(rows) == 20  # every row of the table
    assert rows["total_return"] == f"{metrics['total_return'] * 100:.2f}%"
    assert rows["sharpe"] == f"{metrics['sharpe']:.3f}"


def contract_show_json_parses_and_leaves_the_config_out(run_dir: Path) -> None:
    code, out, _ = _invoke("show", run_dir, "--json")
    shown = json.loads(out)
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))

    assert code == 0
    assert "config" not in shown["manifest"]
    assert (
        shown["manifest"]["run_id"] == json.loads((run_dir / "manifest.json").read_text())["run_id"]
    )
    assert shown["trades"] == metrics["trades"]
    assert shown["final_equity"] == metrics["final_equity"]


def contract_show_of_an_incomplete_run_directory_exits_2(tmp_path: Path, run_dir: Path) -> None:
    code, _, err = _invoke("show", tmp_path / "nothing-here")
    assert code == 2
    assert "no manifest" in err
    partial = tmp_path / "partial"
    shutil.copytree(run_dir, partial)
    (partial / "metrics.json").unlink()
    code, _, err = _invoke("show", partial)
    assert code == 2
    assert "metrics.json: missing" in err


# -- the run database -------------------------------------------------------------------------


def _the_recorded_run(url: str) -> tuple[Any, list[str]]:
    """The one run recorded in the database at ``url`` and its audit event types."""
    from mqk_db import audit_events, list_runs, make_engine

    engine = make_engine(url)
    try:
        (run,) = list_runs(engine)
        return run, [e.event_type for e in audit_events(engine, run.run_id)]
    finally:
        engine.dispose()


def scenario_a_configured_database_records_the_backtest_as_a_stopped_backtest_run(
    tmp_path: Path, bars: Path
) -> None:
    from mqk_schemas import RunMode, RunStatus

    url = f"sqlite:///{tmp_path / 'runs.db'}"
    args = ["run", *_common(bars, *FAST, "--out", tmp_path / "db-run", "--json")]
    result = CliRunner().invoke(group, [str(a) for a in args], env={"MQK_DATABASE_URL": url})
    assert (result.exit_code, result.stderr) == (0, "")
    reported = json.loads(result.stdout)

    run, events = _the_recorded_run(url)
    assert str(run.run_id) == reported["db_run_id"]
    assert (run.mode, run.status, run.engine_id) == (RunMode.BACKTEST, RunStatus.STOPPED, "MAIN")
    assert (
        run.config_hash
        == json.loads((tmp_path / "db-run" / "manifest.json").read_text())["config_hash"]
    )
    assert events == ["RUN_CREATED", "RUN_STARTED", "RUN_STOPPED"]


def fault_a_refused_backtest_leaves_its_recorded_run_halted_and_stopped(
    tmp_path: Path, bars: Path
) -> None:
    """A request the backtest refuses (here qty=0) after the run was recorded must not leave a
    BACKTEST run RUNNING: health checks would call it stale and reconcile would attach to it."""
    from mqk_schemas import RunStatus

    url = f"sqlite:///{tmp_path / 'runs.db'}"
    args = ["run", *_common(bars, *FAST, "--param", "qty=0", "--out", tmp_path / "never")]
    result = CliRunner().invoke(group, [str(a) for a in args], env={"MQK_DATABASE_URL": url})

    message = "strategy 'sma_cross': parameter 'qty': Value error, 0 must be > 0 (got 0)"
    assert (result.exit_code, result.stderr) == (2, f"error: {message}\n")
    run, events = _the_recorded_run(url)
    assert run.status is RunStatus.STOPPED
    assert run.halt_reason == f"BACKTEST_REFUSED: {message}"
    assert events == ["RUN_CREATED", "RUN_STARTED", "RUN_HALTED", "RUN_STOPPED"]
    assert not (tmp_path / "never").exists()


def contract_an_unusable_database_url_exits_2_before_the_run(tmp_path: Path, bars: Path) -> None:
    out = tmp_path / "never"
    args = ["run", *_common(bars, *FAST, "--out", out)]
    result = CliRunner().invoke(
        group, [str(a) for a in args], env={"MQK_DATABASE_URL": "mysql://trader@db/runs"}
    )

    assert result.exit_code == 2
    assert result.stderr == (
        "error: database URL 'mysql://trader@db/runs': backend 'mysql' is not supported"
        " (use sqlite:///PATH or postgresql://...)\n"
    )
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not out.exists()


def contract_without_a_database_nothing_but_the_artifacts_is_written(
    tmp_path: Path, bars: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MQK_DATABASE_URL", raising=False)
    payload = _run_json(bars, tmp_path, *FAST)
    assert payload["db_run_id"] is None
    assert not (tmp_path / ".mqk").exists()


def contract_a_backtest_without_a_database_does_not_load_the_database_layer(
    tmp_path: Path, bars: Path
) -> None:
    """SQLAlchemy and the run models (~33 MiB, ~0.6 s) are imported only for a configured
    database: a fresh ``mqk-cli backtest run`` process without one never loads them."""
    import os
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from mqk_cli.main import cli\n"
        "try:\n"
        "    cli.main(sys.argv[1:], standalone_mode=False)\n"
        "finally:\n"
        "    print('LOADED', sorted(m for m in ('mqk_db', 'sqlalchemy') if m in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MQK_DATABASE_URL"}
    args = ["backtest", "run", *_common(bars, *FAST, "--out", tmp_path / "r", "--json")]
    done = subprocess.run(
        [sys.executable, "-c", probe, *map(str, args)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[-1] == "LOADED []"
    assert json.loads("\n".join(done.stdout.splitlines()[:-1]))["db_run_id"] is None
