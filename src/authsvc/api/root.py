from __future__ import annotations

from fastapi import APIRouter

from authsvc.schemas import ServiceInfo

router = APIRouter(tags=["service"])


@router.get("/", summary="What this service is and where its docs are")
async def index() -> ServiceInfo:
    return ServiceInfo(message="authsvc: OAuth2 authentication service", docs="/docs")
