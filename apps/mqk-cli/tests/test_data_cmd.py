"""``mqk-cli data validate|synth``: exit 0 clean, 1 integrity breach, 2 bad file or input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mqk_cli.commands.data import group
from mqk_config import load_config
from mqk_integrity import IntegritySettings

REPO_ROOT = Path(__file__).resolve().parents[3]
SAMPLE = REPO_ROOT / "examples" / "data" / "AAPL_1d.csv"
SAMPLE_ARGS = ["--symbol", "AAPL", "--timeframe", "1d", "--start", "2022-01-03", "--bars", "500"]
HEADER = "ts_close_utc,open,high,low,close,volume"


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(group, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _synth(path: Path, *extra: str) -> None:
    code, _, err = _run("synth", "--out", str(path), *SAMPLE_ARGS, "--seed", "7", *extra)
    assert (code, err) == (0, "")


def _validate_json(path: Path, *extra: str) -> tuple[int, dict]:
    code, out, err = _run("validate", str(path), "--json", *extra)
    assert err == ""
    return code, json.loads(out)


def scenario_shipped_sample_regenerates_byte_identical_and_validates_clean(tmp_path) -> None:
    target = tmp_path / "AAPL_1d.csv"
    _synth(target, "--calendar", "XNYS")
    assert target.read_bytes() == SAMPLE.read_bytes()
    code, out, err = _run("validate", str(SAMPLE), "--calendar", "XNYS", "--timeframe", "1d")
    assert (code, err) == (0, "")
    assert "CLEAN" in out


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def invariant_synth_is_byte_identical_for_the_same_seed(tmp_path, suffix) -> None:
    one, two = tmp_path / f"one.{suffix}", tmp_path / f"two.{suffix}"
    for path in (one, two):
        code, out, _ = _run(
            "synth",
            "--out",
            str(path),
            "--symbols",
            "A,B,C",
            "--timeframe",
            "15m",
            "--start",
            "2023-03-01",
            "--bars",
            "300",
            "--seed",
            "11",
        )
        assert code == 0
        assert "sha256" in out
    assert one.read_bytes() == two.read_bytes()
    code, summary = _validate_json(one, "--timeframe", "15m")
    assert (code, summary["status"], summary["bars"]) == (0, "CLEAN", 900)
    assert [s["symbol"] for s in summary["symbols"]] == ["A", "B", "C"]


def scenario_missing_session_exits_1_and_names_the_gap(tmp_path) -> None:
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    wednesday = next(i for i, line in enumerate(lines) if ",2022-01-19T" in line)
    gappy = tmp_path / "gappy.csv"
    gappy.write_text("\n".join(lines[:wednesday] + lines[wednesday + 1 :]) + "\n")
    code, summary = _validate_json(gappy)
    assert (code, summary["status"], summary["gap_count"]) == (1, "BREACH", 1)
    assert summary["gaps_by_session"] == [
        {"symbol": "AAPL", "session": "2022-01-19", "missing_bars": 1}
    ]
    decision = summary["first_issue"]["decision"]
    assert (decision["action"], decision["reason_code"]) == ("HALT_NEW", "GAP_DETECTED")
    assert summary["first_issue"]["row"] == wednesday  # 1-based row of the bar after the gap


@pytest.mark.parametrize(("policy", "code"), [("FLAG", 0), ("REJECT", 1), ("HALT_NEW", 1)])
def scenario_outliers_breach_only_under_a_refusing_policy(tmp_path, policy, code) -> None:
    path = tmp_path / "jumpy.csv"
    path.write_text(
        f"{HEADER}\n2022-01-03T21:00:00Z,100,101,99,100,5\n2022-01-04T21:00:00Z,100,131,99,130,5\n"
    )
    got, summary = _validate_json(path, "--outlier-policy", policy, "--symbol", "X")
    assert (got, summary["outlier_count"]) == (code, 1)


def fault_bad_file_exits_2_listing_row_column_and_rule(tmp_path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        f"{HEADER}\n2022-01-03T21:00:00Z,100,99,101,100,5\n2022-01-03T21:00:00Z,1,1,1,1,5\n"
    )
    code, out, err = _run("validate", str(path), "--symbol", "X")
    assert (code, out) == (2, "")
    assert "row 1 column low: OHLC_STRUCTURE" in err
    assert "row 2 column ts_close_utc: DUPLICATE_TIMESTAMP" in err
    assert "Traceback" not in err


def fault_bad_file_as_json_lists_problems_on_stdout(tmp_path) -> None:
    path = tmp_path / "naive.csv"
    path.write_text(f"{HEADER}\n2022-01-03 21:00:00,1,1,1,1,5\n")
    code, out, _ = _run("validate", str(path), "--json", "--symbol", "X")
    assert code == 2
    assert json.loads(out) == {
        "status": "BAD_FILE",
        "file": str(path),
        "total_problems": 1,
        "problems": [
            {
                "row": 1,
                "column": "ts_close_utc",
                "rule": "NAIVE_TIMESTAMP",
                "message": "'2022-01-03 21:00:00' has no UTC offset; write e.g. "
                "2022-01-03T21:00:00Z",
            }
        ],
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate", "{sample}", "--calendar", "NOPE"], "unknown exchange calendar 'NOPE'"),
        (["validate", "{sample}", "--outlier-move-fraction", "abc"], "not a decimal"),
        (["validate", "{sample}", "--outlier-move-fraction", "0.123456789"], "8 decimals"),
        (["validate", "{missing}"], "FILE_NOT_FOUND"),
        (
            [
                "synth",
                "--out",
                "{out}",
                "--symbol",
                "A",
                "--symbols",
                "B",
                "--start",
                "2022-01-03",
                "--bars",
                "5",
                "--seed",
                "1",
            ],
            "exactly one of --symbol or --symbols",
        ),
        (
            [
                "synth",
                "--out",
                "{out}",
                "--symbol",
                "aapl",
                "--start",
                "2022-01-03",
                "--bars",
                "5",
                "--seed",
                "1",
            ],
            "not a symbol",
        ),
        (
            [
                "synth",
                "--out",
                "{out}",
                "--symbol",
                "A",
                "--start",
                "2022-01-03",
                "--bars",
                "5",
                "--seed",
                "1",
                "--calendar",
                "MARS",
            ],
            "unknown exchange calendar",
        ),
        (
            [
                "synth",
                "--out",
                "{txt}",
                "--symbol",
                "A",
                "--start",
                "2022-01-03",
                "--bars",
                "5",
                "--seed",
                "1",
            ],
            "UNSUPPORTED_FORMAT",
        ),
    ],
)
def fault_bad_input_exits_2_with_a_message(tmp_path, args, message) -> None:
    paths = {
        "sample": str(SAMPLE),
        "missing": str(tmp_path / "missing.csv"),
        "out": str(tmp_path / "out.csv"),
        "txt": str(tmp_path / "out.txt"),
    }
    code, out, err = _run(*(a.format(**paths) for a in args))
    assert out == ""
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "out.csv").exists()


def contract_integrity_settings_mirror_the_shipped_config_section() -> None:
    config = load_config(REPO_ROOT / "config", engine="MAIN")
    settings = IntegritySettings.model_validate(config.settings.data.model_dump())
    assert settings.model_dump(mode="json") == config.settings.data.model_dump(mode="json")


def contract_synth_makes_the_folders_its_out_path_needs(tmp_path: Path) -> None:
    target = tmp_path / "new" / "deeper" / "AAPL_1d.csv"
    _synth(target, "--calendar", "XNYS")
    assert target.is_file()
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", encoding="utf-8")
    code, out, err = _run("synth", "--out", str(blocked / "x.csv"), *SAMPLE_ARGS, "--seed", "7")
    assert (code, out) == (2, "")
    assert err == f"error: cannot write {blocked / 'x.csv'}: {blocked} is a file, not a folder\n"
