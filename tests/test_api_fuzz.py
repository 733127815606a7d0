"""Property-based API testing from our own OpenAPI description: whatever a client sends
within (or outside) the schema, as an admin on a store with data, no answer is a 5xx."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from tamis import synth
from tamis.api.app import create_app
from tamis.assess import assess_file, assessor_from_store
from tamis.ingest import ingest
from tests.conftest import login

# The schema is read at collection time from an app on an empty store; the data come in
# the module fixture, before the first case runs.
FOLDER = Path(tempfile.mkdtemp(prefix="tamis-fuzz-"))
APP = create_app(f"sqlite:///{FOLDER / 'fuzz.db'}")
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module")
def admin_headers():
    engine = APP.state.engine
    year = FOLDER / "year.parquet"
    synth.write(synth.generate(200, 5, days=30), year)
    ingest(year, "canonical", engine)
    assess_file(year, "canonical", assessor_from_store(engine), FOLDER / "d.parquet", engine)
    with TestClient(APP) as client:
        yield login(client, "admin")
    shutil.rmtree(FOLDER, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_the_server_fail(case, admin_headers):
    if case.path == "/api/auth/logout":
        return  # it would end the session the other cases use
    response = case.call(headers=admin_headers)
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:500]}"
