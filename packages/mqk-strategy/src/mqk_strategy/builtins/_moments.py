"""Exact window moments of fixed-point closes, and an exact sign test built on them.

For a window of ``n`` closes ending at ``x = x_t``: ``S = sum(x_i)``, ``T = S - n*x`` and
``R = sum((x_i - x)**2) = Q - 2*x*S + n*x**2`` with ``Q = sum(x_i**2)``.

``Q`` needs about 113 bits, so each close (< 2**50) is split into 25-bit limbs
``x = h * 2**25 + l`` and ``Q = A * 2**50 + B * 2**26 + C`` with ``A = sum(h*h)``,
``B = sum(h*l)`` and ``C = sum(l*l)``: three window sums, each exact in uint64 (``A`` and
``C`` stay below ``n * 2**50 <= 2**64`` for n <= MAX_LOOKBACK, ``B < S < 2**63``). So every
quantity is known exactly as an integer, in O(1) per bar once the window sums exist.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mqk_strategy.builtins._kernels import rolling_max, rolling_min, rolling_sum, rolling_sum_u64

__all__ = ["WindowMoments", "exact_sign_test"]

_LIMB = 25
_LOW_MASK = (1 << _LIMB) - 1
_UNIT_ROUNDOFF = 2.0**-53
_BAND = 32.0 * _UNIT_ROUNDOFF


@dataclass(frozen=True, slots=True)
class WindowMoments:
    """Exact per-bar window sums (meaningful from bar ``n - 1`` on)."""

    n: int
    close: NDArray[np.int64]
    total: NDArray[np.int64]
    hh: NDArray[np.uint64]
    hl: NDArray[np.uint64]
    ll: NDArray[np.uint64]
    flat: NDArray[np.bool_]
    squares: NDArray[np.float64]
    scale: NDArray[np.float64]

    @classmethod
    def of(cls, close: NDArray[np.int64], n: int) -> WindowMoments:
        """Window sums of width ``n`` over ``close`` (values in (0, MAX_FIXED_PRICE])."""
        high = (close >> _LIMB).astype(np.uint64)
        low = (close & _LOW_MASK).astype(np.uint64)
        total_sum = rolling_sum(close, n)
        hh = rolling_sum_u64(high * high, n)
        hl = rolling_sum_u64(high * low, n)
        ll = rolling_sum_u64(low * low, n)
        x = close.astype(np.float64)
        s = total_sum.astype(np.float64)
        q = (
            hh.astype(np.float64) * 2.0**50
            + hl.astype(np.float64) * 2.0**26
            + ll.astype(np.float64)
        )
        cross = 2.0 * x * s
        own = float(n) * x * x
        return cls(
            n=n,
            close=close,
            total=total_sum - n * close,
            hh=hh,
            hl=hl,
            ll=ll,
            flat=rolling_max(close, n) == rolling_min(close, n),
            squares=q - cross + own,
            scale=q + cross + own,
        )

    def exact_squares(self, i: int) -> int:
        """``R`` at bar ``i`` as an exact Python integer."""
        x = int(self.close[i])
        q = (int(self.hh[i]) << 2 * _LIMB) + (int(self.hl[i]) << _LIMB + 1) + int(self.ll[i])
        s = int(self.total[i]) + self.n * x
        return q - 2 * x * s + self.n * x * x


def exact_sign_test(
    moments: WindowMoments, active: NDArray[np.bool_], k: int, m: int
) -> NDArray[np.int64]:
    """Exact ``sign(T**2 * k - m * R)`` per bar (``k > 0``, ``m >= 0``).

    Float64 first: ``T**2 * k`` has relative error below 4u and ``R`` absolute error below
    ``8u * (Q + 2xS + n x**2)`` (u = 2**-53, all operands exact integers or sums of
    non-negative terms), so a float difference beyond ``32u * (T**2 k + m * scale)`` has the
    exact sign. ``T == 0`` is decided exactly (``R == 0`` iff the window is flat); the rest of
    the band is re-decided with Python integers, O(1) per bar.
    """
    total = moments.total
    if m == 0:
        nonzero: NDArray[np.int64] = (total != 0).astype(np.int64)
        return nonzero
    t = total.astype(np.float64)
    lhs = t * t * float(k)
    diff = lhs - float(m) * moments.squares
    band = _BAND * (lhs + float(m) * moments.scale)
    signs = np.where(diff > band, 1, np.where(diff < -band, -1, 0)).astype(np.int64)
    zero = total == 0
    signs[zero] = np.where(moments.flat[zero], 0, -1)
    for i in np.flatnonzero((np.abs(diff) <= band) & active & ~zero).tolist():
        exact_total = int(total[i])
        value = exact_total * exact_total * k - m * moments.exact_squares(i)
        signs[i] = (value > 0) - (value < 0)
    return signs
