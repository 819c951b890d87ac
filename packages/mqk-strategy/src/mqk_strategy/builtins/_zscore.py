"""``zscore_mean_reversion``: buy a close far below its window mean, exit near the mean.

The z-score of the current close ``x`` over the last ``window`` closes (current included,
population standard deviation) is ``z = (n*x - S) / sqrt(n*Q - S**2)``. With ``y_i = x_i - x``,
``T = sum(y_i)`` and ``R = sum(y_i**2)``, every rule is an exact integer test of
``sign(T**2 * (p**2 + q**2) - p**2 * n * R)`` for a threshold ``p/q`` — no square root, no
cancellation. A window of equal closes has z = 0.

Rules (``E = entry_z > X = exit_z >= 0``):
- long:  enter when ``z <= -E``; leave when ``z >= -X``; otherwise keep.
- short (only with ``allow_short``): enter when ``z >= E``; leave when ``z <= X``.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from pydantic import Field, model_validator

from mqk_strategy._arrays import BarArrays, TargetSeries
from mqk_strategy._fixed import MAX_FIXED_QUANTITY, MAX_LOOKBACK, to_fixed
from mqk_strategy._output import StrategyOutput
from mqk_strategy._params import Quantity, StrategyParams, Threshold, decimal_ratio
from mqk_strategy._window import BarView, BarWindow
from mqk_strategy.builtins._common import OutputCache
from mqk_strategy.builtins._kernels import latch
from mqk_strategy.builtins._moments import WindowMoments, exact_sign_test

__all__ = ["ZScoreMeanReversion", "ZScoreParams"]


class ZScoreParams(StrategyParams):
    """``window`` closes, entry/exit z thresholds (``entry_z > exit_z``), ``qty``, shorting."""

    window: int = Field(ge=2, le=MAX_LOOKBACK)
    entry_z: Threshold
    exit_z: Threshold
    qty: Quantity
    allow_short: bool

    @model_validator(mode="after")
    def _entry_beyond_exit(self) -> ZScoreParams:
        if self.entry_z <= self.exit_z:
            raise ValueError(f"entry_z ({self.entry_z}) must be > exit_z ({self.exit_z})")
        if self.entry_z == 0:
            raise ValueError("entry_z must be > 0")
        return self


def _sign(value: int) -> int:
    return (value > 0) - (value < 0)


class ZScoreMeanReversion:
    """Mean reversion on the exact z-score of the close (see module docstring)."""

    def __init__(self, params: ZScoreParams) -> None:
        self.params = params
        self._n = params.window
        p_e, q_e = decimal_ratio(params.entry_z)
        p_x, q_x = decimal_ratio(params.exit_z)
        self._entry = (p_e * p_e + q_e * q_e, p_e * p_e * self._n)
        self._exit = (p_x * p_x + q_x * q_x, p_x * p_x * self._n)
        self._qty = params.qty
        self._qty_units = to_fixed(params.qty, field="qty", limit=MAX_FIXED_QUANTITY)
        self._short = params.allow_short
        self._state: dict[str, int] = {}
        self._outputs = OutputCache()

    @property
    def lookback(self) -> int:
        """The z-score window."""
        return self._n

    def on_bar(self, bar: BarView, window: BarWindow) -> StrategyOutput | None:
        """Update this symbol's long/short/flat state from the current z-score."""
        close = window.close
        if len(close) < self._n:
            return None
        values = close[-self._n :].tolist()
        x = values[-1]
        total = sum(values) - self._n * x
        squares = sum((v - x) * (v - x) for v in values)
        t2 = total * total
        beyond_entry = _sign(t2 * self._entry[0] - self._entry[1] * squares) >= 0
        within_exit = _sign(t2 * self._exit[0] - self._exit[1] * squares) <= 0
        state = self._state.get(bar.symbol, 0)
        if total > 0 and beyond_entry:
            state = 1
        elif self._short and total < 0 and beyond_entry:
            state = -1
        elif (state == 1 and (total <= 0 or within_exit)) or (
            state == -1 and (total >= 0 or within_exit)
        ):
            state = 0
        self._state[bar.symbol] = state
        return self._outputs.get(bar.symbol, self._qty * state if state else Decimal(0))

    def targets_vectorised(self, bars: BarArrays) -> TargetSeries:
        """The same targets for every bar at once, in O(bars).

        ``T`` and ``R`` come from exact window moments (see ``_moments``); each threshold test
        is an exact sign, decided in float64 where the float error cannot flip it and with
        Python integers inside the error band.
        """
        close = bars.close
        n_bars, n = len(close), self._n
        active = np.arange(n_bars) >= n - 1
        if n_bars < n:
            return TargetSeries(quantity=np.zeros(n_bars, dtype=np.int64), active=active)
        moments = WindowMoments.of(close, n)
        total = moments.total
        entry = exact_sign_test(moments, active, *self._entry)
        exit_ = exact_sign_test(moments, active, *self._exit)
        long_state = latch(
            active & (total > 0) & (entry >= 0), active & ((total <= 0) | (exit_ <= 0))
        )
        if self._short:
            short_state = latch(
                active & (total < 0) & (entry >= 0), active & ((total >= 0) | (exit_ <= 0))
            )
            direction = long_state.astype(np.int64) - short_state.astype(np.int64)
        else:
            direction = long_state.astype(np.int64)
        quantity = direction * np.int64(self._qty_units)
        return TargetSeries(quantity=quantity, active=active)
