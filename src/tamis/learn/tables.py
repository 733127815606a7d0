"""The model registry table: every trained model, its lineage and which one is active."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, String, Table, Text

from tamis.store.tables import metadata

models = Table(
    "models",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("kind", String(32), nullable=False, comment="fraud_lightgbm"),
    Column("created_at", DateTime, nullable=False),
    Column("trained_from", DateTime, nullable=True, comment="first lodgement in training"),
    Column("trained_until", DateTime, nullable=True, comment="last lodgement in training"),
    Column("rows", Integer, nullable=False),
    Column("frauds", Integer, nullable=False),
    Column("fingerprint", String(64), nullable=False, comment="sha256 of the training data"),
    Column("features", Text, nullable=False, comment="JSON list"),
    Column("categories", Text, nullable=False, comment="JSON: category codes per column"),
    Column("params", Text, nullable=False, comment="JSON"),
    Column("metrics", Text, nullable=False, comment="JSON: time-holdout precision@k ..."),
    Column("booster", Text, nullable=False, comment="LightGBM model_to_string()"),
    Column("active", Integer, nullable=False, default=0),
    Column("promoted_at", DateTime, nullable=True),
    Column("comment", Text, nullable=True),
)
