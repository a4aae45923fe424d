from __future__ import annotations

from fastapi import APIRouter

from authsvc.api.deps import RuntimeDep
from authsvc.schemas import ServiceInfo

router = APIRouter(tags=["service"])


@router.get("/", summary="What this service is and where its docs are")
async def index(runtime: RuntimeDep) -> ServiceInfo:
    docs = "/docs" if runtime.settings.docs_enabled else None
    return ServiceInfo(message="authsvc: OAuth2 authentication service", docs=docs)
