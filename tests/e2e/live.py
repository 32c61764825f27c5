"""A live ``polis serve`` process and the system Chromium, shared by the browser tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

__all__ = ["BROWSER_ARGS", "CHROMIUM", "require_chromium", "serve"]

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(var: Path) -> Iterator[str]:
    """`polis serve` on a fresh embedded database in ``var`` (migrated by the server at start)."""
    port = _free_port()
    env = os.environ | {
        "POLIS_DATABASE_URL": f"sqlite:///{var}/polis.db",
        "POLIS_VAR_DIR": str(var),
        "POLIS_PORT": str(port),
        "POLIS_LOG_FORMAT": "json",
    }
    script = Path(sys.executable).parent / "polis"
    log = (var / "server.log").open("w")
    process = subprocess.Popen(
        [str(script), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("the server did not answer /health: " + (var / "server.log").read_text())
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def require_chromium() -> str:
    """The Chromium executable; skips the test when there is none, fails in CI."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is required in CI (apt-get install chromium)")
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    return CHROMIUM
