"""``sma_cross``: long ``qty`` while the fast SMA is above the slow SMA, else flat."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from pydantic import model_validator

from mqk_strategy._arrays import BarArrays, TargetSeries
from mqk_strategy._fixed import INT64_MAX, MAX_FIXED_QUANTITY, to_fixed
from mqk_strategy._output import StrategyOutput
from mqk_strategy._params import Quantity, StrategyParams, WindowLength
from mqk_strategy._window import BarView, BarWindow
from mqk_strategy.builtins._common import OutputCache
from mqk_strategy.builtins._kernels import rolling_sum

__all__ = ["SmaCross", "SmaCrossParams"]


class SmaCrossParams(StrategyParams):
    """``fast`` < ``slow`` bar counts of simple moving averages of the close; ``qty`` shares."""

    fast: WindowLength
    slow: WindowLength
    qty: Quantity

    @model_validator(mode="after")
    def _fast_below_slow(self) -> SmaCrossParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be < slow ({self.slow})")
        return self


class SmaCross:
    """Long-only SMA crossover on exact fixed-point closes.

    ``fast SMA > slow SMA`` is decided as ``slow * sum_fast > fast * sum_slow`` on integers, so
    there is no rounding anywhere. Warm-up (fewer than ``slow`` bars): no output.
    """

    def __init__(self, params: SmaCrossParams) -> None:
        self.params = params
        self._fast = params.fast
        self._slow = params.slow
        self._qty = params.qty
        self._qty_units = to_fixed(params.qty, field="qty", limit=MAX_FIXED_QUANTITY)
        self._outputs = OutputCache()

    @property
    def lookback(self) -> int:
        """The slow window."""
        return self._slow

    def on_bar(self, bar: BarView, window: BarWindow) -> StrategyOutput | None:
        """Target ``qty`` when the fast SMA is strictly above the slow SMA, else 0."""
        close = window.close
        if len(close) < self._slow:
            return None
        fast_sum = int(close[-self._fast :].sum())
        slow_sum = int(close[-self._slow :].sum())
        held = self._slow * fast_sum > self._fast * slow_sum
        return self._outputs.get(bar.symbol, self._qty if held else Decimal(0))

    def targets_vectorised(self, bars: BarArrays) -> TargetSeries:
        """The same targets for every bar at once (exact integer comparison)."""
        close = bars.close
        n = len(close)
        fast, slow = self._fast, self._slow
        active = np.zeros(n, dtype=np.bool_)
        active[slow - 1 :] = True
        fast_sum = rolling_sum(close, fast)
        slow_sum = rolling_sum(close, slow)
        if n == 0 or slow * fast * int(close.max()) <= INT64_MAX:
            fast_sum *= slow  # in place: the window sums are not needed afterwards
            slow_sum *= fast
            held = fast_sum > slow_sum
        else:
            held = np.array(
                [
                    slow * a > fast * b
                    for a, b in zip(fast_sum.tolist(), slow_sum.tolist(), strict=True)
                ],
                dtype=np.bool_,
            )
        del fast_sum, slow_sum
        held &= active
        quantity = np.where(held, np.int64(self._qty_units), np.int64(0))
        return TargetSeries(quantity=quantity, active=active)
