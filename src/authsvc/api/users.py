from __future__ import annotations

from fastapi import APIRouter

from authsvc.api.responses import BEARER_ERRORS
from authsvc.deps import CurrentUser
from authsvc.models import User
from authsvc.schemas import UserOut

router = APIRouter(prefix="/users", tags=["users"], responses=BEARER_ERRORS)


@router.get("/me", response_model=UserOut, summary="The account behind the access token")
async def read_me(user: CurrentUser) -> User:
    return user
