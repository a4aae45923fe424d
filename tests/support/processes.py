"""Real `authsvc serve` processes, for what only processes show (workers, signals, logs)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.settings import TEST_SECRET


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def authsvc_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHSVC_")}
    env.update(
        {
            "AUTHSVC_DATABASE_URL": database_url,
            "AUTHSVC_JWT_SECRET": TEST_SECRET,
            "AUTHSVC_BCRYPT_ROUNDS": "4",
            **extra,
        }
    )
    return env


@contextmanager
def serve(env: dict[str, str], *args: str, cwd: Path | None = None) -> Iterator[str]:
    """A real `authsvc serve` process on a free port; yields its base URL."""
    with serve_process(env, *args, cwd=cwd) as (base_url, _process):
        yield base_url


@contextmanager
def serve_process(
    env: dict[str, str],
    *args: str,
    cwd: Path | None = None,
    log_file: Path | None = None,
    wait: bool = True,
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`serve`, also yielding the process; its output goes to `log_file` if given.

    With `wait=False` it yields at once, for starting several together; call
    `wait_until_healthy` on each.
    """
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "authsvc", "serve", "--port", str(port), *args]
    with (log_file or Path(os.devnull)).open("w") as output:
        process = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=output, stderr=subprocess.STDOUT, text=True
        )
        try:
            if wait:
                wait_until_healthy(base_url, process, log_file)
            yield base_url, process
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_healthy(
    base_url: str, process: subprocess.Popen[str], log_file: Path | None
) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            log = log_file.read_text() if log_file else "(pass log_file to see its output)"
            pytest.fail(f"authsvc serve exited with {process.returncode}:\n{log}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail("authsvc serve did not answer /healthz within 30 s")
        time.sleep(0.1)
