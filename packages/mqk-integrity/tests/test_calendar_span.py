"""The session grid's calendars are built with the holidays of the asked span only.

exchange_calendars' own ``get_calendar`` is the oracle: every calendar name, sampled spans
(one year, several years, across pandas' 1970/2200 holiday range ends, at the first and last
years a calendar supports, across DST changes), daily and intraday grids.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from typing import Any

import exchange_calendars as xcals
import numpy as np
import pytest

from mqk_integrity import CalendarError, SessionGrid, _calendar
from mqk_integrity._calendar import _exchange_calendar, _span_calendar_class, ts_to_us
from mqk_schemas import Timeframe

SPANS = [
    (1969, 1971),  # crosses the start of pandas' default holiday range
    (2199, 2201),  # crosses its end
    (2006, 2008),  # US and other DST rules changed in 2007
    (2019, 2025),
    (2023, 2023),
    (1800, 1802),  # the session grid's first and last years
    (2258, 2260),
    (1995, 1999),
]
"""Each calendar gets one of these (rotating), so every kind is checked on several calendars."""

OWN_SESSION_OFFSET = {"XBOM", "XKRX", "XMOS", "XTAE"}
"""Calendars whose class defines its own session offset (``day``): built by the library."""


def _stock(name: str, first_year: int, last_year: int) -> Any:
    """The old path: the library's own calendar."""
    return xcals.get_calendar(name, start=f"{first_year}-01-01", end=f"{last_year}-12-31")


def _schedule(build: Any, name: str, first_year: int, last_year: int) -> tuple[Any, ...]:
    """Every array the grid reads from a calendar (int64 ns), or the error it raises."""
    try:
        with warnings.catch_warnings():  # exchange_calendars calls APIs pandas 3 deprecates
            warnings.simplefilter("ignore", DeprecationWarning)
            cal = build(name, first_year, last_year)
    except Exception as exc:  # the error itself is part of the result
        return ("error", type(exc), str(exc))

    def ns(series: Any) -> Any:
        return series.dt.tz_convert(None).to_numpy().view(np.int64)

    return (
        cal.sessions.to_numpy().view(np.int64),
        ns(cal.opens),
        ns(cal.closes),
        ns(cal.break_starts),
        ns(cal.break_ends),
        cal.early_closes.to_numpy().view(np.int64),
        cal.late_opens.to_numpy().view(np.int64),
    )


def _assert_same(old: tuple[Any, ...], new: tuple[Any, ...]) -> None:
    if isinstance(old[0], str):  # the library raised: the span calendar raises the same
        assert isinstance(new[0], str)
        assert new == old
        return
    for a, b in zip(old, new, strict=True):
        assert isinstance(b, np.ndarray)
        assert a.dtype == b.dtype
        assert np.array_equal(a, b)


def _span_built_names() -> list[str]:
    """Calendar names (no aliases) built by the span calendars; the others are the library's."""
    return sorted(set(xcals.get_calendar_names(include_aliases=False)) - OWN_SESSION_OFFSET)


def _spans_of(index: int, name: str) -> list[tuple[int, int]]:
    spans = [SPANS[index % len(SPANS)]]
    cls = _span_calendar_class(name, datetime(2023, 1, 1), datetime(2023, 12, 31))
    assert cls is not None
    low, high = cls.bound_min(), cls.bound_max()
    if low is not None:  # the first supported year, and a span reaching before it (an error)
        spans += [(low.year, low.year + 1), (low.year - 1, low.year)]
    if high is not None:
        spans += [(high.year - 1, high.year), (high.year, high.year + 1)]
    return spans


@pytest.mark.parametrize(("index", "name"), list(enumerate(_span_built_names())))
def contract_span_calendar_equals_the_library_calendar_for_every_calendar(
    index: int, name: str
) -> None:
    for first, last in _spans_of(index, name):
        _assert_same(
            _schedule(_stock, name, first, last), _schedule(_exchange_calendar, name, first, last)
        )


def contract_span_calendars_are_used_wherever_the_library_has_their_shape() -> None:
    """Fails loudly if exchange_calendars changes the shape the span calendars rely on (they
    would silently fall back to the slower library path)."""
    start, end = datetime(2019, 1, 1), datetime(2025, 12, 31)
    own = set()
    for name in xcals.get_calendar_names(include_aliases=True):
        real = xcals.resolve_alias(name)
        cls = _span_calendar_class(name, start, end)
        if cls is None:
            own.add(real)
            continue
        target = _span_calendar_class(real, start, end)
        assert target is not None
        assert cls.__mro__[1] is target.__mro__[1]  # an alias builds its calendar's class
    assert own == OWN_SESSION_OFFSET


def contract_a_calendar_type_a_host_registers_is_the_one_the_grid_uses() -> None:
    """``register_calendar_type`` overrides what get_calendar builds: the span path builds the
    same override (here XNYS with every 2021 Friday a holiday)."""
    from exchange_calendars.exchange_calendar_xnys import XNYSExchangeCalendar
    from pandas.tseries.holiday import Holiday

    fridays = [
        Holiday(f"friday {d.isoformat()}", year=d.year, month=d.month, day=d.day)
        for d in np.arange("2021-01-01", "2022-01-01", dtype="datetime64[D]").astype(object)
        if d.weekday() == 4
    ]

    class NoFridays(XNYSExchangeCalendar):  # type: ignore[misc]
        @property
        def regular_holidays(self) -> Any:
            stock = super().regular_holidays
            return type(stock)(rules=[*stock.rules, *fridays])

    xcals.register_calendar_type("XNYS", NoFridays, force=True)
    try:
        got = _schedule(_exchange_calendar, "XNYS", 2020, 2022)
        expected = _schedule(_stock, "XNYS", 2020, 2022)
    finally:
        xcals.register_calendar_type("XNYS", XNYSExchangeCalendar, force=True)
    _assert_same(expected, got)
    sessions = expected[0].astype("datetime64[ns]")
    in_2021 = sessions[
        (sessions >= np.datetime64("2021-01-01")) & (sessions < np.datetime64("2022-01-01"))
    ]
    assert len(in_2021) == 252 - 50  # XNYS had 252 sessions in 2021, 50 of them Fridays


def contract_span_calendar_falls_back_to_the_library_for_a_class_with_its_own_offset() -> None:
    cal = _exchange_calendar("XBOM", 2019, 2021)
    assert type(cal) is type(_stock("XBOM", 2019, 2020))


@pytest.mark.parametrize(
    ("name", "timeframe", "first", "last"),
    [
        ("XNYS", Timeframe.M1, 2019, 2025),
        ("XNYS", Timeframe.D1, 1965, 1975),
        ("XNYS", Timeframe.H1, 2196, 2204),
        ("XHKG", Timeframe.M5, 2019, 2021),  # lunch breaks
        ("XLON", Timeframe.M15, 2006, 2008),
        ("CMES", Timeframe.M1, 2023, 2023),
        ("24/7", Timeframe.H1, 2020, 2021),
        ("XTKS", Timeframe.D1, 1998, 1999),  # sessions from XTKS's first supported year
    ],
)
def invariant_session_grid_is_the_same_as_with_the_library_calendar(
    monkeypatch: pytest.MonkeyPatch, name: str, timeframe: Timeframe, first: int, last: int
) -> None:
    lo = ts_to_us(datetime(first, 1, 1, tzinfo=UTC))
    hi = ts_to_us(datetime(last, 12, 31, 23, 59, tzinfo=UTC))
    new = SessionGrid(name, timeframe)
    new.ensure(lo, hi)
    monkeypatch.setattr(_calendar, "_exchange_calendar", _stock)
    old = SessionGrid(name, timeframe)
    old.ensure(lo, hi)
    assert new.closes.size > 0
    assert np.array_equal(new.closes, old.closes)
    assert np.array_equal(new.session_days, old.session_days)


def fault_span_calendar_keeps_the_library_error_before_the_first_supported_year(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lo = ts_to_us(datetime(1996, 6, 1, tzinfo=UTC))
    with pytest.raises(CalendarError) as new:
        SessionGrid("XTKS", Timeframe.D1).ensure(lo, lo)
    monkeypatch.setattr(_calendar, "_exchange_calendar", _stock)
    with pytest.raises(CalendarError) as old:
        SessionGrid("XTKS", Timeframe.D1).ensure(lo, lo)
    assert str(new.value) == str(old.value)
    assert "1997" in str(new.value)
