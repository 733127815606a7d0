"""Wrong passwords slow nobody down but the guesser: after ``login_failures_per_minute``
failures for one account, or ``login_address_failures_per_minute`` from one address, logins
are refused (429, with when to retry) before any password is checked — checking one costs
the server an Argon2 hash, which a flood would spend for every other user.

Failures are counted in a moving window (``limits``), in memory per server process, or in
Redis (``TAMIS_RATE_LIMIT_STORAGE=redis://...``) to share them between processes. Every
failure and every refusal is in the audit trail.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerMinute, storage, strategies
from sqlalchemy import Engine

from tamis import audit
from tamis.settings import settings


class LoginThrottled(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"too many failed logins: try again in {retry_after} s")
        self.retry_after = retry_after


class LoginThrottle:
    def __init__(self, storage_uri: str | None = None):
        config = settings()
        self._limiter = strategies.MovingWindowRateLimiter(
            storage.storage_from_string(storage_uri or config.rate_limit_storage)
        )
        self._limits = {
            "account": RateLimitItemPerMinute(config.login_failures_per_minute),
            "address": RateLimitItemPerMinute(config.login_address_failures_per_minute),
        }

    def _keys(self, username: str, address: str | None) -> dict[str, str]:
        return {"account": username.casefold(), "address": address or "unknown"}

    def check(self, engine: Engine, username: str, address: str | None) -> None:
        """Raise ``LoginThrottled`` (and audit it) when the account or address has failed
        too often in the last minute."""
        for kind, key in self._keys(username, address).items():
            limit = self._limits[kind]
            if not self._limiter.test(limit, "login", kind, key):
                reset = self._limiter.get_window_stats(limit, "login", kind, key).reset_time
                retry = max(1, math.ceil(reset - time.time()))
                _audit(engine, username, "login.throttled", address, {"by": kind})
                raise LoginThrottled(retry)

    def failed(self, engine: Engine, username: str, address: str | None) -> None:
        for kind, key in self._keys(username, address).items():
            self._limiter.hit(self._limits[kind], "login", kind, key)
        _audit(engine, username, "login.failed", address, {})


def _audit(engine: Engine, username: str, action: str, address: str | None, more: dict):
    with engine.begin() as conn:
        audit.record(conn, username, action, "user", username, None, {"address": address} | more)
