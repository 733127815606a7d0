"""Files kept by their content (case attachments, trade documents): on disk under their
SHA-256 in the attachments folder, never in SQL; storing the same bytes twice keeps one
file. A file is read back only after checking it still has its checksum."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, Literal

from tamis.settings import settings

MAX_BYTES = 50 * 1024 * 1024
UPLOAD_BODY_BYTES = MAX_BYTES + 1024 * 1024  # a file and its form, as a request's body
CHUNK = 1024 * 1024
State = Literal["intact", "altered", "missing"]


class FileTooLarge(ValueError):
    pass


# What a kept file is served as: by its first bytes for images and PDF, else by its name's
# extension among these; anything else is bytes to download.
MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG", "image/png"), (b"GIF8", "image/gif"),
    (b"II*\x00", "image/tiff"), (b"MM\x00*", "image/tiff"), (b"%PDF-", "application/pdf"),
)  # fmt: skip
SAFE_TYPES = {
    ".txt": "text/plain", ".csv": "text/csv", ".xml": "application/xml",
    ".json": "application/json",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}  # fmt: skip


def content_type_of(sha256: str, filename: str) -> str:
    """The type a kept file is stored and served as, never what its sender said (a page
    sent as "text/html" would run in the reader's browser)."""
    with path_of(sha256).open("rb") as handle:
        head = handle.read(16)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    sniffed = next((kind for magic, kind in MAGIC if head.startswith(magic)), None)
    return sniffed or SAFE_TYPES.get(Path(filename).suffix.lower(), "application/octet-stream")


def folder() -> Path:
    return Path(settings().attachments_dir)


def path_of(sha256: str) -> Path:
    return folder() / sha256[:2] / sha256


def keep(content: BinaryIO, filename: str) -> tuple[str, int]:
    """Stream the content to disk (at most ``MAX_BYTES``): its SHA-256 (hex) and size."""
    digest, size = hashlib.sha256(), 0
    folder().mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder(), delete=False) as spool:
        while chunk := content.read(CHUNK):
            size += len(chunk)
            if size > MAX_BYTES:
                Path(spool.name).unlink()
                raise FileTooLarge(f"file {filename!r}: larger than {MAX_BYTES // 2**20} MiB")
            digest.update(chunk)
            spool.write(chunk)
    sha256 = digest.hexdigest()
    target = path_of(sha256)
    target.parent.mkdir(exist_ok=True)
    shutil.move(spool.name, target)  # same content, same name: storing twice is harmless
    return sha256, size


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def state(sha256: str) -> State:
    """Whether the file kept under ``sha256`` is there and still has that checksum."""
    path = path_of(sha256)
    if not path.is_file():
        return "missing"
    return "intact" if sha256_of(path) == sha256 else "altered"
