"""Synthetic bars: deterministic, on the calendar grid, exact cents, valid OHLC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from mqk_integrity import (
    BarFileError,
    IntegritySettings,
    OutlierPolicy,
    SynthError,
    UnknownCalendarError,
    load_bars,
    scan_frame,
    synth_bars,
    write_bars,
)
from mqk_schemas import Timeframe


def _synth(**overrides: object):
    args: dict[str, object] = {
        "symbols": ["AAPL"],
        "timeframe": Timeframe.D1,
        "start": date(2022, 1, 3),
        "bars": 250,
        "seed": 7,
    }
    args.update(overrides)
    return synth_bars(**args)  # type: ignore[arg-type]


def _settings(calendar: str) -> IntegritySettings:
    return IntegritySettings(
        calendar=calendar,
        gap_tolerance_bars=0,
        stale_feed_seconds=60,
        feed_disagreement_bps=Decimal(50),
        outlier_move_fraction=Decimal("0.2"),
        outlier_policy=OutlierPolicy.HALT_NEW,
    )


def invariant_same_seed_gives_the_same_bars_and_another_seed_does_not() -> None:
    assert _synth().frame.equals(_synth().frame)
    assert not _synth().frame.equals(_synth(seed=8).frame)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def invariant_same_seed_writes_byte_identical_files_that_load_back_exactly(
    tmp_path: Path, fmt: str
) -> None:
    first = write_bars(_synth(symbols=["B", "A"]), tmp_path / f"one.{fmt}")
    second = write_bars(_synth(symbols=["A", "B"]), tmp_path / f"two.{fmt}")
    assert first.read_bytes() == second.read_bytes()
    assert load_bars(first, Timeframe.D1).frame.equals(_synth(symbols=["A", "B"]).frame)


@pytest.mark.parametrize(
    ("calendar", "timeframe", "first_close"),
    [
        ("XNYS", Timeframe.D1, datetime(2022, 1, 3, 21, tzinfo=UTC)),
        ("XNYS", Timeframe.M5, datetime(2022, 1, 3, 14, 35, tzinfo=UTC)),
        ("24/7", Timeframe.H4, datetime(2022, 1, 3, 0, tzinfo=UTC)),  # closes at or after start
        ("XHKG", Timeframe.H1, datetime(2022, 1, 3, 2, 30, tzinfo=UTC)),
    ],
)
def invariant_synthetic_bars_sit_on_the_grid_with_valid_exact_cents(
    calendar: str, timeframe: Timeframe, first_close: datetime
) -> None:
    frame = _synth(calendar=calendar, timeframe=timeframe, bars=2000, symbols=["X", "Y"])
    assert len(frame) == 4000
    scan = scan_frame(frame, _settings(calendar))
    assert (scan.clean, scan.gap_count, scan.outlier_count) == (True, 0, 0)
    df = frame.frame
    assert df.get_column("ts_close_utc")[0] == first_close
    cents = Decimal("0.01")
    for name in ("open", "high", "low", "close"):
        values = df.get_column(name)
        assert all(v == v.quantize(cents) and v > 0 for v in values.to_list())
    assert (
        df.select(
            ok=(pl.col("low") <= pl.min_horizontal("open", "close"))
            & (pl.max_horizontal("open", "close") <= pl.col("high"))
            & (pl.col("volume") >= 0)
        )
        .get_column("ok")
        .all()
    )


def unit_each_symbol_has_its_own_stream_independent_of_the_others() -> None:
    alone = _synth(symbols=["MSFT"]).frame
    together = _synth(symbols=["AAPL", "MSFT"]).frame.filter(pl.col("symbol") == "MSFT")
    assert alone.equals(together)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"bars": 0}, "bars"),
        ({"symbols": []}, "symbols"),
        ({"symbols": ["A", "A"]}, "distinct"),
        ({"symbols": ["aapl"]}, "not a symbol"),
        ({"seed": -1}, "seed"),
        ({"start_price": Decimal(0)}, "start_price"),
        ({"volatility": Decimal(0)}, "volatility"),
        ({"regime_bars": 0}, "regime_bars"),
    ],
)
def fault_impossible_parameters_are_typed_errors(overrides: dict[str, object], match: str) -> None:
    with pytest.raises(SynthError, match=match):
        _synth(**overrides)


def fault_unknown_calendar_is_refused() -> None:
    with pytest.raises(UnknownCalendarError):
        _synth(calendar="XXXX")


def fault_writing_incomplete_bars_is_refused(tmp_path: Path) -> None:
    frame = _synth(bars=3)
    incomplete = type(frame)(
        frame.timeframe, frame.frame.with_columns(is_complete=pl.Series([True, False, True]))
    )
    with pytest.raises(BarFileError) as info:
        write_bars(incomplete, tmp_path / "x.csv")
    assert [(p.row, p.rule) for p in info.value.problems] == [(2, "INCOMPLETE_BAR")]
    assert not (tmp_path / "x.csv").exists()


def unit_csv_holds_plain_cents_and_z_times(tmp_path: Path) -> None:
    path = write_bars(_synth(bars=2), tmp_path / "aapl.csv")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "symbol,ts_close_utc,open,high,low,close,volume"
    assert lines[1].startswith("AAPL,2022-01-03T21:00:00Z,")
    assert all("e" not in cell.lower() and cell.count(".") <= 1 for cell in lines[1].split(",")[2:])
