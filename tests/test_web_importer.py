"""An importer's page as every reader sees it: identity across sources, history, channels
and results, its declarations, cases, offences, network ties and, for analysts and
administrators only, the social-media sellers linked to it."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import event, func, select

from tamis import audit
from tamis.assess import assess_file, assessor_from_store
from tamis.cases import cases
from tamis.intel import network, resolve
from tamis.social import views
from tamis.social.evaluation import load
from tamis.social.synthetic import write_posts
from tamis.store.tables import declarations
from tests.conftest import login
from tests.intel_store import loaded_store
from tests.test_web import browser_login

READERS = ("admin", "analyst", "inspector", "supervisor", "auditor")
SEE_SELLERS = {"admin", "analyst"}


@pytest.fixture
def importer(anonymous, store_url, tmp_path):
    """The app's store with a synthetic year, its other sources, decisions, entities, the
    network and posts read into sellers; (engine, an importer linked to a seller, that
    seller, one of its declarations given a case, a result and an offence)."""
    engine, year = loaded_store(store_url, tmp_path, 800, 7)
    load(engine, write_posts(year, tmp_path / "posts", 7, 200))
    engine.dispose()
    engine = anonymous.app.state.engine
    assess_file(
        tmp_path / "year.parquet", "canonical", assessor_from_store(engine),
        tmp_path / "decided.parquet", engine,
    )  # fmt: skip
    resolve.resolve(engine)
    network.build(engine)
    linked = views.list_sellers(engine, "test", linked=True, limit=500)["sellers"]
    seller_id, importer_id = next(
        (seller["seller_id"], link["importer_id"])
        for seller in linked
        for link in views.seller(engine, seller["seller_id"], "test", posts=0)["links"]
    )
    with engine.connect() as conn:
        declaration_id = conn.execute(
            declarations.select()
            .with_only_columns(declarations.c.declaration_id)
            .where(declarations.c.importer_id == importer_id)
            .order_by(declarations.c.lodged_at.desc())
        ).scalar()
    admin = login(anonymous, "admin")
    case_id = cases.open_case(engine, "tip-off", "test", declaration_id, "CASA-PORT")
    found = {"result": "non_compliant", "fraud_type": "valuation", "revenue_recovered": "10"}
    recorded = anonymous.post(f"/api/cases/{case_id}/result", json=found, headers=admin)
    assert recorded.status_code == 200, recorded.text
    offence = anonymous.post(f"/api/offences/from-inspection/{declaration_id}", headers=admin)
    assert offence.status_code == 201, offence.text
    anonymous.follow_redirects = False
    return engine, importer_id, seller_id, declaration_id, case_id, offence.json()["number"]


def _section(page: str, name: str) -> str:
    return html.unescape(re.search(rf'<section id="{name}">.*?</section>', page, re.S)[0])


def test_the_importer_page_shows_every_section_and_sellers_to_analysts_only(anonymous, importer):
    engine, importer_id, seller_id, declaration_id, case_id, offence_number = importer
    for role in READERS:
        browser_login(anonymous, role)
        answer = anonymous.get(f"/importers/{importer_id}")
        assert answer.status_code == 200, role
        page = answer.text
        assert f"Importateur {importer_id}" in page
        identity = _section(page, "identity")
        assert "déclarations en douane" in identity and importer_id in identity
        assert re.search(r'id="channel-counts">.*?class="channel (red|orange|yellow|green)"',
                         page, re.S)  # fmt: skip
        listed = _section(page, "declarations")
        assert f'href="/declarations?importer={importer_id}"' in listed
        assert f'href="/declarations/{declaration_id}"' in listed and "non conforme" in listed
        assert f'href="/cases/{case_id}"' in _section(page, "importer-cases")
        assert offence_number in _section(page, "importer-offences")
        ties = _section(page, "network")
        assert 'id="ties"' in ties and "Lien" in ties
        if role in SEE_SELLERS:
            assert f'href="/social/sellers/{seller_id}"' in _section(page, "sellers")
        else:
            assert 'id="sellers"' not in page and seller_id not in page
    viewed = audit.entries(engine, entity="importer_sellers", entity_id=importer_id)
    assert {e["actor"] for e in viewed} == {f"{r}-web" for r in SEE_SELLERS}
    english = anonymous.get(f"/importers/{importer_id}", headers={"accept-language": "en"})
    assert f"Importer {importer_id}" in english.text and "Identity across sources" in english.text


def test_the_declaration_links_its_importer_page_and_the_case_its_importer(anonymous, importer):
    _, importer_id, _, declaration_id, case_id, _ = importer
    browser_login(anonymous, "inspector")
    declaration = anonymous.get(f"/declarations/{declaration_id}").text
    assert f'href="/importers/{importer_id}"' in declaration
    assert f'href="/cases/{case_id}"' in declaration
    case = anonymous.get(f"/cases/{case_id}").text
    assert f'href="/importers/{importer_id}"' in case


def test_an_unknown_importer_is_a_not_found_page_in_the_reader_language(anonymous):
    anonymous.follow_redirects = False
    browser_login(anonymous, "auditor")
    french = anonymous.get("/importers/IMP-NOBODY")
    assert french.status_code == 404
    assert "Aucune déclaration de cet importateur" in html.unescape(french.text)
    english = anonymous.get("/importers/IMP-NOBODY", headers={"accept-language": "en"})
    assert english.status_code == 404 and "No declaration from this importer" in english.text
    hostile = anonymous.get("/importers/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert hostile.status_code == 404 and "<script>alert(1)" not in hostile.text
    assert anonymous.get("/importers/" + "X" * 65).status_code == 422


def test_the_page_reads_in_a_few_queries_whatever_it_lists(anonymous, importer):
    """No query per row: a large importer's page takes as many queries as a small one's
    (give or take the sections a small one has not, such as ties or sellers)."""
    engine, importer_id, *_ = importer
    with engine.connect() as conn:
        small = conn.execute(
            select(declarations.c.importer_id)
            .group_by(declarations.c.importer_id)
            .order_by(func.count(), declarations.c.importer_id)
        ).first()[0]
    browser_login(anonymous, "analyst")
    anonymous.get(f"/importers/{importer_id}")  # the scoreboard's table brought up to date
    counts = []
    for shown in (importer_id, small):
        queries = []

        def count(*_, queries=queries) -> None:
            queries.append(1)

        event.listen(engine, "before_cursor_execute", count)
        try:
            assert anonymous.get(f"/importers/{shown}").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        counts.append(len(queries))
    assert abs(counts[0] - counts[1]) <= 3 and max(counts) < 30, counts
