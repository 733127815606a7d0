"""Administration pages: users (add, disable or enable, reset a password, change a role,
partner or office) for administrators, and the audit trail (filtered, paged, exported)
for administrators and auditors. Every change goes through ``tamis.users``, which audits it.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BeforeValidator

from tamis import audit, users
from tamis.api.auth import ADMINS, AUDITORS
from tamis.api.deps import Store
from tamis.roles import Role
from tamis.users import UserError
from tamis.web.export import exported
from tamis.web.i18n import Translator, language_of
from tamis.web.render import as_page, check_csrf, render

router = APIRouter(include_in_schema=False)
Admin = as_page(ADMINS)
Auditor = as_page(AUDITORS)
PAGE_SIZE = 50
Name = Annotated[str, Form(max_length=64)]
Password = Annotated[str, Form(max_length=1024)]

# What tamis.users says, as message keys of the page's language: (pattern, field, key).
USER_ERRORS = [
    (r"^username .*: 1 to 64", "username", "admin.error.username_form"),
    (r"^username .* is taken", "username", "admin.error.username_taken"),
    (r"^no user ", "username", "admin.error.no_user"),
    (r"^role ", "role", "admin.error.role"),
    (r"^partner: a partner user", "partner", "admin.error.partner_role"),
    (r"^partner: 1 to 64", "partner", "admin.error.partner_form"),
    (r"^office", "office", "admin.error.office_form"),
    (r"^self: ", "", "admin.error.self"),
    (r"^password: at least (\d+) characters", "password", "admin.error.password_short"),
    (r"^password: ", "password", "admin.error.password_weak"),
]
# zxcvbn's warnings (its feedback has a closed list of them), as message keys.
PASSWORD_WARNINGS = {
    "Straight rows of keys are easy to guess": "keyboard",
    "Short keyboard patterns are easy to guess": "keyboard",
    'Repeats like "aaa" are easy to guess': "repeats",
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc"': "repeats",
    'Sequences like "abc" or "6543" are easy to guess': "sequence",
    "Recent years are easy to guess": "years",
    "Dates are often easy to guess": "dates",
    "This is a top-10 common password": "common",
    "This is a top-100 common password": "common",
    "This is a very common password": "common",
    "This is similar to a commonly used password": "similar",
    "A word by itself is easy to guess": "word",
    "Names and surnames by themselves are easy to guess": "names",
    "Common names and surnames are easy to guess": "names",
}


def said(error: UserError, t: Translator) -> tuple[str, str]:
    """The field a refusal of ``tamis.users`` is about and its reason in the page's
    language."""
    text = str(error)
    for pattern, field, key in USER_ERRORS:
        found = re.search(pattern, text)
        if not found:
            continue
        if key == "admin.error.password_short":
            return field, t(key, length=found[1])
        if key == "admin.error.password_weak":
            warning = text.removeprefix("password: ").split(";")[0]
            why = PASSWORD_WARNINGS.get(warning, "guessable")
            return field, t(key, why=t(f"admin.password.{why}"))
        return field, t(key)
    return "", text


def _users_page(request, engine, user, status_code: int = 200, **context):
    return render(
        request,
        "admin_users.html",
        user,
        status_code=status_code,
        users=users.list_users(engine),
        roles=[r.value for r in Role],
        form=context.pop("form", {}),
        **context,
    )


@router.get("/admin")
def admin_index(request: Request, user: Auditor):
    return render(request, "admin.html", user, admins=ADMINS)


@router.get("/admin/users")
def users_page(
    request: Request,
    engine: Store,
    user: Admin,
    done: Annotated[
        str | None, Query(pattern="^(added|disabled|enabled|reset|role|partner|office)$")
    ] = None,
    who: Annotated[str | None, Query(max_length=64)] = None,
):
    return _users_page(request, engine, user, done=done, who=who)


def _refused(request, engine, user, error: UserError, target: str, form: dict | None = None):
    field, message = said(error, Translator(language_of(request)))
    return _users_page(
        request,
        engine,
        user,
        status_code=422,
        error=message,
        field=field,
        target=target,
        form=form or {},
    )


def _done(action: str, username: str) -> RedirectResponse:
    return RedirectResponse(f"/admin/users?{urlencode({'done': action, 'who': username})}", 303)


@router.post("/admin/users", dependencies=[Depends(check_csrf)])
def add_user(
    request: Request,
    engine: Store,
    user: Admin,
    username: Name = "",
    role: Name = "",
    password: Password = "",
    partner: Name = "",
    office: Name = "",
):
    """Add a user; an empty field is refused on the form, like a wrong one."""
    username, partner, office = username.strip(), partner.strip(), office.strip()
    try:
        users.add_user(engine, username, role, password, user.username, partner or None, office)
    except UserError as error:
        form = {"username": username, "role": role, "partner": partner, "office": office}
        return _refused(request, engine, user, error, "add", form)
    return _done("added", username)


def _not_oneself(user, username: str) -> None:
    if username == user.username:
        raise UserError("self: an administrator cannot lock themselves out")


def _change(request, engine, user, username: str, action: str, change):
    try:
        change()
    except UserError as error:
        return _refused(request, engine, user, error, username)
    return _done(action, username)


@router.post("/admin/users/disable", dependencies=[Depends(check_csrf)])
def disable(request: Request, engine: Store, user: Admin, username: Name):
    def change():
        _not_oneself(user, username)
        users.disable_user(engine, username, user.username)

    return _change(request, engine, user, username, "disabled", change)


@router.post("/admin/users/enable", dependencies=[Depends(check_csrf)])
def enable(request: Request, engine: Store, user: Admin, username: Name):
    return _change(
        request,
        engine,
        user,
        username,
        "enabled",
        lambda: users.enable_user(engine, username, user.username),
    )


@router.post("/admin/users/password", dependencies=[Depends(check_csrf)])
def reset(request: Request, engine: Store, user: Admin, username: Name, password: Password):
    return _change(
        request,
        engine,
        user,
        username,
        "reset",
        lambda: users.reset_password(engine, username, password, user.username),
    )


@router.post("/admin/users/role", dependencies=[Depends(check_csrf)])
def change_role(
    request: Request, engine: Store, user: Admin, username: Name, role: Name, partner: Name = ""
):
    def change():
        if role != Role.ADMIN.value:
            _not_oneself(user, username)
        users.set_role(engine, username, role, user.username, partner.strip() or None)

    return _change(request, engine, user, username, "role", change)


@router.post("/admin/users/partner", dependencies=[Depends(check_csrf)])
def change_partner(request: Request, engine: Store, user: Admin, username: Name, partner: Name):
    return _change(
        request,
        engine,
        user,
        username,
        "partner",
        lambda: users.set_partner(engine, username, partner, user.username),
    )


@router.post("/admin/users/office", dependencies=[Depends(check_csrf)])
def change_office(request: Request, engine: Store, user: Admin, username: Name, office: Name = ""):
    return _change(
        request,
        engine,
        user,
        username,
        "office",
        lambda: users.set_office(engine, username, office, user.username),
    )


# The audit trail.

Text = Annotated[str, Query(max_length=128)]
# The filter form sends its empty date fields too: an empty date is no filter.
Day = Annotated[date | None, BeforeValidator(lambda given: given or None)]


def _filters(actor: str, action: str, entity: str, entity_id: str, first, last):
    return audit.Filters(
        actor=actor.strip() or None,
        action=action.strip() or None,
        entity=entity.strip() or None,
        entity_id=entity_id.strip() or None,
        first=first,
        last=last,
    )


def changes(entry: dict) -> list[tuple[str, str, str]]:
    """An entry's before and after as (field, before, after) in words: each field of either,
    a value that is not text written as JSON."""
    before, after = entry["before"], entry["after"]
    if not isinstance(before, dict | None) or not isinstance(after, dict | None):
        return [("", _shown(before), _shown(after))]
    before, after = before or {}, after or {}
    keys = list(dict.fromkeys([*before, *after]))
    return [(k, _shown(before.get(k)), _shown(after.get(k))) for k in keys]


def _shown(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


@router.get("/admin/audit")
def audit_page(
    request: Request,
    engine: Store,
    user: Auditor,
    actor: Text = "",
    action: Text = "",
    entity: Text = "",
    entity_id: Text = "",
    first: Annotated[Day, Query(alias="from")] = None,
    last: Annotated[Day, Query(alias="to")] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    export: Annotated[str | None, Query(pattern="^(csv|xlsx)$")] = None,
):
    filters = _filters(actor, action, entity, entity_id, first, last)
    if export:
        return _export(request, engine, filters, export)
    total = audit.count(engine, filters)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(page, pages)
    entries = audit.newest(engine, filters, (page - 1) * PAGE_SIZE, PAGE_SIZE)
    asked = {
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "from": first.isoformat() if first else "",
        "to": last.isoformat() if last else "",
    }
    query = urlencode({k: v for k, v in asked.items() if v})
    return render(
        request,
        "admin_audit.html",
        user,
        entries=entries,
        total=total,
        page=page,
        pages=pages,
        size=PAGE_SIZE,
        asked=asked,
        query=query,
        changes=changes,
    )


def _export(request: Request, engine, filters: audit.Filters, fmt: str):
    t = Translator(language_of(request))
    header = [t(f"admin.audit.{c}") for c in ("at", "actor", "action", "entity", "entity_id")]
    header += [t("admin.audit.before"), t("admin.audit.after")]
    rows = (
        [
            e["at"],
            e["actor"],
            e["action"],
            e["entity"],
            e["entity_id"] or "",
            _shown(e["before"]),
            _shown(e["after"]),
        ]
        for e in audit.every(engine, filters)
    )
    return exported("audit", fmt, header, rows)
