"""Expected bar close times ("the session grid") of one timeframe on one exchange calendar.

Daily bars close at each session's close (early closes included). Intraday bars of length
``d`` close at ``open + d, open + 2d, ...`` inside each session (or each half of a session
with a lunch break), the last one clipped to the session's (or half's) end. Nights, weekends
and holidays hold no grid points, so they are never counted as gaps.

The grid is computed with exchange_calendars in whole years of sessions, vectorised with
numpy, and cached; locating a bar is a binary search. The same grid object serves the
streaming gate (extended a year range at a time) and the vectorised frame scan, so both count
gaps identically.

exchange_calendars builds a calendar's session offset from its regular holidays of 1970-2200
(pandas' default holiday range) whatever span is asked, and computes the span's holidays twice
more for the special opens and closes: ~0.09 of the ~0.13 s of an XNYS calendar of 9 years.
:func:`_exchange_calendar` builds the same calendar with the holidays of the asked span only,
computed once (see :class:`_SpanHolidays`), and falls back to ``get_calendar`` when the
library no longer has the shape this relies on.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from datetime import UTC, date, datetime, timedelta
from typing import Any

import exchange_calendars as xcals
import numpy as np
import numpy.typing as npt
from exchange_calendars import ExchangeCalendar, calendar_utils
from exchange_calendars.exchange_calendar import HolidayCalendar

from mqk_integrity.errors import CalendarError, UnknownCalendarError
from mqk_schemas import Timeframe

__all__ = ["SessionGrid", "calendar_names", "ts_to_us", "us_to_ts"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US_PER_DAY = 86_400_000_000
_US_PER_YEAR = 366 * _US_PER_DAY
_MARGIN_YEARS = 1
"""Sessions of neighbouring years are loaded too: a session's label year and the UTC year of
its close can differ (a 24/7 session of 31 December closes on 1 January)."""

_MIN_YEAR = 1800
_MAX_YEAR = 2260
"""exchange_calendars works in nanosecond pandas timestamps, which end in April 2262."""

I64Array = npt.NDArray[np.int64]
_EMPTY: I64Array = np.empty(0, dtype=np.int64)
_BLOCK = 1 << 15
"""Times located at a time (bounds the temporaries)."""


def calendar_names() -> tuple[str, ...]:
    """Names accepted as ``data.calendar`` (exchange_calendars codes and aliases, ``24/7``)."""
    return tuple(sorted(xcals.get_calendar_names(include_aliases=True)))


def ts_to_us(value: datetime) -> int:
    """Microseconds since the epoch of an aware datetime (exact)."""
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def us_to_ts(value: int) -> datetime:
    """The aware UTC datetime at ``value`` microseconds since the epoch."""
    return _EPOCH + timedelta(microseconds=int(value))


def _year_of(us: int) -> int:
    return us_to_ts(us).year


def _to_us(values: Any) -> I64Array:
    """datetime64[ns] values (NaT allowed) -> int64 microseconds (NaT -> int64 min)."""
    ns = np.asarray(values, dtype="datetime64[ns]").view(np.int64)
    out: I64Array = np.where(ns == np.iinfo(np.int64).min, ns, ns // 1000)
    return out


def _naive_utc(series: Any) -> Any:
    """A tz-aware pandas Series of UTC times as a numpy datetime64 array (NaT kept)."""
    return series.dt.tz_convert(None).to_numpy()


class SessionGrid:
    """Sorted close times of every expected bar of ``timeframe`` on ``calendar``.

    Raises :class:`UnknownCalendarError` for a name exchange_calendars does not know.
    """

    def __init__(self, calendar: str, timeframe: Timeframe) -> None:
        if calendar not in xcals.get_calendar_names(include_aliases=True):
            raise UnknownCalendarError(
                f"unknown exchange calendar {calendar!r}; use an exchange_calendars code such as"
                " 'XNYS', or '24/7' for instruments that trade around the clock"
            )
        self.calendar = calendar
        self.timeframe = timeframe
        self._first_year: int | None = None
        self._last_year: int | None = None
        self._covered = (0, -1)
        self._closes: I64Array = np.empty(0, dtype=np.int64)
        self._runs: tuple[I64Array, I64Array] = (_EMPTY, _EMPTY)
        """(first grid index, session label) of each run of grid points of one session."""
        self._labels: I64Array | None = None

    @property
    def closes(self) -> I64Array:
        """Grid close times loaded so far, microseconds since the epoch, strictly increasing."""
        return self._closes

    @property
    def session_days(self) -> I64Array:
        """Session label of each grid point (days since 1970-01-01), aligned with closes.

        Built on first use: scanning a frame needs it only where there are gaps."""
        if self._labels is None:
            starts, labels = self._runs
            self._labels = np.repeat(labels, np.diff(starts, append=self._closes.size))
        return self._labels

    def ensure(self, start_us: int, end_us: int) -> None:
        """Load the grid so that it covers every instant in ``[start_us, end_us]``."""
        lo, hi = self._covered
        if lo <= start_us and end_us <= hi:
            return
        first = _year_of(start_us) - _MARGIN_YEARS
        last = _year_of(end_us) + _MARGIN_YEARS
        if self._first_year is not None and self._last_year is not None:
            first = min(first, self._first_year)
            last = max(last, self._last_year)
        self._load(first, last)

    def locate(self, ts_us: I64Array) -> tuple[I64Array, npt.NDArray[np.bool_]]:
        """Grid index of each time (insertion point) and whether it is exactly on the grid."""
        if ts_us.size:
            self.ensure(int(ts_us.min()), int(ts_us.max()))
        pos: I64Array = np.asarray(
            np.searchsorted(self._closes, ts_us, side="left"), dtype=np.int64
        )
        if self._closes.size == 0:
            return pos, np.zeros(pos.shape, dtype=np.bool_)
        on_grid = np.empty(pos.shape, dtype=np.bool_)
        for lo in range(0, pos.size, _BLOCK):  # blocks: no full-size temporary
            at = np.take(self._closes, pos[lo : lo + _BLOCK], mode="clip")
            np.equal(at, ts_us[lo : lo + _BLOCK], out=on_grid[lo : lo + _BLOCK])
        on_grid &= pos < self._closes.size
        return pos, on_grid

    def locate_one(self, ts_us: int) -> tuple[int, bool]:
        """Grid index of one time and whether it is on the grid (see :meth:`locate`)."""
        self.ensure(ts_us, ts_us)
        pos = int(np.searchsorted(self._closes, ts_us, side="left"))
        return pos, pos < self._closes.size and int(self._closes[pos]) == ts_us

    def close_at(self, index: int) -> datetime:
        """Close time of grid point ``index`` (after :meth:`ensure`)."""
        return us_to_ts(int(self._closes[index]))

    def session_at(self, index: int) -> date:
        """Session label of grid point ``index``."""
        size = self._closes.size
        if not -size <= index < size:
            raise IndexError(f"grid index {index} is out of range for {size} points")
        starts, labels = self._runs
        run = int(np.searchsorted(starts, index % size, side="right")) - 1
        return date(1970, 1, 1) + timedelta(days=int(labels[run]))

    def first_closes(self, start_us: int, count: int) -> I64Array:
        """The first ``count`` grid close times at or after ``start_us``."""
        self.ensure(start_us, start_us)
        for _ in range(8):
            first = int(np.searchsorted(self._closes, start_us, side="left"))
            # only points before the covered end are final: later years are not loaded yet
            covered_end = self._covered[1]
            limit = int(np.searchsorted(self._closes, covered_end, side="right"))
            if limit - first >= count:
                return self._closes[first : first + count].copy()
            per_year = max(limit - first, 1) * _US_PER_YEAR / max(covered_end - start_us, 1)
            years = min(int(count / per_year) + 2, _MAX_YEAR - _year_of(start_us))
            self.ensure(start_us, start_us + years * _US_PER_YEAR)
        raise CalendarError(
            f"calendar {self.calendar!r} has fewer than {count} {self.timeframe} bars"
            f" before {_MAX_YEAR - _MARGIN_YEARS}"
        )

    def _load(self, first_year: int, last_year: int) -> None:
        if first_year < _MIN_YEAR or last_year > _MAX_YEAR:
            raise CalendarError(
                f"calendar {self.calendar!r}: bars must close between {_MIN_YEAR + 1} and"
                f" {_MAX_YEAR - 1} (asked for sessions of {first_year}-{last_year})"
            )
        try:
            with warnings.catch_warnings():
                # exchange_calendars still calls pandas APIs that pandas 3 deprecates
                warnings.simplefilter("ignore", DeprecationWarning)
                cal = _exchange_calendar(self.calendar, first_year, last_year)
            sessions = _to_us(cal.sessions.to_numpy()) // _US_PER_DAY
            opens = _to_us(_naive_utc(cal.opens))
            closes = _to_us(_naive_utc(cal.closes))
            break_starts = _to_us(_naive_utc(cal.break_starts))
            break_ends = _to_us(_naive_utc(cal.break_ends))
        except (ValueError, KeyError, xcals.errors.CalendarError) as exc:
            raise CalendarError(
                f"calendar {self.calendar!r} cannot give sessions for {first_year}-{last_year}:"
                f" {exc}"
            ) from exc
        except NotImplementedError as exc:  # a holiday rule pandas cannot compute (ASEX, XBEL)
            raise CalendarError(
                f"calendar {self.calendar!r} cannot give sessions for {first_year}-{last_year}:"
                f" exchange_calendars cannot compute its holidays with this pandas ({exc})"
            ) from exc
        if self.timeframe.is_intraday:
            step = self.timeframe.duration // timedelta(microseconds=1)
            grid, runs = _intraday_grid(sessions, opens, closes, break_starts, break_ends, step)
        else:
            grid, runs = closes, (np.arange(closes.size, dtype=np.int64), sessions)
        self._closes = grid
        self._runs = runs
        self._labels = None
        self._first_year, self._last_year = first_year, last_year
        # instants inside the margin years are only partially served; keep them outside
        lo = ts_to_us(datetime(first_year + _MARGIN_YEARS, 1, 1, tzinfo=UTC))
        hi = ts_to_us(datetime(last_year - _MARGIN_YEARS + 1, 1, 1, tzinfo=UTC)) - 1
        self._covered = (lo, hi)


class _SpanHolidays(HolidayCalendar):  # type: ignore[misc]
    """A calendar's regular holiday rules whose default range is one span of dates.

    Asked without dates (as pandas' ``CustomBusinessDay(calendar=...)`` asks when the calendar
    builds its session offset), it gives the holidays of ``[start, end]`` clipped to pandas'
    default range instead of those of the whole default range: the sessions of the span are the
    same (an offset's holidays outside the span never move a date inside it), and the special
    opens and closes, which ask for ``[start, end]`` again, are served from pandas' cache.
    """

    def __init__(self, rules: Any, start: datetime, end: datetime) -> None:
        super().__init__(rules=rules)
        self._span = (max(start, HolidayCalendar.start_date), min(end, HolidayCalendar.end_date))

    def holidays(self, start: Any = None, end: Any = None, return_name: bool = False) -> Any:
        """Holidays in ``[start, end]``; the span's when both are omitted."""
        if start is None and end is None:
            start, end = self._span
        return super().holidays(start, end, return_name=return_name)


def _exchange_calendar(name: str, first_year: int, last_year: int) -> Any:
    """exchange_calendars' calendar ``name`` with the sessions of ``first_year..last_year``.

    Equal to ``xcals.get_calendar(name, start=..., end=...)``, built through
    :func:`_span_calendar_class` when the calendar's class allows it, else by the library.
    """
    start, end = datetime(first_year, 1, 1), datetime(last_year, 12, 31)
    cls = _span_calendar_class(name, start, end)
    if cls is None:
        return xcals.get_calendar(name, start=f"{first_year}-01-01", end=f"{last_year}-12-31")
    return cls(start=f"{first_year}-01-01", end=f"{last_year}-12-31")


def _span_calendar_class(name: str, start: datetime, end: datetime) -> type[Any] | None:
    """A subclass of calendar ``name``'s class whose regular holidays are a
    :class:`_SpanHolidays` of ``[start, end]``, computed once per calendar.

    None unless the library has the shape this relies on: a default factory class for the
    name that inherits the base class's session offset (``day``, a cached property built from
    ``regular_holidays``) and defines ``regular_holidays`` as a property. None too for a span
    outside pandas' default holiday range: the library's offset holds none of its holidays, but
    computes (and may fail on, as Orthodox Easter rules do under pandas 3) those of the range.
    """
    if end < HolidayCalendar.start_date or start > HolidayCalendar.end_date:
        return None
    # the dispatcher get_calendar asks (it honours a host's register_calendar_type); a name
    # registered as a calendar instance is left to get_calendar
    dispatcher = getattr(calendar_utils, "global_calendar_dispatcher", None)
    factories = getattr(dispatcher, "_calendar_factories", None)
    instances = getattr(dispatcher, "_calendars", None)
    if not isinstance(factories, dict) or not isinstance(instances, dict):
        return None
    real = xcals.resolve_alias(name)
    if real in instances:
        return None
    base = factories.get(real)
    if not (isinstance(base, type) and issubclass(base, ExchangeCalendar)):
        return None
    day = inspect.getattr_static(ExchangeCalendar, "day", None)
    stock = inspect.getattr_static(base, "regular_holidays", None)
    if (
        not isinstance(day, functools.cached_property)
        or inspect.getattr_static(base, "day", None) is not day
        or not isinstance(stock, property)
        or stock.fget is None
    ):
        return None
    rules_of = stock.fget

    def regular_holidays(calendar: Any) -> Any:
        holidays = rules_of(calendar)
        if type(holidays) is not HolidayCalendar:
            return holidays
        return _SpanHolidays(holidays.rules, start, end)

    return type(
        base.__name__,
        (base,),
        {
            "regular_holidays": functools.cached_property(regular_holidays),
            "__module__": __name__,
            "__qualname__": f"{base.__qualname__}(span {start.year}-{end.year})",
        },
    )


def _intraday_grid(
    sessions: I64Array,
    opens: I64Array,
    closes: I64Array,
    break_starts: I64Array,
    break_ends: I64Array,
    step: int,
) -> tuple[I64Array, tuple[I64Array, I64Array]]:
    """Bar close times inside each trading segment (a session, or each half around a break),
    and each segment's first grid index and session label."""
    nat = np.iinfo(np.int64).min
    has_break = break_starts != nat
    seg_start = np.concatenate([opens, break_ends[has_break]])
    seg_end = np.concatenate([np.where(has_break, break_starts, closes), closes[has_break]])
    seg_label = np.concatenate([sessions, sessions[has_break]])
    order = np.argsort(seg_start, kind="stable")
    counts = np.maximum(-((seg_start[order] - seg_end[order]) // step), 0)  # ceil((end-start)/step)
    order = order[counts > 0]
    counts = counts[counts > 0]
    seg_start, seg_end, seg_label = seg_start[order], seg_end[order], seg_label[order]
    # point g of the grid, the k-th (from 1) of its segment j, closes at
    # seg_start[j] + k * step = (seg_start[j] - (offset[j] - 1) * step) + g * step; only a
    # segment's last point can pass the segment's end and is clipped to it
    if counts.size == 0:
        return _EMPTY.copy(), (_EMPTY.copy(), _EMPTY.copy())
    offsets = np.cumsum(counts) - counts
    base = seg_start - (offsets - 1) * step
    # built in place as the running sum of its steps (step, plus the jump to the next segment)
    points = np.full(int(counts.sum()), step, dtype=np.int64)
    points[0] = base[0]
    points[offsets[1:]] += np.diff(base)
    np.cumsum(points, out=points)
    last = offsets + counts - 1
    points[last] = np.minimum(points[last], seg_end)
    return points, (offsets.astype(np.int64, copy=False), seg_label.astype(np.int64, copy=False))
