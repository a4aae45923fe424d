"""Background upkeep while the app serves: deleting ended sessions so the tables stay small."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta

from authsvc.services.sessions import SessionService

logger = logging.getLogger("authsvc")


async def purge_periodically(
    sessions: SessionService,
    *,
    interval_seconds: float,
    retention: timedelta,
) -> None:
    """Purge now and then every `interval_seconds`, until cancelled.

    Every worker and replica runs this; the deletes are idempotent, and a random first
    delay keeps them from all starting together. A failure (the database down, say) is
    logged and retried next time: upkeep must never take the service down.
    """
    await asyncio.sleep(random.uniform(0, min(interval_seconds, 60)))  # noqa: S311
    while True:
        try:
            await sessions.purge(retention=retention)
        except Exception:
            logger.warning("purging ended sessions failed; retrying later", exc_info=True)
        await asyncio.sleep(interval_seconds)
