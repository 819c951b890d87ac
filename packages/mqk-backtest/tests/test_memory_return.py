"""A run hands the heap memory it freed back to the operating system (glibc's malloc_trim)."""

from __future__ import annotations

import os
import sys

import pytest

from mqk_backtest._memory import return_free_memory

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _resident_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE / 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
@pytest.mark.skipif(
    bool(os.environ.get("LD_PRELOAD")), reason="a preloaded allocator may stand in for glibc's"
)
def invariant_free_heap_memory_below_a_live_block_goes_back_to_the_os() -> None:
    # 3,200 blocks of 64 KiB come from the C heap (under glibc's mmap threshold); the last
    # one stays alive above the others, so free() alone cannot shrink the heap
    blocks = [b"\x01" * (64 * 1024) for _ in range(3_200)]  # written, so resident
    pin = blocks.pop()
    del blocks
    before = _resident_mib()

    supported = return_free_memory()
    after = _resident_mib()

    if not supported:
        pytest.skip("this C library has no malloc_trim")
    assert len(pin) == 64 * 1024
    assert before - after > 150  # ~200 MiB were free in the heap
