"""transit: movements, their messages (received and sent), guarantees, alerts and the
positions and events of their electronic seals

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transit_movements",
        sa.Column("mrn", sa.String(18), primary_key=True),
        sa.Column("lrn", sa.String(35), nullable=False),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("departure_office", sa.String(64), nullable=False),
        sa.Column("destination_office", sa.String(64), nullable=False),
        sa.Column("destination_country", sa.String(2), nullable=False),
        sa.Column("partner", sa.String(64), nullable=True),
        sa.Column("itinerary", sa.Text(), nullable=False),
        sa.Column("guarantee", sa.String(64), nullable=False),
        sa.Column("at_stake_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("gross_mass_kg", sa.Float(), nullable=False),
        sa.Column("goods", sa.Text(), nullable=False),
        sa.Column("seals", sa.Text(), nullable=False),
        sa.Column("transit_days", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("role", sa.String(12), nullable=False),
        sa.Column("channel", sa.String(8), nullable=True),
        sa.Column("risk_score", sa.Float(), nullable=True),
        sa.Column("risk_reasons", sa.Text(), nullable=True),
        sa.Column("declared_at", sa.DateTime(), nullable=False),
        sa.Column("released_at", sa.DateTime(), nullable=True),
        sa.Column("limit_at", sa.DateTime(), nullable=True),
        sa.Column("arrived_at", sa.DateTime(), nullable=True),
        sa.Column("arrival_office", sa.String(64), nullable=True),
        sa.Column("controlled_at", sa.DateTime(), nullable=True),
        sa.Column("control_result", sa.String(16), nullable=True),
        sa.Column("arrival_mass_kg", sa.Float(), nullable=True),
        sa.Column("written_off_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_transit_movements_state", "transit_movements", ["state", "limit_at"])
    op.create_index("ix_transit_movements_guarantee", "transit_movements", ["guarantee"])
    op.create_table(
        "transit_messages",
        sa.Column("message_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("sender", sa.String(64), nullable=False),
        sa.Column("sender_ref", sa.String(64), nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("mrn", sa.String(18), nullable=True),
        sa.Column("recipient", sa.String(64), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("direction", "sender", "sender_ref", name="uq_transit_message_once"),
    )
    op.create_index("ix_transit_messages_mrn", "transit_messages", ["mrn", "message_id"])
    op.create_table(
        "transit_guarantees",
        sa.Column("guarantee", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("reference_amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "transit_alerts",
        sa.Column("alert_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("mrn", sa.String(18), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("raised_at", sa.DateTime(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.UniqueConstraint("mrn", "kind", "at", name="uq_transit_alert_once"),
    )
    op.create_index("ix_transit_alerts_raised", "transit_alerts", ["raised_at"])
    op.create_table(
        "transit_positions",
        sa.Column("seal_id", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("mrn", sa.String(18), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("source_row", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("seal_id", "at", "event", name="uq_transit_position_once"),
    )
    op.create_index("ix_transit_positions_mrn", "transit_positions", ["mrn", "at"])


def downgrade() -> None:
    for table in (
        "transit_positions",
        "transit_alerts",
        "transit_guarantees",
        "transit_messages",
        "transit_movements",
    ):
        op.drop_table(table)
