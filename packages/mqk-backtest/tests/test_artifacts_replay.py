"""Artifacts are a pure function of the inputs; replay proves a run or says what changed."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from backtest_support import make_config

from mqk_backtest import (
    ARTIFACT_FILES,
    ArtifactError,
    BacktestRequest,
    BacktestResult,
    ReplayError,
    data_file_hash,
    deterministic_run_id,
    host_fingerprint,
    replay_run,
    run_backtest,
    write_artifacts,
)
from mqk_integrity import load_bars, synth_bars, write_bars
from mqk_schemas import Timeframe, verify_audit_file

METRIC_KEYS = {
    "total_return",
    "cagr",
    "sharpe",
    "sortino",
    "max_drawdown",
    "volatility",
    "profit_factor",
    "win_rate",
    "trades",
    "exposure_time",
    "worst_5day_return",
    "profitable_months_pct",
}


def _run(
    tmp_path: Path, name: str = "run", **sections: Mapping[str, Any]
) -> tuple[BacktestResult, Path]:
    data = tmp_path / "SYN_1d.csv"
    if not data.exists():
        frame = synth_bars(
            symbols=["SYN"],
            timeframe=Timeframe.D1,
            start=date(2023, 1, 1),
            bars=90,
            seed=5,
            calendar="24/7",
        )
        write_bars(frame, data)
    config = make_config("sma_cross", {"fast": 3, "slow": 8, "qty": 100}, **sections)
    digest = data_file_hash([data])
    request = BacktestRequest(
        config=config,
        bars=load_bars(data, Timeframe.D1),
        data_files=(str(data),),
        data_hash=digest,
        seed=42,
        run_id=deterministic_run_id(config.engine_id, config.config_hash, digest, 42),
        git_revision="0123abcd",
        host=host_fingerprint(),
    )
    result = run_backtest(request)
    out = tmp_path / name
    write_artifacts(result, out)
    return result, out


def invariant_same_inputs_give_byte_identical_artifacts(tmp_path: Path) -> None:
    result, one = _run(tmp_path, "one")
    _, two = _run(tmp_path, "two")

    assert len(result.fills) >= 4
    for name in ARTIFACT_FILES:
        assert (one / name).read_bytes() == (two / name).read_bytes(), name


def contract_manifest_and_metrics_hold_what_the_spec_lists(tmp_path: Path) -> None:
    result, out = _run(tmp_path)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))

    config = result.request.config
    assert manifest["run_id"] == str(result.request.run_id)
    assert (manifest["config_hash"], manifest["seed"]) == (config.config_hash, 42)
    assert manifest["data"]["sha256"] == result.request.data_hash
    assert manifest["git_revision"] == "0123abcd"
    assert manifest["host"] == host_fingerprint()
    assert "mqk-backtest" in manifest["versions"]
    assert manifest["config"]["engine"]["keys_env"]["api_key"] == "ALPACA_API_KEY_MAIN"
    assert set(metrics) >= METRIC_KEYS
    assert metrics["trades"] == len(result.trades)
    assert verify_audit_file(out / "audit.jsonl").ok
    assert verify_audit_file(out / "audit.jsonl").last_hash == manifest["event_stream_hash"]
    assert len((out / "equity_curve.csv").read_text().splitlines()) == 1 + len(result.equity)
    assert len((out / "fills.csv").read_text().splitlines()) == 1 + len(result.fills)
    assert len((out / "orders.csv").read_text().splitlines()) == 1 + len(result.orders)


def scenario_replay_proves_the_event_stream_hash(tmp_path: Path) -> None:
    _, out = _run(tmp_path)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))

    for mode in ("fast", "reference"):
        outcome = replay_run(out, mode=mode)
        assert outcome.proven, outcome.reason
        assert outcome.replayed_hash == outcome.recorded_hash == manifest["event_stream_hash"]


def scenario_replay_proves_a_run_whose_limits_were_written_with_trailing_zeros(
    tmp_path: Path,
) -> None:
    # the manifest keeps the canonical config (0.002); the run must have used exactly that,
    # or the kill switch's message (the trip equity, peak * (1 - limit)) replays differently
    result, out = _run(tmp_path, risk={"max_drawdown": Decimal("0.0020")})
    assert result.halted is not None
    assert result.halted.startswith("KILL_SWITCH_MAX_DRAWDOWN")

    outcome = replay_run(out)

    assert outcome.proven, outcome.reason


def fault_one_changed_data_byte_is_reported_as_data_changed(tmp_path: Path) -> None:
    _, out = _run(tmp_path)
    data = tmp_path / "SYN_1d.csv"
    before = data.read_bytes()
    index = before.index(b"\n", before.index(b"\n") + 1) - 1  # last byte of data row 1
    changed = bytes([before[index] ^ 1])  # one digit of the volume, still a valid file
    data.write_bytes(before[:index] + changed + before[index + 1 :])

    outcome = replay_run(out)

    assert not outcome.proven
    assert outcome.reason.startswith("DATA_CHANGED: data hash ")
    assert data_file_hash([data]) in outcome.reason


def fault_tampered_audit_line_is_reported(tmp_path: Path) -> None:
    _, out = _run(tmp_path)
    audit = out / "audit.jsonl"
    lines = audit.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1] = lines[1].replace('"BUY"', '"SELL"', 1)
    audit.write_text("".join(lines), encoding="utf-8")
    assert verify_audit_file(audit).first_broken_line == 2

    outcome = replay_run(out)

    assert not outcome.proven
    assert "audit.jsonl" in outcome.reason
    assert "line 2" in outcome.reason


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param('\n  "seed": 42,', '\n  "seed": 43,', id="seed"),
        pytest.param('"event_stream_hash": "', '"event_stream_hash": "0', id="hash"),
    ],
)
def fault_edited_manifest_is_not_proven(tmp_path: Path, old: str, new: str) -> None:
    _, out = _run(tmp_path)
    path = out / "manifest.json"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")

    outcome = replay_run(out)

    assert not outcome.proven
    assert outcome.reason.startswith("EVENT_STREAM")


def fault_edited_manifest_config_is_refused_by_its_hash(tmp_path: Path) -> None:
    _, out = _run(tmp_path)
    path = out / "manifest.json"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"max_drawdown": 1,', '"max_drawdown": 0.5,', 1), "utf-8")

    outcome = replay_run(out)

    assert not outcome.proven
    assert outcome.reason.startswith("MANIFEST_EDITED")
    assert "the config does not match config_hash" in outcome.reason


def fault_a_run_directory_without_its_data_cannot_be_replayed_elsewhere(tmp_path: Path) -> None:
    _, out = _run(tmp_path)
    moved = tmp_path / "elsewhere"
    shutil.copytree(out, moved)
    (tmp_path / "SYN_1d.csv").rename(tmp_path / "gone.csv")

    with pytest.raises(ReplayError, match="not found"):
        replay_run(moved)
    shutil.copy(tmp_path / "gone.csv", moved / "SYN_1d.csv")
    assert replay_run(moved, data_dir=moved).proven


def _rechain(path: Path, edit: object) -> None:
    """Rewrite audit.jsonl with ``edit`` applied to each record and a valid, recomputed chain."""
    from mqk_schemas import AuditChain

    records = [json.loads(line)["record"] for line in path.read_text("utf-8").splitlines()]
    chain = AuditChain()
    lines = []
    for record in records:
        edit(record)  # type: ignore[operator]
        lines.append(
            chain.line_for_json(json.dumps(record, sort_keys=True, separators=(",", ":"))) + "\n"
        )
    path.write_text("".join(lines), encoding="utf-8")


def fault_a_rechained_audit_log_with_edited_fills_is_not_proven(tmp_path: Path) -> None:
    _, out = _run(tmp_path)

    def cheaper_fills(record: dict[str, object]) -> None:
        if record["event_type"] == "FILL_APPLIED":
            record["payload"]["price"] = "1"  # type: ignore[index]

    _rechain(out / "audit.jsonl", cheaper_fills)
    assert verify_audit_file(out / "audit.jsonl").ok  # the chain itself is intact

    outcome = replay_run(out)

    assert not outcome.proven
    assert outcome.reason.startswith("ARTIFACT_MISMATCH")
    assert "audit.jsonl" in outcome.reason


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        pytest.param("metrics.json", '"trades": ', '"trades": 1', id="metrics"),
        pytest.param("fills.csv", ",100,", ",1000,", id="fills"),
        pytest.param("manifest.json", '"env": "dev"', '"env": "prod"', id="env-label"),
    ],
)
def fault_an_edited_artifact_is_named_by_the_replay(
    tmp_path: Path, name: str, old: str, new: str
) -> None:
    _, out = _run(tmp_path)
    path = out / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")

    outcome = replay_run(out)

    assert not outcome.proven
    assert outcome.reason.startswith(("ARTIFACT_MISMATCH", "EVENT_STREAM")), outcome.reason


@pytest.mark.parametrize("occupant", ["file", "folder"])
def fault_artifacts_never_overwrite_something_that_is_not_a_run(
    tmp_path: Path, occupant: str
) -> None:
    result, _ = _run(tmp_path)
    target = tmp_path / "occupied"
    if occupant == "file":
        target.write_text("keep me", encoding="utf-8")
    else:
        target.mkdir()
        (target / "notes.txt").write_text("keep me", encoding="utf-8")

    with pytest.raises(ArtifactError, match="is not a backtest run directory"):
        write_artifacts(result, target)

    kept = target if occupant == "file" else target / "notes.txt"
    assert kept.read_text(encoding="utf-8") == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def unit_rewriting_a_run_directory_replaces_it_whole(tmp_path: Path) -> None:
    result, out = _run(tmp_path)
    (out / "stale.txt").write_text("from an older run", encoding="utf-8")
    write_artifacts(result, out)
    assert sorted(p.name for p in out.iterdir()) == sorted(ARTIFACT_FILES)


def contract_a_run_directory_gets_the_permissions_of_any_new_folder(tmp_path: Path) -> None:
    """Not mkdtemp's owner-only 0700: a colleague (or a web server) can open the report."""
    import os
    import stat

    umask = os.umask(0o022)
    try:
        _, out = _run(tmp_path)
    finally:
        os.umask(umask)

    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    assert stat.S_IMODE((out / "report.html").stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no scratch


@pytest.mark.parametrize("chunk_rows", [1, 7, 89, 90, 1000])
def invariant_the_equity_curve_is_the_same_whatever_the_chunk_size(
    tmp_path: Path, chunk_rows: int
) -> None:
    from mqk_backtest._tables import write_equity_csv

    result, out = _run(tmp_path)
    write_equity_csv(result.equity, tmp_path / "chunked.csv", chunk_rows=chunk_rows)

    whole = (out / "equity_curve.csv").read_bytes()
    assert (tmp_path / "chunked.csv").read_bytes() == whole
    assert whole.count(b"\n") == len(result.equity) + 1
