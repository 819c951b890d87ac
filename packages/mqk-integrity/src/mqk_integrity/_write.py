"""Write a bar frame as a bar file (CSV or Parquet) that :func:`load_bars` reads back exactly."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from mqk_integrity._problem import Problem
from mqk_integrity._read import detect_format
from mqk_integrity.errors import BarFileError
from mqk_schemas import BarFrame

__all__ = ["FILE_COLUMNS", "write_bars"]

FILE_COLUMNS = ("symbol", "ts_close_utc", "open", "high", "low", "close", "volume")
"""Columns of a written bar file, in order (files hold closed bars only)."""

_NUMBERS = ("open", "high", "low", "close", "volume")


def write_bars(frame: BarFrame, path: str | Path, fmt: str | None = None) -> Path:
    """Write ``frame`` to ``path`` (format from ``fmt`` or the suffix); returns the path.

    CSV holds plain decimals without trailing zeros (a Decimal(38, 8) column always renders
    with a decimal point, so stripping zeros then the point is exact) and ``...Z`` UTC times;
    Parquet holds Decimal(38, 8) prices and microsecond UTC datetimes. Output is
    byte-identical for equal frames. Incomplete bars are refused: files hold closed bars only.
    """
    target = Path(path)
    kind = detect_format(target, fmt)
    df = frame.frame
    incomplete = df.get_column("is_complete").not_().arg_true()
    if incomplete.len():
        row = int(incomplete[0]) + 1
        raise BarFileError(
            str(target),
            [Problem(str(target), row, "is_complete", "INCOMPLETE_BAR", "files hold closed bars")],
            int(incomplete.len()),
        )
    body = df.select(FILE_COLUMNS)
    if kind == "csv":
        text = body.with_columns(
            pl.col("ts_close_utc").dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ"),
            *(
                pl.col(name).cast(pl.String).str.strip_chars_end("0").str.strip_chars_end(".")
                for name in _NUMBERS
            ),
        )
        text.write_csv(target, line_terminator="\n")
    else:
        body.write_parquet(target, compression="zstd", statistics=False)
    return target
