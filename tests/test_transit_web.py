"""The transit pages as an analyst reads them: alerts and movements in French, one diverted
movement's track on the map with the alert where it happened."""

from __future__ import annotations

from datetime import datetime

from tamis.transit import synthetic
from tamis.transit.seals import ingest_positions
from tests.test_web import browser_login
from tests.test_web_language import RAW_FIELD, visible


def test_a_diverted_movement_shows_on_the_transit_pages(anonymous, tmp_path):
    engine = anonymous.app.state.engine
    holders = [f"IMP{i:03d}" for i in range(10)]
    moved, planted = synthetic.messages(
        holders, 60, datetime(2025, 1, 1), 200, seed=3, fraud_rate=0.3, risky=set(holders[:3])
    )
    mrns = synthetic.load(engine, moved, datetime(2026, 1, 1))
    path = tmp_path / "seals.csv"
    synthetic.positions(moved, mrns, planted, 3).write_csv(path)
    ingest_positions(path, engine, now=datetime(2026, 1, 1))
    diverted = next(mrns[p.lrn] for p in planted if p.fraud == "never_arrives")
    anonymous.follow_redirects = False
    browser_login(anonymous, "analyst")
    anonymous.cookies.set("tamis_lang", "fr")
    page = anonymous.get("/transit").text
    assert "Transit sous douane" in page and "enquête ouverte" in page and diverted in page
    released = anonymous.get("/transit?state=released").text
    assert diverted in released and "apuré" not in released.split("transit-movements")[1]
    one = anonymous.get(f"/transit/{diverted}").text
    assert "<svg" in one and 'class="positions"' in one
    assert 'class="alert"' in one and "<title>hors itinéraire " in one
    assert "<title>corridor de transit</title>" in one and "km de l&#39;itinéraire" in one
    shown = visible(one)
    assert not RAW_FIELD.findall(shown) and "distance_km" not in shown and "{" not in shown
    assert "IE015 — déclaration de transit" in one and "hors itinéraire" in one
    assert "Risque au départ" in one and "de droits et taxes en jeu" in one
    assert anonymous.get("/transit/26MA00000000000000").status_code == 404
    browser_login(anonymous, "partner")
    assert anonymous.get("/transit").status_code == 403
