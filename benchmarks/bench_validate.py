"""Benchmark ``mqk-cli data validate`` on a 1,000,000-bar file: wall time and peak memory.

Generates the file with ``mqk-cli data synth`` (one-minute XNYS bars, seed 7) into a temporary
directory, then runs ``data validate`` on it, each command in its own child process. A small
wrapper process runs each command and reads its peak resident set size with
``resource.getrusage(RUSAGE_CHILDREN)`` once it has exited, so every number belongs to exactly
one command. Run from the repository root::

    uv run python benchmarks/bench_validate.py [--bars 1000000] [--write]

``--write`` replaces the integrity section of ``benchmarks/RESULTS.md`` (between the
``<!-- integrity:begin -->`` / ``<!-- integrity:end -->`` markers) and keeps the rest intact.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
BEGIN, END = "<!-- integrity:begin -->", "<!-- integrity:end -->"

_WRAPPER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
wall = time.perf_counter() - start
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rc": rc, "wall_s": wall, "peak_rss_mib": peak_kib / 1024}))
"""


_LIBRARY = """
import json, resource, sys, time
from decimal import Decimal
from mqk_integrity import IntegritySettings, OutlierPolicy, load_bars, scan_frame
from mqk_schemas import Timeframe
settings = IntegritySettings(
    calendar="XNYS", gap_tolerance_bars=0, stale_feed_seconds=432000,
    feed_disagreement_bps=Decimal(50), outlier_move_fraction=Decimal("0.2"),
    outlier_policy=OutlierPolicy.HALT_NEW,
)
start = time.perf_counter()
frame = load_bars(sys.argv[1], Timeframe.M1)
loaded = time.perf_counter()
scan = scan_frame(frame, settings)
done = time.perf_counter()
assert scan.clean and len(frame) == int(sys.argv[2])
print(json.dumps({
    "load_s": loaded - start, "scan_s": done - loaded,
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def library(path: Path, bars: int) -> dict[str, float]:
    """``load_bars`` + ``scan_frame`` timed inside one process (no CLI start-up)."""
    out = subprocess.run(
        [sys.executable, "-c", _LIBRARY, str(path), str(bars)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from mqk_cli.main import cli; cli()", *args]


def measure(command: list[str]) -> dict[str, float]:
    """Run ``command`` in a fresh wrapper process; exit code, wall seconds and peak RSS (MiB)."""
    out = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *command], check=True, capture_output=True, text=True
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def run(bars: int) -> tuple[list[tuple[str, dict[str, float], int]], dict[str, dict[str, float]]]:
    """Synthesise, then validate as CSV and Parquet: CLI rows (step, measurement, file bytes)
    and the in-process library timings per format."""
    rows = []
    inside: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="mqk-bench-") as tmp:
        for fmt in ("csv", "parquet"):
            path = Path(tmp) / f"BENCH_1m.{fmt}"
            synth = measure(
                _cli(
                    "data",
                    "synth",
                    "--out",
                    str(path),
                    "--symbol",
                    "BENCH",
                    "--timeframe",
                    "1m",
                    "--start",
                    "2015-01-02",
                    "--bars",
                    str(bars),
                    "--seed",
                    "7",
                )
            )
            size = path.stat().st_size
            rows.append((f"data synth -> {fmt}", synth, size))
            check = measure(
                _cli("data", "validate", str(path), "--timeframe", "1m", "--calendar", "XNYS")
            )
            rows.append((f"data validate {fmt}", check, size))
            inside[fmt] = library(path, bars)
    for step, result, _ in rows:
        if result["rc"] != 0:
            raise SystemExit(f"{step} exited {result['rc']}")
    return rows, inside


def render(
    bars: int,
    rows: list[tuple[str, dict[str, float], int]],
    inside: dict[str, dict[str, float]],
) -> str:
    """The markdown integrity section."""
    lines = [
        BEGIN,
        "## Integrity: `mqk-cli data validate` on a large file",
        "",
        f"{bars:,} one-minute XNYS bars of one symbol (`data synth --seed 7`), each command in"
        " its own process (interpreter start and imports included); peak RSS of that process.",
        f"Measured by `benchmarks/bench_validate.py` on {platform.machine()},"
        f" Python {platform.python_version()}, {os.cpu_count()} CPUs.",
        "",
        "| step | file size | wall time | peak RSS |",
        "| --- | ---: | ---: | ---: |",
    ]
    for step, result, size in rows:
        lines.append(
            f"| `{step}` | {size / 2**20:.1f} MiB | {result['wall_s']:.2f} s"
            f" | {result['peak_rss_mib']:.0f} MiB |"
        )
    lines += [
        "",
        "The same file through the library in one process (`load_bars` then `scan_frame`):",
        "",
        "| format | load_bars | scan_frame | bars/s (load + scan) | peak RSS |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for fmt, result in inside.items():
        total = result["load_s"] + result["scan_s"]
        lines.append(
            f"| {fmt} | {result['load_s']:.2f} s | {result['scan_s']:.2f} s"
            f" | {bars / total:,.0f} | {result['peak_rss_mib']:.0f} MiB |"
        )
    lines.append(END)
    return "\n".join(lines) + "\n"


def write_results(section: str) -> None:
    """Replace (or append) the integrity section of RESULTS.md, keeping other sections."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + section.rstrip("\n") + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text, encoding="utf-8")


def main() -> None:
    """Parse arguments, run, print (and optionally record) the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args()
    rows, inside = run(args.bars)
    section = render(args.bars, rows, inside)
    print(section, end="")
    if args.write:
        write_results(section)


if __name__ == "__main__":
    main()
