"""Synthetic import declarations with planted, labelled fraud.

`generate` builds a period of imports into Morocco (national currency MAD): ~2,000
importers with Zipf-like volumes and recurring suppliers, ~150 customs brokers, ~70
national tariff lines with plausible duty rates, units and log-normal prices by origin,
seasonality (busy before Ramadan and summer, quiet in August and at weekends) and one
manifest (bill of lading) per declaration carrying the true gross mass.

Fraud is planted on about 7 % of declarations, mostly by a minority of risky importers, and
labelled per item (``fraud``, ``fraud_type``, ``revenue_at_stake``):

- valuation: invoice (so customs value, duty and tax) divided by 2.5 to 10;
- classification: declared under a lower-duty code of another heading; the description
  still names the true goods;
- origin: non-preferential goods declared of a preferential origin with a proof and a
  preference code; export country and loading place betray the true route three times
  out of four;
- counterfeit: branded goods far below the brand's price, by an importer that is not
  among the brand's `AUTHORISED_DISTRIBUTORS`; the brand is in ``brand`` or only in the
  description;
- quantity: masses, quantity and value understated by 30 to 70 %; the manifest keeps the
  true gross mass;
- a ring of shell importers (new during the period, 3 shared addresses, one broker, the
  same suppliers) almost all of whose declarations are fraudulent (``ring_member``).

``revenue_at_stake`` is always the true duties and taxes minus the declared ones. For a
counterfeit the "true" value is that of the genuine branded goods: a proxy for the fine
and the rights holder's loss, since the fake's own price is what was declared.

`generate` and `write` are the entry point; the parts: ``reference`` (the world's fixed
facts), ``sampling``, ``parties`` (suppliers, importers), ``goods`` (declarations, items),
``fraud`` (planted fraud), ``frames`` (duties, route, the items frame) and ``sources`` (the
other sources of the same year).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from tamis.synth.frames import items_frame, make_header, shipping_route
from tamis.synth.fraud import plant_fraud
from tamis.synth.goods import make_declarations, make_items
from tamis.synth.parties import make_importers, make_suppliers
from tamis.synth.reference import AUTHORISED_DISTRIBUTORS, BRAND_PREMIUM, EXCHANGE_RATES, LINES
from tamis.synth.sources import World, sources

__all__ = [
    "AUTHORISED_DISTRIBUTORS",
    "BRAND_PREMIUM",
    "EXCHANGE_RATES",
    "LINES",
    "Synthetic",
    "generate",
    "write",
]


@dataclass(frozen=True)
class Synthetic:
    """Flat items (one row per item, header repeated) with ground truth, and the other
    sources seen by a targeting centre (see ``tamis.synth.sources``)."""

    items: pl.DataFrame
    manifests: pl.DataFrame
    payments: pl.DataFrame
    trademarks: pl.DataFrame
    tax_returns: pl.DataFrame

    SOURCES = ("manifests", "payments", "trademarks", "tax_returns")


def generate(
    declarations: int, seed: int, start: date = date(2025, 1, 1), days: int = 365
) -> Synthetic:
    """A period of import declarations with planted, labelled fraud; same seed, same frames."""
    if declarations < 1 or days < 1:
        raise ValueError(f"declarations and days must be >= 1, got {declarations} and {days}")
    rng = np.random.default_rng(seed)
    sup = make_suppliers(rng)
    imp = make_importers(rng, sup, days)
    decl = make_declarations(rng, imp, sup, declarations, start, days)
    item = make_items(rng, imp, sup, decl)
    plant_fraud(rng, imp, sup, decl, item)
    shipping_route(rng, sup, decl)
    header = make_header(rng, imp, sup, decl, start)
    items = items_frame(imp, decl, item, header)
    world = World(imp, sup, decl, item, items, header, start, days)
    return Synthetic(items, **sources(world, seed))


_WRITERS = {
    ".parquet": pl.DataFrame.write_parquet,
    ".csv": pl.DataFrame.write_csv,
    ".jsonl": pl.DataFrame.write_ndjson,
}


def write(synthetic: Synthetic, out: Path) -> dict[str, Path]:
    """Items to ``out`` and each other source to ``<stem>.<source><suffix>`` beside it."""
    out = Path(out)
    writer = _WRITERS.get(out.suffix.lower())
    if writer is None:
        raise ValueError(f"{out}: the extension must be one of {', '.join(_WRITERS)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = {"items": out}
    writer(synthetic.items, out)
    for name in Synthetic.SOURCES:
        paths[name] = out.with_name(f"{out.stem}.{name}{out.suffix}")
        writer(getattr(synthetic, name), paths[name])
    return paths
