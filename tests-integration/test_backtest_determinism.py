"""Backtests are reproducible across processes: same data + config + seed -> same bytes.

Each run is a separate ``mqk-cli`` process with its own PYTHONHASHSEED; processes run in a
scratch directory outside the git checkout (so the recorded git revision is the same: none).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO_ROOT / "config"
SAMPLE = REPO_ROOT / "examples" / "data" / "AAPL_1d.csv"
CLI = Path(sys.executable).with_name("mqk-cli")
ARTIFACTS = (
    "manifest.json",
    "audit.jsonl",
    "orders.csv",
    "fills.csv",
    "equity_curve.csv",
    "metrics.json",
    "report.html",
)
DATA = "AAPL_1d.csv"


def _cli(cwd: Path, hash_seed: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "MQK_CONFIG_DIR": str(CONFIG_DIR)}
    return subprocess.run(
        [str(CLI), "backtest", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _run(cwd: Path, hash_seed: str, out: str) -> subprocess.CompletedProcess[str]:
    return _cli(
        cwd,
        hash_seed,
        "run",
        "--engine",
        "MAIN",
        "--bars",
        DATA,
        "--param",
        "fast=3",
        "--param",
        "slow=8",
        "--out",
        out,
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch folder with 120 bars of the AAPL sample and two runs made by two processes."""
    base = tmp_path_factory.mktemp("determinism")
    lines = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)[:121]
    (base / DATA).write_text("".join(lines), encoding="utf-8")
    for hash_seed, out in (("1", "run_a"), ("4242", "run_b")):
        done = _run(base, hash_seed, out)
        assert (done.returncode, done.stderr) == (0, ""), done.stderr
    return base


def _copy_case(workdir: Path, name: str) -> Path:
    case = workdir / name
    case.mkdir()
    shutil.copy(workdir / DATA, case / DATA)
    shutil.copytree(workdir / "run_a", case / "run_a")
    return case


def invariant_two_processes_with_different_hash_seeds_write_identical_bytes(
    workdir: Path,
) -> None:
    one, two = workdir / "run_a", workdir / "run_b"

    assert sorted(p.name for p in one.iterdir()) == sorted(ARTIFACTS)
    for name in ARTIFACTS:
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    manifest = json.loads((one / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["data"]["files"] == [DATA]
    assert int(json.loads((one / "metrics.json").read_text())["fills"]) >= 4


def scenario_replay_in_a_third_process_proves_the_run(workdir: Path) -> None:
    done = _cli(workdir, "99", "replay", "run_b")
    recorded = json.loads((workdir / "run_b" / "manifest.json").read_text())["event_stream_hash"]

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"replay proven: event stream hash {recorded}\n"


def fault_one_changed_byte_of_the_data_file_is_reported_as_data_changed(workdir: Path) -> None:
    case = _copy_case(workdir, "data_changed")
    data = case / DATA
    text = data.read_text(encoding="utf-8")
    data.write_text(text.replace(",98.35,917434\n", ",98.35,917435\n", 1), encoding="utf-8")
    assert data.read_bytes() != (workdir / DATA).read_bytes()

    done = _cli(case, "7", "replay", "run_a")

    assert done.returncode == 1
    assert "DATA_CHANGED" in done.stdout


def _tamper_audit(run: Path) -> None:
    audit = run / "audit.jsonl"
    lines = audit.read_text(encoding="utf-8").splitlines(keepends=True)
    assert '"BUY"' in lines[1]
    lines[1] = lines[1].replace('"BUY"', '"SELL"', 1)
    audit.write_text("".join(lines), encoding="utf-8")


def _edit_manifest_seed(run: Path) -> None:
    manifest = run / "manifest.json"
    text = manifest.read_text(encoding="utf-8")
    assert '\n  "seed": 42,' in text
    manifest.write_text(text.replace('\n  "seed": 42,', '\n  "seed": 43,', 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        pytest.param(_tamper_audit, "audit.jsonl", id="audit-line-edited"),
        pytest.param(_edit_manifest_seed, "EVENT_STREAM_DIVERGED", id="manifest-seed-edited"),
    ],
)
def fault_tampered_run_is_reported_by_replay(
    workdir: Path, tamper: Callable[[Path], None], message: str
) -> None:
    case = _copy_case(workdir, f"tampered_{tamper.__name__}")
    tamper(case / "run_a")

    done = _cli(case, "11", "replay", "run_a")

    assert done.returncode == 1
    assert message in done.stdout + done.stderr
