"""scripts/venv.sh: every checkout runs its own code on the one shared virtualenv of dependencies."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_two_checkouts_on_one_shared_virtualenv_each_run_their_own_code(tmp_path):
    """Two clones set up one after the other on the same dependency cache: each .venv imports graphfraud and cli from
    its own checkout (with the shared virtualenv holding graphfraud, the second setup would take over the first
    clone, and deleting it would break the first), and has the graphfraud console script and the shared virtualenv's
    torchrun; a .venv of the earlier layout (a link to the shared virtualenv) is replaced."""
    marker = Path(sys.prefix, ".shared")  # written by venv.sh into the suite's own .venv: "<shared venv> <python>"
    assert marker.exists(), f"run the suite with scripts/test.sh (the interpreter {sys.executable} is no venv.sh .venv)"
    shared = marker.read_text().split()[0]
    env = {**os.environ, "GRAPHFRAUD_CACHE": str(Path(shared).parent)}
    clones = [tmp_path / "a", tmp_path / "b"]
    for d in clones:
        subprocess.run(["git", "clone", "-q", str(ROOT), str(d)], check=True, timeout=120)
        for f in ("pyproject.toml", "scripts/venv.sh"):  # the working tree's (same dependency key as this .venv)
            shutil.copy(ROOT / f, d / f)
    (clones[0] / ".venv").symlink_to(shared)  # the earlier layout: .venv linked to the shared virtualenv
    for d in clones:
        p = subprocess.run([str(d / "scripts" / "venv.sh")], capture_output=True, text=True, env=env, timeout=300)
        assert p.returncode == 0, p.stderr[-2000:]
    for d in clones:
        p = subprocess.run([str(d / ".venv" / "bin" / "python"), "-c",
                            "import graphfraud, cli, torch; print(graphfraud.__file__); print(cli.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, timeout=120)
        assert p.returncode == 0, p.stderr[-2000:]
        assert all(line.startswith(str(d) + os.sep) for line in p.stdout.split()), (d, p.stdout)
        assert not (d / ".venv").is_symlink()
        t = subprocess.run([str(d / ".venv" / "bin" / "torchrun"), "--help"], capture_output=True, text=True,
                           cwd=tmp_path, timeout=120)
        assert t.returncode == 0 and "nproc" in t.stdout, t.stderr[-2000:]
        h = subprocess.run([str(d / ".venv" / "bin" / "graphfraud"), "--help"], capture_output=True, text=True,
                           cwd=tmp_path, timeout=120)
        assert h.returncode == 0 and "build-graph" in h.stdout, h.stderr[-2000:]
