"""One lock for every writer of current results (`graphfraud score`, the nightly job): two never flip at once;
and a waiting lock for one-time builds into the checkout (build_lock), which two processes may start together.

The lock is an advisory `flock` on <state_dir>/results.lock, released by the kernel when its holder dies (kill -9
included), so a crashed run never leaves it stale. A second writer fails at once with ResultsLocked (exit 3). It is
re-entrant within one process: the CLI takes it before importing the heavy modules, and the library function it
calls takes it again without blocking. This module imports nothing heavy, so the check is immediate.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .config import Settings
from .errors import EXIT_LOCKED, GraphfraudError

_held: dict[Path, int] = {}  # lock file -> how many times this process holds it (re-entrancy)


class ResultsLocked(GraphfraudError):
    """Another process writing current results holds the lock."""

    exit_code = EXIT_LOCKED


def lock_path(settings: Settings) -> Path:
    return Path(os.path.abspath(settings.state_dir / "results.lock"))


@contextmanager
def results_lock(settings: Settings, label: str) -> Iterator[None]:
    """Hold the results lock for a run (`label` says who, for the message a second writer gets)."""
    path = lock_path(settings)
    if _held.get(path):
        _held[path] += 1
        try:
            yield
        finally:
            _held[path] -= 1
        return
    settings.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = Path(path).read_text().strip() or "another process"
            raise ResultsLocked(f"another run that writes results is in progress ({holder}); not starting a "
                                "second one") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}, {label}".encode())
        _held[path] = 1
        try:
            yield
        finally:
            del _held[path]
    finally:
        os.close(fd)


@contextmanager
def build_lock(directory: Path) -> Iterator[None]:
    """Wait for, then hold, an exclusive lock on `directory`/.build.lock: one process at a time builds or fetches
    into that directory (Maven's copy into target/lib fails when two write it at once), and the others, once let in,
    find the build done."""
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / ".build.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock
