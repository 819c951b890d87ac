"""Where a backtest's time goes: the benchmark's 1-symbol run under cProfile.

Synthesises ``--bars`` one-minute bars (``data synth``, seed 7), runs the ``sma_cross`` 10/20
benchmark config in fast mode under :mod:`cProfile` and prints the functions with the most
cumulative time (profiling roughly doubles the run time; the proportions are what matter).

    uv run python benchmarks/profile_backtest.py [--bars 1000000] [--top 30]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
from datetime import date

from bench_backtest import ROOT, benchmark_config  # type: ignore[import-not-found]

from mqk_backtest import BacktestRequest, deterministic_run_id, run_backtest
from mqk_integrity import synth_bars
from mqk_schemas import Timeframe


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    bars = synth_bars(
        symbols=["AAPL"], timeframe=Timeframe.M1, start=date(2020, 1, 2), bars=args.bars, seed=7
    )
    config = benchmark_config()
    data_hash = "0" * 64
    request = BacktestRequest(
        config=config,
        bars=bars,
        data_files=(str(ROOT / "synthetic"),),
        data_hash=data_hash,
        seed=42,
        run_id=deterministic_run_id("MAIN", config.config_hash, data_hash, 42),
    )
    profile = cProfile.Profile()
    profile.enable()
    result = run_backtest(request)
    profile.disable()
    print(f"{len(result.orders)} orders, columnar={result.columnar} ({result.columnar_note})")
    stats = pstats.Stats(profile)
    stats.sort_stats("cumulative").print_stats(r"mqk_", args.top)


if __name__ == "__main__":
    main()
