"""Random draws a trader cannot predict: routing's random selection and the model
detector's exploratory picks both draw here."""

from __future__ import annotations

import secrets
from hashlib import blake2b

import numpy as np


def secure_draws(n: int) -> np.ndarray:
    """n uniform draws in [0, 1) from the operating system's cryptographic source."""
    return _uniform(np.frombuffer(secrets.token_bytes(8 * n), dtype=np.uint64))


def _uniform(words: np.ndarray) -> np.ndarray:
    """64-bit random words as uniform floats in [0, 1), from their top 53 bits."""
    return (words >> np.uint64(11)).astype(np.float64) / float(1 << 53)


class KeyedDraws:
    """Draws that a declaration's id and a secret key decide: as unpredictable as
    ``secure_draws`` to whoever lacks the key, and the same each time with it (a partition
    redone on another worker draws what the first attempt drew)."""

    def __init__(self, key: bytes | None = None) -> None:
        self.key = key or secrets.token_bytes(32)

    def __call__(self, ids) -> np.ndarray:
        digests = b"".join(blake2b(i.encode(), key=self.key, digest_size=8).digest() for i in ids)
        return _uniform(np.frombuffer(digests, dtype=np.uint64))
