"""Trade documents as a detector: a declaration whose document was altered after it was
registered in the documents log, no longer matches its log entry, or has lost its file,
or whose declarant has not sent a requested document by its due time, carries it as a
reason (``tamis.documents``). A credential that verifies lowers nothing: it is only shown
on the declaration's page.

Score: the worst problem's — an altered document 0.9, one that no longer matches its log
entry 0.8, a file lost 0.6, a requested document overdue 0.5.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Engine

from tamis.detectors.base import Detector, ItemRows, StoreContext, signals_for
from tamis.detectors.crosscheck.few import signals_plain
from tamis.documents.read import anything, problems
from tamis.reasons import reason

SCORES = {"altered": 0.9, "unregistered": 0.8, "missing": 0.6, "overdue": 0.5}
CODES = {"missing": "documents.missing_file"}
FOUND = {"declaration_id": pl.String, "score": pl.Float64, "reason": pl.String,
         "revenue_at_stake": pl.Float64}  # fmt: skip


def said(problem: dict) -> str:
    """The problem as a stored reason, the document's type said as a reason of its own."""
    kind = problem["problem"]
    doc_type = {"code": f"documents.type.{problem['doc_type']}"}
    if kind == "overdue":
        due = f"{problem['due_at']:%Y-%m-%d %H:%M}"
        return reason("documents.overdue", doc_type=doc_type, request_id=problem["request_id"],
                      due=due)  # fmt: skip
    return reason(CODES.get(kind, f"documents.{kind}"), document_id=problem["document_id"],
                  doc_type=doc_type, filename=problem["filename"],
                  log_index=problem["log_index"])  # fmt: skip


class DocumentsDetector(Detector):
    name = "documents"
    labels = {"fr": "documents commerciaux", "en": "trade documents"}
    needs = "trade documents or document requests (tamis documents)"
    default_weight = 0.8

    def __init__(self, found: pl.DataFrame) -> None:
        self.found = found  # declaration_id, score, reason, revenue_at_stake

    @classmethod
    def from_store(cls, engine: Engine, context: StoreContext) -> DocumentsDetector | None:
        if not anything(engine):  # a store without documents reads nothing more
            return None
        rows = [(p["declaration_id"], SCORES[p["problem"]], said(p), None)
                for p in problems(engine)]  # fmt: skip
        return cls(pl.DataFrame(rows, schema=FOUND, orient="row"))

    def assess(self, batch: pl.DataFrame) -> pl.DataFrame:
        ids = batch["declaration_id"].unique().implode()
        return signals_for(batch, self.found.filter(pl.col("declaration_id").is_in(ids)))

    def plain(self) -> dict[str, list[tuple]]:
        if getattr(self, "by_declaration_", None) is None:
            self.by_declaration_ = {}
            for row in self.found.iter_rows():
                self.by_declaration_.setdefault(row[0], []).append(row)
        return self.by_declaration_

    def assess_rows(self, items: ItemRows) -> dict[str, dict]:
        found = self.plain()
        ids = {r["declaration_id"] for r in items.rows}
        return signals_plain(items.rows, [f for d in ids for f in found.get(d, ())])
