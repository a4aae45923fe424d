"""/admin: user management, for tokens with the `admin` scope."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status
from fastapi.exceptions import RequestValidationError

from authsvc.api.deps import Admin, AdminPrincipal
from authsvc.api.errors import responses
from authsvc.domain import UNCHANGED, Actor, PageKey, Principal, UserChanges, UserFilter
from authsvc.errors import (
    BodyTooLarge,
    DatabaseUnavailable,
    EmailTaken,
    InsufficientScope,
    InvalidBody,
    InvalidToken,
    LastAdmin,
    NotAuthenticated,
    Overloaded,
    SessionNotFound,
    UserNotFound,
)
from authsvc.schemas import (
    AdminUserCreate,
    AdminUserOut,
    AdminUserPage,
    AdminUserUpdate,
    ScopeName,
    SessionOut,
)
from authsvc.services.admin import MAX_PAGE_SIZE, NO_SUCH_SESSION

UUID_FORMAT: dict[str, Any] = {"format": "uuid"}

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    responses=responses(NotAuthenticated, InvalidToken, InsufficientScope, DatabaseUnavailable),
)


# --- the page cursor: base64url of JSON, opaque to clients --------------------------


def encode_cursor(key: PageKey) -> str:
    raw = json.dumps({"c": key.created_at.isoformat(), "i": str(key.id)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> PageKey:
    """The key a cursor holds; ValueError for anything this server did not issue."""
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        fields = json.loads(raw.decode())
        created_at = datetime.fromisoformat(fields["c"])
        key = PageKey(created_at=created_at, id=uuid.UUID(fields["i"]))
    except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise ValueError("not a cursor") from exc
    if created_at.tzinfo is None:
        raise ValueError("not a cursor")
    return key


async def page_cursor(
    cursor: Annotated[
        str | None,
        Query(max_length=500, description="`next_cursor` of the previous page, as it is."),
    ] = None,
) -> PageKey | None:
    if cursor is None:
        return None
    try:
        return decode_cursor(cursor)
    except ValueError:
        raise RequestValidationError(
            [
                {
                    "type": "invalid_cursor",
                    "loc": ("query", "cursor"),
                    "msg": "Not a cursor from this server: pass a page's next_cursor unchanged",
                }
            ]
        ) from None


PageCursor = Annotated[PageKey | None, Depends(page_cursor)]

# Documented as UUIDs, taken as any text: a malformed id is a 404, as an unknown one is.
UserId = Annotated[
    str,
    Path(description="The account's id; any other text is a 404", json_schema_extra=UUID_FORMAT),
]
SessionId = Annotated[
    str,
    Path(description="The session's id; any other text is a 404", json_schema_extra=UUID_FORMAT),
]


def user_id_of(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise UserNotFound from None


def actor(principal: Principal) -> Actor:
    return Actor(user_id=principal.user.id, via="api")


# --- routes ---------------------------------------------------------------------


@router.get(
    "/users",
    response_model=AdminUserPage,
    responses=responses(InvalidBody),
    summary="List users, a page at a time",
    description="Oldest first. Pages are keyset-paginated: pass `next_cursor` as `cursor` "
    "to get the next page; users added meanwhile never shift a page, so none is skipped "
    "or repeated.",
)
async def list_users(
    _admin: AdminPrincipal,
    admin: Admin,
    after: PageCursor,
    q: Annotated[
        str | None,
        Query(max_length=320, description="The email starts with this (in any letter case)."),
    ] = None,
    is_active: Annotated[bool | None, Query(description="Only active, or disabled, users.")] = None,
    scope: Annotated[ScopeName | None, Query(description="Only users holding this scope.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> AdminUserPage:
    page = await admin.list_users(
        UserFilter(email_prefix=q, is_active=is_active, scope=scope), after=after, limit=limit
    )
    return AdminUserPage(
        items=[AdminUserOut.of(view) for view in page.items],
        next_cursor=encode_cursor(page.next) if page.next else None,
    )


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    response_model=AdminUserOut,
    responses=responses(EmailTaken, BodyTooLarge, InvalidBody, Overloaded),
    summary="Create an account",
    description="The registration rules apply to the email and password (a 422 says which "
    "rule a password breaks); `scopes` may grant more than `user`.",
)
async def create_user(
    principal: AdminPrincipal, body: AdminUserCreate, admin: Admin
) -> AdminUserOut:
    view = await admin.create_user(
        email=body.email,
        password=body.password,
        full_name=body.full_name,
        scopes=frozenset(body.scopes),
        actor=actor(principal),
    )
    return AdminUserOut.of(view)


@router.get(
    "/users/{user_id}",
    response_model=AdminUserOut,
    responses=responses(UserNotFound),
    summary="One user",
)
async def read_user(_admin: AdminPrincipal, user_id: UserId, admin: Admin) -> AdminUserOut:
    return AdminUserOut.of(await admin.get_user(user_id_of(user_id)))


@router.patch(
    "/users/{user_id}",
    response_model=AdminUserOut,
    responses=responses(UserNotFound, LastAdmin, BodyTooLarge, InvalidBody),
    summary="Disable or enable a user, change their scopes or name",
    description="Disabling ends every session of the user at once: their access tokens get "
    "401 and their refresh tokens `invalid_grant` on the next request; enabling again "
    "revives none. There is always an active admin: demoting or disabling the last one "
    "is a 409.",
)
async def update_user(
    principal: AdminPrincipal, user_id: UserId, body: AdminUserUpdate, admin: Admin
) -> AdminUserOut:
    changes = UserChanges(
        is_active=body.is_active if body.is_active is not None else UNCHANGED,
        scopes=frozenset(body.scopes) if body.scopes is not None else UNCHANGED,
        full_name=body.full_name if "full_name" in body.model_fields_set else UNCHANGED,
    )
    view = await admin.update_user(user_id_of(user_id), changes, actor=actor(principal))
    return AdminUserOut.of(view)


@router.delete(
    "/users/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(UserNotFound, LastAdmin),
    summary="Erase a user, their sessions and refresh tokens",
    description="A real delete (for erasure requests); the email can register again. "
    "Deleting the last active admin is a 409.",
)
async def delete_user(principal: AdminPrincipal, user_id: UserId, admin: Admin) -> None:
    await admin.delete_user(user_id_of(user_id), actor=actor(principal))


@router.get(
    "/users/{user_id}/sessions",
    response_model=list[SessionOut],
    responses=responses(UserNotFound),
    summary="A user's live sessions",
)
async def list_sessions(
    principal: AdminPrincipal, user_id: UserId, admin: Admin
) -> list[SessionOut]:
    live = await admin.list_sessions(user_id_of(user_id))
    return [SessionOut.of(s, current_session_id=principal.session_id) for s in live]


@router.delete(
    "/users/{user_id}/sessions",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(UserNotFound),
    summary="End every session of a user",
)
async def end_sessions(principal: AdminPrincipal, user_id: UserId, admin: Admin) -> None:
    await admin.end_sessions(user_id_of(user_id), actor=actor(principal))


@router.delete(
    "/users/{user_id}/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(UserNotFound, SessionNotFound),
    summary="End one session of a user",
)
async def end_session(
    principal: AdminPrincipal, user_id: UserId, session_id: SessionId, admin: Admin
) -> None:
    try:
        sid = uuid.UUID(session_id)
    except ValueError:
        raise SessionNotFound(NO_SUCH_SESSION) from None
    await admin.end_session(user_id_of(user_id), sid, actor=actor(principal))
