"""The artifact writers give exactly the bytes of the straightforward renderers they replaced.

The reference renderers below are the previous implementation, kept small and obvious: a row
at a time through the models, ``format_decimal`` / ``format_utc`` on every value, the equity
curve through polars string expressions, and the audit log a line at a time through
``json_text`` and ``AuditChain.line_for_json``. Every comparison is of whole files, byte for
byte, on real runs (both engines, costs on and off) and on generated inputs.
"""

from __future__ import annotations

import json
import shutil
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pytest
from backtest_support import NO_COSTS, SAMPLE_COSTS, make_config
from hypothesis import given, settings
from hypothesis import strategies as st

from mqk_backtest import (
    ARTIFACT_FILES,
    BacktestRequest,
    BacktestResult,
    data_file_hash,
    deterministic_run_id,
    run_backtest,
    write_artifacts,
)
from mqk_backtest._columns import SCALE, epoch_us
from mqk_backtest._orders import OrderLog, OrderRecord
from mqk_backtest._request import EquityCurve
from mqk_backtest._stream import EventLog, json_text, record_json
from mqk_backtest._tables import (
    fill_marks,
    write_equity_csv,
    write_fills_csv,
    write_orders_csv,
)
from mqk_backtest.artifacts import _periods_per_year, _pretty, _span, build_manifest
from mqk_backtest.metrics import compute_metrics
from mqk_backtest.report import FillMark, render_report
from mqk_integrity import load_bars, synth_bars, write_bars
from mqk_schemas import (
    AuditChain,
    Fill,
    Order,
    OrderStatus,
    Side,
    Timeframe,
    Topic,
    event_id,
    format_decimal,
    format_utc,
)

# --- the reference renderers (the previous implementation) ----------------------------------


def _ref_fixed_text(units: npt.NDArray[np.int64], places: int) -> pl.Series:
    # the previous renderer's text, computed with Python ints (its polars abs() overflowed on
    # the int64 minimum and printed "--922..."; the new one prints the true value)
    scale = 10**places
    texts = [
        f"{'-' if u < 0 else ''}{abs(u) // scale}.{str(abs(u) % scale).zfill(places)}"
        for u in units.tolist()
    ]
    return pl.Series("text", texts, dtype=pl.String)


def _ref_equity_csv(curve: EquityCurve, path: Path, chunk_rows: int = 20_000) -> None:
    equity = curve.equity_units
    peak = np.maximum.accumulate(equity)
    drawdown = np.zeros(equity.shape[0], dtype=np.float64)
    np.divide(equity, peak, out=drawdown, where=peak > 0)
    drawdown_units = np.round(np.where(peak > 0, drawdown - 1.0, 0.0) * 1e10).astype(np.int64)
    with path.open("wb") as handle:
        for start in range(0, max(equity.shape[0], 1), chunk_rows):
            part = slice(start, start + chunk_rows)
            frame = pl.DataFrame(
                {
                    "ts_close_utc": pl.Series(curve.ts_us[part], dtype=pl.Int64)
                    .cast(pl.Datetime("us", "UTC"))
                    .dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "cash": _ref_fixed_text(curve.cash_units[part], 8),
                    "equity": _ref_fixed_text(equity[part], 8),
                    "drawdown": _ref_fixed_text(drawdown_units[part], 10),
                    "exposed": pl.Series(curve.exposed[part].astype(np.int8)),
                }
            )
            frame.write_csv(handle, include_header=start == 0, line_terminator="\n")


def _opt(value: Decimal | None) -> str:
    return "" if value is None else format_decimal(value)


def _ref_orders_csv(orders: Any, path: Path) -> None:
    header = (
        "client_order_id,symbol,side,order_type,quantity,limit_price,stop_price,time_in_force,"
        "status,filled_quantity,average_fill_price,replaces,created_at,updated_at\n"
    )
    lines = [header]
    for order in orders:
        fields = [
            order.client_order_id,
            order.symbol,
            order.side.value,
            order.order_type.value,
            format_decimal(order.quantity),
            _opt(order.limit_price),
            _opt(order.stop_price),
            order.time_in_force.value,
            order.status.value,
            format_decimal(order.filled_quantity),
            _opt(order.average_fill_price),
            order.replaces or "",
            format_utc(order.created_at),
            format_utc(order.updated_at),
        ]
        lines.append(",".join(fields) + "\n")
    path.write_text("".join(lines), encoding="utf-8", newline="\n")


def _ref_fills_csv(fills: Any, path: Path) -> None:
    lines = ["broker_fill_id,client_order_id,symbol,side,quantity,price,fee,ts_utc\n"]
    for fill in fills:
        fields = [
            fill.broker_fill_id,
            fill.client_order_id,
            fill.symbol,
            fill.side.value,
            format_decimal(fill.quantity),
            format_decimal(fill.price),
            format_decimal(fill.fee),
            format_utc(fill.ts_utc),
        ]
        lines.append(",".join(fields) + "\n")
    path.write_text("".join(lines), encoding="utf-8", newline="\n")


def _ref_event_lines(run_id: uuid.UUID, engine_id: str, entries: list[Any]) -> list[str]:
    run = json.dumps(str(run_id))
    engine = json.dumps(engine_id, ensure_ascii=False)
    lines = []
    for seq, (ts, topic, event_type, correlation, causation, payload) in enumerate(entries):
        lines.append(
            f'{{"causation_id":{json_text(causation)},"correlation_id":{json_text(correlation)},'
            f'"engine_id":{engine},"event_id":"{event_id(run_id, seq)}",'
            f'"event_type":{json_text(event_type)},"payload":{payload},"run_id":{run},'
            f'"seq":{seq},"topic":{json_text(topic)},"ts_utc":{json_text(ts)}}}'
        )
    return lines


def _ref_fill_marks(result: BacktestResult) -> list[FillMark]:
    stamps = result.equity.ts_us
    fill_stamps = np.array([epoch_us(fill.ts_utc) for fill in result.fills], dtype=np.int64)
    at = np.searchsorted(stamps, fill_stamps)
    found = (at < stamps.shape[0]) & (stamps[np.minimum(at, stamps.shape[0] - 1)] == fill_stamps)
    return [
        FillMark(int(index) if hit else 0, fill.side.value, format_decimal(fill.price))
        for fill, index, hit in zip(result.fills, at.tolist(), found.tolist(), strict=True)
    ]


def _ref_metrics(result: BacktestResult) -> dict[str, Any]:
    curve = result.equity
    settings = result.request.config.settings
    metrics = compute_metrics(
        timestamps=curve.ts_us.astype("datetime64[us]"),
        equity=curve.equity_units.astype(np.float64) / SCALE,
        initial_equity=settings.broker.starting_cash,
        final_equity=result.final_equity,
        trades=result.trades,
        exposed_bars=int(np.count_nonzero(curve.exposed)),
        periods_per_year=_periods_per_year(result),
        risk_free_rate=settings.backtest.risk_free_rate,
        costs_paid=result.costs_paid,
        ambiguous_bars=result.ambiguous_bars,
    )
    metrics["orders"] = len(result.orders)
    metrics["fills"] = len(result.fills)
    metrics["halted"] = result.halted
    metrics["disarmed"] = result.disarmed
    return metrics


def _ref_write_all(result: BacktestResult, directory: Path) -> None:
    directory.mkdir()
    chain = AuditChain()
    events = result.events
    lines = _ref_event_lines(events._run_id, events._engine_id, events._entries)
    with (directory / "audit.jsonl").open("w", encoding="utf-8", newline="\n") as handle:
        for text in lines:
            handle.write(chain.line_for_json(text) + "\n")
    manifest = build_manifest(result, chain.last_hash)
    metrics = _ref_metrics(result)
    (directory / "manifest.json").write_text(_pretty(manifest), encoding="utf-8", newline="\n")
    (directory / "metrics.json").write_text(_pretty(metrics), encoding="utf-8", newline="\n")
    _ref_orders_csv(result.orders, directory / "orders.csv")
    _ref_fills_csv(result.fills, directory / "fills.csv")
    _ref_equity_csv(result.equity, directory / "equity_curve.csv")
    page = render_report(
        title=f"Backtest {result.request.config.engine_id} {result.request.run_id}",
        metrics=metrics,
        manifest={k: v for k, v in manifest.items() if k not in ("config", "versions")},
        equity=result.equity.equity_units.astype(np.float64) / SCALE,
        fills=_ref_fill_marks(result),
        halted_reason=result.disarmed or result.halted,
        span=_span(result),
    )
    (directory / "report.html").write_text(page, encoding="utf-8", newline="\n")


# --- real runs --------------------------------------------------------------------------------


def _result(tmp_path: Path, mode: str, strategy: str, params: dict[str, Any], costs: bool) -> Any:
    data = tmp_path / "SYN_1h.csv"
    if not data.exists():
        frame = synth_bars(
            symbols=["SYN", "ALT"],
            timeframe=Timeframe.H1,
            start=date(2023, 3, 1),
            bars=300,
            seed=11,
            calendar="24/7",
        )
        write_bars(frame, data)
    config = make_config(
        strategy,
        params,
        engine={"timeframe": "1h"},
        execution=SAMPLE_COSTS if costs else NO_COSTS,
    )
    digest = data_file_hash([data])
    request = BacktestRequest(
        config=config,
        bars=load_bars(data, Timeframe.H1),
        data_files=(str(data),),
        data_hash=digest,
        seed=7,
        run_id=deterministic_run_id(config.engine_id, config.config_hash, digest, 7),
    )
    return run_backtest(request, mode=mode)


@pytest.mark.parametrize("mode", ["fast", "reference"])
@pytest.mark.parametrize("costs", [True, False])
@pytest.mark.parametrize(
    ("strategy", "params"),
    [
        ("sma_cross", {"fast": 3, "slow": 8, "qty": 10}),
        (
            "zscore_mean_reversion",
            {"window": 10, "entry_z": 1, "exit_z": 0, "qty": 5, "allow_short": True},
        ),
        ("atr_trend_swing", {"breakout": 5, "atr_period": 5, "atr_multiple": 2, "qty": 7}),
    ],
)
def invariant_every_artifact_equals_the_reference_rendering_byte_for_byte(
    tmp_path: Path, mode: str, costs: bool, strategy: str, params: dict[str, Any]
) -> None:
    result = _result(tmp_path, mode, strategy, params, costs)
    write_artifacts(result, tmp_path / "new")
    _ref_write_all(result, tmp_path / "old")

    assert len(result.fills) >= 10
    assert isinstance(result.orders, OrderLog) == result.columnar
    for name in ARTIFACT_FILES:
        assert (tmp_path / "new" / name).read_bytes() == (tmp_path / "old" / name).read_bytes()


def _broken_parts(*_: object, **__: object) -> Any:
    def write(handle: Any) -> Iterator[None]:
        handle.write(b"ts_close_utc,cash,equity,drawdown,exposed\n")
        yield
        raise OSError("disk full")

    return write


def _unwritable_chunks(*_: object, **__: object) -> Iterator[Any]:
    yield "text where bytes belong"  # the worker thread's write raises TypeError


@pytest.mark.parametrize(
    ("name", "broken", "error"),
    [
        ("equity_csv_parts", _broken_parts, OSError),  # raised by the equity curve's thread
        ("orders_csv_chunks", _unwritable_chunks, TypeError),  # raised by the writer thread
    ],
)
def fault_a_failing_writer_leaves_no_run_directory_and_no_scratch(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    broken: Any,
    error: type[Exception],
) -> None:
    from mqk_backtest import artifacts

    result = _result(tmp_path, "fast", "sma_cross", {"fast": 3, "slow": 8, "qty": 1}, False)
    write_artifacts(result, tmp_path / "runs" / "one")
    before = {p.name: p.read_bytes() for p in (tmp_path / "runs" / "one").iterdir()}

    monkeypatch.setattr(artifacts, name, broken)
    with pytest.raises(error):
        write_artifacts(result, tmp_path / "runs" / "one")
    with pytest.raises(error):
        write_artifacts(result, tmp_path / "runs" / "two")

    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["one"]
    assert {p.name: p.read_bytes() for p in (tmp_path / "runs" / "one").iterdir()} == before
    assert not any(t.name.startswith("mqk-artifact-writer") for t in threading.enumerate())


# --- generated inputs -------------------------------------------------------------------------

_I64 = np.iinfo(np.int64)
_units = st.one_of(
    st.integers(_I64.min, _I64.max),
    st.integers(-(10**12), 10**12),
    st.integers(-(10**8), 10**8),
    st.sampled_from([0, 1, -1, 10**8, -(10**8), 10**8 - 1, 1 - 10**8, _I64.max, _I64.min]),
)


@st.composite
def _curves(draw: st.DrawFn) -> EquityCurve:
    n = draw(st.integers(0, 120))
    start = draw(st.integers(-(10**16), 4 * 10**16))  # 1653 .. 3237
    steps = draw(st.lists(st.integers(1, 10**12), min_size=n, max_size=n))
    ts = start + np.cumsum(np.array(steps, dtype=np.int64))
    cash = draw(st.lists(_units, min_size=n, max_size=n))
    equity = draw(st.lists(_units, min_size=n, max_size=n))
    exposed = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    return EquityCurve(
        ts.astype(np.int64),
        np.array(cash, dtype=np.int64),
        np.array(equity, dtype=np.int64),
        np.array(exposed, dtype=np.bool_),
    )


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
@settings(max_examples=150, deadline=None)
@given(curve=_curves(), chunk_rows=st.integers(1, 40))
def invariant_the_equity_csv_equals_the_reference_for_any_curve(
    tmp_path_factory: pytest.TempPathFactory, curve: EquityCurve, chunk_rows: int
) -> None:
    where = tmp_path_factory.mktemp("equity")
    write_equity_csv(curve, where / "new.csv", chunk_rows)
    _ref_equity_csv(curve, where / "old.csv")

    assert (where / "new.csv").read_bytes() == (where / "old.csv").read_bytes()
    shutil.rmtree(where)


def unit_the_int64_minimum_is_printed_as_its_true_value(tmp_path: Path) -> None:
    # abs() of the int64 minimum overflowed in the old string rendering ("--922..."); the
    # decimal rendering prints it exactly (a drawdown reaches it only when equity falls below
    # -922,337 times a positive peak)
    curve = EquityCurve(
        np.array([0, 60_000_000], dtype=np.int64),
        np.array([_I64.min, -1], dtype=np.int64),
        np.array([_I64.max, _I64.max], dtype=np.int64),
        np.array([True, False]),
    )
    write_equity_csv(curve, tmp_path / "equity.csv")

    assert (tmp_path / "equity.csv").read_text().splitlines() == [
        "ts_close_utc,cash,equity,drawdown,exposed",
        "1970-01-01T00:00:00Z,-92233720368.54775808,92233720368.54775807,0.0000000000,1",
        "1970-01-01T00:01:00Z,-0.00000001,92233720368.54775807,0.0000000000,0",
    ]


_zones = st.one_of(
    st.just(UTC),
    st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-23 * 60, 23 * 60)),
    st.builds(lambda s: timezone(timedelta(seconds=s)), st.integers(-86399, 86399).filter(bool)),
)
_aware = st.builds(
    lambda moment, zone: moment.replace(tzinfo=UTC).astimezone(zone),
    st.datetimes(min_value=datetime(2, 1, 2), max_value=datetime(9998, 12, 30)),
    _zones,
)


_decimals = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=8, min_value=0, max_value=10**9),
    st.decimals(allow_nan=False, allow_infinity=False, min_value=0, max_value=10**30),
    st.sampled_from([Decimal("100"), Decimal("1E+2"), Decimal("100.000"), Decimal("0E-8")]),
)


@st.composite
def _order_records(draw: st.DrawFn) -> list[OrderRecord]:
    n = draw(st.integers(0, 30))
    records: list[OrderRecord] = []
    for seq in range(n):
        created, updated = draw(_aware), draw(_aware)
        records.append(
            (
                f"MAIN_0123456789ab_{seq:08d}",
                draw(st.sampled_from(["SYN", "BRK.B", "BTC/USD"])),
                draw(st.sampled_from(list(Side))),
                draw(_decimals),
                draw(st.sampled_from(list(OrderStatus))),
                draw(_decimals),
                draw(st.none() | _decimals),
                f"SIM-{seq}",
                created,
                updated,
                format_utc(created),  # as the kernel records them
                format_utc(updated),
            )
        )
    return records


@settings(max_examples=120, deadline=None)
@given(records=_order_records())
def invariant_orders_csv_equals_the_reference_from_records_and_from_models(
    tmp_path_factory: pytest.TempPathFactory, records: list[OrderRecord]
) -> None:
    where = tmp_path_factory.mktemp("orders")
    log = OrderLog("MAIN", records)
    models: list[Order] = list(log)
    write_orders_csv(log, where / "log.csv")
    write_orders_csv(models, where / "models.csv")
    _ref_orders_csv(models, where / "old.csv")

    old = (where / "old.csv").read_bytes()
    assert (where / "log.csv").read_bytes() == old
    assert (where / "models.csv").read_bytes() == old
    shutil.rmtree(where)


@st.composite
def _fills(draw: st.DrawFn) -> list[Fill]:
    n = draw(st.integers(0, 30))
    positive = _decimals.filter(lambda value: value > 0)
    return [
        Fill(
            broker_fill_id=f"F-{seq}",
            client_order_id=f"MAIN_0123456789ab_{seq:08d}",
            engine_id="MAIN",
            symbol=draw(st.sampled_from(["SYN", "BRK.B"])),
            side=draw(st.sampled_from(list(Side))),
            quantity=draw(positive),
            price=draw(positive),
            fee=draw(_decimals),
            ts_utc=draw(_aware),
        )
        for seq in range(n)
    ]


@settings(max_examples=120, deadline=None)
@given(fills=_fills())
def invariant_fills_csv_equals_the_reference(
    tmp_path_factory: pytest.TempPathFactory, fills: list[Fill]
) -> None:
    where = tmp_path_factory.mktemp("fills")
    write_fills_csv(fills, where / "new.csv")
    _ref_fills_csv(fills, where / "old.csv")

    assert (where / "new.csv").read_bytes() == (where / "old.csv").read_bytes()
    shutil.rmtree(where)


@settings(max_examples=60, deadline=None)
@given(fills=_fills(), step=st.integers(1, 10**10))
def invariant_fill_marks_equal_the_reference(fills: list[Fill], step: int) -> None:
    stamps = np.array(sorted({epoch_us(fill.ts_utc) for fill in fills[::2]}), dtype=np.int64)
    stamps = np.unique(np.concatenate([stamps, stamps[:1] + step])).astype(np.int64)

    class _Result:
        pass

    result: Any = _Result()
    result.fills = tuple(fills)
    result.equity = EquityCurve(stamps, stamps, stamps, np.zeros(stamps.shape[0], np.bool_))
    assert fill_marks(result.fills, stamps) == _ref_fill_marks(result)


_field = st.one_of(
    st.sampled_from(["ORDER_SENT", "BROKER", "2024-01-01T00:00:00Z", ""]),
    st.text(max_size=6),
    st.text(alphabet='"\\\n\t\x00é✓ab', max_size=4),
)


@st.composite
def _entries(draw: st.DrawFn) -> list[Any]:
    n = draw(st.integers(0, 12))
    entries = []
    for _ in range(n):
        entries.append(
            (
                draw(_field),
                draw(st.sampled_from(list(Topic)) | _field),
                draw(_field),
                draw(st.none() | _field),
                draw(st.none() | _field),
                record_json(draw(st.dictionaries(st.text(max_size=3), _field, max_size=3))),
            )
        )
    return entries


@settings(max_examples=200, deadline=None)
@given(
    entries=_entries(),
    engine=st.sampled_from(["MAIN", "EXP", 'é"x']),
    run=st.uuids(),
    size=st.integers(1, 5),
)
def invariant_event_lines_equal_the_reference_in_any_batch_size(
    entries: list[Any], engine: str, run: uuid.UUID, size: int
) -> None:
    log = EventLog(run, engine, entries)
    expected = _ref_event_lines(run, engine, entries)

    assert list(log.lines()) == expected
    assert [line for batch in log.line_batches(size) for line in batch] == expected
    assert [record_json(record) for record in log] == expected
    if entries:
        assert record_json(log[len(entries) - 1]) == expected[-1]
        assert [record_json(r) for r in log[1:]] == expected[1:]
