"""Detectors: each turns a batch of declarations into per-declaration risk signals."""

from tamis.detectors.base import SIGNAL_SCHEMA, Detector, empty_signals, per_declaration

__all__ = ["SIGNAL_SCHEMA", "Detector", "empty_signals", "per_declaration"]
