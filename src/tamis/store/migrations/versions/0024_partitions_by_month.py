"""partitions by month: items and decisions carry their declaration's lodgement, and on
PostgreSQL declarations, items and decisions are partitioned by its month (the months the
store holds and the next few, and a default partition for any other)

Revision ID: 0024
Revises: 0023
"""

from datetime import date

import sqlalchemy as sa
from alembic import op

from tamis.store.partitions import (
    AHEAD,
    PARTITIONED,
    month_partition,
    months_ahead,
    months_held,
)

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

LODGED_AT = "the declaration's lodgement"
# a decision of a declaration the store does not hold (a file assessed without ingest)
# takes its own time as its lodgement
BACKFILL = {
    "items": "(SELECT d.lodged_at FROM declarations d"
    " WHERE d.declaration_id = items.declaration_id)",
    "decisions": "COALESCE((SELECT d.lodged_at FROM declarations d"
    " WHERE d.declaration_id = decisions.declaration_id), decided_at)",
}


def upgrade() -> None:
    for table, value in BACKFILL.items():
        op.add_column(
            table, sa.Column("lodged_at", sa.DateTime(), nullable=True, comment=LODGED_AT)
        )
        op.execute(f"UPDATE {table} SET lodged_at = {value}")
    if op.get_bind().dialect.name == "postgresql":
        _partition()


def _partition() -> None:
    conn = op.get_bind()
    indexes = {
        table: conn.execute(
            sa.text(
                "SELECT indexdef FROM pg_indexes WHERE tablename = :t"
                " AND schemaname = current_schema() AND indexname <> :pk"
            ),
            {"t": table, "pk": f"{table}_pkey"},
        ).scalars().all()
        for table in PARTITIONED
    }  # fmt: skip
    stored = months_held(conn)
    for table, key in PARTITIONED.items():
        new = f"{table}_partitioned"
        op.execute(
            f"CREATE TABLE {new} (LIKE {table} INCLUDING DEFAULTS INCLUDING COMMENTS,"
            f" CONSTRAINT {table}_key PRIMARY KEY ({', '.join(key)}))"
            " PARTITION BY RANGE (lodged_at)"
        )
        op.execute(f"CREATE TABLE {table}_default PARTITION OF {new} DEFAULT")
        for month in sorted(stored | months_ahead(date.today(), AHEAD)):
            op.execute(month_partition(new, table, month))
        op.execute(f"INSERT INTO {new} SELECT * FROM {table}")
    # the decision ids' sequence outlives the table that owns it now
    op.execute("ALTER SEQUENCE decisions_decision_id_seq OWNED BY NONE")
    for table in PARTITIONED:
        op.execute(f"DROP TABLE {table} CASCADE")  # and the foreign keys that refer to it
        op.execute(f"ALTER TABLE {table}_partitioned RENAME TO {table}")
        op.execute(f"ALTER TABLE {table} RENAME CONSTRAINT {table}_key TO {table}_pkey")
        for definition in indexes[table]:
            op.execute(definition)
    op.execute("ALTER SEQUENCE decisions_decision_id_seq OWNED BY decisions.decision_id")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        raise NotImplementedError("partitioned tables are not turned back into plain ones")
    for table in BACKFILL:
        op.drop_column(table, "lodged_at")
