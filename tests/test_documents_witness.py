"""Two Tamis instances on loopback, Morocco and Spain, witness each other's documents log
(C2SP tlog-witness): each cosigns the other's checkpoints, answers a stale old size with
the size it saw (409) and refuses a consistency proof that does not hold (422); a bundle
from Morocco then verifies offline with Spain's cosignature."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess

import httpx
import yaml

from tamis import users
from tamis.documents import log
from tamis.store import open_store
from tests.servers import TAMIS, serving

PASSWORD = "correct horse battery"


def instance(tmp_path, name: str, country: str, partner: str) -> dict[str, str]:
    """A store with our account for the partner, keys of its own: its environment."""
    url = f"sqlite:///{tmp_path / f'{name}.db'}"
    engine = open_store(url)
    users.add_user(engine, "partner", "partner", PASSWORD, actor="test", partner=partner)
    engine.dispose()
    return os.environ | {
        "TAMIS_DATABASE_URL": url,
        "TAMIS_COUNTRY": country,
        "TAMIS_KEYS_DIR": str(tmp_path / f"{name}-keys"),
        "TAMIS_LOG_PARTNERS": str(tmp_path / f"{name}-partners.yaml"),
        "TAMIS_PARTNER_PASSWORD": PASSWORD,
    }


def tamis(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([TAMIS, *args], env=env, capture_output=True, text=True)


def keys(env: dict[str, str]) -> dict[str, str]:
    done = tamis(env, "documents", "keys", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def register(env: dict[str, str], count: int, start: int = 0) -> None:
    engine = open_store(env["TAMIS_DATABASE_URL"])
    for n in range(start, start + count):
        with engine.begin() as conn:
            log.register(conn, hashlib.sha256(b"doc %d" % n).digest(), "invoice", f"I-{n}")
    engine.dispose()


def send(env: dict[str, str], url: str) -> subprocess.CompletedProcess:
    return tamis(env, "documents", "witness-send", url, "--username", "partner", "--json")


def token(base: str) -> dict[str, str]:
    answer = httpx.post(
        f"{base}/api/auth/login", json={"username": "partner", "password": PASSWORD}
    )
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def test_two_administrations_witness_each_others_log(tmp_path):
    morocco = instance(tmp_path, "morocco", "MA", partner="ES")
    spain = instance(tmp_path, "spain", "ES", partner="MA")
    ma_keys, es_keys = keys(morocco), keys(spain)
    for env, theirs in ((morocco, es_keys), (spain, ma_keys)):
        config = {"logs": [theirs["log"]], "witnesses": [theirs["witness"]]}
        with open(env["TAMIS_LOG_PARTNERS"], "w", encoding="utf-8") as handle:
            yaml.safe_dump(config, handle)
    register(morocco, 5)
    register(spain, 3)
    with serving(morocco) as ma, serving(spain) as es:
        first = send(morocco, es)
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout) == {
            "url": f"{es}/api/witness", "size": 5, "witnesses": ["es.customs.example/witness"],
        }  # fmt: skip
        register(morocco, 4, 5)
        again = send(morocco, es)  # from the size Spain cosigned last
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["size"] == 9
        back = send(spain, ma)
        assert back.returncode == 0, back.stderr
        assert json.loads(back.stdout)["witnesses"] == ["ma.customs.example/witness"]

        signed = httpx.get(f"{ma}/api/log/checkpoint", headers=token(ma)).text
        assert signed.startswith("ma.customs.example/tamis-log\n9\n")
        assert "\n— es.customs.example/witness " in signed  # cosigned, served with it
        stale = httpx.post(
            f"{es}/api/witness/add-checkpoint", content=f"old 5\n\n{signed}", headers=token(es)
        )
        assert stale.status_code == 409, stale.text
        assert stale.headers["content-type"].startswith("text/x.tlog.size")
        assert stale.text == "9\n"

        register(morocco, 2, 9)
        newer = httpx.get(f"{ma}/api/log/checkpoint", headers=token(ma)).text
        wrong = log.b64(bytes(32))
        bad = httpx.post(
            f"{es}/api/witness/add-checkpoint",
            content=f"old 9\n{wrong}\n{wrong}\n\n{newer}",
            headers=token(es),
        )
        assert bad.status_code == 422, bad.text
        assert "from size 9 to 11" in bad.text

        bundle = tmp_path / "bundle.json"
        proved = tamis(morocco, "documents", "proof", "7", "--entry", "--out", str(bundle))
        assert proved.returncode == 0, proved.stderr
    assert json.loads(bundle.read_text())["cosignatures"][0].startswith("— es.customs.example/")
    offline = os.environ | {"TAMIS_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/nothing"}
    verified = tamis(
        offline, "documents", "verify", str(bundle),
        "--log-key", ma_keys["log"], "--witness-key", es_keys["witness"],
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    witnessed = json.loads(tamis(spain, "documents", "witnessed", "--json").stdout)
    assert [(w["origin"], w["size"]) for w in witnessed["logs"]] == [
        ("ma.customs.example/tamis-log", 9)
    ]
    assert [e["kind"] for e in witnessed["evidence"]] == ["inconsistent"]
