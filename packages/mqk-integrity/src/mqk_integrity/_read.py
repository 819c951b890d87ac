"""Read a bar file (CSV or Parquet) into an all-string frame, refusing what cannot be read.

Every cell arrives as text so that prices can be converted exactly (never through a binary
float) and every value can be quoted back in an error message. File-level problems (missing,
empty, malformed, unknown/missing/duplicate columns, wrong Parquet types) are raised here as
:class:`~mqk_integrity.BarFileError`.
"""

from __future__ import annotations

import csv
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
    "detect_format",
    "read_raw",
]

REQUIRED_COLUMNS = ("ts_close_utc", "open", "high", "low", "close", "volume")
OPTIONAL_COLUMNS = ("symbol",)
NUMERIC_COLUMNS = ("open", "high", "low", "close", "volume")
FILE_FORMATS = ("csv", "parquet")
_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_TS_TEXT = "%Y-%m-%dT%H:%M:%S%.fZ"


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


def read_raw(path: Path, fmt: str | None = None) -> pl.DataFrame:
    """All columns of the bar file as strings (nulls for empty cells), header checked."""
    kind = detect_format(path, fmt)
    if not path.exists():
        _refuse(path, None, "FILE_NOT_FOUND", "no such file")
    if not path.is_file():
        _refuse(path, None, "NOT_A_FILE", "not a regular file")
    if path.stat().st_size == 0:
        _refuse(path, None, "EMPTY_FILE", "the file is empty")
    raw = _read_csv(path) if kind == "csv" else _read_parquet(path)
    if raw.height == 0:
        _refuse(path, None, "EMPTY_FILE", "the file has a header but no bars")
    return raw


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


def _read_csv(path: Path) -> pl.DataFrame:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle), [])
    except (UnicodeDecodeError, csv.Error) as exc:
        _refuse(path, None, "MALFORMED_FILE", f"not a UTF-8 CSV file: {_first_line(exc)}")
    _check_header(path, [name.strip() for name in header])
    try:
        raw = pl.read_csv(path, infer_schema=False, has_header=True, encoding="utf8")
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        _refuse(path, None, "MALFORMED_FILE", f"unreadable CSV: {_first_line(exc)}")
    return raw.rename({name: name.strip() for name in raw.columns})


def _read_parquet(path: Path) -> pl.DataFrame:
    try:
        raw = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        _refuse(path, None, "MALFORMED_FILE", f"unreadable Parquet: {_first_line(exc)}")
    _check_header(path, list(raw.columns))
    problems: list[Problem] = []
    columns: list[pl.Series] = []
    for name in raw.columns:
        series = raw.get_column(name)
        converted, problem = _parquet_column_as_text(path, series)
        if problem is not None:
            problems.append(problem)
        else:
            columns.append(converted)
    if problems:
        raise BarFileError(str(path), problems)
    return pl.DataFrame(columns)


def _parquet_column_as_text(path: Path, series: pl.Series) -> tuple[pl.Series, Problem | None]:
    """A Parquet column as text, or the problem with its type."""
    name, dtype = series.name, series.dtype

    def wrong(message: str, rule: str = "WRONG_TYPE") -> tuple[pl.Series, Problem]:
        return series, Problem(str(path), None, name, rule, f"{dtype}: {message}")

    if dtype == pl.String:
        return series, None
    if name == "symbol":
        if isinstance(dtype, pl.Categorical | pl.Enum):
            return series.cast(pl.String), None
        return wrong("symbols must be text")
    if name == "ts_close_utc":
        if isinstance(dtype, pl.Datetime):
            if dtype.time_zone is None:
                return wrong(
                    "timestamps without a time zone are refused (UTC only)", "NAIVE_TIMESTAMP"
                )
            utc = series.dt.convert_time_zone("UTC")
            return utc.dt.strftime(_TS_TEXT).alias(name), None
        return wrong("close times must be timezone-aware datetimes or ISO-8601 text")
    if dtype.is_float():
        return wrong("binary floats cannot hold exact prices; store decimals, integers or text")
    if isinstance(dtype, pl.Decimal) or dtype.is_integer():
        return series.cast(pl.String), None
    return wrong("expected decimal, integer or text values")
