from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from authsvc.api.deps import RuntimeDep
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
                    "example": {
                        "status": "unavailable",
                        "detail": "database did not answer",
                        "code": "database_unavailable",
                    }
                }
            },
        }
    },
)
async def readyz(runtime: RuntimeDep) -> HealthStatus | JSONResponse:
    if not await runtime.db.ping(within=READY_TIMEOUT_SECONDS):
        body = HealthStatus(status="unavailable", detail="database did not answer")
        # The error table's code too, as every error body has one.
        return JSONResponse({**body.model_dump(), "code": "database_unavailable"}, 503)
    return HealthStatus(status="ok")
