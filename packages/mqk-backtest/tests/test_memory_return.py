"""A run hands the heap memory it freed back to the operating system (glibc's malloc_trim)."""

from __future__ import annotations

import os
import platform
import sys

import pytest

from mqk_backtest._memory import return_free_memory

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _resident_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE / 2**20


_GLIBC_HEAP = (
    sys.platform.startswith("linux")
    and platform.libc_ver()[0] == "glibc"
    and not os.environ.get("LD_PRELOAD")
)
"""The heap is glibc's (on this project's machines and CI, always): on macOS or Windows there is
no /proc/self/statm and no malloc_trim, and a preloaded allocator (jemalloc) keeps its own."""


@pytest.mark.skipif(not _GLIBC_HEAP, reason="needs glibc's heap and /proc/self/statm")
def invariant_free_heap_memory_below_a_live_block_goes_back_to_the_os() -> None:
    # 3,200 blocks of 64 KiB come from the C heap (under glibc's mmap threshold); the last
    # one stays alive above the others, so free() alone cannot shrink the heap
    blocks = [b"\x01" * (64 * 1024) for _ in range(3_200)]  # written, so resident
    pin = blocks.pop()
    del blocks
    before = _resident_mib()

    trimmed = return_free_memory()
    after = _resident_mib()

    assert trimmed is True
    assert len(pin) == 64 * 1024
    assert before - after > 150  # ~200 MiB were free in the heap


@pytest.mark.parametrize("name", ["win32", "darwin"])
def unit_elsewhere_than_linux_there_is_nothing_to_trim(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not even a ctypes lookup: ctypes.CDLL(None) raises TypeError on Windows."""
    monkeypatch.setattr(sys, "platform", name)
    assert return_free_memory() is False
