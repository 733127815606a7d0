"""The messages of a transit movement, named after the EU NCTS phase 5 message set so that a
partner administration recognises them. Every message carries its sender and the sender's
own message id: the pair makes a message received twice recognisable as the same one.

Received: IE015 declaration data (from the holder, at departure), IE001 anticipated arrival
(from the administration of departure, at destination), IE029 release for transit
(the office of departure's decision), IE024 change of the office of destination, IE180
incident on the way, IE006 arrival advice and IE018 control results (from the office of
destination, here or across a border). Sent by Tamis: IE028 MRN allocated, IE001
anticipated arrival record (to the office of destination), IE045 write-off notification;
and, at destination, IE006 and IE018 back to the administration of departure.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:/-]+$")]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
MRN = Annotated[str, Field(pattern=r"^[0-9]{2}[A-Z]{2}[A-Z0-9]{13}[0-9F]$")]
Minor = Annotated[int, Field(ge=0, le=10**15)]  # money in minor units (centimes)


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sender: Code
    message_id: Code
    sent_at: datetime | None = None


class GoodsItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hs_code: Annotated[str, Field(pattern=r"^[0-9]{4,10}$")]
    description: Annotated[str, Field(max_length=512)] = ""
    gross_mass_kg: Annotated[float, Field(gt=0, le=1e7)]
    duties_minor: Minor = 0  # duties and taxes the goods would owe if released here


class DeclarationData(_Message):
    """IE015: a movement declared at departure by its holder."""

    type: Literal["IE015"] = "IE015"
    lrn: Annotated[str, Field(min_length=1, max_length=35)]
    holder: Code
    departure_office: Code
    destination_office: Code
    destination_country: Country
    itinerary: list[Country] = Field(default_factory=list, max_length=32)
    guarantee: Code
    goods: list[GoodsItem] = Field(min_length=1, max_length=999)
    seals: list[Code] = Field(default_factory=list, max_length=99)
    transit_days: Annotated[int, Field(ge=1, le=90)] = 8
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "MAD"


class AnticipatedArrival(_Message):
    """IE001: from the administration of departure, a movement bound for an office here."""

    type: Literal["IE001"] = "IE001"
    mrn: MRN
    departure_office: Code
    destination_office: Code
    holder: Code
    limit_at: datetime
    goods: list[GoodsItem] = Field(min_length=1, max_length=999)
    seals: list[Code] = Field(default_factory=list, max_length=99)
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "MAD"


class ReleaseForTransit(_Message):
    """IE029: the office of departure releases the goods; the time limit starts."""

    type: Literal["IE029"] = "IE029"
    mrn: MRN
    released_at: datetime


class ChangeOfDestination(_Message):
    """IE024: another office of destination (its country may be another)."""

    type: Literal["IE024"] = "IE024"
    mrn: MRN
    destination_office: Code
    destination_country: Country


class Incident(_Message):
    """IE180: an incident on the way (accident, transhipment, seal broken), as registered."""

    type: Literal["IE180"] = "IE180"
    mrn: MRN
    at: datetime
    description: Annotated[str, Field(min_length=1, max_length=2000)]
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None


class ArrivalAdvice(_Message):
    """IE006: the goods were presented at the office of destination."""

    type: Literal["IE006"] = "IE006"
    mrn: MRN
    arrived_at: datetime
    office: Code


class ControlResults(_Message):
    """IE018: what the office of destination found: A1 conform, B1 discrepancies."""

    type: Literal["IE018"] = "IE018"
    mrn: MRN
    result: Literal["A1", "B1"]
    arrival_mass_kg: Annotated[float, Field(ge=0, le=1e7)] | None = None
    remarks: Annotated[str, Field(max_length=2000)] = ""


class WriteOff(_Message):
    """IE045 asked for: the movement ends and its guarantee is discharged."""

    type: Literal["IE045"] = "IE045"
    mrn: MRN


Received = Annotated[
    DeclarationData
    | AnticipatedArrival
    | ReleaseForTransit
    | ChangeOfDestination
    | Incident
    | ArrivalAdvice
    | ControlResults
    | WriteOff,
    Field(discriminator="type"),
]
RECEIVED: TypeAdapter[Received] = TypeAdapter(Received)
RECEIVED_TYPES = ("IE015", "IE001", "IE029", "IE024", "IE180", "IE006", "IE018", "IE045")
