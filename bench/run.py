"""`make bench`: load a real `authsvc serve` with wrk, per database; see docs/benchmarks.md.

    .venv/bin/python bench/run.py [--duration 10] [--databases sqlite,postgresql,mariadb]
        [--scenarios me,verify-only,...] [--runs 1] [--rounds 12] [--json-out FILE]

The server runs on one core (`taskset -c 0`, one worker), wrk on the other
(`taskset -c 1`). Every scenario gets a fresh server on the same database; every load
lasts `--duration` seconds and goes to 127.0.0.1 only. The bare ASGI ceiling
(bench/ceiling.py) is measured in every run, and each result is given as a ratio to it,
since absolute figures drift on a shared machine. Prints a table, then one JSON line per
result (also appended to `--json-out`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from authsvc.models import Base
from authsvc.security.passwords import PasswordHasher

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
LUA = BENCH / "lua"
BIN = Path(sys.executable).parent  # the virtualenv's: authsvc is installed there
HOST = "127.0.0.1"  # every server listens here, and every load goes here
EMAIL = "bench@example.com"
PASSWORD = "correct horse battery staple"
JWT_SECRET = "bench-jwt-secret-" + "s" * 40
RESULT_MARKER = "AUTHSVC_BENCH_RESULT "
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}

SCENARIOS = (
    "me",
    "verify-only",
    "refresh",
    "login",
    "register",
    "me-under-login-flood",
    "me-workers2",
)

# Throttling would answer 429 long before the hash pool is saturated: out of the way.
# (The per-account limit must stay above what one address can reach: see config.py.)
UNTHROTTLED = {
    "AUTHSVC_LOGIN_LIMIT_ACCOUNT_IP": "1000000/hour",
    "AUTHSVC_LOGIN_LIMIT_IP": "10000000/hour",
    "AUTHSVC_LOGIN_LIMIT_ACCOUNT": "10000000/hour",
    "AUTHSVC_REGISTER_LIMIT_IP": "10000000/hour",
}


class Skip(Exception):
    """A database that cannot be benchmarked now; the message says why."""


class BenchError(Exception):
    """A benchmark that could not run; the message says why."""


# --- the databases -----------------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    """One entry of the database list: `prepare` returns the URL of an empty database,
    created if missing, or raises Skip."""

    name: str
    prepare: Callable[[Path], str]


def sqlite_database(tmp: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp / 'bench.db'}"


# The database a server URL's own database is created from, per backend.
MAINTENANCE_DATABASE = {"postgresql": "postgres", "mysql": None}


def server_database(variable: str) -> Callable[[Path], str]:
    """A database on a local server, its URL in `variable`: created if missing, emptied."""

    def prepare(_tmp: Path) -> str:
        url = os.environ.get(variable)
        if not url:
            raise Skip(f"{variable} is not set")
        parsed = make_url(url)
        if parsed.host not in LOCAL_HOSTS:
            raise Skip(f"{variable} must name a database on this machine, not {parsed.host}")
        try:
            asyncio.run(_create_and_empty(url))
        except (OSError, sa_exc.OperationalError, sa_exc.InterfaceError) as exc:
            reason = str(exc).splitlines()[0]
            raise Skip(f"cannot connect to {parsed.host}:{parsed.port}: {reason}") from None
        return url

    return prepare


async def _create_and_empty(url: str) -> None:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    name = parsed.database
    if not name:
        raise BenchError(f"{url}: the URL names no database")
    server = create_async_engine(
        parsed.set(database=MAINTENANCE_DATABASE[backend]), isolation_level="AUTOCOMMIT"
    )
    try:
        async with server.connect() as conn:
            quoted = conn.dialect.identifier_preparer.quote(name)
            if backend == "postgresql":
                exists = await conn.scalar(
                    text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
                )
                if not exists:
                    await conn.execute(text(f"CREATE DATABASE {quoted}"))
                    print(f"created the database {name}", flush=True)
            else:  # mysql, mariadb
                await conn.execute(text(f"CREATE DATABASE IF NOT EXISTS {quoted}"))
    finally:
        await server.dispose()
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:  # empty: every run starts from the same state
            await conn.run_sync(Base.metadata.drop_all)
            await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        await engine.dispose()


DATABASES = {
    "sqlite": Database("sqlite", sqlite_database),
    "postgresql": Database("postgresql", server_database("AUTHSVC_BENCH_POSTGRES_URL")),
    "mariadb": Database("mariadb", server_database("AUTHSVC_BENCH_MARIADB_URL")),
}


# --- the servers -------------------------------------------------------------------------


@dataclass
class Bench:
    """The run's settings, and where its servers write their logs."""

    duration: float
    rounds: int
    tmp: Path
    server_core: int
    client_core: int
    log_level: str
    login_connections: int
    flood_connections: int
    servers_started: int = 0
    server_pid: int | None = None  # the one serving now: its CPU time is measured

    def server_env(self, database_url: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("AUTHSVC_") and k != "PROMETHEUS_MULTIPROC_DIR"
        }
        env.update(
            AUTHSVC_ENV="development",
            AUTHSVC_DATABASE_URL=database_url,
            AUTHSVC_JWT_SECRET=JWT_SECRET,
            AUTHSVC_BCRYPT_ROUNDS=str(self.rounds),
            **UNTHROTTLED,
        )
        return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def server(
    bench: Bench, app: str, database_url: str = "", *, workers: int = 1, pinned: bool = True
) -> Iterator[str]:
    """Serve `app` ("authsvc", "verify" or "ceiling") on 127.0.0.1; yields its base URL."""
    port = str(free_port())
    if app == "authsvc":
        command = [str(BIN / "authsvc"), "serve", "--host", HOST, "--port", port]
        command += ["--workers", str(workers), "--log-level", bench.log_level]
    else:
        target = {"verify": ["verify_app:create_app_from_env", "--factory"]}.get(
            app, ["ceiling:app"]
        )
        command = [sys.executable, str(BENCH / "serve.py"), *target, "--port", port]
        command += ["--log-level", bench.log_level]
    if pinned:
        command = ["taskset", "-c", str(bench.server_core), *command]
    bench.servers_started += 1
    log_path = bench.tmp / f"server-{bench.servers_started:03}-{app}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603  # our own programs, fixed arguments
            command,
            env=bench.server_env(database_url),
            cwd=bench.tmp,  # no .env file of the checkout is read
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://{HOST}:{port}"
    bench.server_pid = process.pid  # taskset execs the server: the same process
    try:
        ready = "/" if app == "ceiling" else "/healthz"
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise BenchError(f"{app} server exited with {process.returncode}:\n{tail}")
            try:
                if httpx.get(base_url + ready, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise BenchError(f"{app} server did not answer within 60 s (see {log_path})")
            time.sleep(0.1)
        yield base_url
    finally:
        bench.server_pid = None
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def login(base_url: str) -> dict[str, Any]:
    """Register the bench user (once per database) and log in: a new session's tokens."""
    with httpx.Client(base_url=base_url, timeout=60) as client:
        registered = client.post("/auth/register", json={"email": EMAIL, "password": PASSWORD})
        if registered.status_code not in (201, 409):
            raise BenchError(f"register: {registered.status_code} {registered.text}")
        response = client.post("/auth/token", data={"username": EMAIL, "password": PASSWORD})
        if response.status_code != 200:
            raise BenchError(f"login: {response.status_code} {response.text}")
        tokens: dict[str, Any] = response.json()
        return tokens


# --- wrk ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    """One wrk command: `connections` over `threads`, for `duration` seconds."""

    url: str
    script: str
    connections: int
    threads: int = 1
    timeout: float = 10
    env: dict[str, str] = field(default_factory=dict)


def wrk_command(bench: Bench, load: Load, duration: float) -> list[str]:
    if not load.url.startswith(f"http://{HOST}:"):
        raise BenchError(f"refusing to load anything but {HOST}: {load.url}")
    return [
        "taskset",
        "-c",
        str(bench.client_core),
        "wrk",
        f"--threads={load.threads}",
        f"--connections={load.connections}",
        f"--duration={max(1, round(duration))}s",
        f"--timeout={load.timeout:g}s",
        f"--script={LUA / load.script}",
        load.url,
    ]


def start_wrk(bench: Bench, load: Load, duration: float) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603  # wrk with fixed arguments, on 127.0.0.1
        wrk_command(bench, load, duration),
        env={**os.environ, **load.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wrk_result(process: subprocess.Popen[str], duration: float) -> dict[str, Any]:
    """Wait for wrk; the figures its done() callback printed (see lua/report.lua)."""
    try:
        out, err = process.communicate(timeout=duration + 60)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise BenchError("wrk did not finish in time") from None
    for line in out.splitlines():
        if line.startswith(RESULT_MARKER):
            return summarize(json.loads(line.removeprefix(RESULT_MARKER)))
    raise BenchError(f"wrk exited with {process.returncode} and no result: {err.strip()}")


def run_wrk(bench: Bench, load: Load) -> dict[str, Any]:
    """Run one load; with the CPU time the server (and its workers) spent meanwhile: on a
    shared machine, a share well below 1 core means neighbours took the server's core."""
    pid = bench.server_pid
    cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
    result = wrk_result(start_wrk(bench, load, bench.duration), bench.duration)
    cpu = cpu_seconds(pid) - cpu_before
    result["server_cpu_share"] = cpu / (time.monotonic() - wall_before)
    result["server_cpu_ms_per_request"] = 1000 * cpu / max(1, result["requests"])
    return result


def cpu_seconds(pid: int | None) -> float:
    """User and system time of `pid` and its live descendants, from /proc."""
    if pid is None:
        return 0.0
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # gone meanwhile
            continue
        child = int(stat.parent.name)
        children.setdefault(int(fields[1]), []).append(child)  # ppid
        times[child] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += times.get(current, 0.0)
        todo.extend(children.get(current, []))
    return total


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def summarize(raw: dict[str, Any]) -> dict[str, Any]:
    errors = raw["errors"]
    latency = raw["latency_us"]
    percentiles = latency["percentiles"]
    return {
        "requests_per_s": raw["requests"] / (raw["duration_us"] / 1e6),
        "p50_ms": percentiles["50"] / 1000,
        "p90_ms": percentiles["90"] / 1000,
        "p99_ms": percentiles["99"] / 1000,
        "mean_ms": latency["mean"] / 1000,
        "max_ms": latency["max"] / 1000,
        "requests": raw["requests"],
        # wrk's "Non-2xx or 3xx responses": it counts every status above 399.
        "non_2xx": errors["status"],
        "socket_errors": errors["connect"] + errors["read"] + errors["write"] + errors["timeout"],
        "timeouts": errors["timeout"],
        "script_failures": raw["script_failures"],
        "threads_stopped": raw["threads_stopped"],
    }


# --- the scenarios -----------------------------------------------------------------------


def me_load(base_url: str, path: str, token: str) -> Load:
    return Load(base_url + path, "me.lua", connections=16, env={"AUTHSVC_BENCH_TOKEN": token})


def login_load(bench: Bench, base_url: str, connections: int) -> Load:
    form = {"AUTHSVC_BENCH_EMAIL": quote(EMAIL), "AUTHSVC_BENCH_PASSWORD": quote(PASSWORD)}
    return Load(base_url + "/auth/token", "login.lua", connections, timeout=60, env=form)


def scenario_ceiling(bench: Bench, _url: str) -> dict[str, Any]:
    with server(bench, "ceiling") as base_url:
        return run_wrk(bench, me_load(base_url, "/", "not-used"))


def scenario_me(bench: Bench, url: str) -> dict[str, Any]:
    with server(bench, "authsvc", url) as base_url:
        return run_wrk(bench, me_load(base_url, "/users/me", login(base_url)["access_token"]))


def scenario_verify_only(bench: Bench, url: str) -> dict[str, Any]:
    with server(bench, "verify", url) as base_url:
        return run_wrk(bench, me_load(base_url, "/bench/verify", login(base_url)["access_token"]))


def scenario_me_workers2(bench: Bench, url: str) -> dict[str, Any]:
    with server(bench, "authsvc", url, workers=2, pinned=False) as base_url:
        return run_wrk(bench, me_load(base_url, "/users/me", login(base_url)["access_token"]))


def scenario_refresh(bench: Bench, url: str) -> dict[str, Any]:
    sessions = 4
    with server(bench, "authsvc", url) as base_url:
        tokens = bench.tmp / "refresh-tokens.txt"
        tokens.write_text("".join(login(base_url)["refresh_token"] + "\n" for _ in range(sessions)))
        load = Load(
            base_url + "/auth/token",
            "refresh.lua",
            connections=sessions,
            threads=sessions,  # wrk runs Lua per thread: one session per thread
            env={"AUTHSVC_BENCH_REFRESH_TOKENS": str(tokens)},
        )
        return run_wrk(bench, load)


def scenario_login(bench: Bench, url: str) -> dict[str, Any]:
    hash_s, hash_wall_s = hash_seconds(bench)  # just before: under the same neighbours
    with server(bench, "authsvc", url) as base_url:
        login(base_url)
        result = run_wrk(bench, login_load(bench, base_url, bench.login_connections))
    return {**result, "hash_seconds": hash_s, "hash_wall_seconds": hash_wall_s}


def scenario_register(bench: Bench, url: str) -> dict[str, Any]:
    hash_s, hash_wall_s = hash_seconds(bench)
    with server(bench, "authsvc", url) as base_url:
        nonce = secrets.token_hex(4)  # emails never repeat, across runs on one database too
        load = Load(
            base_url + "/auth/register",
            "register.lua",
            bench.login_connections,
            timeout=60,
            env={"AUTHSVC_BENCH_NONCE": nonce},
        )
        result = run_wrk(bench, load)
    return {**result, "hash_seconds": hash_s, "hash_wall_seconds": hash_wall_s}


FLOOD_LEAD_SECONDS = 2  # the flood fills the hash queue before `me` is measured


def scenario_me_under_login_flood(bench: Bench, url: str) -> dict[str, Any]:
    with server(bench, "authsvc", url) as base_url:
        token = login(base_url)["access_token"]
        flood_duration = bench.duration + FLOOD_LEAD_SECONDS + 1
        flood = start_wrk(
            bench, login_load(bench, base_url, bench.flood_connections), flood_duration
        )
        try:
            time.sleep(FLOOD_LEAD_SECONDS)
            result = run_wrk(bench, me_load(base_url, "/users/me", token))
        finally:
            logins = wrk_result(flood, flood_duration)
        result["flood"] = logins
        return result


SCENARIO_FUNCTIONS: dict[str, Callable[[Bench, str], dict[str, Any]]] = {
    "me": scenario_me,
    "verify-only": scenario_verify_only,
    "refresh": scenario_refresh,
    "login": scenario_login,
    "register": scenario_register,
    "me-under-login-flood": scenario_me_under_login_flood,
    "me-workers2": scenario_me_workers2,
}

SCENARIO_SHAPES = {  # for the JSON lines: what each scenario's load was
    "ceiling": "GET / (bare ASGI), 16 connections, 1 wrk thread",
    "me": "GET /users/me, 16 connections, 1 wrk thread",
    "verify-only": "GET /bench/verify (token decoded, nothing looked up), 16 connections",
    "refresh": "refresh grant, 4 threads x 1 connection, each rotating its own session",
    "login": "password grant, same user, {login} connections",
    "register": "register, a new email each request, {login} connections",
    "me-under-login-flood": "GET /users/me, 16 connections, while {flood} connections log in",
    "me-workers2": "GET /users/me, 16 connections, --workers 2, server not pinned",
}


# --- the hash cost -----------------------------------------------------------------------


def hash_seconds(bench: Bench) -> tuple[float, float]:
    """One password verify at the configured cost on the server's core, through authsvc's
    own hasher: (CPU seconds, wall seconds), medians. The CPU time is the login's floor
    whatever else runs on the machine; the wall time is what it took then."""
    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {bench.server_core})  # the hasher's threads inherit it
    try:
        return asyncio.run(_time_verifies(bench.rounds))
    finally:
        os.sched_setaffinity(0, previous)


async def _time_verifies(
    rounds: int, budget_seconds: float = 2, most: int = 20
) -> tuple[float, float]:
    hasher = PasswordHasher(rounds=rounds, workers=1)
    hashed = await hasher.hash(PASSWORD)
    await hasher.verify(PASSWORD, hashed)  # warm
    cpu: list[float] = []
    wall: list[float] = []
    start = time.perf_counter()
    while len(cpu) < 3 or (time.perf_counter() - start < budget_seconds and len(cpu) < most):
        cpu_before, wall_before = time.process_time(), time.perf_counter()
        ok, _ = await hasher.verify(PASSWORD, hashed)
        cpu.append(time.process_time() - cpu_before)  # this process does nothing else
        wall.append(time.perf_counter() - wall_before)
        if not ok:
            raise BenchError("the hasher does not verify its own hash")
    return statistics.median(cpu), statistics.median(wall)


# --- results -----------------------------------------------------------------------------

MEDIAN_FIELDS = (
    "requests_per_s",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "mean_ms",
    "max_ms",
    "server_cpu_share",
    "server_cpu_ms_per_request",
)
SUM_FIELDS = ("requests", "non_2xx", "socket_errors", "timeouts", "script_failures")


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each latency and rate over the runs; error counts added up."""
    present = [key for key in MEDIAN_FIELDS if all(key in r for r in runs)]
    combined: dict[str, Any] = {key: statistics.median(r[key] for r in runs) for key in present}
    combined.update({key: sum(r[key] for r in runs) for key in SUM_FIELDS})
    for key in ("hash_seconds", "hash_wall_seconds"):
        if key in runs[0]:
            combined[key] = statistics.median(r[key] for r in runs)
    if "flood" in runs[0]:
        combined["flood"] = combine([r["flood"] for r in runs])
    return combined


def errors_cell(result: dict[str, Any]) -> str:
    """non-2xx / socket errors (timeouts included) / script failures (refresh chains)."""
    return f"{result['non_2xx']}/{result['socket_errors']}/{result['script_failures']}"


def notes(rows: list[dict[str, Any]]) -> list[str]:
    by = {(r["scenario"], r["database"]): r for r in rows}
    lines = []
    for (scenario, database), row in by.items():
        rps = row["requests_per_s"]
        me = by.get(("me", database))
        if scenario == "verify-only" and me:
            row["me_over_verify_only"] = me["requests_per_s"] / rps
            lookup_ms = me["server_cpu_ms_per_request"] - row["server_cpu_ms_per_request"]
            row["lookup_cpu_ms"] = lookup_ms
            lines.append(
                f"{database}: me / verify-only = {row['me_over_verify_only']:.2f} in req/s; "
                f"the session and user lookup costs {lookup_ms:.2f} ms of server CPU per "
                f"request ({me['server_cpu_ms_per_request']:.2f} against "
                f"{row['server_cpu_ms_per_request']:.2f})"
            )
        if scenario in ("login", "register"):
            hash_s = row["hash_seconds"]
            row["hash_limit_per_s"] = 1 / hash_s
            row["ratio_to_hash_limit"] = rps * hash_s
            # What share of the server's CPU per request the hash is: near 1, the rest of
            # the request costs nothing next to it, however busy the machine was.
            row["hash_share_of_cpu"] = 1000 * hash_s / max(1e-9, row["server_cpu_ms_per_request"])
            lines.append(
                f"{database}: {scenario} {rps:.2f}/s = {row['ratio_to_hash_limit']:.2f} of the "
                f"hash limit {1 / hash_s:.2f}/s (one hash {hash_s * 1000:.0f} ms of CPU, "
                f"{row['hash_wall_seconds'] * 1000:.0f} ms wall, just before on the server's "
                f"core); the server had "
                f"{row['server_cpu_share']:.2f} of a core, and spent "
                f"{row['server_cpu_ms_per_request']:.0f} ms of CPU per request "
                f"(the hash: {row['hash_share_of_cpu']:.2f} of it)"
            )
        if scenario == "me-under-login-flood":
            flood = row["flood"]
            line = (
                f"{database}: under a flood of {flood['requests_per_s']:.2f} logins/s "
                f"(non-2xx {flood['non_2xx']}, timeouts {flood['timeouts']}), me p99 "
                f"{row['p99_ms']:.1f} ms"
            )
            if me:
                row["p99_over_idle"] = row["p99_ms"] / me["p99_ms"]
                row["rps_over_idle"] = rps / me["requests_per_s"]
                line += (
                    f" = {row['p99_over_idle']:.1f} x idle, req/s {row['rps_over_idle']:.2f} x idle"
                )
            lines.append(line)
        if scenario == "me-workers2" and me:
            row["ratio_to_one_worker"] = rps / me["requests_per_s"]
            lines.append(
                f"{database}: me with --workers 2 (unpinned) = "
                f"{row['ratio_to_one_worker']:.2f} x one pinned worker"
            )
    return lines


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        "scenario",
        "database",
        "req/s",
        "p50 ms",
        "p99 ms",
        "non2xx/err/fail",
        "/ceiling",
        "srv cpu",
        "cpu ms/req",
        "/ceiling cpu",
    )
    table = [header]
    for row in rows:
        table.append(
            (
                row["scenario"],
                row["database"],
                f"{row['requests_per_s']:.1f}",
                f"{row['p50_ms']:.2f}",
                f"{row['p99_ms']:.2f}",
                errors_cell(row),
                f"{row['ratio_to_ceiling']:.3g}",
                f"{row['server_cpu_share']:.2f}",
                f"{row['server_cpu_ms_per_request']:.3g}",
                f"{row['cpu_ratio_to_ceiling']:.3g}",
            )
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for number, line in enumerate(table):
        cells = [
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
        if number == 0:
            print("  ".join("-" * w for w in widths))


def git_revision() -> str:
    try:
        revision = subprocess.run(
            ["git", "describe", "--always", "--dirty"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return revision


# --- main --------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds per load (10)")
    parser.add_argument("--databases", default="sqlite,postgresql,mariadb", help="%(default)s")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="%(default)s")
    parser.add_argument("--runs", type=int, default=1, help="report the median of N runs")
    parser.add_argument("--rounds", type=int, default=12, help="bcrypt cost (12)")
    parser.add_argument("--json-out", type=Path, help="append the JSON lines to this file")
    parser.add_argument("--login-connections", type=int, default=8, help="login, register (8)")
    parser.add_argument("--flood-connections", type=int, default=32, help="the flood (32)")
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1)
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    args = parser.parse_args()
    args.databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [d for d in args.databases if d not in DATABASES]
    unknown += [s for s in args.scenarios if s not in SCENARIO_FUNCTIONS]
    if unknown:
        parser.error(f"unknown: {', '.join(unknown)}")
    if args.duration <= 0 or args.runs < 1:
        parser.error("--duration and --runs must be positive")
    return args


def check_machine(args: argparse.Namespace) -> None:
    for program in ("wrk", "taskset"):
        if shutil.which(program) is None:
            raise SystemExit(f"bench: {program} is missing (make bench installs wrk with apt-get)")
    cores = os.sched_getaffinity(0)
    if {args.server_core, args.client_core} - cores or args.server_core == args.client_core:
        raise SystemExit(
            f"bench: needs two distinct cores for server and wrk; this process may use {cores}"
        )


def main() -> int:
    args = parse_args()
    check_machine(args)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="authsvc-bench-")))
        bench = Bench(
            duration=args.duration,
            rounds=args.rounds,
            tmp=tmp,
            server_core=args.server_core,
            client_core=args.client_core,
            log_level=args.log_level,
            login_connections=args.login_connections,
            flood_connections=args.flood_connections,
        )
        urls: dict[str, str] = {}
        for name in args.databases:
            try:
                urls[name] = DATABASES[name].prepare(tmp)
            except Skip as exc:
                print(f"skipping {name}: {exc}", flush=True)
        runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
        failed: list[str] = []
        for number in range(1, args.runs + 1):
            # The ceiling first, then every scenario on every database: one round each,
            # so machine drift spreads over all of them alike.
            plan = [("ceiling", "-", scenario_ceiling, "")]
            plan += [
                (scenario, name, SCENARIO_FUNCTIONS[scenario], url)
                for name, url in urls.items()
                for scenario in args.scenarios
            ]
            for scenario, database, function, url in plan:
                print(f"run {number}/{args.runs}: {scenario} on {database}", flush=True)
                try:
                    result = function(bench, url)
                except BenchError as exc:  # the others still run; the exit status says so
                    if scenario == "ceiling":
                        raise
                    failed.append(f"run {number}: {scenario} on {database}: {exc}")
                    print(f"  failed: {exc}", flush=True)
                    continue
                runs.setdefault((scenario, database), []).append(result)

        ceiling_row = combine(runs[("ceiling", "-")])
        ceiling = ceiling_row["requests_per_s"]
        rows = []
        for (scenario, database), results in runs.items():
            row = {"scenario": scenario, "database": database, **combine(results)}
            row["ratio_to_ceiling"] = row["requests_per_s"] / ceiling
            # The same ratio in server CPU per request: what drifts least on a busy machine.
            row["cpu_ratio_to_ceiling"] = ceiling_row["server_cpu_ms_per_request"] / max(
                1e-9, row["server_cpu_ms_per_request"]
            )
            row["runs"] = results
            rows.append(row)
        lines = notes(rows)

    print()
    print_table(rows)
    print()
    print(f"ceiling (bare ASGI, same uvicorn, same wrk command): {ceiling:.1f} req/s")
    for line in lines:
        print(line)
    print()
    meta = {
        "started": started,
        "revision": git_revision(),
        "duration_s": args.duration,
        "runs_count": args.runs,
        "bcrypt_rounds": args.rounds,
        "cpus": os.cpu_count(),
        "ceiling_requests_per_s": ceiling,
    }
    shape = {"login": args.login_connections, "flood": args.flood_connections}
    out = args.json_out.open("a") if args.json_out else None
    try:
        for row in rows:
            record = {**row, "load": SCENARIO_SHAPES[row["scenario"]].format(**shape), **meta}
            line = json.dumps(record, sort_keys=False)
            print(line)
            if out:
                out.write(line + "\n")
    finally:
        if out:
            out.close()
    for failure in failed:
        print(f"bench: failed: {failure}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (BenchError, Skip) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        sys.exit(1)
