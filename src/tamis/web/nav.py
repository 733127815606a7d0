"""The dashboard's menu: each page's address, its label and the role group that may use it."""

from __future__ import annotations

from tamis.api.auth import AUDITORS, READERS, TARGETERS

NAV = (
    ("/scoreboard", "nav.scoreboard", READERS),
    ("/declarations", "nav.declarations", READERS),
    ("/cases", "nav.cases", READERS),
    ("/rules", "nav.rules", READERS),
    ("/models", "nav.models", READERS),
    ("/transit", "nav.transit", READERS),
    ("/offences", "nav.offences", READERS),
    ("/social", "nav.social", TARGETERS),
    ("/admin", "nav.admin", AUDITORS),
)
