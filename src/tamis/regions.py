"""Regions of origin: the level between a country and all origins in a reference's fallback.

Groups follow the UN geoscheme, merged where trade prices behave alike. A country not
listed has no region: its items fall back from the country straight to all origins.
"""

from __future__ import annotations

_MEMBERS: dict[str, tuple[str, str]] = {  # code -> (name, members)
    "EU": ("European Union", "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT "
           "RO SK SI ES SE"),
    "EUO": ("other Europe", "GB CH NO IS LI AD MC SM AL BA ME MK RS XK MD UA BY RU GI"),
    "NAF": ("North Africa", "MA DZ TN LY EG MR SD"),
    "MEA": ("Middle East", "TR SA AE QA KW BH OM YE IQ JO LB SY PS IL IR"),
    "SSA": ("Sub-Saharan Africa", "SN CI GH NG CM GA CG CD AO ZA NA BW ZW ZM MZ TZ KE UG RW ET "
            "DJ SO ML BF NE TD BJ TG GN SL LR GM GW CV MG MU SC MW LS SZ ER SS CF GQ ST KM"),
    "SAS": ("South Asia", "IN PK BD LK NP BT MV AF"),
    "EAS": ("East Asia", "CN HK MO TW JP KR KP MN"),
    "SEA": ("South-East Asia", "VN TH MY SG ID PH KH LA MM BN TL"),
    "CAS": ("Central Asia and Caucasus", "KZ UZ TM KG TJ AZ AM GE"),
    "NAM": ("North America", "US CA"),
    "LAM": ("Latin America", "MX GT BZ SV HN NI CR PA CU DO HT JM TT BS BB CO VE EC PE BO BR PY "
            "UY AR CL GY SR"),
    "OCE": ("Oceania", "AU NZ FJ PG SB VU WS TO"),
}  # fmt: skip

REGION_NAMES: dict[str, str] = {code: name for code, (name, _) in _MEMBERS.items()}
REGION_OF: dict[str, str] = {
    country: code for code, (_, members) in _MEMBERS.items() for country in members.split()
}
