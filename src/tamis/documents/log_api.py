"""``/api/log``: the documents' transparency log, its signed checkpoint and its proofs; and
``/api/witness``: our witness of partners' logs (C2SP tlog-witness), where a partner
administration sends its checkpoints to be cosigned."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from tamis.api.auth import READERS, Allow
from tamis.api.deps import Store
from tamis.documents import log, witness
from tamis.roles import Role
from tamis.users import User

router = APIRouter(tags=["documents log"])
VIEWERS = Allow(*READERS.roles, Role.PARTNER)
WITNESSED = Allow(Role.ADMIN, Role.PARTNER)  # partners' logs, and an admin trying one
Viewer = Annotated[User, Depends(VIEWERS)]
Size = Annotated[int, Query(ge=0, le=2**62)]


def _refused(error: log.LogError) -> HTTPException:
    return HTTPException(error.status, str(error))


@router.get("/api/log/checkpoint", response_class=PlainTextResponse)
def get_checkpoint(engine: Store, user: Viewer) -> PlainTextResponse:
    """The log's latest checkpoint, a signed note (C2SP tlog-checkpoint), with the
    cosignatures of the witnesses that cosigned it."""
    try:
        tree_size, signed = log.current_checkpoint(engine)
    except log.LogError as error:
        raise _refused(error) from error
    return PlainTextResponse(signed + "".join(log.cosignature_lines(engine, tree_size)))


@router.get("/api/log/proof/inclusion")
def get_inclusion(
    engine: Store,
    user: Viewer,
    index: Size,
    size: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> dict:
    """Entry ``index``'s audit path in the tree of ``size`` entries (default: the latest
    checkpoint's); hashes in base64."""
    try:
        return log.inclusion(engine, index, size).as_dict()
    except log.LogError as error:
        raise _refused(error) from error


@router.get("/api/log/proof/consistency")
def get_consistency(engine: Store, user: Viewer, old: Size, new: Size) -> dict:
    """The proof that the tree of ``new`` entries extends the one of ``old``."""
    try:
        proof = log.consistency(engine, old, new)
    except log.LogError as error:
        raise _refused(error) from error
    return {"old": old, "new": new, "proof": [log.b64(h) for h in proof]}


@router.post("/api/witness/add-checkpoint", response_class=PlainTextResponse)
async def post_add_checkpoint(
    request: Request, engine: Store, user: Annotated[User, Depends(WITNESSED)]
) -> PlainTextResponse:
    """C2SP tlog-witness add-checkpoint: ``old <size>``, the consistency proof (a base64
    hash a line), a blank line, then the signed checkpoint. 200: our cosignature line;
    409 with ``text/x.tlog.size``: the size we cosigned last; 400, 403, 404, 409, 422: why
    it is refused (see the protocol)."""
    body = await request.body()
    if len(body) > witness.MAX_BODY:
        return PlainTextResponse(f"a body of at most {witness.MAX_BODY:,} bytes\n", 413)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return PlainTextResponse("expected UTF-8 text\n", 400)
    try:
        cosigned = await run_in_threadpool(witness.add_checkpoint, engine, text)
    except witness.Refused as refused:
        if refused.size is not None:
            return PlainTextResponse(f"{refused.size}\n", 409, media_type=witness.SIZE_TYPE)
        return PlainTextResponse(f"{refused}\n", refused.status)
    except log.LogError as error:  # our configuration or keys
        return PlainTextResponse(f"{error}\n", error.status)
    return PlainTextResponse(cosigned)
