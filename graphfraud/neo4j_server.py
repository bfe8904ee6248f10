"""The local Neo4j Community 5.26 server: built from Maven Central by `launcher/`, run on Java 17.

`start` is idempotent and returns once Bolt answers; `stop` shuts down cleanly (SIGTERM, then waits);
`status` tells whether Bolt answers. The store, logs and password live in the state directory,
outside the source tree.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .config import REPO_ROOT, Settings
from .db import Graph
from .errors import DatabaseUnavailable, GraphfraudError, UsageError
from .locks import build_lock

LAUNCHER_DIR = REPO_ROOT / "launcher"
LAUNCHER_JAR = LAUNCHER_DIR / "target" / "graphfraud-neo4j-launcher-1.0.jar"
LAUNCHER_LIB = LAUNCHER_DIR / "target" / "lib"
LAUNCHER_BUILT = LAUNCHER_DIR / "target" / ".built"  # written after a whole build: the jar and every lib are there


@dataclass
class ServerStatus:
    running: bool  # Bolt answers with our credentials
    uri: str
    pid: int | None  # the launcher's process id, when we started it
    http_url: str | None  # Neo4j Browser, when served
    home: Path
    version: str | None = None
    edition: str | None = None


class ServerError(GraphfraudError):
    """The local server could not be built, started or stopped."""

    exit_code = 2


def _require_tool(name: str, what: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ServerError(f"{name} not found: install {what} (e.g. `apt-get install {what}`) to run the local Neo4j")
    return path


def build_launcher(force: bool = False) -> None:
    """Build the launcher and fetch Neo4j's jars with Maven (once; Maven caches downloads in ~/.m2). Two processes
    starting servers in a fresh checkout build it once: the second waits for the first (build_lock)."""
    _require_tool("java", "openjdk-17-jre-headless")
    if LAUNCHER_BUILT.exists() and not force:
        return
    mvn = _require_tool("mvn", "maven")
    with build_lock(LAUNCHER_BUILT.parent):
        if LAUNCHER_BUILT.exists() and not force:  # built by the process we waited for
            return
        proc = subprocess.run([mvn, "-q", "-B", "-f", str(LAUNCHER_DIR / "pom.xml"), "package", "-DskipTests"],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise ServerError(f"building the Neo4j launcher with Maven failed:\n{tail}")
        LAUNCHER_BUILT.touch()  # last: a build killed half-way is built again


def _pid_file(settings: Settings) -> Path:
    return settings.neo4j_home / "run" / "graphfraud-launcher.pid"


def _log_file(settings: Settings) -> Path:
    return settings.neo4j_home / "logs" / "console.log"


def _read_pid(settings: Settings) -> int | None:
    try:
        pid = int(_pid_file(settings).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return pid


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _write_private(path: Path, text: str) -> None:
    """Write a file readable only by the user (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def _ensure_password(settings: Settings) -> str:
    """The password for the `neo4j` user: NEO4J_PASSWORD if set, else a generated one kept in a 0600 file."""
    if settings.neo4j_password:
        return settings.neo4j_password
    if settings.password_file.exists():
        return settings.password_file.read_text().strip()
    password = "gf" + secrets.token_urlsafe(24)  # never starting with "-": the admin tool would read an option
    _write_private(settings.password_file, password + "\n")
    return password


# LOAD CSV may not fetch from loopback, private, link-local (cloud metadata) or unique-local addresses: a read-only
# `graphfraud cypher` must not be a way to make the server request internal URLs (server-side request forgery).
# file:/// URLs stay confined to the import directory (server.directories.import). The setting's name in 5.26.
IP_BLOCKLIST_SETTING = "internal.dbms.cypher_ip_blocklist"
BLOCKED_NETWORKS = ("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
                    "192.168.0.0/16", "::1/128", "fc00::/7", "fe80::/10")


def machine_memory_bytes() -> int:
    """Physical memory, or the cgroup's limit when a container sets a lower one."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit.isdigit():
            total = min(total, int(limit))
    except OSError:
        pass
    return total


def memory_sizes(settings: Settings) -> tuple[str, str]:
    """(heap, page cache) for the server: the settings' values, or sized from the machine's memory where "auto"
    (heap 1/8 of it within 1-31 GiB: Neo4j's own advice keeps the heap under 31g; page cache 1/4, at least 512m).
    On 24 GiB: 3g and 6g, leaving most of the memory to Python's export and training."""
    mib = machine_memory_bytes() // 2**20
    heap = settings.neo4j_heap if settings.neo4j_heap != "auto" else f"{min(max(mib // 8, 1024), 31 * 1024)}m"
    cache = settings.neo4j_pagecache if settings.neo4j_pagecache != "auto" else f"{max(mib // 4, 512)}m"
    return heap, cache


def _write_conf(settings: Settings) -> Path:
    home = settings.neo4j_home
    conf_dir = home / "conf"
    conf_dir.mkdir(parents=True, exist_ok=True)
    for sub in ("data", "logs", "run", "import", "plugins"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    # Usage reports off: a server holding payment data sends nothing out of the machine on its own. Bolt's shutdown
    # quiet period 0: the server has closed every connection and database by then; Netty's default waited 10 s more
    # on every stop (a bulk import stops the server too).
    conf = f"""# Written by `graphfraud neo4j start`; edited copies are overwritten on the next start.
server.default_listen_address=127.0.0.1
server.bolt.enabled=true
server.bolt.listen_address=127.0.0.1:{settings.bolt_port}
server.bolt.advertised_address=127.0.0.1:{settings.bolt_port}
server.http.enabled=true
server.http.listen_address=127.0.0.1:{settings.http_port}
server.http.advertised_address=127.0.0.1:{settings.http_port}
server.https.enabled=false
dbms.security.auth_enabled=true
server.memory.pagecache.size={memory_sizes(settings)[1]}
server.directories.import={home / "import"}
dbms.security.allow_csv_import_from_file_urls=true
{IP_BLOCKLIST_SETTING}={",".join(BLOCKED_NETWORKS)}
db.tx_log.rotation.retention_policy=1 files
server.logs.gc.enabled=false
dbms.usage_report.enabled=false
internal.dbms.bolt.netty_server_shutdown_quiet_period=0
"""
    (conf_dir / "neo4j.conf").write_text(conf)
    return conf_dir


def _last_lines(path: Path, n: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except FileNotFoundError:
        return "(no log written)"


def _bolt_answers(settings: Settings) -> tuple[bool, str | None, str | None]:
    """(answers, version, edition) using the configured credentials."""
    if not _port_open(settings.bolt_port) and settings.is_local:
        return False, None, None
    try:
        with Graph.connect(settings) as g:
            rows = g.read("admin/components")
        return True, rows[0]["version"], rows[0]["edition"]
    except DatabaseUnavailable as e:
        if "rejected the credentials" in e.message:
            raise
        return False, None, None


def status(settings: Settings) -> ServerStatus:
    """Whether the configured Neo4j answers on Bolt; the local launcher's pid if we started it."""
    up, version, edition = _bolt_answers(settings)
    http = f"http://127.0.0.1:{settings.http_port}/browser/" if settings.is_local and up else None
    return ServerStatus(up, settings.uri, _read_pid(settings), http, settings.neo4j_home, version, edition)


def start(settings: Settings, progress: callable | None = None) -> ServerStatus:
    """Start the local server unless it already answers; return once Bolt accepts our credentials."""
    if not settings.is_local:
        raise UsageError(f"NEO4J_URI points at {settings.uri}, not the local server: "
                         "start that server yourself, or unset NEO4J_URI")
    password = _ensure_password(settings)
    settings.neo4j_password = password
    try:
        st = status(settings)
    except DatabaseUnavailable:
        if _read_pid(settings) is None:  # something answers on our port, and it is not our server
            raise ServerError(f"another Neo4j already listens on port {settings.bolt_port} and refuses this "
                              f"state directory's password; stop it or set GRAPHFRAUD_BOLT_PORT") from None
        raise
    if st.running:
        return st
    if _port_open(settings.bolt_port):
        raise ServerError(f"port {settings.bolt_port} is taken by another process; "
                          "set GRAPHFRAUD_BOLT_PORT to use another port")
    if _read_pid(settings) is not None:  # a launcher still starting (or stopping): wait for it
        return _wait_for_bolt(settings, _read_pid(settings), progress)

    build_launcher()
    conf_dir = _write_conf(settings)
    log = _log_file(settings)
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = _java(settings, "graphfraud.Launcher", f"--home-dir={settings.neo4j_home}", f"--config-dir={conf_dir}")
    # The password reaches the launcher through its environment, never its command line.
    env = {**os.environ, "GRAPHFRAUD_INITIAL_PASSWORD": password}
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True, cwd=settings.neo4j_home)
    _write_private(_pid_file(settings), str(proc.pid))
    return _wait_for_bolt(settings, proc.pid, progress, proc)


def _wait_for_bolt(settings: Settings, pid: int, progress: callable | None,
                   proc: subprocess.Popen | None = None) -> ServerStatus:
    deadline = time.monotonic() + settings.start_timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            _pid_file(settings).unlink(missing_ok=True)
            raise ServerError(f"Neo4j exited during start (code {proc.returncode}). "
                              f"Last lines of {_log_file(settings)}:\n{_last_lines(_log_file(settings))}\n"
                              f"{_last_lines(settings.neo4j_home / 'logs' / 'neo4j.log', 10)}")
        st = status(settings)
        if st.running:
            return st
        if progress:
            progress()
        time.sleep(1.0)
    raise ServerError(f"Neo4j did not answer on {settings.uri} within {settings.start_timeout_s:.0f}s. "
                      f"Last lines of {_log_file(settings)}:\n{_last_lines(_log_file(settings))}")


def _java(settings: Settings, main_class: str, *args: str) -> list[str]:
    """The command line of a JVM running `main_class` of Neo4j's jars (the launcher's classpath) with our heap."""
    java = _require_tool("java", "openjdk-17-jre-headless")
    return [java, f"-Xmx{memory_sizes(settings)[0]}", "-XX:+UseG1GC", "-Dfile.encoding=UTF-8",
            "-cp", f"{LAUNCHER_JAR}{os.pathsep}{LAUNCHER_LIB}/*", main_class, *args]


def offline_import(settings: Settings, args: list[str]) -> str:
    """Run `neo4j-admin database import full ARGS` (Neo4j's offline importer, from the launcher's jars) on this state
    directory's store; the server must be stopped. Returns the importer's output; raises ServerError on failure."""
    if _read_pid(settings) is not None:
        raise ServerError("the offline importer needs the local server stopped")
    build_launcher()
    conf_dir = _write_conf(settings)
    cmd = _java(settings, "org.neo4j.cli.AdminTool", "database", "import", "full", *args)
    env = {**os.environ, "NEO4J_HOME": str(settings.neo4j_home), "NEO4J_CONF": str(conf_dir)}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=settings.neo4j_home)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
        raise ServerError(f"neo4j-admin database import failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout


def stop(settings: Settings, timeout_s: float = 90.0) -> bool:
    """Stop the local server cleanly; True if one was running. SIGKILL only if it ignores SIGTERM."""
    pid = _read_pid(settings)
    if pid is None:
        _pid_file(settings).unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        _reap(pid)
        time.sleep(0.3)
    else:
        os.killpg(pid, signal.SIGKILL)
        time.sleep(0.5)
        _reap(pid)
    _pid_file(settings).unlink(missing_ok=True)
    return True


def _reap(pid: int) -> None:
    """Collect the exit status if the launcher is our child (tests start and stop in one process)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
