"""Signed notes, checkpoints and cosignatures: the examples of golang.org/x/mod/sumdb/note and
c2sp.org/signed-note verified byte for byte, round trips, and what must be refused."""

from __future__ import annotations

import base64
from hashlib import sha256

import pytest

from tamis.documents.note import (
    COSIGNATURE_V1,
    ED25519,
    Checkpoint,
    CosignatureVerifier,
    NoteError,
    Signer,
    Verifier,
    cosign,
    cosignature_message,
    cosignature_time,
    key_id,
    open_checkpoint,
    open_note,
    parse_checkpoint,
    sign_note,
    verifier,
)

# The example of golang.org/x/mod/sumdb/note (note.go and example_test.go).
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_NOTE = (
    PETER_TEXT + "\n"
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZ"
    "SNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_LINE = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01o"
    "OTGwnWLox33WWd1RvMc+QQ=\n"
)

# The example of c2sp.org/signed-note.
FOO_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
FOO_NOTE = (
    "This is an example message.\n\n"
    "— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjO"
    "BH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)

LOG = Signer.generate("tamis.example/documents")
WITNESS = Signer.generate("douane.example/witness")
CHECKPOINT = Checkpoint("tamis.example/documents", 20852163, sha256(b"root").digest())


def test_the_go_example_key_has_its_vkey_and_key_id():
    peter = Signer.from_private_key_text(PETER_SKEY)
    assert peter.public_key_text() == PETER_VKEY
    assert peter.private_key_text() == PETER_SKEY
    assert (
        peter.key_id.hex() == "c74f20a3" == key_id("PeterNeumann", ED25519, peter.public_key).hex()
    )
    raw = base64.b64decode(PETER_VKEY.split("+", 2)[2])
    assert raw[0] == 0x01 and raw[1:] == peter.public_key
    assert sha256(b"PeterNeumann\n\x01" + peter.public_key).digest()[:4].hex() == "c74f20a3"


def test_signing_the_go_example_gives_its_signed_note_byte_for_byte():
    assert sign_note(PETER_TEXT, [Signer.from_private_key_text(PETER_SKEY)]) == PETER_NOTE


def test_the_go_and_c2sp_examples_open():
    assert open_note(PETER_NOTE, [Verifier(PETER_VKEY)]) == (PETER_TEXT, ["PeterNeumann"])
    assert open_note(FOO_NOTE.encode(), [Verifier(FOO_VKEY)]) == (
        "This is an example message.\n",
        ["example.com/foo"],
    )
    # EnochRoot's key is unknown here: its signature is ignored.
    assert open_note(PETER_NOTE + ENOCH_LINE, [Verifier(PETER_VKEY)])[1] == ["PeterNeumann"]


def test_sign_and_open_round_trip_with_several_signers():
    text = "line one\n\nline three after an empty line\n"
    note = sign_note(text, [LOG, WITNESS])
    assert note.startswith(text + "\n— tamis.example/documents ")
    verifiers = [Verifier(LOG.public_key_text()), Verifier(WITNESS.public_key_text())]
    assert open_note(note, verifiers) == (text, [LOG.name, WITNESS.name])
    assert open_note(note, verifiers[1:]) == (text, [WITNESS.name])


def test_private_key_round_trip():
    again = Signer.from_private_key_text(LOG.private_key_text())
    assert again.public_key_text() == LOG.public_key_text()
    assert Signer.from_private_bytes(LOG.name, LOG.private_bytes()).key_id == LOG.key_id


def test_a_signature_by_an_unknown_key_is_ignored():
    stranger = Signer.generate(LOG.name)  # same name, another key: another key id
    note = sign_note("text\n", [stranger, LOG])
    assert open_note(note, [Verifier(LOG.public_key_text())])[1] == [LOG.name]
    with pytest.raises(NoteError, match="no signature"):
        open_note(sign_note("text\n", [stranger]), [Verifier(LOG.public_key_text())])


def test_a_bad_signature_by_a_known_key_refuses_the_note():
    def signature(text: str, signer: Signer) -> str:
        return sign_note(text, [signer]).split("\n\n")[1]

    forged = sign_note("amount 100\n", [LOG]).replace("amount 100", "amount 900")
    with pytest.raises(NoteError, match="does not verify"):
        open_note(forged, [Verifier(LOG.public_key_text())])
    # even with another known key's good signature: a known key's bad signature is fatal
    both = forged + signature("amount 900\n", WITNESS)
    verifiers = [Verifier(LOG.public_key_text()), Verifier(WITNESS.public_key_text())]
    with pytest.raises(NoteError, match="does not verify"):
        open_note(both, verifiers)
    assert open_note(both, verifiers[1:])[1] == [WITNESS.name]


@pytest.mark.parametrize(
    "note",
    [
        PETER_TEXT + "— PeterNeumann x08go/ZJku\n",  # no blank line
        PETER_NOTE.rstrip("\n"),  # last signature line without its newline
        PETER_TEXT + "\n",  # no signature
        PETER_NOTE.replace("— ", "-- "),  # not an em dash
        PETER_NOTE.replace("— PeterNeumann ", "— PeterNeumann  "),  # two spaces
        PETER_NOTE.replace("x08go/", "x08go*"),  # not base64
        PETER_NOTE.replace("problem,", "problem,\t"),  # a control character
        PETER_TEXT + "\n— PeterNeumann x08g\n",  # a signature shorter than a key id
    ],
)
def test_malformed_notes_are_refused(note):
    with pytest.raises(NoteError):
        open_note(note, [Verifier(PETER_VKEY)])


def test_sign_note_wants_a_text_ending_in_a_newline_and_a_signer():
    with pytest.raises(NoteError):
        sign_note("no newline", [LOG])
    with pytest.raises(NoteError):
        sign_note("text\n", [])


@pytest.mark.parametrize(
    "vkey",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong key id
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # not lowercase
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # a space
        "PeterNeumann+c74f20a3+AhpczQcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # type 0x02
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",  # short key
        "PeterNeumann+c74f20a3",
    ],
)
def test_malformed_vkeys_are_refused(vkey):
    with pytest.raises(NoteError):
        Verifier(vkey)


# Checkpoints


def test_checkpoint_text_and_parse_round_trip():
    text = CHECKPOINT.text()
    assert text == (
        f"tamis.example/documents\n20852163\n{base64.b64encode(CHECKPOINT.root).decode()}\n"
    )
    assert parse_checkpoint(text) == CHECKPOINT
    with_extension = Checkpoint(CHECKPOINT.origin, 0, CHECKPOINT.root, ("ext line",))
    assert parse_checkpoint(with_extension.text()) == with_extension


def test_the_c2sp_example_checkpoint_parses():
    checkpoint = parse_checkpoint(
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )
    assert (checkpoint.origin, checkpoint.size, len(checkpoint.root)) == (
        "example.com/behind-the-sofa",
        20852163,
        32,
    )


ROOT64 = base64.b64encode(bytes(32)).decode()


@pytest.mark.parametrize(
    "text",
    [
        f"origin\n12\n{ROOT64}",  # no final newline
        "origin\n12\n",  # no root
        f"\n12\n{ROOT64}\n",  # empty origin
        f"origin\n012\n{ROOT64}\n",  # leading zero
        f"origin\n+12\n{ROOT64}\n",
        f"origin\n1_2\n{ROOT64}\n",
        f"origin\n １２\n{ROOT64}\n",  # not ASCII digits
        f"origin\n-1\n{ROOT64}\n",
        f"origin\n{2**64}\n{ROOT64}\n",
        "origin\n12\nAAAA\n",  # not 32 bytes
        f"origin\n12\n{ROOT64[:-2]}\n",  # no padding
        f"origin\n12\n{ROOT64[:-2]}B=\n",  # not canonical base64
        f"origin\n12\n{ROOT64}\n\n",  # empty extension line
        f"origin\n12\n{ROOT64}\n\n— origin AAAA\n",  # a signed note, not its text
    ],
)
def test_malformed_checkpoints_are_refused(text):
    with pytest.raises(NoteError):
        parse_checkpoint(text)


def test_a_signed_checkpoint_opens():
    note = sign_note(CHECKPOINT.text(), [LOG])
    assert open_checkpoint(note, [Verifier(LOG.public_key_text())]) == (CHECKPOINT, [LOG.name])


# Cosignatures


def test_cosignature_round_trip():
    note = sign_note(CHECKPOINT.text(), [LOG])
    line = cosign(CHECKPOINT.text(), WITNESS, 1679315147)
    assert line.startswith(f"— {WITNESS.name} ") and line.endswith("\n")
    raw = base64.b64decode(line.split(" ")[2])
    assert raw[:4] == key_id(WITNESS.name, COSIGNATURE_V1, WITNESS.public_key)
    assert raw[4:12] == (1679315147).to_bytes(8, "big") and len(raw) == 4 + 8 + 64
    assert cosignature_time(line) == 1679315147

    cosigned = note + line
    log, witness = (
        Verifier(LOG.public_key_text()),
        CosignatureVerifier(WITNESS.cosignature_key_text()),
    )
    assert open_note(cosigned, [log, witness])[1] == [LOG.name, WITNESS.name]
    # the 0x01 vkey of the witness's key verifies its cosignatures too (as transparency-dev)
    assert open_note(cosigned, [CosignatureVerifier(WITNESS.public_key_text())])[1] == [
        WITNESS.name
    ]
    assert isinstance(verifier(WITNESS.cosignature_key_text()), CosignatureVerifier)
    assert type(verifier(WITNESS.public_key_text())) is Verifier
    # a plain note verifier does not take a cosignature for a note signature: other key id
    with pytest.raises(NoteError, match="no signature"):
        open_note(note.split("\n\n")[0] + "\n\n" + line, [Verifier(WITNESS.public_key_text())])


def test_a_cosignature_signs_the_header_the_time_and_the_checkpoint():
    line = cosign(CHECKPOINT.text(), WITNESS, 1679315147)
    signature = base64.b64decode(line.split(" ")[2])[12:]
    message = f"cosignature/v1\ntime 1679315147\n{CHECKPOINT.text()}".encode()
    assert cosignature_message(CHECKPOINT.text(), 1679315147) == message
    WITNESS._private_key.public_key().verify(signature, message)


def test_a_cosignature_for_another_checkpoint_or_time_is_refused():
    line = cosign(CHECKPOINT.text(), WITNESS, 1679315147)
    witness = CosignatureVerifier(WITNESS.cosignature_key_text())
    other = Checkpoint(CHECKPOINT.origin, CHECKPOINT.size + 1, CHECKPOINT.root)
    with pytest.raises(NoteError, match="does not verify"):
        open_note(sign_note(other.text(), [LOG]) + line, [witness])
    raw = bytearray(base64.b64decode(line.split(" ")[2]))
    raw[11] ^= 1  # another second
    moved = f"— {WITNESS.name} {base64.b64encode(bytes(raw)).decode()}\n"
    with pytest.raises(NoteError, match="does not verify"):
        open_note(sign_note(CHECKPOINT.text(), [LOG]) + moved, [witness])


def test_cosign_refuses_what_is_not_a_checkpoint_or_an_impossible_time():
    with pytest.raises(NoteError):
        cosign("not a checkpoint\n", WITNESS, 1)
    with pytest.raises(NoteError):
        cosign(sign_note(CHECKPOINT.text(), [LOG]), WITNESS, 1)
    with pytest.raises(NoteError):
        cosign(CHECKPOINT.text(), WITNESS, 2**63)
