"""The CSV tables' bulk timestamp texts are exactly ``format_utc`` of each timestamp."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mqk_backtest._tables import utc_texts_of
from mqk_schemas import NaiveDatetimeError, format_utc

_zones = st.one_of(
    st.just(UTC),
    st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-23 * 60, 23 * 60)),
    st.builds(lambda s: timezone(timedelta(seconds=s)), st.integers(-86399, 86399).filter(bool)),
)
_moments = st.one_of(
    st.datetimes(),  # years 1 to 9999
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2040, 1, 1)),
    st.datetimes(min_value=datetime(999, 12, 30), max_value=datetime(1000, 1, 2)),
)
_stamps = st.lists(st.builds(lambda m, z: m.replace(tzinfo=z), _moments, _zones), max_size=20)


def _one_at_a_time(stamps: list[datetime]) -> Any:
    try:
        return [format_utc(stamp) for stamp in stamps]
    except Exception as exc:
        return type(exc), str(exc)


def _bulk(stamps: list[datetime]) -> Any:
    try:
        return utc_texts_of(stamps)
    except Exception as exc:
        return type(exc), str(exc)


@settings(max_examples=400, deadline=None)
@given(stamps=_stamps)
def invariant_utc_texts_of_equals_format_utc_of_each(stamps: list[datetime]) -> None:
    assert _bulk(stamps) == _one_at_a_time(stamps)


@pytest.mark.parametrize(
    ("stamps", "texts"),
    [
        ([], []),
        (
            [datetime(2020, 1, 2, 15, 5, tzinfo=UTC), datetime(2020, 1, 2, 15, 5, 0, 7, UTC)],
            ["2020-01-02T15:05:00Z", "2020-01-02T15:05:00.000007Z"],
        ),
        (
            [datetime(2020, 1, 2, 10, 0, tzinfo=timezone(timedelta(hours=-5)))],
            ["2020-01-02T15:00:00Z"],
        ),
        ([datetime(1000, 1, 1, tzinfo=UTC)], ["1000-01-01T00:00:00Z"]),
        (
            [datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC)],
            [format_utc(datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC))],
        ),
        ([datetime(1969, 12, 31, 23, 59, 59, 999999, UTC)], ["1969-12-31T23:59:59.999999Z"]),
    ],
)
def unit_utc_texts_of_known_stamps(stamps: list[datetime], texts: list[str]) -> None:
    assert utc_texts_of(stamps) == texts


def fault_a_naive_stamp_is_refused_as_format_utc_refuses_it() -> None:
    stamps = [datetime(2020, 1, 2, tzinfo=UTC), datetime(2020, 1, 2)]
    with pytest.raises(NaiveDatetimeError, match="has no timezone"):
        utc_texts_of(stamps)
