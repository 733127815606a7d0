"""Verifiable credentials the administration issues (W3C Verifiable Credentials 2.0): an
exporter's certificate of origin, an operator's AEO status. Each is signed with Ed25519 as
a Data Integrity proof of the ``eddsa-jcs-2022`` cryptosuite (W3C vc-di-eddsa): the proof
options and the credential, each canonicalised as RFC 8785 says and hashed with SHA-256,
are signed together (proof options' hash first); the signature is the proof's
``proofValue``, multibase base58-btc (``z...``). The verification method is the key itself
as a ``did:key`` (Multikey form), so a partner administration verifies a credential offline
with our public key.

A credential is revoked through a Bitstring Status List (W3C): its ``credentialStatus``
names a list and an index in it; the list, itself a signed credential, has that bit set
once the credential is revoked. Indexes are drawn at random, so a list says nothing about
the order credentials were issued in.

Our key is ``credentials.key`` in ``TAMIS_KEYS_DIR`` (made on first use, never shipped); our
status lists are named under the host the documents log is named after (``TAMIS_LOG_ORIGIN``).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import secrets
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from tamis import audit
from tamis.documents import log
from tamis.documents.tables import credential_status_lists, credentials
from tamis.settings import settings

CONTEXT = "https://www.w3.org/ns/credentials/v2"
PROOF = {"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022"}
# kind -> the credential's type, and the type and field naming its subject
KINDS = {
    "certificate_of_origin": (
        "CertificateOfOriginCredential",
        "CertificateOfOrigin",
        "consignment",
    ),
    "aeo": ("AEOStatusCredential", "AuthorisedEconomicOperator", "customsId"),
}
LIST_BITS = 131_072  # a status list's size: the W3C minimum (16 KiB), herd privacy
MAX_LIST_BYTES = 16 * 1024 * 1024  # a list larger than this once inflated is refused
ED25519_PUBLIC = b"\xed\x01"  # multicodec prefixes of Multikey values
ED25519_PRIVATE = b"\x80\x26"
ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


class CredentialError(ValueError):
    pass


class CredentialNotFound(LookupError):
    pass


# --- multibase, Multikey, did:key


def base58btc(data: bytes) -> str:
    """Multibase base58-btc: ``z`` and the bytes in Bitcoin's alphabet."""
    number, text = int.from_bytes(data, "big"), ""
    while number:
        number, digit = divmod(number, 58)
        text = ALPHABET[digit] + text
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "z" + "1" * zeros + text


def from_base58btc(value: str) -> bytes:
    if not value.startswith("z") or any(c not in ALPHABET for c in value[1:]):
        raise CredentialError(f"{value[:16]!r}: not a multibase base58-btc value (z...)")
    digits = value[1:]
    number = 0
    for c in digits:
        number = number * 58 + ALPHABET.index(c)
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\0" * (len(digits) - len(digits.lstrip("1"))) + body


def multikey(public_key: Ed25519PublicKey) -> str:
    """The public key as a Multikey ``publicKeyMultibase`` (``z6Mk...``)."""
    return base58btc(ED25519_PUBLIC + public_key.public_bytes(Encoding.Raw, PublicFormat.Raw))


def public_key_of(value: str) -> Ed25519PublicKey:
    """An Ed25519 public key from its Multikey form."""
    raw = from_base58btc(value)
    if not raw.startswith(ED25519_PUBLIC) or len(raw) != 34:
        raise CredentialError(f"{value[:16]!r}: not an Ed25519 Multikey")
    return Ed25519PublicKey.from_public_bytes(raw[2:])


def private_key_of(value: str) -> Ed25519PrivateKey:
    """An Ed25519 private key from its Multikey ``secretKeyMultibase`` form."""
    raw = from_base58btc(value)
    if not raw.startswith(ED25519_PRIVATE) or len(raw) != 34:
        raise CredentialError("not an Ed25519 secret Multikey")
    return Ed25519PrivateKey.from_private_bytes(raw[2:])


def did_key(public_key: Ed25519PublicKey) -> str:
    return f"did:key:{multikey(public_key)}"


def verification_method(public_key: Ed25519PublicKey) -> str:
    key = multikey(public_key)
    return f"did:key:{key}#{key}"


# --- the eddsa-jcs-2022 cryptosuite


def hash_data(document: dict, proof_config: dict) -> bytes:
    """SHA-256 of the canonical proof configuration, then of the canonical document."""
    config_hash = hashlib.sha256(rfc8785.dumps(proof_config)).digest()
    return config_hash + hashlib.sha256(rfc8785.dumps(document)).digest()


def add_proof(
    document: dict, key: Ed25519PrivateKey, method: str | None = None, created: str | None = None
) -> dict:
    """The document with its Data Integrity proof (``eddsa-jcs-2022``, assertion)."""
    config = PROOF | {
        "created": created or _stamp(audit.now()),
        "verificationMethod": method or verification_method(key.public_key()),
        "proofPurpose": "assertionMethod",
    }
    if "@context" in document:
        config["@context"] = document["@context"]
    proof_value = base58btc(key.sign(hash_data(document, config)))
    return document | {"proof": config | {"proofValue": proof_value}}


def proof_problem(secured: dict, public_key: Ed25519PublicKey) -> tuple[str, str] | None:
    """Why the document's proof does not hold with ``public_key`` (a reason code and the
    words), or None when it holds."""
    proof = secured.get("proof")
    if proof is None:
        return "unsigned", "no proof: the credential is not signed"
    if not isinstance(proof, dict):
        return "unsupported", "proof: one proof object expected (no proof sets or chains)"
    if any(proof.get(k) != v for k, v in PROOF.items()):
        found = f"{proof.get('type')}/{proof.get('cryptosuite')}"
        return "unsupported", f"proof.cryptosuite {found}: only eddsa-jcs-2022 is verified"
    if proof.get("proofPurpose") != "assertionMethod":
        return "unsupported", f"proof.proofPurpose {proof.get('proofPurpose')!r}: not an assertion"
    method = str(proof.get("verificationMethod") or "")
    if method.startswith("did:key:"):
        try:
            named = public_key_of(method.removeprefix("did:key:").partition("#")[0])
        except (CredentialError, ValueError):
            return "unsupported", f"proof.verificationMethod {method[:40]!r}: not an Ed25519 key"
        if multikey(named) != multikey(public_key):
            return "other_key", f"proof.verificationMethod: signed by another key ({method[:40]}…)"
    elif not method.startswith("https://"):
        return "unsupported", "proof.verificationMethod: neither a did:key nor an https URL"
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    document = {k: v for k, v in secured.items() if k != "proof"}
    if "@context" in options:
        context, given = document.get("@context"), options["@context"]
        if not isinstance(context, list) or context[: len(given)] != given:
            return "altered", "proof.@context: the credential's @context does not start with it"
        document["@context"] = given
    try:
        signature = from_base58btc(str(proof.get("proofValue") or ""))
        datetime.fromisoformat(str(options.get("created", "1970-01-01T00:00:00Z")))
        public_key.verify(signature, hash_data(document, options))
    except (CredentialError, InvalidSignature, ValueError, TypeError):
        return "altered", "proof.proofValue: the signature does not match the credential"
    return None


# --- Bitstring Status List


def encode_list(bits: bytes) -> str:
    """``encodedList``: multibase base64url (no padding) of the GZIP-compressed bitstring."""
    packed = gzip.compress(bits, mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).decode().rstrip("=")


def decode_list(encoded: str) -> bytes:
    if not encoded.startswith("u"):
        raise CredentialError("credentialSubject.encodedList: not multibase base64url (u...)")
    packed = base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4))
    with gzip.GzipFile(fileobj=io.BytesIO(packed)) as inflated:
        bits = inflated.read(MAX_LIST_BYTES + 1)
    if len(bits) > MAX_LIST_BYTES:
        raise CredentialError("credentialSubject.encodedList: larger than 16 MiB inflated")
    return bits


def bit(bits: bytes, index: int) -> bool:
    """The status at ``index``: bit 0 is the first byte's most significant bit."""
    return bool(bits[index // 8] >> (7 - index % 8) & 1)


def with_bit(bits: bytes, index: int) -> bytes:
    changed = bytearray(bits)
    changed[index // 8] |= 1 << (7 - index % 8)
    return bytes(changed)


# --- our issuer: its key and where its status lists are


def issuer_name() -> str:
    return f"{settings().country.lower()}.customs.example/credentials"


def issuer_key() -> Ed25519PrivateKey:
    """The key our credentials are signed with: ``credentials.key`` in ``TAMIS_KEYS_DIR``,
    made on first use (like the log's key, never shipped)."""
    path, make = log.key_file(None, "credentials.key")
    signer = log.load_signer(path, issuer_name(), make)
    return Ed25519PrivateKey.from_private_bytes(signer.private_bytes())


def base_url() -> str:
    """Where our status lists are served: the host the log is named after."""
    return "https://" + log.origin().split("/")[0]


def issuer_description() -> dict:
    public_key = issuer_key().public_key()
    return {
        "id": did_key(public_key),
        "name": issuer_name(),
        "verificationMethod": verification_method(public_key),
        "publicKeyMultibase": multikey(public_key),
        "statusLists": list_url(base_url(), "").rstrip("/"),
    }


# --- issuing, revoking and the status list, with the store


def _stamp(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat() + "Z"


def list_url(base_url: str, list_id: str) -> str:
    return f"{base_url.rstrip('/')}/api/credentials/status/{list_id}"


def issue(
    engine: Engine,
    kind: str,
    subject: str,
    claims: dict,
    key: Ed25519PrivateKey,
    actor: str,
    valid_until: datetime | None = None,
) -> dict:
    """Issue and keep a credential of ``kind`` about ``subject`` (a consignment or an
    operator's customs id) stating ``claims``, revocable through our status list."""
    if kind not in KINDS:
        raise CredentialError(f"credential kind {kind!r}: one of {', '.join(KINDS)}")
    if not subject.strip():
        raise CredentialError("credential subject: empty")
    valid_until = audit.naive_utc(valid_until)
    if valid_until is not None and valid_until <= audit.now():
        raise CredentialError(f"valid_until {valid_until:%Y-%m-%d %H:%M}: already past")
    kept = set(claims) & {"id", "type", KINDS[kind][2]}
    if kept:
        raise CredentialError(f"credential claims {sorted(kept)}: set by the issuer")
    credential_type, subject_type, subject_field = KINDS[kind]
    credential_id, now = f"urn:uuid:{uuid.uuid4()}", audit.now()
    issuer = did_key(key.public_key())
    body = {
        "@context": [CONTEXT],
        "id": credential_id,
        "type": ["VerifiableCredential", credential_type],
        "issuer": issuer,
        "validFrom": _stamp(now),
        **({"validUntil": _stamp(valid_until)} if valid_until else {}),
        "credentialSubject": {"type": subject_type, subject_field: subject} | claims,
    }
    for _ in range(20):  # a random index: drawn again the rare time it is taken
        with engine.begin() as conn:
            list_id = _open_list(conn)
            index = secrets.randbelow(LIST_BITS)
            url = list_url(base_url(), list_id)
            body["credentialStatus"] = {
                "id": f"{url}#{index}",
                "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation",
                "statusListIndex": str(index),
                "statusListCredential": url,
            }
            signed = add_proof(body, key)
            values = dict(
                credential_id=credential_id, kind=kind, subject=subject,
                json=json.dumps(signed, ensure_ascii=False), status_list=list_id,
                status_index=index, revoked=0, issued_by=actor, issued_at=now,
            )  # fmt: skip
            try:
                with conn.begin_nested():
                    conn.execute(credentials.insert().values(**values))
            except IntegrityError:
                continue
            audit.record(conn, actor, "credential.issue", "credential", credential_id, None,
                         {"kind": kind, "subject": subject, "status_index": index})  # fmt: skip
            return signed
    raise CredentialError(f"status list {list_id}: no free index found")


def _open_list(conn) -> str:
    """The status list new credentials go in: the latest, or a new one once it is half full
    (random indexes then rarely collide)."""
    c, lists = credentials.c, credential_status_lists
    latest = conn.execute(
        select(lists.c.list_id).order_by(lists.c.created_at.desc(), lists.c.list_id.desc())
    ).first()
    if latest is not None:
        used = conn.execute(
            select(func.count()).select_from(credentials).where(c.status_list == latest.list_id)
        ).scalar_one()
        if used < LIST_BITS // 2:
            return latest.list_id
    list_id = str(conn.execute(select(func.count()).select_from(lists)).scalar_one() + 1)
    try:
        with conn.begin_nested():
            conn.execute(
                lists.insert().values(
                    list_id=list_id, purpose="revocation", bits=bytes(LIST_BITS // 8),
                    created_at=audit.now(), updated_at=audit.now(),
                )
            )  # fmt: skip
    except IntegrityError:
        pass  # opened at the same time by another issue: the same list
    return list_id


def get(engine: Engine, credential_id: str) -> dict:
    with engine.connect() as conn:
        row = conn.execute(select(credentials).where(credentials.c.credential_id == credential_id))
        found = row.first()
    if found is None:
        raise CredentialNotFound(f"credential {credential_id}: no such credential")
    return dict(found._mapping)


def of_subjects(engine: Engine, subjects: list[str]) -> list[dict]:
    """The credentials issued about any of ``subjects``, newest first."""
    c = credentials.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(credentials).where(c.subject.in_(subjects)).order_by(c.issued_at.desc())
        ).all()
    return [dict(r._mapping) for r in rows]


def revoke(engine: Engine, credential_id: str, actor: str, reason: str | None = None) -> dict:
    """Set the credential's bit in its status list: every later check says revoked."""
    c, lists = credentials.c, credential_status_lists
    with engine.begin() as conn:
        row = conn.execute(
            select(credentials).where(c.credential_id == credential_id).with_for_update()
        ).first()
        if row is None:
            raise CredentialNotFound(f"credential {credential_id}: no such credential")
        if row.revoked:
            raise CredentialError(f"credential {credential_id}: already revoked")
        listed = conn.execute(
            select(lists.c.bits).where(lists.c.list_id == row.status_list).with_for_update()
        ).scalar_one()
        conn.execute(
            lists.update()
            .where(lists.c.list_id == row.status_list)
            .values(bits=with_bit(listed, row.status_index), updated_at=audit.now())
        )
        conn.execute(credentials.update().where(c.credential_id == credential_id).values(revoked=1))
        audit.record(conn, actor, "credential.revoke", "credential", credential_id,
                     {"revoked": False}, {"revoked": True, "reason": reason})  # fmt: skip
    return get(engine, credential_id)


def status_list(engine: Engine, list_id: str, key: Ed25519PrivateKey | None = None) -> dict:
    """The status list as a signed ``BitstringStatusListCredential``, as of now (signed
    with ``key``, by default ours)."""
    lists = credential_status_lists
    with engine.connect() as conn:
        row = conn.execute(select(lists).where(lists.c.list_id == list_id)).first()
    if row is None:
        raise CredentialNotFound(f"status list {list_id}: no such list")
    key = key or issuer_key()
    url = list_url(base_url(), list_id)
    body = {
        "@context": [CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": did_key(key.public_key()),
        "validFrom": _stamp(row.updated_at),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": row.purpose,
            "encodedList": encode_list(row.bits),
        },
    }
    return add_proof(body, key)


# --- verifying, offline


@dataclass
class Verdict:
    """What a check of a credential found: ``valid``, and ``reason`` (``verified``,
    ``unreadable``, ``unsigned``, ``unsupported``, ``other_key``, ``altered``,
    ``not_yet_valid``, ``expired``, ``revoked``) with its words in ``detail``."""

    valid: bool
    reason: str
    detail: str
    credential_id: str | None = None
    kind: str | None = None
    subject: str | None = None
    status_checked: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def _when(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _kind_of(credential: dict) -> tuple[str | None, str | None]:
    types = credential.get("type") or []
    subject = credential.get("credentialSubject") or {}
    for kind, (credential_type, _, field) in KINDS.items():
        if credential_type in types and isinstance(subject, dict):
            return kind, subject.get(field)
    return None, None


def verify(
    credential: str | bytes | dict,
    public_key: Ed25519PublicKey,
    status_list: str | bytes | dict | None = None,
    now: datetime | None = None,
) -> Verdict:
    """Check a credential with the issuer's public key, needing nothing else: its proof,
    its validity period and, given its status list credential, whether it was revoked
    (the list's own proof checked with the same key)."""
    try:
        found = json.loads(credential) if isinstance(credential, str | bytes) else credential
    except ValueError as error:
        return Verdict(False, "unreadable", f"credential: not JSON ({error})")
    if not isinstance(found, dict):
        return Verdict(False, "unreadable", "credential: not a JSON object")
    credential_id = str(found.get("id") or "(no id)")
    kind, subject = _kind_of(found)
    said = dict(credential_id=credential_id, kind=kind, subject=subject)
    problem = proof_problem(found, public_key)
    if problem:
        return Verdict(False, problem[0], f"credential {credential_id}: {problem[1]}", **said)
    now = now or audit.now()
    try:
        valid_from, valid_until = _when(found.get("validFrom")), _when(found.get("validUntil"))
    except ValueError:
        return Verdict(False, "unreadable", f"credential {credential_id}: validFrom or "
                       "validUntil is not a date and time", **said)  # fmt: skip
    if valid_from and now < valid_from:
        return Verdict(False, "not_yet_valid", f"credential {credential_id}: validFrom "
                       f"{found['validFrom']} is later than now", **said)  # fmt: skip
    if valid_until and now > valid_until:
        return Verdict(False, "expired", f"credential {credential_id}: validUntil "
                       f"{found['validUntil']} has passed", **said)  # fmt: skip
    entry = found.get("credentialStatus")
    if not entry or status_list is None:
        unchecked = " (its revocation status was not checked)" if entry else ""
        return Verdict(True, "verified", f"credential {credential_id}: verified{unchecked}",
                       **said)  # fmt: skip
    revoked = _revoked(entry, status_list, public_key)
    if isinstance(revoked, Verdict):
        return Verdict(False, revoked.reason, f"credential {credential_id}: {revoked.detail}",
                       **said)  # fmt: skip
    if revoked:
        index = entry.get("statusListIndex")
        return Verdict(False, "revoked", f"credential {credential_id}: revoked (status list "
                       f"index {index})", status_checked=True, **said)  # fmt: skip
    return Verdict(True, "verified", f"credential {credential_id}: verified, not revoked",
                   status_checked=True, **said)  # fmt: skip


def _revoked(entry, status_list, public_key: Ed25519PublicKey) -> bool | Verdict:
    """Whether the status list has the entry's bit set; a Verdict saying why it cannot
    tell (the list is not the one named, or not signed with the key)."""
    try:
        listed = json.loads(status_list) if isinstance(status_list, str | bytes) else status_list
    except ValueError:
        return Verdict(False, "unreadable", "its status list is not JSON")
    if not isinstance(entry, dict) or not isinstance(listed, dict):
        return Verdict(False, "unreadable", "credentialStatus or its list: not a JSON object")
    if listed.get("id") != entry.get("statusListCredential"):
        return Verdict(
            False,
            "unsupported",
            f"credentialStatus.statusListCredential "
            f"{entry.get('statusListCredential')}: the list given is {listed.get('id')}",
        )
    problem = proof_problem(listed, public_key)
    if problem:
        return Verdict(False, problem[0], f"its status list: {problem[1]}")
    try:
        index = int(entry.get("statusListIndex"))
        bits = decode_list(listed["credentialSubject"]["encodedList"])
        if index < 0:
            raise IndexError(index)
        return bit(bits, index)
    except (KeyError, TypeError, ValueError, IndexError, OSError, EOFError) as error:
        return Verdict(
            False,
            "unreadable",
            f"credentialStatus.statusListIndex: not in the list ({error.__class__.__name__})",
        )


def verify_here(
    engine: Engine,
    credential: dict,
    public_key: Ed25519PublicKey | None = None,
    status_list_given: dict | None = None,
) -> Verdict:
    """``verify`` on the server: with our key unless another is given, and with our status
    list when the credential names one of ours and no list is given."""
    ours = issuer_key()
    status = status_list_given
    entry = credential.get("credentialStatus")
    if status is None and public_key is None and isinstance(entry, dict):
        url, prefix = str(entry.get("statusListCredential") or ""), list_url(base_url(), "")
        if url.startswith(prefix):
            try:
                status = status_list(engine, url.removeprefix(prefix), ours)
            except CredentialNotFound:
                status = None
    return verify(credential, public_key or ours.public_key(), status)
