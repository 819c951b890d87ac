"""The session grid: expected bar closes of a calendar, so that closed hours are never gaps."""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime, timedelta

import exchange_calendars as xcals
import numpy as np
import pytest

from mqk_integrity import CalendarError, SessionGrid, UnknownCalendarError
from mqk_integrity._calendar import ts_to_us, us_to_ts
from mqk_schemas import Timeframe


def _closes(grid: SessionGrid, start: datetime, end: datetime) -> list[datetime]:
    lo, hi = ts_to_us(start), ts_to_us(end)
    grid.ensure(lo, hi)
    closes = grid.closes
    return [us_to_ts(int(v)) for v in closes[(closes >= lo) & (closes <= hi)]]


def _day(y: int, m: int, d: int) -> tuple[datetime, datetime]:
    return datetime(y, m, d, tzinfo=UTC), datetime(y, m, d, 23, 59, tzinfo=UTC)


def unit_daily_xnys_grid_skips_weekends_and_holidays_and_keeps_early_closes() -> None:
    grid = SessionGrid("XNYS", Timeframe.D1)
    closes = _closes(grid, datetime(2022, 11, 21, tzinfo=UTC), datetime(2022, 11, 29, tzinfo=UTC))
    assert closes == [
        datetime(2022, 11, 21, 21, tzinfo=UTC),
        datetime(2022, 11, 22, 21, tzinfo=UTC),
        datetime(2022, 11, 23, 21, tzinfo=UTC),
        # 24 Nov: Thanksgiving; 25 Nov: early close 13:00 New York
        datetime(2022, 11, 25, 18, tzinfo=UTC),
        datetime(2022, 11, 28, 21, tzinfo=UTC),
    ]


@pytest.mark.parametrize(
    ("calendar", "timeframe", "day", "expected_hours"),
    [
        # New York winter session 14:30-21:00 UTC: hourly closes from the open, last one clipped
        (
            "XNYS",
            Timeframe.H1,
            (2022, 1, 4),
            ["15:30", "16:30", "17:30", "18:30", "19:30", "20:30", "21:00"],
        ),
        ("XNYS", Timeframe.H4, (2022, 1, 4), ["18:30", "21:00"]),
        # summer time: 13:30-20:00 UTC
        ("XNYS", Timeframe.H4, (2022, 7, 6), ["17:30", "20:00"]),
        # Hong Kong: 01:30-04:00 and 05:00-08:00 UTC around the lunch break
        (
            "XHKG",
            Timeframe.H1,
            (2022, 1, 4),
            ["02:30", "03:30", "04:00", "06:00", "07:00", "08:00"],
        ),
        # the 00:00 close belongs to the session of 31 December
        (
            "24/7",
            Timeframe.H4,
            (2022, 1, 1),
            ["00:00", "04:00", "08:00", "12:00", "16:00", "20:00"],
        ),
        ("XNYS", Timeframe.H1, (2022, 1, 17), []),  # Martin Luther King Jr. Day
        ("XNYS", Timeframe.M30, (2022, 1, 8), []),  # Saturday
    ],
)
def unit_intraday_grid_follows_sessions_and_breaks(
    calendar, timeframe, day, expected_hours
) -> None:
    grid = SessionGrid(calendar, timeframe)
    closes = _closes(grid, *_day(*day))
    assert [f"{c:%H:%M}" for c in closes] == expected_hours


def unit_daily_24_7_bars_close_at_midnight_every_day() -> None:
    grid = SessionGrid("24/7", Timeframe.D1)
    closes = _closes(grid, datetime(2022, 1, 1, 1, tzinfo=UTC), datetime(2022, 1, 4, tzinfo=UTC))
    assert closes == [datetime(2022, 1, d, tzinfo=UTC) for d in (2, 3, 4)]


def unit_grid_points_carry_their_session_label() -> None:
    grid = SessionGrid("24/7", Timeframe.D1)
    pos, on = grid.locate_one(ts_to_us(datetime(2022, 1, 1, tzinfo=UTC)))
    assert on
    assert grid.session_at(pos) == date(2021, 12, 31)


def invariant_grid_does_not_depend_on_the_years_loaded() -> None:
    narrow = SessionGrid("XNYS", Timeframe.M30)
    wide = SessionGrid("XNYS", Timeframe.M30)
    lo, hi = ts_to_us(datetime(2021, 3, 1, tzinfo=UTC)), ts_to_us(datetime(2021, 4, 1, tzinfo=UTC))
    narrow.ensure(lo, hi)
    wide.ensure(
        ts_to_us(datetime(2015, 1, 1, tzinfo=UTC)), ts_to_us(datetime(2024, 1, 1, tzinfo=UTC))
    )
    a, b = narrow.closes, wide.closes
    assert np.array_equal(a[(a >= lo) & (a <= hi)], b[(b >= lo) & (b <= hi)])
    assert (np.diff(b) > 0).all()


def unit_first_closes_starts_at_the_first_session_on_or_after_the_date() -> None:
    grid = SessionGrid("XNYS", Timeframe.D1)
    first = grid.first_closes(ts_to_us(datetime(2022, 1, 1, tzinfo=UTC)), 3)
    assert [us_to_ts(int(v)).date() for v in first] == [date(2022, 1, d) for d in (3, 4, 5)]


def fault_unknown_calendar_is_a_typed_error() -> None:
    with pytest.raises(UnknownCalendarError, match="XNOPE") as info:
        SessionGrid("XNOPE", Timeframe.D1)
    assert info.value.reason_code == "UNKNOWN_CALENDAR"


def fault_times_beyond_the_calendar_range_are_a_typed_error() -> None:
    grid = SessionGrid("XNYS", Timeframe.D1)
    with pytest.raises(CalendarError, match="between"):
        grid.ensure(
            ts_to_us(datetime(2261, 6, 1, tzinfo=UTC)), ts_to_us(datetime(2261, 6, 2, tzinfo=UTC))
        )


@pytest.mark.parametrize("calendar", ["ASEX", "XBEL", "XBSE", "XCYS"])
def fault_a_calendar_whose_holidays_pandas_cannot_compute_is_a_typed_error(calendar: str) -> None:
    """Their Orthodox Easter rules raise NotImplementedError inside pandas 3: the operator gets
    a CalendarError naming the calendar, not a traceback."""
    grid = SessionGrid(calendar, Timeframe.D1)
    with pytest.raises(CalendarError) as info:
        grid.ensure(
            ts_to_us(datetime(2024, 6, 3, tzinfo=UTC)), ts_to_us(datetime(2024, 6, 4, tzinfo=UTC))
        )
    assert str(info.value) == (
        f"calendar {calendar!r} cannot give sessions for 2023-2025: exchange_calendars cannot"
        " compute its holidays with this pandas (implemented by subclasses)"
    )


def _reference_grid(calendar: str, timeframe: Timeframe, year: int) -> list[tuple[int, date]]:
    """(close, session) of each grid point of the sessions of ``year``, session by session."""
    with warnings.catch_warnings():  # exchange_calendars calls APIs pandas 3 deprecates
        warnings.simplefilter("ignore", DeprecationWarning)
        cal = xcals.get_calendar(calendar, start=f"{year - 1}-01-01", end=f"{year + 1}-12-31")
    step = int(timeframe.duration.total_seconds()) * 1_000_000
    times = {
        name: [None if str(t) == "NaT" else ts_to_us(t.to_pydatetime()) for t in series]
        for name, series in (
            ("open", cal.opens),
            ("close", cal.closes),
            ("pause", cal.break_starts),
            ("resume", cal.break_ends),
        )
    }
    points: list[tuple[int, date]] = []
    for k, session in enumerate(cal.sessions):
        label = session.date()
        if label.year != year:
            continue
        open_, close = times["open"][k], times["close"][k]
        pause, resume = times["pause"][k], times["resume"][k]
        assert open_ is not None
        assert close is not None
        if not timeframe.is_intraday:
            points.append((close, label))
            continue
        halves = [(open_, close)]
        if pause is not None and resume is not None:  # a lunch break splits the session
            halves = [(open_, pause), (resume, close)]
        for start, end in halves:
            at = start + step
            while True:
                points.append((min(at, end), label))
                if at >= end:
                    break
                at += step
    return points


@pytest.mark.parametrize(
    ("calendar", "timeframe"),
    [
        ("XNYS", Timeframe.M1),
        ("XNYS", Timeframe.H1),
        ("XNYS", Timeframe.D1),
        ("XHKG", Timeframe.M30),
        ("XHKG", Timeframe.H4),
        ("24/7", Timeframe.H4),
        ("CMES", Timeframe.M15),
        ("XLON", Timeframe.M15),
    ],
)
def invariant_grid_and_session_labels_match_a_session_by_session_construction(
    calendar: str, timeframe: Timeframe
) -> None:
    expected = _reference_grid(calendar, timeframe, 2022)
    grid = SessionGrid(calendar, timeframe)
    pos, on_grid = grid.locate(np.array([close for close, _ in expected], dtype=np.int64))
    assert on_grid.all()
    assert (np.diff(pos) == 1).all()  # no grid point of these sessions is missing or extra
    first, last = int(pos[0]), int(pos[-1])
    days = grid.session_days
    assert [date(1970, 1, 1) + timedelta(days=int(d)) for d in days[first : last + 1]] == [
        label for _, label in expected
    ]
    for k in range(0, len(expected), max(1, len(expected) // 50)):
        assert grid.session_at(int(pos[k])) == expected[k][1]
    assert grid.session_at(-1) == date(1970, 1, 1) + timedelta(days=int(days[-1]))
    with pytest.raises(IndexError):
        grid.session_at(grid.closes.size)
