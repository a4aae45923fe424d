from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from authsvc.api.deps import RuntimeDep

router = APIRouter(tags=["service"])


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
async def metrics(runtime: RuntimeDep) -> Response:
    assert runtime.metrics is not None  # the route exists only when metrics are enabled
    return Response(runtime.metrics.render(), media_type=CONTENT_TYPE_LATEST)
