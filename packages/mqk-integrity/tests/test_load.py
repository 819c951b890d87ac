"""Loading bar files: exact values on success, the whole file refused with named problems."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mqk_integrity import MAX_PROBLEMS, BarFileError, Problem, load_bars
from mqk_integrity._read import as_text, read_batches
from mqk_schemas import BAR_FRAME_SCHEMA, Timeframe

GOOD = [
    "2022-01-03T21:00:00Z,100,101.5,99,100.5,1000",
    "2022-01-04T21:00:00+00:00,100.5,102,100,101.25,1200",
    "2022-01-05T21:00:00Z,101.25,101.5,100.1,100.2,900",
]


def _problems(path: Path, **kwargs: object) -> list[tuple[int | None, str | None, str]]:
    with pytest.raises(BarFileError) as info:
        load_bars(path, Timeframe.D1, **kwargs)  # type: ignore[arg-type]
    return [(p.row, p.column, p.rule) for p in info.value.problems]


def unit_csv_loads_exact_decimals_utc_times_and_the_stem_symbol(write_csv) -> None:
    frame = load_bars(write_csv(GOOD, name="aapl.csv"), Timeframe.D1)
    assert frame.timeframe is Timeframe.D1
    assert dict(frame.frame.schema) == BAR_FRAME_SCHEMA
    first = frame.row(0)
    assert first.symbol == "AAPL"
    assert first.ts_close_utc == datetime(2022, 1, 3, 21, tzinfo=UTC)
    assert (first.open, first.high, first.low, first.close) == (
        Decimal(100),
        Decimal("101.5"),
        Decimal(99),
        Decimal("100.5"),
    )
    assert frame.frame.get_column("close").to_list()[2] == Decimal("100.2")
    assert frame.frame.get_column("is_complete").all()


def unit_symbol_argument_names_a_file_without_symbol_column(write_csv) -> None:
    frame = load_bars(write_csv(GOOD, name="whatever_1d.csv"), Timeframe.D1, symbol="MSFT")
    assert frame.symbols == ("MSFT",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-01-03T21:00:00Z", datetime(2022, 1, 3, 21, tzinfo=UTC)),
        ("2022-01-03T21:00:00+00:00", datetime(2022, 1, 3, 21, tzinfo=UTC)),
        ("2022-01-03 21:00:00Z", datetime(2022, 1, 3, 21, tzinfo=UTC)),
        ("2022-01-03T16:00:00-05:00", datetime(2022, 1, 3, 21, tzinfo=UTC)),
        ("2022-01-04T02:30:00+0530", datetime(2022, 1, 3, 21, tzinfo=UTC)),
        ("2022-01-03T21:00:00.250000Z", datetime(2022, 1, 3, 21, 0, 0, 250000, tzinfo=UTC)),
        (" 2022-01-03T21:00:00Z ", datetime(2022, 1, 3, 21, tzinfo=UTC)),
    ],
)
def unit_iso_times_with_an_offset_are_converted_to_utc(write_csv, text, expected) -> None:
    frame = load_bars(write_csv([f"{text},1,1,1,1,0"]), Timeframe.D1, symbol="X")
    assert frame.row(0).ts_close_utc == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("101.25", Decimal("101.25")),
        ("+7", Decimal(7)),
        ("0.00000001", Decimal("0.00000001")),
        ("000123.4000000000", Decimal("123.4")),
        ("999999999999999999.99999999", Decimal("999999999999999999.99999999")),
        ('"42.5"', Decimal("42.5")),
    ],
)
def unit_price_text_converts_exactly(write_csv, cell, expected) -> None:
    path = write_csv([f"2022-01-03T21:00:00Z,{cell},{cell},{cell},{cell},0"])
    frame = load_bars(path, Timeframe.D1, symbol="X")
    assert frame.row(0).close == expected


def unit_symbol_column_with_interleaved_symbols_is_sorted_by_symbol_then_time(write_csv) -> None:
    rows = [
        "MSFT,2022-01-03T21:00:00Z,1,1,1,1,0",
        "AAPL,2022-01-03T21:00:00Z,2,2,2,2,0",
        "MSFT,2022-01-04T21:00:00Z,3,3,3,3,0",
        "AAPL,2022-01-04T21:00:00Z,4,4,4,4,0",
    ]
    frame = load_bars(
        write_csv(rows, header="symbol," + "ts_close_utc,open,high,low,close,volume"), Timeframe.D1
    )
    assert frame.frame.get_column("symbol").to_list() == ["AAPL", "AAPL", "MSFT", "MSFT"]
    assert frame.frame.get_column("close").to_list() == [Decimal(v) for v in (2, 4, 1, 3)]


def unit_parquet_with_decimal_integer_and_text_columns_loads(tmp_path: Path) -> None:
    path = tmp_path / "bars.parquet"
    pl.DataFrame(
        {
            "ts_close_utc": pl.Series([datetime(2022, 1, 3, 21, tzinfo=UTC)]).cast(
                pl.Datetime("ns", "America/New_York")
            ),
            "open": pl.Series(["100.5"]).cast(pl.Decimal(20, 4)),
            "high": pl.Series([101], dtype=pl.Int64),
            "low": ["99.25"],
            "close": pl.Series(["100.00000001"]).cast(pl.Decimal(38, 10)),
            "volume": pl.Series([5], dtype=pl.UInt32),
            "symbol": pl.Series(["SPY"], dtype=pl.Categorical),
        }
    ).write_parquet(path)
    bar = load_bars(path, Timeframe.D1).row(0)
    assert (bar.symbol, bar.ts_close_utc) == ("SPY", datetime(2022, 1, 3, 21, tzinfo=UTC))
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == (
        Decimal("100.5"),
        Decimal(101),
        Decimal("99.25"),
        Decimal("100.00000001"),
        Decimal(5),
    )


ROW_RULES = [
    # (data row, the bad cell's column, the text placed there, expected rule)
    ("open", "", "EMPTY_CELL"),
    ("open", "NaN", "NON_FINITE"),
    ("close", "inf", "NON_FINITE"),
    ("high", "-Infinity", "NON_FINITE"),
    ("low", "abc", "NOT_A_NUMBER"),
    ("low", "1e2", "NOT_A_NUMBER"),
    ("low", '"1,5"', "NOT_A_NUMBER"),
    ("close", "100.123456789", "TOO_MANY_DECIMALS"),
    ("high", "1000000000000000000", "TOO_LARGE"),
    ("volume", "-1", "NEGATIVE_VOLUME"),
    ("open", "0", "NON_POSITIVE_PRICE"),
    ("close", "-3", "NON_POSITIVE_PRICE"),
    ("ts_close_utc", "2022-01-04T21:00:00", "NAIVE_TIMESTAMP"),
    ("ts_close_utc", "2022-01-04", "NAIVE_TIMESTAMP"),
    ("ts_close_utc", "2022-02-30T21:00:00Z", "BAD_TIMESTAMP"),
    ("ts_close_utc", "yesterday", "BAD_TIMESTAMP"),
    ("ts_close_utc", "2022-01-04T21:00:00.1234567Z", "BAD_TIMESTAMP"),
    ("ts_close_utc", "", "EMPTY_CELL"),
]


@pytest.mark.parametrize(("column", "text", "rule"), ROW_RULES)
def unit_bad_cell_refuses_the_file_naming_row_column_and_rule(
    write_csv, column, text, rule
) -> None:
    cells = dict(
        zip(
            ["ts_close_utc", "open", "high", "low", "close", "volume"],
            GOOD[1].split(","),
            strict=True,
        )
    )
    cells[column] = text
    # keep the bar well formed apart from the cell under test
    if column in ("open", "close") and rule == "NON_POSITIVE_PRICE":
        cells["low"] = "-5"
    rows = [GOOD[0], ",".join(cells.values()), GOOD[2]]
    problems = _problems(write_csv(rows), symbol="X")
    assert (2, column, rule) in problems


@pytest.mark.parametrize(
    ("open_", "high", "low", "close", "expected"),
    [
        ("100", "101", "100.5", "100.8", [(1, "low", "OHLC_STRUCTURE")]),
        ("100", "100.5", "99", "101", [(1, "high", "OHLC_STRUCTURE")]),
        ("100", "99", "101", "100", [(1, "high", "OHLC_STRUCTURE"), (1, "low", "OHLC_STRUCTURE")]),
        ("100", "101", "100.5", "100.5", [(1, "low", "OHLC_STRUCTURE")]),  # low above open only
        ("99", "101", "99.5", "100", [(1, "low", "OHLC_STRUCTURE")]),  # low above open only
        ("100", "100", "99", "100", []),  # high = max(open, close): fine
        ("100", "100.5", "99", "100.6", [(1, "high", "OHLC_STRUCTURE")]),  # close above high only
        ("100.6", "100.5", "99", "100", [(1, "high", "OHLC_STRUCTURE")]),  # open above high only
        # a price that is not a number is named alone: the structure needs all four
        ("", "99", "101", "100", [(1, "open", "EMPTY_CELL")]),
        ("100", "99", "x", "100", [(1, "low", "NOT_A_NUMBER")]),
        ("100", "", "101", "100", [(1, "high", "EMPTY_CELL")]),
    ],
)
def unit_ohlc_structure_violations_name_the_row_and_column(
    write_csv, open_, high, low, close, expected
) -> None:
    path = write_csv([f"2022-01-03T21:00:00Z,{open_},{high},{low},{close},10"])
    if not expected:
        assert len(load_bars(path, Timeframe.D1, symbol="X")) == 1
        return
    assert _problems(path, symbol="X") == expected


@pytest.mark.parametrize(
    ("second", "rule"),
    [
        ("2022-01-03T21:00:00Z", "DUPLICATE_TIMESTAMP"),
        ("2022-01-03T16:00:00-05:00", "DUPLICATE_TIMESTAMP"),
        ("2022-01-02T21:00:00Z", "NOT_INCREASING"),
    ],
)
def unit_time_order_is_strict_per_symbol(write_csv, second, rule) -> None:
    rows = ["2022-01-03T21:00:00Z,1,1,1,1,0", f"{second},1,1,1,1,0"]
    assert _problems(write_csv(rows), symbol="X") == [(2, "ts_close_utc", rule)]


def unit_same_time_for_two_symbols_is_not_a_duplicate(write_csv) -> None:
    rows = ["AAPL,2022-01-03T21:00:00Z,1,1,1,1,0", "MSFT,2022-01-03T21:00:00Z,1,1,1,1,0"]
    header = "symbol,ts_close_utc,open,high,low,close,volume"
    assert len(load_bars(write_csv(rows, header=header), Timeframe.D1)) == 2


@pytest.mark.parametrize(
    ("symbol_cell", "argument", "rule"),
    [("aapl", None, "BAD_SYMBOL"), ("", None, "BAD_SYMBOL"), ("AAPL", "MSFT", "SYMBOL_MISMATCH")],
)
def unit_symbol_column_values_are_checked(write_csv, symbol_cell, argument, rule) -> None:
    header = "symbol,ts_close_utc,open,high,low,close,volume"
    path = write_csv([f"{symbol_cell},2022-01-03T21:00:00Z,1,1,1,1,0"], header=header)
    assert _problems(path, symbol=argument) == [(1, "symbol", rule)]


def unit_an_invalid_stem_symbol_is_refused_with_advice(write_csv) -> None:
    problems = _problems(write_csv(GOOD, name="my bars.csv"))
    assert problems == [(None, "symbol", "BAD_SYMBOL")]


def fault_many_problems_list_the_first_twenty_in_row_order_and_count_all(write_csv) -> None:
    rows = [f"2022-01-{d:02d}T21:00:00Z,100,99,101,100,1" for d in range(1, 31)]  # 2 each
    with pytest.raises(BarFileError) as info:
        load_bars(write_csv(rows), Timeframe.D1, symbol="X")
    error = info.value
    assert len(error.problems) == MAX_PROBLEMS
    assert error.total == 60
    assert [p.row for p in error.problems] == [r for r in range(1, 11) for _ in range(2)]
    assert all(p.file.endswith("bars.csv") and p.rule == "OHLC_STRUCTURE" for p in error.problems)
    assert "and 40 more" in str(error)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            "ts_close_utc,open,high,low,close",
            [(None, "volume", "MISSING_COLUMN")],
        ),
        (
            "ts_close_utc,open,high,low,close,volume,vwap",
            [(None, "vwap", "UNKNOWN_COLUMN")],
        ),
        (
            "ts_close_utc,open,high,low,close,volume,close",
            [(None, "close", "DUPLICATE_COLUMN")],
        ),
        (
            "time,open,high,low,close,volume",
            [(None, "time", "UNKNOWN_COLUMN"), (None, "ts_close_utc", "MISSING_COLUMN")],
        ),
    ],
)
def unit_header_problems_refuse_the_file(write_csv, header, expected) -> None:
    assert _problems(write_csv(["x,1,1,1,1,1"], header=header), symbol="X") == expected


@pytest.mark.parametrize(
    ("name", "content", "rule"),
    [
        ("empty.csv", b"", "EMPTY_FILE"),
        ("header_only.csv", b"ts_close_utc,open,high,low,close,volume\n", "EMPTY_FILE"),
        (
            "ragged.csv",
            b"ts_close_utc,open,high,low,close,volume\n2022-01-03T21:00:00Z,1,1,1,1,1,9,9\n",
            "MALFORMED_FILE",
        ),
        ("binary.csv", b"\xff\xfe\x00\x01garbage", "MALFORMED_FILE"),
        ("broken.parquet", b"PAR1 this is not parquet", "MALFORMED_FILE"),
        ("bars.txt", b"ts_close_utc,open,high,low,close,volume\n", "UNSUPPORTED_FORMAT"),
    ],
)
def fault_unreadable_files_are_typed_errors_not_tracebacks(tmp_path, name, content, rule) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert _problems(path, symbol="X") == [(None, None, rule)]


def fault_missing_file_is_a_typed_error(tmp_path: Path) -> None:
    assert _problems(tmp_path / "nope.csv", symbol="X") == [(None, None, "FILE_NOT_FOUND")]


@pytest.mark.parametrize(
    ("column", "series", "rule"),
    [
        ("close", pl.Series([100.5]), "WRONG_TYPE"),
        ("ts_close_utc", pl.Series([datetime(2022, 1, 3, 21)]), "NAIVE_TIMESTAMP"),
        ("ts_close_utc", pl.Series([datetime(2022, 1, 3).date()]), "WRONG_TYPE"),
        ("symbol", pl.Series([1]), "WRONG_TYPE"),
    ],
)
def fault_parquet_columns_of_the_wrong_type_are_refused(tmp_path, column, series, rule) -> None:
    data: dict[str, pl.Series] = {
        "symbol": pl.Series(["X"]),
        "ts_close_utc": pl.Series(["2022-01-03T21:00:00Z"]),
        **{c: pl.Series(["1"]) for c in ("open", "high", "low", "close", "volume")},
    }
    data[column] = series
    path = tmp_path / "bars.parquet"
    pl.DataFrame(data).write_parquet(path)
    assert _problems(path) == [(None, column, rule)]


def unit_problem_renders_file_row_column_and_rule() -> None:
    problem = Problem("a.csv", 3, "low", "OHLC_STRUCTURE", "low > min(open, close)")
    assert str(problem) == "a.csv row 3 column low: OHLC_STRUCTURE: low > min(open, close)"


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def invariant_chunked_reading_gives_the_same_frame_and_global_row_numbers(
    tmp_path: Path, suffix: str
) -> None:
    rows = [f"2022-01-{d:02d}T21:00:00Z,{d},{d + 1},{d},{d},5" for d in range(3, 13)]
    rows[6] = "2022-01-08T21:00:00Z,1,1,1,1,5"  # repeats row 6's time: across a chunk edge
    rows[8] = "2022-01-11T21:00:00Z,5,1,1,1,5"  # high below open
    csv_path = tmp_path / "x.csv"
    csv_path.write_text("\n".join(["ts_close_utc,open,high,low,close,volume", *rows]) + "\n")
    path = csv_path
    if suffix == "parquet":
        path = tmp_path / "x.parquet"
        pl.read_csv(csv_path, infer_schema=False).write_parquet(path)
    found = []
    for chunk_rows in (1, 2, 3, 250_000):
        with pytest.raises(BarFileError) as info:
            load_bars(path, Timeframe.D1, symbol="X", chunk_rows=chunk_rows)
        found.append([(p.row, p.column, p.rule) for p in info.value.problems])
    assert (
        found == [[(7, "ts_close_utc", "DUPLICATE_TIMESTAMP"), (9, "high", "OHLC_STRUCTURE")]] * 4
    )
    good = [r for k, r in enumerate(rows) if k not in (6, 8)]
    csv_path.write_text("\n".join(["ts_close_utc,open,high,low,close,volume", *good]) + "\n")
    whole = load_bars(csv_path, Timeframe.D1, symbol="X")
    assert load_bars(csv_path, Timeframe.D1, symbol="X", chunk_rows=3).frame.equals(whole.frame)


@pytest.mark.parametrize("block_bytes", [1, 7, 64, 8 << 20])
def invariant_csv_blocks_cut_at_line_ends_whatever_their_size(tmp_path, block_bytes) -> None:
    rows = [f"2022-01-{d:02d}T21:00:00Z,{d}.5,{d + 1},{d},{d}.25,{d * 100}" for d in range(3, 20)]
    path = tmp_path / "x.csv"
    path.write_text(
        "ts_close_utc,open,high,low,close,volume\r\n" + "\r\n".join(rows)
    )  # no final EOL
    batches = list(read_batches(path, block_bytes=block_bytes))
    text = pl.concat(batches)
    assert text.columns == ["ts_close_utc", "open", "high", "low", "close", "volume"]
    assert [",".join(r) for r in text.iter_rows()] == rows


def unit_quoted_cells_may_hold_commas_and_line_breaks(write_csv) -> None:
    header = "symbol,ts_close_utc,open,high,low,close,volume"
    rows = ['"AAPL",2022-01-03T21:00:00Z,1,1,1,1,0', '"MS\nFT",2022-01-03T21:00:00Z,1,1,1,1,0']
    problems = _problems(write_csv(rows, header=header))
    assert problems == [(2, "symbol", "BAD_SYMBOL")]


# Parquet columns of an exact type are converted directly when that provably gives what their
# text gives, and through their text otherwise: either way the outcome is that of the text.

Outcome = tuple[str, object]


def _outcome(path: Path, chunk_rows: int = 250_000) -> Outcome:
    """The loaded frame, or the problems (row, column, rule, message) and their total."""
    try:
        frame = load_bars(path, Timeframe.D1, chunk_rows=chunk_rows)
    except BarFileError as exc:
        found = [(p.row, p.column, p.rule, p.message) for p in exc.problems]
        return "refused", (found, exc.total)
    return "loaded", frame.frame


def _same_outcome(a: Outcome, b: Outcome) -> bool:
    if a[0] != b[0]:
        return False
    if a[0] == "loaded":
        return bool(a[1].equals(b[1]))  # type: ignore[attr-defined]
    return a[1] == b[1]


def _typed_and_text(tmp_path: Path, columns: dict[str, pl.Series]) -> tuple[Path, Path]:
    typed, text = tmp_path / "typed.parquet", tmp_path / "text.parquet"
    frame = pl.DataFrame(list(columns.values()))
    frame.write_parquet(typed)
    pl.DataFrame([as_text(frame.get_column(name)) for name in frame.columns]).write_parquet(text)
    return typed, text


def _numbers(dtype: pl.DataType, texts: list[str | None]) -> pl.Series:
    return pl.Series(texts, dtype=pl.String).cast(dtype)


_UTC_DAYS = [datetime(2022, 1, d, 21, tzinfo=UTC) for d in range(3, 9)]


def _bars(**columns: pl.Series) -> dict[str, pl.Series]:
    base: dict[str, pl.Series] = {
        "symbol": pl.Series("symbol", ["SPY"] * 6),
        "ts_close_utc": pl.Series("ts_close_utc", _UTC_DAYS),
        "open": _numbers(pl.Decimal(38, 8), ["100.5", "101", "102", "103", "104", "105"]),
        "high": _numbers(pl.Decimal(38, 8), ["101", "102", "103", "104", "105", "106"]),
        "low": _numbers(pl.Decimal(38, 8), ["99", "100", "101", "102", "103", "104"]),
        "close": _numbers(pl.Decimal(38, 8), ["100.75", "101", "102", "103", "104", "105"]),
        "volume": _numbers(pl.Decimal(38, 8), ["10", "11", "12", "13", "14", "15"]),
    }
    base.update(columns)
    return {name: series.alias(name) for name, series in base.items()}


def _dec(precision: int, scale: int, *texts: str | None) -> pl.Series:
    return _numbers(pl.Decimal(precision, scale), list(texts))


def _ints(dtype: pl.DataType, *values: int | None) -> pl.Series:
    return pl.Series(list(values), dtype=dtype)


def _times(unit: str, zone: str, *, shift_ns: int = 0) -> pl.Series:
    ns = pl.Series(_UTC_DAYS).cast(pl.Datetime("ns", "UTC")).to_physical() + shift_ns
    typed = ns.cast(pl.Datetime("ns", "UTC")).cast(pl.Datetime(unit, "UTC"))  # type: ignore[arg-type]
    return typed.dt.convert_time_zone(zone)


def _days(*days: datetime | None) -> pl.Series:
    return pl.Series(list(days), dtype=pl.Datetime("us", "UTC"))


def _after_year_9999() -> pl.Series:
    """Six daily closes from 1 January 10000 (text: ``+10000-01-01T21:00:00Z``)."""
    first = (datetime(9999, 12, 31, 21, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)).days + 1
    us = [((first + k) * 86_400 + 75_600) * 1_000_000 for k in range(6)]
    return pl.Series(us, dtype=pl.Int64).cast(pl.Datetime("us", "UTC"))


_D = _UTC_DAYS
TYPED_CASES = [
    # (case, columns replacing the Decimal(38, 8) / datetime / text defaults of _bars)
    ("decimal(38,8)", {}),
    ("decimal(20,4)", {"open": _dec(20, 4, "100.5", "101", "102", "103", "104", "105")}),
    ("decimal(38,0)", {"volume": _dec(38, 0, "10", "0", "12", "13", "14", "15")}),
    (
        "decimal(38,10) exact",
        {"close": _dec(38, 10, "100.75", "101.00000001", "102", "103", "104", "105")},
    ),
    (
        "decimal(38,10) too precise",
        {"close": _dec(38, 10, "100.75", "101.000000001", "102", "103", "104", "105.0000000001")},
    ),
    ("decimal(38,22)", {"close": _dec(38, 22, "100.75", "101", "102", "103", "104", "105")}),
    (
        "decimal too large",
        {"high": _dec(38, 8, "101", "1000000000000000000", "103", "104", "105", "106")},
    ),
    (
        "decimal largest",
        {"high": _dec(38, 8, "101", "999999999999999999.99999999", "103", "104", "105", "106")},
    ),
    ("decimal negative and zero", {"low": _dec(38, 8, "99", "-0.5", "0", "102", "103", "104")}),
    ("decimal empty cell", {"open": _dec(38, 8, "100.5", None, "102", "103", "104", "105")}),
    ("int64", {"volume": _ints(pl.Int64, 10, 11, 12, 13, 14, 15)}),
    ("uint32", {"volume": _ints(pl.UInt32, 10, 11, 12, 13, 14, 15)}),
    ("int64 negative", {"volume": _ints(pl.Int64, 10, -11, 12, 13, 14, 15)}),
    ("int64 too large", {"volume": _ints(pl.Int64, 10, 10**18, 12, 13, 14, -(10**18))}),
    ("int64 largest", {"volume": _ints(pl.Int64, 10, 10**18 - 1, 12, 13, 14, 1 - 10**18)}),
    ("uint64 too large", {"volume": _ints(pl.UInt64, 10, 2**64 - 1, 12, 13, 14, 15)}),
    ("int empty cell", {"volume": _ints(pl.Int64, 10, None, 12, 13, 14, 15)}),
    ("text numbers", {"open": pl.Series(["100.5", " 101 ", "102", "103", "104", "105"])}),
    ("categorical symbol", {"symbol": pl.Series(["SPY"] * 6, dtype=pl.Categorical)}),
    ("enum symbol", {"symbol": pl.Series(["SPY"] * 6, dtype=pl.Enum(["SPY", "QQQ"]))}),
    ("bad symbols", {"symbol": pl.Series(["SPY", " SPY ", "spy", None, "SPY", "SPY"])}),
    ("two symbols grouped", {"symbol": pl.Series(["QQQ", "QQQ", "QQQ", "SPY", "SPY", "SPY"])}),
    ("datetime ns new york", {"ts_close_utc": _times("ns", "America/New_York")}),
    ("datetime ms tokyo", {"ts_close_utc": _times("ms", "Asia/Tokyo")}),
    ("datetime ns sub-microsecond", {"ts_close_utc": _times("ns", "UTC", shift_ns=1)}),
    ("datetime ns whole microsecond", {"ts_close_utc": _times("ns", "UTC", shift_ns=7000)}),
    ("datetime empty cell", {"ts_close_utc": _days(_D[0], _D[1], None, _D[3], _D[4], _D[5])}),
    ("datetime repeated, earlier", {"ts_close_utc": _days(*(_D[k] for k in (0, 1, 1, 3, 2, 5)))}),
    ("datetime year 1700", {"ts_close_utc": _days(datetime(1700, 1, 4, tzinfo=UTC), *_D[1:])}),
    ("datetime year 3000", {"ts_close_utc": _days(*_D[:5], datetime(3000, 1, 3, tzinfo=UTC))}),
    ("datetime year 10000", {"ts_close_utc": _after_year_9999()}),
]


@pytest.mark.parametrize("chunk_rows", [250_000, 4, 1])
@pytest.mark.parametrize(("case", "columns"), TYPED_CASES, ids=[c for c, _ in TYPED_CASES])
def invariant_typed_parquet_columns_load_as_their_text_does(
    tmp_path: Path, case: str, columns: dict[str, pl.Series], chunk_rows: int
) -> None:
    typed, text = _typed_and_text(tmp_path, _bars(**columns))
    expected = _outcome(text, chunk_rows)
    assert _same_outcome(_outcome(typed, chunk_rows), expected), case
    assert _same_outcome(_outcome(typed), expected), case  # chunking changes nothing either


def unit_typed_parquet_values_are_exact_decimals(tmp_path: Path) -> None:
    typed, _ = _typed_and_text(
        tmp_path,
        _bars(
            close=_numbers(
                pl.Decimal(38, 10),
                ["100.12345678", "101.1", "102", "103.5", "104", "105.00000001"],
            ),
            volume=pl.Series([10, 11, 12, 13, 14, 999_999_999_999_999_999], dtype=pl.Int64),
            low=_numbers(pl.Decimal(38, 8), ["0.1", "100", "101", "102", "103", "104"]),
        ),
    )
    frame = load_bars(typed, Timeframe.D1).frame
    assert frame.get_column("close").to_list() == [
        Decimal(v) for v in ("100.12345678", "101.1", "102", "103.5", "104", "105.00000001")
    ]
    assert frame.get_column("low")[0] == Decimal("0.1")
    assert frame.get_column("volume")[5] == Decimal(999_999_999_999_999_999)


_DAY_US = 86_400_000_000
_START_US = 1_640_000_000_000_000


@st.composite
def typed_columns(draw: st.DrawFn) -> dict[str, pl.Series]:
    """Random Parquet columns of every accepted type, with empty, huge and too precise cells."""
    n = draw(st.integers(1, 9))

    def number(dtype: pl.DataType) -> pl.Series:
        scale = dtype.scale if isinstance(dtype, pl.Decimal) else 0
        digits = st.integers(-(10**19), 10**19) | st.integers(-5, 10**6)
        units = draw(st.lists(st.none() | digits, min_size=n, max_size=n))
        if dtype == pl.UInt32:
            units = [None if u is None else abs(u) % 2**32 for u in units]
        elif dtype == pl.Int64:
            units = [None if u is None else max(min(u, 2**63 - 1), -(2**63)) for u in units]
        texts = [None if u is None else str(Decimal(u).scaleb(-scale)) for u in units]
        if isinstance(dtype, pl.Decimal):
            return pl.Series(texts, dtype=pl.String).cast(dtype)
        return pl.Series([None if u is None else int(u) for u in units], dtype=dtype)

    dtypes = [pl.Decimal(38, 8), pl.Decimal(20, 4), pl.Decimal(38, 0), pl.Decimal(38, 11)]
    dtypes += [pl.Decimal(38, 22), pl.Int64, pl.UInt32]
    columns = {name: number(draw(st.sampled_from(dtypes))) for name in NUMERIC}
    unit = draw(st.sampled_from(["ms", "us", "ns"]))
    per_us = {"ms": 1 / 1000, "us": 1, "ns": 1000}[unit]
    steps = draw(st.lists(st.integers(-1, 3), min_size=n, max_size=n))
    offsets = draw(
        st.lists(st.sampled_from([0, 0, 0, 1, 999, 1000, 123_456]), min_size=n, max_size=n)
    )
    times = []
    at = _START_US
    for step, offset in zip(steps, offsets, strict=True):
        at += step * _DAY_US
        times.append(int(at * per_us) + (offset if unit == "ns" else 0))
    if draw(st.booleans()):
        times[draw(st.integers(0, n - 1))] = None  # type: ignore[call-overload]
    zone = draw(st.sampled_from(["UTC", "America/New_York", "Asia/Tokyo"]))
    columns["ts_close_utc"] = pl.Series(times, dtype=pl.Int64).cast(pl.Datetime(unit, "UTC"))
    columns["ts_close_utc"] = columns["ts_close_utc"].dt.convert_time_zone(zone)
    symbols = draw(st.lists(st.sampled_from(["AAA", "BBB", "AAA", "bad"]), min_size=n, max_size=n))
    columns["symbol"] = pl.Series(sorted(symbols) if draw(st.booleans()) else symbols)
    if draw(st.booleans()):
        columns["symbol"] = columns["symbol"].cast(pl.Categorical)
    return {name: series.alias(name) for name, series in columns.items()}


NUMERIC = ("open", "high", "low", "close", "volume")


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(typed_columns(), st.sampled_from([250_000, 3, 1]))
def invariant_random_typed_parquet_loads_as_its_text_does(
    tmp_path: Path, columns: dict[str, pl.Series], chunk_rows: int
) -> None:
    typed, text = _typed_and_text(tmp_path, columns)
    assert _same_outcome(_outcome(typed, chunk_rows), _outcome(text, chunk_rows))


def _order_problems_row_by_row(
    rows: list[tuple[str, int]],
) -> tuple[list[tuple[int, str, str, str]], int]:
    """Reference of the time-order rules: each row against the row before it of its symbol."""
    found = []
    last: dict[str, tuple[int, datetime]] = {}
    for row, (symbol, day) in enumerate(rows, start=1):
        ts = datetime(2022, 1, 3, 21, tzinfo=UTC) + timedelta(days=day)
        if symbol in last:
            before, previous = last[symbol]
            where = f"row {before} ({symbol})"
            if ts == previous:
                message = f"{ts:%Y-%m-%dT%H:%M:%S}Z repeats the close time of {where}"
                found.append((row, "ts_close_utc", "DUPLICATE_TIMESTAMP", message))
            elif ts < previous:
                message = (
                    f"{ts:%Y-%m-%dT%H:%M:%S}Z is before the close time of {where};"
                    " times must strictly increase per symbol"
                )
                found.append((row, "ts_close_utc", "NOT_INCREASING", message))
        last[symbol] = (row, ts)
    return found[:MAX_PROBLEMS], len(found)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.tuples(st.sampled_from(["AAA", "BBB", "CCC"]), st.integers(0, 5)), max_size=40),
    st.booleans(),
    st.sampled_from([250_000, 7, 1]),
)
def invariant_time_order_problems_of_grouped_and_interleaved_rows_match_a_row_by_row_walk(
    tmp_path: Path, rows: list[tuple[str, int]], grouped: bool, chunk_rows: int
) -> None:
    if grouped:  # each symbol's rows together, as a bar frame is written
        rows = sorted(rows, key=lambda r: r[0])
    day = datetime(2022, 1, 3, 21, tzinfo=UTC)
    lines = [
        f"{symbol},{day + timedelta(days=d):%Y-%m-%dT%H:%M:%S}Z,1,1,1,1,0" for symbol, d in rows
    ]
    path = tmp_path / "order.csv"
    path.write_text("\n".join(["symbol,ts_close_utc,open,high,low,close,volume", *lines]) + "\n")
    expected, total = _order_problems_row_by_row(rows)
    outcome = _outcome(path, chunk_rows)
    if not rows:
        assert outcome[0] == "refused"  # no bars at all
    elif total == 0:
        assert outcome[0] == "loaded"
    else:
        assert outcome == ("refused", (expected, total))


EDGE_TIMES = [
    "2022-01-03T21:00:00Z",
    "2024-02-29T21:00:00Z",  # leap day
    "2000-02-29T21:00:00Z",
    "2022-02-29T21:00:00Z",  # not a leap year
    "1900-02-29T21:00:00Z",
    "2022-04-31T21:00:00Z",
    "2022-13-01T21:00:00Z",
    "2022-00-10T21:00:00Z",
    "2022-01-00T21:00:00Z",
    "2022-01-03T24:00:00Z",
    "2022-01-03T23:60:00Z",
    "2022-01-03T23:59:60Z",  # a leap second
    "1969-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
]


@pytest.mark.parametrize("text", EDGE_TIMES)
def invariant_whole_second_times_read_as_their_fractional_form(write_csv, text: str) -> None:
    """``...SSZ`` cells take a faster parse than ``...SS.ffffffZ``: same times, same rules."""
    outcomes = []
    for cell in (text, text[:-1] + ".000000Z"):
        path = write_csv([f"{cell},1,1,1,1,0"], name="x.csv")
        try:
            outcomes.append(load_bars(path, Timeframe.D1).frame.get_column("ts_close_utc")[0])
        except BarFileError as exc:
            outcomes.append([(p.row, p.column, p.rule) for p in exc.problems])
    assert outcomes[0] == outcomes[1]
