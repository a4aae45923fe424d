"""The per-request session check reads the same account on every path it can take."""

from __future__ import annotations

import uuid

import jwt
from fastapi import FastAPI

from authsvc.clock import utcnow
from authsvc.repositories.live_sessions import EngineLiveSessions, live_sessions
from tests.support.app import Api, execute


async def test_the_fast_path_and_the_engine_path_read_the_same_account(
    api: Api, app: FastAPI
) -> None:
    tokens = await api.signed_up("alice@example.com", scope="user")
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    user_id, session_id = uuid.UUID(claims["sub"]), uuid.UUID(claims["sid"])
    engine = app.state.runtime.engine
    fast, generic = live_sessions(engine), EngineLiveSessions(engine)
    try:
        via_fast = await fast.account(user_id, session_id, now=utcnow())
        via_engine = await generic.account(user_id, session_id, now=utcnow())
        assert via_fast is not None
        assert via_fast == via_engine
        assert via_fast.email == "alice@example.com"
        assert via_fast.created_at.tzinfo is not None

        await execute(app, "UPDATE sessions SET revoked_at = expires_at")
        assert await fast.account(user_id, session_id, now=utcnow()) is None
        assert await generic.account(user_id, session_id, now=utcnow()) is None
        assert await fast.account(user_id, uuid.uuid4(), now=utcnow()) is None
    finally:
        await fast.aclose()
        await generic.aclose()
