"""Running backtests: one run, a replay that proves a run's hash, and stress comparisons."""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mqk_backtest._request import BacktestRequest, BacktestResult
from mqk_backtest._simulation import run_simulation
from mqk_backtest._stream import record_json
from mqk_backtest.artifacts import (
    ARTIFACT_FILES,
    load_manifest,
    metrics_of,
    write_artifacts,
)
from mqk_backtest.errors import ArtifactError, ReplayError
from mqk_backtest.fingerprint import data_file_hash
from mqk_config import (
    EffectiveConfig,
    Settings,
    canonical_config_json,
    config_from_canonical_json,
)
from mqk_integrity import load_bars
from mqk_schemas import Timeframe, sha256_hex, verify_audit_file
from mqk_strategy import StrategyRegistry

__all__ = [
    "Divergence",
    "ReplayOutcome",
    "StressRow",
    "replay_run",
    "run_backtest",
    "stress_rows",
]

Progress = Callable[[int, int], None]


SPOOL_MIN_BARS = 100_000
"""Runs of at least this many bars chain their audit log in a helper process (with a spool
folder): below it, starting the helper costs more than it saves."""


def run_backtest(
    request: BacktestRequest,
    *,
    mode: str = "fast",
    registry: StrategyRegistry | None = None,
    progress: Progress | None = None,
    spool_dir: Path | None = None,
    spool_min_bars: int = SPOOL_MIN_BARS,
) -> BacktestResult:
    """Run one backtest. ``mode`` "fast" (default) and "reference" give identical results.

    With ``spool_dir`` (on the file system of the folder the artifacts go to), a run of at
    least ``spool_min_bars`` bars has a helper process render and hash-chain its audit log
    there while it runs, on another core (:class:`~mqk_schemas.AuditSpool`);
    :func:`write_artifacts` then moves that file into place. The artifacts are the same
    bytes either way.
    """
    spool = spool_dir if spool_dir is not None and len(request.bars) >= spool_min_bars else None
    return run_simulation(
        request,
        registry=registry if registry is not None else StrategyRegistry.discover(),
        mode=mode,
        progress=progress,
        spool_dir=spool,
    )


@dataclass(frozen=True, slots=True)
class Divergence:
    """The first event where a replay differs from the recorded run."""

    seq: int
    recorded: dict[str, Any] | None
    replayed: dict[str, Any] | None

    def describe(self) -> str:
        """One sentence for an operator."""

        def name(record: dict[str, Any] | None) -> str:
            if record is None:
                return "nothing (stream ended)"
            return f"{record.get('topic')}/{record.get('event_type')} at {record.get('ts_utc')}"

        return (
            f"event {self.seq}: recorded {name(self.recorded)}, replay gave {name(self.replayed)}"
        )


@dataclass(frozen=True, slots=True)
class ReplayOutcome:
    """Result of replaying a run directory."""

    proven: bool
    recorded_hash: str
    replayed_hash: str | None
    reason: str
    divergence: Divergence | None = None


def _restore_config(manifest: Mapping[str, Any], source: str) -> EffectiveConfig:
    settings = Settings.model_validate(manifest["config"])
    text = canonical_config_json(settings)
    if sha256_hex(text) != manifest.get("config_hash"):
        raise ArtifactError(f"{source}: the config does not match config_hash (edited?)")
    return config_from_canonical_json(
        text, source=source, env=str(manifest["env"]), stress=tuple(manifest.get("stress", ()))
    )


def replay_run(
    directory: Path,
    *,
    data_dir: Path | None = None,
    registry: StrategyRegistry | None = None,
    mode: str = "fast",
) -> ReplayOutcome:
    """Re-run a recorded backtest from its manifest and compare the event stream event by event.

    Data files are looked up as recorded (relative paths from the current directory, or from
    ``data_dir`` when given). A data file whose bytes changed is reported, not replayed.
    """
    manifest = load_manifest(directory)
    recorded_hash = str(manifest["event_stream_hash"])
    source = str(directory / "manifest.json")
    data = manifest["data"]
    files = [Path(f) if data_dir is None else data_dir / Path(f).name for f in data["files"]]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise ReplayError(f"data file(s) {missing} not found; pass the folder that holds them")
    actual_data_hash = data_file_hash(files)
    if actual_data_hash != data["sha256"]:
        return ReplayOutcome(
            False,
            recorded_hash,
            None,
            f"DATA_CHANGED: data hash {actual_data_hash} differs from the manifest's"
            f" {data['sha256']}; the input data is not what this run used",
        )
    chain = (
        verify_audit_file(directory / "audit.jsonl")
        if (directory / "audit.jsonl").is_file()
        else None
    )
    if chain is None or not chain.ok:
        detail = "is missing" if chain is None else chain.describe()
        return ReplayOutcome(False, recorded_hash, None, f"AUDIT_TAMPERED: audit.jsonl {detail}")
    try:
        config = _restore_config(manifest, source)
    except ArtifactError as exc:
        return ReplayOutcome(False, recorded_hash, None, f"MANIFEST_EDITED: {exc}")
    timeframe = Timeframe(data["timeframe"])
    symbols = data.get("symbols") or []
    frames = [
        load_bars(f, timeframe, symbol=symbols[0] if len(symbols) == 1 else None) for f in files
    ]
    if len(frames) != 1:
        raise ReplayError("replaying runs over several data files is not supported")
    request = BacktestRequest(
        config=config,
        bars=frames[0],
        data_files=tuple(data["files"]),
        data_hash=actual_data_hash,
        seed=int(manifest["seed"]),
        run_id=uuid.UUID(str(manifest["run_id"])),
        git_revision=manifest.get("git_revision"),
        host=manifest.get("host") or {},
    )
    result = run_backtest(request, mode=mode, registry=registry)
    with tempfile.TemporaryDirectory(prefix="mqk-replay-") as scratch:
        # the replay's own artifacts: their audit chain gives the replayed hash (one pass)
        fresh = write_artifacts(result, Path(scratch) / "run")
        replayed_hash = fresh.event_stream_hash
        differing = _differing_artifacts(fresh.directory, directory)
    if replayed_hash == recorded_hash:
        if differing:
            return ReplayOutcome(
                False,
                recorded_hash,
                replayed_hash,
                f"ARTIFACT_MISMATCH: the replay reproduces the event stream but"
                f" {', '.join(differing)} differ from what it writes (edited after the run)",
            )
        return ReplayOutcome(
            True, recorded_hash, replayed_hash, "event stream hash and every artifact proven"
        )
    if replayed_hash == chain.last_hash:
        return ReplayOutcome(
            False,
            recorded_hash,
            replayed_hash,
            f"EVENT_STREAM_HASH_MISMATCH: the replay reproduces audit.jsonl ({replayed_hash}) but"
            f" the manifest records {recorded_hash}; the manifest was edited",
        )
    divergence = _first_divergence(directory / "audit.jsonl", result.events)
    return ReplayOutcome(
        False,
        recorded_hash,
        replayed_hash,
        f"EVENT_STREAM_DIVERGED: {divergence.describe()}",
        divergence,
    )


def _differing_artifacts(fresh: Path, directory: Path) -> list[str]:
    """Artifact files of ``directory`` whose bytes differ from those in ``fresh``."""
    return [
        name
        for name in ARTIFACT_FILES
        if not (directory / name).is_file()
        or (directory / name).read_bytes() != (fresh / name).read_bytes()
    ]


def _first_divergence(audit: Path, replayed: Sequence[dict[str, Any]]) -> Divergence:
    recorded: list[dict[str, Any]] = []
    if audit.is_file():
        with audit.open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    recorded.append(json.loads(line)["record"])
                except (json.JSONDecodeError, KeyError, TypeError):
                    recorded.append({"event_type": "<unreadable line>"})
    for seq in range(max(len(recorded), len(replayed))):
        mine = recorded[seq] if seq < len(recorded) else None
        theirs = replayed[seq] if seq < len(replayed) else None
        if mine is None or theirs is None or record_json(mine) != record_json(theirs):
            return Divergence(seq, mine, theirs)
    return Divergence(len(recorded), None, None)


@dataclass(frozen=True, slots=True)
class StressRow:
    """One line of a stress comparison."""

    profile: str
    config_hash: str
    metrics: Mapping[str, Any]


def stress_rows(results: Mapping[str, BacktestResult]) -> list[StressRow]:
    """Metrics of each run (base first, then profiles in the order given)."""
    return [
        StressRow(name, result.request.config.config_hash, metrics_of(result))
        for name, result in results.items()
    ]
