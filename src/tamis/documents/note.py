"""Signed notes, checkpoints and cosignatures, with Ed25519, as C2SP specifies them.

- c2sp.org/signed-note: a text ending in a newline, a blank line, then signature lines
  ``— <key name> base64(key id || signature)``; keys are given as verifier keys (vkeys)
  ``<name>+<hex key id>+base64(signature type || public key)``, the format of
  golang.org/x/mod/sumdb/note. Signature type 0x01: Ed25519 over the text.
- c2sp.org/tlog-checkpoint: the text of a log's signed tree head, ``<origin>\\n<size>\\n<base64
  root>\\n`` then optional extension lines.
- c2sp.org/tlog-cosignature (cosignature/v1): a witness's Ed25519 signature, of signature type
  0x04, over ``cosignature/v1\\ntime <seconds>\\n`` + the checkpoint text; the signature line
  carries the 8-byte big-endian timestamp before the signature.

One Ed25519 key serves one purpose: a log signs checkpoints with its Signer (``sign_note``),
a witness cosigns with its own (``cosign``).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass
from hashlib import sha256

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

ED25519 = 0x01  # signature type of Ed25519 note signatures
COSIGNATURE_V1 = 0x04  # signature type of timestamped Ed25519 checkpoint cosignatures
MAX_SIGNATURES = 100  # the spec asks verifiers to accept at least 16
MAX_TIMESTAMP = 2**63 - 1


class NoteError(ValueError):
    """A note, key, checkpoint or signature that is malformed or does not verify."""


def key_id(name: str, signature_type: int, public_key: bytes) -> bytes:
    """SHA-256(key name || 0x0A || signature type || public key)[:4]."""
    return sha256(name.encode() + b"\n" + bytes([signature_type]) + public_key).digest()[:4]


def _check_name(name: str) -> None:
    if not name or "+" in name or any(c.isspace() for c in name) or _has_control(name):
        raise NoteError(f"a key name is not empty, without spaces or '+': {name!r}")


def _has_control(text: str) -> bool:
    return any(c < " " and c != "\n" for c in text)


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise NoteError(f"{what} is not base64: {text!r}") from error


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _vkey(name: str, signature_type: int, public_key: bytes) -> str:
    key = bytes([signature_type]) + public_key
    return f"{name}+{key_id(name, signature_type, public_key).hex()}+{_b64(key)}"


def _signature_line(name: str, key: bytes, signature: bytes) -> str:
    return f"— {name} {_b64(key + signature)}\n"


class Signer:
    """A named Ed25519 private key."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        _check_name(name)
        self.name = name
        self._private_key = private_key
        self.public_key = private_key.public_key().public_bytes_raw()
        self.key_id = key_id(name, ED25519, self.public_key)

    @classmethod
    def generate(cls, name: str) -> Signer:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, name: str, seed: bytes) -> Signer:
        """From the 32-byte Ed25519 private key (the RFC 8032 seed)."""
        if len(seed) != 32:
            raise NoteError(f"an Ed25519 private key has 32 bytes, not {len(seed)}")
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_private_key_text(cls, text: str) -> Signer:
        """From ``PRIVATE+KEY+<name>+<hex key id>+base64(0x01 || seed)``."""
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("a private key text starts with PRIVATE+KEY+<name>+<key id>+")
        name, hex_id, key = parts[2], parts[3], _b64decode(parts[4], "a private key")
        if key[:1] != bytes([ED25519]):
            raise NoteError("the private key is not an Ed25519 key (signature type 0x01)")
        signer = cls.from_private_bytes(name, key[1:])
        if signer.key_id.hex() != hex_id:
            raise NoteError(f"the private key of {name} does not have the key id {hex_id}")
        return signer

    def private_bytes(self) -> bytes:
        return self._private_key.private_bytes_raw()

    def private_key_text(self) -> str:
        """``PRIVATE+KEY+<name>+<hex key id>+base64(0x01 || seed)``: secret, like the key."""
        key = bytes([ED25519]) + self.private_bytes()
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{_b64(key)}"

    def public_key_text(self) -> str:
        """The vkey that verifies this signer's notes (signature type 0x01)."""
        return _vkey(self.name, ED25519, self.public_key)

    def cosignature_key_text(self) -> str:
        """The vkey that verifies this signer's cosignatures (signature type 0x04)."""
        return _vkey(self.name, COSIGNATURE_V1, self.public_key)

    def sign(self, message: bytes) -> bytes:
        return self._private_key.sign(message)


class Verifier:
    """The public key that verifies a signer's notes, from its vkey (signature type 0x01)."""

    signature_type = ED25519

    def __init__(self, vkey: str) -> None:
        name, hex_id, key64 = (vkey.strip().split("+", 2) + ["", ""])[:3]
        _check_name(name)
        key = _b64decode(key64, "the key of a vkey")
        if not re.fullmatch(r"[0-9a-f]{8}", hex_id):
            raise NoteError(f"a vkey's key id is 8 lowercase hex digits, not {hex_id!r}")
        signature_type, public_key = key[:1], key[1:]
        if signature_type not in self._accepted_types() or len(public_key) != 32:
            raise NoteError(f"{vkey!r} is not a vkey of {type(self).__name__}")
        if key_id(name, signature_type[0], public_key).hex() != hex_id:
            raise NoteError(f"the vkey of {name} does not have the key id {hex_id}")
        self.name = name
        self.public_key = public_key
        self.key_id = key_id(name, self.signature_type, public_key)
        self._public_key = Ed25519PublicKey.from_public_bytes(public_key)

    def _accepted_types(self) -> set[bytes]:
        return {bytes([ED25519])}

    def verify(self, text: bytes, signature: bytes) -> bool:
        """Whether ``signature`` (without its key id) signs the note text ``text``."""
        return self._ed25519(text, signature)

    def _ed25519(self, message: bytes, signature: bytes) -> bool:
        try:
            self._public_key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


class CosignatureVerifier(Verifier):
    """A witness's public key that verifies its cosignature/v1 lines.

    From its 0x04 vkey (``Signer.cosignature_key_text``) or, as transparency-dev does, from the
    0x01 vkey of the same key; signature lines are matched by the 0x04 key id either way.
    """

    signature_type = COSIGNATURE_V1

    def _accepted_types(self) -> set[bytes]:
        return {bytes([COSIGNATURE_V1]), bytes([ED25519])}

    def verify(self, text: bytes, signature: bytes) -> bool:
        if len(signature) != 8 + 64:
            return False
        timestamp = int.from_bytes(signature[:8], "big")
        if timestamp > MAX_TIMESTAMP:
            return False
        return self._ed25519(cosignature_message(text, timestamp), signature[8:])


def verifier(vkey: str) -> Verifier:
    """The Verifier or CosignatureVerifier a vkey calls for, by its signature type."""
    key64 = vkey.strip().split("+", 2)[-1]
    if _b64decode(key64, "the key of a vkey")[:1] == bytes([COSIGNATURE_V1]):
        return CosignatureVerifier(vkey)
    return Verifier(vkey)


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("a note text ends with a newline")
    if _has_control(text):
        raise NoteError("a note has no control characters but newlines")


def sign_note(text: str, signers: Iterable[Signer]) -> str:
    """``text`` signed by each of ``signers``: text, blank line, one signature line each."""
    _check_text(text)
    lines = [_signature_line(s.name, s.key_id, s.sign(text.encode())) for s in signers]
    if not lines:
        raise NoteError("a signed note has at least one signature")
    return text + "\n" + "".join(lines)


def open_note(note: str | bytes, verifiers: Iterable[Verifier]) -> tuple[str, list[str]]:
    """The text of a signed note and the names of the known keys whose signatures verify.

    Signatures by unknown keys (name and key id) are ignored; a signature by a known key that
    does not verify, or a note without any verified signature, raises NoteError. Which names
    are required (the log's, a quorum of witnesses) is the caller's decision.
    """
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError as error:
            raise NoteError("a note is UTF-8") from error
    if _has_control(note):
        raise NoteError("a note has no control characters but newlines")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("a signed note has a blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block.endswith("\n"):
        raise NoteError("a signed note ends with signature lines, each ending with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"a note has at most {MAX_SIGNATURES} signatures")
    known: dict[tuple[str, bytes], Verifier] = {}
    for v in verifiers:
        if known.setdefault((v.name, v.key_id), v).public_key != v.public_key:
            raise NoteError(f"two keys of {v.name} share the key id {v.key_id.hex()}")
    seen: set[tuple[str, bytes]] = set()
    names: list[str] = []
    for line in lines:
        name, signature = _parse_signature_line(line)
        key = (name, signature[:4])
        v = known.get(key)
        if v is None or key in seen:
            continue
        seen.add(key)
        if not v.verify(text.encode(), signature[4:]):
            raise NoteError(f"the signature of {name} ({key[1].hex()}) does not verify")
        if name not in names:
            names.append(name)
    if not names:
        raise NoteError("no signature on the note is by a known key")
    return text, names


def _parse_signature_line(line: str) -> tuple[str, bytes]:
    if not line.startswith("— "):
        raise NoteError(f"a signature line starts with an em dash and a space: {line!r}")
    name, _, signature64 = line[2:].partition(" ")
    _check_name(name)
    signature = _b64decode(signature64, f"the signature of {name}")
    if len(signature) < 5:
        raise NoteError(f"the signature of {name} is too short")
    return name, signature


# --- checkpoints (c2sp.org/tlog-checkpoint) ---


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()  # opaque extension lines, NOT RECOMMENDED by the spec

    def __post_init__(self) -> None:
        for line in (self.origin, *self.extensions):
            if not line or "\n" in line or _has_control(line):
                raise NoteError(f"a checkpoint line is not empty, on one line: {line!r}")
        if not 0 <= self.size < 2**64:
            raise NoteError(f"a tree size is a 64-bit unsigned number, not {self.size}")
        if len(self.root) != 32:
            raise NoteError(f"a root hash has 32 bytes, not {len(self.root)}")

    def text(self) -> str:
        lines = (self.origin, str(self.size), _b64(self.root), *self.extensions)
        return "".join(line + "\n" for line in lines)


def parse_checkpoint(text: str) -> Checkpoint:
    """The checkpoint a note text states, read strictly (raising NoteError)."""
    _check_text(text)
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise NoteError("a checkpoint has an origin, a size and a root hash, one a line")
    origin, size, root64, *extensions = lines
    if not re.fullmatch(r"0|[1-9][0-9]*", size):
        raise NoteError(f"a tree size is a decimal without leading zeros, not {size!r}")
    root = _b64decode(root64, "the root hash")
    if _b64(root) != root64:
        raise NoteError(f"the root hash is not in canonical base64: {root64!r}")
    return Checkpoint(origin, int(size), root, tuple(extensions))


def open_checkpoint(
    note: str | bytes, verifiers: Iterable[Verifier]
) -> tuple[Checkpoint, list[str]]:
    """``open_note`` then ``parse_checkpoint``: the checkpoint and who verifiably signed it."""
    text, names = open_note(note, verifiers)
    return parse_checkpoint(text), names


# --- cosignatures (c2sp.org/tlog-cosignature, cosignature/v1 with Ed25519) ---


def cosignature_message(checkpoint_text: str | bytes, timestamp: int) -> bytes:
    """What a cosignature/v1 signs: the header line, the time line, the checkpoint text."""
    if isinstance(checkpoint_text, str):
        checkpoint_text = checkpoint_text.encode()
    return b"cosignature/v1\ntime %d\n" % timestamp + checkpoint_text


def cosign(checkpoint_text: str, signer: Signer, timestamp: int) -> str:
    """The witness's cosignature/v1 line (newline included, to append to the signed
    checkpoint) stating that at ``timestamp`` (POSIX seconds) this checkpoint is the largest
    consistent one it has seen for its origin."""
    parse_checkpoint(checkpoint_text)
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise NoteError(f"a cosignature's timestamp is in [0, 2**63), not {timestamp}")
    signature = signer.sign(cosignature_message(checkpoint_text, timestamp))
    key = key_id(signer.name, COSIGNATURE_V1, signer.public_key)
    return _signature_line(signer.name, key, timestamp.to_bytes(8, "big") + signature)


def cosignature_time(signature_line: str) -> int:
    """The timestamp a cosignature/v1 line carries; trust it once ``open_note`` verified it."""
    name, signature = _parse_signature_line(signature_line.rstrip("\n"))
    if len(signature) != 4 + 8 + 64:
        raise NoteError(f"the line of {name} is not an Ed25519 cosignature")
    return int.from_bytes(signature[4:12], "big")
