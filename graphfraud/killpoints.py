"""Named kill points for crash-recovery tests: with GRAPHFRAUD_KILL_AT=<name> in the environment, the process
SIGKILLs itself on reaching the point of that name (a real kill, at an exact place, instead of a timed one that may
land anywhere). Without the variable, a kill point does nothing.

Points: ingest.batch (after a committed batch of transactions), ingest.file (after a whole file, before the next),
models.weights (model weights written, config not yet), writeback.started, writeback.scores (first score batch
staged), writeback.staged (scores and rings staged, flip not done), writeback.rings_flipped (rings current,
entity scores not yet), writeback.flipped (flip committed, the command not finished), nightly.<stage> (a nightly
stage begun: load, retrain, score, rings, report).
"""

from __future__ import annotations

import os
import signal

ENV = "GRAPHFRAUD_KILL_AT"


def kill_point(name: str) -> None:
    """SIGKILL this process if GRAPHFRAUD_KILL_AT names this point."""
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
