"""Read a bar file (CSV or Parquet) in chunks, refusing what cannot be read.

CSV cells arrive as text so that prices can be converted exactly (never through a binary
float) and every value can be quoted back in an error message. Parquet columns keep their
type once it is known to hold exact values (text, decimals, integers, aware datetimes; binary
floats are refused); :func:`as_text` gives such a column as the text the checks read. File-level
problems (missing, empty, malformed, unknown/missing/duplicate columns, wrong Parquet types) are
raised here as :class:`~mqk_integrity.BarFileError`.
"""

from __future__ import annotations

import csv
import io
import mmap
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import polars as pl

from mqk_integrity._problem import Problem
from mqk_integrity.errors import BarFileError

__all__ = [
    "FILE_FORMATS",
    "NUMERIC_COLUMNS",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "as_text",
    "detect_format",
    "read_batches",
]

REQUIRED_COLUMNS = ("ts_close_utc", "open", "high", "low", "close", "volume")
OPTIONAL_COLUMNS = ("symbol",)
NUMERIC_COLUMNS = ("open", "high", "low", "close", "volume")
FILE_FORMATS = ("csv", "parquet")
_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_TS_TEXT = "%Y-%m-%dT%H:%M:%S%.fZ"
_BLOCK_BYTES = 2 << 20
"""CSV text parsed at a time: small blocks keep the text's memory small next to the bars."""


def detect_format(path: Path, fmt: str | None) -> str:
    """``csv`` or ``parquet``: ``fmt`` when given, else from the file suffix."""
    if fmt is not None:
        if fmt not in FILE_FORMATS:
            _refuse(path, None, "UNSUPPORTED_FORMAT", f"format {fmt!r} is not one of csv, parquet")
        return fmt
    found = _SUFFIXES.get(path.suffix.lower())
    if found is None:
        _refuse(
            path,
            None,
            "UNSUPPORTED_FORMAT",
            f"cannot tell the format from suffix {path.suffix!r}; use .csv, .parquet or .pq",
        )
    return found


def read_batches(
    path: Path, fmt: str | None = None, chunk_rows: int = 250_000, block_bytes: int = _BLOCK_BYTES
) -> Iterator[pl.DataFrame]:
    """The bar file's rows as frames of at most ``chunk_rows`` rows, in file order.

    CSV columns are text; Parquet columns are text or the exact types accepted by the type
    check (decimal, integer, aware datetime, categorical symbols), see :func:`as_text`.
    A CSV is parsed ``block_bytes`` at a time (cut at line ends), so memory holds one block of
    text, not the whole file. File-level problems (missing, empty, unreadable, bad header,
    wrong Parquet types) are raised as :class:`BarFileError` before or while iterating. A file
    with a header and no rows yields nothing.
    """
    kind = detect_format(path, fmt)
    if not path.exists():
        _refuse(path, None, "FILE_NOT_FOUND", "no such file")
    if not path.is_file():
        _refuse(path, None, "NOT_A_FILE", "not a regular file")
    if path.stat().st_size == 0:
        _refuse(path, None, "EMPTY_FILE", "the file is empty")
    batches = _csv_batches(path, block_bytes) if kind == "csv" else _parquet_batches(path)
    return _rechunk(batches, chunk_rows)


def _rechunk(batches: Iterator[pl.DataFrame], chunk_rows: int) -> Iterator[pl.DataFrame]:
    for batch in batches:
        for offset in range(0, batch.height, chunk_rows):
            yield batch.slice(offset, chunk_rows)
        del batch  # before the next batch is read, not after


def _refuse(path: Path, column: str | None, rule: str, message: str) -> NoReturn:
    raise BarFileError(str(path), [Problem(str(path), None, column, rule, message)])


def _check_header(path: Path, names: list[str]) -> None:
    problems: list[Problem] = []
    seen: set[str] = set()
    for name in names:
        if name in seen:
            problems.append(
                Problem(str(path), None, name, "DUPLICATE_COLUMN", "column appears twice")
            )
        seen.add(name)
    allowed = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    for name in names:
        if name not in allowed:
            problems.append(
                Problem(
                    str(path),
                    None,
                    name,
                    "UNKNOWN_COLUMN",
                    f"unknown column; expected {', '.join(REQUIRED_COLUMNS)} and optional symbol",
                )
            )
    for name in REQUIRED_COLUMNS:
        if name not in seen:
            problems.append(Problem(str(path), None, name, "MISSING_COLUMN", "column is missing"))
    if problems:
        raise BarFileError(str(path), problems)


def _first_line(message: object) -> str:
    text = str(message).strip().splitlines()
    return text[0] if text else type(message).__name__


def _csv_batches(path: Path, block_bytes: int) -> Iterator[pl.DataFrame]:
    with path.open("rb") as handle:
        first = handle.readline()
        try:
            header = next(csv.reader([first.decode("utf-8-sig")]), [])
        except (UnicodeDecodeError, csv.Error) as exc:
            _refuse(path, None, "MALFORMED_FILE", f"not a UTF-8 CSV file: {_first_line(exc)}")
        names = [name.strip() for name in header]
        _check_header(path, names)
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as whole:
            quoted = whole.find(b'"', len(first)) != -1
        try:
            if quoted:  # a quoted cell may hold a line break: let polars split the rows
                lazy = pl.scan_csv(path, infer_schema=False, has_header=True, encoding="utf8")
                for batch in lazy.collect_batches():
                    yield batch.rename(dict(zip(batch.columns, names, strict=True)))
                return
            rest = b""
            while True:
                block = handle.read(block_bytes)
                data = rest + block
                cut = data.rfind(b"\n") + 1 if block else len(data)
                data, rest = data[:cut], data[cut:]
                if data and not data.isspace():  # as data.strip(), without the copy
                    batch = pl.read_csv(
                        io.BytesIO(data),
                        has_header=False,
                        new_columns=names,
                        infer_schema=False,
                        encoding="utf8",
                    )
                    del data  # hold the parsed rows, not the text too
                    yield batch
                    del batch
                if not block:
                    return
        except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
            _refuse(path, None, "MALFORMED_FILE", f"unreadable CSV: {_first_line(exc)}")


def _parquet_batches(path: Path) -> Iterator[pl.DataFrame]:
    try:
        raw = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        _refuse(path, None, "MALFORMED_FILE", f"unreadable Parquet: {_first_line(exc)}")
    _check_header(path, list(raw.columns))
    problems = [
        p for p in (_parquet_type_problem(path, raw.get_column(c)) for c in raw.columns) if p
    ]
    if problems:
        raise BarFileError(str(path), problems)
    yield raw


def _parquet_type_problem(path: Path, series: pl.Series) -> Problem | None:
    """The problem with a Parquet column's type, or None when it can be read exactly."""
    name, dtype = series.name, series.dtype

    def wrong(message: str, rule: str = "WRONG_TYPE") -> Problem:
        return Problem(str(path), None, name, rule, f"{dtype}: {message}")

    if dtype == pl.String:
        return None
    if name == "symbol":
        if isinstance(dtype, pl.Categorical | pl.Enum):
            return None
        return wrong("symbols must be text")
    if name == "ts_close_utc":
        if isinstance(dtype, pl.Datetime):
            if dtype.time_zone is None:
                return wrong(
                    "timestamps without a time zone are refused (UTC only)", "NAIVE_TIMESTAMP"
                )
            return None
        return wrong("close times must be timezone-aware datetimes or ISO-8601 text")
    if dtype.is_float():
        return wrong("binary floats cannot hold exact prices; store decimals, integers or text")
    if isinstance(dtype, pl.Decimal) or dtype.is_integer():
        return None
    return wrong("expected decimal, integer or text values")


def as_text(series: pl.Series) -> pl.Series:
    """A Parquet column (of a type accepted by the type check) as text that reads back exactly.

    This is the text the row checks read and quote; a typed column converted directly must
    give the same values (or be converted through this text)."""
    if isinstance(series.dtype, pl.Datetime):
        utc = series.dt.convert_time_zone("UTC")
        return utc.dt.strftime(_TS_TEXT).alias(series.name)
    return series.cast(pl.String)
