"""Detectors whose finding is about the importer, not the goods (its network risk, its
transit record): each declaration carries its importer's findings, found the same way for a
batch and, looked up once per importer, for a few declarations."""

from __future__ import annotations

from typing import Self

import polars as pl

from tamis.detectors.base import Detector, ItemRows, signals_for
from tamis.detectors.crosscheck.few import signals_plain


class ByImporter(Detector):
    """``_found(pairs)``: (declaration_id, score, reason, revenue_at_stake) rows of the
    (declaration_id, importer_id) pairs whose importer has a finding."""

    def _found(self, pairs: pl.DataFrame) -> pl.DataFrame:
        raise NotImplementedError

    def importers(self) -> pl.Series:
        """Every importer with a finding."""
        raise NotImplementedError

    def fit(self, history: pl.DataFrame) -> Self:
        return self

    def assess(self, batch: pl.DataFrame) -> pl.DataFrame:
        return signals_for(
            batch, self._found(batch.select("declaration_id", "importer_id").unique())
        )

    def plain(self) -> dict[str, list[tuple]]:
        """Each importer's findings (score, reason, revenue at stake), said once by
        ``_found`` for every importer at first use."""
        if getattr(self, "by_importer_", None) is None:
            ids = self.importers()
            pairs = pl.DataFrame({"declaration_id": ids, "importer_id": ids})
            self.by_importer_ = {}
            for importer, *finding in self._found(pairs).iter_rows():
                self.by_importer_.setdefault(importer, []).append(tuple(finding))
        return self.by_importer_

    def assess_rows(self, items: ItemRows) -> dict[str, dict]:
        """``assess`` of a few declarations: their importers' findings, looked up."""
        found = self.plain()
        pairs = {(r["declaration_id"], r["importer_id"]) for r in items.rows}
        return signals_plain(
            items.rows, [(d, *f) for d, importer in pairs for f in found.get(importer, ())]
        )
