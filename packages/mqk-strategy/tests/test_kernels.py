"""The in-place window sums equal the prefix-sum differences they replace, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from mqk_strategy.builtins._kernels import _BLOCK_ROWS, rolling_sum, rolling_sum_u64


def prefix_differences(values: NDArray[np.uint64], width: int) -> NDArray[np.uint64]:
    """The previous definition (two full-size arrays), kept as the oracle."""
    n = len(values)
    out = np.zeros(n, dtype=np.uint64)
    if n < width:
        return out
    prefix = np.cumsum(values, dtype=np.uint64)
    out[width - 1 :] = prefix[width - 1 :]
    out[width:] -= prefix[: n - width]
    return out


WIDTHS = [1, 2, 20, 37, _BLOCK_ROWS - 1, _BLOCK_ROWS, _BLOCK_ROWS + 1, 10_000]


@pytest.mark.parametrize("width", WIDTHS)
def invariant_rolling_sum_u64_equals_prefix_differences_across_blocks(width: int) -> None:
    # values near 2**63 make the prefix sums wrap around many times: only exact modular
    # differences give the window sums back
    rng = np.random.default_rng(width)
    for n in (0, 1, width - 1, width, width + 1, 3 * _BLOCK_ROWS + 7):
        values = rng.integers(0, 2**63, size=n, dtype=np.uint64)
        got = rolling_sum_u64(values, width)
        assert got.dtype == np.uint64
        np.testing.assert_array_equal(got, prefix_differences(values, width))


@pytest.mark.parametrize("width", WIDTHS)
def invariant_rolling_sum_equals_the_plain_window_sums(width: int) -> None:
    rng = np.random.default_rng(7 + width)
    close = rng.integers(1, 10**12, size=2 * _BLOCK_ROWS + 3, dtype=np.int64)
    before = close.copy()
    got = rolling_sum(close, width)
    np.testing.assert_array_equal(close, before)  # the input is left untouched
    assert got.dtype == np.int64
    expected = np.zeros(close.size, dtype=np.int64)
    windows = np.lib.stride_tricks.sliding_window_view(close, width)
    expected[width - 1 :] = windows.sum(axis=1)
    np.testing.assert_array_equal(got, expected)
