"""Two Tamis instances on loopback, Morocco and Spain, exchange a movement end to end: Spain
collects the anticipated arrival, records the arrival and the control results, sends them
back; Morocco writes the movement off. Run twice, the exchange changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import timedelta

import httpx

from tamis import users
from tamis.store import open_store
from tamis.transit.movements import register_guarantee
from tests.servers import TAMIS, serving
from tests.test_transit import RELEASED, declaration, message

PASSWORD = "correct horse battery"


def instance(tmp_path, name: str, country: str) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / f'{name}.db'}"
    engine = open_store(url)
    users.add_user(engine, "officer", "inspector", PASSWORD, actor="test")
    if country == "MA":
        users.add_user(engine, "aduana", "partner", PASSWORD, actor="test", partner="ES")
        register_guarantee(engine, "G-1", "IMP001", 10**9, "MAD", actor="test")
    engine.dispose()
    return os.environ | {"TAMIS_DATABASE_URL": url, "TAMIS_COUNTRY": country}


def token(base: str, username: str) -> dict[str, str]:
    answer = httpx.post(f"{base}/api/auth/login", json={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def exchange(spain: dict, morocco_url: str) -> dict:
    done = subprocess.run(
        [
            TAMIS,
            "transit",
            "exchange",
            morocco_url,
            "--partner",
            "MA",
            "--username",
            "aduana",
            "--json",
        ],
        env=spain | {"TAMIS_PARTNER_PASSWORD": PASSWORD},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_movement_crosses_the_border_between_two_instances(tmp_path):
    morocco, spain = instance(tmp_path, "morocco", "MA"), instance(tmp_path, "spain", "ES")
    with serving(morocco) as ma, serving(spain) as es:
        officer_ma, officer_es = token(ma, "officer"), token(es, "officer")
        to_spain = declaration("m1", destination_office="ES-ALGECIRAS", destination_country="ES")
        mrn = httpx.post(f"{ma}/api/transit/messages", json=to_spain, headers=officer_ma).json()[
            "mrn"
        ]
        release = message("IE029", mrn, "r1", released_at=RELEASED.isoformat())
        httpx.post(f"{ma}/api/transit/messages", json=release, headers=officer_ma)

        assert exchange(spain, ma) == {"collected": 1, "delivered": 0, "refused": []}
        there = httpx.get(f"{es}/api/transit/movements/{mrn}", headers=officer_es).json()
        assert (there["state"], there["partner"], there["holder"]) == (
            "anticipated",
            "MA",
            "IMP001",
        )
        arrived = RELEASED + timedelta(days=2)
        for said in (
            message(
                "IE006",
                mrn,
                "es-a",
                "ES-ALGECIRAS",
                arrived_at=arrived.isoformat(),
                office="ES-ALGECIRAS",
            ),
            message("IE018", mrn, "es-c", "ES-ALGECIRAS", result="A1", arrival_mass_kg=1000.0),
        ):
            assert (
                httpx.post(f"{es}/api/transit/messages", json=said, headers=officer_es).status_code
                == 201
            )
        assert exchange(spain, ma) == {"collected": 0, "delivered": 2, "refused": []}
        home = httpx.get(f"{ma}/api/transit/movements/{mrn}", headers=officer_ma).json()
        assert home["state"] == "written_off" and home["arrival_office"] == "ES-ALGECIRAS"
        received = [(m["direction"], m["type"], m["sender"]) for m in home["messages"]]
        assert ("in", "IE006", "ES") in received and ("in", "IE018", "ES") in received
        assert received[-1] == ("out", "IE045", "TANGER-MED")
        assert exchange(spain, ma) == {"collected": 0, "delivered": 0, "refused": []}
