"""Backtest throughput and memory (issue: the main job's speed target).

Workload: ``sma_cross`` fast=10 slow=20, long-only 100 shares, next-open MARKET fills, no costs,
every gate on (integrity gate, strategy host settings, execution gateway with arming, risk
engine, allocation cap, fill-driven ledger), on 1,000,000 one-minute XNYS bars of one symbol and
on 10 symbols x 100,000 bars (``data synth``, seed 7). Each case runs in its own process so its
peak RSS is its own. Engine time excludes reading the file; artifacts are timed separately.

    uv run python benchmarks/bench_backtest.py [--write] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
BEGIN, END = "<!-- backtest:begin -->", "<!-- backtest:end -->"


def benchmark_config() -> Any:
    """The benchmark's config: the shipped defaults, ``sma_cross`` 10/20 on 100 shares over
    one-minute XNYS bars, every cost zeroed (``backtest run --no-costs``)."""
    from mqk_config import load_config
    from mqk_execution import COST_FIELDS

    costs = dict.fromkeys(COST_FIELDS, 0)
    return load_config(
        ROOT / "config",
        engine="MAIN",
        env="dev",
        overrides={
            "engine": {
                "timeframe": "1m",
                "strategies": [
                    {"name": "sma_cross", "params": {"fast": 10, "slow": 20, "qty": 100}}
                ],
            },
            "data": {"calendar": "XNYS"},
            "execution": costs,
        },
    )


def _child(path: str, mode: str, out: str) -> None:
    if os.environ.get("MQK_PURE_PYTHON") == "1":  # the sources of the compiled modules
        sys.path.insert(0, str(ROOT / "tools"))
        from compiled import PureSourceFinder  # type: ignore[import-not-found]

        sys.meta_path.insert(0, PureSourceFinder())
    from mqk_backtest import (
        BacktestRequest,
        data_file_hash,
        deterministic_run_id,
        run_backtest,
        write_artifacts,
    )
    from mqk_integrity import load_bars

    config = benchmark_config()
    t0 = time.perf_counter()
    bars = load_bars(Path(path), config.settings.engine.timeframe)
    t1 = time.perf_counter()
    load_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    data_hash = data_file_hash([Path(path)])
    request = BacktestRequest(
        config=config,
        bars=bars,
        data_files=(path,),
        data_hash=data_hash,
        seed=42,
        run_id=deterministic_run_id("MAIN", config.config_hash, data_hash, 42),
    )
    t2 = time.perf_counter()
    # as mqk-cli runs it: the audit log chained beside the output by a helper process
    result = run_backtest(request, mode=mode, spool_dir=Path(out).parent)
    t3 = time.perf_counter()
    engine_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    write_artifacts(result, Path(out))
    t4 = time.perf_counter()
    print(
        json.dumps(
            {
                "bars": len(bars),
                "load_s": t1 - t0,
                "engine_s": t3 - t2,
                "artifacts_s": t4 - t3,
                "orders": len(result.orders),
                "fills": len(result.fills),
                "events": len(result.events),
                "halted": result.halted,
                "columnar": result.columnar,
                "columnar_note": result.columnar_note,
                "compiled": _compiled(),
                "final_equity": str(result.final_equity),
                "peak_rss_load_mib": load_peak,
                "peak_rss_engine_mib": engine_peak,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "helper_peak_rss_mib": _helper_peak_mib(result),
            }
        )
    )


def _helper_peak_mib(result: Any) -> float | None:
    """Peak RSS of the helper process that chained the audit log (None: no helper ran)."""
    log = result.audit_log.finish() if result.audit_log is not None else None  # done by now
    if log is None or log.helper_peak_rss_kib is None:
        return None
    return float(log.helper_peak_rss_kib) / 1024


def _mib(value: float | None) -> str:
    return "none" if value is None else f"{value:.0f} MiB"


def _compiled() -> bool:
    """True when the backtest kernel runs as a mypyc extension (``make compile``)."""
    import mqk_backtest._columnar

    return str(mqk_backtest._columnar.__file__).endswith(".so")


def _synth(out: Path, symbols: str, bars: int) -> None:
    """The same file ``mqk-cli data synth --timeframe 1m --start 2020-01-02 --seed 7`` writes."""
    from datetime import date

    from mqk_integrity import synth_bars, write_bars
    from mqk_schemas import Timeframe

    frame = synth_bars(
        symbols=symbols.split(","),
        timeframe=Timeframe.M1,
        start=date(2020, 1, 2),
        bars=bars,
        seed=7,
    )
    write_bars(frame, out, fmt="parquet")


def _case(path: Path, mode: str, tmp: Path, *, pure: bool = False) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(path), mode, str(tmp / f"run-{path.stem}")],
        env={**os.environ, "MQK_PURE_PYTHON": "1" if pure else "0"},
        check=True,
        capture_output=True,
        text=True,
    )
    stats: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return stats


def _cli_case(path: Path, tmp: Path) -> dict[str, float]:
    """``mqk-cli backtest run`` on ``path`` as a user runs it, in a fresh process with no run
    database (interpreter start, imports, config, load, run, artifacts, output): its wall
    time and peak RSS."""
    cli = Path(sys.executable).with_name("mqk-cli")
    out = tmp / f"cli-{path.stem}"
    args = [
        str(cli), "backtest", "run", "--engine", "MAIN", "--bars", str(path),
        "--strategy", "sma_cross", "--param", "fast=10", "--param", "slow=20",
        "--param", "qty=100", "--timeframe", "1m", "--calendar", "XNYS", "--no-costs",
        "--config-dir", str(ROOT / "config"), "--out", str(out), "--json",
    ]  # fmt: skip
    with (tmp / "cli.out").open("wb") as sink, (tmp / "cli.err").open("wb") as errors:
        started = time.perf_counter()
        child = subprocess.Popen(args, cwd=tmp, stdout=sink, stderr=errors)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(
            f"mqk-cli backtest run exited {code} on {path}: {(tmp / 'cli.err').read_text()}"
        )
    return {"wall_s": wall, "peak_rss_mib": usage.ru_maxrss / 1024}


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median end-to-end time, carrying the highest peak RSS of all runs
    (timings on a shared 2-core box vary by tens of percent; memory varies little)."""
    ordered = sorted(runs, key=lambda r: r["load_s"] + r["engine_s"] + r["artifacts_s"])
    median = dict(ordered[len(ordered) // 2])
    for key in ("peak_rss_load_mib", "peak_rss_engine_mib", "peak_rss_mib"):
        median[key] = max(float(r[key]) for r in runs)
    helpers = [float(r["helper_peak_rss_mib"]) for r in runs if r["helper_peak_rss_mib"]]
    median["helper_peak_rss_mib"] = max(helpers) if helpers else None
    return median


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    parser.add_argument("--quick", action="store_true", help="100,000 bars instead of 1,000,000")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per case; the median run is reported"
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    scale = 10 if args.quick else 1
    rows = []
    cli_rows: list[tuple[str, int, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        cases = [
            ("1 symbol", "AAPL", 1_000_000 // scale),
            ("10 symbols", ",".join(f"S{i:02d}" for i in range(10)), 100_000 // scale),
        ]
        for label, symbols, per_symbol in cases:
            path = tmp / f"{label.replace(' ', '_')}.parquet"
            _synth(path, symbols, per_symbol)
            for pure in (False, True):
                runs = []
                for _ in range(max(1, args.repeat)):
                    runs.append(_case(path, "fast", tmp, pure=pure))
                    print(label, "pure" if pure else "as built", runs[-1], flush=True)
                stats = _median_run(runs)
                rows.append((label, stats, int(stats["bars"]) / float(stats["engine_s"])))
            cli = [_cli_case(path, tmp) for _ in range(max(1, args.repeat))]
            print(label, "mqk-cli", cli, flush=True)
            cli.sort(key=lambda r: r["wall_s"])
            wall = cli[len(cli) // 2]["wall_s"]
            cli_rows.append(
                (
                    label,
                    per_symbol * len(symbols.split(",")),
                    wall,
                    max(r["peak_rss_mib"] for r in cli),
                )
            )
    lines = [
        BEGIN,
        "## Backtest: `sma_cross` 10/20, 100 shares, next-open fills, no costs, every gate on",
        "",
        f"Measured by `benchmarks/bench_backtest.py` on {platform.machine()}, Python"
        f" {platform.python_version()}, 2 CPUs, the shipped default config (risk tier, limits)."
        " *Engine* is `run_backtest` on bars already loaded; *end to end* adds reading the"
        " Parquet file and writing every artifact. Each case runs"
        f" {max(1, args.repeat)} times in a fresh process; the run with the median end-to-end"
        " time is shown, with the highest peak RSS of all runs. Peak RSS is the whole"
        " process's (imports ~120 MiB included), after loading, after the engine, and at the"
        " end, in MiB (the 500 MB target is 476.8 MiB). *Modules*: the hot modules as mypyc"
        " extensions (`make compile`, which `make bench` runs first) or their pure-Python"
        " sources (what a wheel installs; same results). As `mqk-cli backtest run` does, each"
        " run has a helper process chain its audit log during the run (`AuditSpool`, on the"
        " second core; its time is in *engine*, moving the file in is in *artifacts*); *helper"
        " RSS* is that process's own peak (VmHWM; its shared libraries count in both).",
        "",
        "| bars | modules | engine | bars/s (engine) | load + artifacts | bars/s (end to end)"
        " | orders sent | kernel | halted | peak RSS load / engine / end | helper RSS |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: |",
    ]
    for label, stats, rate in rows:
        engine_s = float(stats["engine_s"])
        other_s = float(stats["load_s"]) + float(stats["artifacts_s"])
        end_to_end = int(stats["bars"]) / (engine_s + other_s)
        halted = str(stats["halted"]).split(" ")[0] if stats["halted"] else "no"
        kernel = "columnar" if stats["columnar"] else f"steps ({stats['columnar_note']})"
        modules = "compiled" if stats["compiled"] else "pure Python"
        lines.append(
            f"| {int(stats['bars']):,} ({label}) | {modules} | {engine_s:.2f} s | {rate:,.0f} |"
            f" {other_s:.2f} s | {end_to_end:,.0f} | {stats['orders']} | {kernel} | {halted} |"
            f" {float(stats['peak_rss_load_mib']):.0f} / {float(stats['peak_rss_engine_mib']):.0f}"
            f" / {float(stats['peak_rss_mib']):.0f} MiB |"
            f" {_mib(stats['helper_peak_rss_mib'])} |"
        )
    lines += [
        "",
        "The same workloads through `mqk-cli backtest run ... --no-costs --json` as a user runs"
        " them: one fresh process each, no run database, so interpreter start, imports, config,"
        " reading the file, the run, the artifacts and the output are all in (median wall time"
        " of the runs, highest peak RSS; the modules as built):",
        "",
        "| bars | `mqk-cli backtest run` wall | bars/s | peak RSS |",
        "| --- | ---: | ---: | ---: |",
    ]
    for label, bars, wall, rss in cli_rows:
        lines.append(f"| {bars:,} ({label}) | {wall:.2f} s | {bars / wall:,.0f} | {rss:.0f} MiB |")
    lines.append(END)
    if args.write:
        text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
        if BEGIN in text:
            head, _, rest = text.partition(BEGIN)
            _, _, tail = rest.partition(END)
            text = head + "\n".join(lines) + tail
        else:
            text = text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n"
        RESULTS.write_text(text)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
