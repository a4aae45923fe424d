"""authsvc plus one route that only verifies the access token: `GET /bench/verify`.

The app is the real one (`authsvc.app.create_app`, settings from `AUTHSVC_*`); the extra
route reads the bearer token as `/users/me` does and decodes it with the app's own codec,
but looks nothing up: no session check, no user. So `me` / `verify-only` is the cost of
the database lookup. Served by `serve.py`, like the ceiling.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request

from authsvc.api.deps import oauth2_scheme
from authsvc.app import create_app
from authsvc.config import Settings
from authsvc.security.tokens import InvalidTokenError


def create_app_from_env() -> FastAPI:
    app = create_app(Settings())

    @app.get("/bench/verify")
    async def verify(
        request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]
    ) -> dict[str, str]:
        try:
            claims = request.app.state.runtime.codec.decode(token or "")
        except InvalidTokenError as exc:
            raise HTTPException(401, detail=str(exc)) from exc
        return {"sub": str(claims.user_id), "sid": str(claims.session_id)}

    return app
