"""The social-media pages as analysts read them: sellers of copies, a seller's evidence and
posts (escaped: posts are anyone's words), a case or a watchlist opened from a seller, and
the importer's sellers; other roles neither open them nor see them."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import update

from tamis import audit
from tamis.social import views
from tamis.social.evaluation import load
from tamis.social.synthetic import write_posts
from tamis.social.tables import social_posts
from tests.conftest import login
from tests.intel_store import loaded_store
from tests.test_web import browser_login

HOSTILE = '<script>alert("posted")</script> Rolex copie 1:1'


@pytest.fixture
def sellers(anonymous, store_url, tmp_path):
    """The app's store with a synthetic year, its other sources and posts read into sellers
    linked to importers: (engine, a seller of copies linked by a phone of a tax return, its
    importer, a seller of copies linked to no importer)."""
    engine, year = loaded_store(store_url, tmp_path, 1500, 7)
    load(engine, write_posts(year, tmp_path / "posts", 7, 300))
    engine.dispose()
    engine = anonymous.app.state.engine
    linked = views.list_sellers(engine, "test", linked=True, limit=500)["sellers"]
    seller_id, importer_id = next(
        (seller["seller_id"], link["importer_id"])
        for seller in linked
        for link in views.seller(engine, seller["seller_id"], "test", posts=0)["links"]
        if any(e["kind"] == "phone" and e["shared_by"] == 1 for e in link["evidence"])
    )
    unlinked = views.list_sellers(engine, "test", linked=False, limit=1)["sellers"][0]
    anonymous.follow_redirects = False
    return engine, seller_id, importer_id, unlinked["seller_id"]


def _newest_post_says(engine, seller_id: str, text: str) -> None:
    newest = views.seller(engine, seller_id, "test", posts=1)["recent_posts"][0]["post_id"]
    with engine.begin() as conn:
        conn.execute(update(social_posts).where(social_posts.c.post_id == newest).values(text=text))


def test_an_analyst_reads_sellers_their_evidence_and_their_posts_escaped(anonymous, sellers):
    engine, seller_id, importer_id, unlinked = sellers
    _newest_post_says(engine, seller_id, HOSTILE)
    browser_login(anonymous, "analyst")
    listed = anonymous.get("/social")
    assert listed.status_code == 200 and "Vendeurs de copies" in listed.text
    assert 'href="/social"' in listed.text  # the menu's entry
    assert f'href="/social/sellers/{seller_id}"' in listed.text
    linked = anonymous.get("/social?linked=yes").text
    assert seller_id in linked and unlinked not in linked
    assert unlinked in anonymous.get("/social?linked=no").text
    brand = views.seller(engine, seller_id, "test", posts=0)["brands"][0]
    assert seller_id in anonymous.get("/social", params={"brand": brand}).text
    total = views.list_sellers(engine, "test")["total"]
    assert (
        f"Vendeurs {total - 1} à {total} sur {total}"
        in anonymous.get(f"/social?offset={total - 2}").text
    )

    page = anonymous.get(f"/social/sellers/{seller_id}", headers={"accept-language": "en"})
    assert page.status_code == 200
    text = html.unescape(page.text)
    links = re.search(r'id="links".*?</table>', text, re.S)[0]
    assert f'href="/importers/{importer_id}"' in links
    assert re.search(r"phone \+212\d+ found in tax return \S+ \(.+?\), on \d+ post", links)
    assert "— weight 3.0" in links
    assert "Watch the linked importers" in page.text and 'name="csrf_token"' in page.text
    assert "&lt;script&gt;alert(&#34;posted&#34;)&lt;/script&gt;" in page.text
    assert "<script>alert" not in page.text
    viewed = audit.entries(engine, entity="seller", entity_id=seller_id, actor="analyst-web")
    assert viewed[-1]["action"] == "social.view" and viewed[-1]["after"]["shown"] > 0

    importer = anonymous.get(f"/importers/{importer_id}")
    assert importer.status_code == 200
    section = re.search(r'id="importer-sellers".*?</table>', importer.text, re.S)[0]
    assert f'href="/social/sellers/{seller_id}"' in section and "téléphone +212" in section
    assert anonymous.get("/social/sellers/S-0000000000").status_code == 404
    assert anonymous.get("/social/sellers/not-a-seller").status_code == 422


def test_a_case_or_a_watchlist_is_opened_from_a_seller(anonymous, sellers):
    engine, seller_id, importer_id, unlinked = sellers
    token = browser_login(anonymous, "analyst")
    opened = anonymous.post(f"/social/sellers/{seller_id}/case", data={"csrf_token": token})
    assert opened.status_code == 303 and re.fullmatch(r"/cases/\d+", opened.headers["location"])
    case = anonymous.get(opened.headers["location"])
    assert case.status_code == 200 and f"seller {seller_id}" in case.text
    assert anonymous.post(f"/social/sellers/{seller_id}/case").status_code == 403  # no token

    watched = anonymous.post(f"/social/sellers/{seller_id}/watchlist", data={"csrf_token": token})
    assert watched.status_code == 303
    said = anonymous.get(watched.headers["location"]).text
    assert "Liste de surveillance" in said and importer_id in said
    refused = anonymous.post(f"/social/sellers/{unlinked}/watchlist", data={"csrf_token": token})
    assert refused.status_code == 409
    assert "La liste de surveillance n&#39;a pas été ouverte" in refused.text
    assert f"le vendeur {unlinked} n’est lié à aucun importateur" in html.unescape(refused.text)
    anonymous.cookies.set("tamis_lang", "en")
    english = anonymous.post(f"/social/sellers/{unlinked}/watchlist", data={"csrf_token": token})
    assert f"seller {unlinked} is linked to no importer" in english.text
    anonymous.cookies.delete("tamis_lang")
    api = anonymous.post(
        f"/api/social/sellers/{unlinked}/watchlist", headers=login(anonymous, "analyst")
    )
    assert f"seller {unlinked} is linked to no importer: nothing to watch" in api.text


def test_other_roles_neither_open_the_source_nor_see_an_importer_sellers(anonymous, sellers):
    engine, seller_id, importer_id, _ = sellers
    for role in ("inspector", "auditor"):
        browser_login(anonymous, role)
        assert anonymous.get("/social").status_code == 403
        assert anonymous.get(f"/social/sellers/{seller_id}").status_code == 403
        importer = anonymous.get(f"/importers/{importer_id}").text
        assert 'id="importer-history"' in importer and 'href="/social' not in importer
        assert "importer-sellers" not in importer and seller_id not in importer
    assert audit.entries(engine, entity="importer_sellers") == []
