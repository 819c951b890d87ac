"""Exact array kernels shared by the vectorised builtins.

All inputs are int64 fixed-point columns whose values lie in ``(0, MAX_FIXED_PRICE]``, so any
window of at most ``MAX_LOOKBACK`` of them sums to less than 2**63.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["ceil_mul_div", "latch", "rolling_max", "rolling_min", "rolling_sum", "rolling_sum_u64"]

_BLOCK_ROWS = 1 << 15
"""Rows updated at a time by an in-place window sum (bounds its temporary)."""


def rolling_sum_u64(values: NDArray[np.uint64], width: int) -> NDArray[np.uint64]:
    """Sum of ``values[t - width + 1 : t + 1]`` at each ``t >= width - 1`` (0 before).

    Exact in O(n) whenever every window sum is below 2**64: prefix sums are taken modulo
    2**64 (unsigned wrap-around is well defined), and the difference of two prefix sums is
    the window sum modulo 2**64 — the window sum itself, even after the prefix has wrapped.
    """
    n = len(values)
    if n < width:
        return np.zeros(n, dtype=np.uint64)
    # the window sums are written over the prefix sums, from the end down, a block at a time:
    # a block reads only prefix sums below it (not yet overwritten), so the one temporary is
    # numpy's copy of a block's overlapping input, instead of a second full-size array
    out = np.cumsum(values, dtype=np.uint64)
    for hi in range(n, width, -_BLOCK_ROWS):
        lo = max(width, hi - _BLOCK_ROWS)
        out[lo:hi] -= out[lo - width : hi - width]
    out[: width - 1] = 0
    return out


def rolling_sum(values: NDArray[np.int64], width: int) -> NDArray[np.int64]:
    """Exact window sums of non-negative int64 values whose window sums stay below 2**63."""
    return rolling_sum_u64(values.view(np.uint64), width).view(np.int64)


def rolling_max(values: NDArray[np.int64], width: int) -> NDArray[np.int64]:
    """Max of ``values[t - width + 1 : t + 1]`` at each ``t >= width - 1`` (0 before).

    Van Herk / Gil-Werman: per-block prefix and suffix maxima, O(n) whatever the width.
    """
    n = len(values)
    out = np.zeros(n, dtype=np.int64)
    if n < width:
        return out
    if width == 1:
        out[:] = values
        return out
    pad = (-n) % width
    padded = np.concatenate([values, np.full(pad, np.iinfo(np.int64).min, dtype=np.int64)])
    blocks = padded.reshape(-1, width)
    prefix = np.maximum.accumulate(blocks, axis=1).ravel()
    suffix = np.maximum.accumulate(blocks[:, ::-1], axis=1)[:, ::-1].ravel()
    out[width - 1 :] = np.maximum(suffix[: n - width + 1], prefix[width - 1 : n])
    return out


def rolling_min(values: NDArray[np.int64], width: int) -> NDArray[np.int64]:
    """Min of ``values[t - width + 1 : t + 1]`` at each ``t >= width - 1`` (0 before)."""
    out: NDArray[np.int64] = -rolling_max(-values, width)
    return out


def latch(set_mask: NDArray[np.bool_], reset_mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """A set/reset flip-flop over time, starting reset; ``set`` wins if both fire at once."""
    n = len(set_mask)
    index = np.arange(n, dtype=np.int64)
    last = np.maximum.accumulate(np.where(set_mask | reset_mask, index, -1))
    state = np.zeros(n, dtype=np.bool_)
    seen = last >= 0
    state[seen] = set_mask[last[seen]]
    return state


def ceil_mul_div(numerator: int, values: NDArray[np.int64], denominator: int) -> NDArray[np.int64]:
    """Exact ``ceil(numerator * values / denominator)`` for ``values >= 0`` without overflow.

    With ``values = q * denominator + r``: ``numerator * q + ceil(numerator * r / denominator)``.
    Safe while ``numerator * denominator < 2**63`` and the result itself fits in int64.
    """
    quotient, remainder = np.divmod(values, np.int64(denominator))
    result: NDArray[np.int64] = (
        numerator * quotient + (numerator * remainder + (denominator - 1)) // denominator
    )
    return result
