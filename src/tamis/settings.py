"""Configuration from environment variables prefixed TAMIS_."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "TAMIS_"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX)

    database_url: str = "sqlite:///tamis.db"
    national_currency: str = "MAD"
    country: str = "MA"  # this administration's country (ISO 3166 alpha-2): MRNs, partners
    corridors: str | None = None  # transit corridors (YAML); default: the shipped ones
    offence_schedule: str | None = None  # offence classes and penalties (YAML); default: shipped
    transit_check_minutes: float = 15.0  # a server's overdue round; 0: none
    batch_rows: int = 50_000
    session_hours: float = 8.0
    api_docs: bool = False  # /docs and /redoc, whose pages load scripts from a CDN
    attachments_dir: str = "attachments"
    social_retention_days: int = 365  # posts not kept for a case are purged after this
    # failed logins before more are refused for a minute, per account and per address;
    # where they are counted (memory:// per process, or redis://host:6379 shared)
    login_failures_per_minute: int = 5
    login_address_failures_per_minute: int = 30
    rate_limit_storage: str = "memory://"
    max_body_bytes: int = 8 * 1024 * 1024  # a request's body, file uploads apart (50 MiB)
    # the documents' transparency log: its name, and the private keys of the log and of our
    # witness (files; made on first use in keys_dir when not named, never shipped)
    log_origin: str | None = None  # default: <country>.customs.example/tamis-log
    log_key: str | None = None  # default: <keys_dir>/log.key
    witness_name: str | None = None  # default: <country>.customs.example/witness
    witness_key: str | None = None  # default: <keys_dir>/witness.key
    keys_dir: str = "keys"
    log_partners: str | None = None  # YAML: partners' log keys we witness, witness keys of ours
    # what can be made again but takes long (the model's trees compiled to machine code)
    cache_dir: str = str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tamis")


def settings() -> Settings:
    """As the environment says now (it may change: tests, services); read again only when
    a TAMIS_ variable changed, since building the settings costs more than a lodgement's
    checks."""
    ours = sorted((k, v) for k, v in os.environ.items() if k.upper().startswith(PREFIX))
    return _settings(tuple(ours))


@lru_cache(maxsize=8)
def _settings(environment: tuple) -> Settings:
    return Settings()
