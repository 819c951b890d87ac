"""Handing the memory a run has freed back to the operating system.

glibc keeps freed blocks of its heap for reuse, and after the first large block it frees it
serves blocks of that size from the heap too (its mmap threshold moves up), so the setup's
freed columns and scan stay resident while the walk's Python objects take fresh pages of their
own. ``malloc_trim`` returns the free pages; elsewhere (no glibc) there is nothing to do.
"""

from __future__ import annotations

import ctypes

__all__ = ["return_free_memory"]


def return_free_memory() -> bool:
    """Return the C heap's free pages to the operating system; False where the C library has
    no ``malloc_trim`` (not glibc). Takes about a millisecond."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return False
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    trim(0)
    return True
