"""The roles a user can hold: apart from ``tamis.users`` so that the command line can name
them without loading the store."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # users, rules, everything
    ANALYST = "analyst"  # targeting: cases, watchlists, audits, assistance
    INSPECTOR = "inspector"  # cases assigned to them, inspection results
    SUPERVISOR = "supervisor"  # approves settlements and court referrals; reads what officers read
    AUDITOR = "auditor"  # reads everything, the audit trail included; changes nothing
    PARTNER = "partner"  # a partner administration: only what is shared with it
