"""Load a bar file into a :class:`~mqk_schemas.BarFrame`, validated vectorised and refused whole.

Rules (each a problem with file, row, column and rule code; up to 20 are listed):

- numbers: plain decimal notation (``101.5``, ``-3``, ``+7.25``; surrounding spaces ignored),
  at most 8 significant decimals, below 1e18. Empty cells (``EMPTY_CELL``), NaN/inf
  (``NON_FINITE``), more decimals (``TOO_MANY_DECIMALS``), larger values (``TOO_LARGE``) and
  anything else (``NOT_A_NUMBER``, exponents included) are refused. Prices are converted from
  their text exactly, never through a binary float. Typed Parquet columns (decimal, integer,
  datetime) are taken directly when every value of the chunk provably reads the same as its
  text, and through that text otherwise, so both give the same values and problems.
- prices > 0 (``NON_POSITIVE_PRICE``), volume >= 0 (``NEGATIVE_VOLUME``), and
  low <= min(open, close) <= max(open, close) <= high (``OHLC_STRUCTURE``).
- close times: ISO-8601 with an explicit offset, ``2022-01-03T21:00:00Z`` or ``...+00:00``
  (any offset is converted to UTC; a space may replace the ``T``; at most microseconds).
  A time WITHOUT an offset is refused (``NAIVE_TIMESTAMP``): the system is UTC-only and will
  not guess a zone. Anything else is ``BAD_TIMESTAMP``.
- per symbol, close times strictly increase in file order: an equal time is
  ``DUPLICATE_TIMESTAMP``, an earlier one ``NOT_INCREASING``.
- symbols (column, argument or the upper-cased file name stem) must be valid symbols
  (``BAD_SYMBOL``); a symbol argument that contradicts the column is ``SYMBOL_MISMATCH``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from mqk_integrity._problem import MAX_PROBLEMS, Problem
from mqk_integrity._read import NUMERIC_COLUMNS, as_text, read_batches
from mqk_integrity._rules import MAX_PRICE
from mqk_integrity.errors import BarFileError
from mqk_schemas import BAR_FRAME_SCHEMA, BarFrame, Timeframe

__all__ = ["load_bars"]

_SYMBOL_RE = r"^[A-Z0-9][A-Z0-9._/\-]{0,23}$"
_NUMBER_OK = r"^[+-]?0*[0-9]{1,18}(\.[0-9]{0,8}0*)?$"
_NUMBER_PLAIN = r"^[+-]?[0-9]+(\.[0-9]*)?$"
_NON_FINITE = r"^[+-]?(nan|inf|infinity)$"
_TOO_LARGE = r"^[+-]?0*[0-9]{19}"
_TOO_PRECISE = r"\.[0-9]{8}0*[1-9]"
_TS_OK = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6}0{0,3})?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})$"
)
_TS_CANONICAL = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z$"
_TS_CANONICAL_FORMAT = "%Y-%m-%dT%H:%M:%S%.fZ"
_TS_WHOLE_SECONDS = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"
_TS_WHOLE_SECONDS_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
"""Parsed several times faster than ``_TS_CANONICAL_FORMAT`` (no fraction field)."""
_TS_COLUMN = "ts_close_utc"
_TS_NAIVE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?$"
_DEC = BAR_FRAME_SCHEMA["open"]
_TS = BAR_FRAME_SCHEMA["ts_close_utc"]
_MAX_PRICE_TEXT = str(MAX_PRICE)
_DEC_SCALE = 8
_MAX_DIRECT_SCALE = 20
"""Decimal columns of a larger scale go through text (10**(18 + scale) must fit in 128 bits)."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DIRECT_TIMES = (datetime(1800, 1, 1, tzinfo=UTC), datetime(2262, 1, 1, tzinfo=UTC))
_DIRECT_RANGE = {
    unit: tuple((moment - _EPOCH) // timedelta(seconds=1) * per_second for moment in _DIRECT_TIMES)
    for unit, per_second in (("ms", 10**3), ("us", 10**6), ("ns", 10**9))
}
"""Parquet close times in ``_DIRECT_TIMES`` (in each unit) are taken directly, others through
their text."""


@dataclass(frozen=True, slots=True)
class _Check:
    """One row rule: a boolean column of offending rows and how to describe one of them."""

    column: str | None
    rule: str
    mask: pl.Series
    describe: Callable[[int], str]


def load_bars(
    path: str | Path,
    timeframe: Timeframe,
    *,
    symbol: str | None = None,
    fmt: str | None = None,
    chunk_rows: int = 250_000,
) -> BarFrame:
    """Read, validate and convert a CSV or Parquet bar file; refuse it whole on any problem.

    ``symbol`` names the instrument of a file without a ``symbol`` column (default: the file
    name stem, upper-cased). Raises :class:`~mqk_integrity.BarFileError` listing up to 20
    problems (file, 1-based data row, column, rule) in row order and counting them all.
    The text is read and checked ``chunk_rows`` rows at a time, so memory holds the converted
    bars plus one chunk of text; a Parquet file's typed columns, once checked, become the
    bars' columns without a copy.
    """
    file = Path(path)
    found = _Found(str(file))
    parts: list[pl.DataFrame] = []
    offset = 0
    for chunk in read_batches(file, fmt, chunk_rows):
        checks: list[_Check] = []
        plain = _plain_columns(chunk)
        symbols = _symbols(file, chunk, symbol, checks)
        ts = plain[_TS_COLUMN] if _TS_COLUMN in plain else _timestamps(chunk, checks)
        values = {
            name: plain[name] if name in plain else _decimals(chunk, name, checks)
            for name in NUMERIC_COLUMNS
        }
        _value_rules(values, checks)
        found.add(checks, offset)
        parts.append(pl.DataFrame({"symbol": symbols, "ts_close_utc": ts, **values}))
        offset += chunk.height
        del chunk, checks, plain, symbols, ts, values  # free the text before the next is read
    if offset == 0:
        raise BarFileError(
            str(file), [Problem(str(file), None, None, "EMPTY_FILE", "the file has no bars")]
        )
    frame = pl.concat(parts, rechunk=False)
    del parts
    order_checks: list[_Check] = []
    _order_rules(frame.get_column("symbol"), frame.get_column("ts_close_utc"), order_checks)
    found.add(order_checks, 0)
    found.raise_if_any()
    frame = frame.with_columns(is_complete=pl.lit(True))
    if not frame.get_column("symbol").is_sorted():  # else already sorted by (symbol, time)
        frame = frame.sort(["symbol", "ts_close_utc"], maintain_order=True)
    return BarFrame(
        timeframe, frame.select(BAR_FRAME_SCHEMA.keys()).cast(pl.Schema(BAR_FRAME_SCHEMA))
    )


def _quote(value: str | None) -> str:
    if value is None:
        return "an empty cell"
    text = value if len(value) <= 40 else value[:37] + "..."
    return repr(text)


def _plain_columns(raw: pl.DataFrame) -> dict[str, pl.Series]:
    """The text number and close-time columns of ``raw`` whose every cell has the usual form
    (what :func:`write_bars` writes), converted in one parallel pass.

    A number column qualifies when every cell is a plain number the rules accept as it
    stands, the close times when every cell is ``YYYY-MM-DDTHH:MM:SSZ`` naming a real time.
    The conversions are those of :func:`_decimals` and :func:`_timestamps` for such cells;
    every other column is left to them, which find and name its problems.
    """
    numbers = [name for name in NUMERIC_COLUMNS if raw.schema[name] == pl.String]
    tests = [pl.col(name).str.contains(_NUMBER_OK).fill_null(False).all() for name in numbers]
    times = raw.schema[_TS_COLUMN] == pl.String
    if times:
        whole = pl.col(_TS_COLUMN).str.contains(_TS_WHOLE_SECONDS).fill_null(False).all()
        tests.append(whole)
    if not tests:
        return {}
    usual = raw.select(tests).row(0, named=True)
    conversions = [pl.col(name).cast(_DEC, strict=False) for name in numbers if usual[name]]
    if times and usual[_TS_COLUMN]:
        parsed = pl.col(_TS_COLUMN).str.to_datetime(
            _TS_WHOLE_SECONDS_FORMAT, time_unit="us", strict=False
        )
        conversions.append(parsed.dt.replace_time_zone("UTC"))
    plain = {series.name: series for series in raw.select(conversions).get_columns()}
    if _TS_COLUMN in plain and plain[_TS_COLUMN].has_nulls():
        del plain[_TS_COLUMN]  # e.g. 30 February: the close-time checks name it
    return plain


def _symbols(file: Path, raw: pl.DataFrame, symbol: str | None, checks: list[_Check]) -> pl.Series:
    n = raw.height
    if "symbol" not in raw.columns:
        name = symbol if symbol is not None else file.stem.upper()
        if re.match(_SYMBOL_RE, name) is None:
            raise BarFileError(
                str(file),
                [
                    Problem(
                        str(file),
                        None,
                        "symbol",
                        "BAD_SYMBOL",
                        f"{name!r} is not a symbol (upper-case letters, digits, . _ / -);"
                        " pass one explicitly or add a symbol column",
                    )
                ],
            )
        return pl.repeat(name, n, dtype=pl.String, eager=True).alias("symbol")
    text = raw.get_column("symbol")
    if text.dtype != pl.String:
        text = as_text(text)
    if text.str.contains(_SYMBOL_RE).all(ignore_nulls=False):
        # the usual case: every cell is a symbol as it stands (no spaces to strip), no copy
        if symbol is not None:
            checks.append(
                _Check(
                    "symbol",
                    "SYMBOL_MISMATCH",
                    (text != symbol).fill_null(False),
                    lambda i: f"{_quote(text[i])} contradicts the requested symbol {symbol!r}",
                )
            )
        return text.alias("symbol")
    stripped = text.str.strip_chars()
    bad = ~stripped.str.contains(_SYMBOL_RE).fill_null(False)
    checks.append(
        _Check(
            "symbol",
            "BAD_SYMBOL",
            bad,
            lambda i: f"{_quote(text[i])} is not a symbol (upper-case letters, digits, . _ / -)",
        )
    )
    if symbol is not None:
        mismatch = ~bad & (stripped != symbol)
        checks.append(
            _Check(
                "symbol",
                "SYMBOL_MISMATCH",
                mismatch,
                lambda i: f"{_quote(text[i])} contradicts the requested symbol {symbol!r}",
            )
        )
    return pl.Series("symbol", stripped).set(bad, None)


def _timestamps(raw: pl.DataFrame, checks: list[_Check]) -> pl.Series:
    col = "ts_close_utc"
    text = raw.get_column(col)
    if text.dtype != pl.String:
        exact = _exact_times(text)
        if exact is not None:
            return exact.alias(col)
        text = as_text(text)
    if text.str.contains(_TS_CANONICAL).fill_null(False).all():
        # the usual case (what write_bars emits): parse in place, no copies
        fast = text.str.to_datetime(_TS_CANONICAL_FORMAT, time_unit="us", strict=False)
        if not fast.has_nulls():
            return fast.dt.replace_time_zone("UTC").alias(col)
    norm = text.str.strip_chars()
    empty = norm.is_null() | (norm == "")
    ok = norm.str.contains(_TS_OK).fill_null(False)
    iso = norm.str.replace(r"Z$", "+00:00").str.replace(" ", "T", literal=True)
    parsed = (
        pl.Series(iso)
        .set(~ok, None)
        .str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%z", time_unit="us", time_zone="UTC", strict=False)
    )
    if ok.all() and not parsed.has_nulls():
        return parsed.alias(col)  # the usual case: no classification of failures needed
    naive = ~ok & norm.str.contains(_TS_NAIVE).fill_null(False)
    bad = ~empty & ~naive & parsed.is_null()
    checks.append(_Check(col, "EMPTY_CELL", empty, lambda i: "the close time is empty"))
    checks.append(
        _Check(
            col,
            "NAIVE_TIMESTAMP",
            naive,
            lambda i: f"{_quote(text[i])} has no UTC offset; write e.g. 2022-01-03T21:00:00Z",
        )
    )
    checks.append(
        _Check(
            col,
            "BAD_TIMESTAMP",
            bad,
            lambda i: (
                f"{_quote(text[i])} is not an ISO-8601 time with offset (at most"
                " microseconds), e.g. 2022-01-03T21:00:00Z"
            ),
        )
    )
    return parsed.alias(col)


def _exact_times(column: pl.Series) -> pl.Series | None:
    """A typed Parquet close-time column as UTC microseconds, or None to go through its text.

    Only aware datetimes pass the type check; they are taken directly when there are no empty
    cells, every time is a whole microsecond and the times lie well inside what the text
    (``as_text``) renders and reads back, so the result equals reading that text.
    """
    dtype = column.dtype
    if not isinstance(dtype, pl.Datetime) or dtype.time_zone is None or column.has_nulls():
        return None
    bounds = _DIRECT_RANGE.get(dtype.time_unit)
    if bounds is None:
        return None
    utc = column.dt.convert_time_zone("UTC")  # the same instants: only the label changes
    units = utc.to_physical()
    low, high = units.min(), units.max()
    if not isinstance(low, int) or not isinstance(high, int):
        return None
    if not (bounds[0] <= low and high < bounds[1]):
        return None
    if dtype.time_unit == "ns" and (units % pl.Series([1000], dtype=units.dtype) != 0).any():
        return None  # sub-microsecond digits: the text path names them
    return utc.cast(_TS)


def _exact_decimals(column: pl.Series) -> pl.Series | None:
    """A typed Parquet number column as Decimal(38, 8), or None to go through its text.

    Taken directly only when every cell reads, as text, as a plain number the text path
    accepts unchanged: no empty cells, below 1e18 in size and no non-zero digit beyond the
    8th decimal. The values then equal what the text converts to; otherwise the text path
    converts and names the problems (same rules, same messages).
    """
    dtype = column.dtype
    if column.has_nulls():
        return None
    if dtype.is_integer():
        bound, units = 10**18, column
    elif isinstance(dtype, pl.Decimal) and dtype.scale <= _MAX_DIRECT_SCALE:
        bound, units = 10 ** (18 + dtype.scale), column.to_physical()
    else:
        return None
    low, high = units.min(), units.max()
    if not isinstance(low, int) or not isinstance(high, int):
        return None  # an empty chunk: let the text path handle it
    if not (-bound < low and high < bound):
        return None
    extra = dtype.scale - _DEC_SCALE if isinstance(dtype, pl.Decimal) else 0
    if extra > 0 and (units % pl.Series([10**extra], dtype=units.dtype) != 0).any():
        return None  # a non-zero digit beyond the 8th decimal: the text path names it
    return column.cast(_DEC)


def _decimals(raw: pl.DataFrame, name: str, checks: list[_Check]) -> pl.Series:
    text = raw.get_column(name)
    if text.dtype != pl.String:
        exact = _exact_decimals(text)
        if exact is not None:
            return exact.alias(name)
        text = as_text(text)
    if text.str.contains(_NUMBER_OK).fill_null(False).all():
        return text.cast(_DEC, strict=False)  # the usual case: no copy, no classification
    norm = text.str.strip_chars()
    empty = norm.is_null() | (norm == "")
    ok = norm.str.contains(_NUMBER_OK).fill_null(False)
    if ok.all():
        return norm.cast(_DEC, strict=False).alias(name)
    non_finite = norm.str.to_lowercase().str.contains(_NON_FINITE).fill_null(False)
    plain = ~ok & norm.str.contains(_NUMBER_PLAIN).fill_null(False)
    too_large = plain & norm.str.contains(_TOO_LARGE).fill_null(False)
    too_precise = plain & ~too_large & norm.str.contains(_TOO_PRECISE).fill_null(False)
    other = ~ok & ~empty & ~non_finite & ~too_large & ~too_precise
    checks.extend(
        [
            _Check(name, "EMPTY_CELL", empty, lambda i: f"{name} is empty"),
            _Check(name, "NON_FINITE", non_finite, lambda i: f"{_quote(text[i])} is not finite"),
            _Check(
                name,
                "TOO_LARGE",
                too_large,
                lambda i: f"{_quote(text[i])} is not below {_MAX_PRICE_TEXT}",
            ),
            _Check(
                name,
                "TOO_MANY_DECIMALS",
                too_precise,
                lambda i: f"{_quote(text[i])} has more than 8 decimals",
            ),
            _Check(
                name,
                "NOT_A_NUMBER",
                other,
                lambda i: f"{_quote(text[i])} is not a plain decimal number",
            ),
        ]
    )
    return pl.Series(name, norm).set(~ok, None).cast(_DEC, strict=False)


def _show(series: pl.Series, i: int) -> str:
    value = series[i]
    return "?" if value is None else format(value.normalize(), "f")


def _describe_non_positive(name: str, series: pl.Series) -> Callable[[int], str]:
    return lambda i: f"{name} {_show(series, i)} must be > 0"


def _value_rules(values: dict[str, pl.Series], checks: list[_Check]) -> None:
    zero = pl.Series([0]).cast(_DEC)[0]
    for name in ("open", "high", "low", "close"):
        series = values[name]
        checks.append(
            _Check(
                name,
                "NON_POSITIVE_PRICE",
                (series <= zero).fill_null(False),
                _describe_non_positive(name, series),
            )
        )
    volume = values["volume"]
    checks.append(
        _Check(
            "volume",
            "NEGATIVE_VOLUME",
            (volume < zero).fill_null(False),
            lambda i: f"volume {_show(volume, i)} must be >= 0",
        )
    )
    o, h, lo, c = values["open"], values["high"], values["low"], values["close"]
    frame = pl.DataFrame({"o": o, "h": h, "l": lo, "c": c})
    parsed = pl.all_horizontal(pl.all().is_not_null())
    o_, h_, l_, c_ = (pl.col(k) for k in "ohlc")
    body = frame.select(  # low > min(o, c) and max(o, c) > high, without min/max columns
        low_bad=parsed & ((l_ > o_) | (l_ > c_)),
        high_bad=parsed & ((o_ > h_) | (c_ > h_)),
    )

    def ohlc(i: int) -> str:
        return f"open {_show(o, i)} high {_show(h, i)} low {_show(lo, i)} close {_show(c, i)}"

    checks.append(
        _Check(
            "low",
            "OHLC_STRUCTURE",
            body.get_column("low_bad"),
            lambda i: f"low > min(open, close): {ohlc(i)}",
        )
    )
    checks.append(
        _Check(
            "high",
            "OHLC_STRUCTURE",
            body.get_column("high_bad"),
            lambda i: f"max(open, close) > high: {ohlc(i)}",
        )
    )


def _order_rules(symbols: pl.Series, ts: pl.Series, checks: list[_Check]) -> None:
    before: Callable[[int], int]
    n = ts.len()
    if not symbols.has_nulls() and not ts.has_nulls() and symbols.is_sorted():
        # the usual case: each symbol's rows are consecutive, so a row's previous row of its
        # symbol is the row above it; only rows not after the row above can break the order
        rows = _not_after_the_row_above(ts)
        if rows.size:
            upper = pl.Series(rows - 1)
            rows = rows[(symbols.gather(pl.Series(rows)) == symbols.gather(upper)).to_numpy()]
        units = ts.to_physical()
        step = (units.gather(pl.Series(rows)) - units.gather(pl.Series(rows - 1))).to_numpy()
        same = _row_mask(n, rows[step == 0])
        earlier = _row_mask(n, rows[step < 0])

        def before(i: int) -> int:
            return i - 1

    else:
        frame = pl.DataFrame({"s": symbols, "t": ts}).with_row_index("i")
        prev = frame.select(
            pt=pl.col("t").shift(1).over("s"),
            pi=pl.col("i").shift(1).over("s"),
        )
        previous, prev_row = prev.get_column("pt"), prev.get_column("pi")
        same = (ts == previous).fill_null(False) & symbols.is_not_null()
        earlier = (ts < previous).fill_null(False) & symbols.is_not_null()

        def before(i: int) -> int:
            return int(prev_row[i])

    def where(i: int) -> str:
        return f"row {before(i) + 1} ({symbols[i]})"

    checks.append(
        _Check(
            "ts_close_utc",
            "DUPLICATE_TIMESTAMP",
            same,
            lambda i: f"{ts[i]:%Y-%m-%dT%H:%M:%S}Z repeats the close time of {where(i)}",
        )
    )
    checks.append(
        _Check(
            "ts_close_utc",
            "NOT_INCREASING",
            earlier,
            lambda i: (
                f"{ts[i]:%Y-%m-%dT%H:%M:%S}Z is before the close time of {where(i)};"
                " times must strictly increase per symbol"
            ),
        )
    )


def _not_after_the_row_above(ts: pl.Series) -> npt.NDArray[np.int64]:
    """Rows (from 1) whose close time is not after the row above, chunk by chunk (no copy)."""
    found: list[npt.NDArray[np.int64]] = []
    offset = 0
    last: int | None = None
    for part in ts.to_physical().get_chunks():
        t = part.to_numpy()
        if t.size:
            if last is not None and t[0] <= last:
                found.append(np.array([offset], dtype=np.int64))
            found.append(np.flatnonzero(t[1:] <= t[:-1]) + (offset + 1))
            last = int(t[-1])
        offset += t.size
    return np.concatenate(found) if found else np.empty(0, dtype=np.int64)


def _row_mask(n: int, rows: npt.NDArray[np.int64]) -> pl.Series:
    """A boolean column of ``n`` rows, true at ``rows``."""
    return pl.zeros(n, dtype=pl.Boolean, eager=True).scatter(rows, True)


_COLUMN_ORDER = {
    name: k
    for k, name in enumerate(("symbol", "ts_close_utc", "open", "high", "low", "close", "volume"))
}


class _Found:
    """Problems gathered chunk by chunk: every one counted, the first few of each rule kept."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.total = 0
        self.kept: list[tuple[tuple[int, int, str], Problem]] = []

    def add(self, checks: list[_Check], offset: int) -> None:
        """Count the offending rows of ``checks`` (rows numbered from ``offset``)."""
        if not checks:
            return
        counts = pl.DataFrame([c.mask.alias(str(k)) for k, c in enumerate(checks)]).sum().row(0)
        for check, count in zip(checks, counts, strict=True):
            if not count:
                continue
            self.total += int(count)
            for i in check.mask.arg_true().head(MAX_PROBLEMS).to_list():
                row = offset + int(i) + 1
                key = (row, _COLUMN_ORDER.get(check.column or "", -1), check.rule)
                problem = Problem(self.file, row, check.column, check.rule, check.describe(int(i)))
                self.kept.append((key, problem))

    def raise_if_any(self) -> None:
        """Raise :class:`BarFileError` with the first problems in row order, if any."""
        if self.total:
            self.kept.sort(key=lambda item: item[0])
            problems = [problem for _, problem in self.kept[:MAX_PROBLEMS]]
            raise BarFileError(self.file, problems, self.total)
