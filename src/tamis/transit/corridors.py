"""The transit corridors an administration declares (``profiles/corridors.yaml``, or the
file ``TAMIS_CORRIDORS`` names): per pair of offices, the road to keep to and the places
where a stop is authorised, the two offices always among them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tamis.settings import settings
from tamis.transit.corridor import Corridor

SHIPPED = Path(__file__).parent.parent / "profiles" / "corridors.yaml"
LonLat = tuple[float, float]


class _Corridor(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    departure: str = Field(alias="from")
    destination: str = Field(alias="to")
    path: list[LonLat] = Field(min_length=2)
    width_km: float = Field(default=5.0, gt=0, le=100)
    stops: list[tuple[float, float, float]] = []


class _Network(BaseModel):
    model_config = ConfigDict(extra="forbid")
    offices: dict[str, LonLat] = {}
    office_radius_km: float = Field(default=2.0, gt=0, le=50)
    corridors: list[_Corridor] = []


class CorridorError(ValueError):
    """A corridors file that cannot be read, naming the file and the field."""


@dataclass(frozen=True)
class Network:
    offices: dict[str, LonLat]
    corridors: dict[tuple[str, str], Corridor]

    def between(self, departure: str, destination: str) -> Corridor | None:
        return self.corridors.get((departure, destination))


def network() -> Network:
    """The corridors in force (read again when the file or ``TAMIS_CORRIDORS`` changes)."""
    path = Path(settings().corridors or SHIPPED)
    if not path.is_file():
        raise CorridorError(f"{path}: no such corridors file")
    return _read(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _read(path: Path, _mtime: int) -> Network:
    try:
        said = _Network.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    except (yaml.YAMLError, ValidationError) as error:
        raise CorridorError(f"{path}: {error}") from error
    corridors = {}
    for c in said.corridors:
        ends = [said.offices[o] for o in (c.departure, c.destination) if o in said.offices]
        places = [(lon, lat, said.office_radius_km) for lon, lat in ends]
        corridors[(c.departure, c.destination)] = Corridor(
            tuple(c.path), c.width_km, tuple(places + [tuple(s) for s in c.stops])
        )
    return Network(dict(said.offices), corridors)
