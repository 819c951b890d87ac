"""Speed of the strategy layer: vectorised targets and the bar-by-bar host.

Run from the workspace root: ``uv run python packages/mqk-strategy/benchmarks/bench_strategy.py``.
Prints bars per second; nothing here is asserted (speed is not a test).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from mqk_schemas import Timeframe
from mqk_strategy import BarArrays, HostSettings, StrategyHost, VectorisedStrategy
from mqk_strategy.builtins import ATR_TREND_SWING, SMA_CROSS, ZSCORE_MEAN_REVERSION

BARS = 1_000_000
HOST_BARS = 200_000
PARAMS = {
    "sma_cross": (SMA_CROSS, {"fast": 10, "slow": 20, "qty": 100}),
    "zscore_mean_reversion": (
        ZSCORE_MEAN_REVERSION,
        {"window": 20, "entry_z": "2", "exit_z": "0.5", "qty": 100, "allow_short": True},
    ),
    "atr_trend_swing": (
        ATR_TREND_SWING,
        {"breakout": 20, "atr_period": 14, "atr_multiple": "3", "qty": 100},
    ),
}


def random_walk(n: int, seed: int = 7) -> BarArrays:
    """A seeded random walk around $100 in 1e-8 units."""
    rng = np.random.default_rng(seed)
    close = np.maximum(10**8, (100 + np.cumsum(rng.normal(0, 1, n))) * 10**8).astype(np.int64)
    wick = rng.integers(0, 10**8, size=(2, n))
    return BarArrays(
        symbol="AAPL",
        ts_close_us=np.arange(n, dtype=np.int64) * 86_400_000_000,
        open=close.copy(),
        high=close + wick[0],
        low=np.maximum(1, close - wick[1]),
        close=close,
        volume=np.ones(n),
    )


def best_of(runs: int, work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    bars = random_walk(BARS)
    print(f"vectorised targets over {BARS:,} bars (best of 3):")
    for name, (spec, params) in PARAMS.items():
        strategy = spec.build(params)
        assert isinstance(strategy, VectorisedStrategy)
        seconds = best_of(3, lambda s=strategy: s.targets_vectorised(bars))  # type: ignore[misc]
        print(f"  {name:24s} {seconds * 1e3:8.1f} ms  {BARS / seconds / 1e6:8.2f} M bars/s")
    print(f"bar-by-bar through StrategyHost.on_fixed_bar over {HOST_BARS:,} bars:")
    columns = [
        c[:HOST_BARS].tolist()
        for c in (bars.ts_close_us, bars.open, bars.high, bars.low, bars.close, bars.volume)
    ]
    rows = list(zip(*columns, strict=True))
    for name, (spec, params) in PARAMS.items():
        host = StrategyHost(
            HostSettings(engine_id="MAIN", max_strategies=1, max_timeframes=1, shadow=False)
        )
        host.add(name, spec.build(params), Timeframe.D1)
        feed = host.on_fixed_bar
        start = time.perf_counter()
        for ts, o, h, low, c, v in rows:
            feed("AAPL", Timeframe.D1, ts, o, h, low, c, v)
        seconds = time.perf_counter() - start
        print(f"  {name:24s} {seconds:8.2f} s   {HOST_BARS / seconds / 1e3:8.1f} k bars/s")


if __name__ == "__main__":
    main()
