from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from authsvc.api.deps import RuntimeDep
from authsvc.db import READ_ONLY
from authsvc.schemas import HealthStatus

router = APIRouter(tags=["service"])

READY_TIMEOUT_SECONDS = 2.0


@router.get("/healthz", summary="Liveness: the process is up")
async def healthz() -> HealthStatus:
    return HealthStatus(status="ok")


@router.get(
    "/readyz",
    summary="Readiness: the database answers",
    response_model=HealthStatus,
    responses={
        503: {
            "model": HealthStatus,
            "description": "The database did not answer in time",
            "content": {
                "application/json": {
                    "example": {"status": "unavailable", "detail": "database did not answer"}
                }
            },
        }
    },
)
async def readyz(runtime: RuntimeDep) -> HealthStatus | JSONResponse:
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS), runtime.engine.connect() as conn:
            await conn.execution_options(**READ_ONLY)  # never queued behind a writer
            await conn.execute(text("SELECT 1"))
    except Exception:  # any failure to answer means "not ready"; the reason stays in our logs
        body = HealthStatus(status="unavailable", detail="database did not answer")
        return JSONResponse(body.model_dump(), status_code=503)
    return HealthStatus(status="ok")
