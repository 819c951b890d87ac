"""A run that spools its audit log writes exactly the artifacts of one that does not, and a
spool never outlives its run (no helper process, no stray file, whatever happens)."""

from __future__ import annotations

import gc
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from backtest_support import NO_COSTS, make_config

from mqk_backtest import (
    ARTIFACT_FILES,
    BacktestRequest,
    BacktestResult,
    data_file_hash,
    deterministic_run_id,
    run_backtest,
    write_artifacts,
)
from mqk_integrity import load_bars, synth_bars, write_bars
from mqk_schemas import BarFrame, Timeframe


def _request(tmp_path: Path, *, gap: bool = False) -> BacktestRequest:
    data = tmp_path / ("gap.csv" if gap else "bars.csv")
    frame = synth_bars(
        symbols=["SYN", "ALT"],
        timeframe=Timeframe.H1,
        start=date(2023, 3, 1),
        bars=400,
        seed=5,
        calendar="24/7",
    )
    if gap:  # a missing bar: the integrity scan sends the run to the step engine
        stamps = frame.frame.get_column("ts_close_utc")
        frame = BarFrame(frame.timeframe, frame.frame.filter(stamps != stamps[99]))
    write_bars(frame, data)
    config = make_config(
        "sma_cross", {"fast": 3, "slow": 8, "qty": 10}, engine={"timeframe": "1h"},
        execution=NO_COSTS,
    )  # fmt: skip
    digest = data_file_hash([data])
    return BacktestRequest(
        config=config,
        bars=load_bars(data, Timeframe.H1),
        data_files=(str(data),),
        data_hash=digest,
        seed=3,
        run_id=deterministic_run_id(config.engine_id, config.config_hash, digest, 3),
    )


def _spooled(request: BacktestRequest, spool_dir: Path, **kwargs: Any) -> BacktestResult:
    return run_backtest(request, spool_dir=spool_dir, spool_min_bars=0, **kwargs)


def _files(directory: Path) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in ARTIFACT_FILES}


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".audit-"))


@pytest.mark.parametrize("gap", [False, True], ids=["columnar", "step-engine"])
@pytest.mark.parametrize("mode", ["fast", "reference"])
def contract_a_spooled_run_writes_the_same_artifacts(tmp_path: Path, mode: str, gap: bool) -> None:
    request = _request(tmp_path, gap=gap)
    spool_dir = tmp_path / "exports"
    plain = write_artifacts(run_backtest(request, mode=mode), tmp_path / "plain")
    result = _spooled(request, spool_dir, mode=mode)
    assert result.columnar is (mode == "fast" and not gap)
    assert result.audit_log is not None
    spooled = write_artifacts(result, spool_dir / "run")
    log = result.audit_log.finish()  # done by write_artifacts: the same answer again
    assert log is not None
    assert log.events == len(result.events)

    assert _files(spooled.directory) == _files(plain.directory)
    assert spooled.event_stream_hash == plain.event_stream_hash
    assert _leftovers(spool_dir) == []  # moved into the run folder


def scenario_a_second_write_renders_the_log_itself(tmp_path: Path) -> None:
    result = _spooled(_request(tmp_path), tmp_path / "exports")
    first = write_artifacts(result, tmp_path / "exports" / "one")
    second = write_artifacts(result, tmp_path / "elsewhere" / "two")

    assert _files(first.directory) == _files(second.directory)
    assert first.event_stream_hash == second.event_stream_hash


def unit_short_runs_and_runs_without_a_folder_start_no_helper(tmp_path: Path) -> None:
    request = _request(tmp_path)

    assert run_backtest(request, spool_dir=tmp_path / "exports").audit_log is None  # 800 bars
    assert run_backtest(request, spool_min_bars=0).audit_log is None
    assert not (tmp_path / "exports").exists()


def fault_a_run_that_fails_midway_leaves_no_helper_and_no_file(tmp_path: Path) -> None:
    spool_dir = tmp_path / "exports"

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt  # at the first progress report, with the helper running

    with pytest.raises(KeyboardInterrupt):
        _spooled(_request(tmp_path), spool_dir, progress=interrupt)
    assert _leftovers(spool_dir) == []


def fault_an_unwritten_run_leaves_no_file_once_dropped(tmp_path: Path) -> None:
    spool_dir = tmp_path / "exports"
    result = _spooled(_request(tmp_path), spool_dir)
    assert len(_leftovers(spool_dir)) == 1

    del result
    gc.collect()
    assert _leftovers(spool_dir) == []


def fault_an_unwritable_spool_folder_only_costs_time(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    request = _request(tmp_path)
    result = _spooled(request, blocked / "exports")

    assert result.audit_log is None
    written = write_artifacts(result, tmp_path / "run")
    plain = write_artifacts(run_backtest(request), tmp_path / "plain")
    assert _files(written.directory) == _files(plain.directory)
