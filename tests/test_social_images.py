"""Images of posts matched with photos of seized or inspected goods, on synthetic photos:
the same photo after crop, resize, mirror, re-encoding and brightness change is found,
another photo is not, and what cannot be decoded is refused with the reason."""

import functools
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

from tamis.cases import cases
from tamis.cases.attachments import store_attachment
from tamis.social.images import (
    MATCH_DISTANCE,
    ImageError,
    ImageHash,
    ImageIndex,
    attachment_index,
    distance,
    hash_image,
    hash_reference,
)
from tamis.store import files


@functools.cache
def photo(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A textured "photo": colour gradients, rectangles, ellipses and bars, and noise (the
    same one for a seed: edits make copies)."""
    rng = np.random.default_rng(seed)
    width, height = size
    y, x = np.mgrid[0:height, 0:width] / max(size)
    gradients = [
        rng.uniform(40, 200) + rng.uniform(-80, 80) * (x * np.cos(angle) + y * np.sin(angle))
        for angle in rng.uniform(0, 2 * np.pi, 3)
    ]
    image = Image.fromarray(np.clip(np.stack(gradients, axis=-1), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(25):
        x0, y0 = rng.uniform(0, width), rng.uniform(0, height)
        box = (x0, y0, x0 + rng.uniform(20, width / 2), y0 + rng.uniform(20, height / 2))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        shape = rng.integers(3)
        if shape == 0:
            draw.rectangle(box, fill=colour)
        elif shape == 1:
            draw.ellipse(box, fill=colour)
        else:
            draw.line(box, fill=colour, width=int(rng.integers(3, 15)))
    noisy = np.asarray(image, dtype=np.float64) + rng.normal(0, 12, (height, width, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    if fmt == "PNG":
        options.setdefault("compress_level", 1)
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def crop(image: Image.Image, left: float, top: float, right: float, bottom: float):
    """The image with these fractions cut off its edges."""
    width, height = image.size
    box = (width * left, height * top, width * (1 - right), height * (1 - bottom))
    return image.crop(tuple(round(v) for v in box))


EDITS = {
    "crop 5 %": lambda im: encode(crop(im, 0.05, 0.05, 0.05, 0.05)),
    "crop 10 %": lambda im: encode(crop(im, 0.10, 0.10, 0.10, 0.10)),
    "crop 5-10 %, uneven": lambda im: encode(crop(im, 0.10, 0.06, 0.05, 0.08)),
    "crop 8 % off the bottom": lambda im: encode(crop(im, 0, 0, 0, 0.08)),
    "half size": lambda im: encode(im.resize((im.width // 2, im.height // 2))),
    "double size": lambda im: encode(im.resize((im.width * 2, im.height * 2))),
    "mirror": lambda im: encode(ImageOps.mirror(im)),
    "JPEG quality 40": lambda im: encode(im, "JPEG", quality=40),
    "10 % brighter": lambda im: encode(ImageEnhance.Brightness(im).enhance(1.1)),
    "10 % darker": lambda im: encode(ImageEnhance.Brightness(im).enhance(0.9)),
    "mirror, crop 5-10 %, half size, JPEG 40": lambda im: encode(
        ImageOps.mirror(crop(im, 0.07, 0.09, 0.05, 0.06)).resize((im.width // 2, im.height // 2)),
        "JPEG",
        quality=40,
    ),
}


@pytest.fixture(scope="module")
def references() -> ImageIndex:
    """50 different photos, by seed."""
    index = ImageIndex()
    for seed in range(50):
        index.add(seed, encode(photo(seed)))
    return index


def test_hashes_have_the_pdq_and_phash_forms():
    h = hash_image(encode(photo(0)))
    assert len(h.pdq) == 64 and int(h.pdq, 16) >= 0
    assert len(h.phash) == 16 and int(h.phash, 16) >= 0
    assert 50 <= h.quality <= 100
    assert distance(h, h) == 0
    assert distance(h, ImageHash(h.pdq, h.quality, h.phash)) == 0  # a hash without variants


def test_edited_copies_match_their_photo_and_other_photos_do_not(references):
    within = {}  # edit -> the largest distance to its own photo
    for seed in range(10):
        for name, edit in EDITS.items():
            found = references.matches(hash_image(edit(photo(seed))), max_distance=256)
            assert found[0][0] == seed, f"{name} of photo {seed}: nearest is {found[0]}"
            within[name] = max(within.get(name, 0), found[0][1])
    apart = []
    for seed in range(50):
        found = references.matches(hash_image(encode(photo(seed))), max_distance=256)
        apart += [d for key, d in found if key != seed]
    largest = max(within, key=within.get)
    figures = (
        f"largest distance between a photo and an edited copy: {within[largest]} ({largest}); "
        f"smallest between two different photos: {min(apart)}; MATCH_DISTANCE {MATCH_DISTANCE}"
        f"; per edit: {within}"
    )
    assert within[largest] <= MATCH_DISTANCE < min(apart), figures


def test_a_mirrored_copy_is_near_without_crops():
    original = hash_image(encode(photo(3)))
    mirrored = hash_image(encode(ImageOps.mirror(photo(3)), "JPEG", quality=75))
    assert distance(mirrored, original) <= MATCH_DISTANCE
    assert distance(mirrored, hash_reference(encode(photo(3)))) <= distance(mirrored, original)


def test_exif_orientation_is_applied():
    upright = hash_image(encode(photo(4)))
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera held sideways: shown rotated 90 degrees clockwise
    sideways = encode(photo(4).rotate(90, expand=True), "JPEG", quality=95, exif=exif)
    bits_apart = bin(int(hash_image(sideways).pdq, 16) ^ int(upright.pdq, 16)).count("1")
    assert bits_apart <= 31  # the upright hash itself, not a rotated variant


def test_a_plain_image_matches_nothing(references):
    plain = hash_image(encode(Image.new("RGB", (300, 200), (128, 128, 128))))
    assert plain.quality < 50
    assert references.matches(plain, max_distance=256) == []


def png(width: int, height: int) -> bytes:
    """A PNG that declares these dimensions, with a few bytes of pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\0" * 1000)
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"this is a caption, not a photo", "not an image: cannot identify image file"),
        (encode(photo(5))[:20_000], "not decodable: image file is truncated"),
        (b"", "not an image: the file is empty"),
        (png(8000, 8000), "image too large: 8000x8000 pixels"),
        (png(40_000, 40_000), "image too large"),
    ],
    ids=["not an image", "truncated PNG", "empty", "too many pixels", "decompression bomb"],
)
def test_what_cannot_be_decoded_is_refused_with_the_reason(data, reason):
    with pytest.raises(ImageError, match=reason):
        hash_image(data)


def test_attachment_index_finds_the_case_of_a_stored_photo(store):
    seized = cases.open_case(store, "counterfeit sneakers seized", "analyst")
    inspected = cases.open_case(store, "bags inspected", "analyst")

    def attach(case_id: int, filename: str, content_type: str, content: bytes) -> int:
        stored = store_attachment(
            store, case_id, filename, content_type, io.BytesIO(content), "inspector"
        )
        return stored["attachment_id"]

    sneakers = attach(seized, "seizure.jpg", "image/jpeg", encode(photo(1), "JPEG", quality=90))
    bags = attach(inspected, "IMG_0002", "image/png", encode(photo(2)))  # known by its type
    altered = attach(inspected, "scan.png", "application/octet-stream", encode(photo(3)))
    missing = attach(inspected, "container.jpg", "image/jpeg", encode(photo(6), "JPEG"))
    attach(inspected, "invoice.pdf", "application/pdf", b"%PDF-1.4 an invoice")
    broken = attach(inspected, "label.png", "image/png", b"not really a PNG")
    files.path_of(_sha256(store, altered)).write_bytes(encode(photo(4)))
    files.path_of(_sha256(store, missing)).unlink()

    index = attachment_index(store)

    assert sorted(index.keys) == [(seized, sneakers), (inspected, bags)]
    assert index.skipped == {
        (inspected, altered): "scan.png: the stored file was altered",
        (inspected, missing): "container.jpg: its file is missing from storage",
        (inspected, broken): (
            "label.png: not an image: cannot identify image file "
            "(expected JPEG, PNG, GIF, WEBP, BMP, TIFF)"
        ),
    }
    post = ImageOps.mirror(crop(photo(1), 0.06, 0.08, 0.09, 0.05))
    found = index.matches(hash_image(encode(post, "JPEG", quality=60)))
    assert [key for key, _ in found] == [(seized, sneakers)]
    assert index.matches(hash_image(encode(photo(3)))) == []  # the altered photo


def _sha256(engine, attachment_id: int) -> str:
    from sqlalchemy import select

    from tamis.store.tables import attachments

    with engine.connect() as conn:
        return conn.execute(
            select(attachments.c.sha256).where(attachments.c.attachment_id == attachment_id)
        ).scalar_one()
