"""``/api/social``: sellers found in social-media posts, their links to importers with the
evidence, and what analysts open from them (a case, a watchlist). Only analysts and
administrators see this source, and every view is audited."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request, UploadFile

from tamis.api.auth import ADMINS, TARGETERS
from tamis.api.deps import Offset, Store
from tamis.ingest import ProfileError, SourceError
from tamis.social import views
from tamis.social.exports import PROFILES, ingest_posts
from tamis.social.links import refresh
from tamis.store.files import MAX_BYTES, UPLOAD_BODY_BYTES
from tamis.users import User

Analyst = Annotated[User, Depends(TARGETERS)]
Admin = Annotated[User, Depends(ADMINS)]
SellerId = Annotated[str, Path(pattern=r"^S-[0-9A-F]{10}$")]
ImporterId = Annotated[str, Path(min_length=1, max_length=64)]


def refusals() -> Iterator[None]:
    try:
        yield
    except LookupError as error:
        raise HTTPException(404, str(error)) from None
    except (ValueError, ProfileError, SourceError) as error:
        raise HTTPException(422, str(error)) from None


router = APIRouter(prefix="/api/social", tags=["social media"], dependencies=[Depends(refusals)])


@router.get("/sellers")
def sellers(
    engine: Store,
    user: Analyst,
    brand: Annotated[str | None, Query(max_length=128)] = None,
    linked: bool | None = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict:
    """Sellers advertising copies, most posts first; of one brand, linked or not."""
    return views.list_sellers(engine, user.username, brand, linked, True, limit, offset)


@router.get("/sellers/{seller_id}")
def seller(engine: Store, user: Analyst, seller_id: SellerId) -> dict:
    """A seller's accounts, posts and links to importers, each with its evidence."""
    return views.seller(engine, seller_id, user.username)


@router.get("/importers/{importer_id}/sellers")
def importer_sellers(engine: Store, user: Analyst, importer_id: ImporterId) -> list[dict]:
    return views.importer_sellers(engine, importer_id, user.username)


@router.post("/sellers/{seller_id}/case", status_code=201)
def case_from_seller(engine: Store, user: Analyst, seller_id: SellerId) -> dict:
    """Open a case about the seller; its posts are kept for the case past retention."""
    return views.case_from_seller(engine, seller_id, user.username)


@router.post("/sellers/{seller_id}/watchlist", status_code=201)
def watchlist_from_seller(
    request: Request, engine: Store, user: Analyst, seller_id: SellerId
) -> dict:
    """Watch the seller's linked importers for its brands' goods."""
    made = views.watchlist_from_seller(engine, seller_id, user.username)
    request.app.state.assessor = None  # the next lodgement uses the lists as they are now
    return made


@router.post("/exports", status_code=201, max_body_size=UPLOAD_BODY_BYTES)
def upload_export(
    engine: Store,
    user: Analyst,
    file: UploadFile,
    profile: Annotated[str | None, Form(pattern="^(" + "|".join(PROFILES) + ")$")] = None,
) -> dict:
    """Ingest an export of posts (the shipped profiles; found from its shape when not
    named), then group sellers and link them again. Refused records are quarantined."""
    suffix = FilePath(file.filename or "posts.jsonl").suffix[:10] or ".jsonl"
    with tempfile.TemporaryDirectory() as folder:
        path = FilePath(folder) / f"export{suffix}"
        with path.open("wb") as out:
            size = 0
            while chunk := file.file.read(1 << 20):
                size += len(chunk)
                if size > MAX_BYTES:
                    raise HTTPException(413, f"export larger than {MAX_BYTES // 2**20} MiB")
                out.write(chunk)
        summary = ingest_posts(path, engine, profile)
    purged = views.purge(engine, user.username)
    return summary.as_dict() | {"purged": purged, "refreshed": refresh(engine, user.username)}


@router.post("/purge")
def purge(engine: Store, user: Admin) -> dict:
    """Delete posts past their retention that no case holds."""
    return {"deleted": views.purge(engine, user.username)}
