"""Day and month closes equal the previous definition (each bar's period compared directly)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from mqk_backtest.metrics import _day_and_month_closes


def _ref_period_closes(
    equity: npt.NDArray[np.float64], ts: npt.NDArray[np.datetime64], unit: str
) -> npt.NDArray[np.float64]:
    period = ts.astype(f"datetime64[{unit}]")
    last = np.r_[period[1:] != period[:-1], True]
    return equity[last]


_US_PER_DAY = 86_400 * 10**6


@st.composite
def _curves(draw: st.DrawFn) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.datetime64]]:
    n = draw(st.integers(1, 200))
    start = draw(st.integers(-(10**17), 10**17))  # about 1653 to 5138
    steps = draw(
        st.lists(
            st.one_of(
                st.integers(0, _US_PER_DAY),
                st.integers(-_US_PER_DAY, 40 * _US_PER_DAY),  # out of order, month jumps
                st.sampled_from([60 * 10**6, _US_PER_DAY, 31 * _US_PER_DAY]),
            ),
            min_size=n,
            max_size=n,
        )
    )
    micros = start + np.cumsum(np.array(steps, dtype=np.int64))
    equity = np.arange(n, dtype=np.float64) + 0.5
    return equity, micros.view("datetime64[us]")


@settings(max_examples=300, deadline=None)
@given(curve=_curves())
def invariant_day_and_month_closes_equal_each_bars_period_compared(
    curve: tuple[npt.NDArray[np.float64], npt.NDArray[np.datetime64]],
) -> None:
    equity, ts = curve
    daily, monthly = _day_and_month_closes(equity, ts)

    assert daily.tolist() == _ref_period_closes(equity, ts, "D").tolist()
    assert monthly.tolist() == _ref_period_closes(equity, ts, "M").tolist()


def unit_month_closes_of_bars_across_a_month_end() -> None:
    ts = np.array(
        ["2024-01-31T20:00", "2024-01-31T21:00", "2024-02-01T14:30", "2024-02-29T21:00"],
        dtype="datetime64[us]",
    )
    daily, monthly = _day_and_month_closes(np.array([1.0, 2.0, 3.0, 4.0]), ts)

    assert daily.tolist() == [2.0, 3.0, 4.0]
    assert monthly.tolist() == [2.0, 4.0]
