"""Guessing passwords: a few wrong ones, then the account (or the address) is refused for a
minute, the right password included, and every failure is in the audit trail."""

from __future__ import annotations

from tamis import audit, users
from tests.conftest import PASSWORD, login


def _try(client, username: str, password: str):
    return client.post("/api/auth/login", json={"username": username, "password": password})


def test_wrong_passwords_lock_the_account_then_even_the_right_one_is_refused(anonymous):
    login(anonymous, "analyst", "karim")
    for _ in range(5):
        assert _try(anonymous, "karim", "not the password").status_code == 401
    refused = _try(anonymous, "karim", PASSWORD)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    engine = anonymous.app.state.engine
    actions = [e["action"] for e in audit.entries(engine, entity="user", entity_id="karim")]
    assert actions.count("login.failed") == 5 and "login.throttled" in actions


def test_another_account_is_not_slowed_by_a_guesser_elsewhere(anonymous):
    login(anonymous, "analyst", "karim")
    login(anonymous, "inspector", "sara")
    for _ in range(5):
        _try(anonymous, "karim", "guess")
    assert _try(anonymous, "sara", PASSWORD).status_code == 200


def test_one_address_trying_many_accounts_is_refused(anonymous):
    engine = anonymous.app.state.engine
    users.add_user(engine, "nadia", "analyst", PASSWORD, actor="test")
    for n in range(30):
        assert _try(anonymous, f"nobody{n}", "guess").status_code == 401
    assert _try(anonymous, "nadia", PASSWORD).status_code == 429


def test_the_login_page_says_when_to_come_back(anonymous):
    login(anonymous, "analyst", "karim")
    for _ in range(5):
        anonymous.post("/login", data={"username": "karim", "password": "x"})
    page = anonymous.post("/login", data={"username": "karim", "password": PASSWORD},
                          follow_redirects=False)  # fmt: skip
    assert page.status_code == 429 and "checs de connexion" in page.text  # French first
    assert "tamis_session" not in page.cookies
