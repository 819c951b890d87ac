"""Backtest/paper parity: a paper run replaying the bars gives the backtest's fills exactly.

The same effective config and the same bars go through ``mqk_backtest.run_backtest`` and through
the paper runtime (``mqk_runtime.run_paper``: outbox, journaled paper broker, inbox, ledger);
both must produce the same fills (time, symbol, side, quantity, price, fee), in the same order,
with the same intent sequence numbers, and end with the same cash and equity.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mqk_backtest import BacktestRequest, run_backtest
from mqk_config import load_config
from mqk_db import make_engine, migrate
from mqk_integrity import synth_bars
from mqk_runtime import ReplayFeed, RunStore, run_paper
from mqk_schemas import Fill, Timeframe

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"


def _sma(**extra: Any) -> dict[str, Any]:
    return {
        "engine": {
            "strategies": [{"name": "sma_cross", "params": {"fast": 3, "slow": 8, "qty": 100}}]
        },
        **extra,
    }


CASES: dict[str, tuple[dict[str, Any], tuple[str, ...], tuple[str, ...]]] = {
    "sma_cross": (_sma(), (), ("AAPL",)),
    "zscore_long_short": (
        {
            "engine": {
                "strategies": [
                    {
                        "name": "zscore_mean_reversion",
                        "params": {
                            "window": 10,
                            "entry_z": Decimal("1.5"),
                            "exit_z": Decimal("0.25"),
                            "qty": 50,
                            "allow_short": True,
                        },
                    }
                ]
            },
            "risk": {"allow_short": True},
        },
        (),
        ("AAPL",),
    ),
    "atr_brackets_and_tightening": (
        {
            "engine": {
                "strategies": [
                    {
                        "name": "atr_trend_swing",
                        "params": {"breakout": 10, "atr_period": 5, "atr_multiple": 2, "qty": 60},
                    }
                ]
            }
        },
        (),
        ("AAPL",),
    ),
    "stress_latency_and_slippage": (_sma(), ("latency_high", "slippage_x2"), ("AAPL",)),
    "two_symbols_partial_fills": (
        _sma(execution={"partial_fills": {"enabled": True, "probability": Decimal("0.5")}}),
        (),
        ("AAPL", "MSFT"),
    ),
}


def _economics(fills: tuple[Fill, ...] | list[Fill]) -> list[tuple[Any, ...]]:
    return [
        (f.ts_utc, f.symbol, f.side, f.quantity, f.price, f.fee, f.client_order_id.split("_")[-1])
        for f in fills
    ]


@pytest.mark.parametrize("case", list(CASES))
def invariant_paper_fills_equal_backtest_fills_on_the_same_bars(tmp_path: Path, case: str) -> None:
    overrides, stress, symbols = CASES[case]
    config = load_config(CONFIG_DIR, engine="MAIN", env="dev", overrides=overrides, stress=stress)
    bars = synth_bars(
        symbols=list(symbols), timeframe=Timeframe.D1, start=date(2024, 1, 2), bars=150, seed=8
    )
    backtest = run_backtest(
        BacktestRequest(
            config=config,
            bars=bars,
            data_files=("synthetic",),
            data_hash="0" * 64,
            seed=42,
            run_id=uuid.uuid4(),
        )
    )
    url = f"sqlite:///{tmp_path / 'paper.db'}"
    migrate(url)
    db = make_engine(url)
    try:
        paper = run_paper(db, config, ReplayFeed(bars))
        paper_fills = RunStore(db, paper.run_id, "MAIN").fills()
    finally:
        db.dispose()
    assert backtest.fills
    assert _economics(paper_fills) == _economics(backtest.fills)
    assert (paper.cash, paper.equity) == (backtest.final_cash, backtest.final_equity)
    assert paper.halt_reason is None
    assert backtest.halted is None
