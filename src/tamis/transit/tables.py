"""Tables of transit: movements under customs control, the messages that move them, the
guarantees they engage and the alerts raised on the way, on the store's metadata."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from tamis.store.tables import metadata

transit_movements = Table(
    "transit_movements",
    metadata,
    Column("mrn", String(18), primary_key=True, comment="movement reference number (IE028)"),
    Column("lrn", String(35), nullable=False, comment="the holder's own reference"),
    Column("holder", String(64), nullable=False, comment="holder of the transit procedure"),
    Column("departure_office", String(64), nullable=False),
    Column("destination_office", String(64), nullable=False),
    Column("destination_country", String(2), nullable=False),
    Column("partner", String(64), nullable=True, comment="administration across the border"),
    Column("itinerary", Text, nullable=False, comment="JSON: countries to pass, in order"),
    Column("guarantee", String(64), nullable=False),
    Column("at_stake_minor", BigInteger, nullable=False, comment="duties and taxes at stake"),
    Column("currency", String(3), nullable=False),
    Column("gross_mass_kg", Float, nullable=False),
    Column("goods", Text, nullable=False, comment="JSON: the goods items declared"),
    Column("seals", Text, nullable=False, comment="JSON: seal ids"),
    Column("transit_days", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("role", String(12), nullable=False, comment="departure, or destination (from abroad)"),
    Column("channel", String(8), nullable=True, comment="risk at departure: its channel"),
    Column("risk_score", Float, nullable=True),
    Column("risk_reasons", Text, nullable=True, comment="JSON: reasons as codes and figures"),
    Column("declared_at", DateTime, nullable=False),
    Column("released_at", DateTime, nullable=True),
    Column("limit_at", DateTime, nullable=True, comment="arrival due by"),
    Column("arrived_at", DateTime, nullable=True),
    Column("arrival_office", String(64), nullable=True),
    Column("controlled_at", DateTime, nullable=True),
    Column("control_result", String(16), nullable=True),
    Column("arrival_mass_kg", Float, nullable=True),
    Column("written_off_at", DateTime, nullable=True),
    Column("updated_at", DateTime, nullable=False),
)
Index("ix_transit_movements_state", transit_movements.c.state, transit_movements.c.limit_at)
Index("ix_transit_movements_guarantee", transit_movements.c.guarantee)

transit_messages = Table(
    "transit_messages",
    metadata,
    Column("message_id", Integer, primary_key=True, autoincrement=True),
    Column("direction", String(3), nullable=False, comment="'in' received, 'out' sent"),
    Column("sender", String(64), nullable=False),
    Column("sender_ref", String(64), nullable=False, comment="the sender's message id"),
    Column("type", String(8), nullable=False, comment="IE015, IE029, ..."),
    Column("mrn", String(18), nullable=True),
    Column("recipient", String(64), nullable=True),
    Column("at", DateTime, nullable=False, comment="received or sent"),
    Column("outcome", String(16), nullable=False, comment="accepted, refused"),
    Column("reason", Text, nullable=True),
    Column("body", Text, nullable=False, comment="the message as it came"),
    Column("delivered_at", DateTime, nullable=True, comment="sent ones: taken by the partner"),
    UniqueConstraint("direction", "sender", "sender_ref", name="uq_transit_message_once"),
)
Index("ix_transit_messages_mrn", transit_messages.c.mrn, transit_messages.c.message_id)

transit_guarantees = Table(
    "transit_guarantees",
    metadata,
    Column("guarantee", String(64), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("reference_amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

# the kinds of alert on a movement: what says its goods may have been diverted, and what
# only says something was off (the transit detector and network risk weigh them so)
SERIOUS = ("enquiry", "off_route", "seal_opened", "mass_short", "after_write_off")
LIGHT = ("overdue", "late", "long_stop", "other_office")

transit_alerts = Table(
    "transit_alerts",
    metadata,
    Column("alert_id", Integer, primary_key=True, autoincrement=True),
    Column("mrn", String(18), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("at", DateTime, nullable=False, comment="when what is alerted happened"),
    Column("raised_at", DateTime, nullable=False),
    Column("detail", Text, nullable=True, comment="JSON: the figures behind it"),
    UniqueConstraint("mrn", "kind", "at", name="uq_transit_alert_once"),
)
Index("ix_transit_alerts_raised", transit_alerts.c.raised_at)

transit_positions = Table(
    "transit_positions",
    metadata,
    Column("seal_id", String(64), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("event", String(16), nullable=False, comment="position, opened, closed, tampered"),
    Column("mrn", String(18), nullable=False),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("source_id", String(64), nullable=False),
    Column("source_row", BigInteger, nullable=False),
    UniqueConstraint("seal_id", "at", "event", name="uq_transit_position_once"),
)
Index("ix_transit_positions_mrn", transit_positions.c.mrn, transit_positions.c.at)
