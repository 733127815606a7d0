"""Users, their roles and their sessions.

Passwords are hashed with Argon2id; a session is a random bearer token of which only the
SHA-256 is stored, valid for ``TAMIS_SESSION_HOURS``. Every change is in the audit trail.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, bindparam, select, update

from tamis import audit
from tamis.roles import Role
from tamis.settings import settings
from tamis.store.tables import sessions, users

MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()
# Verified against when the user is unknown, so that a wrong name costs as long as a wrong password.
_UNKNOWN_USER_HASH = _hasher.hash(secrets.token_urlsafe(16))


class UserError(ValueError):
    """A user cannot be created or changed as asked; the message says why."""


@dataclass(frozen=True)
class User:
    user_id: int
    username: str
    role: Role
    partner: str | None = None
    office: str | None = None  # where an inspector works: the unassigned cases they may take


MIN_PASSWORD_SCORE = 3  # zxcvbn's "safely unguessable" against an offline attack on a slow hash


def _check_password(password: str, username: str) -> None:
    from zxcvbn import zxcvbn  # its word lists load in a second: only when a password is set

    if len(password.strip()) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password: at least {MIN_PASSWORD_LENGTH} characters are needed")
    said = zxcvbn(password[:100], user_inputs=[username, "tamis", "douane", "customs"])
    if said["score"] < MIN_PASSWORD_SCORE:
        why = said["feedback"]["warning"] or "it is too easy to guess"
        raise UserError(f"password: {why.rstrip('.')}; a few unrelated words make a good one")


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise UserError(f"role {role!r}: expected one of {[r.value for r in Role]}") from None


def _check_partner(role: Role, partner: str | None) -> None:
    if (role is Role.PARTNER) != bool(partner):
        raise UserError(
            "partner: a partner user, and only a partner user, names its administration"
        )


def _user(row) -> User:
    return User(row.user_id, row.username, Role(row.role), row.partner, row.office)


def add_user(
    engine: Engine,
    username: str,
    role: str,
    password: str,
    actor: str,
    partner: str | None = None,
    office: str | None = None,
) -> User:
    if not username or len(username) > 64 or not username.isprintable() or " " in username:
        raise UserError(f"username {username!r}: 1 to 64 printable characters, no space")
    role = _role(role)
    _check_partner(role, partner)
    _check_password(password, username)
    now = audit.now()
    values = dict(
        username=username, role=role.value, partner=partner, office=_office(office), active=1
    )
    with engine.begin() as conn:
        if conn.execute(select(users.c.user_id).where(users.c.username == username)).first():
            raise UserError(f"username {username!r} is taken")
        user_id = conn.execute(
            users.insert().values(
                **values, password_hash=_hasher.hash(password), created_at=now, password_set_at=now
            )
        ).inserted_primary_key[0]
        audit.record(conn, actor, "user.add", "user", username, None, values)
    return User(user_id, username, role, partner, values["office"])


def _change(engine: Engine, username: str, actor: str, action: str, **values) -> None:
    with engine.begin() as conn:
        row = conn.execute(select(users).where(users.c.username == username)).first()
        if row is None:
            raise UserError(f"no user {username!r}")
        conn.execute(update(users).where(users.c.user_id == row.user_id).values(**values))
        # Sessions end with any change of password or access.
        conn.execute(update(sessions).where(sessions.c.user_id == row.user_id).values(revoked=1))
        shown = {k: v for k, v in values.items() if k != "password_hash"}
        audit.record(
            conn, actor, action, "user", username, {k: row._mapping[k] for k in shown}, shown
        )


def disable_user(engine: Engine, username: str, actor: str) -> None:
    _change(engine, username, actor, "user.disable", active=0)


def enable_user(engine: Engine, username: str, actor: str) -> None:
    _change(engine, username, actor, "user.enable", active=1)


def reset_password(engine: Engine, username: str, password: str, actor: str) -> None:
    _check_password(password, username)
    _change(
        engine,
        username,
        actor,
        "user.reset",
        password_hash=_hasher.hash(password),
        password_set_at=audit.now(),
    )


def _office(office: str | None) -> str | None:
    """An office code as stored: trimmed (as the declarations spell it); empty is none."""
    office = (office or "").strip()
    if len(office) > 64 or not office.isprintable():
        raise UserError(f"office {office!r}: an office code of at most 64 printable characters")
    return office or None


def set_office(engine: Engine, username: str, office: str | None, actor: str) -> None:
    """Place the user at an office (None: at none); an inspector takes the unassigned cases
    of their office."""
    _change(engine, username, actor, "user.office", office=_office(office))


def _stored(engine: Engine, username: str):
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == username)).first()
    if row is None:
        raise UserError(f"no user {username!r}")
    return row


def set_role(
    engine: Engine, username: str, role: str, actor: str, partner: str | None = None
) -> None:
    """Give the user another role; a partner user names its administration (``partner``,
    else the one it has), any other role has none."""
    role = _role(role)
    if role is Role.PARTNER:
        partner = partner or _stored(engine, username).partner
    else:
        partner = None
    _check_partner(role, partner)
    _change(engine, username, actor, "user.role", role=role.value, partner=partner)


def set_partner(engine: Engine, username: str, partner: str, actor: str) -> None:
    """Name the administration a partner user works for."""
    partner = partner.strip()
    if not partner or len(partner) > 64:
        raise UserError("partner: 1 to 64 characters naming the partner administration")
    _check_partner(Role(_stored(engine, username).role), partner)
    _change(engine, username, actor, "user.partner", partner=partner)


def list_users(engine: Engine) -> list[dict]:
    columns = [c for c in users.c if c.name != "password_hash"]
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(*columns).order_by(users.c.username))]


def authenticate(engine: Engine, username: str, password: str) -> User | None:
    """The active user with that name and password, else None."""
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == username)).first()
    try:
        _hasher.verify(row.password_hash if row else _UNKNOWN_USER_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    return _user(row) if row is not None and row.active else None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(engine: Engine, user: User) -> tuple[str, datetime]:
    """A new bearer token for the user and when it expires."""
    token = secrets.token_urlsafe(32)
    now = audit.now()
    expires_at = now + timedelta(hours=settings().session_hours)
    with engine.begin() as conn:
        conn.execute(
            sessions.insert().values(
                token_hash=_token_hash(token),
                user_id=user.user_id,
                created_at=now,
                expires_at=expires_at,
                revoked=0,
            )
        )
        audit.record(conn, user.username, "session.open", "user", user.username)
    return token, expires_at


# Built once: every API request asks it, and building it costs more than running it.
SESSION_USER = (
    select(users.c.user_id, users.c.username, users.c.role, users.c.partner, users.c.office)
    .join(sessions, sessions.c.user_id == users.c.user_id)
    .where(
        sessions.c.token_hash == bindparam("token_hash"),
        sessions.c.revoked == 0,
        sessions.c.expires_at > bindparam("now"),
        users.c.active == 1,
    )
)


def user_for_token(engine: Engine, token: str) -> User | None:
    """The user of a live session: not expired, not revoked, the user still active."""
    values = {"token_hash": _token_hash(token), "now": audit.now()}
    with engine.connect() as conn:
        row = conn.execute(SESSION_USER, values).first()
    return _user(row) if row else None


def close_session(engine: Engine, token: str, user: User) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(sessions).where(sessions.c.token_hash == _token_hash(token)).values(revoked=1)
        )
        audit.record(conn, user.username, "session.close", "user", user.username)
