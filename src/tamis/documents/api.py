"""Trade documents and credentials over HTTP.

Officers upload a declaration's documents (multipart), ask the declarant for one, and
release or inspect at a distance; readers list, download and check them, and take a
document's offline proof of registration. Analysts issue and revoke credentials; partner
administrations verify them and read our status lists and public key. A missing record
answers 404, a refused change 409 naming the record and field."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Path, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from tamis import audit
from tamis.api.auth import FIELD, READERS, TARGETERS, Allow
from tamis.api.deps import MAX_ID, RecordId, Store
from tamis.documents import credentials, log, read, records
from tamis.documents.tables import DOC_TYPES
from tamis.roles import Role
from tamis.store.files import UPLOAD_BODY_BYTES
from tamis.users import User

Reader = Annotated[User, Depends(READERS)]
Officer = Annotated[User, Depends(FIELD)]
Issuer = Annotated[User, Depends(TARGETERS)]
Verifier = Annotated[User, Depends(Allow(*READERS.roles, Role.PARTNER))]
DocType = Literal[DOC_TYPES]  # type: ignore[valid-type]
DeclarationId = Annotated[str, Path(min_length=1, max_length=64)]
CredentialId = Annotated[str, Path(min_length=1, max_length=64)]


def refusals() -> Iterator[None]:
    try:
        yield
    except log.LogError as error:
        raise HTTPException(error.status, str(error)) from None
    except LookupError as error:
        raise HTTPException(404, str(error)) from None
    except (records.DocumentAltered, ValueError) as error:
        raise HTTPException(409, str(error)) from None


router = APIRouter(prefix="/api", tags=["documents"], dependencies=[Depends(refusals)])


@router.post(
    "/declarations/{declaration_id}/documents", status_code=201, max_body_size=UPLOAD_BODY_BYTES
)
def upload(
    engine: Store,
    user: Officer,
    declaration_id: DeclarationId,
    file: UploadFile,
    doc_type: Annotated[DocType, Form()],
    issuer: Annotated[str, Form(min_length=1, max_length=256)],
    item_numbers: Annotated[str | None, Form(max_length=256)] = None,
    request_id: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
) -> dict:
    """Add a document to the declaration: kept by its SHA-256, registered in the documents
    log. ``item_numbers`` ('1,3') for some items only; it answers ``request_id``, else the
    oldest open request of its type."""
    added = records.add_document(
        engine, declaration_id, doc_type, issuer, file.filename or doc_type,
        file.content_type or "application/octet-stream", file.file, user.username,
        item_numbers or None, request_id,
    )  # fmt: skip
    return added | {"check": records.check_document(engine, added["document_id"]).as_dict()}


@router.get("/declarations/{declaration_id}/documents")
def documents_of(engine: Store, user: Reader, declaration_id: DeclarationId) -> dict:
    """The declaration's documents, each checked now, its requests and remote decisions."""
    return read.of_declaration(engine, declaration_id)


@router.get("/documents/{document_id}", response_class=FileResponse)
def download(engine: Store, user: Reader, document_id: RecordId) -> FileResponse:
    """The document's file; refused (409) once it no longer checks."""
    row, path = records.open_document(engine, document_id)
    return FileResponse(path, media_type=row["content_type"], filename=row["filename"])


@router.get("/documents/{document_id}/check")
def check(engine: Store, user: Reader, document_id: RecordId) -> dict:
    """Whether the file is still the one registered in the log: ``verdict`` verified,
    altered, missing or unregistered."""
    return records.check_document(engine, document_id).as_dict()


@router.get("/documents/{document_id}/proof")
def proof(engine: Store, user: Reader, document_id: RecordId) -> dict:
    """What proves offline that the document was registered: the log's bundle (its entry,
    inclusion proof, checkpoint and cosignatures) and, under ``document``, its salt — given
    with the file to whoever must verify it (``tamis documents verify``)."""
    return records.proof(engine, document_id)


class RequestIn(BaseModel):
    doc_type: DocType
    due_at: audit.StoredTime | None = Field(None, description="By when; two days if not said.")
    note: str | None = Field(None, max_length=2000)


@router.post("/declarations/{declaration_id}/document-requests", status_code=201)
def ask(engine: Store, user: Officer, declaration_id: DeclarationId, body: RequestIn) -> dict:
    """Ask the declarant for a document by a due time."""
    return records.request_document(
        engine, declaration_id, body.doc_type, user.username, body.due_at, body.note
    )


class RemoteDecisionIn(BaseModel):
    decision: Literal["release", "inspect"]
    note: str | None = Field(None, max_length=2000)


@router.post("/declarations/{declaration_id}/remote-decision", status_code=201)
def decide(
    engine: Store, user: Officer, declaration_id: DeclarationId, body: RemoteDecisionIn
) -> dict:
    """Release the goods on the documents checked at a distance (refused while a
    requested document is missing or a document fails its check), or send them to
    inspection."""
    return records.decide_remotely(engine, declaration_id, body.decision, user.username, body.note)


class CredentialIn(BaseModel):
    kind: Literal["certificate_of_origin", "aeo"]
    subject: str = Field(
        min_length=1, max_length=256, description="The consignment, or the operator's customs id."
    )
    claims: dict = Field(default_factory=dict, description="What the credential states.")
    valid_until: audit.StoredTime | None = None


class RevokeIn(BaseModel):
    reason: str | None = Field(None, max_length=2000)


class VerifyIn(BaseModel):
    credential: dict
    status_list: dict | None = Field(
        None, description="Its status list credential; ours is read from the store."
    )
    public_key: str | None = Field(
        None, max_length=128, description="The issuer's Multikey (z6Mk...); default: ours."
    )


@router.post("/credentials", status_code=201)
def issue(engine: Store, user: Issuer, body: CredentialIn) -> dict:
    """Issue a signed credential (eddsa-jcs-2022), revocable through our status list."""
    return credentials.issue(
        engine, body.kind, body.subject, body.claims, credentials.issuer_key(), user.username,
        valid_until=body.valid_until,
    )  # fmt: skip


@router.post("/credentials/verify")
def verify(engine: Store, user: Verifier, body: VerifyIn) -> dict:
    """Check a credential: its proof with the issuer's key (ours unless ``public_key`` is
    given), its validity period and, with its status list, whether it was revoked."""
    key = credentials.public_key_of(body.public_key) if body.public_key else None
    return credentials.verify_here(engine, body.credential, key, body.status_list).as_dict()


@router.get("/credentials/issuer")
def issuer(user: Verifier) -> dict:
    """Our issuer id and public key (Multikey), for verifying our credentials offline."""
    return credentials.issuer_description()


@router.get("/credentials/status/{list_id}")
def status_list(
    engine: Store, user: Verifier, list_id: Annotated[str, Path(max_length=32)]
) -> dict:
    """A revocation status list, as a signed BitstringStatusListCredential."""
    return credentials.status_list(engine, list_id)


@router.post("/credentials/{credential_id}/revoke")
def revoke(engine: Store, user: Issuer, credential_id: CredentialId, body: RevokeIn) -> dict:
    """Revoke a credential: its bit is set in its status list."""
    row = credentials.revoke(engine, credential_id, user.username, body.reason)
    return {k: row[k] for k in ("credential_id", "kind", "subject", "revoked", "status_list",
                                "status_index")}  # fmt: skip
