"""The built-in detectors, in the order their reasons are said. A detector is in assessment,
on the dashboard and in the contract test (``tests/test_detector_contract.py``) by being
listed here."""

from __future__ import annotations

from tamis.detectors.anomaly import AnomalyDetector
from tamis.detectors.base import Detector, StoreContext
from tamis.detectors.brands import BrandDetector
from tamis.detectors.crosscheck import ManifestDetector, PaymentDetector, TaxReturnDetector
from tamis.detectors.documents import DocumentsDetector
from tamis.detectors.model import ModelDetector
from tamis.detectors.network import NetworkDetector
from tamis.detectors.repeat_offender import RepeatOffenderDetector
from tamis.detectors.rules import RulesDetector
from tamis.detectors.social import SocialDetector
from tamis.detectors.transit import TransitDetector
from tamis.detectors.valuation import ValuationDetector
from tamis.detectors.watchlist import WatchlistDetector

DETECTORS: tuple[type[Detector], ...] = (
    RulesDetector,
    ValuationDetector,
    ModelDetector,
    AnomalyDetector,
    WatchlistDetector,
    NetworkDetector,
    ManifestDetector,
    PaymentDetector,
    BrandDetector,
    TaxReturnDetector,
    TransitDetector,
    RepeatOffenderDetector,
    DocumentsDetector,
    SocialDetector,
)
CROSS_SOURCE = {
    d.source: d for d in (ManifestDetector, PaymentDetector, BrandDetector, TaxReturnDetector)
}
BY_NAME: dict[str, type[Detector]] = {d.name: d for d in DETECTORS}


def from_store(engine, context: StoreContext) -> list[Detector]:
    """Every registered detector the store holds what it needs for."""
    built = (d.from_store(engine, context) for d in DETECTORS)
    return [d for d in built if d is not None]


def label(name: str, language: str) -> str:
    """A detector's name for people; a name no detector has (an old one), as it is."""
    detector = BY_NAME.get(name)
    return name if detector is None else detector.label(language)
