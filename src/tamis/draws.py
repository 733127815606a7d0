"""Random draws a trader cannot predict: routing's random selection and the model
detector's exploratory picks both draw here."""

from __future__ import annotations

import secrets

import numpy as np


def secure_draws(n: int) -> np.ndarray:
    """n uniform draws in [0, 1) from the operating system's cryptographic source."""
    words = np.frombuffer(secrets.token_bytes(8 * n), dtype=np.uint64) >> np.uint64(11)
    return words.astype(np.float64) / float(1 << 53)
