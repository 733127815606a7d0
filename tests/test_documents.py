"""Trade documents: registered in the log when added, caught when their bytes change, asked
of the declarant before a release at a distance; the detector that flags them; credentials
issued, verified offline, tampered with, revoked or signed by another key; the W3C test
vector of eddsa-jcs-2022 reproduced."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, update

from tamis import audit, synth
from tamis.detectors.base import StoreContext
from tamis.detectors.documents import DocumentsDetector
from tamis.documents import credentials, log, records
from tamis.documents.synthetic import synthetic_documents
from tamis.documents.tables import documents
from tamis.ingest import ingest
from tamis.reasons import parse, render
from tamis.store import files
from tamis.store.read import read_items
from tamis.store.tables import declarations
from tests.conftest import login


@pytest.fixture(autouse=True)
def keys(tmp_path, monkeypatch):
    """Our credentials' and log's keys are made in the test's folder, never the user's."""
    monkeypatch.setenv("TAMIS_KEYS_DIR", str(tmp_path / "keys"))


def lodge(engine, tmp_path, count: int = 12) -> list[str]:
    """A few declarations in the store: their ids."""
    year = tmp_path / "year.parquet"
    synth.write(synth.generate(count, 3, days=20), year)
    ingest(year, "canonical", engine)
    with engine.connect() as conn:
        return sorted(conn.execute(select(declarations.c.declaration_id)).scalars())


@pytest.fixture
def declared(store, tmp_path):
    return store, lodge(store, tmp_path)


def invoice(engine, declaration_id: str, text: bytes = b"%PDF invoice 100.00", **more) -> dict:
    return records.add_document(
        engine,
        declaration_id,
        "invoice",
        "Seller Ltd",
        "invoice.pdf",
        "application/pdf",
        io.BytesIO(text),
        "inspector-1",
        **more,
    )


def test_a_document_is_registered_in_the_log_and_checks_until_its_bytes_change(declared):
    engine, ids = declared
    added = invoice(engine, ids[0], item_numbers="1")
    assert added["item_numbers"] == "1"
    leaf, entry = log.entry(engine, added["log_index"])
    sha = bytes.fromhex(added["sha256"])
    assert entry.salted_hash == log.salted_hash(bytes.fromhex(added["salt"]), sha)
    assert (entry.doc_type, entry.reference) == ("invoice", ids[0])
    assert sha not in leaf  # the log shows the salted hash, never the document's
    check = records.check_document(engine, added["document_id"])
    assert check.ok and check.verdict == "verified" and check.log_index == added["log_index"]
    trail = audit.entries(engine, entity="declaration", entity_id=ids[0])
    assert [e["action"] for e in trail] == ["document.add"]
    assert trail[0]["after"]["log_index"] == added["log_index"]

    path = files.path_of(added["sha256"])
    path.write_bytes(b"%PDF invoice 10.00")  # falsified: the amount changed
    check = records.check_document(engine, added["document_id"])
    assert check.verdict == "altered" and f"document {added['document_id']}" in check.detail
    with pytest.raises(records.DocumentAltered):
        records.open_document(engine, added["document_id"])
    path.unlink()
    assert records.check_document(engine, added["document_id"]).verdict == "missing"


def test_a_record_edited_to_another_file_no_longer_matches_its_log_entry(declared):
    engine, ids = declared
    first, other = invoice(engine, ids[0]), invoice(engine, ids[1], b"%PDF another invoice")
    with engine.begin() as conn:  # someone points the record at another, intact, file
        conn.execute(
            update(documents)
            .where(documents.c.document_id == first["document_id"])
            .values(sha256=other["sha256"])
        )
    check = records.check_document(engine, first["document_id"])
    assert check.verdict == "unregistered" and f"log entry {first['log_index']}" in check.detail


def test_unknown_declarations_items_and_types_are_refused_by_name(declared):
    engine, ids = declared
    with pytest.raises(LookupError, match="declaration NOPE-1: no such declaration"):
        invoice(engine, "NOPE-1")
    with pytest.raises(records.DocumentError, match=f"declaration {ids[0]}: no item 99"):
        invoice(engine, ids[0], item_numbers="1,99")
    with pytest.raises(records.DocumentError, match="doc_type 'passport'"):
        records.add_document(
            engine, ids[0], "passport", "x", "p.pdf", "application/pdf", io.BytesIO(b"x"), "me"
        )
    with pytest.raises(records.DocumentNotFound, match="document 999: no such document"):
        records.check_document(engine, 999)
    assert log.current_size(engine) == 0  # nothing refused reached the log


def test_a_remote_release_waits_for_the_requested_document_then_is_audited(declared):
    engine, ids = declared
    declaration_id = ids[2]
    with pytest.raises(records.DocumentError, match="no document to check"):
        records.decide_remotely(engine, declaration_id, "release", "inspector-1")
    invoice(engine, declaration_id)
    asked = records.request_document(
        engine, declaration_id, "certificate_of_origin", "inspector-1", note="origin of item 1"
    )
    with pytest.raises(records.DocumentError, match=rf"request {asked['request_id']}.*not arrived"):
        records.decide_remotely(engine, declaration_id, "release", "inspector-1")
    inspected = records.decide_remotely(engine, declaration_id, "inspect", "inspector-1")
    assert inspected["decision"] == "inspect"  # sending to inspection needs nothing

    sent = records.add_document(
        engine,
        declaration_id,
        "certificate_of_origin",
        "Chamber of commerce",
        "co.pdf",
        "application/pdf",
        io.BytesIO(b"%PDF origin"),
        "declarant-1",
    )
    assert sent["answers"] == asked["request_id"]
    released = records.decide_remotely(engine, declaration_id, "release", "inspector-1", "seen")
    assert released["decision"] == "release" and released["decided_by"] == "inspector-1"
    actions = [e["action"] for e in audit.entries(engine, entity_id=declaration_id)]
    assert actions == [
        "document.add",
        "document.request",
        "declaration.remote_inspect",
        "document.add",
        "declaration.remote_release",
    ]

    files.path_of(sent["sha256"]).write_bytes(b"%PDF origin: somewhere else")
    with pytest.raises(records.DocumentError, match=rf"document {sent['document_id']}.*changed"):
        records.decide_remotely(engine, declaration_id, "release", "inspector-1")


def test_the_detector_flags_altered_and_overdue_documents_and_costs_nothing_without(declared):
    engine, ids = declared
    context = StoreContext(engine)
    assert DocumentsDetector.from_store(engine, context) is None  # no document: not built
    planted = synthetic_documents(engine, ids, seed=4)
    falsified, overdue = planted["falsified"], planted["overdue"]
    assert planted["documents"] >= len(ids) and planted["by_type"]["invoice"] == len(ids)
    check = records.check_document(engine, falsified["document_id"])
    assert check.verdict == "altered"

    detector = DocumentsDetector.from_store(engine, context)
    batch = read_items(engine)  # the same declarations, as a batch
    signals = {r["declaration_id"]: r for r in detector.assess(batch).iter_rows(named=True)}
    flagged = {d for d, s in signals.items() if s["score"] > 0}
    assert flagged == {falsified["declaration_id"], overdue["declaration_id"]}
    said = signals[falsified["declaration_id"]]["reasons"]
    assert [parse(r)["code"] for r in said] == ["documents.altered"]
    assert "facture" in render(said[0], "fr") and "invoice" in render(said[0], "en")
    assert signals[falsified["declaration_id"]]["score"] == pytest.approx(0.9)
    late = signals[overdue["declaration_id"]]["reasons"]
    assert parse(late[0])["code"] == "documents.overdue" and "licence" in render(late[0], "en")


# --- over HTTP and on the declaration page


@pytest.fixture
def lodged(client, tmp_path):
    return lodge(client.app.state.engine, tmp_path)


def upload(client, declaration_id: str, content: bytes, doc_type="invoice", headers=None):
    return client.post(
        f"/api/declarations/{declaration_id}/documents",
        files={"file": ("invoice.pdf", content, "application/pdf")},
        data={"doc_type": doc_type, "issuer": "Seller Ltd"},
        headers=headers,
    )


def test_officers_upload_readers_check_and_partners_may_not_upload(client, lodged):
    declaration_id = lodged[0]
    sent = upload(client, declaration_id, b"%PDF invoice")
    assert sent.status_code == 201 and sent.json()["check"]["verdict"] == "verified"
    document_id = sent.json()["document_id"]
    auditor, partner = login(client, "auditor"), login(client, "partner")
    listed = client.get(f"/api/declarations/{declaration_id}/documents", headers=auditor)
    assert listed.status_code == 200
    assert [d["document_id"] for d in listed.json()["documents"]] == [document_id]
    assert client.get(f"/api/documents/{document_id}", headers=auditor).content == b"%PDF invoice"
    checked = client.get(f"/api/documents/{document_id}/check", headers=auditor).json()
    assert checked["verdict"] == "verified"
    proof = client.get(f"/api/documents/{document_id}/proof", headers=auditor).json()
    verdict = log.verify_bundle(  # offline: the log's public key, the file and its salt
        proof,
        log.log_signer().public_key_text(),
        document_bytes=b"%PDF invoice",
        salt=bytes.fromhex(proof["document"]["salt"]),
    )
    assert verdict.ok and verdict.document
    assert upload(client, declaration_id, b"x", headers=auditor).status_code == 403
    assert upload(client, declaration_id, b"x", headers=partner).status_code == 403
    refused = upload(client, "NOPE-1", b"x")
    assert refused.status_code == 404 and "NOPE-1" in refused.json()["detail"]
    wrong = upload(client, declaration_id, b"x", doc_type="passport")
    assert wrong.status_code == 422

    files.path_of(sent.json()["sha256"]).write_bytes(b"%PDF invoice, changed")
    assert client.get(f"/api/documents/{document_id}/check").json()["verdict"] == "altered"
    assert client.get(f"/api/documents/{document_id}").status_code == 409


def test_over_http_a_release_is_refused_until_the_requested_document_arrives(client, lodged):
    declaration_id = lodged[1]
    upload(client, declaration_id, b"%PDF invoice")
    asked = client.post(
        f"/api/declarations/{declaration_id}/document-requests", json={"doc_type": "licence"}
    )
    assert asked.status_code == 201
    release = {"decision": "release", "note": "documents seen"}
    path = f"/api/declarations/{declaration_id}/remote-decision"
    refused = client.post(path, json=release)
    assert refused.status_code == 409 and "licence" in refused.json()["detail"]
    upload(client, declaration_id, b"%PDF licence", doc_type="licence")
    assert client.post(path, json=release).status_code == 201
    said = client.get(f"/api/declarations/{declaration_id}/documents").json()
    assert said["requests"][0]["status"] == "answered"
    assert [d["decision"] for d in said["remote_decisions"]] == ["release"]


def test_the_declaration_page_shows_documents_and_its_forms_work(client, lodged):
    declaration_id = lodged[0]
    sent = upload(client, declaration_id, b"%PDF invoice").json()
    client.cookies.clear()
    client.headers.pop("Authorization")
    client.post("/login", data={"username": "admin-user", "password": "correct horse battery"})
    page = client.get(f"/declarations/{declaration_id}")
    assert page.status_code == 200 and 'id="documents-list"' in page.text
    assert f'<td class="n">{sent["log_index"]}</td>' in page.text
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)[1]
    base = f"/declarations/{declaration_id}"
    asked = client.post(
        f"{base}/document-requests",
        data={"csrf_token": csrf, "doc_type": "packing_list"},
        follow_redirects=False,
    )
    assert asked.status_code == 303
    refused = client.post(
        f"{base}/remote-decision", data={"csrf_token": csrf, "decision": "release"}
    )
    assert refused.status_code == 409 and 'id="documents-refusal"' in refused.text
    added = client.post(
        f"{base}/documents",
        data={"csrf_token": csrf, "doc_type": "packing_list", "issuer": "Seller Ltd"},
        files={"file": ("list.pdf", b"%PDF packing list", "application/pdf")},
        follow_redirects=False,
    )
    assert added.status_code == 303
    released = client.post(
        f"{base}/remote-decision",
        follow_redirects=False,
        data={"csrf_token": csrf, "decision": "release"},
    )
    assert released.status_code == 303
    page = client.get(base).text
    assert 'id="remote-decisions"' in page and page.count("✓") >= 2
    files.path_of(sent["sha256"]).write_bytes(b"falsified")
    assert "✗" in client.get(base).text


# --- credentials


@pytest.fixture
def issued(store):
    key = credentials.issuer_key()
    certificate = credentials.issue(
        store,
        "certificate_of_origin",
        "CONSIGNMENT-7",
        {"originCountry": "MA", "hsCodes": ["6403"], "exporter": "Atlas Shoes"},
        key,
        "analyst",
    )
    return store, key, certificate


def test_a_credential_verifies_offline_and_tampering_revocation_or_another_key_fail(issued):
    engine, key, certificate = issued
    listed = credentials.status_list(engine, "1", key)
    shipped = json.loads(json.dumps(certificate))  # as a partner receives it
    verdict = credentials.verify(shipped, key.public_key(), json.dumps(listed))
    assert verdict.valid and verdict.status_checked and verdict.kind == "certificate_of_origin"
    assert verdict.subject == "CONSIGNMENT-7"
    assert shipped["proof"]["proofValue"].startswith("z")
    assert shipped["proof"]["verificationMethod"].startswith("did:key:z6Mk")

    tampered = json.loads(json.dumps(certificate))
    tampered["credentialSubject"]["originCountry"] = "CN"
    said = credentials.verify(tampered, key.public_key(), listed)
    assert (said.valid, said.reason) == (False, "altered") and "proofValue" in said.detail

    stranger = Ed25519PrivateKey.generate()
    forged = credentials.add_proof({k: v for k, v in certificate.items() if k != "proof"}, stranger)
    said = credentials.verify(forged, key.public_key(), listed)
    assert (said.valid, said.reason) == (False, "other_key")
    said = credentials.verify(certificate, stranger.public_key(), listed)
    assert not said.valid and said.reason in ("other_key", "altered")

    credentials.revoke(engine, certificate["id"], "analyst", "issued in error")
    said = credentials.verify(certificate, key.public_key(), credentials.status_list(engine, "1"))
    assert (said.valid, said.reason) == (False, "revoked") and certificate["id"] in said.detail
    assert credentials.verify(certificate, key.public_key()).valid  # status not given: unchecked
    with pytest.raises(credentials.CredentialError, match="already revoked"):
        credentials.revoke(engine, certificate["id"], "analyst")
    actions = [e["action"] for e in audit.entries(engine, entity="credential")]
    assert actions == ["credential.issue", "credential.revoke"]


def test_an_expired_credential_or_one_of_an_unknown_kind_is_refused(issued):
    engine, key, _ = issued
    later = audit.now() + timedelta(days=1)
    aeo = credentials.issue(
        engine, "aeo", "MA000123", {"authorisation": "AEOF"}, key, "analyst", valid_until=later
    )
    assert credentials.verify(aeo, key.public_key()).valid
    said = credentials.verify(aeo, key.public_key(), now=later + timedelta(seconds=1))
    assert (said.valid, said.reason) == (False, "expired")
    with pytest.raises(credentials.CredentialError, match="credential kind 'visa'"):
        credentials.issue(engine, "visa", "X", {}, key, "analyst")


def test_partners_verify_credentials_and_read_the_status_list_over_http(client):
    partner = login(client, "partner")
    issued = client.post(
        "/api/credentials",
        json={"kind": "aeo", "subject": "MA000123", "claims": {"authorisation": "AEOF"}},
    )
    assert issued.status_code == 201
    credential = issued.json()
    assert (
        client.post(
            "/api/credentials", json={"kind": "aeo", "subject": "X"}, headers=partner
        ).status_code
        == 403
    )
    said = client.post("/api/credentials/verify", json={"credential": credential}, headers=partner)
    assert said.status_code == 200 and said.json()["valid"] and said.json()["status_checked"]
    list_id = credential["credentialStatus"]["statusListCredential"].rsplit("/", 1)[1]
    listed = client.get(f"/api/credentials/status/{list_id}", headers=partner).json()
    issuer = client.get("/api/credentials/issuer", headers=partner).json()
    key = credentials.public_key_of(issuer["publicKeyMultibase"])
    assert credentials.verify(credential, key, listed).valid  # offline, with what was fetched
    revoked = client.post(f"/api/credentials/{credential['id']}/revoke", json={"reason": "lapsed"})
    assert revoked.status_code == 200 and revoked.json()["revoked"] == 1
    said = client.post("/api/credentials/verify", json={"credential": credential}, headers=partner)
    assert said.json()["reason"] == "revoked"


# The W3C vc-di-eddsa test vector of eddsa-jcs-2022 (TestVectors/ in github.com/w3c/vc-di-eddsa,
# W3C Software and Document License): its key pair, credential and proof options.
VECTOR_SECRET = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
VECTOR_PUBLIC = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
VECTOR_CONTEXT = [
    "https://www.w3.org/ns/credentials/v2",
    "https://www.w3.org/ns/credentials/examples/v2",
]
VECTOR_UNSIGNED = {
    "@context": VECTOR_CONTEXT,
    "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
    "type": ["VerifiableCredential", "AlumniCredential"],
    "name": "Alumni Credential",
    "description": "A minimum viable example of an Alumni Credential.",
    "issuer": "https://vc.example/issuers/5678",
    "validFrom": "2023-01-01T00:00:00Z",
    "credentialSubject": {"id": "did:example:abcdefgh", "alumniOf": "The School of Examples"},
}
VECTOR_PROOF = {
    "type": "DataIntegrityProof",
    "cryptosuite": "eddsa-jcs-2022",
    "created": "2023-02-24T23:36:38Z",
    "verificationMethod": f"did:key:{VECTOR_PUBLIC}#{VECTOR_PUBLIC}",
    "proofPurpose": "assertionMethod",
    "@context": VECTOR_CONTEXT,
}
VECTOR_HASH = (  # proofHashJCS.txt then docHashJCS.txt: combinedHashJCS.txt
    "66ab154f5c2890a140cb8388a22a160454f80575f6eae09e5a097cabe539a1db"
    "59b7cb6251b8991add1ce0bc83107e3db9dbbab5bd2c28f687db1a03abc92f19"
)
VECTOR_SIGNATURE = (  # sigHexJCS.txt
    "407cd12654b33d718ecbb99179a1506daaa849450bf3fc523cce3e1c96f8b803"
    "51da3f253d725c6f00b07c9e5448d50b3ef78012b9ab54255116d069c6dd2808"
)
VECTOR_PROOF_VALUE = (  # sigBTC58JCS.txt
    "z2HnFSSPPBzR36zdDgK8PbEHeXbR56YF24jwMpt3R1eHXQzJDMWS93FCzpvJpwTWd3GAVFuUfjoJdcnTMuVor51aX"
)


def test_the_w3c_eddsa_jcs_2022_test_vector_is_reproduced():
    key = credentials.private_key_of(VECTOR_SECRET)
    assert credentials.multikey(key.public_key()) == VECTOR_PUBLIC
    assert credentials.hash_data(VECTOR_UNSIGNED, VECTOR_PROOF).hex() == VECTOR_HASH
    signed = credentials.add_proof(VECTOR_UNSIGNED, key, created=VECTOR_PROOF["created"])
    assert signed["proof"] == VECTOR_PROOF | {"proofValue": VECTOR_PROOF_VALUE}
    assert credentials.from_base58btc(VECTOR_PROOF_VALUE).hex() == VECTOR_SIGNATURE
    verdict = credentials.verify(signed, credentials.public_key_of(VECTOR_PUBLIC))
    assert verdict.valid, verdict.detail


# --- from the terminal


def test_the_commands_add_check_issue_verify_and_revoke(declared, tmp_path, monkeypatch):
    import typer
    from typer.testing import CliRunner

    from tamis.documents import doc_cli

    engine, ids = declared
    monkeypatch.setenv("TAMIS_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    app = typer.Typer()  # as tamis.documents.cli registers them
    app.command("add")(doc_cli.add)
    app.command("check")(doc_cli.check)
    app.add_typer(doc_cli.credential_app, name="credential")
    run = CliRunner().invoke
    paper = tmp_path / "invoice.pdf"
    paper.write_bytes(b"%PDF invoice from the terminal")
    added = run(
        app,
        [
            "add",
            ids[0],
            str(paper),
            "--type",
            "invoice",
            "--issuer",
            "Seller Ltd",
            "--items",
            "1",
            "--json",
        ],
    )
    assert added.exit_code == 0, added.output
    document_id = json.loads(added.output)["document_id"]
    checked = run(app, ["check", str(document_id)])
    assert checked.exit_code == 0 and "verified" in checked.output
    refused = run(app, ["add", "NOPE-1", str(paper), "--type", "invoice", "--issuer", "x"])
    assert refused.exit_code == 2 and "declaration NOPE-1" in refused.output

    written = tmp_path / "aeo.json"
    issued = run(
        app,
        [
            "credential",
            "issue",
            "aeo",
            "MA000123",
            "--claim",
            "authorisation=AEOF",
            "--out",
            str(written),
        ],
    )
    assert issued.exit_code == 0, issued.output
    credential = json.loads(written.read_text())
    assert credential["credentialSubject"]["authorisation"] == "AEOF"
    assert run(app, ["credential", "verify", str(written)]).exit_code == 0
    key = credentials.multikey(credentials.issuer_key().public_key())
    offline = run(app, ["credential", "verify", str(written), "--public-key", key, "--json"])
    assert offline.exit_code == 0 and json.loads(offline.output)["status_checked"] is False
    revoked = run(app, ["credential", "revoke", credential["id"], "--reason", "lapsed"])
    assert revoked.exit_code == 0, revoked.output
    again = run(app, ["credential", "verify", str(written)])
    assert again.exit_code == 1 and "revoked" in again.output

    files.path_of(json.loads(added.output)["sha256"]).write_bytes(b"changed")
    assert run(app, ["check", str(document_id)]).exit_code == 1


def test_a_documents_proof_from_the_terminal_verifies_offline_and_catches_another_file(
    declared, tmp_path, monkeypatch
):
    from typer.testing import CliRunner

    from tamis.cli import app as tamis

    engine, ids = declared
    monkeypatch.setenv("TAMIS_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    added = records.add_document(
        engine,
        ids[0],
        "invoice",
        "Shenzhen Trading",
        "invoice.pdf",
        "application/pdf",
        io.BytesIO(b"%PDF 1"),
        "karim",
    )
    runner, bundle, kept = CliRunner(), tmp_path / "proof.json", tmp_path / "invoice.pdf"
    proved = runner.invoke(
        tamis, ["documents", "proof", str(added["document_id"]), "--out", str(bundle)]
    )
    assert proved.exit_code == 0, proved.output
    key = log.log_signer().public_key_text()
    kept.write_bytes(b"%PDF 1")
    same = runner.invoke(
        tamis, ["documents", "verify", str(bundle), "--log-key", key, "--document", str(kept)]
    )
    assert same.exit_code == 0 and "the one registered" in same.output
    kept.write_bytes(b"%PDF 2")  # another invoice passed off as the registered one
    other = runner.invoke(
        tamis, ["documents", "verify", str(bundle), "--log-key", key, "--document", str(kept)]
    )
    assert other.exit_code == 1 and "NOT the one" in other.output
