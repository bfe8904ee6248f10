"""Locks without a database: the build lock makes a second builder wait for the first (real flock, two threads)."""

from __future__ import annotations

import threading
from pathlib import Path

from graphfraud.locks import build_lock


def test_a_second_builder_waits_until_the_first_is_done(tmp_path: Path):
    """What two benchmarks starting Neo4j in a fresh checkout do: both build the launcher into one target dir. The
    second must not enter until the first leaves (before the lock, Maven's two copies into target/lib collided)."""
    target = tmp_path / "target"  # created by the lock: a fresh checkout has none
    first_in, first_may_leave = threading.Event(), threading.Event()
    order: list[str] = []

    def first() -> None:
        with build_lock(target):
            order.append("first in")
            first_in.set()
            first_may_leave.wait(10)
            order.append("first out")

    def second() -> None:
        first_in.wait(10)
        with build_lock(target):
            order.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    first_in.wait(10)
    threads[1].join(0.5)  # half a second in which the second could enter if nothing held it back
    assert order == ["first in"]
    first_may_leave.set()
    for t in threads:
        t.join(10)
    assert order == ["first in", "first out", "second in"]
    assert (target / ".build.lock").exists()
