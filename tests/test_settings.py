"""Settings follow the environment as it is when they are read, though kept between reads."""

from tamis.settings import settings


def test_settings_follow_a_changed_environment(monkeypatch):
    monkeypatch.delenv("TAMIS_NATIONAL_CURRENCY", raising=False)
    assert settings().national_currency == "MAD"
    assert settings() is settings()  # nothing changed: not built again
    monkeypatch.setenv("TAMIS_NATIONAL_CURRENCY", "XOF")
    assert settings().national_currency == "XOF"
    monkeypatch.delenv("TAMIS_NATIONAL_CURRENCY")
    assert settings().national_currency == "MAD"
