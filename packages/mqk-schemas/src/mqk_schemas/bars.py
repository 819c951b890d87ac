"""Columnar bars: a polars frame with one fixed schema, validated once per file.

Prices and volume are exact ``Decimal(38, 8)`` columns, time is microsecond UTC. Hot loops work
on this frame (or arrays taken from it), never on one pydantic :class:`~mqk_schemas.Bar` per row.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from mqk_schemas.enums import Timeframe
from mqk_schemas.errors import BarFrameSchemaError
from mqk_schemas.market import Bar

__all__ = [
    "BAR_FRAME_SCHEMA",
    "PRICE_SCALE",
    "BarFrame",
]

PRICE_SCALE = 8
"""Decimal places kept for prices and volume in the columnar form."""

_DEC = pl.Decimal(precision=38, scale=PRICE_SCALE)

BAR_FRAME_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "ts_close_utc": pl.Datetime("us", "UTC"),
    "open": _DEC,
    "high": _DEC,
    "low": _DEC,
    "close": _DEC,
    "volume": _DEC,
    "is_complete": pl.Boolean(),
}
"""Column names and dtypes of a bar frame, in order."""


@dataclass(frozen=True, slots=True)
class BarFrame:
    """Bars of one timeframe in columnar form, sorted by (symbol, ts_close_utc).

    Construction checks the schema once; the rows' market rules are checked by mqk-integrity.
    """

    timeframe: Timeframe
    frame: pl.DataFrame

    def __post_init__(self) -> None:
        actual = dict(self.frame.schema)
        if list(actual) != list(BAR_FRAME_SCHEMA):
            raise BarFrameSchemaError(
                f"bar frame columns {list(actual)} != expected {list(BAR_FRAME_SCHEMA)}"
            )
        for name, dtype in BAR_FRAME_SCHEMA.items():
            if actual[name] != dtype:
                raise BarFrameSchemaError(
                    f"bar frame column {name!r} is {actual[name]}, not {dtype}"
                )
        counts = self.frame.null_count().row(0)
        nulls = [n for n, c in zip(self.frame.columns, counts, strict=True) if c]
        if nulls:
            raise BarFrameSchemaError(f"bar frame has nulls in columns {nulls}")

    def __len__(self) -> int:
        return self.frame.height

    @property
    def symbols(self) -> tuple[str, ...]:
        """Distinct symbols, sorted."""
        return tuple(sorted(self.frame.get_column("symbol").unique().to_list()))

    def row(self, index: int) -> Bar:
        """Row ``index`` as a validated :class:`Bar` (for edges and tests, not hot loops)."""
        values = self.frame.row(index, named=True)
        return Bar(timeframe=self.timeframe, **values)

    def to_bars(self) -> list[Bar]:
        """Every row as a :class:`Bar` (small frames only)."""
        return [self.row(i) for i in range(self.frame.height)]

    @classmethod
    def from_bars(cls, timeframe: Timeframe, bars: list[Bar]) -> BarFrame:
        """Build a frame from row bars (all of ``timeframe``)."""
        for bar in bars:
            if bar.timeframe is not timeframe:
                raise BarFrameSchemaError(
                    f"bar {bar.symbol} {bar.ts_close_utc} is {bar.timeframe}, not {timeframe}"
                )
        data = {
            "symbol": [b.symbol for b in bars],
            "ts_close_utc": [b.ts_close_utc for b in bars],
            "open": [b.open for b in bars],
            "high": [b.high for b in bars],
            "low": [b.low for b in bars],
            "close": [b.close for b in bars],
            "volume": [b.volume for b in bars],
            "is_complete": [b.is_complete for b in bars],
        }
        return cls(timeframe, pl.DataFrame(data, schema=BAR_FRAME_SCHEMA))
