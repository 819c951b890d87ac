"""Handing the memory a run has freed back to the operating system.

glibc keeps freed blocks of its heap for reuse, and after the first large block it frees it
serves blocks of that size from the heap too (its mmap threshold moves up), so the setup's
freed columns and scan stay resident while the walk's Python objects take fresh pages of their
own. ``malloc_trim`` returns the free pages. Elsewhere (not Linux, or no glibc) there is nothing
to do; under an allocator preloaded in glibc's place (jemalloc, tcmalloc) the call finds no
glibc heap to trim and returns nothing.
"""

from __future__ import annotations

import ctypes
import sys

__all__ = ["return_free_memory"]


def return_free_memory() -> bool:
    """Ask glibc to return its heap's free pages to the operating system (about a
    millisecond); False where there is no ``malloc_trim`` to call."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # a C library without it (musl)
        return False
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    trim(0)
    return True
