"""Configuration from environment variables prefixed TAMIS_."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TAMIS_")

    database_url: str = "sqlite:///tamis.db"
    national_currency: str = "MAD"
    batch_rows: int = 50_000
    session_hours: float = 8.0
    attachments_dir: str = "attachments"


def settings() -> Settings:
    """Read afresh each time: cheap, and the environment may change (tests, services)."""
    return Settings()
