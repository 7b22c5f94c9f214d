"""Settings, read once from the environment at start-up and passed in.

Nothing here runs at import time: `Settings.from_env()` is called by the entry points (CLI, web app
factory, SMTP server, worker), and everything below them receives the object.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Defaults give the embedded mode: SQLite, in-process jobs, file outbox."""

    database_url: str = ""
    redis_url: str = ""
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_api_base: str = ""  # tests point the REST client at a local stand-in
    public_base_url: str = ""
    # An approved WhatsApp template (Content SID, "HX...") with one variable, sent to open the 24-hour window
    # when a WhatsApp message must go to someone who has not written to us for a day; empty = not sent.
    whatsapp_template_sid: str = ""
    smtp_listen: str = "127.0.0.1:2525"
    mail_domains: tuple[str, ...] = ("chat2order.local",)
    smtp_relay_url: str = ""
    smtp_max_message_size: int = 10 * 1024 * 1024
    # STARTTLS for inbound mail: PEM certificate chain and key; empty = plain SMTP only.
    smtp_tls_cert: str = ""
    smtp_tls_key: str = ""
    smtp_require_tls: bool = False  # refuse MAIL before STARTTLS (an MX facing the Internet keeps this off)
    mail_from: str = ""
    outbox_dir: Path = Path("var/outbox")
    var_dir: Path = Path("var")
    sentry_dsn: str = ""
    metrics_port: int = 0  # the worker serves Prometheus metrics on this port when set (0 = off)
    port: int = 5000
    log_format: str = "text"
    secret_key: str = "dev-only-not-secret"
    max_content_length: int = 1024 * 1024
    rate_limit: str = "120/minute"
    # How long a send may take before another worker treats the row as abandoned and recovers it.
    dispatch_lease_seconds: int = 60
    # Inbound Twilio messages missed while we answered errors (database down) are fetched from Twilio's
    # message log this often by the worker (0 = never), the first time over the last lookback hours.
    twilio_reconcile_seconds: int = 300
    twilio_reconcile_lookback_hours: int = 24
    # A worker takes up to this many `process_message` jobs from the head of its queue at once: the first
    # through RQ, the rest in a batch without RQ's per-job bookkeeping (1 = one job at a time).
    worker_batch: int = 8
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        var_dir = Path(env.get("VAR_DIR", "var"))
        domains = _split(env.get("MAIL_DOMAIN")) or ("chat2order.local",)
        return cls(
            database_url=env.get("DATABASE_URL", ""),
            redis_url=env.get("REDIS_URL", ""),
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID", ""),
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN", ""),
            twilio_api_base=env.get("TWILIO_API_BASE", ""),
            public_base_url=env.get("PUBLIC_BASE_URL", "").rstrip("/"),
            whatsapp_template_sid=env.get("WHATSAPP_TEMPLATE_SID", ""),
            smtp_listen=env.get("SMTP_LISTEN", "127.0.0.1:2525"),
            mail_domains=domains,
            smtp_relay_url=env.get("SMTP_RELAY_URL", ""),
            smtp_max_message_size=int(env.get("SMTP_MAX_MESSAGE_SIZE", str(10 * 1024 * 1024))),
            smtp_tls_cert=env.get("SMTP_TLS_CERT", ""),
            smtp_tls_key=env.get("SMTP_TLS_KEY", ""),
            smtp_require_tls=env.get("SMTP_REQUIRE_TLS", "").lower() in ("1", "true", "yes", "on"),
            mail_from=env.get("MAIL_FROM", f"orders@{domains[0]}"),
            outbox_dir=Path(env.get("OUTBOX_DIR", str(var_dir / "outbox"))),
            var_dir=var_dir,
            sentry_dsn=env.get("SENTRY_DSN", ""),
            metrics_port=int(env.get("METRICS_PORT") or 0),
            port=int(env.get("PORT", "5000")),
            log_format=env.get("LOG_FORMAT", "json" if env.get("DYNO") or env.get("LOG_JSON") else "text"),
            secret_key=env.get("SECRET_KEY", "dev-only-not-secret"),
            max_content_length=int(env.get("MAX_CONTENT_LENGTH", str(1024 * 1024))),
            rate_limit=env.get("RATE_LIMIT", "120/minute"),
            dispatch_lease_seconds=int(env.get("DISPATCH_LEASE_SECONDS", "60")),
            twilio_reconcile_seconds=int(env.get("TWILIO_RECONCILE_SECONDS") or 300),
            twilio_reconcile_lookback_hours=int(env.get("TWILIO_RECONCILE_LOOKBACK_HOURS") or 24),
            worker_batch=max(1, int(env.get("WORKER_BATCH") or 8)),
        )

    @property
    def effective_database_url(self) -> str:
        """The embedded default is a SQLite file under `var/`."""
        return self.database_url or f"sqlite:///{(self.var_dir / 'chat2order.sqlite3').resolve()}"

    @property
    def embedded_queue(self) -> bool:
        return not self.redis_url

    @property
    def twilio_rest_configured(self) -> bool:
        """Both REST credentials are set: we send through Twilio and can read its message log."""
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    @property
    def mail_domain(self) -> str:
        return self.mail_domains[0]

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]
