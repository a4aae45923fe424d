"""Prometheus metrics, on a registry of the app's own (no process-wide state).

With several worker processes (`authsvc serve --workers N`), each process writes its
values to PROMETHEUS_MULTIPROC_DIR and /metrics sums them, so a scrape sees the
whole replica whichever worker answers it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess

from authsvc.audit import AuditEvent


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


@contextmanager
def shared_multiprocess_dir(*, enabled: bool, workers: int) -> Iterator[None]:
    """Several workers write their metrics to one directory that /metrics sums: made for
    the server's lifetime, and inherited by the worker processes."""
    if workers == 1 or not enabled or multiprocess_dir():
        yield
        return
    directory = tempfile.mkdtemp(prefix="authsvc-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    try:
        yield
    finally:
        shutil.rmtree(directory, ignore_errors=True)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "authsvc_http_requests_total",
            "HTTP requests by route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "authsvc_http_request_duration_seconds",
            "HTTP request latency by route template",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.logins = Counter(
            "authsvc_logins_total",
            "Password-grant logins by result",
            ["result"],
            registry=self.registry,
        )
        self.refreshes = Counter(
            "authsvc_token_refreshes_total",
            "Successful refresh-token rotations (grace-interval retries included)",
            registry=self.registry,
        )
        self.refresh_reuse = Counter(
            "authsvc_refresh_reuse_detected_total",
            "Spent refresh tokens presented again after the grace interval (session revoked)",
            registry=self.registry,
        )
        self.hash_workers_active = Gauge(
            "authsvc_password_hash_workers_active",
            "Password hashes being computed right now",
            registry=self.registry,
            multiprocess_mode="livesum",
        )

        # The audit events these metrics count: one table, read by `record`.
        self._counted: dict[AuditEvent, Callable[[], None]] = {
            AuditEvent.LOGIN: self.logins.labels("success").inc,
            AuditEvent.LOGIN_FAILED: self.logins.labels("failure").inc,
            AuditEvent.REFRESH: self.refreshes.inc,
            AuditEvent.REFRESH_REUSE: self.refresh_reuse.inc,
        }

    def record(self, event: AuditEvent) -> None:
        """Count an audit event (see `audit.Audit`) where a metric tracks it."""
        count = self._counted.get(event)
        if count is not None:
            count()

    def render(self) -> bytes:
        directory = multiprocess_dir()
        if directory is None:
            return generate_latest(self.registry)
        combined = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(combined, path=directory)  # type: ignore[no-untyped-call]
        return generate_latest(combined)

    def close(self) -> None:
        if multiprocess_dir() is not None:
            prometheus_multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
