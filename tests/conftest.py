"""Stores for tests: a SQLite file and, for real, PostgreSQL in a schema of its own.

PostgreSQL is at TAMIS_TEST_POSTGRES_URL (default: 127.0.0.1:5432, database test). Outside
CI a missing server skips those tests with the reason; in CI (CI=true) it fails them.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tamis.store import open_store

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
POSTGRES_URL = os.environ.get("TAMIS_TEST_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test")


def _postgres_or_skip() -> None:
    try:
        with create_engine(POSTGRES_URL).connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure to connect means "no server"
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL must answer in CI at {POSTGRES_URL}: {error}")
        pytest.skip(f"no PostgreSQL server at {POSTGRES_URL}: {error.__class__.__name__}")


@pytest.fixture
def postgres_url():
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    _postgres_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(autouse=True)
def attachments_folder(tmp_path, monkeypatch):
    """Attachments, caches and keys a test writes go to its own folder, never the user's."""
    monkeypatch.setenv("TAMIS_ATTACHMENTS_DIR", str(tmp_path / "attachments"))
    monkeypatch.setenv("TAMIS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TAMIS_KEYS_DIR", str(tmp_path / "keys"))


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tamis.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store(store_url):
    engine = open_store(store_url)
    yield engine
    engine.dispose()


@pytest.fixture
def kcs_train() -> Path:
    path = SHARED_DATA / "kcs" / "train.csv"
    if not path.is_file():
        pytest.skip(f"the KCS data set is not beside the repository ({path})")
    return path


PASSWORD = "correct horse battery"


def login(client, role: str, username: str | None = None, partner: str | None = None) -> dict:
    """Create a user of ``role`` (if new) and log in through the API: the auth headers."""
    from tamis import users

    username = username or f"{role}-user"
    engine = client.app.state.engine
    if username not in {u["username"] for u in users.list_users(engine)}:
        partner = partner or ("DGDDI-FR" if role == "partner" else None)
        users.add_user(engine, username, role, PASSWORD, actor="test", partner=partner)
    response = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.cookies.clear()  # the caller chooses: headers for this user, or none
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture
def anonymous(store_url):
    """A client of the real app on the test store, with no credentials."""
    from fastapi.testclient import TestClient

    from tamis.api.app import create_app

    with TestClient(create_app(store_url)) as client:
        yield client


@pytest.fixture
def client(anonymous):
    """The same client, logged in as an admin (who may use every route)."""
    anonymous.headers.update(login(anonymous, "admin"))
    return anonymous
