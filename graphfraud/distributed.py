"""Data-parallel training: DistributedDataParallel over N processes (torch.distributed, gloo backend).

Every process holds the whole graph and the same model; each trains on its own share of the target entities (and,
with mini-batches, samples its own neighbourhoods) and DDP averages the gradients, so all processes keep identical
weights and take identical early-stopping decisions. Two ways in:
- `graphfraud train --nproc N`: `run_local` starts N processes on this machine and returns rank 0's result;
- `torchrun --nproc-per-node N cli.py train`: each process runs the CLI, exports the graph itself, and `join_from_env`
  joins the group torchrun describes in RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT.
gloo because graphfraud trains on CPU tensors (no GPU path exists to hand NCCL).
"""

from __future__ import annotations

import atexit
import os
import socket
import time
import traceback
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from .errors import GraphfraudError, UsageError

BACKEND = "gloo"
TIMEOUT = timedelta(minutes=30)  # a process that stops answering fails the others after this long


def world() -> tuple[int, int]:
    """(rank, world size) of this process: (0, 1) outside a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def env_world_size() -> int:
    """WORLD_SIZE as a launcher such as torchrun sets it (1 when unset)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        raise UsageError(f"WORLD_SIZE={os.environ['WORLD_SIZE']!r} is not a number") from None


def join_from_env() -> bool:
    """Join the process group that torchrun (or any launcher setting RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT)
    describes; False when this process was not launched that way or is already in a group."""
    if env_world_size() <= 1 or (dist.is_available() and dist.is_initialized()):
        return False
    missing = [k for k in ("RANK", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ]
    if missing:
        raise UsageError(f"WORLD_SIZE={os.environ['WORLD_SIZE']} but {', '.join(missing)} unset: launch with "
                         "torchrun, or unset WORLD_SIZE and pass --nproc")
    dist.init_process_group(BACKEND, timeout=TIMEOUT)
    atexit.register(leave)  # the group is left when the command ends, however it ends
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // dist.get_world_size()))
    return True


def leave() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def broadcast(value: Any) -> Any:
    """Rank 0's `value` on every rank (a small picklable object: a version name, a path)."""
    if world()[1] == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def shard(n: int) -> slice:
    """This rank's share of n shuffled items: every size-th from position rank, after dropping the n % size last
    ones, so that every rank gets as many (DDP needs the same number of steps on every rank)."""
    rank, size = world()
    return slice(rank, n - n % size, size)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, nproc: int, port: int, fn: Callable[..., Any], args: tuple, results: Any, received: Any,
            with_progress: bool) -> None:
    """One process of run_local: join the group, run fn(*args), send rank 0's progress and return value (or any
    rank's error) to the parent."""
    try:
        dist.init_process_group(BACKEND, init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=nproc,
                                timeout=TIMEOUT)
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // nproc))
        if with_progress and rank == 0:
            out = fn(*args, progress=lambda *event: results.put(("progress", event)))
        else:
            out = fn(*args)
        if rank == 0:
            results.put(("ok", out))
            received.wait()  # tensors in `out` travel as shared memory this process serves until the parent has them
    except BaseException as e:  # noqa: BLE001 - reported to the parent, which raises it
        results.put(("error", f"process {rank}: {type(e).__name__}: {e}\n{traceback.format_exc(limit=4)}"))
    finally:
        leave()


def run_local(nproc: int, fn: Callable[..., Any], *args: Any, progress: Callable[..., None] | None = None) -> Any:
    """fn(*args) in `nproc` new processes on this machine joined in one group; returns rank 0's return value.
    With `progress`, rank 0 calls fn(*args, progress=...) and its events reach `progress` here. `fn` and `args` must
    be picklable (tensors travel through shared memory). Raises GraphfraudError with the first failing process's
    error."""
    if nproc < 1:
        raise UsageError(f"--nproc must be at least 1, not {nproc}")
    ctx = mp.get_context("spawn")
    results, received = ctx.SimpleQueue(), ctx.Event()
    port = _free_port()
    procs = [ctx.Process(target=_worker, args=(r, nproc, port, fn, args, results, received,
                                                     progress is not None))
             for r in range(nproc)]
    for p in procs:
        p.start()
    # rank 0 sends progress events, then its result or an error; another rank sends only an error. A process killed
    # from outside (OOM) sends nothing: its exit code ends the wait.
    while True:
        if results.empty():
            dead = [r for r, p in enumerate(procs) if p.exitcode not in (None, 0)]
            if dead:
                status, value = "error", f"process {dead[0]} exited with {procs[dead[0]].exitcode}"
                break
            time.sleep(0.1)
            continue
        status, value = results.get()
        if status != "progress":
            received.set()
            break
        if progress is not None:
            progress(*value)
    if status == "error":
        for p in procs:
            p.kill()
    for p in procs:
        p.join()
    if status == "error":
        raise GraphfraudError(f"distributed training failed: {value}")
    return value
