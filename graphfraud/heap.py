"""Keep freed tensor memory in the process while a model trains (glibc's malloc; a no-op elsewhere).

glibc serves every allocation above 32 MiB (its largest mmap threshold) with a fresh mmap and returns it on free,
so each full-graph tensor of a large graph (10M payments: 1.3M nodes x 64 floats = 340 MB) is page-faulted in and
zeroed by the kernel on every operation of every epoch. On this machine that was three quarters of an epoch at 10M
(a train step 28.8 s against 6.6 s with the memory kept), while at 1M the tensors are near the threshold and the cost hardly shows.
Inside `reuse_freed_memory()` big blocks come from the heap and stay there for the next epoch; the price is a
larger peak (freed blocks of different sizes fragment the heap: 13.4 GiB against 8.7 GiB when training at 10M). On exit the
defaults are restored and the free heap is handed back to the system.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

# mallopt parameters (malloc.h) and glibc's defaults for them
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
DEFAULT_TRIM_THRESHOLD, DEFAULT_MMAP_MAX = 128 * 1024, 65536
_depth = 0  # open reuse_freed_memory blocks in this process


class _MallInfo2(ctypes.Structure):
    """struct mallinfo2 (glibc >= 2.33): the allocator's statistics, in bytes or counts (size_t)."""

    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


@cache
def _libc() -> ctypes.CDLL | None:
    """The C library when it is glibc with mallopt and mallinfo2, else None (looked up once: find_library runs
    ldconfig)."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.mallinfo2.restype = _MallInfo2
        libc.mallopt, libc.malloc_trim  # noqa: B018 -- both must exist
    except (OSError, AttributeError):
        return None
    return libc


def malloc_stats() -> dict[str, int] | None:
    """Blocks malloc holds as their own mmap (mallinfo2.hblks) and the free bytes in its heap, which serve any
    request they can before a new mmap is made (fordblks); None without glibc."""
    libc = _libc()
    if libc is None:
        return None
    info = libc.mallinfo2()
    return {"mmapped_blocks": int(info.hblks), "free_heap_bytes": int(info.fordblks)}


def release_free_memory() -> None:
    """Hand the heap's free pages back to the system now (malloc_trim), as between two models of an ensemble: the
    next one refills the heap, without the holes the previous one left."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


@contextmanager
def reuse_freed_memory(enabled: bool = True) -> Iterator[bool]:
    """Within the block, malloc keeps big freed blocks for reuse instead of unmapping them (yields whether it does).
    Nested blocks are fine: the outermost one restores glibc's defaults on exit, then trims the heap."""
    global _depth
    libc = _libc() if enabled else None
    if libc is None:
        yield False
        return
    if _depth == 0:
        libc.mallopt(M_MMAP_MAX, 0)  # no mmap for big blocks: they come from the heap
        libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1)  # and freed ones are not trimmed back to the system
    _depth += 1
    try:
        yield True
    finally:
        _depth -= 1
        if _depth == 0:
            libc.mallopt(M_MMAP_MAX, DEFAULT_MMAP_MAX)
            libc.mallopt(M_TRIM_THRESHOLD, DEFAULT_TRIM_THRESHOLD)
            libc.malloc_trim(0)
