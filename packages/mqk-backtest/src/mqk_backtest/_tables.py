"""The run's CSV artifacts: ``orders.csv``, ``fills.csv`` and ``equity_curve.csv``.

Orders and fills are rendered a chunk of rows at a time from the run's compact records, each
distinct decimal formatted once and the chunk's timestamps in one go; the equity curve goes
through a few polars operations per chunk of rows (exact decimals from integer units,
timestamps formatted as the CSV is written), rendered and written by polars without the GIL.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from itertools import islice
from pathlib import Path
from typing import BinaryIO, TypeVar

import numpy as np
import numpy.typing as npt
import polars as pl

from mqk_backtest._columns import epoch_us, utc_texts
from mqk_backtest._orders import OrderLog
from mqk_backtest._request import EquityCurve
from mqk_backtest._writer import FileParts
from mqk_backtest.report import FillMark
from mqk_schemas import Fill, Order, OrderType, TimeInForce, format_decimal, format_utc

__all__ = [
    "drawdown_units",
    "equity_csv_parts",
    "fill_marks",
    "fills_csv_chunks",
    "orders_csv_chunks",
    "utc_texts_of",
    "write_equity_csv",
    "write_fills_csv",
    "write_orders_csv",
]

ORDERS_HEADER = (
    "client_order_id,symbol,side,order_type,quantity,limit_price,stop_price,time_in_force,"
    "status,filled_quantity,average_fill_price,replaces,created_at,updated_at\n"
)
FILLS_HEADER = "broker_fill_id,client_order_id,symbol,side,quantity,price,fee,ts_utc\n"
EQUITY_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

_K = TypeVar("_K", bound=Hashable)
_T = TypeVar("_T")


def _memo(render: Callable[[_K], str]) -> Callable[[_K], str]:
    """``render`` remembering each distinct argument's text (prices, sizes, sides and states
    repeat across a run's orders and fills)."""
    texts: dict[_K, str] = {}
    known = texts.get

    def text(value: _K) -> str:
        found = known(value)
        if found is None:
            found = texts[value] = render(value)
        return found

    return text


def _decimal_texts() -> Callable[[Decimal], str]:
    # equal Decimals format alike (format_decimal normalises): a value stands for its equals
    return _memo(format_decimal)


def _value_texts() -> Callable[[Enum], str]:
    return _memo(_enum_value)


def _enum_value(member: Enum) -> str:
    return str(member.value)


def write_orders_csv(orders: Sequence[Order], path: Path) -> None:
    """Write ``orders.csv``."""
    path.write_bytes(b"".join(orders_csv_chunks(orders)))


def orders_csv_chunks(orders: Sequence[Order], chunk_rows: int = 4096) -> Iterator[bytes]:
    """``orders.csv``: one row per order, oldest first, ``chunk_rows`` rows at a time."""
    yield ORDERS_HEADER.encode()
    dec, val = _decimal_texts(), _value_texts()
    if isinstance(orders, OrderLog):
        # the columnar kernel's MARKET GTC orders, read off its compact records
        market, gtc = OrderType.MARKET.value, TimeInForce.GTC.value
        for records in _batches(orders.records(), chunk_rows):  # with their times' texts
            yield "".join(
                [
                    f"{coid},{symbol},{val(side)},{market},{dec(quantity)},,,{gtc},"
                    f"{val(status)},{dec(filled)},{'' if average is None else dec(average)},,"
                    f"{created_at},{updated_at}\n"
                    for (
                        coid,
                        symbol,
                        side,
                        quantity,
                        status,
                        filled,
                        average,
                        *_,
                        created_at,
                        updated_at,
                    ) in records
                ]
            ).encode()
        return
    for models in _batches(iter(orders), chunk_rows):
        created = utc_texts_of([order.created_at for order in models])
        updated = utc_texts_of([order.updated_at for order in models])
        rows: list[str] = []
        for order, created_at, updated_at in zip(models, created, updated, strict=True):
            limit, stop, average = order.limit_price, order.stop_price, order.average_fill_price
            rows.append(
                f"{order.client_order_id},{order.symbol},{val(order.side)},"
                f"{val(order.order_type)},{dec(order.quantity)},"
                f"{'' if limit is None else dec(limit)},{'' if stop is None else dec(stop)},"
                f"{val(order.time_in_force)},{val(order.status)},"
                f"{dec(order.filled_quantity)},{'' if average is None else dec(average)},"
                f"{order.replaces or ''},{created_at},{updated_at}\n"
            )
        yield "".join(rows).encode()


def write_fills_csv(fills: Iterable[Fill], path: Path) -> None:
    """Write ``fills.csv``."""
    path.write_bytes(b"".join(fills_csv_chunks(fills)))


def fills_csv_chunks(fills: Iterable[Fill], chunk_rows: int = 4096) -> Iterator[bytes]:
    """``fills.csv``: one row per fill, in order, ``chunk_rows`` rows at a time."""
    yield FILLS_HEADER.encode()
    dec, val = _decimal_texts(), _value_texts()
    for batch in _batches(iter(fills), chunk_rows):
        stamps = utc_texts_of([fill.ts_utc for fill in batch])
        yield "".join(
            [
                f"{fill.broker_fill_id},{fill.client_order_id},{fill.symbol},{val(fill.side)},"
                f"{dec(fill.quantity)},{dec(fill.price)},{dec(fill.fee)},{ts}\n"
                for fill, ts in zip(batch, stamps, strict=True)
            ]
        ).encode()


def _batches(items: Iterator[_T], size: int) -> Iterator[list[_T]]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    while batch := list(islice(items, size)):
        yield batch


_YEAR_1000_US = epoch_us(datetime(1000, 1, 1, tzinfo=UTC))


def utc_texts_of(stamps: Sequence[datetime]) -> list[str]:
    """:func:`~mqk_schemas.format_utc` of each of ``stamps``: read off their epoch
    microseconds in one go (isoformat costs ~1.2 µs a stamp); one at a time, as
    ``format_utc`` itself, when one is naive or before the year 1000 in UTC."""
    try:
        micros = np.array([epoch_us(stamp) for stamp in stamps], dtype=np.int64)
    except TypeError:  # a naive stamp: format_utc refuses it
        return [format_utc(stamp) for stamp in stamps]
    if micros.shape[0] and int(micros.min()) < _YEAR_1000_US:  # format_utc writes no padding
        return [format_utc(stamp) for stamp in stamps]
    return utc_texts(micros)


def fill_marks(fills: Sequence[Fill], stamps: npt.NDArray[np.int64]) -> list[FillMark]:
    """The report's chart marks: each fill's bar index in ``stamps`` (bar close times, epoch
    µs, ascending; 0 when no bar closed at the fill's time), side and price."""
    fill_stamps = np.array([epoch_us(fill.ts_utc) for fill in fills], dtype=np.int64)
    at = np.searchsorted(stamps, fill_stamps)
    found = (at < stamps.shape[0]) & (stamps[np.minimum(at, stamps.shape[0] - 1)] == fill_stamps)
    dec, val = _decimal_texts(), _value_texts()
    return [
        FillMark(index if hit else 0, val(fill.side), dec(fill.price))
        for fill, index, hit in zip(fills, at.tolist(), found.tolist(), strict=True)
    ]


def drawdown_units(
    equity: npt.NDArray[np.int64], peak_before: int | None = None
) -> npt.NDArray[np.int64]:
    """Drawdown from the running peak in 1e-10 units (0 while the peak is not positive);
    ``peak_before`` is the peak of the steps before ``equity`` (a curve taken in parts)."""
    peak = np.maximum.accumulate(equity)
    if peak_before is not None:
        np.maximum(peak, peak_before, out=peak)
    drawdown = np.zeros(equity.shape[0], dtype=np.float64)
    np.divide(equity, peak, out=drawdown, where=peak > 0)
    return np.round(np.where(peak > 0, drawdown - 1.0, 0.0) * 1e10).astype(np.int64)


def _fixed(name: str, places: int) -> pl.Expr:
    """Column ``name`` of integer units of 10**-places as an exact decimal of ``places``
    decimals (the CSV writer prints every decimal place)."""
    expr: pl.Expr = (pl.col(name).cast(pl.Decimal(38, places)) / 10**places).alias(name)
    return expr


def write_equity_csv(curve: EquityCurve, path: Path, chunk_rows: int = 50_000) -> None:
    """Write ``equity_curve.csv``."""
    with path.open("wb") as handle:
        for _ in equity_csv_parts(curve, chunk_rows)(handle):
            pass


def equity_csv_parts(curve: EquityCurve, chunk_rows: int = 50_000) -> FileParts:
    """``equity_curve.csv``: close time, cash, equity, drawdown and exposure per bar step,
    written into the handle given ``chunk_rows`` rows at a time (a step per part). A long
    run's curve has a row per bar, and its decimals whole would hold several copies of it in
    memory.

    Each part is one polars call, which renders and writes it without the GIL: a thread
    writing the curve while another renders Python waits for the GIL once per part (up to the
    interpreter's switch interval, 5 ms), so the parts are few and large."""

    def write(handle: BinaryIO) -> Iterator[None]:
        for start, frame in _equity_frames(curve, chunk_rows):
            frame.sink_csv(
                handle,
                include_header=start == 0,
                line_terminator="\n",
                datetime_format=EQUITY_TIME_FORMAT,
                batch_size=chunk_rows,
            )
            yield

    return write


def _equity_frames(curve: EquityCurve, chunk_rows: int) -> Iterator[tuple[int, pl.LazyFrame]]:
    """The curve's CSV columns ``chunk_rows`` rows at a time, as a query over the curve's own
    arrays (nothing is computed until it is written), each with its first row's index."""
    exposed = curve.exposed.view(np.int8) if curve.exposed.dtype == np.bool_ else curve.exposed
    total = int(curve.ts_us.shape[0])
    peak: int | None = None  # the running peak carried from chunk to chunk
    for start in range(0, max(total, 1), chunk_rows):
        part = slice(start, start + chunk_rows)
        equity = curve.equity_units[part]
        drawdown = drawdown_units(equity, peak)
        if equity.shape[0]:
            peak = int(equity.max()) if peak is None else max(peak, int(equity.max()))
        columns = pl.DataFrame(
            {
                "ts_close_utc": pl.Series(curve.ts_us[part], dtype=pl.Int64),
                "cash": pl.Series(curve.cash_units[part], dtype=pl.Int64),
                "equity": pl.Series(equity, dtype=pl.Int64),
                "drawdown": pl.Series(drawdown, dtype=pl.Int64),
                "exposed": pl.Series(exposed[part], dtype=pl.Int8),
            }
        )
        yield (
            start,
            columns.lazy().select(
                pl.col("ts_close_utc").cast(pl.Datetime("us")),
                _fixed("cash", 8),
                _fixed("equity", 8),
                _fixed("drawdown", 10),
                pl.col("exposed"),
            ),
        )
