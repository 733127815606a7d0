"""The documents' transparency log: consecutive entries however registrations race, proofs
that verify, a store check that names what was edited, a witness that refuses rewritten,
rolled back or forked partner logs (keeping the evidence), and an offline proof that needs
neither store nor server."""

from __future__ import annotations

import hashlib
import json
import threading

import pytest
import yaml
from sqlalchemy import text
from typer.testing import CliRunner

from tamis.cli import app as cli
from tamis.documents import log, merkle, note, witness
from tamis.store import open_store

runner = CliRunner()
PARTNER = "es.customs.example/tamis-log"


@pytest.fixture(autouse=True)
def keys(tmp_path, monkeypatch):
    """The log's and the witness's keys are made in the test's folder, never the user's."""
    monkeypatch.setenv("TAMIS_KEYS_DIR", str(tmp_path / "keys"))


def digest(n: int) -> bytes:
    return hashlib.sha256(f"document {n}".encode()).digest()


def registered(store, count: int, start: int = 0) -> list[log.Registration]:
    done = []
    for n in range(start, start + count):
        with store.begin() as conn:
            done.append(log.register(conn, digest(n), "invoice", f"INV-{n}"))
    return done


def opened(signed: str) -> note.Checkpoint:
    return note.open_checkpoint(signed, [log.log_verifier()])[0]


def test_registrations_racing_from_threads_get_consecutive_indexes(store):
    found, failures = [], []

    def register_some(worker: int) -> None:
        try:
            for n in range(8):
                with store.begin() as conn:
                    found.append(log.register(conn, digest(worker * 100 + n), "cmr", f"W{worker}"))
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=register_some, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(r.index for r in found) == list(range(48))
    assert log.current_size(store) == 48
    for registration in found[:5]:
        leaf, said = log.entry(store, registration.index)
        assert leaf == registration.leaf and said.doc_type == "cmr"
    assert log.fsck(store).ok


def test_an_entry_holds_the_salted_hash_never_the_document_hash_nor_the_salt(store):
    with store.begin() as conn:
        done = log.register(conn, digest(1), "certificate_of_origin", "CO-2026-001")
    said = log.decode_leaf(done.leaf)
    assert said.salted_hash == hashlib.sha256(done.salt + digest(1)).digest()
    assert digest(1) not in done.leaf and done.salt not in done.leaf
    assert (said.doc_type, said.reference, said.at) == (
        "certificate_of_origin",
        "CO-2026-001",
        done.at,
    )
    assert done.leaf_hash == merkle.leaf_hash(done.leaf) and len(done.salt) == 16
    with pytest.raises(log.LogError, match="32 bytes of a SHA-256"):
        with store.begin() as conn:
            log.register(conn, b"short", "invoice", "X")
    with pytest.raises(log.LogError, match="expected 1 to 255 bytes"):
        log.encode_leaf(log.Entry(bytes(32), "", "X", done.at))


def test_inclusion_and_consistency_proofs_verify_against_signed_checkpoints(store):
    memory = merkle.MemoryTree()
    checkpoints = {}
    for count in (1, 2, 5, 8, 13):
        for registration in registered(store, count, memory.size):
            memory.append(registration.leaf)
        checkpoints[memory.size] = opened(log.checkpoint(store))
    assert log.checkpoint(store) == log.checkpoint(store)  # the log did not grow: the same
    for tree_size, stated in checkpoints.items():
        assert (stated.origin, stated.root) == (
            "ma.customs.example/tamis-log",
            memory.root(tree_size),
        )
        for index in range(tree_size):
            proof = log.inclusion(store, index, tree_size)
            merkle.verify_inclusion(proof.leaf_hash, index, tree_size, proof.proof, stated.root)
        for old, older in checkpoints.items():
            if old < tree_size:
                hashes = log.consistency(store, old, tree_size)
                merkle.verify_consistency(old, tree_size, hashes, older.root, stated.root)
    latest = log.inclusion(store, 3)  # against the latest checkpoint
    assert latest.size == memory.size
    with pytest.raises(log.LogError, match="the log has 29 entries") as refused:
        log.inclusion(store, 3, 30)
    assert refused.value.status == 404
    with pytest.raises(log.LogError, match="not in the tree of 5"):
        log.inclusion(store, 5, 5)
    with pytest.raises(log.LogError, match="expected 0 <= old <= new"):
        log.consistency(store, 9, 8)


def test_the_first_inclusion_proof_signs_the_checkpoint_it_needs(store):
    registered(store, 3)
    proof = log.inclusion(store, 2)
    assert proof.size == 3 and opened(log.checkpoint(store)).size == 3


def test_fsck_names_an_edited_entry_an_edited_node_and_a_lost_entry(store):
    registered(store, 20)
    log.checkpoint(store)
    assert log.fsck(store).as_dict() | {"problems": []} == {
        "entries": 20, "nodes": 20 + 10 + 5 + 2 + 1, "checkpoints": 1, "problems": [],
        "more": 0, "ok": True,
    }  # fmt: skip
    with store.begin() as conn:
        leaf = conn.execute(text("SELECT leaf FROM log_entries WHERE leaf_index = 7")).scalar()
        edited = leaf[:-1] + bytes([leaf[-1] ^ 1])
        conn.execute(
            text("UPDATE log_entries SET leaf = :leaf WHERE leaf_index = 7"), {"leaf": edited}
        )
    problems = log.fsck(store).problems
    assert problems[0].startswith("entry 7: its leaf hashes to")
    assert "node (0, 7): not the hash of entry 7" in problems
    assert "node (3, 0): not the hash of entries 0 to 7" in problems
    assert "checkpoint 20: its root is not the entries' root" in problems
    with store.begin() as conn:
        conn.execute(
            text("UPDATE log_entries SET leaf = :leaf WHERE leaf_index = 7"), {"leaf": leaf}
        )
        conn.execute(
            text("UPDATE log_nodes SET hash = :h WHERE level = 2 AND node_index = 3"),
            {"h": bytes(32)},
        )
    assert log.fsck(store).problems == ["node (2, 3): not the hash of entries 12 to 15"]
    with store.begin() as conn:
        conn.execute(text("DELETE FROM log_entries WHERE leaf_index = 11"))
    assert "entry 11: missing" in log.fsck(store).problems


# --- witnessing a partner's log


class PartnerLog:
    """A partner's log in memory, signed with its key, that may misbehave."""

    def __init__(self, leaves: int) -> None:
        self.signer = note.Signer.generate(PARTNER)
        self.leaves = [f"partner entry {n}".encode() for n in range(leaves)]

    def tree(self, leaves: list[bytes] | None = None) -> merkle.MemoryTree:
        tree = merkle.MemoryTree()
        for leaf in self.leaves if leaves is None else leaves:
            tree.append(leaf)
        return tree

    def request(self, old: int, leaves: list[bytes] | None = None, signers=None) -> str:
        tree = self.tree(leaves)
        proof = tree.consistency_proof(old) if 0 < old <= tree.size else []
        stated = note.Checkpoint(PARTNER, tree.size, tree.root()).text()
        signed = note.sign_note(stated, signers or [self.signer])
        return f"old {old}\n" + "".join(log.b64(h) + "\n" for h in proof) + "\n" + signed


@pytest.fixture
def partner(tmp_path, monkeypatch) -> PartnerLog:
    """A partner's log we witness (its key in TAMIS_LOG_PARTNERS), of 10 entries."""
    partner = PartnerLog(10)
    config = tmp_path / "partners.yaml"
    config.write_text(yaml.safe_dump({"logs": [partner.signer.public_key_text()]}))
    monkeypatch.setenv("TAMIS_LOG_PARTNERS", str(config))
    return partner


def refusal(store, body: str) -> witness.Refused:
    with pytest.raises(witness.Refused) as refused:
        witness.add_checkpoint(store, body)
    return refused.value


def test_the_witness_cosigns_a_partner_log_that_only_grows(store, partner):
    line = witness.add_checkpoint(store, partner.request(0))
    ours = note.CosignatureVerifier(witness.witness_signer().cosignature_key_text())
    stated = note.Checkpoint(PARTNER, 10, partner.tree().root()).text()
    assert note.open_note(stated + "\n" + line, [ours])[1] == ["ma.customs.example/witness"]
    partner.leaves += [b"entry 10", b"entry 11", b"entry 12"]
    assert witness.add_checkpoint(store, partner.request(10))
    assert witness.witnessed(store)[0] | {"updated_at": None} == {
        "origin": PARTNER, "size": 13, "root": log.b64(partner.tree().root()),
        "updated_at": None, "evidence": 0,
    }  # fmt: skip


def test_a_dropped_or_reordered_entry_fails_consistency_with_the_saved_checkpoint(store, partner):
    witness.add_checkpoint(store, partner.request(0))
    dropped = partner.leaves[:3] + partner.leaves[4:] + [b"entry 10", b"entry 11"]
    refused = refusal(store, partner.request(10, dropped))
    assert refused.status == 422 and "from size 10 to 11" in str(refused)
    reordered = [*partner.leaves[:4], partner.leaves[5], partner.leaves[4], *partner.leaves[6:]]
    refused = refusal(store, partner.request(10, [*reordered, b"entry 10"]))
    assert refused.status == 422
    kept = witness.evidence(store, PARTNER)
    assert [(e["kind"], e["size"]) for e in kept] == [("inconsistent", 11), ("inconsistent", 11)]
    assert kept[0]["note_a"].startswith(f"{PARTNER}\n10\n")
    assert witness.witnessed(store)[0]["size"] == 10


def test_a_rollback_or_a_stale_old_size_is_refused(store, partner):
    witness.add_checkpoint(store, partner.request(0))
    shorter = partner.leaves[:8]
    refused = refusal(store, partner.request(10, shorter))
    assert refused.status == 400 and "larger than the checkpoint's 8" in str(refused)
    refused = refusal(store, partner.request(8, shorter))
    assert (refused.status, refused.size) == (409, 10)
    assert "the last checkpoint cosigned has 10" in str(refused)


def test_a_split_view_is_caught_and_both_checkpoints_kept(store, partner):
    witness.add_checkpoint(store, partner.request(0))
    other = [*partner.leaves[:9], b"another entry 9"]
    refused = refusal(store, partner.request(10, other))
    assert refused.status == 409 and "another root" in str(refused)
    (kept,) = witness.evidence(store)
    assert kept["kind"] == "split-view" and kept["size"] == 10
    seen = note.parse_checkpoint(log.note_text(kept["note_a"]))
    shown = note.parse_checkpoint(log.note_text(kept["note_b"].split("\n\n", 1)[1]))
    assert seen.root == partner.tree().root() and shown.root == partner.tree(other).root()
    assert witness.witnessed(store)[0]["root"] == log.b64(partner.tree().root())


def test_unknown_keys_are_ignored_and_a_bad_known_signature_refused(store, partner):
    stranger = note.Signer.generate("someone.example/key")
    assert witness.add_checkpoint(store, partner.request(0, signers=[stranger, partner.signer]))
    assert refusal(store, partner.request(10, signers=[stranger])).status == 403
    body = partner.request(10)
    cut = body.rindex(" ") + 20  # in the signature, after the key id
    forged = body[:cut] + ("A" if body[cut] != "A" else "B") + body[cut + 1 :]
    refused = refusal(store, forged)
    assert refused.status == 403 and "does not verify" in str(refused)
    impostor = PartnerLog(10)
    impostor.signer = note.Signer.generate("fr.customs.example/tamis-log")
    refused = refusal(store, impostor.request(0).replace(PARTNER, "fr.customs.example/tamis-log"))
    assert refused.status == 404 and "not a log we witness" in str(refused)
    assert refusal(store, "old 01\n\n" + body.split("\n\n", 1)[1]).status == 400


# --- the offline proof


def self_witnessed(store, tmp_path, monkeypatch) -> str:
    """Our log cosigned by our own witness (as a partner's would): its witness vkey."""
    config = tmp_path / "self.yaml"
    witness_key = witness.witness_signer().cosignature_key_text()
    config.write_text(yaml.safe_dump({"logs": [log.log_public_key()], "witnesses": [witness_key]}))
    monkeypatch.setenv("TAMIS_LOG_PARTNERS", str(config))
    tree_size, signed = log.current_checkpoint(store)
    lines = witness.add_checkpoint(store, f"old 0\n\n{signed}")
    assert witness.keep_cosignatures(store, tree_size, lines, None) == [witness.witness_name()]
    return witness_key


def test_the_offline_bundle_verifies_with_no_store_and_fails_for_another_document(
    store, tmp_path, monkeypatch
):
    registered(store, 6)
    with store.begin() as conn:
        ours = log.register(conn, hashlib.sha256(b"%PDF the invoice").digest(), "invoice", "I-7")
    registered(store, 3, 100)
    witness_key = self_witnessed(store, tmp_path, monkeypatch)
    bundle = json.loads(json.dumps(log.bundle(store, ours.index)))
    assert len(bundle["cosignatures"]) == 1
    log_key = log.log_public_key()
    store.dispose()
    monkeypatch.setenv("TAMIS_DATABASE_URL", "postgresql://nobody@127.0.0.1:9/nothing")

    verdict = log.verify_bundle(bundle, log_key, [witness_key], b"%PDF the invoice", ours.salt)
    assert verdict.ok and verdict.document and verdict.witnesses == ["ma.customs.example/witness"]
    assert (verdict.index, verdict.size, verdict.entry["reference"]) == (6, 10, "I-7")
    altered = log.verify_bundle(bundle, log_key, [], b"%PDF the invoicE", ours.salt)
    assert not altered.ok and altered.document is False
    assert "is not the one registered at entry 6" in altered.problems[0]
    assert not log.verify_bundle(bundle, log_key, [], b"%PDF the invoice", bytes(16)).ok
    other_leaf = log.encode_leaf(log.Entry(bytes(32), "invoice", "I-7", ours.at))
    forged = log.verify_bundle(bundle | {"leaf": log.b64(other_leaf)}, log_key)
    assert not forged.ok and "leads to another root" in forged.problems[0]
    stranger = note.Signer.generate("ma.customs.example/tamis-log").public_key_text()
    assert log.verify_bundle(bundle, stranger).problems == [
        "no signature on the note is by a known key"
    ]
    unknown_witness = note.Signer.generate("xx.example/witness").cosignature_key_text()
    missing = log.verify_bundle(bundle, log_key, [unknown_witness])
    assert (
        not missing.ok and "witness xx.example/witness: no valid cosignature" in missing.problems[0]
    )

    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    document = tmp_path / "invoice.pdf"
    document.write_bytes(b"%PDF the invoice")
    args = ["documents", "verify", str(path), "--log-key", log_key, "--witness-key", witness_key]
    checked = runner.invoke(cli, [*args, "--document", str(document), "--salt", ours.salt.hex()])
    assert checked.exit_code == 0, checked.output
    assert "the one registered" in checked.output
    document.write_bytes(b"%PDF the invoicE")
    checked = runner.invoke(cli, [*args, "--document", str(document), "--salt", ours.salt.hex()])
    assert checked.exit_code == 1 and "NOT the one" in checked.output


def test_the_terminal_gives_keys_checkpoint_proof_and_fsck(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("TAMIS_DATABASE_URL", url)
    engine = open_store(url)
    registered(engine, 5)
    keys = json.loads(runner.invoke(cli, ["documents", "keys", "--json"]).output)
    assert keys["log"] == log.log_public_key()
    assert keys["witness"].startswith("ma.customs.example/witness+")
    assert oct((tmp_path / "keys" / "log.key").stat().st_mode)[-3:] == "600"
    shown = runner.invoke(cli, ["documents", "checkpoint"])
    assert shown.exit_code == 0 and shown.output.startswith("ma.customs.example/tamis-log\n5\n")
    out = tmp_path / "b.json"
    proved = runner.invoke(cli, ["documents", "proof", "3", "--entry", "--out", str(out)])
    assert proved.exit_code == 0, proved.output
    checked = runner.invoke(cli, ["documents", "verify", str(out), "--log-key", keys["log"]])
    assert checked.exit_code == 0, checked.output
    assert runner.invoke(cli, ["documents", "fsck"]).exit_code == 0
    with engine.begin() as conn:
        conn.execute(text("UPDATE log_nodes SET hash = :h WHERE level = 1 AND node_index = 0"),
                     {"h": bytes(32)})  # fmt: skip
    broken = runner.invoke(cli, ["documents", "fsck"])
    assert broken.exit_code == 1 and "node (1, 0)" in broken.output
    missing = runner.invoke(cli, ["documents", "proof", "9", "--entry"])
    assert missing.exit_code == 2 and "entry 9: not in the log" in missing.output
    engine.dispose()


def test_a_named_key_file_that_is_missing_or_for_another_log_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("TAMIS_LOG_KEY", str(tmp_path / "absent.key"))
    with pytest.raises(log.LogError, match="no such key file"):
        log.log_signer()
    other = tmp_path / "other.key"
    other.write_text(note.Signer.generate("elsewhere.example/log").private_key_text())
    monkeypatch.setenv("TAMIS_LOG_KEY", str(other))
    with pytest.raises(log.LogError, match="expected one for 'ma.customs.example/tamis-log'"):
        log.log_signer()


def test_the_api_serves_the_checkpoint_and_proofs(client):
    engine = client.app.state.engine
    registered(engine, 7)
    signed = client.get("/api/log/checkpoint")
    assert signed.status_code == 200 and signed.text.startswith("ma.customs.example/tamis-log\n7\n")
    stated = opened(signed.text)
    proof = client.get("/api/log/proof/inclusion", params={"index": 4}).json()
    assert proof["size"] == 7
    merkle.verify_inclusion(
        log.unb64(proof["leaf_hash"], ""), 4, 7, [log.unb64(h, "") for h in proof["proof"]],
        stated.root,
    )  # fmt: skip
    registered(engine, 2, 50)
    newer = opened(client.get("/api/log/checkpoint").text)
    consistent = client.get("/api/log/proof/consistency", params={"old": 7, "new": 9}).json()
    hashes = [log.unb64(h, "") for h in consistent["proof"]]
    merkle.verify_consistency(7, 9, hashes, stated.root, newer.root)
    too_far = client.get("/api/log/proof/inclusion", params={"index": 1, "size": 12})
    assert too_far.status_code == 404 and "the log has 9 entries" in too_far.json()["detail"]
    malformed = client.post("/api/witness/add-checkpoint", content=b"hello")
    assert malformed.status_code == 400 and "expected 'old <size>'" in malformed.text


def test_a_missing_or_broken_partners_file_is_named(store, tmp_path, monkeypatch):
    monkeypatch.setenv("TAMIS_LOG_PARTNERS", str(tmp_path / "nowhere.yaml"))
    with pytest.raises(log.LogError, match="TAMIS_LOG_PARTNERS: .*nowhere.yaml"):
        witness.add_checkpoint(store, "old 0\n\nes.customs.example/tamis-log\n")
    broken = tmp_path / "broken.yaml"
    broken.write_text("logs: [not-a-key]\n")
    monkeypatch.setenv("TAMIS_LOG_PARTNERS", str(broken))
    with pytest.raises(log.LogError, match="broken.yaml: .*key id"):
        witness.partners()
