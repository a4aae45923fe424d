"""Logging: one JSON object per line in production, readable text in development.

Every record carries the request id of the request it belongs to. Structured fields
are passed as `extra={...}`; nothing here ever formats a password or a token, and
callers must not pass one.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# Attributes every LogRecord has; anything else on a record came from `extra`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's coloured duplicate of the message
    "taskName",
}


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        return True


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {
        key: value
        for key, value in vars(record).items()
        if key not in _RECORD_ATTRIBUTES and value is not None
    }


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": message,
        }
        entry.update(_fields(record))
        if entry["event"] != message:  # `extra={"event": ...}` names it; keep the sentence
            entry["message"] = message
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{key}={value}" for key, value in _fields(record).items())
        line = f"{record.levelname:<8} {record.name}: {record.getMessage()}"
        if fields:
            line = f"{line}  [{fields}]"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


def logging_config(
    *, json_logs: bool, level: str = "info", to_stderr: bool = False
) -> dict[str, Any]:
    """A `logging.config.dictConfig` for our loggers and uvicorn's (given to uvicorn, so
    every worker process logs the same way). uvicorn's access log is replaced by ours,
    which knows the route, the request id and the user. Logs go to stdout, or with
    `to_stderr` to stderr (commands whose stdout is their output, `users list --json`)."""
    level = level.upper()
    formatter = "json" if json_logs else "text"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {
            "json": {"()": JsonFormatter},
            "text": {"()": TextFormatter},
        },
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr" if to_stderr else "ext://sys.stdout",
                "formatter": formatter,
                "filters": ["request_id"],
            }
        },
        "loggers": {
            "authsvc": {"handlers": ["stdout"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            # SQL with its parameters would log password hashes: never below WARNING.
            "sqlalchemy": {"handlers": ["stdout"], "level": "WARNING", "propagate": False},
            "alembic": {"handlers": ["stdout"], "level": "WARNING", "propagate": False},
        },
        "root": {"handlers": ["stdout"], "level": "WARNING"},
    }
