"""Speed of the ledger: marks (every bar) and fills (rare).

Run from the workspace root: ``uv run python packages/mqk-portfolio/benchmarks/bench_ledger.py``.
Prints operations per second; nothing here is asserted.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from mqk_portfolio import EngineLedger
from mqk_schemas import Fill, Side

MARKS = 500_000
FILLS = 50_000
T0 = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)


def main() -> None:
    prices = [Decimal(10_000 + i % 997).scaleb(-2) for i in range(MARKS)]
    fills = [
        Fill(
            broker_fill_id=f"F{i}",
            client_order_id=f"MAIN_bench_{i:08d}",
            engine_id="MAIN",
            symbol="AAPL",
            side=Side.BUY if i % 3 else Side.SELL,
            quantity=Decimal(10 + i % 7),
            price=prices[i],
            fee=Decimal("0.35"),
            ts_utc=T0 + timedelta(seconds=i),
        )
        for i in range(FILLS)
    ]
    ledger = EngineLedger("MAIN", Decimal(1_000_000))
    start = time.perf_counter()
    for fill in fills:
        ledger.apply(fill)
    seconds = time.perf_counter() - start
    print(f"apply      {FILLS:>9,} fills  {seconds:6.2f} s  {FILLS / seconds / 1e3:8.1f} k/s")
    mark = ledger.mark
    start = time.perf_counter()
    for price in prices:
        mark("AAPL", price)
    seconds = time.perf_counter() - start
    print(f"mark       {MARKS:>9,} marks  {seconds:6.2f} s  {MARKS / seconds / 1e3:8.1f} k/s")
    start = time.perf_counter()
    for _ in prices:
        ledger.equity  # noqa: B018 (the read is what is measured)
    seconds = time.perf_counter() - start
    print(f"equity     {MARKS:>9,} reads  {seconds:6.2f} s  {MARKS / seconds / 1e3:8.1f} k/s")


if __name__ == "__main__":
    main()
