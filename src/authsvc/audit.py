"""Audit events: one enum of what can happen, one place that logs and counts it.

Only ids and reasons go into an event; never a password, a token or a hash. The metrics
that count events are derived from the same enum (see `metrics.Metrics.record`).
"""

from __future__ import annotations

import enum
import logging
from typing import TYPE_CHECKING

from authsvc.domain import Origin

if TYPE_CHECKING:
    from authsvc.metrics import Metrics

logger = logging.getLogger("authsvc.audit")


class AuditEvent(enum.StrEnum):
    REGISTER = "register"
    REGISTER_THROTTLED = "register_throttled"
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGIN_THROTTLED = "login_throttled"
    OVERLOADED = "overloaded"  # a request shed because too many hashes were queued
    REFRESH = "refresh"
    REFRESH_REUSE = "refresh_reuse"
    LOGOUT = "logout"
    SESSION_ENDED = "session_ended"
    PASSWORD_CHANGED = "password_changed"
    PASSWORD_CHANGE_FAILED = "password_change_failed"
    REVOKE = "revoke"
    PURGE = "purge"
    FLASK_IMPORT = "flask_import"  # users imported from the old Flask app's database


class Audit:
    """Logs each event as a structured record (`event` names it) and counts it."""

    def __init__(self, metrics: Metrics | None) -> None:
        self._metrics = metrics

    def __call__(
        self,
        event: AuditEvent,
        message: str,
        *,
        level: int = logging.INFO,
        origin: Origin | None = None,
        **fields: object,
    ) -> None:
        extra = {key: str(value) for key, value in fields.items() if value is not None}
        if origin is not None and origin.ip:
            extra["client_ip"] = origin.ip
        logger.log(level, message, extra={"event": event.value, **extra})
        if self._metrics is not None:
            self._metrics.record(event)
