"""Trade documents for the demo: each declaration's commercial invoice (a small PDF-like
text), a certificate of origin for some, a photo of the goods (a PNG) for others, all added
through ``records.add_document`` and so registered in the log. Then one invoice is
falsified on disk (its amount changed) for ``check_document`` to catch, and one document is
asked of a declarant who never sends it."""

from __future__ import annotations

import io
import random
import struct
import zlib
from datetime import timedelta

from sqlalchemy import Engine, select

from tamis import audit
from tamis.documents import records
from tamis.store import files
from tamis.store.tables import declarations

ACTOR = "synthetic"


def invoice(declaration_id: str, supplier: str, amount: float) -> bytes:
    lines = [
        "%PDF-1.4",
        "% commercial invoice (synthetic)",
        f"Seller: {supplier}",
        f"Customs declaration: {declaration_id}",
        f"Total amount: {amount:,.2f}",
        "%%EOF",
    ]
    return "\n".join(lines).encode() + b"\n"


def certificate(declaration_id: str, supplier: str, country: str) -> bytes:
    lines = [
        "%PDF-1.4",
        "% certificate of origin (synthetic)",
        f"Exporter: {supplier}",
        f"Country of origin: {country}",
        f"Consignment: {declaration_id}",
        "%%EOF",
    ]
    return "\n".join(lines).encode() + b"\n"


def photo(rng: random.Random, width: int = 32, height: int = 24) -> bytes:
    """A PNG of one colour with a band of another: small, valid, different every time."""
    colours = [bytes(rng.randrange(256) for _ in range(3)) for _ in range(2)]
    band = rng.randrange(height)
    raw = b"".join(b"\0" + colours[y == band] * width for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def synthetic_documents(engine: Engine, declaration_ids: list[str], seed: int) -> dict:
    """Add documents to ``declaration_ids``, falsify one invoice and leave one request
    unanswered past its due time: what was planted."""
    rng = random.Random(seed)
    d = declarations.c
    with engine.connect() as conn:
        headers = {
            row.declaration_id: row
            for row in conn.execute(
                select(d.declaration_id, d.supplier_name, d.supplier_country).where(
                    d.declaration_id.in_(declaration_ids)
                )
            )
        }
    added: dict[str, int] = {}
    invoices: list[dict] = []

    def add(declaration_id, doc_type, issuer, filename, content_type, content, items=None):
        added[doc_type] = added.get(doc_type, 0) + 1
        return records.add_document(engine, declaration_id, doc_type, issuer, filename,
                                    content_type, io.BytesIO(content), ACTOR, items)  # fmt: skip

    for n, declaration_id in enumerate(declaration_ids):
        header = headers.get(declaration_id)
        if header is None:
            continue
        supplier = header.supplier_name or "unnamed supplier"
        amount = round(rng.uniform(500, 90_000), 2)
        invoices.append(
            add(declaration_id, "invoice", supplier, f"invoice-{declaration_id}.pdf",
                "application/pdf", invoice(declaration_id, supplier, amount))
        )  # fmt: skip
        if n % 2 == 0:
            country = header.supplier_country or "??"
            add(declaration_id, "certificate_of_origin", f"chamber of commerce, {country}",
                f"origin-{declaration_id}.pdf", "application/pdf",
                certificate(declaration_id, supplier, country), "1")  # fmt: skip
        if n % 3 == 0:
            add(declaration_id, "photo", ACTOR, f"goods-{declaration_id}.png", "image/png",
                photo(rng))  # fmt: skip
    planted: dict = {"documents": sum(added.values()), "by_type": added}
    if not invoices:
        return planted
    falsified = rng.choice(invoices)
    path = files.path_of(falsified["sha256"])
    path.write_bytes(path.read_bytes().replace(b"Total amount: ", b"Total amount: 1"))
    planted["falsified"] = {
        key: falsified[key] for key in ("document_id", "declaration_id", "log_index", "filename")
    }
    others = [i["declaration_id"] for i in invoices if i is not falsified]
    if others:
        asked = audit.now() - timedelta(days=5)
        request = records.request_document(
            engine, rng.choice(others), "licence", ACTOR, due_at=asked + timedelta(days=2),
            note="import licence of the goods", asked_at=asked,
        )  # fmt: skip
        planted["overdue"] = {k: request[k] for k in ("request_id", "declaration_id", "due_at")}
    return planted
