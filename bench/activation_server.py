"""The server side of the activation benchmark: a real ``uvicorn`` process on loopback and the CPU
that it, PostgreSQL and the load generator spend (Linux ``/proc``)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from polis.store import make_engine

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def server_env(database_url: str, key_seed: str, var_dir: Path) -> dict[str, str]:
    """The environment of a benchmark server: the database, the signing key, quiet logs, no
    background jobs in the server process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLIS_")}
    env |= {
        "POLIS_DATABASE_URL": database_url,
        "POLIS_CERTIFICATE_SIGNING_KEY": key_seed,
        "POLIS_LOG_LEVEL": "WARNING",
        "POLIS_VAR_DIR": str(var_dir),
        "POLIS_MIGRATE_ON_START": "false",
        "POLIS_WEBHOOK_WORKER_IN_PROCESS": "false",
        "POLIS_JOBS_IN_PROCESS": "false",
        "POLIS_PUBLIC_BASE_URL": "http://127.0.0.1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    }
    return env


@dataclass(frozen=True)
class Server:
    base: str
    pid: int


@contextlib.contextmanager
def server(env: dict[str, str], workers: int) -> Iterator[Server]:
    """``uvicorn --factory bench.bench_activation:server_app`` on a free loopback port (uvloop and
    httptools, which ``uvicorn[standard]`` installs, are picked automatically)."""
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "bench.bench_activation:server_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--log-level", "warning", "--no-access-log", "--timeout-keep-alive", "60",
    ]  # fmt: skip
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(base, process, log)
            yield Server(base, process.pid)
        except BaseException:
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace")[-4000:])
            raise
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_healthy(base: str, process: subprocess.Popen[bytes], log: Any) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"the server stopped: {log.read().decode(errors='replace')[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("the server did not answer /health within 60 s")


# --- where the time goes -----------------------------------------------------------------------


def _proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (Linux ``/proc``; 0 when unreadable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[int, str]]:
    """Every process: its parent and command name."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                stat = (entry / "stat").read_text()
                name = stat[stat.index("(") + 1 : stat.rindex(")")]
                found[int(entry.name)] = (int(stat.rsplit(")", 1)[1].split()[1]), name)
    return found


def _cpu_of(server_pid: int) -> tuple[dict[int, float], dict[int, float]]:
    """CPU seconds of the server's processes (it and its workers) and of PostgreSQL's, by pid."""
    processes = _processes()
    workers = [pid for pid, (parent, _) in processes.items() if parent == server_pid]
    postgres = [pid for pid, (_, name) in processes.items() if name.startswith("postgres")]
    return (
        {pid: _proc_cpu(pid) for pid in [server_pid, *workers]},
        {pid: _proc_cpu(pid) for pid in postgres},
    )


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU spent between two snapshots by the processes alive at the end (new ones in full)."""
    return sum(max(0.0, cpu - before.get(pid, 0.0)) for pid, cpu in after.items())


def _client_cpu() -> float:
    """CPU seconds of this process and of its children that ended (the ``wrk`` runs)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


@dataclass
class Usage:
    """CPU seconds spent during a run, and PostgreSQL backends seen waiting on a lock."""

    server: float = 0.0
    postgres: float = 0.0
    client: float = 0.0
    samples: int = 0
    waiting: int = 0
    active: int = 0


@contextlib.contextmanager
def measured(server_pid: int, admin_url: str, database: str | None) -> Iterator[Usage]:
    """CPU of the server, PostgreSQL and the load generator over the block; with ``database``,
    samples ``pg_stat_activity`` every 20 ms for its backends waiting on a lock (row or advisory)."""
    usage = Usage()
    stop = threading.Event()

    def sample() -> None:
        admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
        query = text(
            "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), "
            "count(*) FILTER (WHERE state = 'active') "
            "FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()"
        )
        try:
            with admin.connect() as connection:
                while not stop.wait(0.02):
                    waiting, active = connection.execute(query, {"name": database}).one()
                    usage.samples += 1
                    usage.waiting += waiting
                    usage.active += active
        finally:
            admin.dispose()

    sampler = threading.Thread(target=sample, daemon=True) if database else None
    server_before, postgres_before = _cpu_of(server_pid)
    client_before = _client_cpu()
    if sampler:
        sampler.start()
    try:
        yield usage
    finally:
        stop.set()
        if sampler:
            sampler.join()
        server_after, postgres_after = _cpu_of(server_pid)
        usage.server = _spent(server_before, server_after)
        usage.postgres = _spent(postgres_before, postgres_after)
        usage.client = _client_cpu() - client_before
