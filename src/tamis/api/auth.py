"""Authentication and roles for the API and the dashboard.

A client logs in with ``POST /api/auth/login`` and sends the token it gets as
``Authorization: Bearer TOKEN``; browsers get the same token in an HttpOnly, SameSite=Strict
cookie. Each route names the roles that may use it with ``Depends(Allow(...))``: no
credentials answer 401, a role not named answers 403.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from tamis import users
from tamis.api.deps import Store, engine_of
from tamis.api.throttle import LoginThrottled
from tamis.users import Role, User

COOKIE = "tamis_session"
bearer = HTTPBearer(auto_error=False, description="The token from POST /api/auth/login.")


def session_token(
    request: Request, credentials: HTTPAuthorizationCredentials | None = None
) -> str | None:
    return credentials.credentials if credentials else request.cookies.get(COOKIE)


CSRF_HEADER = "x-csrf-token"


def csrf_token(session: str | None) -> str:
    """What a page of this session sends back with a change: forms in a field, scripts in
    the ``X-CSRF-Token`` header."""
    if not session:
        return ""
    return hmac.new(session.encode(), b"tamis-csrf", hashlib.sha256).hexdigest()


# Dependencies that do no I/O are coroutines: FastAPI runs plain functions in its thread
# pool, and every hop there costs a lodgement milliseconds when the cores are busy.
async def _token(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> str | None:
    token = session_token(request, credentials)
    if credentials is None and token and _is_api_write(request):
        # a browser sends its cookie to any page that asks: a change needs this page's token
        given = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(given, csrf_token(token)):
            raise HTTPException(403, "a change made with the session cookie needs X-CSRF-Token")
    return token


def _is_api_write(request: Request) -> bool:
    return request.method in WRITES and request.url.path.startswith("/api/")


def signed_in(request: Request, token: str | None) -> User | None:
    """The user of a live session token, if any."""
    return users.user_for_token(engine_of(request), token) if token else None


def current_user(request: Request, token: Annotated[str | None, Depends(_token)]) -> User:
    user = signed_in(request, token)
    if user is None:
        raise HTTPException(
            401, "authentication required: log in first", headers={"WWW-Authenticate": "Bearer"}
        )
    return user


class Allow:
    """A dependency that lets only the given roles through, and returns the user."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, user: Annotated[User, Depends(current_user)]) -> User:
        if user.role not in self.roles:
            raise HTTPException(403, f"the {user.role} role may not do this")
        return user


# Who may do what, by kind of work.
EVERYONE = Allow(*Role)
READERS = Allow(Role.ADMIN, Role.ANALYST, Role.INSPECTOR, Role.SUPERVISOR, Role.AUDITOR)
TARGETERS = Allow(Role.ADMIN, Role.ANALYST)
FIELD = Allow(Role.ADMIN, Role.ANALYST, Role.INSPECTOR, Role.SUPERVISOR)
SUPERVISORS = Allow(Role.ADMIN, Role.SUPERVISOR)  # a second officer's approval
ADMINS = Allow(Role.ADMIN)
AUDITORS = Allow(Role.ADMIN, Role.AUDITOR)
PARTNERS = Allow(Role.ADMIN, Role.ANALYST, Role.PARTNER)

router = APIRouter(prefix="/api/auth", tags=["auth"])


class Login(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class SessionOut(BaseModel):
    token: str
    expires_at: datetime
    username: str
    role: Role


class UserOut(BaseModel):
    username: str
    role: Role
    partner: str | None


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    """The browser's copy of the session: out of scripts' reach, never sent cross-site."""
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )


def checked_login(request: Request, engine: Engine, username: str, password: str) -> User | None:
    """The user, None for a wrong password (counted); too many failures: 429."""
    throttle = request.app.state.login_throttle
    address = request.client.host if request.client else None
    try:
        throttle.check(engine, username, address)
    except LoginThrottled as refused:
        raise HTTPException(
            429, str(refused), headers={"Retry-After": str(refused.retry_after)}
        ) from None
    user = users.authenticate(engine, username, password)
    if user is None:
        throttle.failed(engine, username, address)
    return user


@router.post(
    "/login",
    response_model=SessionOut,
    responses={401: {"description": "refused"}, 429: {"description": "too many failures"}},
)
def login(body: Login, request: Request, response: Response, engine: Store) -> SessionOut:
    user = checked_login(request, engine, body.username, body.password)
    if user is None:
        raise HTTPException(401, "wrong username or password, or the user is disabled")
    token, expires_at = users.open_session(engine, user)
    set_session_cookie(response, request, token)
    return SessionOut(token=token, expires_at=expires_at, username=user.username, role=user.role)


@router.post("/logout", status_code=204)
def logout(
    response: Response,
    engine: Store,
    user: Annotated[User, Depends(EVERYONE)],
    token: Annotated[str | None, Depends(_token)],
) -> Response:
    users.close_session(engine, token, user)
    response.delete_cookie(COOKIE)
    response.status_code = 204
    return response


@router.get("/me", response_model=UserOut)
def me(user: Annotated[User, Depends(EVERYONE)]) -> UserOut:
    return UserOut(username=user.username, role=user.role, partner=user.partner)


# A write carries credentials, or its body is never read: a stranger cannot spool 200 MiB
# to disk to hear "not authenticated".
OPEN_WRITES = ("/api/auth/login", "/login")  # sent before there are credentials to send
WRITES = ("POST", "PUT", "PATCH", "DELETE")


class CredentialsFirst:
    """ASGI middleware: a write without an ``Authorization`` header or a session cookie is
    answered before its body is read (whether they are valid is checked later): 401 from the
    API, the login page's redirect from the dashboard's forms."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and _anonymous_write(scope):
            if scope["path"].startswith("/api/"):
                status, body = 401, b'{"detail":"not authenticated"}'
                headers = [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]
            else:
                status, body = 303, b""
                headers = [(b"location", b"/login?next=" + quote(scope["path"]).encode())]
            headers += [(b"content-length", b"%d" % len(body)), (b"connection", b"close")]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def _anonymous_write(scope) -> bool:
    if scope["method"] not in WRITES or scope["path"] in OPEN_WRITES:
        return False
    headers = dict(scope["headers"])
    cookies = headers.get(b"cookie", b"")
    return b"authorization" not in headers and COOKIE.encode() + b"=" not in cookies
