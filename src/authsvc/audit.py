"""Audit events: one enum of what can happen, one place that logs and counts it.

Only ids and reasons go into an event; never a password, a token or a hash. The metrics
that count events are derived from the same enum (see `metrics.Metrics.record`).
"""

from __future__ import annotations

import enum
import logging
from typing import TYPE_CHECKING

from authsvc.domain import Origin
from authsvc.errors import Throttled

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
    THROTTLE_UNAVAILABLE = "throttle_unavailable"  # the rate-limit storage failed: not limiting
    ACCOUNT_DELETED = "account_deleted"  # by its user (DELETE /users/me)
    ACCOUNT_DELETE_FAILED = "account_delete_failed"  # wrong current password
    # Administration (the admin API, or the CLI: actor_id is then absent, via="cli").
    USER_CREATED = "user_created"
    USER_UPDATED = "user_updated"
    USER_DELETED = "user_deleted"
    USER_SESSIONS_ENDED = "user_sessions_ended"
    LAST_ADMIN_REFUSED = "last_admin_refused"
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
        extra = {key: _loggable(value) for key, value in fields.items() if value is not None}
        if origin is not None and origin.ip:
            extra["client_ip"] = origin.ip
        logger.log(level, message, extra={"event": event.value, **extra})
        if self._metrics is not None:
            self._metrics.record(event)

    def throttled(
        self, event: AuditEvent, message: str, exc: Throttled, origin: Origin | None
    ) -> None:
        """A request refused by a rate limit: which limit, and when it may try again."""
        self(
            event,
            message,
            level=logging.WARNING,
            origin=origin,
            reason=exc.limit,
            retry_after=exc.retry_after,
        )


def _loggable(value: object) -> object:
    """Numbers and flags stay numbers in JSON logs; anything else (ids) becomes text."""
    return value if isinstance(value, bool | int | float) else str(value)
