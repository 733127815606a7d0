"""Images of social-media posts compared with photos of goods seized or inspected (case
attachments): the same photo is found again after crop, resize, mirror or re-encoding.

An image gets a PDQ hash (Facebook's 256-bit perceptual hash, with its quality) and a
pHash (64 bits). PDQ survives resizing, mirroring and re-encoding, but not cropping: 5 %
off each edge already moves a hash about as far as another photo's. So a reference photo
is hashed once with its variants, mirrored, rotated and cropped, and a post's image is
compared with all of them, without decoding anything again.
"""

from __future__ import annotations

import hashlib
import io
import itertools
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import PurePath

import imagehash
import numpy as np
import pdqhash
from PIL import Image, ImageOps
from sqlalchemy import Engine, select

from tamis.social.tables import photo_hashes
from tamis.store import files
from tamis.store.load import dialect_insert
from tamis.store.tables import attachments

# Larger images are refused before decoding: a few bytes can declare a huge image.
MAX_PIXELS = 50_000_000
# Only these decoders run on untrusted bytes (EPS, for one, would start Ghostscript).
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".jpe", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"}
# PDQ works on a 64x64 reduction: hashing a 256-pixel copy gives the same bits, faster.
HASH_SIDE = 256
# A reference is also hashed with 0, 5 or 10 % cut off each edge (80 crops besides the
# whole photo), so a post with up to 10 % or so cut off any edge is near one of them.
CROPS = [box for box in itertools.product((0, 0.05, 0.10), repeat=4) if any(box)]
MIRROR = 5  # in pdqhash.compute_dihedral's order, the left-right mirror
# At or below: the same photo. On the tests' synthetic photos, edited copies (crop,
# resize, mirror, JPEG at quality 40, brightness) are at most 46 bits from their photo
# and different photos at least 90 apart; a quarter of the bits leaves room both ways.
MATCH_DISTANCE = 64
# PDQ's own advice: a hash of quality under 50 (a plain, featureless image) is unreliable,
# and plain images would all match one another.
MIN_QUALITY = 50


class ImageError(ValueError):
    """Why an image was refused."""


@dataclass(frozen=True)
class ImageHash:
    pdq: str  # 64 hex characters
    quality: int  # PDQ quality, 0-100
    phash: str  # 16 hex characters
    # PDQ hashes of the image's variants, 32 bytes each, the first being `pdq`: its 8
    # mirrors and rotations, and for a reference its crops (mirrored or not). Empty for a
    # hash read back from its hex alone, which then matches unmirrored copies only.
    variants: bytes = field(default=b"", repr=False)


def _decode(data: bytes) -> Image.Image:
    """The image, upright, in RGB, at most HASH_SIDE pixels a side."""
    if not data:
        raise ImageError("not an image: the file is empty")
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.UnidentifiedImageError:
        raise ImageError(
            f"not an image: cannot identify image file (expected {', '.join(FORMATS)})"
        ) from None
    except Image.DecompressionBombError as error:
        raise ImageError(f"image too large: {error}") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageError(f"not decodable: {error}") from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageError(f"image too large: {width}x{height} pixels (at most {MAX_PIXELS:,})")
    try:
        image.draft("RGB", (HASH_SIDE, HASH_SIDE))  # a JPEG is decoded at a reduced scale
        image.load()
        image = ImageOps.exif_transpose(image).convert("RGB")
        image.thumbnail((HASH_SIDE, HASH_SIDE), Image.Resampling.LANCZOS)
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageError(f"not decodable: {error}") from None
    return image


def _dihedral(image: Image.Image) -> tuple[np.ndarray, int]:
    """The PDQ hashes (8 rows of 32 bytes) of the image's mirrors and rotations."""
    bits, quality = pdqhash.compute_dihedral(np.asarray(image))
    return np.packbits(np.array(bits, dtype=np.uint8), axis=1), int(quality)


def _crop(image: Image.Image, box: tuple[float, float, float, float]) -> Image.Image:
    left, top, right, bottom = box
    width, height = image.size
    return image.crop(
        (round(width * left), round(height * top), width - round(width * right),
         height - round(height * bottom))
    )  # fmt: skip


def _hash(data: bytes, crops: bool) -> ImageHash:
    image = _decode(data)
    whole, quality = _dihedral(image)
    variants = [whole]
    if crops and min(image.size) >= 64:
        variants += [_dihedral(_crop(image, box))[0][[0, MIRROR]] for box in CROPS]
    raw = np.concatenate(variants).tobytes()
    return ImageHash(whole[0].tobytes().hex(), quality, str(imagehash.phash(image)), raw)


def hash_image(data: bytes) -> ImageHash:
    """The hashes of an image file's bytes (a post's image); `ImageError` says why an
    image is refused."""
    return _hash(data, crops=False)


def hash_reference(data: bytes) -> ImageHash:
    """As `hash_image`, with the crops among the variants: for a photo to be found in
    posts (81 PDQ computations instead of one)."""
    return _hash(data, crops=True)


def _words(image_hash: ImageHash) -> np.ndarray:
    """The hash's variants (or its PDQ hash alone) as rows of four 64-bit words."""
    raw = image_hash.variants or bytes.fromhex(image_hash.pdq)
    return np.frombuffer(raw, dtype=np.uint64).reshape(-1, 4)


def _bits_apart(query: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Hamming distance from one hash (4 words) to each hash of `columns` (4 x n words)."""
    apart = np.zeros(columns.shape[1], dtype=np.uint16)
    for word, column in zip(query, columns, strict=True):
        apart += np.bitwise_count(column ^ word)
    return apart


def distance(post: ImageHash, reference: ImageHash) -> int:
    """PDQ bits apart: the least over the reference's variants (mirrors, rotations and,
    for a `hash_reference`, crops)."""
    return int(_bits_apart(_words(post)[0], _words(reference).T.copy()).min())


class ImageIndex:
    """Reference photos, each hashed once with its variants, searched by PDQ distance."""

    def __init__(self) -> None:
        self.keys: list[Hashable] = []
        self.skipped: dict[Hashable, str] = {}  # key -> why it is not in the index
        self._words: list[np.ndarray] = []
        self._columns: np.ndarray | None = None  # every variant's 4 words, one column each
        self._starts: np.ndarray | None = None  # where each reference's variants begin

    def __len__(self) -> int:
        return len(self.keys)

    def add(self, key: Hashable, image_or_hash: bytes | ImageHash) -> None:
        """A reference photo: its bytes (hashed with `hash_reference`) or its hashes."""
        if not isinstance(image_or_hash, ImageHash):
            image_or_hash = hash_reference(image_or_hash)
        self.keys.append(key)
        self._words.append(_words(image_or_hash))
        self._columns = None

    def matches(self, h: ImageHash, max_distance: int = MATCH_DISTANCE) -> list[tuple]:
        """(key, distance) of the reference photos within `max_distance` of the image,
        nearest first; none for a plain image (PDQ quality under `MIN_QUALITY`)."""
        if not self.keys or h.quality < MIN_QUALITY:
            return []
        if self._columns is None:
            self._columns = np.concatenate(self._words).T.copy()
            self._starts = np.cumsum([0] + [len(words) for words in self._words[:-1]])
        apart = np.minimum.reduceat(_bits_apart(_words(h)[0], self._columns), self._starts)
        near = np.flatnonzero(apart <= max_distance)
        near = near[np.argsort(apart[near], kind="stable")]
        return [(self.keys[i], int(apart[i])) for i in near]


def _is_image(content_type: str, filename: str) -> bool:
    return (
        content_type.lower().startswith("image/")
        or PurePath(filename).suffix.lower() in IMAGE_SUFFIXES
    )


def attachment_index(engine: Engine) -> ImageIndex:
    """Every image attached to a case, keyed by (case_id, attachment_id). One whose file
    is missing or altered on disk, undecodable or too plain to compare is left out, with
    the reason in `skipped`. A photo's hashes are computed once and kept."""
    with engine.connect() as conn:
        rows = conn.execute(select(attachments).order_by(attachments.c.attachment_id)).all()
        kept = {r.sha256: r for r in conn.execute(select(photo_hashes)).all()}
    index = ImageIndex()
    hashed: dict[str, ImageHash | str] = {}  # the same photo on several cases: hashed once
    for row in rows:
        if not _is_image(row.content_type, row.filename):
            continue
        if row.sha256 not in hashed:
            hashed[row.sha256] = _reference(engine, row.sha256, kept.get(row.sha256))
        found = hashed[row.sha256]
        key = (row.case_id, row.attachment_id)
        if isinstance(found, str):
            index.skipped[key] = f"{row.filename}: {found}"
        else:
            index.add(key, found)
    return index


def _reference(engine: Engine, sha256: str, kept) -> ImageHash | str:
    """The hashes of a stored photo (kept ones once its file is checked), or why it
    cannot be used."""
    path = files.path_of(sha256)
    if not path.is_file():
        return "its file is missing from storage"
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        return "the stored file was altered"
    if kept is not None:
        image_hash = ImageHash(kept.pdq, kept.quality, kept.phash, bytes(kept.variants))
    else:
        try:
            image_hash = hash_reference(data)
        except ImageError as error:
            return str(error)
        with engine.begin() as conn:  # two linkings may hash the same photo at once
            conn.execute(
                dialect_insert(conn, photo_hashes).on_conflict_do_nothing().values(
                    sha256=sha256, pdq=image_hash.pdq, quality=image_hash.quality,
                    phash=image_hash.phash, variants=image_hash.variants,
                )
            )  # fmt: skip
    if image_hash.quality < MIN_QUALITY:
        return f"too plain to compare (PDQ quality {image_hash.quality})"
    return image_hash
