"""Rendering pages: templates with the user, their rights, the language and the CSRF token.

Forms that change something carry a per-session CSRF token (an HMAC of the session token,
which itself never leaves the HttpOnly cookie); HTMX requests send it as a header. With the
SameSite=Strict cookie, a page of another site can neither read nor forge it.
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Form, HTTPException, Request
from fastapi.templating import Jinja2Templates

from tamis.api.auth import CSRF_HEADER, READERS, Allow, csrf_token, session_token
from tamis.users import User
from tamis.web.i18n import Translator, language_of
from tamis.web.nav import NAV

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
CSRF_FIELD = "csrf_token"


def render(
    request: Request, name: str, user: User | None = None, status_code: int = 200, **context
):
    session = session_token(request, None)
    t = Translator(language_of(request))
    return templates.TemplateResponse(
        request,
        name,
        {
            "user": user,
            "t": t,
            "can": lambda group: user is not None and user.role in group.roles,
            "csrf": csrf_token(session),
            "nav": NAV,
            "READERS": READERS,
            **context,
        },
        status_code=status_code,
    )


def check_csrf(request: Request, csrf_token: Annotated[str | None, Form()] = None) -> None:
    """A dependency of every page that changes something: the form's (or HTMX header's)
    token must be this session's."""
    given = csrf_token or request.headers.get(CSRF_HEADER) or ""
    expected = csrf_token_of(request)
    if not expected:
        raise HTTPException(401, "authentication required: log in first")
    if not hmac.compare_digest(given, expected):
        raise HTTPException(403, "csrf")


def csrf_token_of(request: Request) -> str:
    return csrf_token(session_token(request, None))


def as_page(group: Allow):
    """``Annotated[User, Depends(group)]``: the same role groups as the API."""
    return Annotated[User, Depends(group)]
