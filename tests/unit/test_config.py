"""Settings come from an environment mapping, read once; no value is read at import time."""

from __future__ import annotations

from pathlib import Path

from chat2order.config import Settings


def test_empty_environment_gives_the_embedded_default() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == "" and settings.redis_url == ""
    assert settings.embedded_queue is True
    assert settings.effective_database_url == f"sqlite:///{(Path('var') / 'chat2order.sqlite3').resolve()}"
    assert settings.outbox_dir == Path("var/outbox")
    assert settings.mail_domain == "chat2order.local"
    assert settings.smtp_listen == "127.0.0.1:2525" and settings.port == 5000


def test_database_and_redis_urls_are_taken_as_given() -> None:
    settings = Settings.from_env(
        {"DATABASE_URL": "postgresql://u@db/x", "REDIS_URL": "redis://cache:6379/0"})
    assert settings.effective_database_url == "postgresql://u@db/x"
    assert settings.embedded_queue is False


def test_var_dir_moves_the_sqlite_file_and_the_outbox(tmp_path: Path) -> None:
    settings = Settings.from_env({"VAR_DIR": str(tmp_path)})
    assert settings.effective_database_url.endswith(f"{tmp_path}/chat2order.sqlite3")
    assert settings.outbox_dir == tmp_path / "outbox"


def test_outbox_dir_overrides_the_var_dir_default(tmp_path: Path) -> None:
    assert Settings.from_env({"OUTBOX_DIR": str(tmp_path)}).outbox_dir == tmp_path


def test_mail_domain_may_list_several_domains_the_first_is_ours() -> None:
    settings = Settings.from_env({"MAIL_DOMAIN": "orders.example.com, mail.example.com"})
    assert settings.mail_domains == ("orders.example.com", "mail.example.com")
    assert settings.mail_domain == "orders.example.com"
    assert settings.mail_from == "orders@orders.example.com"


def test_twilio_smtp_and_public_url_settings_are_read() -> None:
    settings = Settings.from_env({
        "TWILIO_ACCOUNT_SID": "AC123", "TWILIO_AUTH_TOKEN": "secret", "PUBLIC_BASE_URL": "https://c2o.example/",
        "SMTP_LISTEN": "0.0.0.0:25", "SMTP_RELAY_URL": "smtp://relay:587", "SENTRY_DSN": "https://k@s/1",
        "PORT": "8080",
    })
    assert (settings.twilio_account_sid, settings.twilio_auth_token) == ("AC123", "secret")
    assert settings.public_base_url == "https://c2o.example"
    assert settings.smtp_listen == "0.0.0.0:25" and settings.smtp_relay_url == "smtp://relay:587"
    assert settings.sentry_dsn == "https://k@s/1" and settings.port == 8080


def test_settings_from_one_mapping_do_not_see_another() -> None:
    first = Settings.from_env({"DATABASE_URL": "sqlite:///a.db"})
    second = Settings.from_env({})
    assert first.database_url == "sqlite:///a.db" and second.database_url == ""
