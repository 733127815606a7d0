"""Versioned rule sets: every change is a new version with its author and time."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from tamis import audit
from tamis.detectors.rules import RuleSet, parse_rule_set
from tamis.store.tables import rule_sets

STARTER = Path(__file__).parent / "profiles" / "rules.yaml"


def _dump(rule_set: RuleSet) -> str:
    return json.dumps(
        rule_set.model_dump(mode="json", by_alias=True, exclude_none=True),
        sort_keys=True,
        ensure_ascii=False,
    )


def current(engine: Engine) -> tuple[int | None, RuleSet]:
    with engine.connect() as conn:
        row = conn.execute(select(rule_sets).order_by(rule_sets.c.version.desc()).limit(1)).first()
    return (row.version, parse_rule_set(json.loads(row.rules))) if row else (None, RuleSet())


def get(engine: Engine, version: int) -> RuleSet:
    with engine.connect() as conn:
        row = conn.execute(select(rule_sets).where(rule_sets.c.version == version)).first()
    if row is None:
        raise LookupError(f"no rule set version {version}")
    return parse_rule_set(json.loads(row.rules), f"rule set version {version}")


def apply(engine: Engine, rule_set: RuleSet, author: str, comment: str | None = None) -> int:
    """Store ``rule_set`` as the new current version; unchanged, it keeps the current one."""
    version, active = current(engine)
    if version is not None and _dump(active) == _dump(rule_set):
        return version
    with engine.begin() as conn:
        latest = conn.execute(select(func.max(rule_sets.c.version))).scalar() or 0
        conn.execute(
            rule_sets.insert().values(
                version=latest + 1,
                created_at=datetime.now(UTC).replace(tzinfo=None),
                author=author,
                comment=comment,
                rules=_dump(rule_set),
            )
        )
        audit.record(
            conn,
            author,
            "rules.apply",
            "rule_set",
            latest + 1,
            {"version": latest or None},
            {"version": latest + 1, "rules": len(rule_set.rules), "comment": comment},
        )
    return latest + 1


def ensure_rule_set(engine: Engine) -> int:
    """The current version; a store without any gets the starter profiles as version 1."""
    version, _ = current(engine)
    if version is None:
        starter = parse_rule_set(STARTER.read_text(encoding="utf-8"), str(STARTER))
        try:
            version = apply(engine, starter, "tamis", "starter risk profiles")
        except IntegrityError:  # two first requests of a new store: the other one stored it
            version, _ = current(engine)
    return version


def history(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(rule_sets).order_by(rule_sets.c.version)).all()
    return [
        {
            "version": r.version,
            "created_at": r.created_at.isoformat(),
            "author": r.author,
            "comment": r.comment,
            "rules": len(json.loads(r.rules)["rules"]),
        }
        for r in rows
    ]


def diff(old: RuleSet, new: RuleSet) -> dict:
    """Rules added, removed and changed (with each changed attribute's old and new value)."""
    before = {r.id: r.model_dump(mode="json", by_alias=True, exclude_none=True) for r in old.rules}
    after = {r.id: r.model_dump(mode="json", by_alias=True, exclude_none=True) for r in new.rules}
    changed = {
        rule_id: {
            key: [before[rule_id].get(key), after[rule_id].get(key)]
            for key in sorted(set(before[rule_id]) | set(after[rule_id]))
            if before[rule_id].get(key) != after[rule_id].get(key)
        }
        for rule_id in sorted(set(before) & set(after))
        if before[rule_id] != after[rule_id]
    }
    return {
        "added": sorted(set(after) - set(before)),
        "removed": sorted(set(before) - set(after)),
        "changed": changed,
    }
